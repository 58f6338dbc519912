// Pure helpers over RTCStatsReport objects.

/** The inbound video figures of a report (summed over inbound-rtp video entries). */
export function inboundVideoStats(report) {
  let found = false;
  const out = { framesDecoded: 0, framesReceived: 0, frameWidth: 0, frameHeight: 0, bytesReceived: 0 };
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    found = true;
    out.framesDecoded += s.framesDecoded ?? 0;
    out.framesReceived += s.framesReceived ?? 0;
    out.bytesReceived += s.bytesReceived ?? 0;
    out.frameWidth = Math.max(out.frameWidth, s.frameWidth ?? 0);
    out.frameHeight = Math.max(out.frameHeight, s.frameHeight ?? 0);
  });
  return found ? out : null;
}
