// Media for group rooms: one RelayLink to the server's relay. A failed leg is
// replaced by a fresh one (aiortc has no ICE restart), with a growing delay.
import { RelayLink } from "./relay-link.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;

export class RelayMedia {
  #ctx;
  #link = null;
  #retryMs = RETRY_MIN_MS;
  #retryTimer = null;
  #closed = false;
  #stale = false; // the leg is broken and must be replaced once we can signal again
  #legs = 0; // relay legs opened so far (a recovered leg is a new one)

  /** ctx: {selfId, iceServers, tracks(), request(), send(), emit(), isJoined()} */
  constructor(ctx) {
    this.#ctx = ctx;
  }

  /**
   * Session joined: keep a healthy leg across a resumed socket, else open a fresh one.
   * `ack.relay_leg === false`: the server's relay has no leg for us (it restarted), so
   * ours is dead whatever ICE says yet.
   */
  sync(peers, resumed, ack = {}) {
    const healthy = this.#link && ["connecting", "connected", "reconnecting"].includes(this.#link.state);
    if (!resumed || !healthy || this.#stale || ack.relay_leg === false) this.#open();
  }

  peerJoined() {}
  peerReconnected() {}

  peerLeft(id) {
    this.#link?.dropMember(id);
  }

  offer(payload) {
    this.#link?.handleOffer(payload).catch((err) => {
      console.warn("relay: answering the relay's offer failed", err);
      this.#recover();
    });
  }

  /** `relay.restart`: the room moved to another server process; its relay has no leg of ours. */
  restart() {
    if (!this.#closed) this.#open();
  }

  tracks(map) {
    this.#link?.applyTracks(map);
  }

  async replaceTrack(kind, track) {
    await this.#link?.replaceTrack(kind, track);
  }

  /** Our screen share (null: stopped); a fresh leg takes it from ctx.tracks(). */
  async setScreen(track) {
    await this.#link?.setScreen(track);
  }

  async stats() {
    return this.#link ? this.#link.stats() : {};
  }

  async screenStats() {
    return this.#link ? this.#link.screenStats() : {};
  }

  linkStates() {
    return { relay: this.#link?.state ?? "none", legs: this.#legs };
  }

  /** Treat the current leg as failed (tests use this to exercise recovery). */
  fail() {
    this.#link?.close();
    this.#recover();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#link?.close();
    this.#link = null;
  }

  #open() {
    clearTimeout(this.#retryTimer);
    this.#stale = false;
    this.#link?.close();
    const ctx = this.#ctx;
    const link = new RelayLink({
      selfId: ctx.selfId,
      iceServers: ctx.iceServers,
      iceTransportPolicy: ctx.iceTransportPolicy,
      tracks: ctx.tracks(),
      request: ctx.request,
      send: ctx.send,
    });
    this.#link = link;
    this.#legs += 1;
    link.on("member-stream", ({ memberId, stream }) => ctx.emit("remote-stream", { peerId: memberId, stream }));
    link.on("member-screen", ({ memberId, stream }) => ctx.emit("remote-screen", { peerId: memberId, stream }));
    link.on("state", (state) => {
      if (link !== this.#link) return;
      ctx.emit("link-state", { peerId: "relay", state });
      if (state === "connected") this.#retryMs = RETRY_MIN_MS;
      if (state === "failed") this.#recover();
    });
    link.start().catch((err) => {
      if (link !== this.#link) return;
      console.warn("relay: offer failed", err);
      this.#recover();
    });
  }

  /** Replace the leg after a delay; if the socket is down, the next sync() does it. */
  #recover() {
    if (this.#closed) return;
    this.#stale = true;
    clearTimeout(this.#retryTimer);
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    this.#retryTimer = setTimeout(() => {
      if (!this.#closed && this.#ctx.isJoined()) this.#open();
    }, delay);
  }
}
