"""Throughput and latency of conversation steps through the engine and real storage.

Many simulated workers each onboard and submit a complete initiative, concurrently, in one
process. Prints one JSON line with steps per second and p50/p99 step latency per backend.
Each step's replies are then marked sent, as the deliverer does once the messenger has them
(a worker answers what they have seen); that write counts in steps/s, not in a step's latency.

    python -m benchmarks.dialog [--workers 400] [--threads 2] [--postgres-url URL]

Without --postgres-url a private PostgreSQL cluster is started (as the tests do). The default
of two threads matches the two cores; more threads raise throughput a little and the tail a
lot, since they then queue for the interpreter lock, not for the database.
Targets on a 2-core machine: ≥ 1,000 steps/s on SQLite, ≥ 500 on PostgreSQL, p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from sqlmodel import Session, func, select

from bot.channels.base import Turn
from bot.runtime import demo_database
from bot.services.conversation import ConversationService
from bot.services.database import Database
from dialogs.events import parse_text
from storage.models import Initiative
from tests.utils.chat import read
from tests.utils.postgres import running_cluster

NAMES = ["Nguyễn Văn", "Trần Thị", "Lê Văn", "Phạm Thị", "Hoàng Văn"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hoa", "Lan", "Minh"]
UNITS = ["HN-DM01", "HN-CK02", "HN-DT03", "BN-DT01", "BN-GO02", "DM-SO01"]


def conversation(n: int) -> list[str]:
    return [
        f"/start {UNITS[n % len(UNITS)]}",
        f"{NAMES[n % len(NAMES)]} {GIVEN[n % len(GIVEN)]}",
        "1",
        f"Máy số {n} hay dừng vì kẹt phôi, mỗi ca mất 20 phút",
        "Gắn thêm máng dẫn phôi bằng tôn cũ",
        "2",
        f"{n % 9 + 1} triệu một năm",
        "1",
        "1",
        "không",
        "1",
    ]


def run_backend(url: str, workers: int, threads: int) -> dict[str, float]:
    db = demo_database(url)
    # Every worker tells the same idea: the question about a very similar one (measured by
    # benchmarks.similar) would stop the script; each submission is still indexed.
    service = ConversationService(Database(db), ask_similar=False)

    def one_worker(n: int) -> list[float]:
        turn = Turn("bench", f"w{n}", f"w{n}")
        latencies = []
        for line in conversation(n):
            started = time.perf_counter()
            deliveries = service.handle(turn, parse_text(line))
            latencies.append(time.perf_counter() - started)
            read(service.db, deliveries)  # the deliverer's mark: in the throughput, not the step
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one_worker, range(workers)))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for per_worker in results for x in per_worker)
    with Session(db) as session:
        submitted = session.exec(
            select(func.count()).select_from(Initiative).where(Initiative.status == "submitted")
        ).one()
    db.dispose()
    if submitted != workers:
        raise SystemExit(f"only {submitted} of {workers} submissions were stored")
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "steps": len(latencies),
        "steps_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--postgres-url")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "benchmark": "dialog",
        "workers": args.workers,
        "threads": args.threads,
    }
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        figures["sqlite"] = run_backend(f"sqlite:///{folder}/bench.db", args.workers, args.threads)
        url = args.postgres_url or stack.enter_context(running_cluster())
        figures["postgresql"] = run_backend(url, args.workers, args.threads)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
