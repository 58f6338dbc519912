// The states of a SessionClient, the transitions between them, and protocol errors.
//
//   idle -> connecting -> ready -> joining -> joined <-> reconnecting
//                 \________\_________\__________\___________\-> closed (with a reason)

/** Join refusals after which retrying the same link cannot help. */
export const FINAL_JOIN_ERRORS = new Set(["seat_taken", "room_full", "room_ended", "not_allowed", "token_revoked"]);

export const STATES = ["idle", "connecting", "ready", "joining", "joined", "reconnecting", "closed"];
const TRANSITIONS = {
  idle: ["connecting", "closed"],
  connecting: ["ready", "closed"],
  ready: ["joining", "connecting", "closed"],
  joining: ["joined", "ready", "connecting", "closed"],
  joined: ["reconnecting", "closed"],
  reconnecting: ["joined", "closed"],
  closed: [],
};

export class ProtocolError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

/** Throws on a transition the table does not allow (a bug, never a network condition). */
export function checkTransition(from, to) {
  if (!TRANSITIONS[from]?.includes(to)) throw new Error(`illegal client transition ${from} -> ${to}`);
}
