// Pure helpers shared by the ops views: labels, badges and times.

/** Least healthy first: the order rooms are listed in. */
export const HEALTH_ORDER = ["critical", "degraded", "healthy", "idle"];

const HEALTH_LABELS = {
  critical: "Critical",
  degraded: "Degraded",
  healthy: "Healthy",
  idle: "Idle",
};

const QUALITY_LABELS = {
  excellent: "Excellent",
  good: "Good",
  poor: "Poor",
  lost: "Lost",
};

// A shape per level as well as a colour, so the badge never relies on colour alone.
const GLYPHS = {
  healthy: "●", excellent: "●", good: "●",
  degraded: "▲", poor: "▲",
  critical: "■", lost: "■",
  idle: "○", unknown: "○",
};

export const ALERT_LABELS = {
  member_lost: "Member lost",
  room_degraded: "Room degraded",
  relay_overloaded: "Relay overloaded",
  media_incomplete: "Media missing",
};

/** A badge element: glyph (decorative) + text; the level is in data-level for styling. */
export function badge(kind, level) {
  const known = kind === "health" ? HEALTH_LABELS : QUALITY_LABELS;
  const value = level && known[level] ? level : "unknown";
  const el = document.createElement("span");
  el.className = `badge ${kind}`;
  el.dataset.level = value;
  const glyph = document.createElement("span");
  glyph.className = "glyph";
  glyph.setAttribute("aria-hidden", "true");
  glyph.textContent = GLYPHS[value];
  const text = document.createElement("span");
  text.className = "badge-text";
  text.textContent = value === "unknown" ? (kind === "health" ? "Unknown" : "No data") : known[value];
  el.append(glyph, text);
  return el;
}

/** Replace `cell`'s badge only when the level changed (keeps the DOM calm). */
export function setBadge(cell, kind, level) {
  const current = cell.firstElementChild;
  const wanted = level || "unknown";
  if (current && current.dataset.level === wanted) return;
  cell.replaceChildren(badge(kind, level));
}

export function healthRank(health) {
  const rank = HEALTH_ORDER.indexOf(health);
  return rank === -1 ? HEALTH_ORDER.length : rank;
}

/** "45 s", "12 min", "3 h 05 min": an age or a duration. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** "just now", "40 s ago", "5 min ago". */
export function ago(seconds) {
  if (seconds < 5) return "just now";
  return `${duration(seconds)} ago`;
}

export function clockTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** A short room id for dense views; the full id stays in the title and the data attribute. */
export function shortId(id) {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}

export function number(value, unit, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return `${Number(value).toFixed(digits)} ${unit}`;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
