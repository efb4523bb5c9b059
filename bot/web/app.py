"""The officers' web pages under ``/web``: server-rendered with Jinja2, made lively by htmx (a
pinned copy in ``static/``, no build step), on the Starlette app that serves the webhooks.

Every page but the sign-in page needs a session cookie; every POST needs the page's CSRF
token (a form field, or the ``X-CSRF-Token`` header htmx sends) and, when the browser says
where it comes from, an ``Origin`` of ``[web] public_url``. Every answer says
``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``. Links and redirects are
built from ``public_url`` only, never from the request's Host header.

What an officer may see is decided in :mod:`bot.services.portal`: an id outside the units
they serve answers 404, as an id that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import secrets
import time
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.services.access import Officer, WebAccess
from bot.services.portal import COUNT_CAP, DECISIONS, PENDING, Filters, Portal
from bot.services.reports import Reports
from bot.services.units import MAX_QUOTA, ImportReport, UnitFileError, UnitService
from dialogs import messages as msg

log = logging.getLogger(__name__)

COOKIE = "sangkien_web"
CSRF_HEADER = "X-CSRF-Token"
HERE = Path(__file__).parent
ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
MAX_UPLOAD = 20 * 1024 * 1024
_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


class _Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _money(value: int | None) -> str:
    return "" if value is None else f"{value:,} đ".replace(",", ".")


def _local(value: dt.datetime | dt.date | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(ZONE).strftime(pattern)
    return value.strftime("%d/%m/%Y")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = msg
    env.filters["money"] = _money
    env.filters["local"] = _local
    return env


@dataclass
class _ImportJob:
    """A unit file being imported in the background, for the progress bar."""

    total: int
    person_id: int
    done: int = 0
    report: ImportReport | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def finished_long_ago(self) -> bool:
        finished = self.report is not None or bool(self.problems)
        return finished and time.monotonic() - self.started > UPLOADS_KEPT.total_seconds()


class OfficerPages:
    """The pages, bound to the services and the public address."""

    def __init__(
        self,
        *,
        access: WebAccess,
        portal: Portal,
        units: UnitService,
        reports: Reports,
        public_url: str,
        uploads: Path,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.access, self.portal, self.units, self.reports = access, portal, units, reports
        self.public_url = public_url.rstrip("/")
        # Where the pages are, as the browser sees them (behind a proxy, under a path too).
        self.root = urlsplit(self.public_url).path.rstrip("/") + "/web"
        self.uploads = uploads
        self.clock = clock
        self.env = environment()
        self._imports: dict[str, _ImportJob] = {}

    # --- plumbing ----------------------------------------------------------------------

    def today(self) -> dt.date:
        return self.clock().astimezone(ZONE).date()

    def url(self, path: str, **query: Any) -> str:
        given = {k: v for k, v in query.items() if v not in (None, "", False)}
        return f"{self.public_url}{path}" + (f"?{urlencode(given)}" if given else "")

    def render(
        self, name: str, officer: Officer | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(
            officer=officer, csrf=officer.csrf if officer else "", root=self.root, **values
        )
        return HTMLResponse(html, status_code=status)

    def message(self, text: str, status: int, officer: Officer | None = None) -> HTMLResponse:
        return self.render("message.html", officer, status, text=text)

    async def officer(self, request: Request) -> Officer | None:
        token = request.cookies.get(COOKIE, "")
        return await asyncio.to_thread(self.access.officer, token) if token else None

    def _origin_ok(self, request: Request) -> bool:
        """Whether a POST may come from our own pages: refused when the browser says it
        comes from another site (Sec-Fetch-Site) or names another origin. A page sent with
        ``Referrer-Policy: no-referrer`` makes Chromium say ``Origin: null`` for its own
        forms, and a client that is no browser says nothing: the CSRF token decides then."""
        if request.headers.get("sec-fetch-site") in {"cross-site", "same-site"}:
            return False
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return True
        own = urlsplit(self.public_url)
        return origin == f"{own.scheme}://{own.netloc}"

    def page(
        self, handler: Callable[[Request, Officer], Awaitable[Response]], *, post: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in officers; a POST also needs the CSRF token and origin."""

        async def endpoint(request: Request) -> Response:
            officer = await self.officer(request)
            if officer is None:
                return self.message(msg.WEB_NOT_SIGNED_IN, 401)
            if post:
                if _too_big(request):  # refused before a byte of it is read
                    note = msg.WEB_IMPORT_TOO_BIG.format(mb=MAX_UPLOAD // 2**20)
                    return self.message(note, 413, officer)
                given = request.headers.get(CSRF_HEADER, "")
                if not given:
                    form = await request.form(max_part_size=MAX_UPLOAD)
                    given = str(form.get("csrf", ""))
                if not (
                    hmac.compare_digest(given.encode(), officer.csrf.encode())
                    and self._origin_ok(request)
                ):
                    return self.message(msg.WEB_FORBIDDEN, 403, officer)
            return await handler(request, officer)

        return endpoint

    def not_found(self, officer: Officer) -> HTMLResponse:
        return self.message(msg.WEB_NOT_FOUND, 404, officer)

    # --- signing in and out ------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        usable = await asyncio.to_thread(self.access.link_usable, token)
        if not usable:
            return self.message(msg.WEB_LOGIN_GONE, 410)
        return self.render("login.html", None, action=self.url(f"/web/login/{token}"))

    async def login(self, request: Request) -> Response:
        if not self._origin_ok(request):
            return self.message(msg.WEB_FORBIDDEN, 403)
        token = request.path_params["token"]
        agent = request.headers.get("user-agent", "")
        session = await asyncio.to_thread(self.access.sign_in, token, agent)
        if session is None:
            return self.message(msg.WEB_LOGIN_GONE, 410)
        response = RedirectResponse(self.url("/web/"), status_code=303)
        response.set_cookie(
            COOKIE,
            session,
            max_age=int(self.access.lifetime.total_seconds()),
            path=self.root,
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    async def logout(self, request: Request, officer: Officer) -> Response:
        await asyncio.to_thread(self.access.sign_out, request.cookies.get(COOKIE, ""))
        response = self.message(msg.WEB_SIGNED_OUT, 200)
        response.delete_cookie(COOKIE, path=self.root, secure=True, httponly=True)
        return response

    # --- the queue and entries ---------------------------------------------------------

    def _filters(self, officer: Officer, query: Any) -> tuple[Filters, list[str], dict[str, str]]:
        """The queue's filters from the query string, with what was wrong in it."""
        problems: list[str] = []
        given = {
            key: str(query.get(key, "")).strip()[:40]
            for key in ("unit", "level", "status", "field", "from", "to", "voice", "sort")
        }
        unit = self.portal.unit(officer, given["unit"]) if given["unit"] else None
        status = given["status"] or "pending"
        statuses: tuple[str, ...] = ()
        if status == "pending":
            statuses = PENDING
        elif status in msg.WEB_STATUS:
            statuses = (status,)
        since = until = None
        for key in ("from", "to"):
            if not given[key]:
                continue
            try:
                day = dt.date.fromisoformat(given[key])
            except ValueError:
                problems.append(msg.WEB_BAD_DATE)
                given[key] = ""
                continue
            moment = dt.datetime.combine(day, dt.time(), ZONE)
            if key == "from":
                since = moment
            else:
                until = moment + dt.timedelta(days=1)
        filters = Filters(
            unit=unit,
            statuses=statuses,
            review_level=given["level"] if given["level"] in msg.WEB_LEVELS else None,
            field=given["field"] if given["field"] in msg.WEB_FIELDS else None,
            since=since,
            until=until,
            voice=given["voice"] == "1",
            sort=given["sort"] if given["sort"] in msg.WEB_SORTS else "oldest",
        )
        given["status"] = status
        return filters, problems, given

    async def queue(
        self, request: Request, officer: Officer, notes: Sequence[str] = ()
    ) -> Response:
        query = request.query_params
        filters, problems, given = await asyncio.to_thread(self._filters, officer, query)
        if given["unit"] and filters.unit is None:  # not a unit of theirs: as if none
            return self.not_found(officer)
        try:
            number = max(1, min(int(query.get("page", "1")), 10_000))
        except ValueError:
            number = 1
        found = await asyncio.to_thread(self.portal.queue, officer, filters, number)
        pages = {
            "prev": self.url("/web/", **given, page=number - 1) if number > 1 else None,
            "next": self.url("/web/", **given, page=number + 1) if found.more else None,
        }
        return self.render(
            "queue.html",
            officer,
            found=found,
            given=given,
            problems=problems,
            notes=list(notes),
            pages=pages,
            cap=COUNT_CAP,
            levels=[lv.value for lv in self.portal.levels],
            here=self.url("/web/", **given, page=number),
        )

    async def decide(self, request: Request, officer: Officer) -> Response:
        form = await request.form()
        chosen: list[tuple[int, str]] = []
        for value in form.getlist("entry"):
            number, _, level = str(value).partition(":")
            if number.isdigit() and level:
                chosen.append((int(number), level))
        decision = str(form.get("decision", ""))
        reason = str(form.get("reason", "")).strip()[:1000] or None
        back = str(form.get("back", "")) or self.url("/web/")
        if not back.startswith(self.public_url + "/web/"):
            back = self.url("/web/")
        notes: list[str] = []
        if decision not in DECISIONS:
            notes.append(msg.WEB_FORBIDDEN)
        elif not chosen:
            notes.append(msg.WEB_NONE_CHOSEN)
        elif decision != "valid" and not reason:
            notes.append(msg.WEB_REASON_NEEDED)
        else:
            outcomes = await asyncio.to_thread(
                self.portal.decide, officer, chosen[:200], decision, reason
            )
            done = [o.initiative_id for o in outcomes if o.result.value == "done"]
            taken = [o.initiative_id for o in outcomes if o.result.value == "taken"]
            refused = [o.initiative_id for o in outcomes if o.result.value == "forbidden"]
            if done:
                notes.append(msg.WEB_DECIDED.format(count=len(done)))
            if taken:
                notes.append(msg.WEB_TAKEN.format(ids=", ".join(map(str, taken))))
            if refused:
                notes.append(msg.WEB_NOT_YOURS.format(ids=", ".join(map(str, refused))))
        if form.get("from_entry"):
            entry_id = int(chosen[0][0]) if chosen else 0
            return await self._entry(officer, entry_id, notes)
        target = urlsplit(back)
        request.scope["query_string"] = target.query.encode()
        return await self.queue(Request(request.scope), officer, notes)

    async def entry(self, request: Request, officer: Officer) -> Response:
        return await self._entry(officer, request.path_params["id"], [])

    async def _entry(self, officer: Officer, entry_id: int, notes: list[str]) -> Response:
        view = await asyncio.to_thread(self.portal.entry, officer, entry_id)
        if view is None:
            return self.not_found(officer)
        return self.render("entry.html", officer, view=view, notes=notes)

    async def recording(self, request: Request, officer: Officer) -> Response:
        path = await asyncio.to_thread(
            self.portal.recording, officer, request.path_params["id"], request.path_params["note"]
        )
        if path is None or not path.is_file():
            return self.not_found(officer)
        return FileResponse(path, media_type=_audio_type(path))

    # --- rankings ----------------------------------------------------------------------

    async def rankings(self, request: Request, officer: Officer) -> Response:
        code = request.query_params.get("unit", "")[:40]
        week = request.query_params.get("week", "")[:10]
        sort = request.query_params.get("sort", "rank")
        view = await asyncio.to_thread(self.reports.ranking, officer, code, week, sort)
        if view is None:
            return self.not_found(officer)
        return self.render("rankings.html", officer, view=view, sort=sort)

    async def ranking_picture(self, request: Request, officer: Officer) -> Response:
        code = request.query_params.get("unit", "")[:40]
        week = request.query_params.get("week", "")[:10]
        png = await asyncio.to_thread(self.reports.picture, officer, code, week)
        if png is None:
            return self.not_found(officer)
        return Response(png, media_type="image/png")

    # --- units and quotas --------------------------------------------------------------

    async def units_page(self, request: Request, officer: Officer) -> Response:
        period = request.query_params.get("period", "")[:10]
        view = await asyncio.to_thread(self.reports.units, officer, period, self.today())
        return self.render("units.html", officer, view=view)

    async def quota(self, request: Request, officer: Officer) -> Response:
        form = await request.form()
        code, period = str(form.get("code", ""))[:40], str(form.get("period", ""))[:10]
        raw = str(form.get("quota", "")).strip().replace(".", "").replace(",", "")
        if raw and not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_QUOTA):
            return self.render(
                "quota.html", officer, 422, code=code, period=period, quota=raw,
                note=msg.WEB_QUOTA_BAD,
            )  # fmt: skip
        target = int(raw) if raw else None
        done = await asyncio.to_thread(self.portal.set_quota, officer, code, period, target)
        if not done:
            return self.not_found(officer)
        return self.render(
            "quota.html", officer, code=code, period=period, quota=target,
            note=msg.WEB_QUOTA_SAVED,
        )  # fmt: skip

    async def import_units(self, request: Request, officer: Officer) -> Response:
        """Step one: keep the file and show what it would change (or every bad row)."""
        async with request.form(max_part_size=MAX_UPLOAD) as form:  # closes the spooled file
            upload = form.get("file")
            period = str(form.get("period", ""))[:10]
            if not isinstance(upload, UploadFile) or not upload.filename:
                problems = [(0, msg.WEB_IMPORT_NO_FILE)]
                return self.render("import.html", officer, 422, problems=problems)
            data = await upload.read(MAX_UPLOAD + 1)
            filename = upload.filename
        if len(data) > MAX_UPLOAD:
            note = msg.WEB_IMPORT_TOO_BIG.format(mb=MAX_UPLOAD // 2**20)
            return self.render("import.html", officer, 422, problems=[(0, note)])
        suffix = Path(filename).suffix.lower()[:5] or ".csv"
        name = f"{officer.person_id}-{secrets.token_hex(16)}{suffix}"
        self.uploads.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_forget_old_uploads, self.uploads)
        path = self.uploads / name
        await asyncio.to_thread(path.write_bytes, data)
        preview = await asyncio.to_thread(self.portal.preview_import, officer, path, period)
        if preview.problems:
            path.unlink(missing_ok=True)
            return self.render("import.html", officer, 422, problems=preview.problems)
        if not (preview.created or preview.renamed or preview.moved or preview.quotas):
            path.unlink(missing_ok=True)  # nothing to import: nothing kept
        return self.render(
            "import.html", officer, preview=preview, upload=name, period=period, problems=[]
        )

    async def apply_import(self, request: Request, officer: Officer) -> Response:
        """Step two: import the previewed file in the background; the page polls progress."""
        form = await request.form()
        name, period = str(form.get("upload", "")), str(form.get("period", ""))[:10]
        path = self.uploads / Path(name).name
        if not name.startswith(f"{officer.person_id}-") or not path.is_file():
            return self.render("import.html", officer, 410, problems=[(0, msg.WEB_IMPORT_GONE)])
        # Checked again: the tree may have changed since the preview.
        preview = await asyncio.to_thread(self.portal.preview_import, officer, path, period)
        if preview.problems:
            path.unlink(missing_ok=True)
            return self.render("import.html", officer, 422, problems=preview.problems)
        job_id = secrets.token_hex(8)
        total = len(preview.created) + len(preview.renamed) + len(preview.moved)
        for old in [key for key, job in self._imports.items() if job.finished_long_ago()]:
            del self._imports[old]
        job = _ImportJob(total=max(total, 1), person_id=officer.person_id)
        self._imports[job_id] = job

        def run() -> None:
            try:
                job.report = self.units.import_file(
                    path,
                    period=period or str(self.today().year),
                    now=self.clock(),
                    progress=lambda done: setattr(job, "done", min(done, job.total)),
                )
            except UnitFileError as error:
                job.problems = error.problems
            except Exception as error:  # one line for the officer; the traceback in the log
                log.exception("unit import failed")
                job.problems = [(0, type(error).__name__)]
            finally:
                path.unlink(missing_ok=True)

        asyncio.get_running_loop().run_in_executor(None, run)
        return self.render("progress.html", officer, job=job, job_id=job_id)

    async def import_progress(self, request: Request, officer: Officer) -> Response:
        job = self._imports.get(request.path_params["job"])
        if job is None or job.person_id != officer.person_id:
            return self.not_found(officer)
        return self.render("progress.html", officer, job=job, job_id=request.path_params["job"])

    # --- exports -----------------------------------------------------------------------

    async def export_page(self, request: Request, officer: Officer) -> Response:
        return self.render("export.html", officer, today=self.today())

    async def download(self, request: Request, officer: Officer) -> Response:
        query = request.query_params
        kind = query.get("format", "csv")
        code = query.get("unit", "")[:40]
        try:
            start = dt.date.fromisoformat(query["from"]) if query.get("from") else None
            end = dt.date.fromisoformat(query["to"]) if query.get("to") else None
        except ValueError:
            return self.message(msg.WEB_BAD_DATE, 422, officer)
        status = query.get("status", "")
        statuses = (status,) if status in msg.WEB_STATUS else ()
        stamp = self.today().strftime("%Y%m%d")
        kind = "xlsx" if kind == "xlsx" else "csv"
        path = await asyncio.to_thread(
            self.reports.export,
            officer,
            kind,
            code,
            start,
            end,
            statuses,
            self.today(),
            self.uploads,
        )
        if path is None:
            return self.not_found(officer)
        media = {
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "csv": "text/csv; charset=utf-8",
        }[kind]
        return FileResponse(
            path,
            media_type=media,
            filename=f"sang-kien-{stamp}.{kind}",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )

    # --- officers, invitations, scheduled work -----------------------------------------

    async def officers(
        self, request: Request, officer: Officer, notes: Sequence[str] = ()
    ) -> Response:
        rows = await asyncio.to_thread(self.portal.officers, officer)
        return self.render("officers.html", officer, rows=rows, notes=list(notes))

    async def invite(self, request: Request, officer: Officer) -> Response:
        form = await request.form()
        code = str(form.get("unit", ""))[:40]
        days = str(form.get("days", "7")).strip()
        if not (days.isascii() and days.isdigit() and 1 <= int(days) <= 90):
            return await self.officers(request, officer, [msg.WEB_INVITE_BAD_DAYS])
        made = await asyncio.to_thread(
            self.portal.invite, officer, code, dt.timedelta(days=int(days))
        )
        if made is None:
            return self.not_found(officer)
        notes = [
            msg.WEB_INVITE_MADE.format(
                unit=made.unit_name, code=made.code, expires=_local(made.expires_at)
            )
        ]
        return await self.officers(request, officer, notes)

    async def remove(self, request: Request, officer: Officer) -> Response:
        form = await request.form()
        person, code = str(form.get("person", "")), str(form.get("unit", ""))[:40]
        if not person.isdigit():
            return self.not_found(officer)
        removed = await asyncio.to_thread(self.portal.remove_officer, officer, int(person), code)
        if not removed:
            return self.not_found(officer)
        name = str(form.get("name", ""))[:100]
        note = msg.WEB_OFFICER_REMOVED.format(name=name, unit=code.upper())
        return await self.officers(request, officer, [note])

    async def jobs(self, request: Request, officer: Officer) -> Response:
        view = await asyncio.to_thread(self.reports.jobs, officer)
        return self.render("jobs.html", officer, view=view)

    def routes(self) -> list[BaseRoute]:
        page = self.page
        inner = [
            Route("/", page(self.queue)),
            Route("/login/{token}", self.login_page, methods=["GET"]),
            Route("/login/{token}", self.login, methods=["POST"]),
            Route("/logout", page(self.logout, post=True), methods=["POST"]),
            Route("/decide", page(self.decide, post=True), methods=["POST"]),
            Route("/entry/{id:int}", page(self.entry)),
            Route("/entry/{id:int}/audio/{note:int}", page(self.recording)),
            Route("/rankings", page(self.rankings)),
            Route("/rankings/picture", page(self.ranking_picture)),
            Route("/units", page(self.units_page)),
            Route("/units/quota", page(self.quota, post=True), methods=["POST"]),
            Route("/units/import", page(self.import_units, post=True), methods=["POST"]),
            Route("/units/import/apply", page(self.apply_import, post=True), methods=["POST"]),
            Route("/units/import/{job}", page(self.import_progress)),
            Route("/export", page(self.export_page)),
            Route("/export/download", page(self.download)),
            Route("/officers", page(self.officers)),
            Route("/officers/invite", page(self.invite, post=True), methods=["POST"]),
            Route("/officers/remove", page(self.remove, post=True), methods=["POST"]),
            Route("/jobs", page(self.jobs)),
            Mount("/static", StaticFiles(directory=HERE / "static")),
        ]
        return [Mount("/web", routes=inner, middleware=[Middleware(_Headers)])]


_AUDIO = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


def _audio_type(path: Path) -> str:
    return _AUDIO.get(path.suffix.lower(), "application/octet-stream")


UPLOADS_KEPT = dt.timedelta(hours=1)


def _too_big(request: Request) -> bool:
    """A body larger than any page sends (a unit file of MAX_UPLOAD and its form), or one
    whose size is not said (chunked): never read, never spooled to disk."""
    length = request.headers.get("content-length")
    if length is None:
        return request.headers.get("transfer-encoding", "").lower() == "chunked"
    return not length.isdigit() or int(length) > MAX_UPLOAD + 2**20


def _forget_old_uploads(folder: Path) -> None:
    """Files previewed and never imported (or exports never fetched) go after an hour."""
    cut = time.time() - UPLOADS_KEPT.total_seconds()
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cut:
                path.unlink()


def uploads_folder(data_dir: Path) -> Path:
    return data_dir / "uploads"
