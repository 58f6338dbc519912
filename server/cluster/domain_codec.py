"""Commands and domain events <-> JSON, for sending them between processes.

A command travels from the process that holds a connection to the room's owner; the
events it caused travel back and to every process with members in the room. Both are
frozen dataclasses of `rooms`, nested (an event holds a Member, a floor change holds
floor events). Each value is written with its type's name and read back only if that
type is one of `rooms`' own (the allow-list below): a message can never make this
process build anything else.

Rooms themselves go through `server.stores.room_codec`, the versioned store format.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from types import MappingProxyType
from typing import Any, cast

from rooms import commands, events, member, roles, room, talk_time
from rooms.commands import AnyCommand
from rooms.events import DomainEvent
from rooms.floor import events as floor_events
from rooms.floor import state as floor_state

_MODULES = (commands, events, floor_events, floor_state, member, room, roles, talk_time)
# Type tags: "$d" dataclass, "$e" enum, "$t" tuple, "$s" frozenset, "$m" mapping.


def _allow_list() -> dict[str, type]:
    known: dict[str, type] = {}
    for module in _MODULES:
        for name, value in vars(module).items():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if not (dataclasses.is_dataclass(value) or issubclass(value, Enum)):
                continue
            # Types travel by bare name: two with one name would decode as the wrong one.
            if name in known:
                raise RuntimeError(f"two rooms types are named {name}")
            known[name] = value
    return known


_KNOWN = _allow_list()


class CodecError(ValueError):
    """A message that does not decode to `rooms`' own types."""


def encode(value: Any) -> Any:
    # Enums first: a StrEnum member is also a str.
    if isinstance(value, Enum):
        return {"$e": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$d": type(value).__name__, "f": fields}
    if isinstance(value, tuple):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, frozenset):
        return {"$s": [encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dict | MappingProxyType):
        return {"$m": {str(k): encode(v) for k, v in value.items()}}
    raise CodecError(f"cannot send a {type(value).__name__} between processes")


def decode(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise CodecError("not an encoded value")
    if "$t" in data:
        return tuple(decode(v) for v in _list(data["$t"]))
    if "$s" in data:
        return frozenset(decode(v) for v in _list(data["$s"]))
    if "$m" in data:
        mapping = data["$m"]
        if not isinstance(mapping, dict):
            raise CodecError("a mapping must be an object")
        return {key: decode(v) for key, v in mapping.items()}
    if "$e" in data:
        enum_type = _known(data["$e"])
        if not issubclass(enum_type, Enum):
            raise CodecError(f"{data['$e']} is not an enum")
        return enum_type(data.get("v"))
    if "$d" in data:
        cls = _known(data["$d"])
        fields = data.get("f")
        if not dataclasses.is_dataclass(cls) or not isinstance(fields, dict):
            raise CodecError(f"{data['$d']} is not a dataclass")
        try:
            return cls(**{name: decode(v) for name, v in fields.items()})
        except TypeError as error:
            raise CodecError(f"{data['$d']}: {error}") from None
    raise CodecError("unknown type tag")


def _known(name: object) -> type:
    if not isinstance(name, str) or name not in _KNOWN:
        raise CodecError(f"not a rooms type: {name!r}")
    return _KNOWN[name]


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise CodecError("a sequence must be a list")
    return value


def command_to_json(command: AnyCommand) -> str:
    return json.dumps(encode(command), separators=(",", ":"), allow_nan=False)


def command_from_json(raw: str | bytes) -> AnyCommand:
    return cast(AnyCommand, decode(json.loads(raw)))


def events_to_data(domain_events: tuple[DomainEvent, ...]) -> Any:
    return encode(domain_events)


def events_from_data(data: Any) -> tuple[DomainEvent, ...]:
    decoded = decode(data)
    if not isinstance(decoded, tuple):
        raise CodecError("events must be a sequence")
    return cast(tuple[DomainEvent, ...], decoded)
