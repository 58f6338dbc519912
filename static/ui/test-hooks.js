// Read-only hooks for automated tests and support staff; they change nothing.
// The fault injectors (test-faults.js) are added only when the server runs in test mode.
import { exposeFaultInjectors, faultInjectorsEnabled } from "./test-faults.js";

// Firefox's getVideoPlaybackQuality() stays at 0 frames for a MediaStream source;
// its mozPaintedFrames counts the frames the element painted (issue 17).
function presentedFrames(video) {
  const quality = video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
  return Math.max(quality, video.mozPaintedFrames ?? 0);
}

export function exposeTestHooks(client, currentView) {
  const hooks = {
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
        totalVideoFrames: presentedFrames(v),
        width: v.videoWidth,
        liveAudioTracks: v.srcObject?.getAudioTracks().filter((t) => t.readyState === "live").length ?? 0,
        paused: v.paused,
      })),
    /** {memberId: inbound figures} of the screens this page receives (getStats). */
    screenStats: () => client.screenStats(),
    /** The share shown large: who shares, and what the <video> presents. */
    screen: () => {
      const video = document.querySelector('video[data-role="screen"]');
      const stage = video?.closest(".screen-stage");
      return {
        state: client.screen,
        sharing: client.sharingScreen,
        shown: Boolean(stage && !stage.hidden),
        sharer: stage?.dataset.sharer || null,
        width: video?.videoWidth ?? 0,
        height: video?.videoHeight ?? 0,
        totalVideoFrames: video ? presentedFrames(video) : 0,
      };
    },
    /** Group rooms: the last floor view and check-in round this page has seen (or null). */
    floor: () => {
      const group = currentView()?.group;
      return group ? { floor: group.floor, round: group.round, locked: group.locked, report: group.report } : null;
    },
  };
  if (faultInjectorsEnabled()) exposeFaultInjectors(hooks, client, currentView);
  window.__telehealth = hooks;
}
