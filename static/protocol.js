// The protocol side of the client, in one import. This is the only entry point UI
// modules use: SessionClient owns the socket.io connection and every RTCPeerConnection.
export { SessionClient } from "./protocol/client.js";
export { ProtocolError, STATES } from "./protocol/session-state.js";
export { Emitter } from "./protocol/emitter.js";
export { probeMedia } from "./protocol/media-probe.js";
