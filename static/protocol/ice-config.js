// The ICE configuration every peer connection of this page is built with: the
// server's STUN/TURN servers and its transport policy ("relay": TURN candidates
// only, so no member's own address reaches anyone else). TURN credentials expire
// (`ice_servers_ttl_s`); a long session fetches fresh ones (`net.ice`) halfway
// through their life, so a connection or ICE restart late in it still gets a TURN
// allocation. Allocations already made keep working after their credentials expire.
import { Emitter } from "./emitter.js";

/** Fetch new credentials when this share of their lifetime has passed. */
const REFRESH_AT = 0.5;
/** A failed fetch (offline) is tried again after this long, or sooner for short lives. */
const RETRY_MS = 10000;

export class IceConfig extends Emitter {
  #request;
  #servers = [];
  #policy = "all";
  #timer = null;
  #stopped = false;

  /** @param {(event: string, payload: object) => Promise<object>} request  emit with ack */
  constructor(request) {
    super();
    this.#request = request;
  }

  get iceServers() {
    return this.#servers;
  }

  get iceTransportPolicy() {
    return this.#policy;
  }

  /** Take the servers of a join ack or a `net.ice` reply, and plan the next refresh. */
  update(config) {
    if (this.#stopped || !config) return;
    this.#servers = config.ice_servers ?? [];
    this.#policy = config.ice_transport_policy === "relay" ? "relay" : "all";
    clearTimeout(this.#timer);
    const ttlS = Number(config.ice_servers_ttl_s);
    if (ttlS > 0) this.#schedule(ttlS * REFRESH_AT * 1000, ttlS);
    this.emit("change", { iceServers: this.#servers, iceTransportPolicy: this.#policy });
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs, ttlS) {
    this.#timer = setTimeout(async () => {
      try {
        this.update(await this.#request("net.ice", {}));
      } catch {
        if (!this.#stopped) this.#schedule(Math.min(RETRY_MS, ttlS * 100), ttlS);
      }
    }, delayMs);
  }
}
