"""The programs' HTTP API: the admin side (admin key) and the personal-link side (the link's
secret in a POST body, never in a URL). Routes mirror `telehealth program ...`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from rooms.errors import ErrorCode
from rooms.programs.calendar import (
    format_week,
    parse_week,
    program_occurrences,
    week_bounds,
    week_of,
)
from rooms.programs.errors import ProgramError
from rooms.programs.program import Person, PersonRole, Program
from rooms.programs.schedule import SessionKind, Weekday, parse_start
from rooms.programs.week import summarize_week
from server.auth.tokens import TokenIssuer, clean_display_name
from server.http.admin_api import AdminApi, json_error
from server.http.pages import SECURITY_HEADERS, STATIC_DIR
from server.programs import requests as req
from server.programs.export import to_csv, week_rows
from server.programs.service import ADMIN, NotFound, ProgramService
from server.programs.store import TooManyPrograms
from server.programs.views import entry_view, program_counts, session_view, week_view
from server.room_service import RoomService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def program_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def refusals(handler: Handler) -> Handler:
    """Domain refusals become clear JSON errors, the same shape as the rest of /api/."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ProgramError as error:
            return program_error(400, error.code.value, error.message)
        except NotFound as error:
            return program_error(404, ErrorCode.NOT_FOUND.value, str(error))
        except TooManyPrograms as error:
            return program_error(409, "too_many", str(error))
        except ValueError as error:  # a display name that clean_display_name refuses
            return program_error(400, ErrorCode.INVALID_NAME.value, str(error))

    return guarded


class ProgramApi(AdminApi):
    """Borrows the admin API's discipline: the key check, bounded bodies, JSON errors."""

    def __init__(
        self, service: ProgramService, rooms: RoomService, issuer: TokenIssuer, admin_key: str
    ) -> None:
        super().__init__(service.settings, rooms, issuer, admin_key)
        self._programs = service

    def routes(self) -> list[web.AbstractRouteDef]:
        admin = [
            ("/api/programs", self.create),
            ("/api/programs/list", self.list_programs),
            ("/api/programs/purge", self.purge),
            ("/api/programs/{program}", self.show),
            ("/api/programs/{program}/members", self.add_member),
            ("/api/programs/{program}/therapists", self.add_therapist),
            ("/api/programs/{program}/people/{person}/remove", self.remove),
            ("/api/programs/{program}/people/{person}/link", self.new_link),
            ("/api/programs/{program}/schedule", self.schedule),
            ("/api/programs/{program}/today", self.today),
            ("/api/programs/{program}/attendance", self.attendance),
        ]
        personal = [
            ("/api/personal/entry", self.personal_entry),
            ("/api/personal/today", self.personal_today),
            ("/api/personal/week", self.personal_week),
            ("/api/personal/join", self.personal_join),
        ]
        routes: list[web.AbstractRouteDef] = [
            web.post(path, refusals(self._admin_only(h))) for path, h in admin
        ]
        routes += [web.post(path, refusals(h)) for path, h in personal]
        routes += [
            web.get("/program", _page("program.html")),
            web.get("/today", _page("today.html")),
        ]
        if self._settings.test_hooks:
            routes.append(web.post("/api/test/program-clock", self._admin_only(self.set_clock)))
        return routes

    def _admin_only(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                return json_error(401, ErrorCode.UNAUTHORIZED)
            return await handler(request)

        return checked

    async def _program(self, request: web.Request) -> Program:
        return await self._programs.get(request.match_info["program"][:64])

    # --- admin ---------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        body: req.CreateProgram = await self._body(request, req.CreateProgram)
        program = Program(
            id="pending",
            timezone=body.timezone,
            title=body.title,
            weekly_target_minutes=round(body.weekly_target_hours * 60),
            max_billable_group=body.max_billable_group,
            open_before_minutes=body.open_before_minutes,
            close_after_minutes=body.close_after_minutes,
        )
        program = await self._programs.create(program, ADMIN)
        return web.json_response({"program": program_counts(program)}, status=201)

    async def list_programs(self, request: web.Request) -> web.Response:
        await self._body(request, req.Strict)
        store = self._programs.store
        programs = [p for i in await store.program_ids() if (p := await store.program(i))]
        return web.json_response({"programs": [program_counts(p) for p in programs]})

    async def show(self, request: web.Request) -> web.Response:
        return web.json_response({"program": program_counts(await self._program(request))})

    async def add_member(self, request: web.Request) -> web.Response:
        return await self._add(request, PersonRole.MEMBER)

    async def add_therapist(self, request: web.Request) -> web.Response:
        return await self._add(request, PersonRole.THERAPIST)

    async def _add(self, request: web.Request, role: PersonRole) -> web.Response:
        body: req.AddPerson = await self._body(request, req.AddPerson)
        name = clean_display_name(body.name)
        enrolled = await self._programs.enroll(
            request.match_info["program"][:64], role, name, self._base_url(request)
        )
        person = enrolled.person
        return web.json_response(
            {"id": person.id, "role": person.role.value, "name": person.name, "url": enrolled.url},
            status=201,
        )

    async def remove(self, request: web.Request) -> web.Response:
        await self._body(request, req.Strict)
        program = await self._program(request)
        await self._programs.remove(program.id, request.match_info["person"][:64])
        return web.json_response({"removed": request.match_info["person"][:64]})

    async def new_link(self, request: web.Request) -> web.Response:
        await self._body(request, req.Strict)
        program = await self._program(request)
        enrolled = await self._programs.replace_link(
            program.id, request.match_info["person"][:64], self._base_url(request)
        )
        return web.json_response({"id": enrolled.person.id, "url": enrolled.url}, status=201)

    async def schedule(self, request: web.Request) -> web.Response:
        body: req.Schedule = await self._body(request, req.Schedule)
        program = await self._program(request)
        slots = await self._programs.schedule(
            program.id,
            SessionKind(body.kind),
            [Weekday.parse(d) for d in body.days],
            parse_start(body.start),
            body.minutes,
            body.member,
        )
        program = await self._program(request)
        return web.json_response(
            {"added": [s.id for s in slots], "program": program_counts(program)}, status=201
        )

    async def today(self, request: web.Request) -> web.Response:
        """Counts only: who holds the admin key need not see who attends."""
        await self._body(request, req.Strict)
        program = await self._program(request)
        now = self._programs.clock.now()
        sessions = [
            session_view(program, o, await self._programs.rooms.live(program, o), now, names=False)
            for o in await self._programs.todays(program)
        ]
        return web.json_response({"program": program.id, "sessions": sessions})

    async def attendance(self, request: web.Request) -> web.Response:
        body: req.Attendance = await self._body(request, req.Attendance)
        program = await self._program(request)
        week, rows, summary = await self._week(program, body.week, reader=ADMIN, scope="export")
        if body.format == "csv":
            return web.json_response({"week": week, "csv": to_csv(rows)})
        return web.json_response({"program": program.id, **summary, "rows": rows})

    async def _week(
        self, program: Program, week_text: str | None, *, reader: str, scope: str
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        now = self._programs.clock.now()
        year, number = parse_week(week_text) if week_text else week_of(program.zone, now)
        week = format_week(year, number)
        since, until = week_bounds(program.zone, year, number)
        occurrences = program_occurrences(program, since, until)
        records = await self._programs.read_attendance(
            program, since, until, reader=reader, scope=scope
        )
        rows = week_rows(program, week, occurrences, records, now.timestamp())
        summary = week_view(program, week, summarize_week(program, occurrences, records, now))
        return week, rows, summary

    async def purge(self, request: web.Request) -> web.Response:
        body: req.Purge = await self._body(request, req.Purge)
        purged = await self._programs.purge(body.program, ADMIN)
        return web.json_response(
            {
                "programs": purged.programs,
                "occurrences": purged.occurrences,
                "retention_days": self._settings.program_retention_days,
            }
        )

    async def set_clock(self, request: web.Request) -> web.Response:
        body: req.SetClock = await self._body(request, req.SetClock)
        self._programs.clock.set_now(body.now)
        return web.json_response({"now": datetime.fromtimestamp(body.now, UTC).isoformat()})

    # --- personal links ------------------------------------------------------------

    async def personal_entry(self, request: web.Request) -> web.Response:
        body: req.PersonalKey = await self._body(request, req.PersonalKey)
        entry = await self._programs.enter(body.key, self._base_url(request))
        if entry.person.role is PersonRole.THERAPIST:
            return web.json_response({"state": "therapist", "url": "/today"})
        return web.json_response(
            entry_view(entry.program, entry.current, entry.next, entry.join_url)
        )

    async def personal_today(self, request: web.Request) -> web.Response:
        program, person = await self._therapist(request)
        now = self._programs.clock.now()
        sessions = [
            session_view(program, o, await self._programs.rooms.live(program, o), now, names=True)
            for o in await self._programs.todays(program)
        ]
        return web.json_response(
            {
                "program": program.title,
                "therapist": person.name,
                "date": f"{now.astimezone(program.zone):%A %d %B %Y}",
                "sessions": sessions,
            }
        )

    async def personal_week(self, request: web.Request) -> web.Response:
        program, person = await self._therapist(request)
        _, _, summary = await self._week(program, None, reader=person.id, scope="today_page")
        return web.json_response(summary)

    async def personal_join(self, request: web.Request) -> web.Response:
        body: req.PersonalJoin = await self._body(request, req.PersonalJoin)
        url = await self._programs.therapist_join_url(
            body.key, body.occurrence, self._base_url(request)
        )
        return web.json_response({"url": url})

    async def _therapist(self, request: web.Request) -> tuple[Program, Person]:
        body: req.PersonalKey = await self._body(request, req.PersonalKey)
        program, person = await self._programs.holder(body.key)
        if person.role is not PersonRole.THERAPIST:
            raise NotFound("This page is for the program's therapists.")
        return program, person


def _page(name: str) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / name, headers=SECURITY_HEADERS)

    return page
