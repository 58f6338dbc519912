// Screen share, both room kinds: the "Share screen" button in the call controls, the
// share shown large above the tiles (every camera stays on in its tile), and for
// therapists who may share ("Allow Alex to share" per participant). The server holds
// who shares and who may (`screen.state`); this module only shows it and asks.
import { button, el, refusalText } from "./dom.js";
import { announce } from "./status.js";

// Screen content needs few frames; fewer keep the sharer's CPU and uplink for the call.
const CAPTURE = { video: { frameRate: { max: 15 } }, audio: false };

export class ScreenShare {
  #client;
  #self;
  #peers = [];
  #streams = new Map(); // peer id -> their screen's MediaStream
  #localTrack = null;
  #busy = false;
  #el;

  /**
   * @param {HTMLElement} section  `<section id="screen-share">`
   * @param {HTMLButtonElement} shareButton  the toolbar's "Share screen"
   */
  constructor(section, shareButton, client, self) {
    this.#client = client;
    this.#self = self;
    const video = el("video", { autoplay: true, playsInline: true, muted: true, "data-role": "screen" });
    this.#el = {
      section,
      shareButton,
      stage: el("figure", { className: "screen-stage", hidden: true }, video),
      caption: el("figcaption"),
      // Therapists: end someone else's share (their permission stays).
      stopOther: button("Stop this share", { onClick: () => this.#stopOther() }),
      video,
      permissions: el("div", { className: "share-permissions", role: "group", "aria-label": "Screen share permissions" }),
    };
    this.#el.stage.append(this.#el.caption, this.#el.stopOther);
    section.replaceChildren(this.#el.stage, this.#el.permissions);
    section.hidden = false;
    shareButton.hidden = !navigator.mediaDevices?.getDisplayMedia;
    shareButton.addEventListener("click", () => this.#toggle());
    client.on("screen", () => this.render());
    client.on("roster", (peers) => {
      this.#peers = peers;
      this.render();
    });
    client.on("remote-screen", ({ peerId, stream }) => {
      if (stream) this.#streams.set(peerId, stream);
      else this.#streams.delete(peerId);
      this.render();
    });
    client.on("local-screen", ({ track }) => {
      const stopped = this.#localTrack && !track;
      this.#localTrack = track;
      if (stopped) announce("You stopped sharing your screen.");
      this.render();
    });
    this.#peers = client.peers;
    this.render();
  }

  get #therapist() {
    return this.#self.role === "therapist";
  }

  get #mayShare() {
    return this.#therapist || this.#client.screen.allowed.includes(this.#self.id);
  }

  async #toggle() {
    if (this.#busy) return;
    this.#busy = true;
    this.#el.shareButton.disabled = true;
    try {
      if (this.#client.sharingScreen) {
        await this.#client.stopScreenShare();
      } else {
        const stream = await navigator.mediaDevices.getDisplayMedia(CAPTURE);
        const [track] = stream.getVideoTracks();
        track.contentHint = "detail";
        await this.#client.startScreenShare(track);
        announce("You are sharing your screen.");
      }
    } catch (err) {
      // The person closed the browser's picker: nothing to say.
      if (err?.name !== "NotAllowedError" && err?.name !== "AbortError") {
        console.warn("screen share failed", err);
        announce(err?.code ? refusalText(err) : "Your screen could not be shared.");
      }
    }
    this.#busy = false;
    this.render();
  }

  async #stopOther() {
    const trigger = this.#el.stopOther;
    trigger.disabled = true;
    try {
      await this.#client.command("screen.stop", {});
    } catch (err) {
      announce(refusalText(err));
    }
    trigger.disabled = false;
  }

  render() {
    const { sharer, allowed } = this.#client.screen;
    const sharing = this.#client.sharingScreen;
    const { shareButton, stage, caption, video } = this.#el;
    shareButton.textContent = sharing ? "Stop sharing" : "Share screen";
    shareButton.setAttribute("aria-pressed", String(sharing));
    // Someone else shares, or the therapist has not allowed it: the server would refuse.
    shareButton.disabled = this.#busy || (!sharing && (!this.#mayShare || (sharer !== null && sharer !== this.#self.id)));
    shareButton.title = !this.#mayShare ? "The therapist can allow you to share your screen." : "";

    const stream = sharer === this.#self.id
      ? (this.#localTrack ? new MediaStream([this.#localTrack]) : null)
      : this.#streams.get(sharer) ?? null;
    const shown = sharer !== null && stream !== null;
    stage.hidden = !shown;
    stage.dataset.sharer = sharer ?? "";
    if (shown && video.srcObject?.getVideoTracks()[0] !== stream.getVideoTracks()[0]) {
      video.srcObject = stream;
      video.play().catch(() => {});
    } else if (!shown && video.srcObject) {
      video.srcObject = null;
    }
    const name = sharer === this.#self.id ? null : this.#peers.find((p) => p.id === sharer)?.name;
    caption.textContent = sharer === this.#self.id ? "You are sharing your screen" : `${name ?? "Someone"} is sharing their screen`;
    video.setAttribute("aria-label", caption.textContent);
    this.#el.stopOther.hidden = !this.#therapist || !shown || sharer === this.#self.id;
    this.#renderPermissions(allowed);
  }

  /** Therapists: one toggle per participant. */
  #renderPermissions(allowed) {
    const box = this.#el.permissions;
    const participants = this.#therapist ? this.#peers.filter((p) => p.role === "participant") : [];
    box.hidden = participants.length === 0;
    const rows = participants.map((p) => {
      const on = allowed.includes(p.id);
      return button(on ? `Stop ${p.name} sharing` : `Allow ${p.name} to share`, {
        pressed: on,
        onClick: async (event) => {
          const trigger = event.currentTarget;
          trigger.disabled = true;
          try {
            await this.#client.command("screen.allow", { member: p.id, allowed: !on });
          } catch (err) {
            announce(refusalText(err));
            trigger.disabled = false;
          }
        },
      });
    });
    // Keep focus on the toggle just pressed: rows are rebuilt from the server's state.
    const focused = box.contains(document.activeElement) ? document.activeElement.dataset.member : null;
    rows.forEach((row, i) => (row.dataset.member = participants[i].id));
    box.replaceChildren(...rows);
    if (focused) box.querySelector(`[data-member="${CSS.escape(focused)}"]`)?.focus();
  }

  close() {
    this.#el.video.srcObject = null;
    this.#el.section.hidden = true;
  }
}
