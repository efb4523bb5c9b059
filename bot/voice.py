"""Voice notes in: decode, recognise, normalise and keep the recording, then hand the dialog a
:class:`~dialogs.events.VoiceIn` with the clean transcript.

Recognition is slow next to a text message (a second or more), so the async entry point
runs it in a worker pool of its own: text conversations are never queued behind a note.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bot.service import Turn
from bot.settings import VoiceSettings
from dialogs.events import VoiceIn
from nlp.asr import Engine as AsrEngine
from nlp.asr import Recognition, choose_engine, load_engine
from nlp.audio import Audio, AudioError, decode, prepare
from nlp.normalize import normalize_transcript
from storage.chatstore import ChatStore
from storage.types import utcnow

Notify = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Transcript:
    """What came out of one note: the raw recogniser text and the normalised answer."""

    raw: str
    text: str
    recognition: Recognition
    duration: float


class VoiceInbox:
    """Turns the bytes of a voice note into a VoiceIn event for one chat."""

    def __init__(
        self,
        settings: VoiceSettings,
        data_dir: Path,
        db: Engine | None = None,
        engine: AsrEngine | None = None,
    ) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self._db = db
        self._engine = engine
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="voice")

    @property
    def engine(self) -> AsrEngine:
        """The recogniser, loaded on first use (once per process)."""
        if self._engine is None:
            path = self._settings.vosk_model_path
            self._engine = load_engine(choose_engine(self._settings.engine, path), path)
        return self._engine

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def decode(self, data: bytes) -> Audio:
        audio = decode(
            data, max_seconds=self._settings.max_seconds, max_bytes=self._settings.max_bytes
        )
        return prepare(
            audio,
            normalize_level=self._settings.normalize_level,
            trim_silence=self._settings.trim_silence,
        )

    def recognise(self, audio: Audio) -> Transcript:
        recognition = self.engine.recognise(audio.chunks())
        return Transcript(
            recognition.text, normalize_transcript(recognition.text), recognition, audio.duration
        )

    def transcribe(self, data: bytes) -> Transcript:
        """Decode and recognise in the calling thread (command line, benchmarks)."""
        return self.recognise(self.decode(data))

    def is_long(self, audio: Audio) -> bool:
        return audio.duration > self._settings.long_note_seconds

    def receive(
        self,
        turn: Turn,
        data: bytes,
        extension: str,
        on_long_note: Callable[[], None] | None = None,
    ) -> VoiceIn:
        """The whole path in the calling thread: for the terminal channel."""
        try:
            audio = self.decode(data)
        except AudioError as error:
            return VoiceIn(transcript=None, problem=error.kind)
        if on_long_note is not None and self.is_long(audio):
            on_long_note()
        transcript = self.recognise(audio)
        return self._keep(turn, data, extension, transcript)

    async def areceive(
        self, turn: Turn, data: bytes, extension: str, on_long_note: Notify | None = None
    ) -> VoiceIn:
        """The same off the event loop: decoding and recognition run in the voice pool."""
        loop = asyncio.get_running_loop()
        try:
            audio = await loop.run_in_executor(self._pool, self.decode, data)
        except AudioError as error:
            return VoiceIn(transcript=None, problem=error.kind)
        if on_long_note is not None and self.is_long(audio):
            await on_long_note()
        transcript = await loop.run_in_executor(self._pool, self.recognise, audio)
        return await loop.run_in_executor(self._pool, self._keep, turn, data, extension, transcript)

    def _keep(self, turn: Turn, data: bytes, extension: str, transcript: Transcript) -> VoiceIn:
        """Store the recording and what was heard; return the event for the dialog."""
        note_id = None
        if self._db is not None and transcript.text:
            path = self._save_audio(data, extension) if self._settings.keep_audio else None
            note_id = self._record(turn, path, transcript)
        return VoiceIn(transcript=transcript.text, duration_s=transcript.duration, note_id=note_id)

    def _save_audio(self, data: bytes, extension: str) -> Path:
        now = dt.datetime.now(dt.UTC)
        folder = self._data_dir / "voice" / f"{now:%Y}" / f"{now:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.{extension.lstrip('.') or 'bin'}"
        path.write_bytes(data)
        return path

    def _record(self, turn: Turn, path: Path | None, transcript: Transcript) -> int:
        assert self._db is not None
        words = [
            {"word": w.text, "confidence": w.confidence, "start": w.start, "end": w.end}
            for w in transcript.recognition.words
        ]
        with self._db.begin() as connection:
            store = ChatStore(connection)
            person_id, _ = store.person_for(turn.channel, turn.user_id)
            values = {
                "person_id": person_id,
                "path": str(path or ""),
                "duration_s": round(transcript.duration, 2),
                "engine": transcript.recognition.engine,
                "raw_text": transcript.raw,
                "text": transcript.text,
                "words": words,
                "created_at": utcnow(),
            }
            return store.add_voice_note(values)
