// Live talk time for therapists (talk.report, pushed every few seconds): who has not
// spoken yet, each member's share as a bar with the numbers in text, turns and longest
// wait. At the end of the session, a summary of the last report (shown, never stored).
import { clock, el, spokenDuration } from "./dom.js";

export class TalkReport {
  #state;
  #el;

  /**
   * @param {HTMLElement} container
   * @param {import("./group-state.js").GroupState} state
   * @param {object} client  the SessionClient
   */
  constructor(container, state, client) {
    this.#state = state;
    const quiet = el("p", { className: "not-spoken", "data-testid": "not-spoken" });
    const list = el("ul", { className: "talk-bars", "data-testid": "talk-bars" });
    const total = el("p", { className: "hint" });
    const root = el("details", { className: "panel-block talk-report", open: true },
      el("summary", { text: "Talk time" }), quiet, list, total);
    this.#el = { root, quiet, list, total };
    container.append(root);
    state.on("change", ({ what }) => {
      if (what === "report" || what === "peers") this.render();
    });
    client.command("talk.report", {}).then((ack) => state.setReport(ack.report)).catch((err) => {
      console.debug("talk.report not available", err);
    });
    this.render();
  }

  render() {
    const report = this.#state.report;
    const e = this.#el;
    const rows = report?.members ?? [];
    if (!rows.length) {
      e.quiet.textContent = "Talk time appears once members are in the group.";
      e.quiet.classList.remove("attention");
      e.list.replaceChildren();
      e.total.textContent = "";
      return;
    }
    const notSpoken = rows.filter((m) => !m.has_spoken && !this.#isTherapist(m.id));
    e.quiet.textContent = notSpoken.length
      ? `Not spoken yet: ${notSpoken.map((m) => this.#name(m)).join(", ")}`
      : "Everyone has spoken.";
    e.quiet.classList.toggle("attention", notSpoken.length > 0);
    e.list.replaceChildren(...barRows(rows, (m) => this.#name(m), (id) => this.#isTherapist(id)));
    e.total.textContent = `${spokenDuration(report.total_speaking_s)} of speech in ${spokenDuration(report.elapsed_s)}.`;
  }

  /** Therapists' own speech is in the report too; "not spoken yet" is about members. */
  #isTherapist(id) {
    if (id === this.#state.self.id) return this.#state.isTherapist;
    return this.#state.peers.some((p) => p.id === id && p.role === "therapist");
  }

  #name(row) {
    return row.name || this.#state.name(row.id);
  }

  /** The summary shown in place of the call when the session ends (never stored). */
  summary() {
    const report = this.#state.report;
    if (!report?.members?.length) return null;
    const rows = report.members;
    const quiet = rows.filter((m) => !m.has_spoken && !this.#isTherapist(m.id)).map((m) => this.#name(m));
    return el("section", { className: "session-summary", "aria-labelledby": "summary-title", "data-testid": "summary" },
      el("h2", { id: "summary-title", text: "Talk time in this session" }),
      el("p", { className: "hint", text: "Shown once for you; it is not saved anywhere." }),
      el("ul", { className: "talk-bars" }, ...barRows(rows, (m) => this.#name(m), (id) => this.#isTherapist(id))),
      el("p", { text: quiet.length ? `Did not speak: ${quiet.join(", ")}.` : "Everyone spoke." }),
      el("p", { className: "hint", text: `${spokenDuration(report.total_speaking_s)} of speech in ${spokenDuration(report.elapsed_s)}.` }));
  }
}

function barRows(rows, name, isTherapist) {
  const sorted = [...rows].sort((a, b) => b.share - a.share || name(a).localeCompare(name(b)));
  return sorted.map((m) => {
    const percent = Math.round((m.share ?? 0) * 100);
    const bar = el("span", { className: "bar", "aria-hidden": "true" }, el("span", { className: "fill" }));
    bar.firstChild.style.width = `${Math.min(100, Math.max(0, (m.share ?? 0) * 100))}%`;
    const wait = m.longest_wait_s > 0 ? ` · longest wait ${clock(m.longest_wait_s)}` : "";
    return el("li", { "data-member": m.id, className: m.has_spoken || isTherapist(m.id) ? "" : "quiet" },
      el("span", { className: "who", text: `${name(m)}${m.speaking_now ? " (speaking)" : ""}` }),
      bar,
      el("span", { className: "meta",
        text: `${percent}% · ${clock(m.speaking_s)} · ${m.turns} turn${m.turns === 1 ? "" : "s"}${wait}` }));
  });
}
