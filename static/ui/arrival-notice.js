// The therapist's notice that someone is waiting: a short chime and the tab's title
// ("(1) waiting · Your session"), so a therapist on another tab or window sees it. In
// group rooms it follows the waiting room; in individual rooms, the patient's arrival
// (the title says so until the therapist comes back to the tab).
const CHIME_HZ = [660, 880];
const NOTE_S = 0.12;

export class ArrivalNotice {
  #baseTitle = document.title;
  #seen = new Set();
  #audio = null;

  /**
   * @param {object} client  the SessionClient
   * @param {{kind: string}} room
   * @param {object} [ack]  the session.join ack (a group therapist's `waiting`)
   */
  constructor(client, room, ack) {
    if (room.kind === "group") {
      for (const w of ack?.waiting ?? []) this.#seen.add(w.id);
      this.#title(ack?.waiting?.length ?? 0, null);
      client.on("lobby.state", ({ waiting }) => this.#waitingChanged(waiting ?? []));
    } else {
      for (const p of client.peers) this.#seen.add(p.id);
      client.on("roster", (peers) => this.#peersChanged(peers));
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this.#title(0, null);
      });
    }
  }

  #waitingChanged(waiting) {
    const fresh = waiting.filter((w) => !this.#seen.has(w.id));
    this.#seen = new Set(waiting.map((w) => w.id));
    this.#title(waiting.length, null);
    if (fresh.length) this.#chime();
  }

  #peersChanged(peers) {
    const fresh = peers.filter((p) => !this.#seen.has(p.id) && p.connected !== false);
    for (const p of peers) this.#seen.add(p.id);
    if (!fresh.length) return;
    if (document.visibilityState !== "visible") this.#title(0, `${fresh[0].name} is here`);
    this.#chime();
  }

  #title(waiting, arrived) {
    const prefix = waiting > 0 ? `(${waiting}) waiting · ` : arrived ? `${arrived} · ` : "";
    document.title = prefix + this.#baseTitle;
  }

  /** Two soft notes; silent (not an error) where the browser allows no sound yet. */
  #chime() {
    try {
      this.#audio ??= new AudioContext();
      const ctx = this.#audio;
      CHIME_HZ.forEach((hz, i) => {
        const start = ctx.currentTime + i * NOTE_S;
        const tone = ctx.createOscillator();
        const gain = ctx.createGain();
        tone.frequency.value = hz;
        gain.gain.setValueAtTime(0.08, start);
        gain.gain.exponentialRampToValueAtTime(0.001, start + NOTE_S);
        tone.connect(gain).connect(ctx.destination);
        tone.start(start);
        tone.stop(start + NOTE_S);
      });
    } catch (err) {
      console.debug("no chime", err);
    }
  }
}
