// The therapist's session clock: how long this session has run, counted from when this
// tab first entered it (kept in sessionStorage, so a reload does not reset it).
import { clock, el, spokenDuration } from "./dom.js";

const TICK_MS = 1000;

export class SessionClock {
  #startedAt;
  #el;

  /** @param {HTMLElement} before  the clock goes just before this element */
  constructor(before, roomId) {
    const key = `telehealth.sessionStart.${roomId}`;
    const saved = Number(sessionStorage.getItem(key));
    this.#startedAt = saved > 0 ? saved : Date.now();
    sessionStorage.setItem(key, String(this.#startedAt));
    // role="timer": screen readers do not read every tick, but can ask for it.
    this.#el = el("p", { className: "session-clock", role: "timer", "data-testid": "session-clock" });
    before.before(this.#el);
    this.render();
    setInterval(() => this.render(), TICK_MS);
  }

  get elapsedS() {
    return Math.max(0, (Date.now() - this.#startedAt) / 1000);
  }

  render() {
    const seconds = this.elapsedS;
    const minutes = Math.floor(seconds / 60);
    const shown = minutes >= 60 ? `${Math.floor(minutes / 60)}:${clock(seconds % 3600).padStart(5, "0")}` : clock(seconds);
    this.#el.textContent = `Session time ${shown}`;
    this.#el.setAttribute("aria-label", `Session time ${spokenDuration(seconds)}`);
  }
}
