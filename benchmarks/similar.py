"""Speed and size of the similar-idea check against many stored initiatives.

    python -m benchmarks.similar [--entries 100000] [--checks 300] [--backend both]

Stores `entries` initiatives (a private PostgreSQL cluster is started for that backend, as
the tests do), their ideas put together from a large shop-floor vocabulary in ten provinces,
indexes them the way a submission does (timed: reindex throughput), then times one check (a
re-told idea, in its province) at a time. Prints one JSON line per backend: p50 and p95 of a
check in ms (target p95 < 50 ms at 1,000,000), index bytes per entry, entries indexed a
second. The quality of the check is measured by ``benchmarks.similar_eval``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from benchmarks.similar_eval import CHANGES, PLACES, PROBLEMS, RETELLINGS
from bot.runtime import demo_database
from bot.services.database import Database
from bot.services.similar import VERY, SimilarService, matches
from storage.models import Initiative, Person, Unit
from tests.utils.postgres import Cluster, find_bin_dir

# Words that make a generated idea one of many: what, where, by how much.
OBJECTS = [
    "ống",
    "van",
    "khuôn",
    "trục",
    "bánh răng",
    "băng tải",
    "dây curoa",
    "bơm",
    "quạt",
    "đèn",
    "kệ",
    "xe đẩy",
    "thùng",
    "pallet",
    "tấm che",
    "cảm biến",
    "công tắc",
    "rơ le",
    "ổ bi",
    "lưỡi dao",
    "kim may",
    "suốt chỉ",
    "chân vịt",
    "bàn là",
    "nồi hơi",
    "máy nén",
    "bể",
    "vòi",
]
NUMBERS = ["một", "hai", "ba", "bốn", "năm", "mười", "hai mươi", "ba mươi", "năm mươi", "trăm"]
UNITS = ["phút", "giờ", "ca", "ngày", "tuần", "tháng", "cái", "mét", "ký", "lít"]


def _idea(rng: random.Random) -> tuple[str, str]:
    problem = (
        f"{rng.choice(PLACES)} {rng.choice(OBJECTS)} {rng.choice(PROBLEMS)} "
        f"{rng.choice(NUMBERS)} {rng.choice(UNITS)} {rng.choice(OBJECTS)}"
    )
    solution = (
        f"{rng.choice(CHANGES)} {rng.choice(OBJECTS)} {rng.choice(OBJECTS)} "
        f"{rng.choice(NUMBERS)} {rng.choice(UNITS)}"
    )
    return problem.capitalize() + ".", solution.capitalize() + "."


def _fill(
    engine: Engine, entries: int, rng: random.Random
) -> tuple[list[int], list[tuple[str, str]]]:
    """`entries` submitted initiatives in the demo tree's grassroots unions; their provinces
    and texts."""
    initiative = Initiative.__table__  # type: ignore[attr-defined]
    unit = Unit.__table__  # type: ignore[attr-defined]
    person = Person.__table__  # type: ignore[attr-defined]
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        units = connection.execute(
            select(unit.c.id, unit.c.parent_id).where(unit.c.level == "grassroots")
        ).all()
        parents: dict[int, int] = dict(
            connection.execute(select(unit.c.id, unit.c.parent_id)).all()
        )
        author = connection.execute(
            insert(person)
            .values(name="Benchmark", created_at=now, updated_at=now)
            .returning(person.c.id)
        ).scalar_one()
    texts: list[tuple[str, str]] = []
    provinces: list[int] = []
    batch = 5000
    for start in range(0, entries, batch):
        rows = []
        for _ in range(min(batch, entries - start)):
            grassroots, district = rng.choice(units)
            problem, solution = _idea(rng)
            texts.append((problem, solution))
            province = parents[district]
            provinces.append(province)
            rows.append(
                {
                    "title": solution[:200],
                    "problem": problem,
                    "solution": solution,
                    "status": "submitted",
                    "unit_id": grassroots,
                    "district_id": district,
                    "province_id": province,
                    "author_id": author,
                    "created_at": now,
                    "updated_at": now,
                    "submitted_at": now,
                    "sources": {},
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(initiative), rows)
    return provinces, texts


def _size(engine: Engine) -> int:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return int(
                connection.execute(
                    text(
                        "SELECT pg_total_relation_size('similar_band') "
                        "+ pg_total_relation_size('similar_entry')"
                    )
                ).scalar_one()
            )
        pages = connection.execute(
            text("SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%similar%'")
        ).scalar()
        return int(pages or 0)


def run(engine: Engine, entries: int, checks: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    provinces, texts = _fill(engine, entries, rng)
    service = SimilarService(Database(engine))
    started = time.perf_counter()
    service.reindex()
    reindex_s = time.perf_counter() - started
    retell = list(RETELLINGS.values())
    times, found = [], 0
    db = Database(engine)
    for n in range(checks):
        at = rng.randrange(entries)
        problem, solution = texts[at]
        how = retell[n % len(retell)]
        began = time.perf_counter()
        with db.read() as connection:
            got = matches(
                connection,
                how(rng, problem),
                how(rng, solution),
                [provinces[at]],
                at_least=VERY,
            )
        times.append((time.perf_counter() - began) * 1000)
        found += bool(got)
    times.sort()
    return {
        "entries": entries,
        "checks": checks,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "found_share": round(found / checks, 3),
        "index_bytes_per_entry": round(_size(engine) / entries),
        "reindex_per_s": round(entries / reindex_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("sqlite", "both"):
            engine = demo_database(f"sqlite:///{Path(folder) / 'similar.db'}")
            figures = run(engine, args.entries, args.checks, args.seed)
            print(json.dumps({"benchmark": "similar", "backend": "sqlite", **figures}))
            engine.dispose()
        if args.backend in ("postgresql", "both"):
            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("benchmarks.similar: no PostgreSQL found", file=sys.stderr)
                return 2
            cluster = Cluster(bin_dir)
            try:
                engine = demo_database(cluster.start())
                figures = run(engine, args.entries, args.checks, args.seed)
                print(json.dumps({"benchmark": "similar", "backend": "postgresql", **figures}))
                engine.dispose()
            finally:
                cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
