"""Updates written to a local file the moment they arrive, before the database has them.

Zalo gives an update once; Telegram's batch is confirmed by the next poll. Between the
messenger's answer and the keep's commit (tens of milliseconds under load, or the whole of a
PostgreSQL restart) a killed process lost what it had taken. Each process now appends every
update it takes to a file of its own (one ``write()``: a killed process's writes are in the
kernel's page cache and survive it) and empties the file once the database has them all.

A process holds an exclusive ``flock`` on its file while it lives. At start, and now and then
after, a process reads every file whose lock it can take (its writer is dead), keeps those
updates in the database as its dead writer's, and removes the file: the orphans' usual path
(:meth:`bot.services.dispatch.Dispatcher.adopt_orphans`) answers them, and an update handled
before the kill is found by its key and not handled twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_NAME = re.compile(r"(\d+)-(\d+)-([0-9a-f]{8})\.jsonl")


@dataclass(frozen=True, slots=True)
class Spooled:
    owner: int  # the process that took them (storage.presence.INSTANCE)
    # channel, update key, payload, when it was taken (its place among the chat's messages)
    updates: list[tuple[str, str, dict[str, Any], dt.datetime]]


class Spool:
    """This process's file, `<owner>-<pid>-<random>.jsonl` in `folder`, locked while it
    lives."""

    def __init__(self, folder: Path, owner: int) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{owner}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._written = False

    def append(
        self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], now: dt.datetime
    ) -> None:
        """One write for all of `updates`, taken at `now` (a file that cannot be written is
        logged: the database keep still follows)."""
        at = now.timestamp()
        lines = "".join(
            json.dumps([channel, key, payload, at], ensure_ascii=False, separators=(",", ":"))
            + "\n"
            for key, payload in updates
        )
        try:
            os.write(self._fd, lines.encode())
            self._written = True
        except OSError as error:
            log.warning("could not spool %d updates (%s)", len(updates), error)

    def clear(self) -> None:
        """The database has every update written so far."""
        if self._written:
            os.ftruncate(self._fd, 0)
            self._written = False

    def close(self, *, keep: bool = False) -> None:
        """At a clean stop: the file goes once the database has all it held; with `keep`
        (the database never had some), it stays for the next process to take up."""
        if not keep:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)


def files(folder: Path) -> list[Path]:
    """The spool files in `folder`, a living writer's too: :func:`claimed` tells them apart
    by their lock."""
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob("*.jsonl")) if _NAME.fullmatch(path.name)]


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[Spooled | None]:
    """A dead writer's updates, its file locked while the caller keeps them, or None when
    its writer lives, or another process (or this one's other take-up) holds it or has
    removed it already. The caller removes the file before leaving; the lock keeps two
    takers from reading one file and one of them from reading a file the other removed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except (BlockingIOError, FileNotFoundError):
            same = False
        if not same:  # a living writer's, being taken up, or taken up and removed meanwhile
            yield None
            return
        with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as file:
            text = file.read()
        yield _parse(path, text)
    finally:
        os.close(fd)


def _parse(path: Path, text: str) -> Spooled:
    """A line cut off by the kill is skipped."""
    match = _NAME.fullmatch(path.name)
    owner = int(match.group(1)) if match else 0
    updates = []
    for line in text.splitlines():
        try:
            channel, key, payload, at = json.loads(line)
            taken = dt.datetime.fromtimestamp(float(at), dt.UTC)
        except (ValueError, TypeError, OverflowError, OSError):
            continue
        if isinstance(channel, str) and isinstance(key, str) and isinstance(payload, dict):
            updates.append((channel, key, payload, taken))
    return Spooled(owner, updates)
