"""Faults: the fake messengers fail one call in ten (5xx, 429 with retry_after, dropped
connections, slow 504s) at random with a fixed seed, and the first answers to button presses,
while workers on Telegram and Zalo go through the first questions at once. In the end every
worker has received exactly what a fault-free run sends them, each message once and in
order, and no turn waited long.

The faults strike before the fake performs the call, as an overloaded or unreachable server
would: a send that failed was not delivered. (A send that reached Telegram and whose answer
was lost on the way back is sent again: the Bot API has no idempotency key, and a second copy
beats a lost reply.)
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable

from bot.services.dispatch import Dispatcher
from tests.fakes.telegram import TelegramUser
from tests.fakes.zalo import ZaloUser
from tests.utils.bots import on_telegram, on_zalo

WORKERS = 12  # on each messenger
FRACTION = 0.10
TELEGRAM_CALLS = ("getUpdates", "sendMessage", "sendChatAction")
ZALO_CALLS = ("getUpdates", "sendMessage", "sendChatAction")
NAMES = [
    f"{family} Thị {given}"
    for family in ("Nguyễn", "Trần", "Lê")
    for given in ("Lan", "Hoa", "Mai", "Đào")
]
PROBLEM = "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút"


async def _turn(
    send: Callable[[], object], wait: Callable[[str], Awaitable[str]], fragment: str
) -> float:
    started = time.monotonic()
    send()
    try:
        await wait(fragment)
    except AssertionError as error:
        raise AssertionError(f"{getattr(wait, '__self__', None)!r}: {error}") from None
    return time.monotonic() - started


async def _on_telegram(user: TelegramUser, n: int) -> list[float]:
    return [
        await _turn(lambda: user.send("/start HN-DM01"), user.wait_for, "tên là gì"),
        await _turn(lambda: user.send(NAMES[n]), user.wait_for, "muốn làm gì"),
        await _turn(lambda: user.press(1), user.wait_for, "khó khăn hay lãng phí"),
        await _turn(lambda: user.send(PROBLEM), user.wait_for, "đã thay đổi gì"),
    ]


async def _on_zalo(user: ZaloUser, n: int) -> list[float]:
    return [
        await _turn(lambda: user.send("/start HN-DM01"), user.wait_for, "tên là gì"),
        await _turn(lambda: user.send(NAMES[n]), user.wait_for, "muốn làm gì"),
        await _turn(lambda: user.send("1"), user.wait_for, "khó khăn hay lãng phí"),
        await _turn(lambda: user.send(PROBLEM), user.wait_for, "đã thay đổi gì"),
    ]


async def _play(
    dispatcher: Dispatcher, *, faulty: bool, first_id: int
) -> tuple[dict[str, list[str]], list[float], int, int]:
    """Every worker's transcript, every turn's wait, the faults injected and presses answered."""
    async with on_telegram(dispatcher) as (telegram, _), on_zalo(dispatcher) as (zalo, _):
        telegram.flood_control = False
        telegram.update_ids = itertools.count(first_id * 100)  # the same bot: new update ids
        if faulty:
            telegram.faults.at_random(FRACTION, TELEGRAM_CALLS, seed=11)
            zalo.faults.at_random(FRACTION, ZALO_CALLS, seed=12)
            telegram.faults.delay = zalo.faults.delay = 1.0
            telegram.faults.add("answerCallbackQuery", "500", "drop", "429", "timeout")
        telegram_users = [TelegramUser(telegram, first_id + n) for n in range(WORKERS)]
        zalo_users = [ZaloUser(zalo, f"z{first_id + n}") for n in range(WORKERS)]
        waits = await asyncio.gather(
            *(_on_telegram(user, n) for n, user in enumerate(telegram_users)),
            *(_on_zalo(user, n) for n, user in enumerate(zalo_users)),
        )
        await asyncio.sleep(1.5)  # a copy sent twice would have arrived by now
        said = {f"telegram {n}": telegram.texts(u.id) for n, u in enumerate(telegram_users)}
        said |= {f"zalo {n}": zalo.texts(u.id) for n, u in enumerate(zalo_users)}
        injected = sum(telegram.faults.injected.values()) + sum(zalo.faults.injected.values())
        presses = len(telegram.answered)
    return said, [wait for turns in waits for wait in turns], injected, presses


async def test_every_message_arrives_once_in_order_despite_one_call_in_ten_failing(
    dispatcher: Dispatcher,
) -> None:
    expected, _, _, _ = await _play(dispatcher, faulty=False, first_id=7100)
    # Their namesakes, new to the bot, on messengers that fail one call in ten.
    said, waits, injected, presses = await _play(dispatcher, faulty=True, first_id=7200)

    assert injected >= 15, f"only {injected} faults were injected"
    assert said == expected
    assert presses == WORKERS  # each button press acknowledged once
    waits.sort()
    p99 = waits[int(len(waits) * 0.99) - 1]
    assert max(waits) < 20 and statistics.median(waits) < 5, (
        f"turns waited p50 {statistics.median(waits):.1f} s, p99 {p99:.1f} s, max {waits[-1]:.1f}"
    )
