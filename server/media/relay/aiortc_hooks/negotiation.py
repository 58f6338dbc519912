"""Codec restriction and stable re-offers: what SDP negotiation needs of aiortc."""

from __future__ import annotations

from aiortc import (
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from server.media.relay.aiortc_hooks.bundle_numbering import BundleNumbering
from server.media.relay.aiortc_hooks.names import (
    TRANSCEIVER_CODECS,
    TRANSCEIVER_HEADER_EXTENSIONS,
)


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Keep only ``mime_type`` (and its RTX) in what a transceiver negotiated.

    Called after ``setRemoteDescription(offer)`` and before ``createAnswer``:
    the relay can only forward a codec that every subscriber also receives, so
    publishers must send VP8 and Opus even if their offer prefers another codec.
    """
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, TRANSCEIVER_CODECS)
    kept = [c for c in codecs if c.mimeType.lower() == mime_type.lower()][:1]
    if not kept:
        raise ValueError(f"the offer does not allow {mime_type}")
    kept_payload_types = {c.payloadType for c in kept}
    kept += [c for c in codecs if is_rtx(c) and c.parameters.get("apt") in kept_payload_types]
    setattr(transceiver, TRANSCEIVER_CODECS, kept)


def negotiated_header_extension_ids(pc: RTCPeerConnection) -> dict[str, int]:
    """URI -> id of every RTP header extension negotiated on ``pc`` so far."""
    ids: dict[str, int] = {}
    for transceiver in pc.getTransceivers():
        extensions: list[RTCRtpHeaderExtensionParameters] = getattr(
            transceiver, TRANSCEIVER_HEADER_EXTENSIONS
        )
        for extension in extensions:
            ids.setdefault(extension.uri, extension.id)
    return ids


async def create_stable_offer(
    pc: RTCPeerConnection, extension_ids: dict[str, int]
) -> RTCSessionDescription:
    """``pc.createOffer()`` that keeps what earlier negotiations settled.

    aiortc's ``createOffer`` re-offers every m-line with its own default payload
    types and header extension ids. For m-lines the member's browser offered
    first those differ from what the browser sends with, and a browser would
    switch to them while aiortc's running receiver still expects the old ones
    (it reads codecs only once, when it starts); under BUNDLE, extension ids
    must also agree across m-lines. So: restore the negotiated codecs of every
    m-line that has a mid, and map every extension to the id the leg already uses.
    """
    negotiated: dict[str, list[RTCRtpCodecParameters]] = {
        t.mid: list(getattr(t, TRANSCEIVER_CODECS))
        for t in pc.getTransceivers()
        if t.mid is not None and getattr(t, TRANSCEIVER_CODECS)
    }
    offer = await pc.createOffer()
    description = aiortc_sdp.SessionDescription.parse(offer.sdp)
    description.type = "offer"
    by_mid = {t.mid: t for t in pc.getTransceivers()}
    numbering = BundleNumbering(negotiated.values())
    for media in description.media:
        mid = media.rtp.muxId
        transceiver = by_mid.get(mid)
        if media.kind not in ("audio", "video"):
            continue
        codecs = negotiated[mid] if mid in negotiated else numbering.renumber(media.rtp.codecs)
        media.rtp.codecs = codecs
        media.fmt = [c.payloadType for c in codecs]
        if transceiver is not None:
            setattr(transceiver, TRANSCEIVER_CODECS, codecs)
        remapped = [
            RTCRtpHeaderExtensionParameters(id=_extension_id(extension_ids, e.uri), uri=e.uri)
            for e in media.rtp.headerExtensions
        ]
        media.rtp.headerExtensions = remapped
        if transceiver is not None:
            setattr(transceiver, TRANSCEIVER_HEADER_EXTENSIONS, remapped)
    return RTCSessionDescription(sdp=str(description), type="offer")


def _extension_id(extension_ids: dict[str, int], uri: str) -> int:
    if uri not in extension_ids:
        used = set(extension_ids.values())
        extension_ids[uri] = next(i for i in range(1, 15) if i not in used)
    return extension_ids[uri]
