// The drill-down: one room's members, each with its quality badge and a chart
// of the last minutes. Only pseudonymous ids (names when the server shows them).
import { chartSpan, qualityChart } from "./chart.js";
import { badge, duration, el, number } from "./format.js";

const PRESENCE_LABELS = { connected: "Connected", disconnected: "Reconnecting", left: "Left" };
const ROLE_LABELS = { therapist: "Therapist", participant: "Participant" };

export class RoomDetail {
  constructor({ panel, title, meta, empty, list, close }, onClose) {
    this._panel = panel;
    this._title = title;
    this._meta = meta;
    this._empty = empty;
    this._list = list;
    this._roomId = null;
    close.addEventListener("click", () => onClose());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") onClose();
    });
  }

  get roomId() {
    return this._roomId;
  }

  /** Open the panel for `roomId` while its first snapshot is on its way. */
  open(roomId) {
    this._roomId = roomId;
    this._panel.hidden = false;
    this._panel.dataset.room = roomId;
    this._title.textContent = `Room ${roomId}`;
    this._meta.textContent = "Loading members…";
    this._list.replaceChildren();
    this._empty.hidden = true;
  }

  focus() {
    this._title.focus();
  }

  close() {
    this._roomId = null;
    this._panel.hidden = true;
    delete this._panel.dataset.room;
    this._list.replaceChildren();
  }

  /**
   * `room` is the snapshot's `room`; `listed` whether the room is still in the
   * snapshot's list (a null `room` for a listed room is a push that crossed our
   * ops.watch); `at` the server time.
   */
  render(room, at, listed) {
    if (this._roomId === null) return;
    if (!room || room.id !== this._roomId) {
      if (!listed) {
        this._meta.textContent = "This room is no longer listed (it ended or expired).";
        this._list.replaceChildren();
      }
      return;
    }
    // In the drill-down `members` is the member list (it replaces the row's count).
    const members = Array.isArray(room.members) ? room.members : [];
    const connected = members.filter((m) => m.presence === "connected").length;
    const kind = room.kind === "group" ? "Group" : "Individual";
    this._meta.replaceChildren(
      document.createTextNode(`${kind} · ${room.state} · open ${duration(room.age_s)} · ` +
        `${connected} connected of ${members.length} seated · `),
      badge("health", room.health),
    );
    this._empty.hidden = members.length > 0;
    this._empty.textContent = "Nobody has joined yet.";
    const existing = new Map(Array.from(this._list.children, (item) => [item.dataset.member, item]));
    const items = members.map((member) => {
      const item = existing.get(member.id) ?? newMemberItem(member.id);
      fillMemberItem(item, member, at);
      return item;
    });
    this._list.replaceChildren(...items);
  }
}

function newMemberItem(id) {
  const item = el("li", "member");
  item.dataset.member = id;
  const head = el("div", "member-head");
  head.append(el("span", "member-id"), el("span", "member-role"), el("span", "member-presence"),
    el("span", "member-quality"));
  const missing = el("div", "member-missing");
  missing.hidden = true;
  item.append(head, el("div", "member-figures"), missing, el("div", "member-chart"));
  return item;
}

function fillMemberItem(item, member, at) {
  const [id, role, presence, quality] = item.firstElementChild.children;
  id.textContent = member.name ? `${member.name} (${member.id})` : member.id;
  const roleText = ROLE_LABELS[member.role] ?? member.role;
  role.textContent = member.admitted === false ? `${roleText} · waiting room` : roleText;
  presence.textContent = PRESENCE_LABELS[member.presence] ?? member.presence;
  presence.dataset.presence = member.presence;
  item.dataset.quality = member.quality ?? "unknown";
  quality.replaceChildren(badge("quality", member.quality));

  const history = Array.isArray(member.history) ? member.history : [];
  const last = history[history.length - 1];
  const figures = item.children[1];
  figures.textContent = last
    ? `RTT ${number(last.rtt_ms, "ms")} · loss ${number(last.loss_pct, "%", 1)} · ` +
      `jitter ${number(last.jitter_ms, "ms")} · chart: last ${duration(chartSpan(history, at))}`
    : "No measurements yet (individual rooms report every 5 s once media flows).";
  // Tracks the relay owes this member that its receiver reports say never arrive.
  const gaps = Array.isArray(member.not_receiving) ? member.not_receiving : [];
  const missing = item.children[2];
  missing.hidden = gaps.length === 0;
  missing.textContent = gaps.length
    ? "▲ Not receiving " + gaps.map((g) => `${g.from}'s ${g.kind}`).join(", ")
    : "";
  item.children[3].replaceChildren(qualityChart(history, at));
}
