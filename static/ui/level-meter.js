// Microphone level for the device check: RMS of the signal, shown in a <meter>.
export class LevelMeter {
  #ctx = null;
  #source = null;
  #analyser = null;
  #frame = 0;
  #meter;

  constructor(meterElement) {
    this.#meter = meterElement;
  }

  /** Follow this track (or nothing, with null). */
  setTrack(track) {
    this.#source?.disconnect();
    this.#source = null;
    if (!track) {
      this.#meter.value = 0;
      return;
    }
    if (!this.#ctx) {
      this.#ctx = new AudioContext();
      this.#analyser = this.#ctx.createAnalyser();
      this.#analyser.fftSize = 512;
      // Browsers start an AudioContext suspended until the person interacts.
      const hint = document.getElementById("level-hint");
      if (hint) hint.hidden = this.#ctx.state !== "suspended";
      this.#ctx.addEventListener("statechange", () => {
        if (hint) hint.hidden = this.#ctx?.state !== "suspended";
      });
      const wake = () => this.#ctx?.resume();
      document.addEventListener("pointerdown", wake, { once: true });
      document.addEventListener("keydown", wake, { once: true });
    }
    this.#source = this.#ctx.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(this.#analyser);
    if (!this.#frame) this.#tick();
  }

  #tick = () => {
    const samples = new Float32Array(this.#analyser.fftSize);
    this.#analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    this.#meter.value = Math.min(1, rms * 4);
    this.#frame = requestAnimationFrame(this.#tick);
  };

  stop() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#source?.disconnect();
    this.#ctx?.close();
    this.#ctx = null;
  }
}
