// The one RTCPeerConnection of a group-room member to the server's relay (an
// aiortc SFU). aiortc has no trickle ICE and no ICE restart: every description
// we send carries all our candidates, and a broken leg is replaced by a fresh
// RelayLink (the client does that when this one reports "failed").
import { Emitter } from "./emitter.js";
import { gatheringComplete } from "./gathering.js";
import { inboundMediaStats } from "./stats.js";

// Without trickle ICE every candidate must be in the SDP; bounded so a slow STUN server cannot stall us.
const GATHERING_TIMEOUT_MS = 5000;
const DISCONNECTED_GRACE_MS = 3000;
const KINDS = ["audio", "video"];

export class RelayLink extends Emitter {
  #pc;
  #request;
  #send;
  #selfId;
  #ops = Promise.resolve();
  #midMap = {};
  #memberTracks = new Map(); // member id -> {audio, video} receiver tracks
  #memberScreens = new Map(); // member id -> receiver track of their shared screen
  #graceTimer = null;
  #state = "new";

  /**
   * @param {object} o
   * @param {string} o.selfId  our member id (never shown as a remote tile)
   * @param {RTCIceServer[]} o.iceServers
   * @param {RTCIceTransportPolicy} [o.iceTransportPolicy]  "relay": TURN candidates only
   * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} o.tracks
   * @param {(event: string, payload: object) => Promise<object>} o.request  emit with ack
   * @param {(event: string, payload: object) => void} o.send  emit without waiting
   */
  constructor({ selfId, iceServers, iceTransportPolicy, tracks, request, send }) {
    super();
    this.createdAt = Date.now();
    this.#selfId = selfId;
    this.#request = request;
    this.#send = send;
    this.#pc = new RTCPeerConnection({
      iceServers: iceServers ?? [],
      iceTransportPolicy: iceTransportPolicy ?? "all",
    });
    const stream = new MediaStream(KINDS.map((k) => tracks[k]).filter(Boolean));
    for (const kind of KINDS) {
      this.#pc.addTransceiver(tracks[kind] ?? kind, { direction: "sendrecv", streams: [stream] });
    }
    // The third m-line is our screen: negotiated now, sending only while we share
    // (replaceTrack), so sharing never needs a client offer (the relay alone re-offers).
    this.#pc.addTransceiver(tracks.screen ?? "video", { direction: "sendonly" });
    this.#pc.ontrack = () => this.#reconcile();
    this.#pc.onconnectionstatechange = () => this.#onConnectionState();
  }

  get state() {
    return this.#state;
  }

  #setState(next) {
    if (next === this.#state) return;
    console.debug(`relay: ${this.#state} -> ${next}`);
    this.#state = next;
    this.emit("state", next);
  }

  /** Offer our media to the relay and apply its answer. */
  start() {
    this.#setState("connecting");
    return this.#serial(async () => {
      const pc = this.#pc;
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc, GATHERING_TIMEOUT_MS);
      if (this.#closed) return;
      const ack = await this.#request("relay.offer", { sdp: pc.localDescription.sdp });
      if (this.#closed) return;
      await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
      this.applyTracks(ack.tracks);
    });
  }

  /** A server-initiated renegotiation (`relay.offer` event). */
  handleOffer({ sdp, tracks }) {
    return this.#serial(async () => {
      const pc = this.#pc;
      if (this.#closed) return;
      if (tracks) this.#midMap = { ...tracks };
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gatheringComplete(pc, GATHERING_TIMEOUT_MS);
      if (this.#closed) return;
      this.#send("relay.answer", { sdp: pc.localDescription.sdp });
      this.#reconcile();
    });
  }

  /** `relay.tracks`: which member each of our receiving transceivers carries. */
  applyTracks(tracks) {
    if (!tracks) return;
    this.#midMap = { ...tracks };
    this.#reconcile();
  }

  /** Forget a member that left (its transceiver may linger until renegotiation). */
  dropMember(memberId) {
    for (const [mid, entry] of Object.entries(this.#midMap)) {
      if (entry.member === memberId) delete this.#midMap[mid];
    }
    this.#reconcile();
  }

  #reconcile() {
    const next = new Map();
    const screens = new Map();
    for (const t of this.#pc.getTransceivers()) {
      const entry = t.mid != null ? this.#midMap[t.mid] : undefined;
      if (!entry || entry.member === this.#selfId || t.stopped) continue;
      if (t.currentDirection === "inactive" || t.currentDirection === "sendonly") continue;
      if (entry.kind === "screen") {
        screens.set(entry.member, t.receiver.track);
        continue;
      }
      const tracks = next.get(entry.member) ?? { audio: null, video: null };
      tracks[entry.kind] = t.receiver.track;
      next.set(entry.member, tracks);
    }
    for (const [member, tracks] of next) {
      const old = this.#memberTracks.get(member);
      if (!old || old.audio !== tracks.audio || old.video !== tracks.video) {
        const stream = new MediaStream(KINDS.map((k) => tracks[k]).filter(Boolean));
        this.emit("member-stream", { memberId: member, stream });
      }
    }
    for (const member of this.#memberTracks.keys()) {
      if (!next.has(member)) this.emit("member-stream", { memberId: member, stream: null });
    }
    this.#memberTracks = next;
    for (const [member, track] of screens) {
      if (this.#memberScreens.get(member) !== track) {
        this.emit("member-screen", { memberId: member, stream: new MediaStream([track]) });
      }
    }
    for (const member of this.#memberScreens.keys()) {
      if (!screens.has(member)) this.emit("member-screen", { memberId: member, stream: null });
    }
    this.#memberScreens = screens;
  }

  #onConnectionState() {
    const s = this.#pc.connectionState;
    clearTimeout(this.#graceTimer);
    if (s === "connected") this.#setState("connected");
    else if (s === "failed") this.#setState("failed");
    else if (s === "disconnected") {
      this.#setState("reconnecting");
      this.#graceTimer = setTimeout(() => {
        if (this.#pc.connectionState === "disconnected") this.#setState("failed");
      }, DISCONNECTED_GRACE_MS);
    } else if (s === "closed") this.#setState("closed");
  }

  async replaceTrack(kind, track) {
    if (this.#closed) return;
    const t = this.#ownTransceiver(kind);
    if (t) await t.sender.replaceTrack(track);
  }

  /** Start (a track) or stop (null) sending our screen on its own m-line. */
  async setScreen(track) {
    if (this.#closed) return;
    await this.#ownTransceiver("screen")?.sender.replaceTrack(track);
  }

  #ownTransceiver(source) {
    // Our publishing transceivers come first, created in this order.
    return this.#pc.getTransceivers()[[...KINDS, "screen"].indexOf(source)];
  }

  /** {memberId: inbound figures} for every member we receive video or audio from. */
  stats() {
    return this.#inbound((entry) => entry.kind !== "screen");
  }

  /** The same figures for the screens we receive. */
  screenStats() {
    return this.#inbound((entry) => entry.kind === "screen");
  }

  async #inbound(wanted) {
    const out = {};
    if (this.#closed) return out;
    for (const t of this.#pc.getTransceivers()) {
      const entry = t.mid != null ? this.#midMap[t.mid] : undefined;
      if (!entry || entry.member === this.#selfId || t.stopped || !wanted(entry)) continue;
      const figures = inboundMediaStats(await t.receiver.getStats());
      if (!figures) continue;
      const sum = out[entry.member];
      out[entry.member] = sum ? addFigures(sum, figures) : figures;
    }
    return out;
  }

  get #closed() {
    return this.#pc.signalingState === "closed";
  }

  #serial(task) {
    const run = this.#ops.then(task);
    this.#ops = run.catch(() => {});
    return run;
  }

  close() {
    clearTimeout(this.#graceTimer);
    this.#pc.ontrack = null;
    this.#pc.onconnectionstatechange = null;
    this.#pc.close();
    for (const member of this.#memberTracks.keys()) {
      this.emit("member-stream", { memberId: member, stream: null });
    }
    for (const member of this.#memberScreens.keys()) {
      this.emit("member-screen", { memberId: member, stream: null });
    }
    this.#memberTracks.clear();
    this.#memberScreens.clear();
    this.#setState("closed");
  }
}

const SIZE_FIGURES = new Set(["frameWidth", "frameHeight"]);

/** One member's audio and video figures come from two receivers: add counts, keep sizes. */
function addFigures(a, b) {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = SIZE_FIGURES.has(key) ? Math.max(a[key] ?? 0, value) : (a[key] ?? 0) + value;
  }
  return out;
}
