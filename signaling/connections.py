"""Who is on which connection of this process, and which connection holds each seat."""

from __future__ import annotations

from dataclasses import dataclass

from signaling.ports import Identity
from signaling.rate_limit import TokenBucket


@dataclass
class Connection:
    sid: str
    identity: Identity
    bucket: TokenBucket
    joined: bool = False
    # Monotonic time of the last session.join; cleared once media connected.
    joined_at: float | None = None


def member_key(room_id: str, member_id: str) -> str:
    return f"{room_id}/{member_id}"


class ConnectionRegistry:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        # The connection that currently holds a member's seat.
        self._seat_holder: dict[str, str] = {}

    def add(self, connection: Connection) -> None:
        self._by_sid[connection.sid] = connection

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def remove(self, sid: str) -> Connection | None:
        connection = self._by_sid.pop(sid, None)
        if connection is not None:
            key = member_key(connection.identity.room, connection.identity.member_id)
            if self._seat_holder.get(key) == sid:
                del self._seat_holder[key]
        return connection

    def take_seat(self, connection: Connection) -> str | None:
        """Make this connection the seat holder; return the previous holder's sid."""
        key = member_key(connection.identity.room, connection.identity.member_id)
        previous = self._seat_holder.get(key)
        self._seat_holder[key] = connection.sid
        connection.joined = True
        return previous if previous != connection.sid else None

    def release_seat(self, connection: Connection) -> None:
        key = member_key(connection.identity.room, connection.identity.member_id)
        if self._seat_holder.get(key) == connection.sid:
            del self._seat_holder[key]
        connection.joined = False

    def holds_seat(self, connection: Connection) -> bool:
        key = member_key(connection.identity.room, connection.identity.member_id)
        return self._seat_holder.get(key) == connection.sid

    def seat_holder(self, room_id: str, member_id: str) -> Connection | None:
        sid = self._seat_holder.get(member_key(room_id, member_id))
        return None if sid is None else self._by_sid.get(sid)

    def joined(self) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.joined and self.holds_seat(c)]

    def sids(self) -> list[str]:
        return list(self._by_sid)

    def __len__(self) -> int:
        return len(self._by_sid)
