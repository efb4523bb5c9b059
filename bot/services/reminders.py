"""Daily reminders: each officer's day in one message, and a gentle nudge to workers who left
an idea half-written.

Both are outbox rows with a key per person and day, written in the same transaction as the
mark that they were sent: a run repeated (a new leader catching up, `jobs run` by hand) sends
nothing twice. Workers are never nudged in the quiet hours, more often than every few days,
or again after they answered "dừng".
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import Connection

from bot.services.database import Database
from bot.services.outbox import payload_of
from bot.services.rankings import targets
from dialogs import messages as msg
from dialogs.events import Reply
from storage import reminders as store
from storage import units as tree
from storage.models import InitiativeStatus, OutboxKind, Period
from storage.outbox import OutboxStore, Queued
from storage.review import ReviewStore, Scope


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    zone: zoneinfo.ZoneInfo
    review_levels: tuple[str, ...]
    stalled_after: dt.timedelta = dt.timedelta(days=3)
    worker_every: dt.timedelta = dt.timedelta(days=3)
    quiet_from: dt.time = dt.time(21)
    quiet_until: dt.time = dt.time(7)

    def quiet(self, moment: dt.datetime) -> bool:
        """Whether `moment` falls in the quiet hours (local time; they may span midnight)."""
        local = moment.astimezone(self.zone).time()
        if self.quiet_from <= self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until


class Reminders:
    def __init__(self, db: Database, policy: ReminderPolicy) -> None:
        self._db = db
        self.policy = policy

    def officers(self, *, now: dt.datetime) -> int:
        """Queue each officer's message of the day: entries waiting at their levels and for
        how long, drafts stalled in their units, each unit's pace against its quota. Only to
        officers with something waiting or stalled. How many were queued.

        Read first, then one short write: thousands of officers never hold the write lock."""
        day = now.astimezone(self.policy.zone).date()
        queued: list[Queued] = []
        with self._db.read() as connection:
            review = ReviewStore(connection)
            period = tree.current_period(connection, day)
            quotas = tree.quotas_of(connection, period.name) if period else {}
            quota = targets(tree.unit_rows(connection).values(), quotas)
            for person_id in review.officer_ids():
                chats = review.chats_of(person_id)
                if not chats:
                    continue
                lines = self._officer_lines(review, review.scopes(person_id), quota, period, now)
                if lines is None:
                    continue
                channel, chat_id = chats[0]
                payload = payload_of([Reply("\n".join([msg.OFFICER_DAY, *lines]))])
                key = f"officer-day:{day.isoformat()}:{person_id}"
                queued.append(Queued(channel, chat_id, payload, OutboxKind.NOTICE, None, key))
        with self._db.write() as connection:
            return OutboxStore(connection).add_many(queued, now=now)

    def _officer_lines(
        self,
        review: ReviewStore,
        scopes: list[Scope],
        quotas: dict[int, int | None],
        period: Period | None,
        now: dt.datetime,
    ) -> list[str] | None:
        connection = review.connection
        waiting, oldest = 0, None
        stalled_lines, pace_lines = [], []
        for scope in scopes:
            if scope.level.value in self.policy.review_levels:
                waiting += review.count_pending(scope, scope.level)
                first = store.oldest_waiting(connection, scope, scope.level)
                oldest = first if oldest is None or (first and first < oldest) else oldest
            stalled = store.stalled_drafts(
                connection, scope, before=now - self.policy.stalled_after
            )
            if stalled:
                days = self.policy.stalled_after.days
                stalled_lines.append(
                    msg.OFFICER_STALLED.format(count=stalled, days=days, unit=scope.name)
                )
            pace = self._pace(connection, scope, quotas.get(scope.unit_id), period, now)
            if pace:
                pace_lines.append(pace)
        if not waiting and not stalled_lines:
            return None
        lines = []
        if waiting:
            days = max(0, (now - oldest).days) if oldest else 0
            lines.append(msg.OFFICER_WAITING.format(count=waiting, days=days))
        return lines + stalled_lines + pace_lines

    def _pace(
        self,
        connection: Connection,
        scope: Scope,
        target: int | None,
        period: Period | None,
        now: dt.datetime,
    ) -> str:
        if not target or period is None:
            return ""
        counts = tree.status_counts(connection, scope.level, scope.unit_id)
        valid = counts.get(InitiativeStatus.VALID.value, 0)
        return msg.OFFICER_PACE.format(
            unit=scope.name,
            valid=valid,
            target=target,
            percent=round(100 * valid / target),
            days_left=(period.ends_on - now.astimezone(self.policy.zone).date()).days,
        )

    def workers(self, *, now: dt.datetime) -> int:
        """Nudge authors of stalled drafts (not in the quiet hours, not more often than
        `worker_every`, never after "dừng"). How many were nudged."""
        if self.policy.quiet(now):
            return 0
        day = now.astimezone(self.policy.zone).date()
        with self._db.write() as connection:
            found = store.to_nudge(
                connection,
                stalled_before=now - self.policy.stalled_after,
                reminded_before=now - self.policy.worker_every,
            )
            queued = []
            for person in found:
                text = (
                    msg.WORKER_NUDGE.format(title=person.title[:60])
                    if person.title
                    else msg.WORKER_NUDGE_UNTITLED
                )
                key = f"nudge:{day.isoformat()}:{person.person_id}"
                payload = payload_of([Reply(text)])
                queued.append(
                    Queued(person.channel, person.chat_id, payload, OutboxKind.BROADCAST, None, key)
                )
            store.reminded(connection, [p.person_id for p in found], now=now)
            return OutboxStore(connection).add_many(queued, now=now)
