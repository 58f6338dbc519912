// The rooms table: one row per room, least healthy first. Rows are kept by room
// id and updated in place, so focus and the selection survive every snapshot.
import { duration, el, healthRank, setBadge, shortId } from "./format.js";

const STATE_LABELS = { created: "Not started", active: "Active", ended: "Ended", expired: "Expired" };

/** Unhealthy first; ended rooms last; otherwise the server's order (newest first). */
export function sortRooms(rooms) {
  const over = (room) => (room.state === "ended" || room.state === "expired" ? 1 : 0);
  return rooms
    .map((room, index) => ({ room, index }))
    .sort((a, b) => over(a.room) - over(b.room)
      || healthRank(a.room.health) - healthRank(b.room.health)
      || a.index - b.index)
    .map(({ room }) => room);
}

export class RoomsTable {
  /** @param {(roomId: string) => void} onChoose */
  constructor({ body, empty, table }, onChoose) {
    this._body = body;
    this._empty = empty;
    this._table = table;
    this._onChoose = onChoose;
    this._rows = new Map();
    this._selected = null;
    body.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-room]");
      if (row) this._onChoose(row.dataset.room);
    });
  }

  render(rooms) {
    const sorted = sortRooms(rooms);
    const seen = new Set();
    for (const room of sorted) {
      seen.add(room.id);
      let row = this._rows.get(room.id);
      if (!row) {
        row = this._newRow(room.id);
        this._rows.set(room.id, row);
      }
      this._fill(row, room);
    }
    for (const [id, row] of this._rows) {
      if (!seen.has(id)) {
        row.remove();
        this._rows.delete(id);
      }
    }
    this._order(sorted.map((room) => this._rows.get(room.id)));
    this._empty.hidden = sorted.length > 0;
    this._table.hidden = sorted.length === 0;
    this.select(this._selected);
  }

  /** Mark the room being drilled into (or none). */
  select(roomId) {
    this._selected = roomId;
    for (const [id, row] of this._rows) {
      const chosen = id === roomId;
      row.classList.toggle("selected", chosen);
      const button = row.querySelector("button");
      if (chosen) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  focusRoom(roomId) {
    this._rows.get(roomId)?.querySelector("button")?.focus();
  }

  _newRow(id) {
    const row = document.createElement("tr");
    row.dataset.room = id;
    const head = document.createElement("th");
    head.scope = "row";
    head.className = "col-room";
    const button = el("button", "room-link", shortId(id));
    button.type = "button";
    button.title = `Show the members of room ${id}`;
    button.setAttribute("aria-label", `Room ${id}: show members`);
    head.append(button);
    row.append(head);
    for (const name of ["kind", "state", "age", "members", "waiting", "health"]) {
      const cell = el("td", `col-${name}`);
      cell.dataset.label = name[0].toUpperCase() + name.slice(1);
      row.append(cell);
    }
    return row;
  }

  _fill(row, room) {
    const cells = row.cells;
    setText(cells[1], room.kind === "group" ? "Group" : "Individual");
    setText(cells[2], STATE_LABELS[room.state] ?? room.state);
    setText(cells[3], duration(room.age_s));
    setText(cells[4], `${room.members} / ${room.seated}`);
    cells[4].title = `${room.members} connected, ${room.seated} holding a seat`;
    setText(cells[5], room.waiting > 0 ? String(room.waiting) : "—");
    setBadge(cells[6], "health", room.health);
    row.dataset.health = room.health;
    row.dataset.state = room.state;
    row.dataset.members = String(room.members);
    row.dataset.seated = String(room.seated);
  }

  /** Reorder only when needed, putting focus back if a moved row held it. */
  _order(rows) {
    const current = Array.from(this._body.children);
    if (rows.length === current.length && rows.every((row, i) => row === current[i])) return;
    const focused = document.activeElement;
    const hadFocus = focused && this._body.contains(focused);
    this._body.replaceChildren(...rows);
    if (hadFocus && focused.isConnected) focused.focus({ preventScroll: true });
  }
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
