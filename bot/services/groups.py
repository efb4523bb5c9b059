"""Union group chats and their officers: registering a group for a unit's weekly ranking
and making an account an officer.

A group post that fails goes to the unit's officers privately: see
:meth:`bot.services.outbox.Deliverer.deliver` (Zalo's group chats are in beta, and a post can
fail where a private message works).
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.channels.base import Turn
from bot.clock import Clock, system_clock
from bot.services.database import Database
from bot.services.outbox import REPLY_LEASE, Delivery, queue_replies
from bot.services.review import Notice, queue_notices
from dialogs import messages as msg
from dialogs.events import Reply
from storage.conversations import ConversationStore
from storage.groups import GroupStore
from storage.models import Role

log = logging.getLogger(__name__)


class GroupService:
    """Group registration and officer look-ups, each call one transaction."""

    def __init__(
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        lease: dt.timedelta = REPLY_LEASE,
    ) -> None:
        self._db = db
        self._clock = clock
        self._lease = lease

    def register(
        self, turn: Turn, code: str, update_key: str | None = None, *, now: dt.datetime
    ) -> list[Delivery]:
        """An officer binds a group chat to a unit for the weekly ranking; the answer to post
        in the group, written to the outbox with the binding."""
        code = code.strip().upper()
        with self._db.write() as connection:
            store = ConversationStore(connection)
            if update_key is not None and not store.claim_update(turn.channel, update_key, now=now):
                return []
            answer, notices = self._register(store, turn, code, now)
            queue_notices(connection, notices, now=now)
            return queue_replies(
                connection,
                turn.channel,
                turn.chat_id,
                [Reply(answer)],
                update_key=update_key,
                now=now,
                lease=self._lease,
            )

    @staticmethod
    def _register(
        store: ConversationStore, turn: Turn, code: str, now: dt.datetime
    ) -> tuple[str, list[Notice]]:
        """What to answer in the group, and what to tell the officers of a unit it leaves.
        Binding needs an officer of the unit or above it; moving a bound group, also one of
        the unit it serves or above that."""
        if not code:
            return msg.GROUP_USAGE, []
        unit = store.unit(code)
        if unit is None:
            return msg.GROUP_UNKNOWN_UNIT.format(code=code[:40]), []
        person_id, officer_name = store.person_for(turn.channel, turn.user_id, now=now)

        def serves(unit_id: int) -> bool:
            chain = store.unit_and_ancestors(unit_id)
            return any(store.has_role(person_id, u["id"], Role.OFFICER) for u in chain)

        if not serves(unit.id):
            return msg.GROUP_NOT_OFFICER.format(unit=unit.name), []
        groups = GroupStore(store.connection)
        current = groups.unit_of(turn.channel, turn.chat_id)
        notices: list[Notice] = []
        if current is not None and current != unit.id:
            if not serves(current):
                [left, *_] = store.unit_and_ancestors(current)
                return msg.GROUP_BOUND_ELSEWHERE.format(unit=left["name"]), []
            text = msg.GROUP_MOVED.format(unit=unit.name, officer=officer_name or "?")
            moved = f"group-moved:{turn.channel}:{turn.chat_id}:{now.isoformat()}"
            notices = [
                Notice(turn.channel, chat, text, f"{moved}:{chat}")
                for chat in groups.officer_chats(current, turn.channel)
                if chat != turn.user_id
            ]
        groups.bind(turn.channel, turn.chat_id, unit.id, person_id, now=now)
        return msg.GROUP_REGISTERED.format(unit=unit.name), notices

    def officer_chats(self, channel: str, chat_id: str) -> list[str]:
        """Private chats of the officers of the unit a group serves (for fallbacks)."""
        with self._db.read() as connection:
            groups = GroupStore(connection)
            unit_id = groups.unit_of(channel, chat_id)
            return groups.officer_chats(unit_id, channel) if unit_id is not None else []

    def add_officer(self, channel: str, user_id: str, name: str, unit_code: str) -> None:
        """Make the chat account `user_id` an officer of the unit."""
        now = self._clock()
        with self._db.write() as connection:
            store = ConversationStore(connection)
            unit = store.unit(unit_code)
            if unit is None:
                raise LookupError(f"no unit {unit_code!r}")
            person_id, _ = store.person_for(channel, user_id, now=now)
            store.update_person(person_id, {"name": name, "updated_at": now})
            store.add_role(person_id, unit.id, Role.OFFICER)
