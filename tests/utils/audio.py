"""Audio for tests: the shared real recordings, re-encoded the way messengers send them."""

from __future__ import annotations

import csv
import io
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "speech" / "dev"

# container format, codec, sample rate: what each messenger or phone produces
FORMATS: dict[str, tuple[str, str, int]] = {
    "ogg": ("ogg", "libopus", 48_000),  # Telegram voice notes
    "aac": ("adts", "aac", 16_000),  # Zalo voice notes
    "m4a": ("mp4", "aac", 44_100),  # iPhone recordings
    "mp3": ("mp3", "libmp3lame", 44_100),
    "wav": ("wav", "pcm_s16le", 16_000),
}


def transcripts(corpus: str, speech: Path = SPEECH) -> dict[str, str]:
    with (speech / corpus / "transcripts.tsv").open(encoding="utf-8") as handle:
        return {row[0]: row[1] for row in csv.reader(handle, delimiter="\t")}


def recording(corpus: str, text: str) -> Path:
    """The first recording of `corpus` whose reference transcript is `text`."""
    for name, said in transcripts(corpus).items():
        if said == text:
            return SPEECH / corpus / name
    raise LookupError(f"no recording of {text!r} in {corpus}")


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)


def wav_bytes(pcm: np.ndarray, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.astype(np.int16).tobytes())
    return buffer.getvalue()


def encode(pcm: np.ndarray, fmt: str) -> bytes:
    """16 kHz mono samples encoded as `fmt` (see FORMATS), as a phone app would send them."""
    container_format, codec, rate = FORMATS[fmt]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            pcm.reshape(1, -1).astype(np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 16_000
        frame.time_base = Fraction(1, 16_000)
        frame.pts = 0
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def tone(seconds: float, *, amplitude: int = 8000, hz: int = 440) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def joined(paths: list[Path], *, pause: float = 1.5, noise: float = 20.0) -> np.ndarray:
    """One long note: the recordings in order, `pause` seconds of quiet room noise after
    each, as a worker thinking aloud would leave them."""
    rng = np.random.default_rng(7)
    parts: list[np.ndarray] = []
    for path in paths:
        parts.append(samples(path))
        parts.append(rng.normal(0, noise, int(pause * 16_000)).astype(np.int16))
    return np.concatenate(parts)


def recordings_lasting(
    seconds: float, corpora: tuple[str, ...], *, pause: float = 1.5, speech: Path = SPEECH
) -> list[Path]:
    """Recordings taken in turn from `corpora` until, joined with `pause`, they last about
    `seconds` (never more)."""
    queues = [[speech / c / name for name in transcripts(c, speech)] for c in corpora]
    chosen: list[Path] = []
    total = 0.0
    for index in range(max(len(queue) for queue in queues) * len(queues)):
        queue = queues[index % len(queues)]
        if not queue:
            continue
        path = queue.pop(0)
        length = samples(path).size / 16_000 + pause
        if total + length > seconds:
            break
        chosen.append(path)
        total += length
    return chosen


def reference(paths: list[Path]) -> str:
    """What was said in `paths`, in order, by the corpora's own transcripts."""
    return " ".join(transcripts(p.parent.name, p.parent.parent)[p.name] for p in paths)
