// "Audio only" in group rooms: the member takes part by voice. Audio only means no video
// either way (docs/protocol.md, media.state): our camera goes off (and stays off until
// audio only ends), the server closes our video gate, and the relay sends us no camera
// of anyone, which saves a weak link both ways. Everyone still hears everyone.
import { announce } from "./status.js";

export class AudioOnlyControl {
  #button;
  #client;
  #media;
  #tiles;
  #on = false;

  constructor(button, client, media, tiles, { onChange } = {}) {
    this.#button = button;
    this.#client = client;
    this.#media = media;
    this.#tiles = tiles;
    button.hidden = false;
    button.addEventListener("click", () => this.set(!this.#on).then(() => onChange?.()));
    client.on("self-media", (state) => this.#follow(Boolean(state.audio_only)));
    this.#follow(Boolean(client.selfMedia?.audio_only));
  }

  get on() {
    return this.#on;
  }

  async set(on) {
    this.#button.disabled = true;
    try {
      // The choice goes first: the camera's own state change that follows leaves
      // audio_only out (unchanged), so the server never reports it off in between.
      this.#client.setMediaState({ ...this.#media.state, video: on ? false : this.#media.state.video, audio_only: on });
      this.#follow(on);
      if (on) await this.#media.setCameraOn(false);
      announce(on ? "Audio only: your camera is off and you receive no video." : "Audio only is off. You can turn your camera back on.");
    } finally {
      this.#button.disabled = false;
    }
  }

  #follow(on) {
    this.#on = on;
    this.#button.setAttribute("aria-pressed", String(on));
    this.#button.textContent = on ? "Audio only: on" : "Audio only";
    this.#tiles.classList.toggle("audio-only", on);
    // The camera stays off while audio only is on: the server would not forward it.
    const camera = document.getElementById("camera-button");
    if (camera) camera.disabled = on;
  }
}
