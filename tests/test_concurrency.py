"""Two processes serving the same chat: each update processed once, no answer lost.

Two ConversationService instances, each with its own engine and connection pool, stand for two bot
processes; threads make their turns overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.base import Turn
from bot.services.conversation import ConversationService
from bot.services.database import Database
from dialogs.events import TextIn, parse_text
from storage.db import create_db_engine
from storage.models import Initiative

TURN = Turn("telegram", "777", "777")


@pytest.fixture
def two_processes(db_url: str) -> Iterator[tuple[ConversationService, ConversationService]]:
    engines = [create_db_engine(db_url), create_db_engine(db_url)]
    yield ConversationService(Database(engines[0])), ConversationService(Database(engines[1]))
    for engine in engines:
        engine.dispose()


def _together(*calls: object) -> list[object]:
    """Run the calls at the same moment in threads; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: object) -> None:
        barrier.wait()
        results[index] = call()  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_answers_at_once_both_land_in_order(
    two_processes: tuple[ConversationService, ConversationService], db: Engine
) -> None:
    first, second = two_processes
    for line in ("/start HN-DM01", "Lan", "1"):
        first.handle(TURN, parse_text(line))
    _together(
        lambda: first.handle(TURN, TextIn("Câu trả lời A")),
        lambda: second.handle(TURN, TextIn("Câu trả lời B")),
    )
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    # Serialised turns: one answer is the problem, the other the solution. Interleaved turns
    # would both have answered "problem" and lost one.
    assert {idea.problem, idea.solution} == {"Câu trả lời A", "Câu trả lời B"}


def test_one_update_delivered_to_two_processes_is_processed_once(
    two_processes: tuple[ConversationService, ConversationService], db: Engine
) -> None:
    first, second = two_processes
    first.handle(TURN, parse_text("/start HN-DM01"), update_key="u1")
    results = _together(
        lambda: first.handle(TURN, TextIn("Lan"), update_key="u2"),
        lambda: second.handle(TURN, TextIn("Lan"), update_key="u2"),
        lambda: first.handle(TURN, TextIn("Lan"), update_key="u2"),
    )
    answered = [replies for replies in results if replies]
    assert len(answered) == 1
    # and a brand-new chat whose first update arrives twice at once
    new_chat = Turn("zalo", "new-chat", "new-chat")
    results = _together(
        lambda: first.handle(new_chat, TextIn("xin chào"), update_key="m1"),
        lambda: second.handle(new_chat, TextIn("xin chào"), update_key="m1"),
    )
    assert len([replies for replies in results if replies]) == 1
