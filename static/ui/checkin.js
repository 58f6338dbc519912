// Emergency information at check-in (individual sessions that ask for it): the patient
// confirms where they are now and an emergency contact before joining. Kept only in
// this page's memory and shared with the therapist (checkin.share) on joining and again
// whenever a therapist (re)joins; the server keeps none of it.
import { el } from "./dom.js";
import { announce } from "./status.js";

const MAX_CHARS = 300;

export class CheckinForm {
  #el;
  #sharedTo = new Set();

  /** @param {HTMLElement} before  the form goes just before this element (the Join button) */
  constructor(before) {
    const location = el("input", { id: "checkin-location", type: "text", maxLength: MAX_CHARS,
      autocomplete: "street-address", required: true });
    const contact = el("input", { id: "checkin-contact", type: "text", maxLength: MAX_CHARS, required: true });
    const problem = el("p", { className: "note", role: "alert", "data-testid": "checkin-problem" });
    problem.hidden = true;
    const root = el("fieldset", { className: "checkin", "data-testid": "checkin" },
      el("legend", { text: "Before you join: for your safety" }),
      el("p", { className: "hint",
        text: "Your therapist needs to know where you are in case of an emergency. Only your therapist sees this, only during this session. It is not saved." }),
      el("div", { className: "field" },
        el("label", { for: "checkin-location", text: "Where are you right now? (address or place)" }), location),
      el("div", { className: "field" },
        el("label", { for: "checkin-contact", text: "Emergency contact (name and phone number)" }), contact),
      problem);
    before.before(root);
    this.#el = { root, location, contact, problem };
  }

  get #values() {
    return { location: this.#el.location.value.trim(), contact: this.#el.contact.value.trim() };
  }

  /** True when both are filled in; otherwise says what is missing and focuses it. */
  ready() {
    const { location, contact } = this.#values;
    const missing = !location ? this.#el.location : !contact ? this.#el.contact : null;
    this.#el.problem.hidden = !missing;
    if (!missing) return true;
    this.#el.problem.textContent = "Please fill in where you are and an emergency contact before joining.";
    announce(this.#el.problem.textContent);
    missing.focus();
    return false;
  }

  hide() {
    this.#el.root.hidden = true;
  }

  /** Share now, and with every therapist who (re)joins later (their page starts empty). */
  share(client) {
    const send = () => client.command("checkin.share", this.#values).catch((err) => {
      console.warn("emergency information not shared", err);
    });
    const therapists = () => client.peers.filter((p) => p.role === "therapist" && p.connected !== false);
    for (const p of therapists()) this.#sharedTo.add(`${p.id}:${p.epoch}`);
    send();
    client.on("roster", () => {
      const fresh = therapists().filter((p) => !this.#sharedTo.has(`${p.id}:${p.epoch}`));
      for (const p of fresh) this.#sharedTo.add(`${p.id}:${p.epoch}`);
      if (fresh.length) send();
    });
  }
}

/** The therapist's card: shown only during the session, gone when it ends. */
export class CheckinCard {
  #root;

  constructor(before, client) {
    this.#root = el("section", { className: "checkin-card panel-block", "aria-labelledby": "checkin-card-title",
      "data-testid": "checkin-card" });
    this.#root.hidden = true;
    before.before(this.#root);
    client.on("checkin.info", (info) => this.#show(info));
    client.on("state", ({ to }) => {
      if (to === "closed") this.#root.replaceChildren();
    });
  }

  #show({ name, location, contact }) {
    // textContent only, as everything a person typed.
    this.#root.replaceChildren(
      el("h2", { id: "checkin-card-title", text: `Emergency information from ${name}` }),
      el("dl", {},
        el("dt", { text: "Location now" }), el("dd", { text: location }),
        el("dt", { text: "Emergency contact" }), el("dd", { text: contact })),
      el("p", { className: "hint", text: "Shown only during this session; not saved anywhere." }));
    this.#root.hidden = false;
    announce(`${name} shared their location and an emergency contact.`);
  }
}
