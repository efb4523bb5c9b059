"""The ``sangkien`` command."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.channels.terminal import TerminalChannel, script_lines
from bot.clock import system_clock
from bot.logs import configure as configure_logging
from bot.runtime import Services, open_database
from bot.services.access import WebAccess
from bot.services.database import Database
from bot.services.export import write_csv, write_xlsx
from bot.services.groups import GroupService
from bot.services.outbox import forget_settled
from bot.services.prompts import PackError, PromptPacks
from bot.services.rankings import WeekError
from bot.services.review import ReviewService
from bot.services.similar import SimilarService
from bot.services.units import UnitFileError, UnitService
from bot.services.voice import VoiceInbox
from bot.settings import Settings, SettingsError, load_settings
from dialogs import prompts as prompt_pack
from nlp.asr import EngineUnavailableError
from nlp.audio import AudioError
from nlp.vosk_models import ModelInstallError, install_model
from storage import initiatives, units
from storage.conversations import ConversationStore
from storage.db import create_db_engine, upgrade
from storage.models import InitiativeStatus, UnitLevel
from storage.outbox import OutboxStore

app = typer.Typer(
    help="sangkien — hộp thư sáng kiến của Công đoàn / the union's initiative chatbot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Cơ sở dữ liệu / Database.", no_args_is_help=True)
units_app = typer.Typer(help="Đơn vị công đoàn / Union units.", no_args_is_help=True)
voice_app = typer.Typer(help="Ghi âm / voice notes.", no_args_is_help=True)
officers_app = typer.Typer(help="Cán bộ công đoàn / union officers.", no_args_is_help=True)
app.add_typer(officers_app, name="officers")
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")
app.add_typer(voice_app, name="voice")
prompts_app = typer.Typer(
    help="Bộ câu hỏi ghi âm / the union's recorded questions.", no_args_is_help=True
)
voice_app.add_typer(prompts_app, name="prompts")
periods_app = typer.Typer(help="Kỳ thi đua / quota periods.", no_args_is_help=True)
app.add_typer(periods_app, name="periods")
jobs_app = typer.Typer(help="Việc định kỳ / scheduled jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
outbox_app = typer.Typer(help="Tin chờ gửi / the outbox of messages.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
web_app = typer.Typer(help="Trang web cán bộ / the officers' web pages.", no_args_is_help=True)
app.add_typer(web_app, name="web")
sessions_app = typer.Typer(help="Phiên đăng nhập / signed-in browsers.", no_args_is_help=True)
web_app.add_typer(sessions_app, name="sessions")
leaderboard_app = typer.Typer(help="Bảng xếp hạng / weekly rankings.", no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(help="Tệp cấu hình / config file (default: $SANGKIEN_CONFIG or config.toml)."),
    ] = None,
) -> None:
    try:
        settings = load_settings(config)
    except SettingsError as error:
        typer.echo(f"sangkien: {error}", err=True)
        raise typer.Exit(2) from None
    secrets = [
        value
        for channel in (settings.telegram, settings.zalo)
        for value in (channel.token, channel.webhook_secret)
        if value
    ]
    configure_logging(settings.log_level, secrets)
    ctx.obj = settings


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    try:
        db = open_database(settings)
    except SettingsError as error:
        typer.echo(f"sangkien: {error}", err=True)
        raise typer.Exit(2) from None
    except DBAPIError as error:
        typer.echo(f"sangkien: {_unreachable(settings.database_url, error)}", err=True)
        raise typer.Exit(2) from None
    try:
        yield db
    finally:
        db.dispose()


@app.command()
def chat(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Mã người dùng / user id in the terminal channel.")] = (
        "terminal"
    ),
    script: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Phát lại tệp tin nhắn / replay a file of messages, one per line.",
        ),
    ] = None,
) -> None:
    """Trò chuyện với bot trong terminal / Chat with the bot in the terminal."""
    settings = _settings(ctx)
    with _database(settings) as db:
        services = Services(settings, db)
        terminal = TerminalChannel(
            services.dispatcher, user, _write, max_voice_bytes=settings.voice.max_bytes
        )
        # One event loop for the whole chat, so the dispatcher's locks and pools live on.
        with asyncio.Runner() as runner:
            # This person's messages nobody has shown yet come first and after every line:
            # replies a crashed chat wrote but never showed, and notices other people's turns
            # wrote (an outcome, an idea an officer entered for them). Nobody else's.
            def show_waiting() -> None:
                runner.run(services.dispatcher.flush(terminal, chat_id=user))

            def send_line(line: str) -> None:
                runner.run(terminal.send_line(line))
                show_waiting()

            try:
                show_waiting()
                _converse(send_line, script)
            finally:
                services.close()


def _converse(send_line: Callable[[str], None], script: Path | None) -> None:
    """Replay `script`, or read lines from the keyboard until /quit or end of input."""
    if script is not None:
        for line in script_lines(script.read_text(encoding="utf-8").splitlines()):
            _write(f"👤 {line}\n")
            send_line(line)
        return
    _write(
        "Gõ tin nhắn rồi Enter (ví dụ: xin chào); /quit để thoát.\n"
        "Type a message and press Enter (e.g. xin chào); /quit to leave.\n"
    )
    while True:
        try:
            line = input("👤 ")
        except (EOFError, KeyboardInterrupt):
            _write("\n")
            return
        if line.strip() in {"/quit", "/exit"}:
            return
        if line.strip():
            send_line(line)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def run(ctx: typer.Context) -> None:
    """Chạy bot trên Telegram và Zalo / serve the configured messengers."""
    settings = _settings(ctx)
    channels = {"telegram": settings.telegram, "zalo": settings.zalo}
    enabled = {name: channel for name, channel in channels.items() if channel.enabled}
    if not enabled:
        typer.echo(
            "sangkien: telegram.token and zalo.token are both empty: nothing to run", err=True
        )
        raise typer.Exit(2)
    problems = [p for name, channel in enabled.items() for p in channel.problems(name)]
    if problems:
        typer.echo("sangkien: cannot start:\n  " + "\n  ".join(problems), err=True)
        raise typer.Exit(2)
    from bot.runtime import AlreadyRunningError, Bot, sole_server

    try:
        with sole_server(settings.database_url), _database(settings) as db:
            asyncio.run(Bot(settings, db).serve())
    except AlreadyRunningError as error:
        typer.echo(f"sangkien: {error}", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Nâng cấp lược đồ / apply database migrations."""
    settings = _settings(ctx)
    db = create_db_engine(settings.database_url)
    try:
        upgrade(db)
    except DBAPIError as error:
        typer.echo(f"sangkien: {_unreachable(settings.database_url, error)}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo("database is up to date")


def _unreachable(url: str, error: DBAPIError) -> str:
    """One line for a database that cannot be used: which one (password hidden), why, and
    what to check."""
    where = make_url(url).render_as_string(hide_password=True)
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return (
        f"cannot use the database {where}: {reason[:200]}. Check that the server runs and "
        "accepts connections, and database_url (config.toml or SANGKIEN_DATABASE_URL)."
    )


@db_app.command("prune")
def db_prune(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option(min=1, help="Keep this many days of update ids and sent messages.")
    ] = 7,
) -> None:
    """Dọn dữ liệu cũ / forget processed-update ids and sent or failed messages older than
    DAYS (the nightly prune job does it on its own)."""
    before = system_clock() - dt.timedelta(days=days)
    with _database(_settings(ctx)) as engine:
        with engine.begin() as connection:
            removed = ConversationStore(connection).forget_processed(before)
        messages = forget_settled(Database(engine), before)
    typer.echo(
        f"forgot {removed} processed update ids and {messages} sent messages older than {days} days"
    )


class UnitsFormat(StrEnum):
    TABLE = "table"
    TSV = "tsv"


@units_app.command("list")
def units_list(
    ctx: typer.Context,
    format: Annotated[UnitsFormat, typer.Option("--format", help="table | tsv")] = (
        UnitsFormat.TABLE
    ),
) -> None:
    """Liệt kê đơn vị / list units (tsv: code, level, name, parent_code)."""
    with _database(_settings(ctx)) as db, Session(db) as session:
        rows = units.units_in_tree_order(session=session)
    depth: dict[str, int] = {}
    for unit, parent in rows:
        if format is UnitsFormat.TSV:
            _write(f"{unit.code}\t{unit.level}\t{_tsv(unit.name)}\t{parent or ''}\n")
        else:
            depth[unit.code] = depth[parent] + 1 if parent else 0
            _write(f"{'  ' * depth[unit.code]}{unit.code:<10} {unit.name}\n")


@units_app.command("import")
def units_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX: code,name,level,…")
    ],
    period: Annotated[
        str | None, typer.Option(help="Kỳ của chỉ tiêu / the quotas' period (default: this year).")
    ] = None,
) -> None:
    """Nhập cây đơn vị / create or update units and quotas from a file (all or nothing)."""
    settings = _settings(ctx)
    period = period or str(system_clock().year)
    with _database(settings) as db:
        service = UnitService(Database(db))
        try:
            with typer.progressbar(length=1, label="units", file=sys.stderr) as bar:
                last = 0

                def progress(done: int) -> None:
                    nonlocal last
                    bar.length = max(bar.length or 1, done)
                    bar.update(done - last)
                    last = done

                report = service.import_file(
                    file, period=period, now=system_clock(), progress=progress
                )
        except UnitFileError as error:
            for row, problem in error.problems:
                typer.echo(f"{file}:{row}: {problem}" if row else f"{file}: {problem}", err=True)
            typer.echo(f"sangkien: {len(error.problems)} problem(s); nothing changed", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"units: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.quotas} quotas set for {period}"
    )


@periods_app.command("add")
def periods_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. 2026, 2026-Q4 (at most 10 characters)")],
    from_: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    to: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])],
) -> None:
    """Thêm kỳ / add or change a period that quotas belong to."""
    if len(name) > 10 or not name.strip() or to < from_:
        typer.echo("sangkien: a name of 1-10 characters, and --to on or after --from", err=True)
        raise typer.Exit(2)
    with _database(_settings(ctx)) as db:
        UnitService(Database(db)).save_period(name, from_.date(), to.date())
    typer.echo(f"period {name}: {from_:%Y-%m-%d} to {to:%Y-%m-%d}")


@periods_app.command("list")
def periods_list(ctx: typer.Context) -> None:
    """Liệt kê kỳ / every period with its dates."""
    with _database(_settings(ctx)) as db:
        for period in UnitService(Database(db)).periods():
            _write(f"{period.name}\t{period.starts_on}\t{period.ends_on}\n")


@units_app.command("show")
def units_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Mã đơn vị / unit code")],
    period: Annotated[str | None, typer.Option(help="Kỳ / period (default: today's)")] = None,
) -> None:
    """Xem một đơn vị / a unit: its parents, children, quota and counts."""
    with _database(_settings(ctx)) as db:
        shown = UnitService(Database(db)).show(code, period=period, today=system_clock().date())
    if shown is None:
        typer.echo(f"sangkien: no unit {code.upper()!r}", err=True)
        raise typer.Exit(1)
    _write(shown)


def _tsv(value: str) -> str:
    return value.replace("\t", " ").replace("\n", " ")


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Tệp kết quả / output file ('-' for stdout, CSV).")],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv | xlsx")] = (
        ExportFormat.CSV
    ),
    unit: Annotated[str | None, typer.Option(help="Only this unit and below it.")] = None,
    from_: Annotated[
        dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="Created on or after")
    ] = None,
    to: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Created on or before")
    ] = None,
    status: Annotated[
        list[InitiativeStatus] | None, typer.Option(help="Only these statuses (repeatable).")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Quota period for XLSX summaries.")] = None,
) -> None:
    """Xuất sáng kiến / export initiatives: every field, status, review history (CSV or XLSX)."""
    settings = _settings(ctx)
    if str(out) != "-":
        _check_writable(out)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    start = from_.replace(tzinfo=zone) if from_ else None
    end = to.replace(tzinfo=zone) + dt.timedelta(days=1) if to else None
    with _database(settings) as db, Session(db) as session:
        scope = None
        if unit is not None:
            found = units.get_unit(unit, session=session)
            if found is None or found.id is None:
                typer.echo(f"sangkien: no unit {unit.upper()!r}", err=True)
                raise typer.Exit(1)
            scope = (UnitLevel(found.level), found.id)
        where = initiatives.export_filter(
            unit=scope, start=start, end=end, statuses=[s.value for s in status or []]
        )
        rows = initiatives.export_rows(session=session, where=where)
        if format is ExportFormat.XLSX and str(out) == "-":
            typer.echo("sangkien: --out must be a file for xlsx", err=True)
            raise typer.Exit(2)
        try:
            if format is ExportFormat.XLSX:
                summaries = UnitService(Database(db)).summaries(period, system_clock().date())
                count = write_xlsx(out, rows, summaries)
            elif str(out) == "-":  # with the BOM too: the README promises Excel opens it
                count = write_csv(sys.stdout, rows)
            else:
                with out.open("w", encoding="utf-8", newline="") as handle:
                    count = write_csv(handle, rows)
        except OSError as error:  # no room, no permission: one line, not a traceback
            typer.echo(f"sangkien: --out {str(out)!r}: {error.strerror or error}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"exported {count} initiatives", err=True)


def _check_writable(out: Path) -> None:
    """Refuse, in one line, an output path that cannot be a new file: before any work."""
    problem = None
    if out.is_dir():
        problem = "is a folder; name a file in it"
    elif not out.parent.is_dir():
        problem = f"its folder {str(out.parent)!r} is missing"
    if problem is not None:
        typer.echo(f"sangkien: --out {str(out)!r} {problem}", err=True)
        raise typer.Exit(2)


class ChannelName(StrEnum):
    TELEGRAM = "telegram"
    ZALO = "zalo"
    TERMINAL = "terminal"


@officers_app.command("add")
def officers_add(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="Mã đơn vị / unit code, e.g. HN-DM01")],
    channel: Annotated[ChannelName, typer.Option(help="telegram | zalo | terminal")],
    user: Annotated[str, typer.Option(help="The officer's user id on that channel.")],
    name: Annotated[str, typer.Option(help="Họ tên / full name.")],
) -> None:
    """Thêm cán bộ công đoàn / make a chat account an officer of a unit."""
    settings = _settings(ctx)
    with _database(settings) as db:
        try:
            GroupService(Database(db)).add_officer(channel.value, user, name, unit)
        except LookupError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{name} is an officer of {unit.upper()} on {channel.value}")


@officers_app.command("invite")
def officers_invite(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Mã đơn vị / unit code, e.g. HN-DM01")],
    expires: Annotated[
        str | None, typer.Option(help="e.g. 7d, 48h (default: review.invite_days)")
    ] = None,
) -> None:
    """Mời cán bộ / print a one-time code (and Telegram link) making its user an officer."""
    settings = _settings(ctx)
    lifetime = _duration(expires) if expires else dt.timedelta(days=settings.review.invite_days)
    with _database(settings) as db:
        service = ReviewService(Database(db), ())
        try:
            invitation = service.invite(
                unit, expires=lifetime, bot_username=settings.telegram.username
            )
        except LookupError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"code: {invitation.code}   (in the chat: /canbo {invitation.code})")
    if invitation.link:
        typer.echo(f"link: {invitation.link}")
    typer.echo(
        f"unit: {invitation.unit_code} {invitation.unit_name}; single use, expires "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    )


# The longest an invitation may stay open: a code that works for years is a leaked code.
MAX_INVITE = dt.timedelta(days=365)


def _duration(text: str) -> dt.timedelta:
    found = re.fullmatch(r"\s*(\d{1,6})\s*([dh])\s*", text.lower())
    if not found or int(found[1]) == 0:
        typer.echo(f"sangkien: --expires {text!r}: a number of days or hours, e.g. 7d", err=True)
        raise typer.Exit(2)
    amount = int(found[1])
    lifetime = dt.timedelta(days=amount) if found[2] == "d" else dt.timedelta(hours=amount)
    if lifetime > MAX_INVITE:
        typer.echo(f"sangkien: --expires {text!r}: at most 365 days", err=True)
        raise typer.Exit(2)
    return lifetime


@officers_app.command("list")
def officers_list(ctx: typer.Context) -> None:
    """Liệt kê cán bộ / every officer: id, unit, name (no phone numbers)."""
    with _database(_settings(ctx)) as db:
        rows = ReviewService(Database(db), ()).officers()
    for row in rows:
        _write(f"{row['person_id']}\t{row['unit_code']}\t{_tsv(row['name'] or '')}\n")


@officers_app.command("remove")
def officers_remove(
    ctx: typer.Context,
    person: Annotated[int, typer.Argument(help="The officer's id (see `officers list`).")],
    unit: Annotated[str, typer.Option(help="Mã đơn vị / unit code")],
) -> None:
    """Bỏ quyền cán bộ / take an officer's rights in a unit away."""
    with _database(_settings(ctx)) as db:
        try:
            removed = ReviewService(Database(db), ()).remove_officer(person, unit)
        except LookupError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(1) from None
    if not removed:
        typer.echo(f"sangkien: {person} is not an officer of {unit.upper()}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{person} is no longer an officer of {unit.upper()}")


@sessions_app.command("list")
def sessions_list(ctx: typer.Context) -> None:
    """Phiên đang mở / signed-in browsers: id, officer, since, last seen, expires, browser."""
    with _database(_settings(ctx)) as db:
        lines = WebAccess(Database(db)).sessions()
    for line in lines:
        times = "\t".join(
            f"{moment:%Y-%m-%d %H:%M}"
            for moment in (line.created_at, line.seen_at, line.expires_at)
        )
        _write(f"{line.id}\t{line.person_id}\t{_tsv(line.name)}\t{times}\t{_tsv(line.agent)}\n")
    if not lines:
        typer.echo("no officer is signed in", err=True)


@sessions_app.command("revoke")
def sessions_revoke(
    ctx: typer.Context,
    session: Annotated[
        int | None, typer.Argument(help="The session's id (see `web sessions list`).")
    ] = None,
    person: Annotated[
        int | None, typer.Option(help="Every session of this officer (see `officers list`).")
    ] = None,
) -> None:
    """Đăng xuất một phiên / sign a browser out (or every browser of one officer)."""
    if (session is None) == (person is None):
        typer.echo("sangkien: name a session id, or --person ID", err=True)
        raise typer.Exit(2)
    with _database(_settings(ctx)) as db:
        access = WebAccess(Database(db))
        count = (
            access.revoke_person(person) if person is not None else int(access.revoke(session or 0))
        )
    if not count:
        typer.echo("sangkien: no such session", err=True)
        raise typer.Exit(1)
    typer.echo(f"signed out {count} session(s)")


class EngineChoice(StrEnum):
    AUTO = "auto"
    VIET_ASR = "viet-asr"
    VOSK = "vosk"


@voice_app.command("transcribe")
def voice_transcribe(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Tệp ghi âm / audio files.")],
    engine: Annotated[
        EngineChoice | None, typer.Option(help="auto | viet-asr | vosk (default: config)")
    ] = None,
) -> None:
    """Nghe thử ghi âm / print FILE<TAB>normalised transcript for each file."""
    settings = _settings(ctx)
    voice = settings.voice
    if engine is not None:
        voice = voice.model_copy(update={"engine": engine.value})
    inbox = VoiceInbox(voice, settings.data_dir)
    failed = 0
    try:
        for path in files:
            try:
                text = inbox.transcribe(path.read_bytes()).text
            except (AudioError, OSError) as error:
                typer.echo(f"sangkien: {path}: {error}", err=True)
                failed += 1
                continue
            _write(f"{path}\t{text}\n")
    except EngineUnavailableError as error:
        typer.echo(f"sangkien: voice.engine: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        inbox.close()
    if failed:
        raise typer.Exit(1)


@voice_app.command("install-model")
def voice_install_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. vosk-model-small-vn-0.4")],
    sha256: Annotated[str | None, typer.Option(help="Expected SHA-256 of the archive.")] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="Where to unpack (default: data_dir/models).")
    ] = None,
) -> None:
    """Cài mô hình vosk / download, verify and unpack a vosk model."""
    settings = _settings(ctx)
    target_dir = models_dir or settings.data_dir / "models"
    try:
        installed = install_model(
            name, list_url=settings.voice.model_list_url, models_dir=target_dir, sha256=sha256
        )
    except (ModelInstallError, OSError) as error:
        typer.echo(f"sangkien: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"installed {installed.path} (sha256 {installed.sha256})")
    typer.echo(f'set in config.toml: [voice] vosk_model_path = "{installed.path}"')


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    with _database(settings) as db:
        services = Services(settings, db)
        try:
            yield services
        finally:
            services.close()


def _when(text: str | None, zone: str) -> dt.datetime:
    """`--now`: an ISO date-time, in the programme's zone unless it names one."""
    if text is None:
        return system_clock()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        typer.echo(
            f"sangkien: --now: not a date and time: {text!r} (e.g. 2026-12-04T16:00)", err=True
        )
        raise typer.Exit(2) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))).astimezone(dt.UTC)


@jobs_app.command("list")
def jobs_list(ctx: typer.Context) -> None:
    """Các việc định kỳ và lần chạy tới / each job, its next run and its last."""
    settings = _settings(ctx)
    zone = ZoneInfo(settings.jobs.timezone)
    now = system_clock()
    with _services(settings) as services:
        for job in services.jobs.jobs.values():
            upcoming = job.next_run(now)
            last = services.jobs.latest(job.name)
            shown = upcoming.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") if upcoming else "-"
            done = (
                f"last {last.slot.astimezone(zone):%Y-%m-%d %H:%M} {last.status.value}"
                if last
                else "never run"
            )
            typer.echo(f"{job.name:<18} next {shown}  {done}  — {job.description}")


@jobs_app.command("run")
def jobs_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tên việc / job name (see `jobs list`).")],
    now: Annotated[
        str | None,
        typer.Option(help="Chạy như lúc này / run as at this time, e.g. 2026-12-04T16:00."),
    ] = None,
) -> None:
    """Chạy một việc ngay / run one job now, by hand (even if its slot was done)."""
    settings = _settings(ctx)
    moment = _when(now, settings.jobs.timezone)
    with _services(settings) as services:
        if name not in services.jobs.jobs:
            typer.echo(f"sangkien: no job {name!r}; see `sangkien jobs list`", err=True)
            raise typer.Exit(2)
        job = services.jobs.jobs[name]
        slot = job.latest_slot(moment) or moment
        typer.echo(f"{name}: {services.jobs.run(name, slot=slot, force=True)}")
    typer.echo("messages go out from `sangkien run` (see `sangkien outbox status`)")


@outbox_app.command("status")
def outbox_status(ctx: typer.Context) -> None:
    """Tin đã gửi, đang chờ, bị lỗi / messages sent, waiting and failed, per channel."""
    with _database(_settings(ctx)) as db, db.connect() as connection:
        outbox = OutboxStore(connection)
        tallies = outbox.tally()
        failures = outbox.failures()
    if not tallies:
        typer.echo("the outbox is empty")
    for t in sorted(tallies, key=lambda t: (t.channel, t.kind, t.status)):
        oldest = f"  oldest {t.oldest:%Y-%m-%d %H:%M}" if t.oldest and t.status == "pending" else ""
        typer.echo(f"{t.channel:<9} {t.kind:<10} {t.status:<8} {t.count:>8}{oldest}")
    for channel, chat_id, key, error in failures:
        typer.echo(f"failed: {channel} {chat_id} {key or ''}: {error or ''}"[:200])


@leaderboard_app.command("preview")
def leaderboard_preview(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Mã đơn vị của nhóm / the group's unit code.")],
    week: Annotated[
        str | None, typer.Option(help="Tuần / ISO week, e.g. 2026-W49 (default: the last).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Lưu ảnh / write the picture here.")] = None,
) -> None:
    """Xem trước bảng xếp hạng / print a group's ranking and draw its picture; sends nothing."""
    settings = _settings(ctx)
    with _services(settings) as services:
        calendar = services.rankings.calendar
        try:
            chosen = calendar.week(week) if week else calendar.last_closed(system_clock())
        except WeekError as error:
            typer.echo(f"sangkien: --week: {error}", err=True)
            raise typer.Exit(2) from None
        board = services.rankings.preview(unit, chosen)
        if board is None:
            typer.echo(f"sangkien: no unit {unit!r}; see `sangkien units list`", err=True)
            raise typer.Exit(2)
        typer.echo(board.text)
        if out is not None:
            out.write_bytes(board.picture())
            typer.echo(f"picture: {out}")


def main() -> None:
    app()


@prompts_app.command("import")
def prompts_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Thư mục hoặc tệp ZIP / folder or ZIP.")],
    unit: Annotated[str, typer.Option(help="Mã đơn vị / the unit's code.")],
    check: Annotated[
        bool, typer.Option(help="Nghe kiểm tra / transcribe each clip and compare.")
    ] = True,
) -> None:
    """Nhập bộ ghi âm / import audio files named by message (PROMPTS.PROBLEM.wav …) as the
    unit's clips; report missing, unknown, unreadable and mismatched ones."""
    settings = _settings(ctx)
    inbox = VoiceInbox(settings.voice, settings.data_dir) if check else None
    with _database(settings) as engine:
        packs = PromptPacks(
            Database(engine), settings.data_dir, threshold=settings.voice.prompt_match
        )
        try:
            hear = (lambda data: inbox.transcribe(data).text) if inbox is not None else None
            report = packs.import_pack(source, unit.upper(), hear)
        except PackError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(2) from None
        except EngineUnavailableError as error:
            typer.echo(f"sangkien: voice.engine: {error} (or --no-check)", err=True)
            raise typer.Exit(2) from None
        finally:
            if inbox is not None:
                inbox.close()
    total = len(prompt_pack.pack())
    covered = total - len(report.missing)
    _write(f"{report.unit}: {len(report.kept)} clips kept, {covered}/{total} covered\n")
    for key, heard, score in report.mismatched:
        _write(f"mismatched\t{key}\t{score:.2f}\theard: {heard}\n")
    for name in report.unknown:
        _write(f"unknown\t{name}\tnot a message name (see: sangkien voice prompts status)\n")
    for name, why in report.unreadable:
        _write(f"unreadable\t{name}\t{why}\n")
    for key in report.missing:
        _write(f"missing\t{key}\n")
    if report.unreadable:
        raise typer.Exit(1)


@prompts_app.command("export")
def prompts_export(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Mã đơn vị / the unit's code.")],
    out: Annotated[Path, typer.Option(help="Thư mục ghi ra / folder to write KEY.ogg to.")],
) -> None:
    """Xuất bộ ghi âm / copy the unit's own current clips to a folder."""
    settings = _settings(ctx)
    with _database(settings) as engine:
        packs = PromptPacks(Database(engine), settings.data_dir)
        try:
            written = packs.export_pack(unit.upper(), out)
        except PackError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(2) from None
    _write(f"{len(written)} clips written to {out}\n")


@prompts_app.command("status")
def prompts_status(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị / one unit only.")] = None,
) -> None:
    """Tình trạng bộ ghi âm / per unit: current clips of all messages, and stale ones (their
    message reworded since; not played)."""
    settings = _settings(ctx)
    with _database(settings) as engine:
        packs = PromptPacks(Database(engine), settings.data_dir)
        try:
            coverage = packs.status(unit.upper() if unit else None)
        except PackError as error:
            typer.echo(f"sangkien: {error}", err=True)
            raise typer.Exit(2) from None
    if not coverage:
        _write("no unit has recorded clips yet (sangkien voice prompts import, or /ghiam)\n")
    for unit_cov in coverage:
        _write(f"{unit_cov.code}\t{unit_cov.current}/{unit_cov.total}\t{unit_cov.name}\n")
        for key in unit_cov.stale:
            _write(f"  stale\t{key}\n")
        if unit:  # one unit: what it still lacks, by number (/ghiam N records it)
            for key in unit_cov.missing:
                _write(f"  missing\t{prompt_pack.pack()[key].number}\t{key}\n")


@app.command()
def similar(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Nội dung sáng kiến / the idea's text.")] = "",
    unit: Annotated[
        str | None, typer.Option(help="Trong tỉnh của đơn vị này / within this unit's province.")
    ] = None,
    reindex: Annotated[bool, typer.Option(help="Lập lại chỉ mục / rebuild the index.")] = False,
) -> None:
    """Sáng kiến tương tự / the closest stored ideas: score, id, unit code, title."""
    settings = _settings(ctx)
    with _database(settings) as engine:
        service = SimilarService(
            Database(engine), very=settings.similar.very, related=settings.similar.related
        )
        if reindex:
            with typer.progressbar(length=service.count(), label="reindex") as bar:
                done = service.reindex(bar.update)
            _write(f"{done} initiatives indexed\n")
            return
        if not text.strip():
            typer.echo("sangkien: give a TEXT to compare, or --reindex", err=True)
            raise typer.Exit(2)
        found = service.search(text, "", unit.upper() if unit else None)
    for match in found:
        _write(f"{match.score:.2f}\t{match.initiative_id}\t{match.unit_code}\t{match.title}\n")
