// The alerts list, newest first, with times relative to the server's clock.
// New alerts (not the backlog found on connect) are announced in a live region.
import { ALERT_LABELS, ago, clockTime, el, shortId } from "./format.js";

const SHOWN = 50;
const ANNOUNCED_KEEP = 5;

export function alertKey(alert) {
  return `${alert.at}|${alert.kind}|${alert.room}|${alert.member ?? ""}`;
}

export class AlertsList {
  constructor({ list, empty, live }, onChooseRoom) {
    this._list = list;
    this._empty = empty;
    this._live = live;
    this._known = null; // keys seen so far; null until the first snapshot
    this._latest = [];
    this._now = 0;
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-room]");
      if (button) onChooseRoom(button.dataset.room);
    });
  }

  render(alerts, now) {
    this._latest = [...alerts].sort((a, b) => b.at - a.at).slice(0, SHOWN);
    this._now = now;
    const fresh = [];
    const known = new Set();
    for (const alert of this._latest) {
      const key = alertKey(alert);
      known.add(key);
      if (this._known !== null && !this._known.has(key)) fresh.push(alert);
    }
    this._known = known;
    this._draw();
    this._announce(fresh);
  }

  /** Relative times move on between snapshots too (and while reconnecting). */
  tick(now) {
    if (this._latest.length === 0) return;
    this._now = now;
    for (const time of this._list.querySelectorAll("time[data-at]")) {
      const text = ago(now - Number(time.dataset.at));
      if (time.textContent !== text) time.textContent = text;
    }
  }

  _draw() {
    this._empty.hidden = this._latest.length > 0;
    const existing = new Map(Array.from(this._list.children, (item) => [item.dataset.key, item]));
    const items = this._latest.map((alert) => {
      const key = alertKey(alert);
      return existing.get(key) ?? alertItem(alert, key);
    });
    const current = Array.from(this._list.children);
    if (items.length !== current.length || items.some((item, i) => item !== current[i])) {
      this._list.replaceChildren(...items);
    }
    this.tick(this._now);
  }

  _announce(fresh) {
    if (fresh.length === 0) return;
    for (const alert of fresh.slice(0, 3).reverse()) {
      this._live.append(el("p", "", spoken(alert)));
    }
    if (fresh.length > 3) this._live.append(el("p", "", `${fresh.length - 3} more new alerts.`));
    while (this._live.children.length > ANNOUNCED_KEEP) this._live.firstElementChild.remove();
  }
}

function spoken(alert) {
  const member = alert.member ? `, member ${alert.member}` : "";
  return `${ALERT_LABELS[alert.kind] ?? alert.kind}: room ${alert.room}${member}. ${alert.detail ?? ""}`;
}

function alertItem(alert, key) {
  const item = el("li", "alert");
  item.dataset.key = key;
  item.dataset.kind = alert.kind;
  item.dataset.room = alert.room;
  const head = el("div", "alert-head");
  const kind = el("span", "alert-kind", ALERT_LABELS[alert.kind] ?? alert.kind);
  const time = el("time", "alert-time");
  time.dataset.at = String(alert.at);
  time.dateTime = new Date(alert.at * 1000).toISOString();
  time.title = clockTime(alert.at);
  head.append(kind, time);

  const where = el("div", "alert-where");
  const room = el("button", "room-link", shortId(alert.room));
  room.type = "button";
  room.dataset.room = alert.room;
  room.setAttribute("aria-label", `Room ${alert.room}: show members`);
  where.append(document.createTextNode("Room "), room);
  if (alert.member) where.append(" · ", el("span", "alert-member", `member ${alert.member}`));
  item.append(head, where);
  if (alert.detail) item.append(el("div", "alert-detail", alert.detail));
  return item;
}
