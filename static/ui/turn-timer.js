// The running turn's clock: counts down locally from the last floor.state (remaining_s),
// or up (elapsed) when the turn has no limit. States: "normal", "warning" (the server's
// turn_warning, or the turn's `warned` flag), "over" (time is up).
import { clock, el, spokenDuration } from "./dom.js";

const TICK_MS = 250;

export class TurnTimer {
  #state;
  #timer = null;
  #warned = false;
  #over = false;
  #turnKey = null;

  /** @param {import("./group-state.js").GroupState} state */
  constructor(state) {
    this.#state = state;
    this.root = el("p", { className: "turn-timer", role: "timer", "data-state": "normal" });
    this.root.hidden = true;
  }

  /** Follow the floor's current turn; call on every floor change. */
  update(events = []) {
    const turn = this.#state.floor?.turn ?? null;
    // A new turn, or an extension (its limit moves), starts the phases afresh.
    const key = turn ? `${turn.member}:${turn.limit_s}` : null;
    if (key !== this.#turnKey || events.some((e) => e.name === "floor_granted")) {
      this.#turnKey = key;
      this.#warned = false;
      this.#over = false;
    }
    if (turn) {
      this.#warned = this.#warned || Boolean(turn.warned);
      for (const event of events) {
        if (event.member !== turn.member) continue;
        if (event.name === "turn_warning") this.#warned = true;
        if (event.name === "turn_limit_reached") this.#over = true;
      }
    }
    this.root.hidden = !turn;
    if (turn && !this.#timer) this.#timer = setInterval(() => this.render(), TICK_MS);
    if (!turn) this.stop();
    this.render();
  }

  get phase() {
    const remaining = this.#state.remaining();
    if (this.#over || remaining === 0) return "over";
    return this.#warned ? "warning" : "normal";
  }

  render() {
    const turn = this.#state.floor?.turn;
    if (!turn) return;
    const remaining = this.#state.remaining();
    const phase = this.phase;
    this.root.dataset.state = phase;
    if (remaining === null) {
      const elapsed = this.#state.elapsed();
      this.root.dataset.elapsedS = String(Math.floor(elapsed));
      delete this.root.dataset.remainingS;
      this.root.textContent = `${clock(elapsed)} so far (no time limit)`;
      this.root.setAttribute("aria-label", `${spokenDuration(elapsed)} so far, no time limit`);
      return;
    }
    this.root.dataset.remainingS = String(Math.ceil(remaining));
    const text = phase === "over" ? "Time is up" : `${clock(Math.ceil(remaining))} left`;
    this.root.textContent = phase === "warning" ? `${text} · nearly time` : text;
    this.root.setAttribute("aria-label", phase === "over" ? "Time is up" : `${spokenDuration(Math.ceil(remaining))} left`);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }
}
