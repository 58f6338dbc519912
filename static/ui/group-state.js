// What the group-room panels show, kept in one place: the floor, the roster, the
// waiting room, the lock, our own moderator flags and the last talk-time report.
// Fed only by SessionClient events; panels listen to "change" and re-render.
import { Emitter } from "../protocol.js";

export class GroupState extends Emitter {
  #client;
  #handSeen = new Map(); // member id -> performance.now() when first seen in the queue

  /**
   * @param {object} client  the SessionClient
   * @param {object} self  {id, role, name}
   * @param {object} [ack]  the session.join ack (floor, locked, waiting)
   */
  constructor(client, self, ack) {
    super();
    this.#client = client;
    this.self = self;
    this.floor = null;
    /** performance.now() when `floor` arrived (turn timers count from it). */
    this.floorAt = performance.now();
    /** The last check-in round, kept after it ends: {order, pending, holder, running}. */
    this.round = null;
    this.locked = false;
    this.waiting = [];
    this.peers = client.peers;
    this.selfMedia = client.selfMedia ?? ack?.media ?? null;
    this.admission = client.admission ?? "admitted";
    /** Set once we have been admitted and then sent back. */
    this.sentBack = false;
    this.report = null;
    /** Therapists: who is not receiving whose media ({member, from, kind}), from the relay. */
    this.mediaGaps = [];
    this.#applyAck(ack);

    client.on("joined", ({ ack: fresh }) => {
      this.peers = client.peers;
      this.#applyAck(fresh);
      this.#changed("joined");
    });
    client.on("floor.state", ({ floor, events }) => {
      this.#setFloor(floor);
      this.#changed("floor", events ?? []);
    });
    client.on("roster", (peers) => {
      this.peers = peers;
      this.#changed("peers");
    });
    client.on("lobby.state", ({ waiting }) => {
      this.waiting = waiting ?? [];
      this.#changed("lobby");
    });
    client.on("room.locked", ({ locked }) => {
      this.locked = Boolean(locked);
      this.#changed("locked");
    });
    client.on("self-media", (media) => {
      this.selfMedia = media;
      this.#changed("self-media");
    });
    client.on("admission", ({ admission }) => {
      if (this.admission === "admitted" && admission === "waiting") this.sentBack = true;
      if (admission === "admitted") this.sentBack = false;
      this.admission = admission;
      this.#changed("admission");
    });
    client.on("talk.report", ({ report }) => this.setReport(report));
    client.on("media.gaps", ({ gaps }) => {
      this.mediaGaps = Array.isArray(gaps) ? gaps : [];
      this.#changed("media-gaps");
    });
  }

  get isTherapist() {
    return this.self.role === "therapist";
  }

  /** Admitted participants other than us (the members a therapist moderates). */
  get participants() {
    return this.peers.filter((p) => p.role === "participant");
  }

  setReport(report) {
    if (!report) return;
    this.report = report;
    this.#changed("report");
  }

  /** A display name for a member id ("you" for ourselves). */
  name(id, { you = "You" } = {}) {
    if (!id) return "";
    if (id === this.self.id) return you;
    const peer = this.peers.find((p) => p.id === id);
    if (peer) return peer.name;
    const row = this.report?.members?.find((m) => m.id === id);
    if (row?.name) return row.name;
    return this.waiting.find((m) => m.id === id)?.name ?? "Someone who left";
  }

  /** Seconds left in the running turn now (local countdown from the last floor.state), or null. */
  remaining(now = performance.now()) {
    const turn = this.floor?.turn;
    if (!turn || turn.remaining_s === null || turn.remaining_s === undefined) return null;
    return Math.max(0, turn.remaining_s - (now - this.floorAt) / 1000);
  }

  /** Seconds the running turn has lasted, counted on locally. */
  elapsed(now = performance.now()) {
    const turn = this.floor?.turn;
    if (!turn) return null;
    return (turn.elapsed_s ?? 0) + (now - this.floorAt) / 1000;
  }

  /** How long a queued hand has been up, as far as this page has seen it. */
  handWait(id, now = performance.now()) {
    const since = this.#handSeen.get(id);
    return since === undefined ? 0 : (now - since) / 1000;
  }

  #applyAck(ack) {
    if (!ack) return;
    if ("locked" in ack) this.locked = Boolean(ack.locked);
    if (ack.waiting) this.waiting = ack.waiting;
    if (ack.media) this.selfMedia = ack.media;
    if (ack.floor) this.#setFloor(ack.floor);
  }

  #setFloor(floor) {
    this.floor = floor;
    this.floorAt = performance.now();
    const queue = new Set(floor?.queue ?? []);
    for (const id of this.#handSeen.keys()) if (!queue.has(id)) this.#handSeen.delete(id);
    for (const id of queue) if (!this.#handSeen.has(id)) this.#handSeen.set(id, this.floorAt);
    const round = floor?.go_around;
    if (round) {
      this.round = { order: [...round.order], pending: [...round.pending], holder: floor.holder, running: true };
    } else if (this.round?.running) {
      // The round ended: the last speaker's turn is over too.
      this.round = { ...this.round, holder: null, running: false };
    }
  }

  #changed(what, events = []) {
    this.emit("change", { what, events });
  }
}
