"""Every event name on the wire, in one place (docs/protocol.md is the prose form)."""

from __future__ import annotations

from enum import StrEnum


class ClientEvent(StrEnum):
    SESSION_JOIN = "session.join"
    SESSION_LEAVE = "session.leave"
    MEDIA_STATE = "media.state"
    SIGNAL_DESCRIPTION = "signal.description"
    SIGNAL_CANDIDATE = "signal.candidate"
    RELAY_OFFER = "relay.offer"
    RELAY_ANSWER = "relay.answer"


class ServerEvent(StrEnum):
    PEER_JOINED = "peer.joined"
    PEER_DISCONNECTED = "peer.disconnected"
    PEER_RECONNECTED = "peer.reconnected"
    PEER_LEFT = "peer.left"
    PEER_MEDIA = "peer.media"
    SIGNAL_DESCRIPTION = "signal.description"
    SIGNAL_CANDIDATE = "signal.candidate"
    SESSION_REPLACED = "session.replaced"
    SESSION_TOKEN = "session.token"
    SESSION_ENDED = "session.ended"
    RELAY_OFFER = "relay.offer"
    RELAY_TRACKS = "relay.tracks"
    FLOOR_SPEAKING = "floor.speaking"
    ERROR = "error"
