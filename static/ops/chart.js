// A small inline SVG chart of one member's recent RTT and loss, built with DOM
// APIs. Two lines on one time axis, each on its own scale; a dashed line marks
// the "good" RTT limit, and a strip underneath shows the level of each sample.

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 64;
const STRIP = 5; // level strip height at the bottom
const PLOT_TOP = 4;
const PLOT_BOTTOM = HEIGHT - STRIP - 3;
export const WINDOW_S = 5 * 60; // the server keeps five minutes of history
const MIN_WINDOW_S = 60; // a fresh member's first samples are not squeezed into a corner
const GAP_S = 15; // no sample for longer than this breaks the line
const GOOD_RTT_MS = 300;
const MIN_RTT_SCALE_MS = 400;
const MIN_LOSS_SCALE_PCT = 5;

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** Path data for one series; null values and long silences break the line. */
export function seriesPath(points, x, y) {
  let d = "";
  let previousAt = null;
  for (const { at, value } of points) {
    if (value === null || value === undefined) {
      previousAt = null;
      continue;
    }
    const move = previousAt === null || at - previousAt > GAP_S;
    d += `${move ? "M" : "L"}${x(at).toFixed(1)} ${y(value).toFixed(1)} `;
    previousAt = at;
  }
  return d.trim();
}

function maxOf(history, key, floor) {
  let max = floor;
  for (const sample of history) {
    if (typeof sample[key] === "number" && sample[key] > max) max = sample[key];
  }
  return max;
}

/** Seconds shown: the history's age, between one and five minutes. */
export function chartSpan(history, now) {
  const oldest = history.length ? history[0].at : now;
  return Math.min(WINDOW_S, Math.max(MIN_WINDOW_S, Math.ceil((now - oldest) / 15) * 15));
}

/** A text summary of the chart, for its accessible name and tooltip. */
export function describe(history) {
  const last = history[history.length - 1];
  if (!last) return "No measurements yet.";
  const spanS = Math.round(last.at - history[0].at);
  const span = spanS >= 60 ? `${Math.round(spanS / 60)} min` : `${spanS} s`;
  const rtt = maxOf(history, "rtt_ms", 0);
  const loss = maxOf(history, "loss_pct", 0);
  return `${history.length} measurements over ${span}; ` +
    `peak round-trip ${Math.round(rtt)} ms, peak loss ${loss.toFixed(1)} %.`;
}

/** Build the chart for `history` ending at `now` (server time, seconds). */
export function qualityChart(history, now) {
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "chart",
    role: "img",
    focusable: "false",
  });
  const summary = describe(history);
  root.setAttribute("aria-label", `Round-trip time and loss: ${summary}`);
  const title = svg("title");
  title.textContent = summary;
  root.append(title);
  root.append(svg("rect", { class: "chart-bg", x: 0, y: 0, width: WIDTH, height: HEIGHT, rx: 3 }));

  const span = chartSpan(history, now);
  const start = now - span;
  const x = (at) => Math.max(0, Math.min(WIDTH, ((at - start) / span) * WIDTH));
  const rttMax = maxOf(history, "rtt_ms", MIN_RTT_SCALE_MS) * 1.1;
  const lossMax = maxOf(history, "loss_pct", MIN_LOSS_SCALE_PCT) * 1.1;
  const scale = (max) => (value) => PLOT_BOTTOM - (value / max) * (PLOT_BOTTOM - PLOT_TOP);
  const yRtt = scale(rttMax);
  const yLoss = scale(lossMax);

  const limit = yRtt(GOOD_RTT_MS);
  root.append(svg("line", { class: "chart-limit", x1: 0, x2: WIDTH, y1: limit, y2: limit }));
  // Ticks along the bottom: every minute, or every 15 s on a short window.
  const step = span > 120 ? 60 : 15;
  for (let back = step; back < span; back += step) {
    const tx = x(now - back);
    root.append(svg("line", { class: "chart-tick", x1: tx, x2: tx, y1: PLOT_BOTTOM - 3, y2: PLOT_BOTTOM }));
  }

  const recent = history.filter((sample) => sample.at >= start);
  const strip = svg("g", { class: "chart-levels" });
  recent.forEach((sample, i) => {
    const next = recent[i + 1];
    const x0 = x(sample.at);
    const x1 = next && next.at - sample.at <= GAP_S ? x(next.at) : Math.min(WIDTH, x0 + 3);
    strip.append(svg("rect", {
      "data-level": sample.level, x: x0, y: HEIGHT - STRIP, width: Math.max(1, x1 - x0), height: STRIP,
    }));
  });
  root.append(strip);

  const loss = seriesPath(recent.map((s) => ({ at: s.at, value: s.loss_pct })), x, yLoss);
  const rtt = seriesPath(recent.map((s) => ({ at: s.at, value: s.rtt_ms })), x, yRtt);
  if (loss) root.append(svg("path", { class: "chart-loss", d: loss }));
  if (rtt) root.append(svg("path", { class: "chart-rtt", d: rtt }));
  // A lone point draws no line: mark the latest sample so one report is visible.
  const last = recent[recent.length - 1];
  if (last && typeof last.rtt_ms === "number") {
    root.append(svg("circle", { class: "chart-rtt-dot", cx: x(last.at), cy: yRtt(last.rtt_ms), r: 2.2 }));
  }
  if (last && typeof last.loss_pct === "number") {
    root.append(svg("circle", { class: "chart-loss-dot", cx: x(last.at), cy: yLoss(last.loss_pct), r: 2.2 }));
  }
  return root;
}
