// The individual (1:1) call: the other person large, ourselves small, and a
// plain-language line about the connection.
import { TileGrid } from "./tiles.js";

export class CallView {
  #grid;
  #el;
  #peers = [];
  #links = {};
  #online = true;

  constructor() {
    this.#el = {
      section: document.getElementById("call"),
      tiles: document.getElementById("tiles"),
      waiting: document.getElementById("waiting"),
      connection: document.getElementById("connection"),
    };
    this.#grid = new TileGrid(this.#el.tiles);
  }

  show(localVideo, self) {
    this.#el.section.classList.add("individual");
    this.#el.section.hidden = false;
    this.#grid.addSelf(localVideo, self.name);
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

  setLinkState(peerId, state) {
    this.#links[peerId] = state;
    this.render();
  }

  setOnline(online) {
    this.#online = online;
    this.render();
  }

  setAdmission() {}

  setSpeaking(id, speaking) {
    this.#grid.setSpeaking(id, speaking);
  }

  setQuality(id, level) {
    this.#grid.setQuality(id, level);
  }

  /** The connection line, in words a patient understands. */
  describe() {
    if (!this.#online) return "Your connection dropped. Reconnecting…";
    const peer = this.#peers[0];
    if (!peer) return ""; // the waiting notice says it
    if (peer.connected === false) return `${peer.name}'s connection dropped. Reconnecting…`;
    const link = this.#links[peer.id];
    if (link === "connected") return `Connected with ${peer.name}`;
    if (link === "reconnecting") return `Connection to ${peer.name} interrupted. Reconnecting…`;
    return `Connecting to ${peer.name}…`;
  }

  render() {
    const alone = this.#peers.length === 0;
    this.#el.waiting.hidden = !alone;
    this.#el.section.classList.toggle("alone", alone);
    this.#el.connection.textContent = this.describe();
  }

  close() {
    this.#grid.clear();
  }
}
