"""The soak's short version (``python -m benchmarks.soak`` is the long one): `sangkien run`
SIGKILLed four times and its PostgreSQL restarted once while sixteen workers submit ideas on
Telegram and Zalo, by text and by voice, and Friday's ranking goes out to the groups."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.soak import soak


@pytest.mark.usefixtures("postgres_programs")
def test_nothing_is_lost_or_doubled_across_kills_and_a_database_restart() -> None:
    figures = asyncio.run(soak(workers=16, kills=4, pg_restarts=1, seed=3))
    assert figures["kills"] == 4 and figures["pg_restarts"] == 1, figures
    assert figures["finished"] == figures["workers"], figures  # nobody stuck
    assert figures["lost_answers"] == 0, figures
    assert figures["unanswered_answers"] == 0, figures
    assert figures["duplicates"] == 0, figures  # no idea stored twice, no ranking posted twice
    # Every group has its ranking, or the bot recorded that it died mid-post and cannot know
    # (the Bot API has no idempotency key; the unit's officers got a copy).
    assert figures["missing_rankings"] == 0, figures
    # A reply Telegram took in the instant before a kill, not yet marked sent, goes again.
    assert figures["messages_sent_twice"] <= figures["kills"], figures
    assert figures["clean_stop"], figures
