// The group call: a grid of member tiles fed by the relay, an active-speaker
// highlight, and the moderation and floor panels (ui/moderation.js).
import { TileGrid } from "./tiles.js";
import { mountModeration } from "./moderation.js";

export class GroupView {
  #grid;
  #el;
  #peers = [];
  #relay = "connecting";
  #online = true;
  #waitingRoom = false;
  /** The group panels' shared state (ui/group-state.js), once shown. */
  group = null;

  constructor() {
    this.#el = {
      section: document.getElementById("call"),
      tiles: document.getElementById("tiles"),
      waiting: document.getElementById("waiting"),
      connection: document.getElementById("connection"),
    };
    this.#grid = new TileGrid(this.#el.tiles);
  }

  /** `actions.unmute` turns our microphone back on (the member's answer to a moderator's mute). */
  show(localVideo, self, client, ack, actions = {}) {
    this.#el.section.classList.add("group");
    this.#el.section.classList.toggle("moderator", self.role === "therapist");
    this.#el.section.hidden = false;
    this.#grid.addSelf(localVideo, self.name);
    this.group = mountModeration({
      floor: document.getElementById("floor"),
      moderation: document.getElementById("moderation"),
      self,
      client,
      ack,
      unmute: actions.unmute,
    });
    this.render();
  }

  setPeers(peers) {
    this.#peers = peers;
    this.#grid.sync(peers);
    this.render();
  }

  setStream(peerId, stream) {
    this.#grid.setStream(peerId, stream);
  }

  setLinkState(_peerId, state) {
    this.#relay = state;
    this.render();
  }

  setOnline(online) {
    this.#online = online;
    this.render();
  }

  /** Group rooms with a waiting room: "waiting" until a therapist admits us. */
  setAdmission(admission) {
    this.#waitingRoom = admission === "waiting";
    this.render();
  }

  /** Active-speaker hook (driven by `floor.speaking {id, speaking}`). */
  setSpeaking(id, speaking) {
    this.#grid.setSpeaking(id, speaking);
  }

  setQuality(id, level) {
    this.#grid.setQuality(id, level);
  }

  describe() {
    if (!this.#online) return "Your connection dropped. Reconnecting…";
    if (this.#waitingRoom) return "You are in the waiting room.";
    if (this.#relay === "connected") {
      const n = this.#peers.length;
      return n === 0 ? "Connected. Waiting for others to join…" : `Connected with ${n} other${n === 1 ? "" : "s"}`;
    }
    if (this.#relay === "reconnecting" || this.#relay === "failed") return "Connection interrupted. Reconnecting…";
    return "Connecting to the group…";
  }

  render() {
    // The waiting-room card is the member's floor panel (ui/member-floor.js).
    this.#el.waiting.hidden = true;
    this.#el.section.classList.toggle("alone", this.#peers.length === 0);
    this.#el.connection.textContent = this.describe();
  }

  close() {
    this.#grid.clear();
  }
}
