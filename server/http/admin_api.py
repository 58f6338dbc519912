"""POST /api/rooms and /api/rooms/{id}/invites: what the CLI's `room create` and `invite` call."""

from __future__ import annotations

import hmac
import json
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms.errors import ErrorCode
from rooms.roles import Role
from rooms.room import AdmitPolicy, RoomKind, RoomPolicy
from server.auth.links import make_link
from server.auth.tokens import MAX_NAME_LENGTH, TokenIssuer, clean_display_name
from server.room_service import RoomService
from server.settings import Settings

MAX_GROUP_NAMES = 64


class CreateRoomRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["individual", "group"]
    therapist: str = Field(default="Therapist", min_length=1, max_length=MAX_NAME_LENGTH)
    participants: list[str] = Field(default_factory=list, max_length=MAX_GROUP_NAMES)
    admit: Literal["manual", "auto"] = "manual"
    ttl_minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60)
    # Individual rooms: the patient confirms location and an emergency contact at check-in.
    emergency_info: bool = False


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["therapist", "participant"]
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    ttl_minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60)
    emergency_info: bool = False


EMERGENCY_INFO_INDIVIDUAL_ONLY = "Emergency information at check-in is for individual sessions."


def json_error(status: int, code: ErrorCode, message: str | None = None) -> web.Response:
    return web.json_response(_error_body(code, message), status=status)


class AdminApi:
    def __init__(
        self, settings: Settings, service: RoomService, issuer: TokenIssuer, admin_key: str
    ) -> None:
        self._settings = settings
        self._service = service
        self._issuer = issuer
        self._admin_key = admin_key.encode()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/api/rooms", self.create_room),
            web.post("/api/rooms/{room_id}/invites", self.invite),
        ]

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            key.strip().encode(), self._admin_key
        )

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        try:
            data = await request.json()
        except web.HTTPRequestEntityTooLarge:
            # aiohttp answers in plain text; HTTP errors here are JSON (docs/protocol.md).
            raise web.HTTPRequestEntityTooLarge(
                request.client_max_size,
                text=_error_text(
                    ErrorCode.BODY_TOO_LARGE,
                    f"The body is limited to {request.client_max_size} bytes.",
                ),
                content_type="application/json",
            ) from None
        except ValueError:
            raise web.HTTPBadRequest(
                text=_error_text(ErrorCode.INVALID_JSON),
                content_type="application/json",
            ) from None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise web.HTTPBadRequest(
                text=_error_text(ErrorCode.INVALID_REQUEST, f"{where}: {first['msg']}"),
                content_type="application/json",
            ) from None

    def _base_url(self, request: web.Request) -> str:
        if self._settings.public_url:
            return self._settings.public_url
        return f"{request.scheme}://{request.host}"

    def _ttl(self, minutes: float | None) -> float:
        return minutes * 60 if minutes is not None else self._settings.link_ttl_s

    async def create_room(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return json_error(401, ErrorCode.UNAUTHORIZED)
        body: CreateRoomRequest = await self._body(request, CreateRoomRequest)
        kind = RoomKind(body.kind)
        try:
            names = [clean_display_name(n) for n in (body.therapist, *body.participants)]
        except ValueError as error:
            return json_error(400, ErrorCode.INVALID_NAME, str(error))
        participants = names[1:]
        if body.emergency_info and kind is not RoomKind.INDIVIDUAL:
            return json_error(400, ErrorCode.INVALID_REQUEST, EMERGENCY_INFO_INDIVIDUAL_ONLY)
        if kind is RoomKind.INDIVIDUAL:
            if len(participants) > 1:
                return json_error(400, ErrorCode.TOO_MANY_PARTICIPANTS)
            participants = participants or ["Patient"]
        elif len(participants) + 1 > self._settings.max_group_size:
            return json_error(
                400,
                ErrorCode.TOO_MANY_PARTICIPANTS,
                f"A group room holds at most {self._settings.max_group_size}.",
            )
        policy = RoomPolicy(
            grace_s=self._settings.grace_s,
            max_members=self._settings.max_group_size,
            admit=AdmitPolicy(body.admit),
        )
        room = await self._service.create(kind, policy)
        base, ttl = self._base_url(request), self._ttl(body.ttl_minutes)
        links = [make_link(self._issuer, base, room, Role.THERAPIST, names[0], ttl)]
        checkin = body.emergency_info
        links += [
            make_link(self._issuer, base, room, Role.PARTICIPANT, n, ttl, checkin=checkin)
            for n in participants
        ]
        return web.json_response(
            {
                "room": room.id,
                "kind": kind.value,
                "admit": body.admit,
                "emergency_info": body.emergency_info,
                "links": [link.as_json() for link in links],
            },
            status=201,
        )

    async def invite(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return json_error(401, ErrorCode.UNAUTHORIZED)
        body: InviteRequest = await self._body(request, InviteRequest)
        room = await self._service.get(request.match_info["room_id"])
        if room is None:
            return json_error(404, ErrorCode.ROOM_NOT_FOUND, "No such room.")
        if room.is_over:
            return json_error(409, ErrorCode.ROOM_ENDED, "That session has ended.")
        try:
            name = clean_display_name(body.name)
        except ValueError as error:
            return json_error(400, ErrorCode.INVALID_NAME, str(error))
        if body.emergency_info and room.kind is not RoomKind.INDIVIDUAL:
            return json_error(400, ErrorCode.INVALID_REQUEST, EMERGENCY_INFO_INDIVIDUAL_ONLY)
        link = make_link(
            self._issuer,
            self._base_url(request),
            room,
            Role(body.role),
            name,
            self._ttl(body.ttl_minutes),
            checkin=body.emergency_info and body.role == "participant",
        )
        return web.json_response({"room": room.id, **link.as_json()}, status=201)


def _error_body(code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": code.message if message is None else message}}


def _error_text(code: ErrorCode, message: str | None = None) -> str:
    return json.dumps(_error_body(code, message))
