"""The Friday ranking at national scale, and its broadcast.

1. **Compute**: a tree of `--units` grassroots unions (25 to a district, 40 districts to a
   province) with `--initiatives` entries spread over eight weeks, a third of them valid, and a
   quota for every union; time to compute one week's standings of every unit at every level
   (one grouped query and a roll-up) and to store them, on SQLite and on PostgreSQL.
   Target: computation under 2 s on each.
2. **Pictures**: every board (each unit with units under it), rendered to PNG.
3. **Broadcast** (`--groups N`): N Telegram groups registered; the real `sangkien run` posts the
   ranking through the outbox to the fake Bot API on 127.0.0.1, is SIGKILLed half way and
   started again. Wall time against the floor of 30 messages a second, 429s, duplicates.

Prints one JSON line per part.

    python -m benchmarks.rankings [--units 50000] [--initiatives 1000000] [--groups 10000]
                                  [--postgres-url URL] [--sqlite-only] [--pictures N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import tempfile
import time
import zoneinfo
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from benchmarks.review import build
from bot.runtime import demo_database
from bot.services import chart
from bot.services import rankings as ranking
from bot.services.database import Database
from bot.services.rankings import Calendar, Rankings
from storage import rankings as snapshots
from storage import units as tree
from storage.models import Initiative
from tests.fakes.base import free_port
from tests.fakes.telegram import FakeTelegram
from tests.utils.postgres import running_cluster

ZONE = "Asia/Ho_Chi_Minh"
CALENDAR = Calendar.of(ZONE, "fri", dt.time(16))
WEEK = CALENDAR.week("2026-W49")


def fill(engine: Engine, units: int, count: int) -> float:
    """The tree and its entries; the seconds it took."""
    started = time.perf_counter()
    g_ids, _, _ = build(engine, units, count)
    table = Initiative.__table__  # type: ignore[attr-defined]
    with Database(engine).write() as connection:
        for week in range(8):  # spread over eight weeks before the cut-off, a third valid
            connection.execute(
                update(table)
                .where(table.c.id % 8 == week)
                .values(submitted_at=WEEK.cutoff - dt.timedelta(days=7 * week, hours=5))
            )
        connection.execute(update(table).where(table.c.id % 3 == 0).values(status="valid"))
        tree.set_quotas(connection, "2026", {unit: 10 + unit % 90 for unit in g_ids})
    return time.perf_counter() - started


def measure(engine: Engine, units: int, count: int, pictures: int) -> dict[str, object]:
    built = fill(engine, units, count)
    zone = zoneinfo.ZoneInfo(ZONE)
    db = Database(engine)
    timings = []
    for _ in range(3):
        with db.read() as connection:
            started = time.perf_counter()
            standings = ranking.compute(connection, WEEK, zone)
            timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    with db.write() as connection:
        snapshots.save_snapshot(connection, WEEK.name, standings, now=WEEK.cutoff)
    stored = time.perf_counter() - started
    with db.read() as connection:
        parents = connection.execute(
            select(func.count(func.distinct(snapshots._snapshot.c.parent_id)))
        ).scalar_one()
    figures: dict[str, object] = {
        "backend": engine.dialect.name,
        "units": len(standings),
        "initiatives": count,
        "build_s": round(built, 1),
        "compute_s": round(min(timings), 3),
        "compute_runs_s": [round(t, 3) for t in timings],
        "store_s": round(stored, 3),
        "boards": parents,
    }
    if pictures:
        rankings = Rankings(db, CALENDAR, Path(tempfile.mkdtemp()), top=10)
        with db.read() as connection:
            ids = [
                u.id
                for u in tree.unit_rows(connection).values()
                if u.level.value in ("national", "province", "district")
            ][:pictures]
        started = time.perf_counter()
        charts = [board.chart for board in rankings.boards(WEEK, ids)]
        drawn = sum(len(png) for png in chart.render_all(charts))
        spent = time.perf_counter() - started
        figures |= {
            "pictures": len(ids),
            "pictures_s": round(spent, 1),
            "picture_ms": round(1000 * spent / max(len(ids), 1), 1),
            "picture_kb": round(drawn / 1024 / max(len(ids), 1), 1),
        }
    return figures


def broadcast(groups: int, workdir: Path, *, between_posts: bool) -> dict[str, object]:
    """The real `sangkien run` posting to `groups` groups, killed half way, restarted: just
    after a post (`between_posts`), or the instant one arrives (it may be resent: the one
    post Telegram accepted that the dead process had not yet marked sent)."""
    from tests.utils.programme import group

    telegram = FakeTelegram()
    telegram.server.start()
    zone = zoneinfo.ZoneInfo(ZONE)
    just_past = dt.datetime.now(zone) - dt.timedelta(minutes=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")} | {
        "SANGKIEN_DATABASE_URL": f"sqlite:///{workdir}/broadcast.db",
        "SANGKIEN_DATA_DIR": str(workdir),
        "SANGKIEN_TELEGRAM__TOKEN": telegram.token,
        "SANGKIEN_TELEGRAM__API_BASE_URL": telegram.base_url,
        "SANGKIEN_TELEGRAM__POLL_TIMEOUT": "1",
        "SANGKIEN_SERVER__PORT": str(free_port()),
        "SANGKIEN_RANKINGS__DAY": just_past.strftime("%a").lower(),
        "SANGKIEN_RANKINGS__TIME": just_past.strftime("%H:%M"),
    }
    engine = demo_database(env["SANGKIEN_DATABASE_URL"])
    chats = [f"-100{n:06d}" for n in range(groups)]
    at = dt.datetime.now(dt.UTC)
    for chat_id in chats:
        group(engine, "telegram", chat_id, "HN-KCN", at=at)
    engine.dispose()

    def sent() -> int:
        return len(telegram.sent_at)  # every accepted post, cheaply

    started = time.perf_counter()
    with subprocess.Popen(["sangkien", "run"], env=env, cwd=workdir) as first:
        while sent() < groups // 2:
            time.sleep(0.001)
        if between_posts:  # after a post's mark, before the next post (35 ms apart)
            time.sleep(0.012)
        first.send_signal(signal.SIGKILL)
    killed_at = sent()
    with subprocess.Popen(["sangkien", "run"], env=env, cwd=workdir) as second:
        while sent() < groups:
            time.sleep(0.05)
        wall = time.perf_counter() - started
        time.sleep(2)
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    telegram.server.stop()
    duplicates = sum(max(0, len(telegram.sent[chat_id]) - 1) for chat_id in chats)
    return {
        "part": "broadcast",
        "groups": groups,
        "killed": "between posts" if between_posts else "as a post arrived",
        "killed_after": killed_at,
        "wall_s": round(wall, 1),
        "floor_s": round(groups / 30, 1),
        "rate_limited_429": telegram.rate_limited,
        "duplicates": duplicates,
        "missing": sum(1 for chat_id in chats if not telegram.sent[chat_id]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--initiatives", type=int, default=1_000_000)
    parser.add_argument("--pictures", type=int, default=100_000, help="boards to draw (all)")
    parser.add_argument("--groups", type=int, default=10_000, help="0: no broadcast")
    parser.add_argument("--postgres-url")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        engine = demo_database(f"sqlite:///{tmp}/rankings.db")
        print(json.dumps(measure(engine, args.units, args.initiatives, args.pictures)), flush=True)
        engine.dispose()
        if not args.sqlite_only:
            url = args.postgres_url or stack.enter_context(running_cluster())
            engine = demo_database(url)
            print(json.dumps(measure(engine, args.units, args.initiatives, 0)), flush=True)
            engine.dispose()
        if args.groups:
            for between in (True, False):
                workdir = Path(tempfile.mkdtemp(dir=tmp))
                print(
                    json.dumps(broadcast(args.groups, workdir, between_posts=between)), flush=True
                )


if __name__ == "__main__":
    main()
