"""Review at scale: opening the next card and deciding it, and the XLSX report.

Builds a tree of grassroots unions (under districts and provinces) and fills it with
submitted initiatives, then times an officer's desk: the next card of a grassroots queue and
of a district queue, and a decision (compare-and-set, history row, notice to the author).
Then writes an XLSX report of `--export-rows` initiatives and records its time and peak
memory. Prints one JSON line per backend.

    python -m benchmarks.review [--units 50000] [--initiatives 1000000] [--export-rows 100000]
                                [--postgres-url URL] [--sqlite-only]

Target: p99 < 50 ms for a card and for a decision on both backends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlmodel import Session

from bot.runtime import demo_database
from bot.services.database import Database
from bot.services.export import write_xlsx
from bot.services.review import ReviewDesk
from storage import initiatives
from storage import units as tree
from storage.conversations import ConversationStore
from storage.models import Initiative, Role, UnitLevel
from tests.utils.postgres import running_cluster

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def build(engine: Engine, units: int, count: int) -> tuple[list[int], list[int], int]:
    """`units` grassroots unions, 25 to a district, 40 districts to a province, with `count`
    submitted initiatives spread over them. The grassroots and district ids, and an author."""
    rng = random.Random(7)
    with Database(engine).write() as connection:
        base = tree.unit_rows(connection)["VN"].id
        provinces = [
            {"code": f"P{p}", "name": f"Tỉnh {p}", "level": "province", "parent_id": base}
            for p in range(max(units // 1000, 1))
        ]
        tree.insert_units(connection, [p | {"created_at": NOW} for p in provinces])
        stored = tree.unit_rows(connection)
        districts = [
            {
                "code": f"D{d}",
                "name": f"Quận {d}",
                "level": "district",
                "parent_id": stored[f"P{d % len(provinces)}"].id,
                "created_at": NOW,
            }
            for d in range(max(units // 25, 1))
        ]
        tree.insert_units(connection, districts)
        stored = tree.unit_rows(connection)
        grassroots = [
            {
                "code": f"G{g}",
                "name": f"CĐCS Công ty số {g}",
                "level": "grassroots",
                "parent_id": stored[f"D{g % len(districts)}"].id,
                "created_at": NOW,
            }
            for g in range(units)
        ]
        tree.insert_units(connection, grassroots)
        stored = tree.unit_rows(connection)
        author, _ = ConversationStore(connection).person_for("bench", "author", now=NOW)
        g_ids = [stored[f"G{g}"].id for g in range(units)]
        d_of = {u.id: u.parent_id for u in stored.values()}
        table = Initiative.__table__  # type: ignore[attr-defined]
        for start in range(0, count, 20_000):
            rows: list[dict[str, object]] = []
            for n in range(start, min(start + 20_000, count)):
                unit = g_ids[rng.randrange(units)]
                district = d_of[unit]
                assert district is not None
                rows.append(
                    {
                        "unit_id": unit,
                        "district_id": district,
                        "province_id": d_of[district],
                        "author_id": author,
                        "title": f"Sáng kiến {n}",
                        "problem": "Máy hay kẹt vải, mỗi ca dừng 30 phút",
                        "solution": "Gắn thanh dẫn vải trước lưỡi cắt",
                        "status": "submitted",
                        "review_level": "grassroots",
                        "sources": {},
                        "created_at": NOW,
                        "updated_at": NOW,
                        "submitted_at": NOW - dt.timedelta(seconds=n),
                    }
                )
            connection.execute(insert(table), rows)
    return g_ids, [stored[f"D{d}"].id for d in range(len(districts))], author


def _officer(engine: Engine, unit_id: int, name: str) -> int:
    with Database(engine).write() as connection:
        store = ConversationStore(connection)
        person, _ = store.person_for("bench", name, now=NOW)
        store.add_role(person, unit_id, Role.OFFICER)
    return person


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> int:
    """Reset the process's peak resident size (Linux) so the export's own peak is measured;
    the resident size now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _peak_rss_kb()


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


def measure(engine: Engine, units: int, count: int, export_rows: int, rounds: int) -> dict:
    started = time.perf_counter()
    g_ids, d_ids, _ = build(engine, units, count)
    built = time.perf_counter() - started
    db = Database(engine)
    levels = (UnitLevel.GRASSROOTS, UnitLevel.DISTRICT)
    rng = random.Random(11)
    cards, district_cards, decisions = [], [], []
    for n in range(rounds):
        grassroots_officer = _officer(engine, rng.choice(g_ids), f"g{n}")
        district_officer = _officer(engine, rng.choice(d_ids), f"d{n}")
        with db.write() as connection:
            desk = ReviewDesk(connection, grassroots_officer, levels, NOW)
            t0 = time.perf_counter()
            card = desk.next_card([])
            cards.append(time.perf_counter() - t0)
            if card is not None:
                t0 = time.perf_counter()
                desk.decide(card.id, card.level, "valid", None, None)
                decisions.append(time.perf_counter() - t0)
        with db.write() as connection:
            desk = ReviewDesk(connection, district_officer, levels, NOW)
            t0 = time.perf_counter()
            desk.next_card([])
            district_cards.append(time.perf_counter() - t0)

    out = Path(tempfile.mkdtemp()) / "report.xlsx"
    before = _reset_peak_rss()
    t0 = time.perf_counter()
    with Session(engine) as session:
        where = [Initiative.id <= export_rows]  # type: ignore[operator]
        written = write_xlsx(out, initiatives.export_rows(session=session, where=where), {})
    exported = time.perf_counter() - t0
    peak = _peak_rss_kb()
    return {
        "backend": engine.dialect.name,
        "units": units,
        "initiatives": count,
        "build_s": round(built, 1),
        "next_card": _ms(cards),
        "next_card_district": _ms(district_cards),
        "decision": _ms(decisions),
        "xlsx_rows": written,
        "xlsx_s": round(exported, 1),
        "xlsx_rows_per_s": round(written / exported),
        "xlsx_peak_rss_growth_mb": round((peak - before) / 1024, 1),
        "xlsx_mb": round(out.stat().st_size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--initiatives", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres-url")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    figures = (args.units, args.initiatives, args.export_rows, args.rounds)
    with ExitStack() as stack:
        path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "review.db"
        engine = demo_database(f"sqlite:///{path}")
        print(json.dumps(measure(engine, *figures)), flush=True)
        engine.dispose()
        if args.sqlite_only:
            return
        url = args.postgres_url or stack.enter_context(running_cluster())
        engine = demo_database(url)
        print(json.dumps(measure(engine, *figures)), flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
