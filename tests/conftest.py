"""Fixtures: every storage-backed test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``SANGKIEN_TEST_POSTGRES_URL`` or, failing that, a private cluster this
session starts. Without either the PostgreSQL cases skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.runtime import demo_database
from bot.services.conversation import ConversationService
from bot.services.database import Database
from bot.services.dispatch import Dispatcher
from bot.services.voice import VoiceInbox
from bot.settings import VoiceSettings
from storage.db import create_db_engine
from tests.utils.chat import FakeClock, FakeUser, dispatcher_for
from tests.utils.postgres import URL_VARIABLE, find_bin_dir, running_cluster

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a host other than loopback fails the test loudly."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not (host.startswith("127.") or host in {"::1", "localhost"}):
                raise AssertionError(f"test tried to reach {host}: only 127.0.0.1 is allowed")
        return real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def postgres_programs() -> Path:
    """Where PostgreSQL's server programs are, for a test that runs its own cluster (to stop
    and start it); without them the test is skipped, or fails in CI (.ci/run installs them)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL server programs (initdb, pg_ctl) are not installed"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return bin_dir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL server."""
    with ExitStack() as stack:
        url = os.environ.get(URL_VARIABLE)
        try:
            if not url:
                url = stack.enter_context(running_cluster())
            probe = sa.create_engine(url)
            with probe.connect():
                pass
            probe.dispose()
        except (OSError, subprocess.CalledProcessError, sa.exc.OperationalError) as error:
            reason = f"PostgreSQL is not available: {error}"
            if IN_CI:
                pytest.fail(reason)
            pytest.skip(reason)
        yield url


def _admin(url: str, statement: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def _prepare(url: str) -> None:
    demo_database(url).dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """Name of a database with the schema and demo tree, cloned for each test."""
    name = f"sangkien_template_{uuid.uuid4().hex[:8]}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    _prepare(make_url(postgres_server).set(database=name).render_as_string(hide_password=False))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the schema and the demo unit tree, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "sangkien.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: str = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    name = f"test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(db: Engine, clock: FakeClock) -> ConversationService:
    return ConversationService(Database(db), clock=clock)


@pytest.fixture
def dispatcher(db: Engine, tmp_path: Path) -> Iterator[Dispatcher]:
    """The messengers' async core over a fresh database, with real voice recognition."""
    voice = VoiceInbox(VoiceSettings(), tmp_path)
    dispatcher = dispatcher_for(db, voice)
    yield dispatcher
    dispatcher.close()
    voice.close()


@pytest.fixture
def worker(service: ConversationService) -> FakeUser:
    """A new worker who has not written to the bot yet."""
    return FakeUser(service, "worker-1")


@pytest.fixture
def onboarded(worker: FakeUser) -> FakeUser:
    """A worker of HN-DM01 called Nguyễn Thị Lan, at the menu."""
    worker.send("/start HN-DM01")
    worker.send("Nguyễn Thị Lan")
    return worker
