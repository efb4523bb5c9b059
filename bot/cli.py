"""The ``sangkien`` command."""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from bot.app import open_database
from bot.service import ChatService
from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import TerminalChat, script_lines
from storage import repo
from storage.db import create_db_engine, upgrade

app = typer.Typer(
    help="sangkien — hộp thư sáng kiến của Công đoàn / the union's initiative chatbot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Cơ sở dữ liệu / Database.", no_args_is_help=True)
units_app = typer.Typer(help="Đơn vị công đoàn / Union units.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")


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
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = settings


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    try:
        db = open_database(settings)
    except SettingsError as error:
        typer.echo(f"sangkien: {error}", err=True)
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
        service = ChatService(db, settings.dialog.to_config())
        terminal = TerminalChat(service, user, _write)
        if script is not None:
            for line in script_lines(script.read_text(encoding="utf-8").splitlines()):
                _write(f"👤 {line}\n")
                terminal.send_line(line)
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
                terminal.send_line(line)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Nâng cấp lược đồ / apply database migrations."""
    settings = _settings(ctx)
    db = create_db_engine(settings.database_url)
    try:
        upgrade(db)
    finally:
        db.dispose()
    typer.echo("database is up to date")


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
        rows = repo.units_in_tree_order(session=session)
    depth: dict[str, int] = {}
    for unit, parent in rows:
        if format is UnitsFormat.TSV:
            _write(f"{unit.code}\t{unit.level}\t{_tsv(unit.name)}\t{parent or ''}\n")
        else:
            depth[unit.code] = depth[parent] + 1 if parent else 0
            _write(f"{'  ' * depth[unit.code]}{unit.code:<10} {unit.name}\n")


def _tsv(value: str) -> str:
    return value.replace("\t", " ").replace("\n", " ")


class ExportFormat(StrEnum):
    CSV = "csv"


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Tệp kết quả / output file ('-' for stdout).")],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv")] = ExportFormat.CSV,
) -> None:
    """Xuất sáng kiến / export all initiatives (CSV, UTF-8 for Excel)."""
    with _database(_settings(ctx)) as db, Session(db) as session:
        if str(out) == "-":
            count = _write_csv(sys.stdout, repo.export_rows(session=session))
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as handle:
                count = _write_csv(handle, repo.export_rows(session=session))
    typer.echo(f"exported {count} initiatives", err=True)


def _write_csv(handle: TextIO, rows: Iterator[dict[str, Any]]) -> int:
    writer = csv.DictWriter(handle, fieldnames=repo.EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: _csv_value(row[key]) for key in repo.EXPORT_COLUMNS})
        count += 1
    return count


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def main() -> None:
    app()
