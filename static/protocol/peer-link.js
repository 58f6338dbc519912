// One browser-to-browser RTCPeerConnection (individual rooms), negotiated with
// the W3C "perfect negotiation" pattern: both sides add their tracks and offer
// when `negotiationneeded` fires; on glare the polite side rolls back (implicitly,
// inside setRemoteDescription) and the impolite side ignores the incoming offer.
import { Emitter } from "./emitter.js";
import { gatheringComplete } from "./gathering.js";
import { inboundMediaStats } from "./stats.js";

const ICE_DISCONNECTED_GRACE_MS = 3000;
// A link not connected this long after it was made (or restarted) gets an ICE restart.
const CONNECT_WATCHDOG_MS = 5000;
const WATCHDOG_MAX_MS = 20000;
// The polite side yields on glare; after a failure it restarts a little later than
// the impolite side so that both restarts rarely collide.
const POLITE_RESTART_DELAY_MS = 1500;
// The polite side holds its first offer this long: the impolite side's offer usually
// arrives meanwhile, so the common start-up glare (and its rollback) never happens.
// Chromium sometimes stops gathering ICE candidates after a rollback that lands
// just as gathering starts; avoiding the rollback avoids that.
const POLITE_FIRST_OFFER_DELAY_MS = 400;
const ROLLBACK_GATHERING_WAIT_MS = 2000;
const KINDS = ["audio", "video"];

export class PeerLink extends Emitter {
  #pc;
  #polite;
  #send;
  #makingOffer = false;
  #offerInFlight = Promise.resolve();
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #inbox = Promise.resolve();
  #remoteTracks = new Map();
  /** The screen we mean to send (null: none); applied once the camera's m-line is negotiated. */
  #screen = null;
  #screenPending = false;
  #streamTimer = null;
  #iceTimer = null;
  #watchdogMs = CONNECT_WATCHDOG_MS;
  #state = "new";
  #everConnected = false;

  /**
   * @param {object} o
   * @param {string} o.peerId  the other member's id
   * @param {number|null} o.epoch  the other member's join epoch (null: not yet known)
   * @param {boolean} o.polite  our perfect-negotiation role
   * @param {RTCIceServer[]} o.iceServers
   * @param {RTCIceTransportPolicy} [o.iceTransportPolicy]  "relay": TURN candidates only
   * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} o.tracks
   * @param {(event: string, payload: object) => void} o.send  signal.* sender
   */
  constructor({ peerId, epoch, polite, iceServers, iceTransportPolicy, tracks, send }) {
    super();
    this.peerId = peerId;
    this.epoch = epoch;
    this.createdAt = Date.now();
    this.#polite = polite;
    this.#send = send;
    this.#pc = new RTCPeerConnection({
      iceServers: iceServers ?? [],
      iceTransportPolicy: iceTransportPolicy ?? "all",
      bundlePolicy: "max-bundle",
    });
    this.#wire();
    this.#armWatchdog(CONNECT_WATCHDOG_MS + (polite ? POLITE_RESTART_DELAY_MS : 0));
    const stream = new MediaStream(KINDS.map((k) => tracks[k]).filter(Boolean));
    for (const kind of KINDS) {
      if (tracks[kind]) {
        this.#pc.addTrack(tracks[kind], stream);
      } else if (!polite) {
        // Nothing to send yet, but keep an m-line so we still receive this kind
        // and can start sending later with replaceTrack, without renegotiating.
        this.#pc.addTransceiver(kind, { direction: "sendrecv", streams: [stream] });
      }
    }
    if (tracks.screen) this.setScreen(tracks.screen).catch(() => {});
  }

  get state() {
    return this.#state;
  }

  #setState(next) {
    if (next === this.#state) return;
    console.debug(`peer ${this.peerId}: ${this.#state} -> ${next}`);
    this.#state = next;
    this.emit("state", next);
  }

  #wire() {
    const pc = this.#pc;
    pc.onnegotiationneeded = async () => {
      if (this.#polite && !pc.remoteDescription) {
        await sleep(POLITE_FIRST_OFFER_DELAY_MS);
        // The other side's offer arrived meanwhile and our answer carried our tracks.
        if (pc.remoteDescription || pc.signalingState !== "stable") return;
      }
      try {
        this.#makingOffer = true;
        this.#offerInFlight = pc.setLocalDescription();
        await this.#offerInFlight;
        this.#send("signal.description", { to: this.peerId, description: plain(pc.localDescription) });
      } catch (err) {
        console.warn(`peer ${this.peerId}: offer failed`, err);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      this.#send("signal.candidate", { to: this.peerId, candidate: candidate ? plainCandidate(candidate) : null });
    };
    pc.ontrack = ({ track, transceiver }) => {
      if (transceiver === this.#screenTransceiver()) {
        this.emit("screen", new MediaStream([track]));
        return;
      }
      this.#remoteTracks.set(track.kind, track);
      track.addEventListener("ended", () => this.#remoteTracks.delete(track.kind));
      this.#scheduleStream();
    };
    pc.onconnectionstatechange = () => this.#onConnectionState();
    pc.onsignalingstatechange = () => console.debug(`peer ${this.peerId}: signaling ${pc.signalingState}`);
    pc.oniceconnectionstatechange = () => this.#onIceState();
  }

  #scheduleStream() {
    clearTimeout(this.#streamTimer);
    this.#streamTimer = setTimeout(() => {
      this.emit("stream", new MediaStream([...this.#remoteTracks.values()]));
    }, 0);
  }

  #onConnectionState() {
    const s = this.#pc.connectionState;
    if (s === "connected") {
      this.#everConnected = true;
      this.#setState("connected");
    } else if (s === "disconnected" || s === "failed") {
      this.#setState(this.#everConnected ? "reconnecting" : "connecting");
    } else if (s === "connecting" || s === "new") {
      this.#setState(this.#everConnected ? "reconnecting" : "connecting");
    } else if (s === "closed") {
      this.#setState("closed");
    }
  }

  #onIceState() {
    const s = this.#pc.iceConnectionState;
    console.debug(`peer ${this.peerId}: ice ${s}`);
    if (s === "connected" || s === "completed") {
      this.#watchdogMs = CONNECT_WATCHDOG_MS;
      clearTimeout(this.#iceTimer);
    } else if (s === "failed") {
      this.#armWatchdog(this.#polite ? POLITE_RESTART_DELAY_MS : 0);
    } else if (s === "disconnected") {
      this.#armWatchdog(ICE_DISCONNECTED_GRACE_MS + (this.#polite ? POLITE_RESTART_DELAY_MS : 0));
    }
  }

  /** After `ms`, restart ICE unless the link is up by then; keeps retrying, backing off. */
  #armWatchdog(ms) {
    clearTimeout(this.#iceTimer);
    this.#iceTimer = setTimeout(() => {
      const s = this.#pc.iceConnectionState;
      if (s === "connected" || s === "completed" || this.#pc.signalingState === "closed") return;
      this.restartIce();
    }, ms);
  }

  /** Fresh TURN credentials or policy: used by the next ICE restart's gathering. */
  updateIce({ iceServers, iceTransportPolicy }) {
    if (this.#pc.signalingState === "closed") return;
    this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), iceServers, iceTransportPolicy });
  }

  /** ICE restart through perfect negotiation (the next offer carries new ICE credentials). */
  restartIce() {
    if (this.#pc.signalingState === "closed") return;
    console.debug(`peer ${this.peerId}: ICE restart`);
    this.#pc.restartIce();
    this.#armWatchdog(this.#watchdogMs);
    this.#watchdogMs = Math.min(this.#watchdogMs * 2, WATCHDOG_MAX_MS);
  }

  /**
   * After our socket or the other member's came back: an offer or answer may
   * have been lost while signaling was down, so undo a dangling offer and, if
   * the media path is not up, restart ICE.
   */
  kick() {
    this.#queue(async () => {
      const pc = this.#pc;
      if (pc.signalingState === "closed") return;
      if (pc.signalingState === "have-local-offer" && !this.#makingOffer) {
        await pc.setLocalDescription({ type: "rollback" });
        this.restartIce();
        return;
      }
      if (pc.connectionState !== "connected") this.restartIce();
    });
  }

  handleDescription(description) {
    this.#queue(async () => {
      const pc = this.#pc;
      console.debug(`peer ${this.peerId}: got ${description.type} in ${pc.signalingState}`);
      if (pc.signalingState === "closed") return;
      if (description.type === "answer" && pc.signalingState === "stable") return; // stale
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === "stable" || this.#settingRemoteAnswer);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.#ignoreOffer = !this.#polite && offerCollision;
      if (this.#ignoreOffer) return;
      if (offerCollision) {
        // Let our own offer settle, and its ICE gathering finish (bounded), before the
        // implicit rollback: Chromium can stop gathering for good after a rollback
        // that lands while candidates are still being gathered.
        await this.#offerInFlight.catch(() => {});
        await gatheringComplete(pc, ROLLBACK_GATHERING_WAIT_MS);
      }
      this.#settingRemoteAnswer = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.#settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.#send("signal.description", { to: this.peerId, description: plain(pc.localDescription) });
      }
    });
  }

  handleCandidate(candidate) {
    this.#queue(async () => {
      if (this.#pc.signalingState === "closed") return;
      try {
        await this.#pc.addIceCandidate(candidate ?? undefined);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
      }
    });
  }

  #queue(task) {
    this.#inbox = this.#inbox.then(task).catch((err) => {
      console.warn(`peer ${this.peerId}: signaling step failed`, err);
    });
  }

  /**
   * The screen's m-line: the second video transceiver (the first is the camera's,
   * negotiated when the link was made). Either side may share on it, one at a time.
   */
  #screenTransceiver() {
    return this.#pc.getTransceivers().filter((t) => !t.stopped && t.receiver.track?.kind === "video")[1] ?? null;
  }

  /** Start (a track) or stop (null) sending our screen; perfect negotiation renegotiates. */
  async setScreen(track) {
    const pc = this.#pc;
    this.#screen = track;
    if (pc.signalingState === "closed") return;
    if (!pc.currentRemoteDescription) {
      // Before the first negotiation the camera's m-line may not exist here yet: a
      // screen added now would take its place as "the first video transceiver".
      this.#applyScreenOnceNegotiated();
      return;
    }
    const transceiver = this.#screenTransceiver();
    if (!transceiver) {
      if (track) pc.addTransceiver(track, { direction: "sendrecv", streams: [new MediaStream([track])] });
      return;
    }
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = track ? "sendrecv" : "recvonly";
  }

  #applyScreenOnceNegotiated() {
    if (this.#screenPending) return;
    this.#screenPending = true;
    const pc = this.#pc;
    const onChange = () => {
      if (pc.signalingState === "closed") {
        pc.removeEventListener("signalingstatechange", onChange);
      } else if (pc.signalingState === "stable" && pc.currentRemoteDescription) {
        pc.removeEventListener("signalingstatechange", onChange);
        this.#screenPending = false;
        this.setScreen(this.#screen).catch((err) => console.warn(`peer ${this.peerId}: screen not sent`, err));
      }
    };
    pc.addEventListener("signalingstatechange", onChange);
  }

  /** Swap (or remove, with null) the track we send for one kind (camera, microphone). */
  async replaceTrack(kind, track) {
    const pc = this.#pc;
    if (pc.signalingState === "closed") return;
    const transceiver = pc.getTransceivers().find((t) => !t.stopped && t.receiver.track?.kind === kind);
    if (transceiver) {
      await transceiver.sender.replaceTrack(track);
      if (track && (transceiver.direction === "recvonly" || transceiver.direction === "inactive")) {
        transceiver.direction = "sendrecv"; // renegotiates through negotiationneeded
      }
    } else if (track) {
      pc.addTrack(track, new MediaStream([track]));
    }
  }

  async stats() {
    if (this.#pc.signalingState === "closed") return null;
    const screenMid = this.#screenTransceiver()?.mid;
    return inboundMediaStats(await this.#pc.getStats(), (s) => s.mid == null || s.mid !== screenMid);
  }

  /** Inbound figures of the screen we receive (null when there is no screen m-line). */
  async screenStats() {
    const transceiver = this.#screenTransceiver();
    if (this.#pc.signalingState === "closed" || !transceiver) return null;
    return inboundMediaStats(await transceiver.receiver.getStats());
  }

  /** The whole getStats() report (for quality reports), or null once closed. */
  async report() {
    if (this.#pc.signalingState === "closed") return null;
    return this.#pc.getStats();
  }

  close() {
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#streamTimer);
    this.#pc.onnegotiationneeded = null;
    this.#pc.onicecandidate = null;
    this.#pc.close();
    this.#setState("closed");
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function plainCandidate(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}

function plain(description) {
  return { type: description.type, sdp: description.sdp };
}
