// Moderation and turn-taking in group rooms: mounts the therapist's panels (room
// toolbar, waiting room, members, floor controls, talk time) or the member's panel in
// <section id="moderation"> and <section id="floor">. Server events arrive through the
// SessionClient's emitter (via GroupState); commands go out with
// client.command(event, payload) (see docs/protocol.md).
import { button, confirmStep, el, run } from "./dom.js";
import { FloorControls } from "./floor-controls.js";
import { GroupState } from "./group-state.js";
import { MemberActions } from "./member-actions.js";
import { MemberFloor } from "./member-floor.js";
import { QuietCues } from "./quiet-cues.js";
import { announce } from "./status.js";
import { TalkReport } from "./talk-report.js";

/**
 * @param {{floor: HTMLElement, moderation: HTMLElement, self: object, client: object, ack?: object,
 *          unmute?: () => void}} ctx
 * @returns {GroupState}
 */
export function mountModeration({ floor, moderation, self, client, ack, unmute }) {
  floor.dataset.ready = "true";
  moderation.dataset.role = self.role;
  const state = new GroupState(client, self, ack);
  if (self.role !== "therapist") {
    new MemberFloor(floor, state, client, unmute);
    return state;
  }
  new RoomToolbar(moderation, state, client);
  const lobby = new WaitingRoomList(moderation, client);
  lobby.render(state.waiting);
  state.on("change", ({ what }) => {
    if (what === "lobby" || what === "joined") lobby.render(state.waiting);
  });
  new MemberActions(moderation, state, client);
  new FloorControls(floor, state, client);
  const talk = new TalkReport(floor, state, client);
  new QuietCues(floor, state, client);
  client.on("state", ({ to, reason }) => {
    if (to === "closed" && reason === "ended") showSummary(talk);
  });
  return state;
}

/** After the session ends, the therapist sees the last talk-time report under the notice. */
function showSummary(talk) {
  const summary = talk.summary();
  const notice = document.getElementById("notice");
  if (!summary || !notice) return;
  notice.querySelector(".session-summary")?.remove();
  notice.append(summary);
}

/** Lock / unlock, mute all but the speaker, end the session for everyone (with a confirm). */
class RoomToolbar {
  #state;
  #client;
  #lock;
  #lockNote;

  constructor(container, state, client) {
    this.#state = state;
    this.#client = client;
    this.#lock = button("Lock room", { pressed: false, onClick: (e) => this.#toggleLock(e) });
    this.#lockNote = el("p", { className: "lock-note", "data-testid": "lock-note" });
    const muteAll = button("Mute all but speaker", {
      // Starts with the visible text (label in name), then says what it does.
      label: "Mute all but speaker: everyone except the member who has the floor",
      onClick: (e) => this.#muteAll(e),
    });
    const confirmSlot = el("div", { className: "confirm-slot" });
    confirmSlot.hidden = true;
    const end = button("End session for all", { className: "danger", onClick: () =>
      confirmStep(confirmSlot, "End the session for everyone? Nobody can rejoin with their link afterwards.",
        "End for everyone", () => run(client, "room.end", {}), { label: "Confirm ending the session" }) });
    container.append(el("div", { className: "panel-block room-toolbar", role: "toolbar", "aria-label": "Room controls" },
      el("div", { className: "actions" }, this.#lock, muteAll, end), this.#lockNote, confirmSlot));
    state.on("change", ({ what }) => {
      if (what === "locked" || what === "joined") this.render();
    });
    this.render();
  }

  render() {
    const locked = this.#state.locked;
    this.#lock.textContent = locked ? "Unlock room" : "Lock room";
    this.#lock.setAttribute("aria-pressed", String(locked));
    this.#lock.disabled = false;
    this.#lockNote.textContent = locked ? "Room locked: nobody new can join." : "";
    this.#lockNote.hidden = !locked;
  }

  async #toggleLock(event) {
    const locked = !this.#state.locked;
    const ack = await run(this.#client, "room.lock", { locked }, event.currentTarget);
    if (ack) announce(locked ? "Room locked. Nobody new can join." : "Room unlocked.");
    this.render();
  }

  async #muteAll(event) {
    const keep = this.#state.floor?.holder ?? null;
    const trigger = event.currentTarget;
    const ack = await run(this.#client, "moderation.mute_all", { keep }, trigger);
    trigger.disabled = false;
    if (ack) announce(keep ? `Everyone but ${this.#state.name(keep)} is muted.` : "Every member is muted.");
  }
}

class WaitingRoomList {
  #root;
  #client;
  #heading;
  #hint;
  #list;
  #admitAll;
  #waiting = [];
  #rows = new Map(); // member id -> row, kept across renders so a click in flight is never lost
  #seen = new Set();

  constructor(container, client) {
    this.#client = client;
    this.#root = el("div", { className: "panel-block waiting-room", "data-testid": "waiting-room" });
    this.#heading = el("h2");
    this.#hint = el("p", { className: "hint", text: "Nobody is waiting." });
    this.#list = el("ul");
    this.#admitAll = button("Admit everyone", { className: "small", onClick: (e) => this.#admitEveryone(e) });
    this.#root.append(this.#heading, this.#hint, this.#list, this.#admitAll);
    container.append(this.#root);
  }

  render(waiting) {
    this.#waiting = waiting;
    this.#heading.textContent = `Waiting room (${waiting.length})`;
    this.#hint.hidden = waiting.length > 0;
    this.#admitAll.hidden = waiting.length < 2;
    this.#seen = new Set([...this.#seen].filter((id) => waiting.some((m) => m.id === id)));
    const ids = new Set(waiting.map((m) => m.id));
    for (const [id, row] of this.#rows) {
      if (!ids.has(id)) {
        row.remove();
        this.#rows.delete(id);
      }
    }
    for (const member of waiting) {
      const row = this.#rows.get(member.id) ?? this.#row(member);
      this.#list.append(row); // keeps arrival order; an existing row is moved, not rebuilt
    }
    const arrived = waiting.filter((m) => !this.#seen.has(m.id));
    for (const m of waiting) this.#seen.add(m.id);
    if (arrived.length) {
      announce(`${arrived.map((m) => m.name).join(", ")} ${arrived.length === 1 ? "is" : "are"} in the waiting room.`);
    }
  }

  #row(member) {
    const row = el("li", { "data-member": member.id },
      el("span", { className: "who", text: member.name }),
      this.#button("Admit", `Admit ${member.name}`, "lobby.admit", member),
      this.#button("Turn away", `Turn away ${member.name}`, "lobby.deny", member));
    this.#rows.set(member.id, row);
    return row;
  }

  async #admitEveryone(e) {
    const trigger = e.currentTarget;
    const waiting = [...this.#waiting];
    trigger.disabled = true;
    const acks = await Promise.all(
      waiting.map((m) => run(this.#client, "lobby.admit", { member: m.id }, null)));
    trigger.disabled = false;
    const admitted = waiting.filter((_, i) => acks[i]).map((m) => m.name);
    if (admitted.length) announce(`${admitted.join(", ")} ${admitted.length === 1 ? "was" : "were"} admitted.`);
  }

  #button(text, label, event, member) {
    return button(text, { label, className: "small", onClick: async (e) => {
      const ack = await run(this.#client, event, { member: member.id }, e.currentTarget);
      if (ack) announce(event === "lobby.admit" ? `${member.name} was admitted.` : `${member.name} was turned away.`);
    } });
  }
}
