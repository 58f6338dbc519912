// In-session chat: the message log, a recipient choice (everyone, or privately between
// a therapist and one member, a member still in the waiting room included), and for
// therapists in groups "Members can write". Messages are shown with textContent, never
// as HTML, kept only in this page, and cleared when the session ends.
import { el, run } from "./dom.js";
import { announce } from "./status.js";

const MAX_CHARS = 1000;
const EVERYONE = "";

export class ChatPanel {
  #client;
  #self;
  #group;
  #waiting = [];
  #membersAllowed = true;
  #el;

  /**
   * @param {HTMLElement} section  <section id="chat">
   * @param {object} client  the SessionClient
   * @param {{id: string, role: string, name: string}} self
   * @param {{kind: string}} room
   * @param {object} [ack]  the session.join ack (a therapist's `waiting`)
   */
  constructor(section, client, self, room, ack) {
    this.#client = client;
    this.#self = self;
    this.#group = room.kind === "group";
    this.#waiting = ack?.waiting ?? [];
    this.#el = this.#build(section);
    client.on("chat.message", (message) => this.#show(message));
    client.on("chat.state", ({ members_allowed: allowed }) => this.#setAllowed(allowed));
    client.on("roster", () => this.render());
    client.on("admission", () => this.render());
    client.on("lobby.state", ({ waiting }) => {
      this.#waiting = waiting ?? [];
      this.render();
    });
    client.on("state", ({ to }) => {
      if (to === "closed") this.#el.log.replaceChildren();  // gone when the session ends
    });
    client.command("chat.state", {}).then((ack) => this.#setAllowed(ack.members_allowed))
      .catch((err) => console.debug("chat.state not available", err));
    this.render();
  }

  get #therapist() {
    return this.#self.role === "therapist";
  }

  #build(section) {
    // The live region wraps the list: role="log" on the <ol> itself would take away
    // its list semantics from the messages.
    const log = el("ol", { className: "chat-log" });
    const logRegion = el("div", { role: "log", "aria-live": "polite", "aria-label": "Messages",
      "data-testid": "chat-log" }, log);
    const to = el("select", { id: "chat-to" });
    const toRow = el("p", { className: "setting" }, el("label", { for: "chat-to", text: "To " }), to);
    const text = el("textarea", { id: "chat-text", rows: 2, maxLength: MAX_CHARS });
    const send = el("button", { type: "submit", className: "primary", text: "Send" });
    const note = el("p", { className: "hint", "data-testid": "chat-note" });
    const form = el("form", { className: "chat-form" },
      toRow, el("label", { for: "chat-text", text: "Message" }), text, el("div", { className: "actions" }, send));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#send(send);
    });
    text.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter makes a new line: the habit of every chat.
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.#send(send);
      }
    });
    const allow = el("input", { type: "checkbox", id: "chat-allow", checked: true });
    allow.addEventListener("change", () => this.#toggleMembers(allow));
    const allowRow = el("p", { className: "setting" }, allow,
      el("label", { for: "chat-allow", text: " Members can write" }));
    allowRow.hidden = !(this.#group && this.#therapist);
    section.replaceChildren(
      el("h2", { id: "chat-title", text: "Chat" }),
      el("p", { className: "hint", text: "Messages are not saved: they are gone when the session ends." }),
      allowRow, logRegion, note, form);
    section.hidden = false;
    return { section, log, to, toRow, text, send, note, form, allow };
  }

  /** Who we may write to: everyone, and privately across the therapist/member line. */
  #recipients() {
    const others = this.#client.peers.filter((p) => p.id !== this.#self.id);
    if (!this.#group) return [[EVERYONE, others[0] ? others[0].name : "The other person"]];
    const list = [[EVERYONE, "Everyone"]];
    const across = others.filter((p) => (p.role === "therapist") !== this.#therapist);
    for (const p of across) list.push([p.id, `${p.name} (private)`]);
    if (this.#therapist) for (const w of this.#waiting) list.push([w.id, `${w.name} (waiting room)`]);
    return list;
  }

  render() {
    const e = this.#el;
    const chosen = e.to.value;
    const options = this.#recipients();
    e.to.replaceChildren(...options.map(([value, label]) => el("option", { value, text: label })));
    if (options.some(([value]) => value === chosen)) e.to.value = chosen;
    e.toRow.hidden = !this.#group;
    const waiting = this.#client.admission === "waiting";
    const off = !this.#therapist && !this.#membersAllowed;
    e.text.disabled = e.send.disabled = waiting || off;
    e.note.textContent = waiting
      ? "You can read messages from the therapist while you wait."
      : off ? "The therapist has turned chat off for members." : "";
    e.note.hidden = !e.note.textContent;
    e.allow.checked = this.#membersAllowed;
  }

  #setAllowed(allowed) {
    if (typeof allowed !== "boolean") return;
    const changed = allowed !== this.#membersAllowed;
    this.#membersAllowed = allowed;
    this.render();
    if (changed && !this.#therapist) {
      announce(allowed ? "The therapist turned chat back on." : "The therapist turned chat off for members.");
    }
  }

  async #send(trigger) {
    const text = this.#el.text.value;
    if (!text.trim()) return;
    const to = this.#el.to.value || null;
    const ack = await run(this.#client, "chat.send", { text, to: this.#group ? to : null }, trigger);
    trigger.disabled = false;
    if (ack) this.#el.text.value = "";
    this.#el.text.focus();
  }

  async #toggleMembers(box) {
    const ack = await run(this.#client, "chat.members", { allowed: box.checked }, box);
    box.disabled = false;
    if (ack) this.#setAllowed(ack.members_allowed);
    else box.checked = this.#membersAllowed;
  }

  #show(message) {
    const mine = message.from === this.#self.id;
    const who = mine ? "You" : message.name;
    let privacy = "";
    if (message.private) {
      const other = mine ? this.#nameOf(message.to) : null;
      privacy = mine ? ` (privately to ${other})` : " (privately to you)";
    }
    const item = el("li", { className: `chat-message${mine ? " mine" : ""}${message.private ? " private" : ""}` },
      el("span", { className: "who", text: `${who}${privacy}` }),
      // textContent only: what a person typed is never markup.
      el("p", { className: "text", text: message.text }));
    this.#el.log.append(item);
    item.scrollIntoView?.({ block: "nearest" });
  }

  #nameOf(id) {
    return this.#client.peers.find((p) => p.id === id)?.name
      ?? this.#waiting.find((w) => w.id === id)?.name ?? "them";
  }
}
