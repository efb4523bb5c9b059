"""Prompt packs: the union's own voice reading the questions to workers who cannot read.

A clip is made from any recording (an officer's voice note in the chat, or a file imported
from the command line): decoded, levelled and trimmed as workers' notes are, and stored as
OGG/Opus under ``DATA_DIR/prompts`` with a row saying whose it is. A turn's replies are
tagged with their message's key (:func:`dialogs.prompts.tag`) and, for a worker who hears
the questions, given the nearest current clip of their union's tree (:meth:`PromptPacks.
with_clips`): their grassroots union's, else the nearest unit's above it. A stale clip (its
message reworded since) is passed over; no clip means text only.
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Connection, select

from bot.clock import Clock, system_clock
from bot.services.database import Database
from dialogs import prompts
from dialogs.events import Clip, Reply
from nlp.audio import AudioError, decode, encode_opus, prepare
from storage import prompts as clips
from storage.models import Unit

log = logging.getLogger(__name__)

_unit = Unit.__table__  # type: ignore[attr-defined]
# What an import reads: anything PyAV decodes, by the extensions people's tools write.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".amr", ".flac", ".webm", ".3gp"}
)
MAX_CLIP_SECONDS = 60.0
MAX_CLIP_BYTES = 20_000_000
_CHAIN_SECONDS = 60.0  # how long a unit's place in the tree is remembered


class PackError(Exception):
    """A pack that cannot be imported or exported: one line saying why."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: kept clips (key, score), and the names it could not use."""

    unit: str
    kept: list[tuple[str, float | None]] = field(default_factory=list)
    mismatched: list[tuple[str, str, float]] = field(default_factory=list)  # key, heard, score
    unknown: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # name, why
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Coverage:
    """A unit's pack: how many messages it has a current clip of, and its stale clips."""

    code: str
    name: str
    current: int
    total: int
    stale: list[str]
    missing: list[str]  # messages with no current clip of the unit's own


Hear = Callable[[bytes], str]


class PromptPacks:
    """Makes, stores and finds clips. Thread-safe: every call is its own transaction, or
    runs inside the caller's."""

    def __init__(
        self,
        db: Database,
        data_dir: Path,
        clock: Clock = system_clock,
        *,
        threshold: float = 0.7,
    ) -> None:
        self._db = db
        self._threshold = threshold  # [voice] prompt_match
        self.folder = data_dir / "prompts"
        self._clock = clock
        self._chains: dict[int, tuple[float, list[int]]] = {}

    # --- making clips ------------------------------------------------------------------

    def make(self, data: bytes) -> tuple[bytes, float]:
        """A recording as a clip: levelled, silence trimmed, OGG/Opus; and its seconds."""
        audio = decode(data, max_seconds=MAX_CLIP_SECONDS, max_bytes=MAX_CLIP_BYTES)
        audio = prepare(audio, normalize_level=True, trim_silence=True)
        return encode_opus(audio), round(audio.duration, 2)

    def store(
        self,
        connection: Connection,
        *,
        unit_id: int,
        key: str,
        data: bytes,
        heard: str,
        score: float | None,
        recorder: str,
        person_id: int | None = None,
    ) -> None:
        """Make a clip of `data` and keep it as the unit's clip of message `key`, in the
        caller's transaction (an AudioError leaves nothing behind)."""
        ogg, seconds = self.make(data)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid.uuid4().hex}.ogg"
        path.write_bytes(ogg)
        replaced = clips.save(
            connection,
            unit_id=unit_id,
            message_key=key,
            path=str(path),
            duration_s=seconds,
            checked_text=prompts.pack()[key].said,
            heard=heard,
            score=score,
            recorder=recorder,
            recorded_by=person_id,
            now=self._clock(),
        )
        if replaced:
            Path(replaced).unlink(missing_ok=True)

    # --- playing them ------------------------------------------------------------------

    def with_clips(
        self, connection: Connection, unit_code: str | None, replies: Sequence[Reply]
    ) -> list[Reply]:
        """The replies, those with a key given the nearest current clip of the unit's tree
        (its file still there)."""
        keys = {reply.say for reply in replies if reply.say}
        unit_id = self._unit_id(connection, unit_code)
        if not keys or unit_id is None:
            return list(replies)
        found: dict[str, Clip] = {}
        for row in clips.candidates(connection, self._chain(connection, unit_id), keys):
            if row.message_key not in found and prompts.is_current(
                row.message_key, row.checked_text
            ):
                found[row.message_key] = Clip(row.id, row.path, row.telegram_file_id)
        return [
            replace(reply, clip=found[reply.say]) if reply.say in found else reply
            for reply in replies
        ]

    def remember(self, clip_id: int, file_id: str) -> None:
        """The messenger's id of an uploaded clip: it is sent by id from now on."""
        with self._db.write() as connection:
            clips.remember_file_id(connection, clip_id, file_id)

    def _unit_id(self, connection: Connection, code: str | None) -> int | None:
        if not code:
            return None
        found: int | None = connection.execute(
            select(_unit.c.id).where(_unit.c.code == code)
        ).scalar()
        return found

    def _chain(self, connection: Connection, unit_id: int) -> list[int]:
        now = time.monotonic()
        cached = self._chains.get(unit_id)
        if cached is None or now - cached[0] > _CHAIN_SECONDS:
            cached = (now, clips.chain(connection, unit_id))
            self._chains[unit_id] = cached
        return cached[1]

    # --- the command line --------------------------------------------------------------

    def import_pack(self, source: Path, unit_code: str, hear: Hear | None = None) -> ImportReport:
        """Import the audio files of a folder or ZIP named by message key ("PROMPTS.PROBLEM.wav",
        any case); `hear` transcribes each to check it against its text (mismatches are kept
        and listed). One bad file does not stop the others."""
        report = ImportReport(unit_code)
        with self._db.write() as connection:
            unit_id = self._unit_id(connection, unit_code)
        if unit_id is None:
            raise PackError(f"no unit with code {unit_code!r}")
        by_lower = {key.lower(): key for key in prompts.pack()}
        for name, read in _audio_files(source):
            stem = Path(name).name
            stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
            key = by_lower.get(stem.lower())
            if key is None:
                report.unknown.append(name)
                continue
            try:
                data = read()
                heard = hear(data) if hear is not None else ""
                score = prompts.similarity(heard, prompts.pack()[key].said) if hear else None
                with self._db.write() as connection:
                    self.store(
                        connection,
                        unit_id=unit_id,
                        key=key,
                        data=data,
                        heard=heard,
                        score=score,
                        recorder=f"import: {Path(name).name}",
                    )
            except (AudioError, OSError, zipfile.BadZipFile) as error:
                report.unreadable.append((name, _why(error)))
                continue
            report.kept.append((key, score))
            if score is not None and score < self._threshold:
                report.mismatched.append((key, heard, score))
        kept = {key for key, _ in report.kept}
        with self._db.write() as connection:
            have = set(self._current(connection, unit_id))
        report.missing = [key for key in prompts.pack() if key not in kept | have]
        return report

    def export_pack(self, unit_code: str, out: Path) -> list[Path]:
        """Copy the unit's own current clips to `out` as KEY.ogg; the files written."""
        with self._db.write() as connection:
            unit_id = self._unit_id(connection, unit_code)
            if unit_id is None:
                raise PackError(f"no unit with code {unit_code!r}")
            own = self._current(connection, unit_id)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for key, row in own.items():
            target = out / f"{key}.ogg"
            try:
                shutil.copyfile(row.path, target)
            except OSError:
                log.warning("prompt pack %s: the clip of %s is gone from disk", unit_code, key)
                continue
            written.append(target)
        return written

    def status(self, unit_code: str | None = None) -> list[Coverage]:
        """Coverage of every unit with clips (or of one unit) and their stale clips."""
        total = len(prompts.pack())
        with self._db.write() as connection:
            rows = clips.all_clips(connection)
            names: dict[str, str] = dict(
                connection.execute(select(_unit.c.code, _unit.c.name)).all()
            )
        if unit_code is not None:
            if unit_code not in names:
                raise PackError(f"no unit with code {unit_code!r}")
            rows = [(code, row) for code, row in rows if code == unit_code]
        by_unit: dict[str, list[clips.ClipRow]] = {}
        for code, row in rows:
            by_unit.setdefault(code, []).append(row)
        if unit_code is not None:
            by_unit.setdefault(unit_code, [])
        return [
            Coverage(
                code,
                names.get(code, code),
                sum(prompts.is_current(r.message_key, r.checked_text) for r in own),
                total,
                sorted(
                    r.message_key
                    for r in own
                    if not prompts.is_current(r.message_key, r.checked_text)
                ),
                [
                    key
                    for key in prompts.pack()
                    if not any(
                        r.message_key == key and prompts.is_current(key, r.checked_text)
                        for r in own
                    )
                ],
            )
            for code, own in sorted(by_unit.items())
        ]

    def _current(self, connection: Connection, unit_id: int) -> dict[str, clips.ClipRow]:
        return {
            key: row
            for key, row in clips.clips_of(connection, unit_id).items()
            if prompts.is_current(key, row.checked_text)
        }

    def recorded(self, connection: Connection, unit_id: int) -> set[str]:
        """The messages the unit has a current clip of, in the caller's transaction."""
        return set(self._current(connection, unit_id))


def _why(error: Exception) -> str:
    if isinstance(error, AudioError):
        return {
            "empty": "empty",
            "silent": "no sound in it",
            "corrupt": "not audio that can be read",
            "too_long": f"longer than {MAX_CLIP_SECONDS:.0f} s",
            "too_large": "too large",
        }.get(error.kind, error.kind)
    return type(error).__name__


def _audio_files(source: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(name, read) of each audio file in a folder (not below it) or a ZIP (any folder)."""
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
                yield path.name, path.read_bytes
        return
    if not source.is_file():
        raise PackError(f"{source}: no such folder or file")
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise PackError(f"{source}: not a folder or a ZIP file") from None
    with _closing(archive):
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            name = info.filename
            if info.is_dir() or Path(name).suffix.lower() not in AUDIO_SUFFIXES:
                continue
            if info.file_size > MAX_CLIP_BYTES:
                yield name, _too_large
                continue
            yield name, functools.partial(archive.read, name)


def _too_large() -> bytes:
    raise AudioError("too_large")


@contextmanager
def _closing(archive: zipfile.ZipFile) -> Iterator[None]:
    try:
        yield
    finally:
        archive.close()
