// The device check: local preview, microphone level, device pickers and what
// to tell the person when a camera or microphone is not available.
import { LevelMeter } from "./level-meter.js";
import { setSpeaker, speakerChoiceSupported } from "./speaker.js";

const WHY = {
  denied: "your browser is not allowing it",
  missing: "none was found",
  busy: "another app is using it",
  unsupported: "this browser cannot use it",
  error: "it could not be started",
};

/** The sentence under the preview, or "" when everything works. */
export function deviceNote(problems) {
  const { audio, video } = problems;
  if (audio && video) {
    return `We could not use your camera (${WHY[video]}) or microphone (${WHY[audio]}). You can still join to see and hear the others.`;
  }
  if (video) return `We could not use your camera: ${WHY[video]}. You can still join with audio only.`;
  if (audio) return `We could not use your microphone: ${WHY[audio]}. You can still join; the others will not hear you.`;
  return "";
}

export class DeviceCheck {
  #media;
  #meter;
  #el;

  constructor(media) {
    this.#media = media;
    this.#el = {
      section: document.getElementById("device-check"),
      preview: document.querySelector('video[data-role="local"]'),
      note: document.getElementById("device-note"),
      camera: document.getElementById("camera-select"),
      mic: document.getElementById("mic-select"),
      speaker: document.getElementById("speaker-select"),
      speakerField: document.getElementById("speaker-field"),
      join: document.getElementById("join-button"),
    };
    this.#meter = new LevelMeter(document.getElementById("mic-level"));
    media.on("track", ({ kind, track }) => {
      if (kind === "audio") this.#meter.setTrack(track);
      this.#refreshPreview();
    });
    for (const [select, kind] of [[this.#el.camera, "video"], [this.#el.mic, "audio"]]) {
      select.addEventListener("change", () => this.#switch(kind, select.value));
    }
    this.#el.speaker.addEventListener("change", () => setSpeaker(this.#el.speaker.value));
  }

  /** Show the check: acquire devices (once) and fill the pickers. */
  async show() {
    this.#el.section.hidden = false;
    await this.#media.start();
    this.#meter.setTrack(this.#media.tracks.audio);
    this.#refreshPreview();
    await this.#fillPickers();
    this.#showNote();
  }

  /** Ask for a press of "Join session"; resolves on the press. */
  waitForJoin() {
    this.#el.join.disabled = false;
    return new Promise((resolve) => {
      this.#el.join.addEventListener("click", () => resolve(), { once: true });
    });
  }

  setJoinBusy(busy) {
    this.#el.join.disabled = busy;
    this.#el.join.setAttribute("aria-busy", String(busy));
  }

  hide() {
    this.#el.section.hidden = true;
    this.#meter.stop();
  }

  #refreshPreview() {
    const video = this.#el.preview;
    if (video.srcObject !== this.#media.stream) video.srcObject = this.#media.stream;
    video.closest(".tile, .preview")?.classList.toggle("camera-off", !this.#media.tracks.video);
    video.play().catch(() => {});
  }

  async #fillPickers() {
    let devices;
    try {
      devices = await this.#media.listDevices();
    } catch {
      return;
    }
    fill(this.#el.camera, devices.video, this.#media.deviceIds.video, "Camera");
    fill(this.#el.mic, devices.audio, this.#media.deviceIds.audio, "Microphone");
    this.#el.speakerField.hidden = !speakerChoiceSupported || devices.speaker.length === 0;
    if (!this.#el.speakerField.hidden) fill(this.#el.speaker, devices.speaker, "default", "Speaker");
  }

  async #switch(kind, deviceId) {
    try {
      await this.#media.useDevice(kind, deviceId);
    } catch (err) {
      this.#media.problems[kind] = "busy";
      console.warn(`could not switch ${kind}`, err);
    }
    this.#showNote();
  }

  #showNote() {
    const text = deviceNote(this.#media.problems);
    this.#el.note.textContent = text;
    this.#el.note.hidden = !text;
  }
}

function fill(select, devices, selectedId, fallbackLabel) {
  select.replaceChildren(
    ...devices.map((d, i) => {
      const option = new Option(d.label || `${fallbackLabel} ${i + 1}`, d.deviceId);
      option.selected = d.deviceId === selectedId;
      return option;
    }),
  );
  select.disabled = devices.length === 0;
}
