// A group member's turn-taking panel: waiting-room card, raise/lower hand, place in
// line, "You have the floor" with the turn timer, "I'm done" and "Pass", the
// therapist's invitation to speak ("Speak" or "Pass"), and the notices for a held
// microphone and a moderator's mute.
import { button, el, ordinal, run } from "./dom.js";
import { announce } from "./status.js";
import { TurnTimer } from "./turn-timer.js";

const MODE_HINTS = {
  open: "Open discussion: anyone may speak.",
  hand_queue: "Hand queue: raise your hand and the therapist gives you the floor.",
  go_around: "Check-in round: everyone gets a turn, one at a time.",
  directed: "The therapist gives the floor to one person at a time.",
};

export class MemberFloor {
  #state;
  #client;
  #unmute;
  #el;
  #timer;
  /** The floor came to us as an invitation (floor_granted reason invited). */
  #invited = false;

  /**
   * @param {HTMLElement} container  <section id="floor">
   * @param {import("./group-state.js").GroupState} state
   * @param {object} client  the SessionClient
   * @param {() => void} [unmute]  turns our microphone back on (lifts a moderator's mute)
   */
  constructor(container, state, client, unmute) {
    this.#state = state;
    this.#client = client;
    this.#unmute = unmute ?? (() => {});
    this.#timer = new TurnTimer(state);
    this.#el = this.#build();
    container.append(this.#el.waitingCard, this.#el.panel);
    state.on("change", ({ what, events }) => this.#onChange(what, events));
    this.#timer.update();
    this.render();
  }

  #build() {
    const waitingTitle = el("h2", { text: "You are in the waiting room" });
    const waitingText = el("p", { className: "waiting-line", text: "Waiting for the therapist to let you in…" });
    const waitingHint = el("p", {
      className: "hint",
      text: "Nobody in the group can see or hear you while you wait. You can check your camera and microphone below.",
    });
    const waitingCard = el("div", { className: "waiting-card", "data-testid": "waiting-card" },
      waitingTitle, waitingText, waitingHint);

    const mode = el("p", { className: "floor-mode" });
    const doneButton = button("I'm done", { label: "I'm done speaking", onClick: (e) => this.#send("floor.yield", e) });
    const passButton = button("Pass", { label: "Pass my turn", onClick: (e) => this.#send("floor.pass", e) });
    const speakButton = button("Speak", { className: "primary", onClick: () => this.#speak() });
    const floorTitle = el("h2", { text: "You have the floor" });
    const inviteHint = el("p", { className: "hint",
      text: "Take the floor by speaking, or pass. Nobody will ask why." });
    const haveFloor = el("div", { className: "have-floor", "data-testid": "have-floor" },
      floorTitle, inviteHint, this.#timer.root,
      el("div", { className: "actions" }, speakButton, doneButton, passButton));
    const position = el("p", { className: "floor-position", "data-testid": "floor-position" });
    const unmuteButton = button("Unmute", { className: "primary", label: "Unmute my microphone", onClick: () => this.#unmute() });
    const muted = el("div", { className: "moderator-muted", "data-testid": "moderator-muted" },
      el("p", { text: "The therapist muted you — unmute when you're ready." }), unmuteButton);
    const micHeld = el("p", { className: "mic-held", "data-testid": "mic-held",
      text: "Your microphone is held until you have the floor." });
    // The visible text is the whole accessible name (WCAG 2.5.3, label in name): voice
    // control users say what they see.
    const hand = button("Raise my hand", { className: "hand", onClick: (e) => this.#toggleHand(e) });
    const panel = el("div", { className: "member-floor" }, mode, haveFloor, muted, micHeld, position,
      el("div", { className: "actions" }, hand));
    return { waitingCard, waitingTitle, waitingText, panel, mode, haveFloor, floorTitle, inviteHint, speakButton,
      passButton, doneButton, position, muted, micHeld, hand };
  }

  #onChange(what, events) {
    if (what === "floor") {
      this.#followInvitation(events);
      this.#announce(events);
    }
    if (what === "floor" || what === "joined") this.#timer.update(events);
    if (what === "admission" && this.#state.admission !== "admitted") this.#timer.update();
    this.render();
  }

  get #handUp() {
    return (this.#state.floor?.queue ?? []).includes(this.#state.self.id);
  }

  render() {
    const s = this.#state;
    const e = this.#el;
    const waiting = s.admission === "waiting";
    e.waitingCard.hidden = !waiting;
    e.waitingTitle.textContent = s.sentBack ? "You are back in the waiting room" : "You are in the waiting room";
    e.waitingText.textContent = s.sentBack
      ? "The therapist moved you back to the waiting room. Waiting for the therapist to let you in…"
      : "Waiting for the therapist to let you in…";
    e.panel.hidden = waiting;
    if (waiting) return;

    const floor = s.floor;
    const me = s.self.id;
    const holding = floor?.holder === me;
    const mode = floor?.mode ?? null;
    e.mode.textContent = mode ? MODE_HINTS[mode] ?? "" : "";
    e.mode.hidden = !mode;
    e.panel.dataset.mode = mode ?? "unknown";

    e.haveFloor.hidden = !holding;
    const invited = holding && this.#invited;
    e.floorTitle.textContent = invited ? "The therapist invites you to speak" : "You have the floor";
    e.inviteHint.hidden = e.speakButton.hidden = !invited;
    e.passButton.hidden = mode !== "go_around" && !invited;
    e.doneButton.disabled = false;
    e.passButton.disabled = false;

    const muted = Boolean(s.selfMedia?.muted_by_moderator);
    e.muted.hidden = !muted;
    e.micHeld.hidden = !floor || mode === "open" || holding;

    const handUp = this.#handUp;
    e.hand.hidden = holding;
    e.hand.disabled = false;
    e.hand.textContent = handUp ? "Lower my hand" : "Raise my hand";
    e.hand.setAttribute("aria-pressed", String(handUp));

    e.position.textContent = this.#positionText(floor, handUp, holding);
    e.position.hidden = !e.position.textContent;
  }

  #positionText(floor, handUp, holding) {
    if (!floor || holding) return "";
    const me = this.#state.self.id;
    const round = floor.go_around;
    if (round && round.order.includes(me)) {
      const index = round.pending.indexOf(me);
      if (index === 0) return "You are next in the check-in round.";
      if (index > 0) return `You are ${ordinal(index + 1)} in line for the check-in round.`;
      return "You have had your turn in this round.";
    }
    if (handUp) {
      const place = floor.queue.indexOf(me) + 1;
      if (floor.mode !== "hand_queue") return "Your hand is raised. The therapist can see it.";
      return place === 1 ? "Your hand is raised. You are next in line." : `Your hand is raised. You are ${ordinal(place)} in line.`;
    }
    if (floor.holder) return `${this.#state.name(floor.holder)} has the floor.`;
    return "";
  }

  #followInvitation(events) {
    const me = this.#state.self.id;
    for (const event of events) {
      if (event.member !== me) continue;
      if (event.name === "floor_granted") this.#invited = event.reason === "invited";
      if (event.name === "floor_released") this.#invited = false;
    }
    if (this.#state.floor?.holder !== me) this.#invited = false;
  }

  /** Taking an invitation: the floor is ours already, so it is our microphone that opens. */
  #speak() {
    this.#unmute();
    this.#invited = false;
    this.render();
    announce("You have the floor. Go ahead.");
  }

  #announce(events) {
    const me = this.#state.self.id;
    for (const event of events) {
      if (event.member !== me) continue;
      if (event.name === "floor_granted" && event.reason === "invited") {
        announce("The therapist invites you to speak. Speak, or pass.");
      } else if (event.name === "floor_granted") {
        const limit = event.limit_s ? ` You have ${Math.round(event.limit_s)} seconds.` : "";
        announce(`You have the floor.${limit}`);
      } else if (event.name === "turn_warning") {
        announce(`Nearly time: about ${Math.max(1, Math.round(event.remaining_s))} seconds left.`);
      } else if (event.name === "turn_limit_reached") {
        announce("Your time is up.");
      } else if (event.name === "floor_released") {
        announce("Your turn has ended.");
      }
    }
  }

  async #toggleHand(event) {
    const up = this.#handUp;
    const ack = await run(this.#client, up ? "floor.lower_hand" : "floor.raise_hand", {}, event.currentTarget);
    this.render();
    if (ack) announce(up ? "You lowered your hand." : this.#el.position.textContent || "You raised your hand.");
  }

  async #send(name, event) {
    await run(this.#client, name, {}, event.currentTarget);
    this.render();
  }
}
