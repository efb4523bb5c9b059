"""Voice notes in: decode, recognise, normalise and keep the audio file, then hand the turn a
:class:`Heard`: the dialog's :class:`~dialogs.events.VoiceIn` with the clean transcript, and
the :class:`Recording` whose row the turn writes in its own transaction.

Recognition is slow next to a text message (a second or more), so it runs in a worker pool
of its own: text conversations are never queued behind a note. A long note is cut at its
pauses (:func:`nlp.audio.cut_at_pauses`) and its pieces heard there, at most one per worker
at a time, so a five-minute note is heard whole, about twice as fast, and other chats' notes
take turns with it. A few notes are heard at once, the rest waiting in the order they came, so
that each is done soon after its own work, not after everyone's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import Clock, system_clock
from bot.settings import VoiceSettings
from dialogs.events import VoiceIn
from nlp.asr import Engine as AsrEngine
from nlp.asr import Recognition, choose_engine, joined, load_engine
from nlp.audio import Audio, AudioError, Piece, cut_at_pauses, decode, lead_in, prepare
from nlp.normalize import normalize_transcript, standard_spelling

log = logging.getLogger(__name__)

Notify = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Transcript:
    """What came out of one note: the raw recogniser text and the normalised answer."""

    raw: str
    text: str
    recognition: Recognition
    duration: float


@dataclass(frozen=True, slots=True)
class Recording:
    """A voice note as stored for officers: the audio file and what was heard in it."""

    path: str
    duration_s: float
    engine: str
    raw_text: str
    text: str
    # [{"word": "máy", "confidence": 0.93, "start": 0.4, "end": 0.7, "doubtful": false}, ...]
    # where the engine gives them
    words: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Heard:
    """A voice note made ready for a turn: the event for the dialog and, when something was
    heard, the recording to keep with it."""

    event: VoiceIn
    recording: Recording | None = None

    def to_json(self) -> dict[str, Any]:
        """As kept with its update (see :meth:`storage.received.ReceivedStore.hear`)."""
        return {
            "event": dataclasses.asdict(self.event),
            "recording": None if self.recording is None else dataclasses.asdict(self.recording),
        }

    @classmethod
    def from_json(cls, kept: dict[str, Any]) -> Heard:
        event = {**kept["event"], "doubtful": tuple(kept["event"].get("doubtful", ()))}
        recording = kept.get("recording")
        return cls(VoiceIn(**event), None if recording is None else Recording(**recording))


class VoiceInbox:
    """Turns the bytes of a voice note into what a turn needs."""

    def __init__(
        self,
        settings: VoiceSettings,
        data_dir: Path,
        engine: AsrEngine | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self._engine = engine
        self._clock = clock
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="voice")
        self._loading = threading.Lock()
        self._hearing: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @property
    def engine(self) -> AsrEngine:
        """The recogniser, loaded on first use (once per process)."""
        with self._loading:  # the first pieces of a note ask at once: load the model once
            if self._engine is None:
                path = self._settings.vosk_model_path
                self._engine = load_engine(choose_engine(self._settings.engine, path), path)
        return self._engine

    @property
    def ready(self) -> bool:
        """Whether the recogniser is loaded."""
        return self._engine is not None

    def warm_up(self) -> None:
        """Load the recogniser now, in the voice pool, rather than at the first note (about a
        second a start); a first note meanwhile waits for this load, not a second one."""
        self._pool.submit(self._load)

    def _load(self) -> None:
        try:
            self.engine  # noqa: B018 -- loads it
        except Exception as error:  # the first note says it to the worker, and tries again
            log.warning("could not load the recogniser (%s: %s)", type(error).__name__, error)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def decode(self, data: bytes) -> Audio:
        audio = decode(
            data, max_seconds=self._settings.max_seconds, max_bytes=self._settings.max_bytes
        )
        return self.prepare(audio)

    def prepare(self, audio: Audio) -> Audio:
        """A decoded note as the recogniser should hear it (refusing silence)."""
        return prepare(
            audio,
            normalize_level=self._settings.normalize_level,
            trim_silence=self._settings.trim_silence,
        )

    def transcribe(self, data: bytes) -> Transcript:
        """Decode and recognise a note, its pieces in the voice pool (command line,
        benchmarks; not from inside the pool)."""
        audio = self.decode(data)
        pieces = cut_at_pauses(audio)
        return self._transcript(audio, list(self._pool.map(self._recognise, pieces)))

    async def arecognise(self, audio: Audio) -> Transcript:
        """Recognise a note in the voice pool: its pieces (cut at pauses) in order, at most
        one per worker at a time, so other chats' notes queued meanwhile take turns."""
        loop = asyncio.get_running_loop()
        pieces = await loop.run_in_executor(self._pool, cut_at_pauses, audio)
        lanes = asyncio.Semaphore(self._settings.workers)

        async def one(piece: Piece) -> tuple[float, Recognition]:
            async with lanes:
                return await loop.run_in_executor(self._pool, self._recognise, piece)

        return self._transcript(audio, list(await asyncio.gather(*map(one, pieces))))

    def _recognise(self, piece: Piece) -> tuple[float, Recognition]:
        """One piece, levelled on its own (a quiet sentence in a loud note is raised) and
        after a short silence; its start in the note, less that silence."""
        audio, engine = piece.audio, self.engine
        if self._settings.level_pieces:
            try:
                audio = prepare(audio, normalize_level=True, trim_silence=False)
            except AudioError:  # a stretch of a pause: nothing to hear
                return piece.start, Recognition("", (), engine.name)
        seconds = self._settings.lead_in_seconds
        return piece.start - seconds, engine.recognise(lead_in(audio, seconds).chunks())

    @staticmethod
    def _transcript(audio: Audio, pieces: list[tuple[float, Recognition]]) -> Transcript:
        recognition = joined(pieces)
        return Transcript(
            recognition.text, normalize_transcript(recognition.text), recognition, audio.duration
        )

    def is_long(self, audio: Audio) -> bool:
        return audio.duration > self._settings.long_note_seconds

    async def areceive(
        self, data: bytes, extension: str, on_long_note: Notify | None = None
    ) -> Heard:
        """Decode, recognise and keep a note, off the event loop in the voice pool; a few
        notes at a time (twice the workers), the others waiting their turn in the order they
        came. Forty notes at once each queued every stage behind all the others: none was
        done before nearly all the work was, and a process killed meanwhile finished none."""
        async with self._turn():
            return await self._receive(data, extension, on_long_note)

    def _turn(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._hearing is None or self._hearing[0] is not loop:
            self._hearing = (loop, asyncio.Semaphore(2 * self._settings.workers))
        return self._hearing[1]

    async def _receive(self, data: bytes, extension: str, on_long_note: Notify | None) -> Heard:
        loop = asyncio.get_running_loop()
        try:
            audio = await loop.run_in_executor(self._pool, self.decode, data)
        except AudioError as error:
            return Heard(VoiceIn(transcript=None, problem=error.kind))
        if on_long_note is not None and self.is_long(audio):
            await on_long_note()
        transcript = await self.arecognise(audio)
        return await loop.run_in_executor(self._pool, self._keep, data, extension, transcript)

    def _keep(self, data: bytes, extension: str, transcript: Transcript) -> Heard:
        """Save the audio file; describe the recording for the turn to store."""
        below = self._settings.doubt_below
        words = [
            {
                "word": w.text,
                "confidence": w.confidence,
                "start": w.start,
                "end": w.end,
                "doubtful": w.confidence is not None and w.confidence < below,
            }
            for w in transcript.recognition.words
        ]
        doubtful = tuple(
            standard_spelling(w.text)
            for w in transcript.recognition.words
            if w.confidence is not None and w.confidence < below
        )
        event = VoiceIn(
            transcript=transcript.text, duration_s=transcript.duration, doubtful=doubtful
        )
        if not transcript.text:
            return Heard(event)
        path = self._save_audio(data, extension) if self._settings.keep_audio else None
        recording = Recording(
            path=str(path or ""),
            duration_s=round(transcript.duration, 2),
            engine=transcript.recognition.engine,
            raw_text=transcript.raw,
            text=transcript.text,
            words=words,
        )
        return Heard(event, recording)

    def _save_audio(self, data: bytes, extension: str) -> Path:
        now = self._clock()
        folder = self._data_dir / "voice" / f"{now:%Y}" / f"{now:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.{extension.lstrip('.') or 'bin'}"
        path.write_bytes(data)
        return path
