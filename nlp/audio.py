"""Decode voice notes (OGG/Opus, ADTS AAC, M4A, MP3, WAV) to 16 kHz mono 16-bit PCM with PyAV.

PyAV's wheels carry FFmpeg's decoders, so no system ffmpeg is needed. Bad input becomes an
:class:`AudioError` whose `kind` says what to tell the worker: never an exception from FFmpeg.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2
CHUNK_BYTES = BYTES_PER_SECOND // 2  # half a second: what the recogniser is fed at a time
MIN_SECONDS = 0.3  # shorter is a slip of the thumb, not a note
# Containers whose stated duration is guessed from the bit rate (a 4:52 Zalo AAC note says
# 5:30): only the decoded samples tell whether such a note is too long.
_DURATION_GUESSED = frozenset({"aac", "mp3"})


class AudioError(Exception):
    """A note that cannot be transcribed. `kind`: empty, corrupt, silent, too_long, too_large."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono 16 kHz signed 16-bit little-endian samples."""

    pcm: bytes

    @property
    def duration(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The samples in pieces, for streaming recognition."""
        for start in range(0, len(self.pcm), size):
            yield self.pcm[start : start + size]


def decode(data: bytes, *, max_seconds: float, max_bytes: int) -> Audio:
    """Decode a whole note. Refuses empty, oversized, undecodable and too long input."""
    if not data:
        raise AudioError("empty")
    if len(data) > max_bytes:
        raise AudioError("too_large", f"{len(data)} bytes")
    limit = int(max_seconds * BYTES_PER_SECOND)
    pieces: list[bytes] = []
    size = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioError("corrupt", "no audio stream")
            stream = container.streams.audio[0]
            if (
                container.format.name not in _DURATION_GUESSED
                and stream.duration
                and stream.time_base
                and stream.duration * stream.time_base > (max_seconds + 1)
            ):
                raise AudioError("too_long")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    piece = bytes(out.planes[0])[: out.samples * 2]
                    pieces.append(piece)
                    size += len(piece)
                if size > limit:
                    raise AudioError("too_long")
            for out in resampler.resample(None):
                pieces.append(bytes(out.planes[0])[: out.samples * 2])
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError) as error:
        raise AudioError("corrupt", str(error)) from None
    pcm = b"".join(pieces)
    if len(pcm) < MIN_SECONDS * BYTES_PER_SECOND:
        raise AudioError("empty")
    if len(pcm) > limit:
        raise AudioError("too_long")
    return Audio(pcm)


# Quieter than this (peak, of 32768) is a note with nothing said: a pocket, a silent room.
SILENCE_PEAK = 500
_FRAME = SAMPLE_RATE // 50  # 20 ms


def prepare(audio: Audio, *, normalize_level: bool, trim_silence: bool) -> Audio:
    """Refuse silence; optionally cut leading and trailing silence and raise quiet notes to a
    standard peak level (at most +20 dB), as phone microphones record very unevenly."""
    samples = np.frombuffer(audio.pcm, dtype=np.int16)
    peak = int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0
    if peak < SILENCE_PEAK:
        raise AudioError("silent")
    if trim_silence:
        samples = _trim(samples, peak)
    if normalize_level:
        gain = min(0.7 * 32767 / peak, 10.0)
        if gain > 1.05:
            samples = np.clip(samples.astype(np.float32) * gain, -32768, 32767).astype(np.int16)
    return Audio(samples.tobytes())


def lead_in(audio: Audio, seconds: float) -> Audio:
    """The note after `seconds` of silence: viet-asr misses the first word of a note that
    starts with it (measured by benchmarks/asr.py)."""
    return Audio(bytes(int(seconds * SAMPLE_RATE) * 2) + audio.pcm) if seconds > 0 else audio


def _trim(samples: np.ndarray, peak: int) -> np.ndarray:
    frames = samples[: samples.size // _FRAME * _FRAME].reshape(-1, _FRAME).astype(np.float32)
    if not frames.size:
        return samples
    rms = np.sqrt((frames**2).mean(axis=1))
    voiced = np.flatnonzero(rms > peak * 0.05)
    if not voiced.size:
        return samples
    pad = 15  # keep 300 ms around speech: clipped word edges hurt recognition
    start = max(int(voiced[0]) - pad, 0) * _FRAME
    end = min(int(voiced[-1]) + pad + 1, len(frames)) * _FRAME
    return samples[start:end]


# --- Cutting a long note at its pauses ---------------------------------------------------------
#
# The recognisers close a segment after about a second of silence or 20 s of speech, and
# viet-asr's transcript keeps only its last four segments: a long note given whole comes back
# as its tail. So a long note is cut at its pauses into pieces the engine hears whole, each
# recognised on its own and joined in order. Nothing is dropped: the pieces together are the
# whole note, so quiet speech taken for a pause in a noisy room is still heard.

PIECE_SECONDS = 12.0  # longest piece: well under the engine's 20 s segment
PAUSE_SECONDS = 0.8  # a pause this long closes the engine's segment anyway: cut there
_SMOOTH_FRAMES = 10  # 200 ms: where no pause is found, cut at the quietest such stretch


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of a note, `start` seconds into it."""

    audio: Audio
    start: float


def cut_at_pauses(
    audio: Audio, *, piece_seconds: float = PIECE_SECONDS, pause_seconds: float = PAUSE_SECONDS
) -> list[Piece]:
    """The note in order, in pieces of at most `piece_seconds` that together are all of it:
    cut in the middle of every pause of `pause_seconds` or more, and a longer stretch spoken
    without one cut where it is quietest. A note no longer than a piece stays whole."""
    samples = np.frombuffer(audio.pcm, dtype=np.int16)
    limit = int(piece_seconds * 50)
    rms = _frame_rms(samples)
    if rms.size <= limit:
        return [Piece(audio, 0.0)]
    cuts = _pause_middles(rms, int(pause_seconds * 50))
    smooth = np.convolve(rms, np.ones(_SMOOTH_FRAMES) / _SMOOTH_FRAMES, mode="same")
    bounds = [0]
    for cut in [*cuts, rms.size]:
        while cut - bounds[-1] > limit:  # too long for one piece: its quietest stretch
            low = bounds[-1] + limit // 2
            bounds.append(low + int(np.argmin(smooth[low : bounds[-1] + limit])))
        bounds.append(cut)
    edges = [bound * _FRAME for bound in bounds[:-1]] + [samples.size]
    return [
        Piece(Audio(samples[first:last].tobytes()), first / SAMPLE_RATE)
        for first, last in itertools.pairwise(edges)
        if last > first
    ]


def _frame_rms(samples: np.ndarray) -> np.ndarray:
    count = samples.size // _FRAME
    frames = samples[: count * _FRAME].reshape(-1, _FRAME).astype(np.float32)
    return np.sqrt((frames**2).mean(axis=1)) if count else np.zeros(0, dtype=np.float32)


def _pause_middles(rms: np.ndarray, pause_frames: int) -> list[int]:
    """The middle frame of every pause at least `pause_frames` long.

    A frame is quiet when close to the note's background (its quietest tenth) or negligible
    next to its loudest frames."""
    floor = float(np.percentile(rms, 10))
    loud = float(np.percentile(rms, 99))
    quiet = rms < max(floor * 2.0, loud * 0.03)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    return [
        (start + end) // 2
        for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)
        if end - start >= pause_frames and start > 0 and end < rms.size
    ]


def encode_opus(audio: Audio, *, bitrate: int = 32_000) -> bytes:
    """Samples as an OGG/Opus file, the format Telegram plays as a voice message (48 kHz, as
    its own apps record; 32 kbit/s is clear speech at 4 kB a second)."""
    from fractions import Fraction

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = bitrate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(audio.pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = 0
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
