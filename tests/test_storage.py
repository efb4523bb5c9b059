"""Storage on every backend: the unit tree, people and identities, timestamps, migrations."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from storage import initiatives, units
from storage.conversations import ConversationStore
from storage.db import MIGRATIONS, downgrade, head_revision, is_up_to_date, upgrade
from storage.demo import DEMO_UNITS, seed_demo
from storage.models import (
    Identity,
    Initiative,
    OutboxKind,
    Person,
    ProcessedUpdate,
    Quota,
    Unit,
    UnitCreate,
)
from storage.outbox import OutboxStore, Queued
from tests.fakes.base import free_port

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def test_demo_tree_is_loaded_once(db: Engine) -> None:
    with Session(db) as session:
        assert units.count_units(session=session) == len(DEMO_UNITS)
        assert seed_demo(now=NOW, session=session) is False
        quota = session.exec(select(Quota).join(Unit).where(Unit.code == "HN-DM01")).one()
        assert (quota.period, quota.target) == ("2026", 40)


def test_units_list_in_tree_order(db: Engine) -> None:
    with Session(db) as session:
        ordered = [(u.code, parent) for u, parent in units.units_in_tree_order(session=session)]
    assert ordered[0] == ("VN", None)
    position = {code: n for n, (code, _) in enumerate(ordered)}
    for code, parent in ordered:
        if parent:
            assert position[parent] < position[code]


def test_unit_levels_must_nest(db: Engine) -> None:
    with Session(db) as session:
        with pytest.raises(units.UnitTreeError, match="cannot sit under"):
            units.create_units(
                [UnitCreate(code="X1", name="CĐCS lạc chỗ", level="grassroots", parent_code="HN")],
                now=NOW,
                session=session,
            )
        with pytest.raises(units.UnitTreeError, match="does not exist"):
            units.create_units(
                [UnitCreate(code="X2", name="Quận mới", level="district", parent_code="NOPE")],
                now=NOW,
                session=session,
            )


def _identity(person_id: int) -> Identity:
    return Identity(person_id=person_id, channel="zalo", external_id="abc", created_at=NOW)


def test_a_person_can_have_several_identities(db: Engine) -> None:
    with db.begin() as connection:
        store = ConversationStore(connection)
        person_id, name = store.person_for("telegram", "42", now=NOW)
        assert name is None
        assert store.person_for("telegram", "42", now=NOW)[0] == person_id
    with Session(db) as session:
        session.add(
            Identity(person_id=person_id, channel="zalo", external_id="abc", created_at=NOW)
        )
        session.commit()
    with db.begin() as connection:
        assert ConversationStore(connection).person_for("zalo", "abc", now=NOW)[0] == person_id
    with Session(db) as session:
        session.add(
            Identity(person_id=person_id, channel="zalo", external_id="abc", created_at=NOW)
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_timestamps_come_back_utc_aware(db: Engine) -> None:
    hanoi = dt.timezone(dt.timedelta(hours=7))
    when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=hanoi)
    with Session(db) as session:
        person = Person(name="Lan", created_at=when, updated_at=when)
        session.add(person)
        session.commit()
        person_id = person.id
    with Session(db) as session:
        stored = session.get(Person, person_id)
        assert stored is not None
        assert stored.created_at == when
        assert stored.created_at.tzinfo == dt.UTC


def test_naive_timestamps_are_refused(db: Engine) -> None:
    with Session(db) as session:
        session.add(Person(name="Lan", created_at=dt.datetime(2026, 1, 1)))  # noqa: DTZ001
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_export_rows_join_unit_and_author(db: Engine) -> None:
    with db.begin() as connection:
        author_id, _ = ConversationStore(connection).person_for("test", "u", now=NOW)
        ConversationStore(connection).update_person(author_id, {"name": "Lan"})
    with Session(db) as session:
        unit = units.get_unit("hn-dm01", session=session)
        assert unit and unit.id
        for n in range(3):
            session.add(
                Initiative(
                    unit_id=unit.id,
                    author_id=author_id,
                    title=f"Ý tưởng {n}",
                    sources={"problem": "voice"},
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.commit()
        rows = list(initiatives.export_rows(session=session, batch=2))
    assert [r["title"] for r in rows] == ["Ý tưởng 0", "Ý tưởng 1", "Ý tưởng 2"]
    assert rows[0]["unit_code"] == "HN-DM01" and rows[0]["author_name"] == "Lan"
    assert rows[0]["sources"] == {"problem": "voice"}
    # Every export column, and the review steps the XLSX words for people.
    assert set(rows[0]) == {*initiatives.EXPORT_COLUMNS, "review_steps"}


def test_migrations_match_the_models(db: Engine) -> None:
    assert is_up_to_date(db)
    with db.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_head_read_from_file_names_is_alembics_one_head(db: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [head_revision()]
    assert is_up_to_date(db)
    with db.begin() as connection:  # a database one migration behind
        connection.execute(text("UPDATE alembic_version SET version_num = '0013'"))
    assert not is_up_to_date(db)


def test_migrations_go_down_and_up_again(db: Engine) -> None:
    downgrade(db, "base")
    assert set(inspect(db).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    assert set(SQLModel.metadata.tables) <= set(inspect(db).get_table_names())


def test_old_processed_update_ids_are_forgotten(db: Engine) -> None:
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with Session(db) as session:
        for key, age_days in (("old", 10), ("recent", 1)):
            session.add(
                ProcessedUpdate(
                    channel="zalo", update_key=key, created_at=now - dt.timedelta(days=age_days)
                )
            )
        session.commit()
    with db.begin() as connection:
        removed = ConversationStore(connection).forget_processed(now - dt.timedelta(days=7))
    with Session(db) as session:
        kept = [u.update_key for u in session.exec(select(ProcessedUpdate)).all()]
    assert (removed, kept) == (1, ["recent"])


def test_an_update_is_claimed_once(db: Engine) -> None:
    now = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    with db.begin() as connection:
        store = ConversationStore(connection)
        assert store.claim_update("telegram", "42", now=now)
        assert not store.claim_update("telegram", "42", now=now)  # redelivered
        assert store.claim_update("zalo", "42", now=now)  # another messenger's own numbering
    with db.begin() as connection:
        assert not ConversationStore(connection).claim_update("telegram", "42", now=now)


def test_a_new_row_says_whether_its_chat_was_still_waiting_for_one(db: Engine) -> None:
    """The turn looks for earlier rows only when its own insert says there are some."""
    now = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    leased = now + dt.timedelta(seconds=20)
    payload = {"replies": [{"text": "x"}]}
    with db.begin() as connection:
        store = OutboxStore(connection)
        first, waiting = store.add_after(
            Queued("telegram", "7", payload), now=now, lease_until=None
        )
        assert not waiting  # a new chat: nothing before it
        store.mark_sent([first], now=now)
        _, waiting = store.add_after(Queued("zalo", "7", payload), now=now, lease_until=None)
        assert not waiting  # the same chat id on another messenger is another chat
        _, waiting = store.add_after(Queued("telegram", "8", payload), now=now, lease_until=None)
        assert not waiting
        second, waiting = store.add_after(
            Queued("telegram", "7", payload), now=now, lease_until=leased
        )
        assert not waiting  # the one before it was sent
        _, waiting = store.add_after(Queued("telegram", "7", payload), now=now, lease_until=leased)
        assert waiting  # `second` is still pending
        assert [
            row.id
            for row in store.earlier_of_chat(
                "telegram", "7", second + 10, now=now, lease_until=leased
            )
        ][:1] == [second]
    with db.begin() as connection:  # committed by another transaction: seen too
        _, waiting = OutboxStore(connection).add_after(
            Queued("telegram", "7", payload), now=now, lease_until=None
        )
        assert waiting


def test_what_goes_before_a_new_reply_is_every_older_pending_row_but_one_held_or_in_doubt(
    db: Engine,
) -> None:
    now = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    leased = now + dt.timedelta(seconds=20)  # a dead process's lease, still running
    payload = {"replies": [{"text": "x"}]}
    with db.begin() as connection:
        store = OutboxStore(connection)
        reminder = store.add(
            Queued("telegram", "7", payload, kind=OutboxKind.BROADCAST), now=now, lease_until=None
        )
        store.posting(reminder)  # its sender died mid-post: in doubt
        left = store.add(Queued("telegram", "7", payload), now=now, lease_until=leased)
        # A reminder another process holds (it may be sending it now) is left to that one;
        # one nobody holds goes too.
        held = Queued("telegram", "7", payload, kind=OutboxKind.BROADCAST, dedup_key="r1")
        store.add(held, now=now, lease_until=leased)
        free = Queued("telegram", "7", payload, kind=OutboxKind.NOTICE, dedup_key="n1")
        unheld = store.add(free, now=now, lease_until=None)
        other_chat = store.add(Queued("telegram", "8", payload), now=now, lease_until=leased)
        sent = store.add(Queued("telegram", "7", payload), now=now, lease_until=leased)
        store.mark_sent([sent], now=now)
        new = store.add(Queued("telegram", "7", payload), now=now, lease_until=leased)
        earlier = store.earlier_of_chat("telegram", "7", new, now=now, lease_until=leased)
    assert [row.id for row in earlier] == [left, unheld]
    assert other_chat not in [row.id for row in earlier]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lone_write_to_a_database_that_is_down_fails_as_every_other_write_does(
    db_url: str,
) -> None:
    """A reply recorded as sent goes through `autocommit` (no transaction around it). With
    PostgreSQL restarting it must raise SQLAlchemy's OperationalError, which the deliverer
    waits out, not the driver's own error (seen in the soak: a traceback and the reply sent
    again)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from storage.db import autocommit, create_db_engine

    down = make_url(db_url).set(port=free_port())  # nobody listens there
    engine = create_db_engine(down.render_as_string(hide_password=False))
    try:
        with pytest.raises(OperationalError), autocommit(engine):
            pass
    finally:
        engine.dispose()
