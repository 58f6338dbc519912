// Video tiles: one per member, kept in step with the roster and the remote streams.
import { useSpeaker } from "./speaker.js";

const ROLE_LABEL = { therapist: "Therapist", participant: "" };
const QUALITY_LABEL = {
  excellent: { mark: "●", text: "Excellent" },
  good: { mark: "●", text: "Good" },
  poor: { mark: "▲", text: "Poor connection" },
  lost: { mark: "■", text: "Connection lost" },
};

export class TileGrid {
  #container;
  #tiles = new Map(); // member id -> tile element
  #streams = new Map(); // streams that arrived before (or after) the roster entry
  #peers = new Map();

  constructor(container) {
    this.#container = container;
  }

  /** Put our own preview video in a tile labelled "You". */
  addSelf(localVideo, name) {
    const tile = document.createElement("figure");
    tile.className = "tile self";
    tile.dataset.member = "self";
    tile.append(localVideo, placeholder(name || "You"), caption("You", ""));
    this.#container.append(tile);
    localVideo.play().catch(() => {});
    return tile;
  }

  /** Create, update and remove remote tiles to match the roster. */
  sync(peers) {
    this.#peers = new Map(peers.map((p) => [p.id, p]));
    for (const [id, tile] of this.#tiles) {
      if (!this.#peers.has(id)) {
        tile.remove();
        this.#tiles.delete(id);
        this.#streams.delete(id);
      }
    }
    for (const peer of peers) {
      const tile = this.#tiles.get(peer.id) ?? this.#create(peer);
      tile.querySelector(".name").textContent = peer.name;
      const media = peer.media ?? { audio: true, video: true };
      tile.querySelector(".badge-muted").hidden = media.audio !== false;
      tile.querySelector(".badge-camera").hidden = media.video !== false;
      tile.querySelector(".tile-status").textContent = peer.connected === false ? "Reconnecting…" : "";
      this.#applyVideoState(peer.id);
    }
  }

  setStream(peerId, stream) {
    if (stream) this.#streams.set(peerId, stream);
    else this.#streams.delete(peerId);
    const tile = this.#tiles.get(peerId);
    if (!tile) return;
    const video = tile.querySelector('video[data-role="remote"]');
    if (video.srcObject !== stream) video.srcObject = stream ?? null;
    if (stream) play(video);
    this.#applyVideoState(peerId);
  }

  setSpeaking(id, speaking) {
    this.#tiles.get(id)?.classList.toggle("speaking", speaking);
  }

  /** Connection quality badge on a tile ("self" for our own): words and a shape, not colour alone. */
  setQuality(id, level) {
    const tile = id === "self" ? this.#container.querySelector('.tile[data-member="self"]') : this.#tiles.get(id);
    if (!tile) return;
    let badge = tile.querySelector(".quality");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "quality";
      tile.querySelector("figcaption")?.append(badge);
    }
    const label = QUALITY_LABEL[level] ?? QUALITY_LABEL.lost;
    badge.dataset.level = level;
    badge.textContent = label.mark + " " + label.text;
    badge.title = `Connection: ${label.text}`;
  }

  get count() {
    return this.#tiles.size;
  }

  clear() {
    for (const tile of this.#tiles.values()) {
      const video = tile.querySelector("video");
      video.srcObject = null;
      tile.remove();
    }
    this.#tiles.clear();
    this.#streams.clear();
  }

  #create(peer) {
    const tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.member = peer.id;
    const video = document.createElement("video");
    video.dataset.role = "remote";
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("aria-label", `Video of ${peer.name}`);
    useSpeaker(video);
    const role = ROLE_LABEL[peer.role] ?? "";
    tile.append(video, placeholder(peer.name), caption(peer.name, role === peer.name ? "" : role));
    const status = document.createElement("p");
    status.className = "tile-status";
    status.setAttribute("aria-live", "polite");
    tile.append(status);
    this.#container.append(tile);
    this.#tiles.set(peer.id, tile);
    const stream = this.#streams.get(peer.id);
    if (stream) {
      video.srcObject = stream;
      play(video);
    }
    return tile;
  }

  #applyVideoState(id) {
    const tile = this.#tiles.get(id);
    if (!tile) return;
    const stream = this.#streams.get(id);
    const cameraOff = this.#peers.get(id)?.media?.video === false;
    tile.classList.toggle("camera-off", cameraOff || !stream?.getVideoTracks().length);
  }
}

function caption(name, role) {
  const figcaption = document.createElement("figcaption");
  const nameEl = document.createElement("span");
  nameEl.className = "name";
  nameEl.textContent = name;
  figcaption.append(nameEl);
  if (role) {
    const roleEl = document.createElement("span");
    roleEl.className = "role";
    roleEl.textContent = role;
    figcaption.append(roleEl);
  }
  for (const [cls, text] of [["badge-muted", "Muted"], ["badge-camera", "Camera off"]]) {
    const badge = document.createElement("span");
    badge.className = `badge ${cls}`;
    badge.textContent = text;
    badge.hidden = true;
    figcaption.append(badge);
  }
  return figcaption;
}

function placeholder(name) {
  const el = document.createElement("div");
  el.className = "placeholder";
  el.setAttribute("aria-hidden", "true");
  el.textContent = initials(name);
  return el;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return (words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?");
}

/** Start playback; if the browser blocks sound, play muted and offer a button. */
function play(video) {
  video.play().catch((err) => {
    if (err.name !== "NotAllowedError") return;
    video.muted = true;
    video.play().catch(() => {});
    const tile = video.closest(".tile");
    if (tile.querySelector(".unmute-audio")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "unmute-audio";
    button.textContent = "Turn on sound";
    button.addEventListener("click", () => {
      video.muted = false;
      button.remove();
    });
    tile.append(button);
  });
}
