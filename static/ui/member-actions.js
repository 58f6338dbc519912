// The therapist's list of admitted members, one row each with its actions: Mute (never
// unmute), Stop video, Give floor, Skip, Send to waiting room, Remove (with a confirm).
import { button, confirmStep, el, run } from "./dom.js";
import { announce } from "./status.js";

export class MemberActions {
  #state;
  #client;
  #list;
  #empty;
  #rows = new Map(); // member id -> {row, ...parts}
  #speaking = new Set();

  /**
   * @param {HTMLElement} container
   * @param {import("./group-state.js").GroupState} state
   * @param {object} client  the SessionClient
   */
  constructor(container, state, client) {
    this.#state = state;
    this.#client = client;
    this.#list = el("ul", { className: "member-list", "data-testid": "members" });
    this.#empty = el("p", { className: "hint", text: "Nobody has been admitted yet." });
    container.append(el("div", { className: "panel-block members" },
      el("h2", { text: "Members" }), this.#empty, this.#list));
    state.on("change", () => this.render());
    client.on("speaking", ({ id, speaking }) => {
      if (speaking) this.#speaking.add(id);
      else this.#speaking.delete(id);
      this.#rows.get(id)?.row.classList.toggle("speaking", Boolean(speaking));
    });
    this.render();
  }

  render() {
    const members = this.#state.participants;
    this.#empty.hidden = members.length > 0;
    const ids = new Set(members.map((m) => m.id));
    for (const [id, parts] of this.#rows) {
      if (!ids.has(id)) {
        parts.row.remove();
        this.#rows.delete(id);
      }
    }
    for (const member of members) {
      const parts = this.#rows.get(member.id) ?? this.#create(member);
      this.#update(parts, member);
      this.#list.append(parts.row); // keeps roster order
    }
  }

  #create(member) {
    const id = member.id;
    const name = () => this.#state.name(id);
    const parts = {};
    parts.name = el("span", { className: "who" });
    parts.status = el("span", { className: "meta" });
    parts.mute = button("Mute", { className: "small", onClick: (e) => this.#act("moderation.mute", id, e, `You muted ${name()}.`) });
    parts.video = button("Stop video", { className: "small", onClick: (e) => this.#act("moderation.stop_video", id, e, `You stopped ${name()}'s video.`) });
    parts.give = button("Give floor", { className: "small", onClick: (e) => this.#act("floor.give", id, e, `${name()} has the floor.`) });
    parts.skip = button("Skip", { className: "small", onClick: (e) => this.#act("floor.skip", id, e, `You skipped ${name()}'s turn.`) });
    parts.sendBack = button("Send to waiting room", { className: "small",
      onClick: (e) => this.#act("lobby.send_back", id, e, `${name()} is back in the waiting room.`) });
    parts.missing = el("p", { className: "media-missing", "data-testid": "media-missing" });
    parts.missing.hidden = true;
    parts.confirm = el("div", { className: "confirm-slot" });
    parts.confirm.hidden = true;
    parts.remove = button("Remove", { className: "small danger-outline", onClick: () =>
      confirmStep(parts.confirm, `Remove ${name()} from the session? Their link will stop working for this session.`,
        "Remove", () => this.#act("moderation.remove", id, null, `${name()} was removed.`),
        { label: `Confirm removing ${name()}` }) });
    parts.row = el("li", { "data-member": id },
      el("div", { className: "member-head" }, parts.name, parts.status),
      parts.missing,
      el("div", { className: "actions", role: "group" },
        parts.mute, parts.video, parts.give, parts.skip, parts.sendBack, parts.remove),
      parts.confirm);
    this.#rows.set(id, parts);
    return parts;
  }

  #update(parts, member) {
    const s = this.#state;
    const floor = s.floor;
    const name = member.name;
    const media = member.media ?? {};
    const mode = floor?.mode ?? "open";
    parts.name.textContent = name;
    parts.row.querySelector(".actions").setAttribute("aria-label", `Actions for ${name}`);
    parts.row.classList.toggle("speaking", this.#speaking.has(member.id));
    parts.row.classList.toggle("holder", floor?.holder === member.id);

    const tags = [];
    if (member.connected === false) tags.push("reconnecting");
    if (floor?.holder === member.id) tags.push("has the floor");
    const place = (floor?.queue ?? []).indexOf(member.id);
    if (place >= 0) tags.push(`hand up (#${place + 1})`);
    if (media.muted_by_moderator) tags.push("muted by you");
    else if (media.audio === false) tags.push("mic off");
    if (media.video === false || media.video_stopped_by_moderator) tags.push("camera off");
    parts.status.textContent = tags.join(" · ");
    const missing = this.#missingMedia(member.id);
    parts.missing.hidden = missing.length === 0;
    if (parts.missing.textContent !== missing.join(" ")) parts.missing.textContent = missing.join(" ");

    // Moderators never unmute: once muted the button stays "Muted by you" until the member unmutes.
    label(parts.mute, media.muted_by_moderator ? "Muted by you" : media.audio === false ? "Mic off" : "Mute",
      media.muted_by_moderator ? `${name} is muted by you; only they can unmute` : media.audio === false ? `Mic off for ${name}` : `Mute ${name}`);
    parts.mute.disabled = Boolean(media.muted_by_moderator) || media.audio === false;
    parts.mute.dataset.muted = String(Boolean(media.muted_by_moderator));

    const videoStopped = Boolean(media.video_stopped_by_moderator);
    label(parts.video, videoStopped ? "Video stopped" : media.video === false ? "Camera off" : "Stop video",
      // Each name starts with the button's visible text (label in name, WCAG 2.5.3).
      videoStopped ? `Video stopped for ${name}, by you` : media.video === false ? `Camera off for ${name}` : `Stop video of ${name}`);
    parts.video.disabled = videoStopped || media.video === false;

    parts.give.hidden = !(mode === "hand_queue" || mode === "directed");
    parts.give.disabled = floor?.holder === member.id;
    parts.give.setAttribute("aria-label", `Give floor to ${name}`);

    const round = floor?.go_around;
    const canSkip = Boolean(round) && (round.pending.includes(member.id) || floor.holder === member.id);
    parts.skip.hidden = mode !== "go_around";
    parts.skip.disabled = !canSkip;
    parts.skip.setAttribute("aria-label", `Skip ${name}'s turn`);

    parts.sendBack.setAttribute("aria-label", `Send to waiting room: ${name}`);
    parts.remove.setAttribute("aria-label", `Remove ${name}`);
  }

  /** What the relay says this member is not receiving, or we are not receiving of them. */
  #missingMedia(id) {
    const s = this.#state;
    const whose = (from) => (from === s.self.id ? "your" : `${s.name(from)}'s`);
    const notes = [];
    for (const gap of s.mediaGaps) {
      if (gap.member === id) notes.push(`▲ Not receiving ${whose(gap.from)} ${gap.kind}.`);
      else if (gap.member === s.self.id && gap.from === id) notes.push(`▲ You are not receiving their ${gap.kind}.`);
    }
    return notes;
  }

  async #act(event, member, trigger, done) {
    const ack = await run(this.#client, event, { member }, trigger?.currentTarget ?? null);
    if (ack) announce(done);
    this.render();
  }
}

function label(node, text, aria) {
  if (node.textContent !== text) node.textContent = text;
  node.setAttribute("aria-label", aria);
}
