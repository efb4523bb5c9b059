"""Start-up shared by every command: open the database, upgrade it, seed the demo tree."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import Session

from bot.settings import Settings, SettingsError
from storage.db import create_db_engine, is_up_to_date, upgrade
from storage.demo import seed_demo

log = logging.getLogger(__name__)


def demo_database(url: str) -> Engine:
    """An engine on `url` with the schema current and the demo tree: tests and benchmarks."""
    return open_database(Settings(database_url=url, auto_upgrade=True, seed_demo=True))


def open_database(settings: Settings) -> Engine:
    """An engine on the configured database, with the schema current and demo data if asked."""
    db = create_db_engine(settings.database_url)
    if settings.auto_upgrade:
        upgrade(db)
    elif not is_up_to_date(db):
        raise SettingsError(
            "auto_upgrade: the database schema is not current; run `sangkien db upgrade`"
        )
    if settings.seed_demo:
        with Session(db) as session:
            if seed_demo(session=session):
                log.info("loaded the demo unit tree")
            session.commit()
    return db
