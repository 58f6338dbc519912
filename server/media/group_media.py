"""Signaling's GroupMedia port, backed by one GroupRelay per group room on this node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiortc import RTCIceServer

from rooms.errors import ErrorCode
from rooms.events import DomainEvent, MemberLeft, MemberSentBack
from rooms.gates import media_gates
from rooms.roles import Role
from rooms.room import Room, RoomKind
from server.media.relay import GroupRelay, NegotiationError, RelayClosedError
from server.media.relay.aiortc_hooks import HostCandidatePolicy
from server.media.relay.last_n import LastNConfig
from server.media.relay.member_leg import TrackMap
from signaling.events import ServerEvent
from signaling.ports import Identity, Refusal, RoomGateway

log = logging.getLogger(__name__)

SendToMember = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]
VoiceListener = Callable[[str, str, bool, float], None]
# A room id -> the relay's ICE servers as RTCIceServer keyword arguments.
RelayIce = Callable[[str], list[dict[str, Any]]]


def _sharers(room: Room) -> frozenset[str]:
    return frozenset() if room.screen_sharer is None else frozenset({room.screen_sharer})


def _video_choices(room: Room, relay: GroupRelay) -> None:
    """Whose camera last-N always keeps (the therapists) and who chose audio only."""
    admitted = [m for m in room.members if m.admitted]
    relay.set_video_priority(frozenset(m.id for m in admitted if m.role is Role.THERAPIST))
    relay.set_audio_only(frozenset(m.id for m in admitted if m.media.audio_only))


class RelayToWire:
    """One room's RelaySignals as the server events pages handle."""

    def __init__(self, room_id: str, send_to_member: SendToMember) -> None:
        self._room_id = room_id
        self._send_to_member = send_to_member

    async def send_offer(self, member_id: str, sdp: str, tracks: TrackMap) -> None:
        await self._send_to_member(
            self._room_id, member_id, ServerEvent.RELAY_OFFER, {"sdp": sdp, "tracks": tracks}
        )

    async def send_tracks(self, member_id: str, tracks: TrackMap) -> None:
        await self._send_to_member(
            self._room_id, member_id, ServerEvent.RELAY_TRACKS, {"tracks": tracks}
        )


class RelayRegistry:
    """Creates a room's relay on its first offer and closes it with the room."""

    def __init__(
        self,
        rooms: RoomGateway,
        send_to_member: SendToMember,
        *,
        on_voice: VoiceListener | None = None,
        relay_ice: RelayIce | None = None,
        host_candidates: HostCandidatePolicy | None = None,
        last_n: LastNConfig | None = None,
    ) -> None:
        self._rooms = rooms
        self._send_to_member = send_to_member
        self._on_voice = on_voice
        self._relay_ice = relay_ice
        self._host_candidates = host_candidates
        # Last-N for members whose downlink is short (docs/relay.md); None turns it off.
        self._last_n = last_n
        self._relays: dict[str, GroupRelay] = {}
        self._notices: set[asyncio.Task[None]] = set()

    def relay(self, room_id: str) -> GroupRelay | None:
        return self._relays.get(room_id)

    def relays(self) -> dict[str, GroupRelay]:
        return dict(self._relays)

    def _relay_for(self, room_id: str) -> GroupRelay:
        relay = self._relays.get(room_id)
        if relay is None:

            def voice(member_id: str, speaking: bool, at: float) -> None:
                if self._on_voice is not None:
                    self._on_voice(room_id, member_id, speaking, at)

            def video_paused(member_id: str, paused: frozenset[str]) -> None:
                payload = {"members": sorted(paused)}
                send = self._send_to_member(room_id, member_id, ServerEvent.VIDEO_PAUSED, payload)
                task = asyncio.ensure_future(send)
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)

            relay = GroupRelay(
                room_id,
                signals=RelayToWire(room_id, self._send_to_member),
                on_voice_activity=voice,
                ice_servers=self._leg_ice_servers(room_id),
                host_candidates=self._host_candidates,
                last_n=self._last_n,
                on_video_paused=video_paused,
            )
            self._relays[room_id] = relay
        return relay

    def _leg_ice_servers(self, room_id: str) -> Callable[[], list[RTCIceServer]] | None:
        """Each new leg's ICE servers (STUN, TURN with credentials minted then)."""
        relay_ice = self._relay_ice
        if relay_ice is None:
            return None
        return lambda: [RTCIceServer(**server) for server in relay_ice(room_id)]

    # --- GroupMedia port ------------------------------------------------------

    async def offer(self, identity: Identity, sdp: str) -> dict[str, Any]:
        room = await self._rooms.get(identity.room)
        if room is None or room.kind is not RoomKind.GROUP or room.is_over:
            raise Refusal(ErrorCode.ROOM_ENDED)
        member = room.member(identity.member_id)
        if member is None or not member.seated:
            raise Refusal(ErrorCode.NOT_JOINED, "Join the session first.")
        if not member.admitted:
            raise Refusal(ErrorCode.WAITING)
        relay = self._relay_for(identity.room)
        await relay.set_screen_sharers(_sharers(room))
        _video_choices(room, relay)  # an audio-only member's new leg gets no camera at all
        try:
            answer = await relay.join(identity.member_id, sdp)
        except NegotiationError as error:
            raise Refusal(
                ErrorCode.INVALID_SDP, f"The relay could not use this offer: {error}"
            ) from None
        except RelayClosedError:
            raise Refusal(ErrorCode.ROOM_ENDED) from None
        except ValueError as error:
            # aiortc raises ValueError for SDP it cannot parse or apply.
            raise Refusal(
                ErrorCode.INVALID_SDP, f"The relay could not use this offer: {error}"
            ) from None
        # The gates must be right before any of this member's packets are forwarded.
        self._apply_gates(room, relay)
        return {"sdp": answer, "tracks": relay.track_map(identity.member_id)}

    async def has_leg(self, identity: Identity) -> bool:
        relay = self._relays.get(identity.room)
        return relay is not None and identity.member_id in relay.member_ids()

    async def answer(self, identity: Identity, sdp: str) -> None:
        room = await self._rooms.get(identity.room)
        member = None if room is None else room.member(identity.member_id)
        if member is not None and member.seated and not member.admitted:
            raise Refusal(ErrorCode.WAITING)
        relay = self._relays.get(identity.room)
        if relay is None:
            raise Refusal(ErrorCode.NOT_JOINED, "Send relay.offer first.")
        try:
            await relay.accept_answer(identity.member_id, sdp)
        except (NegotiationError, ValueError) as error:
            raise Refusal(
                ErrorCode.INVALID_SDP, f"The relay could not use this answer: {error}"
            ) from None

    # --- room listener ----------------------------------------------------------

    async def on_room_events(self, room: Room, events: Sequence[DomainEvent]) -> None:
        relay = self._relays.get(room.id)
        if relay is None:
            return
        if room.is_over:
            await self._close(room.id)
            return
        for event in events:
            if isinstance(event, MemberLeft | MemberSentBack):
                await relay.leave(event.member.id)
        self._apply_gates(room, relay)
        _video_choices(room, relay)
        await relay.set_screen_sharers(_sharers(room))

    @staticmethod
    def _apply_gates(room: Room, relay: GroupRelay) -> None:
        gates = media_gates(room)
        for member_id in relay.member_ids():
            gate = gates.get(member_id)
            relay.set_audio_gate(member_id, gate is not None and gate.audio)
            relay.set_video_gate(member_id, gate is not None and gate.video)

    async def drop(self, room_id: str) -> None:
        """This process no longer runs the room (it moved to another): close its relay."""
        await self._close(room_id)

    async def _close(self, room_id: str, within_s: float = 10.0) -> None:
        relay = self._relays.pop(room_id, None)
        if relay is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(relay.close(), timeout=within_s)

    async def close(self, within_s: float = 10.0) -> None:
        """Close every relay at once, waiting at most `within_s` seconds in all (shutdown)."""
        rooms = list(self._relays)
        await asyncio.gather(*(self._close(room_id, within_s) for room_id in rooms))
        if self._host_candidates is not None and self._host_candidates.mux is not None:
            self._host_candidates.mux.close()  # the one port every leg shared
