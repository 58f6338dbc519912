// Turns successive getStats() reports of one peer connection into `stats.report`
// payloads (docs/protocol.md): figures since the previous sample.

export class QualitySampler {
  #last = null; // {at, bytes, lost, received}

  /** @param {RTCStatsReport} report @param {boolean} connected @param {number} now ms */
  sample(report, connected, now = performance.now()) {
    let rtt = null;
    let jitter = null;
    let bytes = 0;
    let lost = 0;
    let received = 0;
    let frames = null;
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        if (typeof s.currentRoundTripTime === "number") rtt = s.currentRoundTripTime * 1000;
      } else if (s.type === "inbound-rtp") {
        bytes += s.bytesReceived ?? 0;
        lost += Math.max(0, s.packetsLost ?? 0);
        received += s.packetsReceived ?? 0;
        if (typeof s.jitter === "number") jitter = Math.max(jitter ?? 0, s.jitter * 1000);
        if (s.kind === "video") frames = (frames ?? 0) + (s.framesDecoded ?? 0);
      }
    });
    const payload = { connected };
    if (rtt !== null) payload.rtt_ms = round(rtt);
    if (jitter !== null) payload.jitter_ms = round(jitter);
    if (frames !== null) payload.frames_decoded = frames;
    const last = this.#last;
    if (last && now > last.at) {
      const seconds = (now - last.at) / 1000;
      payload.bitrate_kbps = round(Math.max(0, bytes - last.bytes) * 8 / 1000 / seconds);
      const newLost = Math.max(0, lost - last.lost);
      const newReceived = Math.max(0, received - last.received);
      if (newLost + newReceived > 0) payload.loss_pct = round((100 * newLost) / (newLost + newReceived));
    }
    this.#last = { at: now, bytes, lost, received };
    return payload;
  }
}

function round(x) {
  return Math.round(x * 10) / 10;
}
