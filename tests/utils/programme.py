"""A programme in motion for ranking and reminder tests: the demo tree with entries submitted
on chosen days, officers with chats, and groups registered for rankings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from bot.runtime import Services
from bot.settings import Settings
from storage import units as tree
from storage.groups import GroupStore
from storage.models import (
    Conversation,
    Identity,
    Initiative,
    OutboxMessage,
    OutboxStatus,
    Person,
)
from storage.outbox import OutboxStore
from tests.utils.chat import FakeClock

VN = dt.timezone(dt.timedelta(hours=7))


def friday(day: int, month: int = 11) -> dt.datetime:
    """A Friday of 2026 at 16:00 Vietnamese time (a week's cut-off), as UTC."""
    return dt.datetime(2026, month, day, 16, tzinfo=VN).astimezone(dt.UTC)


def services_for(db: Engine, clock: FakeClock, data_dir: Path, **settings: object) -> Services:
    chosen = Settings(database_url=str(db.url), data_dir=data_dir, **settings)  # type: ignore[arg-type]
    return Services(chosen, db, clock=clock)


def unit_id(db: Engine, code: str) -> int:
    with db.connect() as connection:
        return tree.unit_rows(connection)[code].id


def person(db: Engine, name: str, *, at: dt.datetime, phone: str | None = None) -> int:
    values = {"name": name, "phone": phone, "created_at": at, "updated_at": at}
    with db.begin() as connection:
        row = connection.execute(insert(Person.__table__).values(values))  # type: ignore[attr-defined]
        return int(row.inserted_primary_key[0])  # type: ignore[index]


def entries(
    db: Engine,
    code: str,
    count: int,
    *,
    at: dt.datetime,
    status: str = "valid",
    author: int | None = None,
    title: str = "Cải tiến",
) -> None:
    """`count` initiatives of the grassroots union `code`, submitted (or, drafts, last
    touched) at `at`, with its district and province."""
    author = author or person(db, "Tác giả", at=at)
    unit = unit_id(db, code)
    submitted = None if status == "draft" else at
    rows: list[dict[str, object]] = [
        {
            "unit_id": unit,
            "author_id": author,
            "status": status,
            "sources": {},
            "title": title,
            "created_at": at,
            "updated_at": at,
            "submitted_at": submitted,
        }
        for _ in range(count)
    ]
    with db.begin() as connection:
        connection.execute(insert(Initiative.__table__), rows)  # type: ignore[attr-defined]
        tree.refresh_ancestors(connection, [unit])  # its district and province, as submitted


def chat_of(db: Engine, person_id: int, channel: str, chat_id: str, *, at: dt.datetime) -> None:
    """Give a person a private chat with the bot on `channel`."""
    with db.begin() as connection:
        connection.execute(
            insert(Identity.__table__).values(  # type: ignore[attr-defined]
                person_id=person_id, channel=channel, external_id=chat_id, created_at=at
            )
        )
        connection.execute(
            insert(Conversation.__table__).values(  # type: ignore[attr-defined]
                channel=channel,
                chat_id=chat_id,
                person_id=person_id,
                step="menu",
                state={},
                last_activity=at,
            )
        )


def group(db: Engine, channel: str, chat_id: str, code: str, *, at: dt.datetime) -> None:
    registrar, unit = person(db, "Cán bộ", at=at), unit_id(db, code)
    with db.begin() as connection:
        GroupStore(connection).bind(channel, chat_id, unit, registrar, now=at)


def outbox_rows(db: Engine) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def delivered(db: Engine, *, at: dt.datetime) -> None:
    """Every pending row recorded as sent, as the flush records what reached its chats."""
    pending = [row.id for row in outbox_rows(db) if row.status == OutboxStatus.PENDING.value]
    with db.begin() as connection:
        OutboxStore(connection).mark_sent([row_id for row_id in pending if row_id], now=at)
