// Microphone, camera and leave buttons of the call views.
export class Controls {
  #media;
  #el;

  /**
   * @param {import("./local-media.js").LocalMedia} media
   * @param {{onLeave: () => void, onError: (text: string) => void}} handlers
   */
  constructor(media, { onLeave, onError }) {
    this.#media = media;
    this.#el = {
      mic: document.getElementById("mic-button"),
      camera: document.getElementById("camera-button"),
      leave: document.getElementById("leave-button"),
    };
    this.#el.mic.addEventListener("click", () => {
      media.setMicOn(!media.micOn);
      this.render();
    });
    this.#el.camera.addEventListener("click", async () => {
      this.#el.camera.disabled = true;
      try {
        await media.setCameraOn(!media.cameraOn || !media.tracks.video);
      } catch (err) {
        console.warn("camera could not be turned on", err);
        onError("Your camera could not be turned on. Check that no other app is using it.");
      }
      this.#el.camera.disabled = false;
      this.render();
    });
    this.#el.leave.addEventListener("click", () => onLeave());
    this.render();
  }

  render() {
    const { mic, camera } = this.#el;
    const media = this.#media;
    const hasMic = Boolean(media.tracks.audio);
    mic.disabled = !hasMic;
    mic.setAttribute("aria-pressed", String(hasMic && !media.micOn));
    mic.textContent = !hasMic ? "No microphone" : media.micOn ? "Mute" : "Unmute";
    const cameraOn = Boolean(media.tracks.video) && media.cameraOn;
    camera.setAttribute("aria-pressed", String(!cameraOn));
    camera.textContent = cameraOn ? "Turn camera off" : "Turn camera on";
  }

  disable() {
    for (const button of Object.values(this.#el)) button.disabled = true;
  }
}
