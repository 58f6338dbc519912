"""Quality changes as the server events pages handle: QualityService's signals, on the wire."""

from __future__ import annotations

from server.ops.quality import Quality
from server.ops.quality_service import GapKey
from signaling.events import ServerEvent
from signaling.fanout import Fanout


def gaps_view(gaps: set[GapKey]) -> list[dict[str, str]]:
    """`media.gaps` payload: who is not receiving whose audio or video."""
    return [
        {"member": member, "from": source, "kind": kind} for member, source, kind in sorted(gaps)
    ]


class QualityToWire:
    """`quality.update` to the member and its therapists; `media.gaps` to the therapists."""

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout

    async def quality_changed(self, room_id: str, member_id: str, level: Quality) -> None:
        payload = {"id": member_id, "level": level.value}
        await self._fanout.send_to_member(room_id, member_id, ServerEvent.QUALITY_UPDATE, payload)
        await self._fanout.send_to_moderators(room_id, ServerEvent.QUALITY_UPDATE, payload)

    async def media_gaps_changed(self, room_id: str, gaps: set[GapKey]) -> None:
        await self._fanout.send_to_moderators(
            room_id, ServerEvent.MEDIA_GAPS, {"gaps": gaps_view(gaps)}
        )
