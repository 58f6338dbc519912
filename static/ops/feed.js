// OpsFeed: the one owner of the /ops socket.io connection. UI modules listen to
// its events ("snapshot", "status") and call watch(); they never see the socket.
import { io } from "/static/vendor/socket.io.esm.min.js";

const WATCH_TIMEOUT_MS = 5000;
const TOKEN_KEY = "telehealth.ops-token";

/** Connection states shown to the user; "refused" is final. */
export const FEED_STATES = ["connecting", "live", "reconnecting", "refused"];

/**
 * The ops token: taken once from the link's fragment, then kept only in this
 * tab's sessionStorage (a reload works) and cleared from the address bar.
 */
export function takeOpsToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("t");
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(history.state, "", location.pathname + location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetOpsToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class OpsFeed {
  constructor(token) {
    this._token = token;
    this._listeners = new Map();
    this._watching = null;
    this._socket = null;
    this.state = "connecting";
  }

  on(event, listener) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(listener);
    return () => this._listeners.get(event).delete(listener);
  }

  _emit(event, detail) {
    for (const listener of this._listeners.get(event) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        console.error(`ops: ${event} listener failed`, error);
      }
    }
  }

  _setState(state, detail = {}) {
    if (this.state === "refused") return;
    this.state = state;
    this._emit("status", { state, ...detail });
  }

  start() {
    if (!this._token) {
      this._setState("refused", {
        code: "token_missing",
        message: "This page needs an ops link; it carries no token.",
      });
      return;
    }
    const socket = io(location.origin + "/ops", {
      auth: { token: this._token },
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    });
    this._socket = socket;
    socket.on("connect", () => {
      this._setState("live");
      if (this._watching !== null) this._sendWatch(this._watching);
    });
    socket.on("disconnect", (reason) => {
      if (this.state === "refused") return;
      this._setState("reconnecting", { reason });
      // A server-side disconnect is not retried by the client on its own.
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", (error) => {
      const data = error && error.data;
      if (data && typeof data.code === "string") {
        // The server looked at the token and said no: retrying cannot help.
        socket.close();
        this._setState("refused", { code: data.code, message: data.message || "" });
        return;
      }
      this._setState(this.state === "connecting" ? "connecting" : "reconnecting");
    });
    socket.io.on("reconnect_attempt", () => this._setState("reconnecting"));
    socket.on("ops.snapshot", (snapshot) => {
      if (snapshot && Array.isArray(snapshot.rooms)) {
        this._emit("snapshot", { snapshot, receivedAt: Date.now() / 1000 });
      }
    });
  }

  /** Drill into one room (or none); remembered across reconnects. */
  watch(roomId) {
    this._watching = roomId ?? null;
    if (this._socket && this._socket.connected) this._sendWatch(this._watching);
  }

  get watching() {
    return this._watching;
  }

  _sendWatch(roomId) {
    this._socket.timeout(WATCH_TIMEOUT_MS).emit("ops.watch", { room: roomId }, (err, ack) => {
      if (err || !ack || ack.ok !== true) {
        console.warn("ops: ops.watch not acknowledged", err || ack);
      }
    });
  }
}
