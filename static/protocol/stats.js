// Pure helpers over RTCStatsReport objects.

/**
 * The inbound media figures of a report: video summed over inbound-rtp video entries,
 * and the audio packets received (tests and support check both arrive); freezes and
 * concealed audio for the network benchmark (benchmarks/network.py).
 */
export function inboundMediaStats(report, keep = () => true) {
  let found = false;
  const out = {
    framesDecoded: 0, framesReceived: 0, frameWidth: 0, frameHeight: 0, bytesReceived: 0,
    audioPacketsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0, freezeCount: 0,
    totalFreezesDuration: 0,
  };
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || !keep(s)) return;
    found = true;
    if (s.kind === "audio") {
      out.audioPacketsReceived += s.packetsReceived ?? 0;
      out.concealedSamples += s.concealedSamples ?? 0;
      out.totalSamplesReceived += s.totalSamplesReceived ?? 0;
      return;
    }
    if (s.kind !== "video") return;
    out.framesDecoded += s.framesDecoded ?? 0;
    out.framesReceived += s.framesReceived ?? 0;
    out.bytesReceived += s.bytesReceived ?? 0;
    out.freezeCount += s.freezeCount ?? 0;
    out.totalFreezesDuration += s.totalFreezesDuration ?? 0;
    out.frameWidth = Math.max(out.frameWidth, s.frameWidth ?? 0);
    out.frameHeight = Math.max(out.frameHeight, s.frameHeight ?? 0);
  });
  return found ? out : null;
}
