"""The error vocabulary: every code the server sends, with its default message, and the
one error type the domain raises.

Every layer names codes from `ErrorCode` (the domain, signaling, the process, the admin
API); `docs/protocol.md` is its prose form and tests/test_vocabulary.py keeps bare code
strings out of the code. A call site passes a message of its own only where the default
does not fit (a number in it, or a more precise reason).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    message: str

    def __new__(cls, value: str, message: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.message = message
        return member

    # --- connecting: the page's origin and its token -----------------------------------
    ORIGIN_NOT_ALLOWED = "origin_not_allowed", "This page is not allowed to connect."
    TOKEN_MISSING = "token_missing", "This page was opened without a session link."
    TOKEN_MALFORMED = "token_malformed", "This link is incomplete."
    TOKEN_EXPIRED = "token_expired", "This link has expired. Ask your clinic for a new link."
    TOKEN_NOT_YET_VALID = (
        "token_not_yet_valid",
        "This link is not valid yet. Check your device's clock.",
    )
    TOKEN_BAD_AUDIENCE = (
        "token_bad_audience",
        "This link was not made for joining a session here.",
    )
    TOKEN_BAD_ALGORITHM = (
        "token_bad_algorithm",
        "This link is not valid (unsupported signature algorithm).",
    )
    TOKEN_BAD_SIGNATURE = (
        "token_bad_signature",
        "This link is not valid: it was altered or made by someone else.",
    )
    TOKEN_REVOKED = "token_revoked", "You were removed from this session."
    ROOM_NOT_FOUND = "room_not_found", "This session does not exist or has expired."
    ROOM_ENDED = "room_ended", "This session has ended."
    NOT_ALLOWED = "not_allowed", "Your role cannot do that."
    NOT_CONNECTED = "not_connected", "Reconnect with your session link."

    # --- the transport: bounds before and after authentication --------------------------
    TOO_MANY_CONNECTIONS = (
        "too_many_connections",
        "Too many connections from your address; close some first.",
    )
    AUTH_TIMEOUT = (
        "auth_timeout",
        "Connected but never authenticated: reconnect with your session link.",
    )
    JOIN_TIMEOUT = "join_timeout", "Connected but never joined: reload the page to try again."
    MALFORMED_FRAME = "malformed_frame", "This frame is not a Socket.IO event."
    NESTING_TOO_DEEP = "nesting_too_deep", "The message's JSON is nested too deeply."
    BINARY_NOT_ALLOWED = "binary_not_allowed", "No event takes binary data; send JSON."
    RATE_LIMITED = "rate_limited", "Too many messages; slow down."
    FLOODING = "flooding", "Disconnected: far too many messages for too long."
    UNKNOWN_EVENT = "unknown_event", "There is no such event."
    INVALID_PAYLOAD = "invalid_payload", "Send exactly one payload object."
    MESSAGE_TOO_LARGE = "message_too_large", "This message is too large."

    # --- the session: joining, the waiting room, moderation, media -----------------------
    NOT_JOINED = "not_joined", "You are not in this session."
    SEAT_TAKEN = "seat_taken", "This seat in the session is already taken."
    ROOM_FULL = "room_full", "This group session is full."
    ROOM_LOCKED = "room_locked", "The therapist has locked this session."
    WAITING = "waiting", "You are in the waiting room until a therapist admits you."
    NOT_A_GROUP = "not_a_group", "Only group sessions have this."
    UNKNOWN_MEMBER = "unknown_member", "That person is not in this session."
    NOT_WAITING = "not_waiting", "That person is not in the waiting room."
    NOT_ADMITTED = "not_admitted", "That person is already in the waiting room."
    UNKNOWN_PEER = "unknown_peer", "That person is not in this session."
    INVALID_SDP = "invalid_sdp", "The relay could not use this session description."
    # The room store (Redis) does not answer; nothing was changed, the command may be resent.
    UNAVAILABLE = (
        "unavailable",
        "The session service is briefly unavailable; try again in a moment.",
    )
    # A server bug if ever seen: the room's lifecycle forbids the change.
    ILLEGAL_TRANSITION = "illegal_transition", "A room cannot make that state change."

    # --- in-session chat (rooms/chat.py) ---------------------------------------------------
    CHAT_OFF = "chat_off", "The therapist has turned chat off for members."
    PRIVATE_CHAT_NOT_ALLOWED = (
        "private_chat_not_allowed",
        "Private messages go between a therapist and a member.",
    )
    EMPTY_MESSAGE = "empty_message", "Write something before sending."
    # Screen share (rooms/screen_share.py).
    SCREEN_SHARE_NOT_ALLOWED = (
        "screen_share_not_allowed",
        "The therapist has not allowed you to share your screen.",
    )
    SCREEN_SHARE_BUSY = (
        "screen_share_busy",
        "Someone else is sharing a screen; one share at a time.",
    )
    NOT_SHARING = "not_sharing", "Nobody is sharing a screen."
    # Emergency information at check-in (signaling/checkin_routes.py).
    NO_CHECKIN = "no_checkin", "This session does not ask for emergency information."

    # --- the floor (rooms/floor/engine.py) ------------------------------------------------------
    NOT_A_MEMBER = "not_a_member", "That person is not in the group."
    ALREADY_A_MEMBER = "already_a_member", "That person is already in the group."
    NO_FLOOR_IN_OPEN_MODE = "no_floor_in_open_mode", "The floor is open: anyone may speak."
    NOT_IN_HAND_QUEUE_MODE = "not_in_hand_queue_mode", "The hand queue is not in use."
    NOT_IN_GO_AROUND_MODE = "not_in_go_around_mode", "No go-around is running."
    # The round decides who speaks next; handing the floor around it would let
    # someone take a second turn before everyone had one.
    GO_AROUND_IN_PROGRESS = "go_around_in_progress", "The go-around decides who speaks next."
    NO_MEMBERS = "no_members", "Nobody is here for a go-around."
    HAND_ALREADY_RAISED = "hand_already_raised", "Your hand is already raised."
    NOT_IN_QUEUE = "not_in_queue", "Your hand is not raised."
    QUEUE_EMPTY = "queue_empty", "No hands are raised."
    HOLDS_FLOOR = "holds_floor", "You already have the floor."
    NOT_FLOOR_HOLDER = "not_floor_holder", "You do not have the floor."
    NO_FLOOR_HOLDER = "no_floor_holder", "Nobody has the floor."
    NO_TURN_LIMIT = "no_turn_limit", "This turn has no time limit."
    INVALID_EXTENSION = "invalid_extension", "An extension must be positive."
    ALREADY_HAD_TURN = "already_had_turn", "That person already had a turn."
    # An invitation offers a free floor; it never cuts off someone who is speaking.
    FLOOR_TAKEN = "floor_taken", "Someone has the floor; end their turn first."

    # --- HTTP: the admin API and /metrics ------------------------------------------------
    UNAUTHORIZED = "unauthorized", "A valid admin key is required."
    INVALID_JSON = "invalid_json", "The body must be a JSON object."
    INVALID_REQUEST = "invalid_request", "The body does not match the request's schema."
    INVALID_NAME = "invalid_name", "That name cannot be used."
    TOO_MANY_PARTICIPANTS = (
        "too_many_participants",
        "An individual room has one patient; use a group room.",
    )
    BODY_TOO_LARGE = "body_too_large", "The body is too large."
    NOT_FOUND = "not_found", "There is no such API route."
    METHOD_NOT_ALLOWED = "method_not_allowed", "That method is not allowed here."
    HTTP_ERROR = "http_error", "The request was refused."
    INTERNAL_ERROR = "internal_error", "The server failed; see its log."
    METRICS_TOKEN_REQUIRED = (
        "metrics_token_required",
        "/metrics answers only scrapes from this machine. To scrape from elsewhere "
        "run the server with --metrics-token (or TELEHEALTH_METRICS_TOKEN) and send "
        "Authorization: Bearer TOKEN.",
    )


class DomainError(ValueError):
    """A command the current state refuses. `code` goes on the wire unchanged."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        message = code.message if message is None else message
        super().__init__(message)
        self.code = code
        self.message = message
