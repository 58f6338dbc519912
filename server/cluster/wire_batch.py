"""A rendered batch of wire messages (signaling.fanout.WireBatch) <-> JSON, between processes.

The room's owner renders its domain events once, for every process: the others only
deliver, so none of them decodes the room or renders again (with the room in the
message, decoding it was the largest cost of a command's fan-out on a second process).
"""

from __future__ import annotations

from typing import Any

from signaling.codec import Audience, Outgoing
from signaling.events import ServerEvent
from signaling.fanout import WireBatch


def batch_to_data(batch: WireBatch) -> dict[str, Any]:
    return {
        "moves": [[member_id, into_room] for member_id, into_room in batch.moves],
        "messages": [_message_to_data(m) for m in batch.messages],
        "over": batch.over,
    }


def batch_from_data(room_id: str, data: dict[str, Any]) -> WireBatch:
    """Raises KeyError, TypeError or ValueError on a malformed batch."""
    moves = tuple((_str(m[0]), _bool(m[1])) for m in data["moves"])
    messages = tuple(_message_from_data(m) for m in data["messages"])
    return WireBatch(room_id, moves, messages, _bool(data["over"]))


def _message_to_data(message: Outgoing) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event": message.event.value,
        "payload": message.payload,
        "audience": message.audience.value,
    }
    if message.member is not None:
        data["member"] = message.member
    if message.except_member is not None:
        data["except"] = message.except_member
    return data


def _message_from_data(data: dict[str, Any]) -> Outgoing:
    payload = data["payload"]
    if not isinstance(payload, dict):
        raise TypeError("a wire message's payload is an object")
    return Outgoing(
        event=ServerEvent(data["event"]),
        payload=payload,
        audience=Audience(data["audience"]),
        member=_opt_str(data.get("member")),
        except_member=_opt_str(data.get("except")),
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value
