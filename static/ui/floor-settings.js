// The therapist's turn settings (floor.settings, always the full payload). The form
// follows the server's settings until the therapist starts editing it.
import { button, el, run } from "./dom.js";
import { announce } from "./status.js";

const DEFAULTS = {
  queue_policy: "least_talk_first",
  auto_advance: false,
  turn_limit_s: 180,
  go_around_turn_s: 120,
  warn_at_fraction: 0.8,
  on_turn_limit: "notify_therapist",
  fair_share_limits: true,
};

let nextId = 0;

export class FloorSettingsForm {
  #state;
  #client;
  #dirty = false;
  #f;

  /**
   * @param {import("./group-state.js").GroupState} state
   * @param {object} client  the SessionClient
   */
  constructor(state, client) {
    this.#state = state;
    this.#client = client;
    this.root = el("details", { className: "floor-settings" }, el("summary", { text: "Turn settings" }));
    const form = el("form", { className: "settings-form" });
    const f = {
      queue_policy: select([["least_talk_first", "Least talk first"], ["first_come", "First come, first served"]]),
      auto_advance: el("input", { type: "checkbox" }),
      turn_limit_s: el("input", { type: "number", min: "5", max: "3600", step: "1", inputMode: "numeric", placeholder: "No limit" }),
      go_around_turn_s: el("input", { type: "number", min: "3", max: "3600", step: "1", inputMode: "numeric", required: true }),
      on_turn_limit: select([["notify_therapist", "Tell me (they keep the floor)"], ["advance", "Move on to the next person"]]),
      fair_share_limits: el("input", { type: "checkbox" }),
    };
    this.#f = f;
    form.append(
      field("Queue order", f.queue_policy),
      check("Give the floor to the next hand automatically", f.auto_advance),
      field("Turn limit (seconds; empty for no limit)", f.turn_limit_s),
      field("Check-in turn (seconds)", f.go_around_turn_s),
      field("When time is up", f.on_turn_limit),
      check("Shorter turns for members well over their fair share", f.fair_share_limits),
      el("div", { className: "actions" }, button("Save turn settings", { className: "primary" })),
    );
    form.querySelector("button").type = "submit";
    form.addEventListener("input", () => (this.#dirty = true));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#save(event.submitter ?? form.querySelector("button"));
    });
    this.root.append(form);
    this.fill();
  }

  /** Show the server's settings (unless the therapist is editing). */
  fill(force = false) {
    if (this.#dirty && !force) return;
    const settings = { ...DEFAULTS, ...(this.#state.floor?.settings ?? {}) };
    const f = this.#f;
    f.queue_policy.value = settings.queue_policy;
    f.auto_advance.checked = Boolean(settings.auto_advance);
    f.turn_limit_s.value = settings.turn_limit_s === null ? "" : String(Math.round(settings.turn_limit_s));
    f.go_around_turn_s.value = String(Math.round(settings.go_around_turn_s));
    f.on_turn_limit.value = settings.on_turn_limit;
    f.fair_share_limits.checked = settings.fair_share_limits !== false;
  }

  payload() {
    const f = this.#f;
    const current = { ...DEFAULTS, ...(this.#state.floor?.settings ?? {}) };
    const limit = f.turn_limit_s.value.trim();
    return {
      queue_policy: f.queue_policy.value,
      auto_advance: f.auto_advance.checked,
      turn_limit_s: limit === "" ? null : Number(limit),
      go_around_turn_s: Number(f.go_around_turn_s.value),
      warn_at_fraction: current.warn_at_fraction,
      on_turn_limit: f.on_turn_limit.value,
      fair_share_limits: f.fair_share_limits.checked,
    };
  }

  async #save(trigger) {
    const form = this.root.querySelector("form");
    if (!form.reportValidity()) return;
    const ack = await run(this.#client, "floor.settings", this.payload(), trigger);
    if (trigger) trigger.disabled = false;
    if (!ack) return;
    this.#dirty = false;
    this.fill(true);
    announce("Turn settings saved. They apply from the next turn.");
  }
}

function select(options) {
  const node = el("select");
  for (const [value, text] of options) node.append(el("option", { value, text }));
  return node;
}

function field(text, control) {
  control.id = `floor-setting-${nextId++}`;
  return el("div", { className: "field" }, el("label", { for: control.id, text }), control);
}

function check(text, input) {
  input.id = `floor-setting-${nextId++}`;
  return el("div", { className: "check" }, input, el("label", { for: input.id, text }));
}
