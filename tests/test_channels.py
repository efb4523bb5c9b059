"""Shared channel machinery: retries, pacing, splitting, rendering."""

from __future__ import annotations

import itertools

import pytest

from bot.channels.base import (
    BadRequestError,
    ForbiddenError,
    RateLimitedError,
    Throttle,
    TransientError,
    render_numbered,
    split_text,
    with_retries,
)
from dialogs.events import Option, Reply


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_retries_transient_errors_and_honours_retry_after() -> None:
    time = FakeTime()
    failures: list[Exception] = [TransientError("500"), RateLimitedError(7), TransientError("x")]

    async def call() -> str:
        if failures:
            raise failures.pop(0)
        return "sent"

    assert await with_retries(call, sleep=time.sleep) == "sent"
    assert time.slept[1] == 7  # retry_after honoured exactly
    assert 0 < time.slept[0] < time.slept[2]  # backoff grows (with jitter)


@pytest.mark.parametrize("error", [ForbiddenError("blocked"), BadRequestError("too long")])
async def test_forbidden_and_bad_requests_are_not_retried(error: Exception) -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        await with_retries(call, sleep=FakeTime().sleep)
    assert calls == 1


async def test_retries_give_up_after_the_last_attempt() -> None:
    async def call() -> None:
        raise TransientError("down")

    with pytest.raises(TransientError):
        await with_retries(call, attempts=3, sleep=FakeTime().sleep)


async def test_throttle_paces_30_a_second_and_20_a_minute_per_group() -> None:
    time = FakeTime()
    throttle = Throttle(per_second=30, group_per_minute=20, clock=time.clock, sleep=time.sleep)
    sends = []
    for n in range(300):
        await throttle.wait(f"user{n}")
        sends.append(time.now)
    assert 9.9 < sends[-1] < 10.9  # 300 messages at 30/s: ten seconds (and the margin)
    assert all(b - a >= 1 / 30 for a, b in itertools.pairwise(sends))
    group_sends = []
    for _ in range(25):
        await throttle.wait("-100", group=True)
        group_sends.append(time.now)
    assert group_sends[20] - group_sends[0] >= 60  # the 21st group message waits a minute


def test_split_text_keeps_everything_within_the_limit() -> None:
    text = "\n".join(["ngắn"] * 10 + ["dài " * 700])
    parts = split_text(text, 2000)
    assert all(len(part) <= 2000 for part in parts)
    assert " ".join(parts).split() == text.split()
    assert split_text("x" * 4500, 2000) == ["x" * 2000, "x" * 2000, "x" * 500]


def test_numbered_rendering_for_channels_without_buttons() -> None:
    options = (Option("✅ Có", "yes"), Option("⏳ Chưa", "no"))
    reply = Reply("Chọn đi", options=options, nav=True, hint=True)
    assert render_numbered(reply) == (
        "Chọn đi\n1. ✅ Có\n2. ⏳ Chưa\n👉 Trả lời 1 hoặc 2.\n↩️ quay lại · ⏸️ hủy · ❓ trợ giúp"
    )
    # The navigation line only where asked for: every other bubble stays short.
    assert render_numbered(Reply("Chọn đi", options=options, nav=True)) == (
        "Chọn đi\n1. ✅ Có\n2. ⏳ Chưa\n👉 Trả lời 1 hoặc 2."
    )
