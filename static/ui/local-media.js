// The camera and microphone: acquiring them (with whatever is available),
// switching devices, muting and turning the camera off. No networking here; the
// app hands track changes to the protocol side.
import { Emitter } from "../protocol/emitter.js";

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };
const KINDS = ["audio", "video"];

/** Why a kind is unavailable, from a getUserMedia error. */
export function problemOf(err) {
  if (!err) return null;
  if (err.name === "NotAllowedError" || err.name === "SecurityError") return "denied";
  if (err.name === "NotFoundError" || err.name === "OverconstrainedError") return "missing";
  if (err.name === "NotReadableError") return "busy";
  return "error";
}

export class LocalMedia extends Emitter {
  constructor() {
    super();
    this.stream = new MediaStream();
    this.tracks = { audio: null, video: null };
    this.problems = { audio: null, video: null };
    this.deviceIds = { audio: null, video: null };
    this.micOn = true;
    this.cameraOn = true;
  }

  /** Ask for both; if that fails, ask for each alone to use what is available. */
  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.problems = { audio: "unsupported", video: "unsupported" };
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO_CONSTRAINTS });
      for (const track of stream.getTracks()) this.#setTrack(track.kind, track);
      return;
    } catch (err) {
      console.debug("camera+microphone not available together", err.name);
    }
    for (const kind of KINDS) {
      try {
        const track = await this.#acquire(kind, null);
        this.#setTrack(kind, track);
      } catch (err) {
        this.problems[kind] = problemOf(err);
      }
    }
  }

  /** Media state as the others should see it. */
  get state() {
    return {
      audio: Boolean(this.tracks.audio) && this.micOn,
      video: Boolean(this.tracks.video) && this.cameraOn,
    };
  }

  async listDevices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      video: all.filter((d) => d.kind === "videoinput"),
      audio: all.filter((d) => d.kind === "audioinput"),
      speaker: all.filter((d) => d.kind === "audiooutput"),
    };
  }

  /** Switch to another camera or microphone. */
  async useDevice(kind, deviceId) {
    const track = await this.#acquireInstead(kind, deviceId);
    this.problems[kind] = null;
    if (kind === "video" && !this.cameraOn) {
      track.stop(); // remember the choice; the camera stays off
      this.deviceIds.video = deviceId;
      return;
    }
    this.#setTrack(kind, track);
  }

  setMicOn(on) {
    this.micOn = on;
    if (this.tracks.audio) this.tracks.audio.enabled = on;
    this.emit("state", this.state);
  }

  /** Camera off really releases the camera (its light goes out); on acquires it again. */
  async setCameraOn(on) {
    if (on === this.cameraOn) return;
    if (!on) {
      this.cameraOn = false;
      this.#setTrack("video", null);
    } else {
      const track = await this.#acquire("video", this.deviceIds.video);
      this.cameraOn = true;
      this.problems.video = null;
      this.#setTrack("video", track);
    }
    this.emit("state", this.state);
  }

  stop() {
    for (const kind of KINDS) this.#setTrack(kind, null, { quiet: true });
  }

  /**
   * The new device while the old one is still live, so a failed switch keeps the old.
   * Phones (iOS Safari, many Android devices) open one camera at a time and refuse the
   * second with NotReadableError: then the old one is stopped first (it stays our track
   * until the new one replaces it, so the call sends nothing else meanwhile), and taken
   * back if the new one still cannot be opened.
   */
  async #acquireInstead(kind, deviceId) {
    try {
      return await this.#acquire(kind, deviceId);
    } catch (err) {
      const old = this.tracks[kind];
      if (err.name !== "NotReadableError" || !old) throw err;
      old.stop();
      try {
        return await this.#acquire(kind, deviceId);
      } catch (retryErr) {
        this.#setTrack(kind, await this.#acquire(kind, this.deviceIds[kind]));
        throw retryErr;
      }
    }
  }

  async #acquire(kind, deviceId) {
    const base = kind === "video" ? VIDEO_CONSTRAINTS : {};
    const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : kind === "video" ? base : true;
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
    return stream.getTracks()[0];
  }

  #setTrack(kind, track, { quiet = false } = {}) {
    const old = this.tracks[kind];
    if (old === track) return;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.tracks[kind] = track;
    if (track) {
      if (kind === "audio") track.enabled = this.micOn;
      this.deviceIds[kind] = track.getSettings().deviceId ?? null;
      this.stream.addTrack(track);
    }
    if (!quiet) this.emit("track", { kind, track });
  }
}
