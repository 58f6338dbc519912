// SessionClient: the one owner of the socket.io connection. UI modules call its
// methods and listen to its events; they never see the socket or a peer connection.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { Emitter } from "./emitter.js";
import { IceConfig } from "./ice-config.js";
import { P2PMedia } from "./p2p-media.js";
import { RelayMedia } from "./relay-media.js";
import { FINAL_JOIN_ERRORS, ProtocolError, checkTransition } from "./session-state.js";

const REQUEST_TIMEOUT_MS = 10000;
const OUTBOX_LIMIT = 200;
const STATS_INTERVAL_MS = 5000;
/** After `server.restarting`, reconnect after this long plus up to as much again (spread). */
const RESTART_RECONNECT_MS = 500;
/** `unavailable` (the store is away, or the room is moving to another server process):
 * try again after this long, growing to the max; reset once back in. */
const UNAVAILABLE_RETRY_MS = 500;
const UNAVAILABLE_RETRY_MAX_MS = 4000;
/** A media link going down often means the network changed under us (a new address):
 * the socket's TCP connection is then dead too, and socket.io would notice only at a
 * missed ping (up to 45 s later). So we ask the server at once (net.ping); no answer
 * within this long, and the socket is reopened (and the session resumed) now. */
const SIGNALING_PROBE_MS = 4000;
/** Server events handed to UI modules as they are (moderation, floor, quality). */
const PASSTHROUGH_EVENTS = [
  "lobby.state", "room.locked", "floor.state", "talk.report", "quality.update", "media.gaps",
  "chat.message", "chat.state", "checkin.info", "video.paused",
];
/**
 * The room a link's token opens (its `room` claim), or null. Several processes behind
 * one balancer route on it (docs/operations.md) so that a room's members meet in one
 * process; only a hint, never trusted: the server authenticates the token itself.
 * @param {string} token
 * @returns {string | null}
 */
export function roomOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return typeof claims.room === "string" && /^[\w-]{1,64}$/.test(claims.room) ? claims.room : null;
  } catch {
    return null;
  }
}

export class SessionClient extends Emitter {
  #socket = null;
  #linkToken;
  #ack = null;
  /** ICE servers and policy for every peer connection, TURN credentials kept fresh. */
  #ice = this.#makeIceConfig();
  #token;
  #state = "idle";
  #reason = null;
  #media = null;
  #outbox = [];
  #tracks = { audio: null, video: null, screen: null };
  /** Our shared screen's track while we share (null otherwise). */
  #screenTrack = null;
  #mediaState = { audio: false, video: false };
  #roster = new Map();
  #joinedOnSocket = false;
  #admitted = true;
  #mediaConnectedSent = false;
  #statsTimer = null;
  /** Closed by the server for not joining in time (`join_timeout`): reopen on join(). */
  #parked = false;
  /** The server's `server.restarting` message, until the socket is back. */
  #restartNotice = null;
  #unavailableRetryMs = UNAVAILABLE_RETRY_MS;
  #probingSignaling = false;

  /**
   * @param {object} o
   * @param {string} o.token  the join link's token (or a stored resume token)
   * @param {(token: string) => void} [o.onResumeToken]  persist a fresh resume token
   */
  constructor({ token, onResumeToken }) {
    super();
    this.#token = token;
    this.#linkToken = token;
    this.onResumeToken = onResumeToken ?? (() => {});
    this.self = null;
    this.room = null;
    this.resumed = false;
    /** Group rooms: "waiting" (in the waiting room) or "admitted"; individual rooms: "admitted". */
    this.admission = null;
    /** Our own media state as the server sees it (includes moderator flags). */
    this.selfMedia = null;
    /** `error` events from the server (failures of events sent without acknowledgement). */
    this.serverErrors = [];
    /** Screen share as the server holds it: {sharer: id|null, allowed: [participant ids]}. */
    this.screen = { sharer: null, allowed: [] };
  }

  get state() {
    return this.#state;
  }

  /** Why the client is closed: a refusal/error code, "replaced", "ended", "left" or "disconnected". */
  get reason() {
    return this.#reason;
  }

  get peers() {
    return [...this.#roster.values()];
  }

  #setState(next, reason = null) {
    const from = this.#state;
    if (from === next) return;
    checkTransition(from, next);
    console.debug(`client: ${from} -> ${next}${reason ? ` (${reason})` : ""}`);
    this.#state = next;
    if (next === "closed") this.#reason = reason;
    this.emit("state", { from, to: next, reason });
  }

  /** Open the socket now, so a bad link is reported before the device check. */
  connect() {
    this.#setState("connecting");
    const room = roomOf(this.#linkToken);
    const socket = io(location.origin, {
      auth: (cb) => cb({ token: this.#token }),
      // A routing hint: the balancer sends a room's members to one process.
      query: room ? { room } : {},
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    this.#socket = socket;
    socket.on("connect", () => this.#onConnect());
    socket.on("connect_error", (err) => this.#onConnectError(err));
    socket.on("disconnect", (reason) => this.#onDisconnect(reason));
    this.#listen(socket);
  }

  /** Enter the room with the local tracks; resolves with {self, room, peers}. */
  async join(tracks, mediaState) {
    this.#tracks = { audio: tracks.audio ?? null, video: tracks.video ?? null, screen: this.#screenTrack };
    this.#mediaState = { ...mediaState };
    if (this.#parked) await this.#unpark();
    this.#setState("joining");
    let ack;
    try {
      ack = await this.#request("session.join", { resume: false });
    } catch (err) {
      if (this.#state !== "joining") throw err;
      if (FINAL_JOIN_ERRORS.has(err.code)) this.#close(err.code);
      else this.#setState(this.#socket.connected ? "ready" : "connecting");
      throw err;
    }
    this.#enter(ack);
    return { self: this.self, room: this.room, peers: this.peers, ack };
  }

  async leave() {
    if (this.#state === "closed") return;
    if (this.#joinedOnSocket) {
      await this.#request("session.leave", {}, 2000).catch(() => {});
    }
    this.#close("left");
  }

  /** Use another track (a new device, or null to stop sending this kind). */
  async replaceTrack(kind, track) {
    this.#tracks[kind] = track;
    await this.#media?.replaceTrack(kind, track);
  }

  /**
   * Share a screen (a track from getDisplayMedia): the server must agree first
   * (`screen.start`; rejects with a ProtocolError such as `screen_share_not_allowed`,
   * and the track is then stopped). The browser's own "Stop sharing" ends it too.
   */
  async startScreenShare(track) {
    try {
      await this.#request("screen.start", {});
    } catch (err) {
      track.stop();
      throw err;
    }
    if (this.#state === "closed") return track.stop();
    track.addEventListener("ended", () => {
      if (this.#screenTrack === track) this.stopScreenShare().catch(() => {});
    });
    this.#setScreenTrack(track);
  }

  /** Stop our share: the others' view drops it at once (`screen.stop`). */
  async stopScreenShare() {
    const wasSharing = this.#screenTrack !== null || this.screen.sharer === this.self?.id;
    this.#setScreenTrack(null);
    if (wasSharing && this.#joinedOnSocket) {
      await this.#request("screen.stop", {}).catch((err) => {
        if (err.code !== "not_sharing") throw err;
      });
    }
  }

  get sharingScreen() {
    return this.#screenTrack !== null;
  }

  #setScreenTrack(track) {
    const old = this.#screenTrack;
    if (old === track) return;
    this.#screenTrack = track;
    this.#tracks.screen = track;
    old?.stop();
    this.#media?.setScreen?.(track)?.catch?.((err) => console.warn("screen track not sent", err));
    this.emit("local-screen", { track });
  }

  /**
   * After a join. The server ends a share when its sharer's connection drops; a page
   * that resumes while still capturing asks for it again (the peer link or relay leg
   * kept sending), so a signaling blip does not end the share for good.
   */
  #enterScreen(screen, resumed) {
    const track = this.#screenTrack;
    if (!resumed || track?.readyState !== "live" || screen?.sharer) {
      this.#applyScreen(screen);
      return;
    }
    this.screen = { sharer: null, allowed: [...(screen?.allowed ?? [])] };
    this.emit("screen", this.screen);
    this.#request("screen.start", {}).catch(() => {
      if (this.#screenTrack === track) this.#setScreenTrack(null);
    });
  }

  #applyScreen(screen) {
    this.screen = { sharer: screen?.sharer ?? null, allowed: [...(screen?.allowed ?? [])] };
    // The server ended our share (revoked, or it ended while we were away): stop sending.
    if (this.#screenTrack && this.screen.sharer !== this.self?.id) this.#setScreenTrack(null);
    this.emit("screen", this.screen);
  }

  /**
   * Any other client event with an acknowledgement (moderation and floor commands:
   * see docs/protocol.md). Resolves with the ack, rejects with a ProtocolError.
   */
  command(event, payload = {}) {
    return this.#request(event, payload);
  }

  /** Tell the others whether our microphone and camera are on. */
  setMediaState(state) {
    this.#mediaState = { ...state };
    if (this.#joinedOnSocket) this.#send("media.state", this.#mediaState);
  }

  /** {peerId: {framesDecoded, ...}} for every remote video we receive. */
  async stats() {
    return this.#media ? this.#media.stats() : {};
  }

  /** The same figures for the screens we receive: {peerId: {framesDecoded, frameWidth, ...}}. */
  async screenStats() {
    return this.#media?.screenStats ? this.#media.screenStats() : {};
  }

  linkStates() {
    return this.#media ? this.#media.linkStates() : {};
  }

  /** Fault injection for tests: close the transport as a network blip would (socket.io reconnects). */
  dropTransport() {
    this.#socket?.io.engine?.close();
  }

  /** Fault injection for tests: act as if the media path failed (ICE restart, or a fresh relay leg). */
  failMedia() {
    this.#media?.fail();
  }

  // --- socket lifecycle -----------------------------------------------------

  #onConnect() {
    this.#parked = false;
    this.#restartNotice = null;
    if (this.#state === "connecting") this.#setState("ready");
    else if (this.#state === "reconnecting") this.#resume();
  }

  #onConnectError(err) {
    const code = err?.data?.code;
    if (code === "token_expired" && this.#state === "reconnecting" && this.#token !== this.#linkToken) {
      // The resume token outlived its short life (the server may not have refreshed it
      // with session.token): the link's own token still names the same seat.
      this.#token = this.#linkToken;
      this.#socket.connect();
    } else if (code === "unavailable" && this.#state === "reconnecting") {
      // Transient: socket.io does not retry a connection the server refused, so we do.
      this.emit("network", { online: false });
      this.#afterUnavailable(() => {
        if (this.#state === "reconnecting" && !this.#socket.active) this.#socket.connect();
      });
    } else if (code) {
      this.#close(code, err.data.message);
    } else if (!this.#socket.active) {
      this.#close("unreachable");
    } else {
      this.emit("network", { online: false });
    }
  }

  #onDisconnect(reason) {
    this.#joinedOnSocket = false;
    if (this.#state === "closed" || reason === "io client disconnect") return;
    const restarting = this.#restartNotice !== null;
    if (reason === "io server disconnect" && this.#parked && this.#state === "ready") {
      this.#setState("connecting"); // join() opens the socket again
      return;
    }
    if (reason === "io server disconnect" && !restarting) {
      this.#close("disconnected");
      return;
    }
    this.emit("network", { online: false });
    if (this.#state === "joined") this.#setState("reconnecting");
    else if (this.#state === "ready") this.#setState("connecting");
    if (restarting) this.#reconnectAfterRestart();
  }

  /** The server closed us because it restarts: not the end, come back with the resume token. */
  #reconnectAfterRestart() {
    this.emit("restarting", { message: this.#restartNotice });
    // socket.io does not reconnect by itself after the server closed the connection.
    const delay = RESTART_RECONNECT_MS * (1 + Math.random());
    setTimeout(() => {
      if (this.#state !== "closed" && !this.#socket.active) this.#socket.connect();
    }, delay);
  }

  async #resume() {
    let ack;
    try {
      ack = await this.#request("session.join", { resume: true });
    } catch (err) {
      if (this.#state !== "reconnecting") return;
      if (err.code === "unavailable") {
        this.#afterUnavailable(() => {
          if (this.#state === "reconnecting" && this.#socket.connected) this.#resume();
        });
        return;
      }
      if (err.code && err.code !== "timeout" && err.code !== "offline") this.#close(err.code);
      return; // offline again: the next connect retries
    }
    this.#unavailableRetryMs = UNAVAILABLE_RETRY_MS;
    if (this.#state === "reconnecting") this.#enter(ack);
  }

  #afterUnavailable(retry) {
    const delay = this.#unavailableRetryMs;
    this.#unavailableRetryMs = Math.min(delay * 2, UNAVAILABLE_RETRY_MAX_MS);
    setTimeout(retry, delay);
  }

  /** Open the socket the server closed while the page waited on the device check. */
  #unpark() {
    this.#parked = false;
    const socket = this.#socket;
    if (socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const connected = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        socket.off("connect", connected);
        reject(new ProtocolError("offline", "could not reconnect"));
      }, REQUEST_TIMEOUT_MS);
      socket.once("connect", connected);
      socket.connect();
    });
  }

  /** Apply a session.join ack (fresh or resumed) and start or keep the media. */
  #enter(ack) {
    const resumed = Boolean(ack.resumed);
    this.self = ack.self;
    this.room = ack.room;
    this.resumed = resumed;
    if (ack.resume_token) this.#setToken(ack.resume_token);
    this.#roster = new Map(ack.peers.map((p) => [p.id, { ...p }]));
    this.admission = ack.admission ?? "admitted";
    this.#admitted = this.admission !== "waiting";
    if (ack.media) this.selfMedia = { ...ack.media };
    this.#joinedOnSocket = true;
    this.#mediaConnectedSent = false;
    const queued = this.#outbox;
    this.#outbox = [];
    if (resumed) for (const [event, payload] of queued) this.#send(event, payload);
    this.#ack = ack;
    this.#ice.update(ack);
    if (!this.#admitted || !this.#media || !resumed) {
      this.#media?.close();
      this.#media = this.#admitted ? this.#makeMedia(ack) : null;
    }
    this.#setState("joined");
    this.emit("network", { online: true });
    this.emit("joined", { self: this.self, room: this.room, peers: this.peers, resumed, ack });
    this.emit("roster", this.peers);
    this.emit("admission", { admission: this.admission });
    this.#media?.sync(ack.peers, resumed, ack);
    if (this.#admitted) this.#enterScreen(ack.screen, resumed);
    this.#send("media.state", this.#mediaState);
    this.#startStats();
  }

  /**
   * Group rooms: admitted from the waiting room (`lobby.admitted`, with the members
   * already in the room) or sent back to it (no peers: the waiting room sees nobody).
   */
  #setAdmitted(admitted, peers = []) {
    if (!admitted) this.#setScreenTrack(null);
    this.admission = admitted ? "admitted" : "waiting";
    this.#admitted = admitted;
    this.#media?.close();
    this.#media = admitted && this.#ack ? this.#makeMedia(this.#ack) : null;
    this.#mediaConnectedSent = false;
    this.#roster = new Map(peers.map((p) => [p.id, { ...p }]));
    this.emit("roster", this.peers);
    this.emit("admission", { admission: this.admission });
    this.#media?.sync([], false);
  }

  /** Individual rooms report their connection quality (`stats.report`) every few seconds. */
  #startStats() {
    clearInterval(this.#statsTimer);
    if (this.room?.kind !== "individual") return;
    this.#statsTimer = setInterval(async () => {
      if (!this.#joinedOnSocket || !this.#media?.qualitySample) return;
      const sample = await this.#media.qualitySample().catch(() => null);
      if (sample && this.#joinedOnSocket) this.#socket.emit("stats.report", sample);
    }, STATS_INTERVAL_MS);
  }

  #makeIceConfig() {
    const ice = new IceConfig((event, payload) => this.#request(event, payload));
    ice.on("change", (config) => this.#media?.iceChanged?.(config));
    return ice;
  }

  #makeMedia(ack) {
    const ice = this.#ice;
    const ctx = {
      selfId: ack.self.id,
      polite: Boolean(ack.polite),
      // Read when a connection is made: the freshest TURN credentials.
      get iceServers() {
        return ice.iceServers;
      },
      get iceTransportPolicy() {
        return ice.iceTransportPolicy;
      },
      tracks: () => ({ ...this.#tracks }),
      send: (event, payload) => this.#send(event, payload),
      request: (event, payload) => this.#request(event, payload),
      emit: (event, detail) => {
        if (event === "link-state" && detail.state === "connected") this.#onMediaConnected();
        if (event === "link-state" && ["reconnecting", "failed"].includes(detail.state)) {
          this.#probeSignaling();
        }
        this.emit(event, detail);
      },
      isJoined: () => this.#joinedOnSocket,
    };
    return ack.room.kind === "group" ? new RelayMedia(ctx) : new P2PMedia(ctx);
  }

  /** See SIGNALING_PROBE_MS. */
  #probeSignaling() {
    const socket = this.#socket;
    if (this.#probingSignaling || !socket?.connected) return;
    this.#probingSignaling = true;
    socket
      .timeout(SIGNALING_PROBE_MS)
      .emitWithAck("net.ping", {})
      .catch(() => {
        if (socket !== this.#socket || !socket.connected) return;
        console.debug("client: no answer on the socket while media is down; reconnecting");
        socket.io.engine?.close();
      })
      .finally(() => {
        this.#probingSignaling = false;
      });
  }

  /** Tell the server once per join that media flows (it measures join-to-connected time). */
  #onMediaConnected() {
    if (this.#mediaConnectedSent || !this.#joinedOnSocket) return;
    this.#mediaConnectedSent = true;
    this.#socket.emit("media.connected", {});
  }

  #setToken(token) {
    this.#token = token;
    this.onResumeToken(token);
  }

  #close(reason, message) {
    if (this.#state === "closed") return;
    this.#joinedOnSocket = false;
    clearInterval(this.#statsTimer);
    this.#ice.stop();
    this.#screenTrack?.stop();
    this.#media?.close();
    this.#media = null;
    this.#socket?.disconnect();
    this.#setState("closed", reason);
    if (message) console.debug(`client closed: ${message}`);
  }

  // --- server events --------------------------------------------------------

  #listen(socket) {
    const on = (event, handler) =>
      socket.on(event, (payload) => {
        if (this.#state !== "closed") handler(payload ?? {});
      });
    on("peer.joined", ({ peer }) => {
      const wasKnown = this.#roster.has(peer.id);
      this.#roster.set(peer.id, { ...peer });
      this.#media?.peerJoined(peer, wasKnown);
      this.emit("roster", this.peers);
    });
    on("peer.disconnected", ({ id }) => this.#patchPeer(id, { connected: false }));
    on("peer.reconnected", ({ id }) => {
      this.#patchPeer(id, { connected: true });
      this.#media?.peerReconnected(id);
    });
    on("peer.left", ({ id, reason }) => {
      this.#roster.delete(id);
      this.#media?.peerLeft(id);
      this.emit("roster", this.peers);
      this.emit("peer-left", { id, reason });
    });
    on("peer.media", ({ id, ...media }) => {
      if (id === this.self?.id) {
        this.selfMedia = media;
        this.emit("self-media", media);
      } else {
        this.#patchPeer(id, { media });
      }
    });
    on("screen.state", (screen) => this.#applyScreen(screen));
    on("lobby.admitted", ({ floor, locked, peers, screen } = {}) => {
      this.#setAdmitted(true, peers ?? []);
      this.#applyScreen(screen);
      // The room's shared state as of admission, so the page need not wait for a change.
      if (floor) this.emit("floor.state", { floor, events: [] });
      if (locked !== undefined) this.emit("room.locked", { locked });
    });
    on("lobby.sent_back", () => this.#setAdmitted(false));
    on("session.removed", ({ reason }) => this.#close(reason === "denied" ? "denied" : "removed"));
    for (const event of PASSTHROUGH_EVENTS) on(event, (payload) => this.emit(event, payload));
    on("signal.description", ({ from, description }) => this.#media?.description?.(from, description));
    on("signal.candidate", ({ from, candidate }) => this.#media?.candidate?.(from, candidate));
    on("relay.offer", (payload) => this.#media?.offer?.(payload));
    on("relay.tracks", ({ tracks }) => this.#media?.tracks?.(tracks));
    on("relay.restart", () => this.#media?.restart?.());
    on("session.token", ({ resume_token: token }) => token && this.#setToken(token));
    on("session.replaced", () => this.#close("replaced"));
    on("session.ended", ({ reason }) => this.#close("ended", reason));
    on("server.restarting", ({ message }) => {
      this.#restartNotice = message || "The server is restarting, reconnecting…";
    });
    on("floor.speaking", ({ id, speaking }) => this.emit("speaking", { id, speaking: Boolean(speaking) }));
    on("error", (err) => {
      if (err.code === "join_timeout") {
        // The page sat on the device check longer than the server keeps an idle
        // connection: not a failure, the socket comes back when the person joins.
        this.#parked = true;
        return;
      }
      console.debug("server error event", err);
      this.serverErrors.push(err);
      this.emit("error", err);
    });
  }

  #patchPeer(id, patch) {
    const peer = this.#roster.get(id);
    if (!peer) return;
    this.#roster.set(id, { ...peer, ...patch });
    this.emit("roster", this.peers);
  }

  // --- sending --------------------------------------------------------------

  /** Fire-and-forget; held back while the socket is down and replayed after resume. */
  #send(event, payload) {
    if (this.#joinedOnSocket && this.#socket.connected) {
      this.#socket.emit(event, payload);
    } else if (this.#outbox.length < OUTBOX_LIMIT) {
      this.#outbox.push([event, payload]);
    }
  }

  /** Emit with acknowledgement; rejects with a ProtocolError on {ok: false}. */
  async #request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.#socket?.connected) throw new ProtocolError("offline", "not connected");
    let ack;
    try {
      ack = await this.#socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new ProtocolError("timeout", `${event}: no answer`);
    }
    if (!ack?.ok) throw new ProtocolError(ack?.error?.code ?? "unknown", ack?.error?.message);
    return ack;
  }
}
