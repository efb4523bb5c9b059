"""Offline speech recognition behind one small interface, with two engines.

- ``viet-asr``: a streaming Vietnamese model shipped inside its wheel; works on a fresh
  machine with no download. It gives text, no per-word confidences.
- ``vosk``: Kaldi models from a directory (for Vietnamese, vosk-model-small-vn-0.4 or
  vosk-model-vn-0.4, installed with ``sangkien voice install-model``); gives word confidences.

Models load once per process (:func:`load_engine` caches them) and are shared; each call to
:meth:`Engine.recognise` opens its own recogniser stream, fed half a second at a time.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from nlp.audio import SAMPLE_RATE

VIET_ASR = "viet-asr"
VOSK = "vosk"
ENGINES = (VIET_ASR, VOSK)


class EngineUnavailableError(RuntimeError):
    """The chosen engine cannot run here: package or model missing."""


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    confidence: float | None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True)
class Recognition:
    """Raw recogniser output: the text as heard and, where the engine gives them, words."""

    text: str
    words: tuple[Word, ...]
    engine: str


class Engine(Protocol):
    name: str

    def recognise(self, chunks: Iterable[bytes]) -> Recognition:
        """Recognise 16 kHz mono s16le audio given in order, chunk by chunk."""
        ...


class VietAsrEngine:
    name = VIET_ASR

    def __init__(self) -> None:
        try:
            from vietasr import Pipeline
            from vietasr.ffi import native
        except ImportError as error:
            raise EngineUnavailableError(f"viet-asr is not installed: {error}") from None
        native.lib.vietasr_set_log_level(int(os.environ.get("SANGKIEN_VIETASR_LOG_LEVEL", "3")))
        self._pipeline = Pipeline.preset("transcribe")
        # Sessions are independent, but creating them touches the shared pipeline.
        self._lock = threading.Lock()

    def recognise(self, chunks: Iterable[bytes]) -> Recognition:
        with self._lock:
            session = self._pipeline.stream(float(SAMPLE_RATE))
        texts: list[str] = []
        try:
            for chunk in chunks:
                if session.accept(chunk):  # an utterance ended: collect it, go on
                    texts.append(session.result().text)
            texts.append(session.final().text)
        finally:
            session.close()
        return Recognition(" ".join(t.strip() for t in texts if t.strip()), (), self.name)


class VoskEngine:
    name = VOSK

    def __init__(self, model_path: Path) -> None:
        try:
            import vosk
        except ImportError as error:
            raise EngineUnavailableError(f"vosk is not installed: {error}") from None
        if not (model_path / "am").is_dir() and not (model_path / "conf").is_dir():
            raise EngineUnavailableError(f"{model_path} is not a vosk model directory")
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(str(model_path))

    def recognise(self, chunks: Iterable[bytes]) -> Recognition:
        recogniser = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recogniser.SetWords(True)
        results: list[dict[str, Any]] = []
        for chunk in chunks:
            if recogniser.AcceptWaveform(chunk):
                results.append(json.loads(recogniser.Result()))
        results.append(json.loads(recogniser.FinalResult()))
        words = tuple(
            Word(w["word"], float(w["conf"]), float(w["start"]), float(w["end"]))
            for result in results
            for w in result.get("result", [])
        )
        text = " ".join(r.get("text", "").strip() for r in results if r.get("text", "").strip())
        return Recognition(text, words, self.name)


def joined(pieces: Sequence[tuple[float, Recognition]]) -> Recognition:
    """One recognition of a note from those of its pieces (each with its start in the note,
    in seconds), in order: texts joined, word times moved to the note's."""
    words = tuple(
        replace(
            word,
            start=None if word.start is None else max(round(word.start + start, 3), 0.0),
            end=None if word.end is None else max(round(word.end + start, 3), 0.0),
        )
        for start, recognition in pieces
        for word in recognition.words
    )
    text = " ".join(r.text.strip() for _, r in pieces if r.text.strip())
    engine = pieces[0][1].engine if pieces else ""
    return Recognition(" ".join(text.split()), words, engine)


def choose_engine(requested: str, vosk_model_path: Path | None) -> str:
    """``auto`` means vosk when a vosk model is configured, viet-asr otherwise."""
    if requested == "auto":
        return VOSK if vosk_model_path else VIET_ASR
    if requested not in ENGINES:
        raise EngineUnavailableError(f"unknown engine {requested!r}; use auto, vosk or viet-asr")
    return requested


@cache
def load_engine(name: str, vosk_model_path: Path | None = None) -> Engine:
    """The engine, loaded once per process and shared by every caller."""
    if name == VOSK:
        if vosk_model_path is None:
            raise EngineUnavailableError("voice.vosk_model_path is not set")
        return VoskEngine(vosk_model_path)
    return VietAsrEngine()


# Free the models while the interpreter is still whole: at exit, after module teardown, their
# native handles' destructors find their libraries gone and print tracebacks.
atexit.register(load_engine.cache_clear)
