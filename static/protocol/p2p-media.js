// Media for individual rooms: one PeerLink per other member, kept in step with
// the roster. Tells the client about remote streams and link states.
import { PeerLink } from "./peer-link.js";
import { QualitySampler } from "./quality.js";

export class P2PMedia {
  #links = new Map();
  #ctx;
  #sampler = new QualitySampler();

  /** ctx: {polite, iceServers, tracks(), send(event, payload), emit(event, detail), isKnown(id)} */
  constructor(ctx) {
    this.#ctx = ctx;
  }

  /** Session joined (fresh or resumed): make the links match `peers`. */
  sync(peers, resumed) {
    const wanted = new Map(peers.map((p) => [p.id, p]));
    for (const [id, link] of this.#links) {
      const peer = wanted.get(id);
      if (!resumed || !peer || link.epoch !== peer.epoch) this.#drop(id);
    }
    for (const peer of peers) {
      const link = this.#links.get(peer.id);
      if (link) link.kick();
      else this.#create(peer.id, peer.epoch);
    }
  }

  /** `peer.joined`: a fresh page of that member, so a fresh link, unless we already made one for it. */
  peerJoined(peer, wasKnown) {
    const link = this.#links.get(peer.id);
    if (link && (link.epoch === peer.epoch || (link.epoch == null && !wasKnown))) {
      link.epoch = peer.epoch; // made on its first offer, which overtook peer.joined
      return;
    }
    this.#drop(peer.id);
    this.#create(peer.id, peer.epoch);
  }

  peerReconnected(id) {
    this.#links.get(id)?.kick();
  }

  peerLeft(id) {
    this.#drop(id);
  }

  description(from, description) {
    const link = this.#links.get(from) ?? this.#create(from, null);
    link.handleDescription(description);
  }

  candidate(from, candidate) {
    this.#links.get(from)?.handleCandidate(candidate);
  }

  async replaceTrack(kind, track) {
    await Promise.all([...this.#links.values()].map((l) => l.replaceTrack(kind, track)));
  }

  /** Our screen share (null: stopped), on every link; new links take it from ctx.tracks(). */
  async setScreen(track) {
    await Promise.all([...this.#links.values()].map((l) => l.setScreen(track)));
  }

  async screenStats() {
    const out = {};
    for (const [id, link] of this.#links) {
      const s = await link.screenStats();
      if (s) out[id] = s;
    }
    return out;
  }

  async stats() {
    const out = {};
    for (const [id, link] of this.#links) {
      const s = await link.stats();
      if (s) out[id] = s;
    }
    return out;
  }

  /** `stats.report` payload for the (single) other member, or null when alone. */
  async qualitySample() {
    const [link] = this.#links.values();
    if (!link) return null;
    const report = await link.report();
    if (!report) return null;
    if (this.#sampler.peerId !== link.peerId) this.#sampler = Object.assign(new QualitySampler(), { peerId: link.peerId });
    return this.#sampler.sample(report, link.state === "connected");
  }

  linkStates() {
    return Object.fromEntries([...this.#links].map(([id, l]) => [id, l.state]));
  }

  /** Fresh TURN credentials (or policy): every link's next ICE restart gathers with them. */
  iceChanged(config) {
    for (const link of this.#links.values()) link.updateIce(config);
  }

  /** Treat every link as failed: restart ICE (tests use this to exercise recovery). */
  fail() {
    for (const link of this.#links.values()) link.restartIce();
  }

  close() {
    for (const id of [...this.#links.keys()]) this.#drop(id);
  }

  #create(peerId, epoch) {
    const ctx = this.#ctx;
    const link = new PeerLink({
      peerId,
      epoch,
      polite: ctx.polite,
      iceServers: ctx.iceServers,
      iceTransportPolicy: ctx.iceTransportPolicy,
      tracks: ctx.tracks(),
      send: ctx.send,
    });
    link.on("stream", (stream) => ctx.emit("remote-stream", { peerId, stream }));
    link.on("screen", (stream) => ctx.emit("remote-screen", { peerId, stream }));
    link.on("state", (state) => ctx.emit("link-state", { peerId, state }));
    this.#links.set(peerId, link);
    ctx.emit("link-state", { peerId, state: "connecting" });
    return link;
  }

  #drop(peerId) {
    const link = this.#links.get(peerId);
    if (!link) return;
    this.#links.delete(peerId);
    link.close();
    this.#ctx.emit("remote-stream", { peerId, stream: null });
    this.#ctx.emit("remote-screen", { peerId, stream: null });
  }
}
