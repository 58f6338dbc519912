// The therapist's quiet-member cues: "Sam: nothing in 20 min", with "Invite Sam"
// (floor.invite: the floor is Sam's to take by speaking, or to pass). When a member
// was last heard is worked out here from the talk reports (their talk time grew, or
// they spoke), not kept by the server: it starts afresh when this page reloads.
import { button, el, run } from "./dom.js";
import { announce } from "./status.js";

const DEFAULT_MINUTES = 20;
const STORE_KEY = "telehealth.quietAfterMin";
const REFRESH_MS = 5000;

/** Minutes as the cue says them: "20 min", "90 s" under a minute. */
function silenceText(seconds) {
  return seconds < 60 ? `${Math.round(seconds)} s` : `${Math.floor(seconds / 60)} min`;
}

export class QuietCues {
  #state;
  #client;
  #el;
  /** member id -> {spoken: seconds in the last report, heardAt: performance.now()} */
  #heard = new Map();

  constructor(container, state, client) {
    this.#state = state;
    this.#client = client;
    const minutes = el("input", { id: "quiet-after", type: "number", min: "0.1", step: "any",
      className: "small-number", value: String(this.#loadMinutes()) });
    minutes.addEventListener("change", () => this.#saveMinutes());
    const list = el("ul", { className: "quiet-cues", "data-testid": "quiet-cues" });
    const none = el("p", { className: "hint" });
    const root = el("div", { className: "panel-block quiet-panel" },
      el("h2", { text: "Quiet members" }),
      el("p", { className: "setting" },
        el("label", { for: "quiet-after", text: "Flag members silent for (minutes) " }), minutes),
      none, list);
    this.#el = { root, minutes, list, none };
    container.append(root);
    state.on("change", ({ what }) => {
      if (what === "report") this.#observe();
      if (what === "report" || what === "peers" || what === "floor") this.render();
    });
    setInterval(() => this.render(), REFRESH_MS);
    this.render();
  }

  #loadMinutes() {
    const saved = Number(localStorage.getItem(STORE_KEY));
    return saved > 0 ? saved : DEFAULT_MINUTES;
  }

  #saveMinutes() {
    const value = Number(this.#el.minutes.value);
    if (value > 0) localStorage.setItem(STORE_KEY, String(value));
    this.render();
  }

  get #thresholdS() {
    const value = Number(this.#el.minutes.value);
    return (value > 0 ? value : DEFAULT_MINUTES) * 60;
  }

  /** A member is heard when their talk time grows or they speak now; first sight counts too. */
  #observe() {
    const now = performance.now();
    for (const row of this.#state.report?.members ?? []) {
      const seen = this.#heard.get(row.id);
      if (!seen || row.speaking_now || row.speaking_s > seen.spoken) {
        this.#heard.set(row.id, { spoken: row.speaking_s, heardAt: now });
      }
    }
  }

  render() {
    const now = performance.now();
    const quiet = this.#state.participants
      .map((p) => ({ peer: p, silentS: (now - (this.#heard.get(p.id)?.heardAt ?? now)) / 1000 }))
      .filter(({ silentS }) => silentS >= this.#thresholdS)
      .sort((a, b) => b.silentS - a.silentS);
    const e = this.#el;
    e.none.textContent = quiet.length ? "" : "Nobody has been quiet that long.";
    e.none.hidden = quiet.length > 0;
    const key = quiet.map(({ peer, silentS }) => `${peer.id}:${silenceText(silentS)}`).join(",");
    if (e.list.dataset.key === key) return;  // keep keyboard focus on an unchanged list
    e.list.dataset.key = key;
    e.list.replaceChildren(...quiet.map(({ peer, silentS }) => el("li", { "data-member": peer.id },
      el("span", { className: "who", text: `${peer.name}: nothing in ${silenceText(silentS)}` }),
      button(`Invite ${peer.name}`, { className: "small", onClick: (ev) => this.#invite(peer, ev) }))));
  }

  async #invite(peer, event) {
    const ack = await run(this.#client, "floor.invite", { member: peer.id }, event.currentTarget);
    if (ack) announce(`You invited ${peer.name} to speak.`);
  }
}
