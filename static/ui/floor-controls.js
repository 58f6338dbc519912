// The therapist's floor panel: mode, who has the floor (with the turn timer and the
// "time is up" notice), Next / End turn / Extend, the hand queue with waiting times,
// the check-in round's order, and the turn settings.
import { button, clock, el, MODE_NAMES, run, spokenDuration } from "./dom.js";
import { FloorSettingsForm } from "./floor-settings.js";
import { announce } from "./status.js";
import { TurnTimer } from "./turn-timer.js";

const MODES = [
  ["open", "Open", "Open discussion: anyone may speak"],
  ["hand_queue", "Hand queue", "Hand queue: members raise hands, you give the floor"],
  ["go_around", "Check-in round", "Check-in round (go-around): everyone gets one turn"],
  ["directed", "Directed", "Directed: you give the floor to one person"],
];
const EXTEND_S = 60;
const QUEUE_REFRESH_MS = 1000;

export class FloorControls {
  #state;
  #client;
  #el;
  #timer;
  #settings;
  #skipped = new Set();
  #timeUpFor = null;

  /**
   * @param {HTMLElement} container  <section id="floor">
   * @param {import("./group-state.js").GroupState} state
   * @param {object} client  the SessionClient
   */
  constructor(container, state, client) {
    this.#state = state;
    this.#client = client;
    this.#timer = new TurnTimer(state);
    this.#settings = new FloorSettingsForm(state, client);
    this.#el = this.#build();
    container.append(this.#el.root);
    state.on("change", ({ what, events }) => this.#onChange(what, events));
    setInterval(() => this.#renderQueue(), QUEUE_REFRESH_MS);
    this.#timer.update();
    this.render();
  }

  #build() {
    const modeButtons = new Map();
    const modes = el("div", { className: "segmented", role: "group", "aria-label": "Floor mode" });
    for (const [mode, text, label] of MODES) {
      const b = button(text, { label, pressed: false, onClick: (e) => this.#setMode(mode, e) });
      b.dataset.mode = mode;
      modeButtons.set(mode, b);
      modes.append(b);
    }
    const holder = el("p", { className: "floor-holder", "data-testid": "floor-holder" });
    const timeUp = el("div", { className: "time-up", role: "alert", "data-testid": "time-up" });
    timeUp.hidden = true;
    const next = button("Next", { label: "Give the floor to the next raised hand", onClick: (e) => this.#cmd("floor.grant_next", {}, e) });
    const endTurn = button("End turn", { onClick: (e) => this.#cmd("floor.end_turn", {}, e) });
    const extend = button(`Extend +${EXTEND_S} s`, { label: `Extend +${EXTEND_S} s: give ${EXTEND_S} more seconds`,
      onClick: (e) => this.#cmd("floor.extend", { seconds: EXTEND_S }, e) });
    const queueTitle = el("h3", { text: "Hand queue" });
    const queue = el("ol", { className: "queue-list", "data-testid": "queue" });
    const queueEmpty = el("p", { className: "hint", text: "No hands raised." });
    const roundTitle = el("h3", { text: "Check-in round" });
    const round = el("ol", { className: "round-list", "data-testid": "round" });
    const roundNote = el("p", { className: "hint" });
    const root = el("div", { className: "panel-block floor-controls" },
      el("h2", { text: "Turn-taking" }),
      modes,
      el("div", { className: "now" }, holder, this.#timer.root),
      timeUp,
      el("div", { className: "actions" }, next, endTurn, extend),
      el("div", { className: "queue" }, queueTitle, queue, queueEmpty),
      el("div", { className: "round" }, roundTitle, roundNote, round),
      this.#settings.root,
    );
    return { root, modeButtons, holder, timeUp, next, endTurn, extend, queueTitle, queue, queueEmpty, roundTitle, round, roundNote };
  }

  #onChange(what, events) {
    if (what !== "floor" && what !== "joined" && what !== "peers" && what !== "report") return;
    if (what === "floor" || what === "joined") {
      this.#timer.update(events);
      this.#settings.fill();
      this.#follow(events);
    }
    this.render();
  }

  /** Time-up and skip bookkeeping from the floor's events, with announcements. */
  #follow(events) {
    const floor = this.#state.floor;
    for (const event of events) {
      const who = this.#state.name(event.member);
      if (event.name === "go_around_started") {
        this.#skipped.clear();
        announce("The check-in round has started.");
      } else if (event.name === "go_around_skipped") {
        this.#skipped.add(event.member);
      } else if (event.name === "go_around_ended") {
        announce("The check-in round is complete.");
      } else if (event.name === "floor_released" && event.reason === "skipped") {
        this.#skipped.add(event.member);
      } else if (event.name === "floor_released" && event.reason === "passed") {
        announce(`${who} passed.`);
      } else if (event.name === "hand_raised") {
        announce(`${who} raised their hand.`);
      } else if (event.name === "turn_warning") {
        announce(`${who}: about ${Math.max(1, Math.round(event.remaining_s))} seconds left.`);
      } else if (event.name === "turn_limit_reached") {
        if (event.action === "notify_therapist") {
          this.#timeUpFor = event.member;
          announce(`Time is up for ${who}.`);
        } else {
          announce(`Time is up for ${who}; the floor moves on.`);
        }
      }
    }
    if (this.#timeUpFor && floor?.turn?.member !== this.#timeUpFor) this.#timeUpFor = null;
    if (events.some((e) => e.name === "turn_extended")) this.#timeUpFor = null;
  }

  render() {
    const s = this.#state;
    const e = this.#el;
    const floor = s.floor;
    const mode = floor?.mode ?? "open";
    for (const [m, b] of e.modeButtons) b.setAttribute("aria-pressed", String(m === mode));
    e.root.dataset.mode = mode;

    const holder = floor?.holder;
    e.holder.textContent = mode === "open"
      ? "Open discussion: nobody holds the floor."
      : holder ? `${s.name(holder)} has the floor` : "Nobody has the floor.";
    e.holder.dataset.member = holder ?? "";

    const hasTurn = Boolean(floor?.turn);
    e.next.hidden = mode !== "hand_queue";
    e.next.disabled = !(floor?.queue?.length);
    e.endTurn.hidden = e.extend.hidden = mode === "open";
    e.endTurn.disabled = !hasTurn;
    e.extend.disabled = !hasTurn || floor.turn.limit_s === null;

    this.#renderTimeUp();
    this.#renderQueue();
    this.#renderRound();
  }

  #renderTimeUp() {
    const box = this.#el.timeUp;
    const who = this.#timeUpFor;
    box.hidden = !who;
    if (!who) {
      box.replaceChildren();
      return;
    }
    const name = this.#state.name(who);
    box.replaceChildren(
      el("p", { text: `Time is up for ${name}. They still have the floor until you act.` }),
      el("div", { className: "actions" },
        button("End turn", { label: `End turn for ${name}`, onClick: (e) => this.#cmd("floor.end_turn", {}, e) }),
        button(`Extend +${EXTEND_S} s`, { label: `Extend +${EXTEND_S} s for ${name}`,
          onClick: (e) => this.#cmd("floor.extend", { seconds: EXTEND_S }, e) })),
    );
  }

  #renderQueue() {
    const s = this.#state;
    const ids = s.floor?.queue ?? [];
    const e = this.#el;
    e.queueTitle.textContent = `Hand queue (${ids.length})`;
    e.queueEmpty.hidden = ids.length > 0;
    const mode = s.floor?.mode ?? "open";
    const rows = ids.map((id, i) => {
      const wait = s.handWait(id);
      const item = el("li", { "data-member": id },
        el("span", { className: "who", text: s.name(id) }),
        el("span", { className: "meta", text: `waiting ${clock(wait)}`, "aria-label": `waiting ${spokenDuration(wait)}` }));
      if (mode === "hand_queue" || mode === "directed") {
        item.append(button("Give floor", { className: "small", label: `Give floor to ${s.name(id)}`,
          onClick: (ev) => this.#cmd("floor.give", { member: id }, ev) }));
      }
      item.dataset.position = String(i + 1);
      return item;
    });
    // Keep keyboard focus: only rebuild when the order or the people changed.
    const key = ids.join(",") + mode;
    if (e.queue.dataset.key !== key) {
      e.queue.replaceChildren(...rows);
      e.queue.dataset.key = key;
    } else {
      rows.forEach((row, i) => {
        const meta = e.queue.children[i]?.querySelector(".meta");
        const fresh = row.querySelector(".meta");
        if (meta && meta.textContent !== fresh.textContent) {
          meta.textContent = fresh.textContent;
          meta.setAttribute("aria-label", fresh.getAttribute("aria-label"));
        }
      });
    }
  }

  #renderRound() {
    const s = this.#state;
    const round = s.round;
    const e = this.#el;
    e.round.parentElement.hidden = !round;
    if (!round) return;
    const pending = new Set(round.pending);
    e.roundTitle.textContent = round.running ? "Check-in round" : "Last check-in round (complete)";
    const done = round.order.filter((id) => !pending.has(id) && id !== round.holder).length;
    e.roundNote.textContent = `${done} of ${round.order.length} done`;
    e.round.replaceChildren(...round.order.map((id) => {
      let status = "pending";
      if (id === round.holder && round.running) status = "speaking";
      else if (this.#skipped.has(id)) status = "skipped";
      else if (!pending.has(id)) status = "done";
      else if (!round.running) status = "not-reached";
      const label = { pending: "to come", speaking: "speaking now", done: "done", skipped: "skipped", "not-reached": "not reached" }[status];
      const mark = { pending: "○", speaking: "▶", done: "✓", skipped: "–", "not-reached": "○" }[status];
      return el("li", { "data-member": id, "data-status": status },
        el("span", { className: "mark", "aria-hidden": "true", text: mark }),
        el("span", { className: "who", text: s.name(id) }),
        el("span", { className: "meta", text: label }));
    }));
  }

  async #setMode(mode, event) {
    if (this.#state.floor?.mode === mode) return;
    const trigger = event.currentTarget;
    const ack = await run(this.#client, "floor.mode", { mode }, trigger);
    if (ack) announce(`${MODE_NAMES[mode]} mode.`);
    trigger.disabled = false;
    this.render();
  }

  async #cmd(name, payload, event) {
    const trigger = event.currentTarget;
    await run(this.#client, name, payload, trigger);
    trigger.disabled = false;
    this.render();
  }
}
