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
    MEDIA_CONNECTED = "media.connected"
    STATS_REPORT = "stats.report"
    LOBBY_ADMIT = "lobby.admit"
    LOBBY_DENY = "lobby.deny"
    LOBBY_SEND_BACK = "lobby.send_back"
    MODERATION_MUTE = "moderation.mute"
    MODERATION_MUTE_ALL = "moderation.mute_all"
    MODERATION_STOP_VIDEO = "moderation.stop_video"
    MODERATION_REMOVE = "moderation.remove"
    ROOM_LOCK = "room.lock"
    ROOM_END = "room.end"
    FLOOR_MODE = "floor.mode"
    FLOOR_SETTINGS = "floor.settings"
    FLOOR_RAISE_HAND = "floor.raise_hand"
    FLOOR_LOWER_HAND = "floor.lower_hand"
    FLOOR_GRANT_NEXT = "floor.grant_next"
    FLOOR_GIVE = "floor.give"
    FLOOR_INVITE = "floor.invite"
    FLOOR_YIELD = "floor.yield"
    FLOOR_PASS = "floor.pass"
    FLOOR_END_TURN = "floor.end_turn"
    FLOOR_SKIP = "floor.skip"
    FLOOR_EXTEND = "floor.extend"
    TALK_REPORT = "talk.report"


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
    SERVER_RESTARTING = "server.restarting"
    RELAY_OFFER = "relay.offer"
    RELAY_TRACKS = "relay.tracks"
    RELAY_RESTART = "relay.restart"
    FLOOR_SPEAKING = "floor.speaking"
    FLOOR_STATE = "floor.state"
    TALK_REPORT = "talk.report"
    LOBBY_STATE = "lobby.state"
    LOBBY_ADMITTED = "lobby.admitted"
    LOBBY_SENT_BACK = "lobby.sent_back"
    SESSION_REMOVED = "session.removed"
    ROOM_LOCKED = "room.locked"
    QUALITY_UPDATE = "quality.update"
    MEDIA_GAPS = "media.gaps"
    ERROR = "error"


class OpsEvent(StrEnum):
    """The `/ops` namespace (the ops dashboard), both directions."""

    WATCH = "ops.watch"
    SNAPSHOT = "ops.snapshot"
