// The pre-join connection check, next to the device check: the signaling round trip
// (net.ping), a short ICE and DTLS check against the server's media sockets (net.probe,
// gathered with the server's STUN/TURN and policy from net.ice; when it fails, the
// candidates gathered tell why), and a rough download measure (GET /probe/bytes). A
// plain verdict with tips in under 15 s (3 + 5 + 2.5 + 4 at worst); joining is allowed
// whatever it says.
import { probeMedia } from "../protocol.js";
import { el } from "./dom.js";
import { announce } from "./status.js";

const PINGS = 5;
const PING_TIMEOUT_MS = 3000;
const PROBE_TIMEOUT_MS = 5000;
const ICE_TIMEOUT_MS = 2500;
const DOWNLOAD_TIMEOUT_MS = 4000;
const SLOW_RTT_MS = 300;
const LOW_KBPS = 600;

export class ConnectionCheck {
  #client;
  #el;

  /** @param {HTMLElement} before  the check goes just before this element (the Join button) */
  constructor(before, client) {
    this.#client = client;
    const run = el("button", { type: "button", text: "Check my connection" });
    run.addEventListener("click", () => this.run());
    const results = el("dl", { className: "check-results" });
    const verdict = el("p", { className: "verdict", "data-testid": "connection-verdict" });
    const tips = el("ul", { className: "tips" });
    const out = el("div", { "aria-live": "polite" }, verdict, results, tips);
    const root = el("section", { className: "connection-check", "aria-labelledby": "connection-check-title",
      "data-testid": "connection-check" },
      el("h2", { id: "connection-check-title", text: "Connection check" }),
      el("p", { className: "hint", text: "Optional: takes up to 15 seconds. You can join whatever it says." }),
      run, out);
    before.before(root);
    this.#el = { root, run, results, verdict, tips };
  }

  async run() {
    const e = this.#el;
    e.run.disabled = true;
    e.root.dataset.state = "running";
    e.verdict.textContent = "Checking your connection…";
    e.results.replaceChildren();
    e.tips.replaceChildren();
    const [rttMs, ice, kbps] = [await this.#rtt(), await this.#ice(), await this.#download()];
    const tips = [];
    if (rttMs === null) tips.push("The session server did not answer: check that you are online.");
    else if (rttMs > SLOW_RTT_MS) tips.push("Replies are slow: move closer to your Wi-Fi router, or use a cable.");
    if (!ice.ok) tips.push(ice.tip);
    if (kbps === null || kbps < LOW_KBPS) {
      tips.push("Video may freeze: close other apps or downloads, or turn your camera off in the call.");
    }
    const verdict = tips.length === 0 ? "good" : rttMs === null || !ice.ok ? "poor" : "fair";
    this.#row("Server round trip", rttMs === null ? "no answer" : `${Math.round(rttMs)} ms`);
    this.#row("Media path", ice.text);
    this.#row("Download", kbps === null ? "not measured" : `about ${formatKbps(kbps)}`);
    e.verdict.textContent = {
      good: "Your connection looks good for a video session.",
      fair: "Your connection should work, but the call may not be smooth.",
      poor: "Your connection may have trouble with video.",
    }[verdict];
    e.tips.replaceChildren(...tips.map((tip) => el("li", { text: tip })));
    e.root.dataset.state = "done";
    e.root.dataset.verdict = verdict;
    e.run.disabled = false;
    announce(e.verdict.textContent);
  }

  #row(name, value) {
    this.#el.results.append(el("dt", { text: name }), el("dd", { text: value }));
  }

  /** Median of a few acked round trips to the session server (ms), or null. */
  async #rtt() {
    const samples = [];
    for (let i = 0; i < PINGS; i += 1) {
      const start = performance.now();
      try {
        await withTimeout(this.#client.command("net.ping", {}), PING_TIMEOUT_MS);
        samples.push(performance.now() - start);
      } catch {
        break;
      }
    }
    if (!samples.length) return null;
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)];
  }

  /** Gather candidates with the server's ICE servers: TURN relay, STUN, or local only. */
  async #ice() {
    let servers = [];
    let policy = "all";
    try {
      const reply = await withTimeout(this.#client.command("net.ice", {}), PING_TIMEOUT_MS);
      servers = reply.ice_servers ?? [];
      policy = reply.ice_transport_policy === "relay" ? "relay" : "all";
    } catch {
      return { ok: false, text: "not checked", tip: "The session server did not answer: check that you are online." };
    }
    const probe = await probeMedia((event, payload) => this.#client.command(event, payload),
      servers, policy, PROBE_TIMEOUT_MS);
    if (probe.ok) {
      const ms = Math.round(probe.ms);
      return { ok: true, text: probe.via === "turn"
        ? `reaches the session server through the relay server (TURN), in ${ms} ms`
        : `reaches the session server, in ${ms} ms` };
    }
    const blocked = { ok: false, text: "cannot reach the session server's media",
      tip: "Your network may block video calls: try another network, such as your phone's hotspot." };
    const urls = servers.flatMap((s) => [].concat(s.urls));
    const turn = urls.some((u) => /^turns?:/.test(u));
    const stun = urls.some((u) => /^stuns?:/.test(u));
    // As the session will: with the "relay" policy only TURN candidates count.
    const types = await gatherCandidateTypes(servers, policy);
    if (probe.reason === "no_path") {
      return turn && !types.has("relay")
        ? { ...blocked, text: "the relay server (TURN) is not reachable" }
        : blocked;
    }
    // The server could not probe (busy, or an older server): judge by the gathering.
    if (turn) {
      return types.has("relay")
        ? { ok: true, text: "the relay server (TURN) is reachable" }
        : { ...blocked, text: "the relay server (TURN) is not reachable" };
    }
    if (stun && !types.has("srflx") && types.size) {
      return { ...blocked, text: "only your local network" };
    }
    return types.size
      ? { ok: true, text: types.has("srflx") ? "direct connections possible" : "your device can connect" }
      : { ok: false, text: "no network path found", tip: "Check that you are online, then try again." };
  }

  /** Rough download speed in kbit/s from one fixed block, or null. */
  async #download() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), DOWNLOAD_TIMEOUT_MS);
    try {
      const start = performance.now();
      const response = await fetch(`/probe/bytes?t=${Date.now()}`, { cache: "no-store", signal: abort.signal });
      const bytes = (await response.arrayBuffer()).byteLength;
      const ms = Math.max(1, performance.now() - start);
      return (bytes * 8) / ms;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function gatherCandidateTypes(iceServers, iceTransportPolicy) {
  const types = new Set();
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  try {
    pc.createDataChannel("check");
    const done = new Promise((resolve) => {
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) resolve();
        else if (candidate.type) types.add(candidate.type);
      };
      setTimeout(resolve, ICE_TIMEOUT_MS);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } catch (err) {
    console.warn("ICE check failed", err);
  } finally {
    pc.close();
  }
  return types;
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}

function formatKbps(kbps) {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}
