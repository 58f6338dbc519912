// The top bar: connection state, time of the last snapshot, room counts, and
// the message shown when the link is refused.
import { clockTime, duration } from "./format.js";

const STALE_AFTER_S = 6; // three missed pushes

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  refused: "Not connected",
};

const REFUSALS = {
  token_missing: "This page was opened without an ops link.",
  token_expired: "This ops link has expired.",
  token_bad_audience: "This is not an ops link (a session join link cannot open the dashboard).",
  not_allowed: "This link does not open the ops dashboard.",
  token_bad_signature: "This ops link is not valid for this server.",
  token_malformed: "This ops link is not valid.",
  token_not_yet_valid: "This ops link is not valid yet; check the computer's clock.",
  token_bad_algorithm: "This ops link is not valid.",
};

export class StatusBar {
  constructor({ state, updated, summary, refused, refusedText, board }) {
    this._state = state;
    this._updated = updated;
    this._summary = summary;
    this._refused = refused;
    this._refusedText = refusedText;
    this._board = board;
    this._lastAt = null;
    this._lastReceived = null;
  }

  showState({ state, code, message }) {
    this._state.dataset.state = state;
    this._state.textContent = STATE_TEXT[state] ?? state;
    if (state === "refused") {
      this._refusedText.textContent = REFUSALS[code] ?? message ?? "The server refused this link.";
      this._refused.dataset.code = code ?? "";
      this._refused.hidden = false;
      this._board.hidden = true;
    }
  }

  snapshot(snapshot, receivedAt) {
    this._lastAt = snapshot.at;
    this._lastReceived = receivedAt;
    this._updated.dateTime = new Date(snapshot.at * 1000).toISOString();
    this._updated.dataset.at = String(snapshot.at);
    this._summary.textContent = summarise(snapshot.rooms);
    this.tick(receivedAt);
  }

  /** `now` is the local clock (seconds): flags a feed that has gone quiet. */
  tick(now) {
    if (this._lastAt === null) return;
    const silent = now - this._lastReceived;
    const stale = silent > STALE_AFTER_S;
    const text = stale
      ? `${clockTime(this._lastAt)} (${duration(silent)} ago)`
      : clockTime(this._lastAt);
    if (this._updated.textContent !== text) this._updated.textContent = text;
    this._updated.classList.toggle("stale", stale);
  }
}

export function summarise(rooms) {
  const live = rooms.filter((r) => r.state !== "ended" && r.state !== "expired");
  const count = (health) => live.filter((r) => r.health === health).length;
  const parts = [`${live.length} room${live.length === 1 ? "" : "s"}`];
  const critical = count("critical");
  const degraded = count("degraded");
  if (critical) parts.push(`${critical} critical`);
  if (degraded) parts.push(`${degraded} degraded`);
  if (!critical && !degraded && live.length) parts.push("all healthy or idle");
  const people = live.reduce((sum, r) => sum + (r.members || 0), 0);
  parts.push(`${people} connected`);
  return parts.join(" · ");
}
