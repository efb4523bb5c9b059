"""Decoding voice notes: every format a phone or messenger sends, and every way one goes bad."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nlp.audio import AudioError, decode, prepare
from tests.utils.audio import (
    FORMATS,
    encode,
    joined,
    recording,
    recordings_lasting,
    samples,
    tone,
    wav_bytes,
)

LIMITS: dict[str, Any] = {"max_seconds": 300.0, "max_bytes": 20_000_000}


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return samples(recording("vivos", "khách sạn"))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_decodes_to_16khz_mono(speech: np.ndarray, fmt: str) -> None:
    audio = decode(encode(speech, fmt), **LIMITS)
    assert abs(audio.duration - len(speech) / 16_000) < 0.1
    decoded = np.frombuffer(audio.pcm, dtype=np.int16)
    assert np.abs(decoded).max() > 1000  # the speech is there, not silence


def test_chunks_cover_the_whole_note(speech: np.ndarray) -> None:
    audio = decode(wav_bytes(speech), **LIMITS)
    chunks = list(audio.chunks())
    assert b"".join(chunks) == audio.pcm
    assert all(len(chunk) <= 16_000 for chunk in chunks)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"\x00" * 3000, "corrupt"),
        (b"OggS" + bytes(range(256)) * 20, "corrupt"),
        (wav_bytes(tone(0.1)), "empty"),
    ],
    ids=["nothing", "zeros", "broken-ogg", "a-click"],
)
def test_bad_notes_say_what_is_wrong(data: bytes, kind: str) -> None:
    with pytest.raises(AudioError) as raised:
        decode(data, **LIMITS)
    assert raised.value.kind == kind


def test_a_truncated_file_is_corrupt_or_short(speech: np.ndarray) -> None:
    data = encode(speech, "ogg")
    with pytest.raises(AudioError) as raised:
        decode(data[:200], **LIMITS)
    assert raised.value.kind in {"corrupt", "empty"}


def test_too_long_and_too_large() -> None:
    long_note = wav_bytes(tone(4.0))
    with pytest.raises(AudioError, match="too_long"):
        decode(long_note, max_seconds=3, max_bytes=10**8)
    with pytest.raises(AudioError, match="too_long"):
        decode(encode(tone(4.0), "ogg"), max_seconds=3, max_bytes=10**8)
    with pytest.raises(AudioError, match="too_large"):
        decode(long_note, max_seconds=300, max_bytes=1000)


def test_silence_is_refused_and_speech_is_trimmed_and_levelled(speech: np.ndarray) -> None:
    quiet_room = np.random.default_rng(1).normal(0, 40, 32_000).astype(np.int16)
    with pytest.raises(AudioError, match="silent"):
        prepare(decode(wav_bytes(quiet_room), **LIMITS), normalize_level=True, trim_silence=True)
    padded = np.concatenate([np.zeros(48_000, np.int16), speech // 8, np.zeros(48_000, np.int16)])
    audio = prepare(decode(wav_bytes(padded), **LIMITS), normalize_level=True, trim_silence=True)
    assert audio.duration < len(padded) / 16_000 - 4  # most of the 6 s of silence is gone
    peak = np.abs(np.frombuffer(audio.pcm, dtype=np.int16).astype(np.int32)).max()
    assert peak > np.abs(speech // 8).max() * 2  # the quiet speech was raised


def test_a_zalo_note_just_under_the_limit_is_not_refused_on_its_guessed_duration() -> None:
    """ADTS AAC states a duration guessed from its bit rate: 330 s for this 292 s note."""
    note = encode(joined(recordings_lasting(295, ("vivos", "fosd"))), "aac")
    assert decode(note, max_seconds=300, max_bytes=10**8).duration < 300
    with pytest.raises(AudioError, match="too_long"):
        decode(note, max_seconds=200, max_bytes=10**8)
