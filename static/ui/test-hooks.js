// Read-only hooks for automated tests and support staff; they change nothing.
export function exposeTestHooks(client, currentView) {
  window.__telehealth = {
    state: () => ({
      state: client.state,
      reason: client.reason,
      self: client.self,
      room: client.room,
      resumed: client.resumed,
      peers: client.peers,
      links: client.linkStates(),
      admission: client.admission,
      serverErrors: client.serverErrors,
    }),
    /** {memberId: {framesDecoded, framesReceived, frameWidth, frameHeight, bytesReceived}} */
    stats: () => client.stats(),
    /** Per remote <video>: frames the element has presented, and the live audio it plays. */
    videoFrames: () =>
      [...document.querySelectorAll('video[data-role="remote"]')].map((v) => ({
        member: v.closest(".tile")?.dataset.member,
        totalVideoFrames: v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
        width: v.videoWidth,
        liveAudioTracks: v.srcObject?.getAudioTracks().filter((t) => t.readyState === "live").length ?? 0,
        paused: v.paused,
      })),
    /** Group rooms: the last floor view and check-in round this page has seen (or null). */
    floor: () => {
      const group = currentView()?.group;
      return group ? { floor: group.floor, round: group.round, locked: group.locked, report: group.report } : null;
    },
    speaking: (id, on) => currentView()?.setSpeaking(id, on),
    /** Simulates a network blip on the signaling connection (the page must recover). */
    dropConnection: () => client.dropTransport(),
    /** Simulates a failed media path (P2P: ICE restart; group: a fresh relay leg). */
    failMedia: () => client.failMedia(),
  };
}
