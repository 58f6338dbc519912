// Fault injectors for the browser tests. Installed only when the server runs with
// --test-hooks (test only): the join page then carries <meta name="telehealth-test-hooks">.
// Production pages never get them.

export function faultInjectorsEnabled() {
  return document.querySelector('meta[name="telehealth-test-hooks"]') !== null;
}

export function exposeFaultInjectors(hooks, client, currentView) {
  Object.assign(hooks, {
    /** Shows or hides a member's speaking outline, as the relay's voice activity would. */
    speaking: (id, on) => currentView()?.setSpeaking(id, on),
    /** Simulates a network blip on the signaling connection (the page must recover). */
    dropConnection: () => client.dropTransport(),
    /** Simulates a failed media path (P2P: ICE restart; group: a fresh relay leg). */
    failMedia: () => client.failMedia(),
    /** Sends an event the page's own controls would not (e.g. a refused one): the server's answer. */
    command: (event, payload) => client.command(event, payload),
  });
}
