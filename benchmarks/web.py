"""Server time of the officers' web pages with many entries stored.

    python -m benchmarks.web [--entries 1000000] [--units 2000] [--requests 200]
                             [--backend sqlite|postgresql|both]

Builds `--units` grassroots unions (25 to a district, 40 districts to a province) holding
`--entries` initiatives in a realistic mix of statuses (a fifth waiting at the grassroots,
a tenth at the district, the rest decided), one in nineteen with a recording; signs in an
officer of a province, of a district and of a grassroots union through the real link and
session; then times GET requests against the real app served on 127.0.0.1 (uvicorn in a
thread): the queue as each officer opens it, filtered by field and by "has voice", sorted
by value, a later page, and entry pages. Prints one JSON line per backend with p50/p95 in ms
of each kind. Target: p95 under 100 ms at 1,000,000 entries.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, insert, select, update

from benchmarks.review import build
from bot.channels.webhooks import create_app
from bot.runtime import Services, demo_database
from bot.services.access import new_link
from bot.settings import Settings, WebSettings
from bot.web.app import COOKIE, OfficerPages
from storage import units as tree
from storage.models import Initiative, Membership, Person, VoiceNote
from tests.fakes.base import ThreadedServer, free_port
from tests.utils.postgres import running_cluster

NOW = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
FIELDS = ["production", "safety", "saving", "quality", "management", "environment", "other"]


def _mix(engine: Engine, count: int) -> None:
    """Statuses, fields, values and recordings spread over the entries as a year looks."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    notes = VoiceNote.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        top = int(connection.scalar(select(func.max(table.c.id))) or 0)
        first = top - count + 1
        for remainder, values in (
            (0, {"status": "valid", "review_level": None}),
            (1, {"status": "valid", "review_level": None}),
            (2, {"status": "under_review", "review_level": "district"}),
            (3, {"status": "rejected", "review_level": None}),
            (5, {"status": "valid", "review_level": None}),
            (6, {"status": "returned", "review_level": None}),
            (7, {"status": "valid", "review_level": None}),
            (8, {"status": "valid", "review_level": None}),
        ):
            connection.execute(update(table).where(table.c.id % 10 == remainder).values(values))
        for index, name in enumerate(FIELDS):
            connection.execute(
                update(table)
                .where(table.c.id % len(FIELDS) == index)
                .values(field=name, benefit_value_vnd=table.c.id * 1000 % 90_000_000)
            )
        author = connection.scalar(select(table.c.author_id).limit(1))
        rows: list[dict[str, object]] = [
            {
                "person_id": author,
                "initiative_id": initiative_id,
                "field": "problem",
                "path": "/nonexistent.ogg",
                "duration_s": 6.0,
                "engine": "viet-asr",
                "raw_text": "máy hay kẹt vải",
                "text": "Máy hay kẹt vải",
                "words": [],
                "created_at": NOW,
            }
            for initiative_id in range(first, top + 1, 19)  # 19: every status has some
        ]
        for start in range(0, len(rows), 20_000):
            connection.execute(insert(notes), rows[start : start + 20_000])
        connection.execute(
            update(table)
            .where(table.c.id >= first, (table.c.id - first) % 19 == 0)
            .values(sources={"problem": "voice"}, spoken=True)
        )


def _officer(engine: Engine, services: Services, code: str) -> str:
    """A session of a new officer of unit `code`, signed in through a real link."""
    person = Person.__table__  # type: ignore[attr-defined]
    membership = Membership.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        unit = tree.unit_rows(connection)[code].id
        person_id = connection.execute(
            insert(person)
            .values(name=f"Cán bộ {code}", created_at=NOW, updated_at=NOW)
            .returning(person.c.id)
        ).scalar_one()
        connection.execute(
            insert(membership).values(person_id=person_id, unit_id=unit, role="officer")
        )
        token = new_link(connection, person_id, now=services.clock())
    assert token is not None
    session = services.access.sign_in(token)
    assert session is not None
    return session


def _entry_ids(engine: Engine, code: str, count: int, rng: random.Random) -> list[int]:
    table = Initiative.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        unit = tree.unit_rows(connection)[code].id
        ids = list(
            connection.scalars(select(table.c.id).where(table.c.province_id == unit).limit(5000))
        )
    return [rng.choice(ids) for _ in range(count)]


def run(engine: Engine, folder: Path, entries: int, units: int, requests: int) -> dict[str, object]:
    started = time.perf_counter()
    build(engine, units, entries)
    _mix(engine, entries)
    filled_s = time.perf_counter() - started
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=folder,
        web=WebSettings(public_url=url),
    )
    services = Services(settings, engine, clock=lambda: NOW)
    pages = OfficerPages(
        access=services.access,
        portal=services.portal,
        units=services.units,
        reports=services.reports,
        public_url=url,
        uploads=folder / "uploads",
        clock=lambda: NOW,
    )
    server = ThreadedServer(create_app(routes=pages.routes()), port=port)
    server.start()
    rng = random.Random(3)
    sessions = {level: _officer(engine, services, code) for level, code in
                (("province", "P0"), ("district", "D3"), ("grassroots", "G7"))}  # fmt: skip
    entry_ids = iter(_entry_ids(engine, "P0", requests * 2, rng))
    kinds = {
        "queue_province": ("province", lambda: "/web/"),
        "queue_district": ("district", lambda: "/web/"),
        "queue_grassroots": ("grassroots", lambda: "/web/"),
        "queue_field_value": ("province", lambda: "/web/?field=safety&sort=value&status=all"),
        "queue_voice": ("province", lambda: "/web/?voice=1"),
        "queue_page_5": ("province", lambda: "/web/?page=5&sort=newest"),
        "entry": ("province", lambda: f"/web/entry/{next(entry_ids)}"),
    }
    figures: dict[str, object] = {"entries": entries, "units": units, "fill_s": round(filled_s)}
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for name, (level, path) in kinds.items():
                client.headers["Cookie"] = f"{COOKIE}={sessions[level]}"
                assert client.get(path()).status_code == 200, name  # warm
                times = []
                for _ in range(requests):
                    began = time.perf_counter()
                    answer = client.get(path())
                    times.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 200, (name, answer.status_code)
                times.sort()
                figures[f"{name}_p50_ms"] = round(statistics.median(times), 1)
                figures[f"{name}_p95_ms"] = round(times[int(len(times) * 0.95) - 1], 1)
    finally:
        server.stop()
        services.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for backend in ("sqlite", "postgresql"):
            if args.backend not in (backend, "both"):
                continue
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    url = f"sqlite:///{folder / 'web.db'}"
                else:  # a private cluster, as the tests start (FileNotFoundError without one)
                    url = stack.enter_context(running_cluster())
                engine = demo_database(url)
                figures = run(engine, folder, args.entries, args.units, args.requests)
                print(json.dumps({"benchmark": "web", "backend": backend, **figures}), flush=True)
                engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
