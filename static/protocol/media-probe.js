// The connection check's media probe: a data-channel-only peer connection, gathered as
// the session would (the server's ICE servers and policy), answered by the server from
// its media sockets (net.probe). Up (ICE and DTLS connected) means media can reach the
// server; how the path went (direct or through TURN) comes from the selected pair.
import { gatheringComplete } from "./gathering.js";

const GATHER_TIMEOUT_MS = 3000;

/**
 * @param {(event: string, payload: object) => Promise<any>} command  acked request
 * @returns {Promise<{ok: boolean, ms?: number, via?: string, reason?: string}>}
 */
export async function probeMedia(command, iceServers, iceTransportPolicy, timeoutMs) {
  const started = performance.now();
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  try {
    pc.createDataChannel("probe");
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHER_TIMEOUT_MS);
    const reply = await command("net.probe", { sdp: pc.localDescription.sdp });
    if (!reply?.ok) return { ok: false, reason: reply?.error?.code ?? "refused" };
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    const up = await connected(pc, Math.max(0, timeoutMs - (performance.now() - started)));
    if (!up) return { ok: false, reason: "no_path" };
    return { ok: true, ms: performance.now() - started, via: await selectedPath(pc) };
  } catch (err) {
    return { ok: false, reason: err?.message ?? "error" };
  } finally {
    pc.close();
  }
}

function connected(pc, timeoutMs) {
  if (pc.connectionState === "connected") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (up) => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", check);
      resolve(up);
    };
    const check = () => {
      if (pc.connectionState === "connected") done(true);
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") done(false);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    pc.addEventListener("connectionstatechange", check);
  });
}

/** "turn" when the selected pair's local end is a relay candidate, else "direct". */
async function selectedPath(pc) {
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") {
      const local = stats.get(report.localCandidateId);
      return local?.candidateType === "relay" ? "turn" : "direct";
    }
  }
  return "direct";
}
