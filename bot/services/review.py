"""Officers' work: invitations, the review queues, decisions and what the author is told.

:class:`ReviewDesk` is the dialog's :class:`~dialogs.state.Desk` for one person in one turn:
its reads and writes run on the turn's connection, so a decision, its history row, the card
that follows and the word to the author commit together or not at all. Authority is checked
here on every call: an officer acts on their units and everything below, at their own
review level or a lower one, and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Connection, RowMapping

from bot.clock import Clock, system_clock
from bot.services import access, similar
from bot.services.database import Database
from bot.services.outbox import payload_of
from bot.services.prompts import PromptPacks
from dialogs import messages as msg
from dialogs.answers import phone_number
from dialogs.events import Option, Reply
from dialogs.state import (
    BenefitKind,
    Card,
    Decided,
    Draft,
    FieldOfWork,
    IdeaStatus,
    SimilarRef,
    SpokenPart,
    Step,
    UnitRef,
    Worker,
)
from nlp.audio import AudioError
from nlp.text import match_key
from storage import prompts as prompt_store
from storage import similar as similar_store
from storage import units as tree
from storage.conversations import ConversationStore
from storage.models import (
    LEVEL_RANK,
    Decision,
    InitiativeStatus,
    OutboxKind,
    Role,
    UnitLevel,
)
from storage.outbox import OutboxStore, Queued
from storage.people import PeopleStore
from storage.review import ReviewStore, Scope

# Codes people type: no 0/O, 1/I/L.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def invite_hash(code: str) -> str:
    """What is stored of a code: its SHA-256, over the code as typed in any case or spacing.
    Codes are random (40 bits) and single-use, so a plain hash is enough; no salt needed."""
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def new_invite_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for someone other than the person chatting, written with the turn: a text,
    or whole replies (a question with its choices)."""

    channel: str
    chat_id: str
    text: str
    dedup_key: str
    replies: tuple[Reply, ...] = ()


def name_key(name: str) -> str:
    """A person's name as found by a search: lower case, no diacritics, as long as the
    column holds."""
    return match_key(name)[:100]


def into_queue(
    levels: tuple[UnitLevel, ...], now: dt.datetime, level: UnitLevel | None = None
) -> dict[str, Any]:
    """The columns that put an initiative in the queue of `level` (the first one by default):
    submitted to the first level, under review at a later one."""
    level = level or levels[0]
    status = InitiativeStatus.SUBMITTED if level is levels[0] else InitiativeStatus.UNDER_REVIEW
    return {
        "status": status.value,
        "submitted_at": now,
        "review_level": level.value,
        "return_step": None,
    }


def may_decide(scopes: Sequence[Scope], row: RowMapping, level: UnitLevel) -> bool:
    """Whether an officer serving `scopes` decides an initiative (its unit columns in `row`)
    waiting at `level`: under one of their units, at that unit's level or a lower one."""
    for scope in scopes:
        if LEVEL_RANK[level] > LEVEL_RANK[scope.level]:
            continue
        column = tree.SCOPE_COLUMN[scope.level]
        if column is None or row[column] == scope.unit_id:
            return True
    return False


@dataclass(slots=True)
class ReviewDesk:
    """The officer's desk (and anyone's: with no units it permits nothing) for one turn."""

    connection: Connection
    person_id: int
    levels: tuple[UnitLevel, ...]
    now: dt.datetime
    notices: list[Notice] = field(default_factory=list)
    # The officer's channel can play a recording back: cards then carry the spoken answers.
    playback: bool = False
    # Where an officer's recordings of the questions are kept (/ghiam).
    packs: PromptPacks | None = None
    # How alike a stored idea must be to be listed on a card: very similar, related.
    similar_at: tuple[float, float] = (similar.VERY, similar.RELATED)
    # Workers are told of a very similar idea before the summary ([similar] ask_workers).
    ask_similar: bool = True
    # Where the officers' web pages live ([web] public_url); empty: no pages.
    web_url: str = ""
    _scopes: list[Scope] | None = None

    @property
    def store(self) -> ReviewStore:
        return ReviewStore(self.connection)

    def scopes(self) -> list[Scope]:
        if self._scopes is None:
            self._scopes = self.store.scopes(self.person_id)
        return self._scopes

    def officer_units(self) -> list[UnitRef]:
        return [
            UnitRef(code=s.code, name=s.name, grassroots=s.level is UnitLevel.GRASSROOTS)
            for s in self.scopes()
        ]

    def redeem(self, code: str) -> UnitRef | None:
        unit_id = self.store.redeem(invite_hash(code), self.person_id, now=self.now)
        if unit_id is None:
            return None
        ConversationStore(self.connection).add_role(self.person_id, unit_id, Role.OFFICER)
        self._scopes = None
        unit = next(s for s in self.scopes() if s.unit_id == unit_id)
        return UnitRef(
            code=unit.code, name=unit.name, grassroots=unit.level is UnitLevel.GRASSROOTS
        )

    def _queues(self) -> list[tuple[Scope, UnitLevel]]:
        """(scope, review level) pairs this officer works, their own level first, then the
        levels below it, highest scope first."""
        pairs = [
            (scope, level)
            for scope in self.scopes()
            for level in self.levels
            if LEVEL_RANK[level] <= LEVEL_RANK[scope.level]
        ]
        return sorted(pairs, key=lambda p: (-LEVEL_RANK[p[1]], -LEVEL_RANK[p[0].level]))

    def next_card(self, skip: list[int]) -> Card | None:
        for scope, level in self._queues():
            found = self.store.next_pending(scope, level, skip=skip)
            if found is not None:
                return self.card(found)
        return None

    def _may_decide(self, row: RowMapping, level: UnitLevel) -> bool:
        return may_decide(self.scopes(), row, level)

    def card(self, initiative_id: int) -> Card | None:
        row = self.store.card(initiative_id)
        if row is None or row["review_level"] is None:
            return None
        if not self._may_decide(row, UnitLevel(row["review_level"])):
            return None  # another union's entry: not even its existence is shown
        history = [
            f"{msg.LEVEL_NAMES[h['level']]}: {msg.DECISION_NAMES[h['decision']]}"
            f" ({h['officer_name'] or '?'})"
            for h in self.store.history([initiative_id]).get(initiative_id, [])
        ]
        entered_by = None
        if row["entered_by_id"] is not None:
            entered_by = ConversationStore(self.connection).person_name(row["entered_by_id"])
        return Card(
            id=row["id"],
            level=row["review_level"],
            title=row["title"],
            problem=row["problem"],
            solution=row["solution"],
            benefit_kind=BenefitKind(row["benefit_kind"]) if row["benefit_kind"] else None,
            benefit_detail=row["benefit_detail"],
            benefit_value_vnd=row["benefit_value_vnd"],
            field=FieldOfWork(row["field"]) if row["field"] else None,
            applied=row["applied"],
            applied_on=row["applied_on"],
            co_authors=row["co_authors"],
            author_name=row["author_name"],
            unit_name=row["unit_name"],
            submitted_at=row["submitted_at"],
            sources=dict(row["sources"]),
            history=history,
            entered_by=entered_by,
            confirmed_by_author=row["confirmed_by_id"] == row["author_id"],
            recordings=self._recordings(initiative_id, row["sources"]),
            doubtful=sorted(
                part
                for part in self.store.heard_with_doubt(initiative_id)
                if row["sources"].get(part) == "voice"  # not a part typed again since
            ),
            **self._similar(initiative_id, row["problem"] or "", row["solution"] or ""),
        )

    def _similar(self, initiative_id: int, problem: str, solution: str) -> dict[str, Any]:
        """Stored ideas of the entry's province like it, very similar or related: the card's
        `similar` lines and `similar_ids`."""
        found = similar_store.of_initiative(self.connection, initiative_id)
        if found is None:
            return {}
        very, related = self.similar_at
        matches = similar.matches(
            self.connection,
            problem,
            solution,
            [found[0]],
            at_least=related,
            exclude=initiative_id,
            limit=3,
        )
        lines = [
            msg.CARD_SIMILAR_LINE.format(
                how=msg.SIMILAR_VERY if m.score >= very else msg.SIMILAR_RELATED,
                percent=round(m.score * 100),
                id=m.initiative_id,
                title=m.title,
                unit=m.unit_name,
                status=msg.STATUS_LABELS[IdeaStatus(m.status)],
            )
            for m in matches
        ]
        return {"similar": lines, "similar_ids": [m.initiative_id for m in matches]}

    def mark_duplicate(self, initiative_id: int, level: str, of: int) -> Decided:
        at = UnitLevel(level)
        row = self.store.card(initiative_id)
        if row is None or not self._may_decide(row, at):
            return Decided.FORBIDDEN
        listed = self._similar(initiative_id, row["problem"] or "", row["solution"] or "")
        if of >= initiative_id or of not in listed.get("similar_ids", []):
            return Decided.FORBIDDEN  # only an earlier idea its card lists (of its province)
        values = {
            "status": InitiativeStatus.DUPLICATE.value,
            "duplicate_of": of,
            "updated_at": self.now,
        }
        if not self.store.decide(initiative_id, at, values):
            return Decided.TAKEN
        self.store.add_review(
            {
                "initiative_id": initiative_id,
                "level": at.value,
                "officer_id": self.person_id,
                "decision": Decision.DUPLICATE.value,
                "reason": f"#{of}",
                "created_at": self.now,
            }
        )
        other = self.store.card(of)
        text = msg.TOLD_DUPLICATE.format(
            title=row["title"], of=of, other=other["title"] if other else "?"
        )
        for channel, chat_id in self.store.chats_of(row["author_id"])[:1]:
            self.notices.append(Notice(channel, chat_id, text, f"dup:{initiative_id}"))
        return Decided.DONE

    def _recordings(self, initiative_id: int, sources: dict[str, str]) -> list[SpokenPart]:
        if not self.playback or "voice" not in sources.values():
            return []
        return [
            SpokenPart(field=r["field"], path=r["path"], seconds=r["duration_s"])
            for r in self.store.recordings(initiative_id)
            if sources.get(r["field"]) == "voice"  # not a part typed again since
        ]

    def decide(
        self, initiative_id: int, level: str, decision: str, reason: str | None, part: Step | None
    ) -> Decided:
        at = UnitLevel(level)
        row = self.store.card(initiative_id)
        if row is None or not self._may_decide(row, at):
            return Decided.FORBIDDEN
        choice = Decision(decision)
        values: dict[str, Any] = {"updated_at": self.now}
        later = self.levels[self.levels.index(at) + 1 :] if at in self.levels else ()
        if choice is Decision.VALID and later:
            values |= {"status": InitiativeStatus.UNDER_REVIEW.value, "review_level": later[0]}
        elif choice is Decision.VALID:
            values["status"] = InitiativeStatus.VALID.value
        elif choice is Decision.RETURNED:
            step = part or Step.SUMMARY
            values |= {"status": InitiativeStatus.RETURNED.value, "return_step": step.value}
        else:
            values["status"] = InitiativeStatus.REJECTED.value
        if not self.store.decide(initiative_id, at, values):
            return Decided.TAKEN
        review_id = self.store.add_review(
            {
                "initiative_id": initiative_id,
                "level": at.value,
                "officer_id": self.person_id,
                "decision": choice.value,
                "reason": reason,
                "created_at": self.now,
            }
        )
        self._tell_author(row, choice, at, later[0] if later else None, reason, part, review_id)
        return Decided.DONE

    # --- entering ideas for workers ----------------------------------------------------

    def _parts(self) -> list[tuple[UnitLevel, int]]:
        return [(scope.level, scope.unit_id) for scope in self.scopes()]

    def find_workers(self, query: str) -> list[Worker]:
        people = PeopleStore(self.connection)
        phone = phone_number(query)
        if phone is not None:
            rows = people.find(self._parts(), phone=phone)
        else:
            rows = people.find(self._parts(), words=match_key(query).split()[:4])
        key = match_key(query)
        ranked = sorted(
            rows, key=lambda row: (-fuzz.token_sort_ratio(key, match_key(row["name"])), row["id"])
        )
        return [worker_of(row) for row in ranked[:_FOUND_MAX]]

    def worker(self, person_id: int) -> Worker | None:
        row = PeopleStore(self.connection).worker(person_id, self._parts())
        return worker_of(row) if row is not None else None

    def _grassroots(self, code: str) -> RowMapping | None:
        """The grassroots union with `code` (id, code, name, level), if the officer serves it
        or a unit above it."""
        store = ConversationStore(self.connection)
        unit = store.unit_as_typed(code)
        if unit is None or unit["level"] != UnitLevel.GRASSROOTS.value:
            return None
        chain = {row["id"] for row in store.unit_and_ancestors(unit["id"])}
        if not any(s.level is UnitLevel.NATIONAL or s.unit_id in chain for s in self.scopes()):
            return None
        return unit

    def grassroots_unit(self, code: str) -> UnitRef | None:
        unit = self._grassroots(code)
        if unit is None:
            return None
        return UnitRef(code=unit["code"], name=unit["name"], grassroots=True)

    def add_worker(self, name: str, unit_code: str, phone: str | None) -> Worker | None:
        unit = self._grassroots(unit_code)
        if unit is None:
            return None
        person_id = PeopleStore(self.connection).add(
            {
                "name": name,
                "name_key": name_key(name),
                "phone": phone,
                "unit_id": unit["id"],
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        return self.worker(person_id)

    def answer_entry(self, initiative_id: int, mine: bool) -> bool:
        if mine:
            values = into_queue(self.levels, self.now) | {
                "confirmed_by_id": self.person_id,
                "confirmed_at": self.now,
            }
        else:
            values = {"status": InitiativeStatus.WITHDRAWN.value}
        values["updated_at"] = self.now
        row = self.store.answer_entry(initiative_id, self.person_id, values)
        if row is None:
            return False
        author = ConversationStore(self.connection).person_name(self.person_id) or "?"
        told = msg.TOLD_CONFIRMED if mine else msg.TOLD_DENIED
        text = told.format(name=author, title=row["title"])
        for channel, chat_id in self.store.chats_of(row["entered_by_id"])[:1]:
            self.notices.append(Notice(channel, chat_id, text, f"own:{initiative_id}:answer"))
        return True

    def recorded(self, unit_code: str) -> set[str]:
        scope = self._own_scope(unit_code)
        if scope is None or self.packs is None:
            return set()
        return self.packs.recorded(self.connection, scope.unit_id)

    def keep_clip(self, unit_code: str, key: str, note_id: int, heard: str, score: float) -> bool:
        scope = self._own_scope(unit_code)
        if scope is None or self.packs is None:
            return False
        path = prompt_store.note_path(self.connection, note_id, self.person_id)
        if path is None:
            return False
        try:
            data = Path(path).read_bytes()
            name = ConversationStore(self.connection).person_name(self.person_id) or ""
            self.packs.store(
                self.connection,
                unit_id=scope.unit_id,
                key=key,
                data=data,
                heard=heard,
                score=round(score, 3),
                recorder=name,
                person_id=self.person_id,
            )
        except (OSError, AudioError):
            return False
        return True

    def ask_for_help(self, question: str) -> bool:
        """The officers of the worker's union (or, if it has none with a chat, the nearest
        unit's above it) are told, at most once a day each."""
        found = prompt_store.person_unit(self.connection, self.person_id)
        if found is None:
            return False
        name, unit_id, unit_name = found
        text = msg.OFFICER_HELP_NEEDED.format(name=name, unit=unit_name, question=question)
        day = self.now.date().isoformat()
        chats = self._nearest_officers(unit_id)
        for channel, chat_id in chats:
            key = f"help:{self.person_id}:{day}:{chat_id}"
            self.notices.append(Notice(channel, chat_id, text, key))
        return bool(chats)

    def _nearest_officers(self, unit_id: int) -> list[tuple[str, str]]:
        """(channel, chat) of the officers of the unit, or of the nearest unit above it with
        one who has a chat with the bot: one chat each, their newest."""
        for unit in prompt_store.chain(self.connection, unit_id):
            chats = [
                chat
                for officer in self.store.officers_of(unit)
                for chat in self.store.chats_of(officer)[:1]
            ]
            if chats:
                return chats
        return []

    def similar_idea(self, draft: Draft) -> SimilarRef | None:
        """The closest stored idea of the worker's province at "very similar" or above."""
        found = prompt_store.person_unit(self.connection, self.person_id)
        if found is None or not self.ask_similar:
            return None
        district_and_province = ConversationStore(self.connection).district_and_province(found[1])
        matches = similar.matches(
            self.connection,
            draft.problem or "",
            draft.solution or "",
            [district_and_province[1] or 0],
            at_least=self.similar_at[0],
            exclude=draft.id,
            limit=1,
        )
        if not matches:
            return None
        best = matches[0]
        return SimilarRef(
            id=best.initiative_id,
            title=best.title,
            unit=best.unit_name,
            status=msg.STATUS_LABELS[IdeaStatus(best.status)],
        )

    def ask_to_join(self, initiative_id: int, draft_id: int | None) -> bool:
        """Record the request; the officers of the idea's union (or the nearest unit above
        with one in a chat) get it, with buttons where there are buttons."""
        request = similar_store.ask_to_join(
            self.connection, initiative_id, self.person_id, draft_id, self.now
        )
        found = similar_store.join(self.connection, request)
        worker = prompt_store.person_unit(self.connection, self.person_id)
        if found is None or worker is None:
            return False
        text = msg.OFFICER_JOIN_ASKED.format(
            name=worker[0], unit=worker[2], id=initiative_id, title=found.title, request=request
        )
        buttons = (
            Option(msg.JOIN_YES, f"/nhan {request}"),
            Option(msg.JOIN_NO, f"/khongnhan {request}"),
        )
        chats = self._nearest_officers(found.unit_id)
        for channel, chat_id in chats:
            reply = Reply(text, options=buttons if channel == "telegram" else ())
            key = f"join:{request}:{chat_id}"
            self.notices.append(Notice(channel, chat_id, text, key, (reply,)))
        return bool(chats)

    def answer_join(self, request_id: int, accept: bool) -> str:
        found = similar_store.join(self.connection, request_id)
        if found is None or not self._may_decide(
            {
                "unit_id": found.unit_id,
                "district_id": found.district_id,
                "province_id": found.province_id,
            },  # type: ignore[arg-type]
            UnitLevel.GRASSROOTS,
        ):
            return msg.JOIN_FORBIDDEN
        if not similar_store.decide_join(
            self.connection, request_id, accept, self.person_id, self.now
        ):
            return msg.JOIN_DONE_ALREADY
        worker = ConversationStore(self.connection).person_name(found.person_id) or "?"
        if accept:
            similar_store.add_co_author(self.connection, found.initiative_id, worker, self.now)
            if found.draft_id is not None:
                similar_store.close_draft(
                    self.connection, found.draft_id, found.person_id, self.now
                )
            told = msg.TOLD_JOIN_ACCEPTED.format(title=found.title)
        else:
            told = msg.TOLD_JOIN_DECLINED.format(title=found.title)
        for channel, chat_id in self.store.chats_of(found.person_id)[:1]:
            self.notices.append(Notice(channel, chat_id, told, f"join:{request_id}:answer"))
        template = msg.JOIN_ACCEPTED if accept else msg.JOIN_DECLINED
        return template.format(name=worker, title=found.title)

    def web_link(self) -> str:
        if not self.web_url:
            return msg.WEB_NOT_SET
        token = access.new_link(self.connection, self.person_id, now=self.now)
        if token is None:
            return msg.WEB_TOO_MANY
        return msg.WEB_LINK.format(url=f"{self.web_url}/web/login/{token}")

    def _own_scope(self, unit_code: str) -> Scope | None:
        return next((s for s in self.scopes() if s.code == unit_code), None)

    def _tell_author(
        self,
        row: RowMapping,
        choice: Decision,
        at: UnitLevel,
        following: UnitLevel | None,
        reason: str | None,
        part: Step | None,
        review_id: int,
    ) -> None:
        title = row["title"]
        if choice is Decision.VALID and following is not None:
            text = msg.TOLD_VALID_NEXT.format(
                title=title, level=msg.LEVEL_NAMES[at], next=msg.LEVEL_NAMES[following]
            )
        elif choice is Decision.VALID:
            text = msg.TOLD_VALID.format(title=title)
        elif choice is Decision.RETURNED:
            label = msg.EDIT_LABELS.get(part or Step.SUMMARY, msg.REVIEW_WHOLE)
            text = msg.TOLD_RETURNED.format(
                title=title, part=msg.strip_emoji_label(label).lower(), reason=reason
            )
        else:
            text = msg.TOLD_REJECTED.format(title=title, reason=reason)
        told = [(row["author_id"], text, f"review:{review_id}")]
        if row["entered_by_id"] is not None:
            # Whoever entered it edits a returned one; its author is told it is in hand.
            if choice is Decision.RETURNED:
                helped = text.rsplit("\n", 1)[0] + "\n" + msg.TOLD_RETURNED_HELPED
                told[0] = (row["author_id"], helped, f"review:{review_id}")
            told.append((row["entered_by_id"], text, f"review:{review_id}:entered"))
        for person_id, words, key in told:
            for channel, chat_id in self.store.chats_of(person_id)[:1]:
                self.notices.append(Notice(channel, chat_id, words, key))


_FOUND_MAX = 8


def worker_of(row: RowMapping) -> Worker:
    """A person as :class:`storage.people.PeopleStore` describes them, for the dialog."""
    phone = row["phone"]
    return Worker(
        person_id=row["id"],
        name=row["name"],
        unit_code=row["unit_code"],
        unit_name=row["unit_name"],
        phone_tail=phone[-3:] if phone else None,
        reachable=bool(row["reachable"]),
    )


def queue_notices(connection: Connection, notices: list[Notice], *, now: dt.datetime) -> None:
    """Write each notice to the outbox, due now for whichever process serves its channel."""
    outbox = OutboxStore(connection)
    for notice in notices:
        message = Queued(
            notice.channel,
            notice.chat_id,
            payload_of(notice.replies or [Reply(notice.text)]),
            kind=OutboxKind.NOTICE,
            dedup_key=notice.dedup_key,
        )
        outbox.add(message, now=now, lease_until=None)


@dataclass(frozen=True, slots=True)
class Invitation:
    code: str
    unit_code: str
    unit_name: str
    expires_at: dt.datetime
    link: str | None


class ReviewService:
    """Officers' administration and batched notices, each call one transaction."""

    def __init__(
        self, db: Database, levels: tuple[UnitLevel, ...], clock: Clock = system_clock
    ) -> None:
        self._db = db
        self._levels = levels
        self._clock = clock

    def invite(
        self, unit_code: str, *, expires: dt.timedelta, bot_username: str = ""
    ) -> Invitation:
        now = self._clock()
        code = new_invite_code()
        with self._db.write() as connection:
            unit = ConversationStore(connection).unit(unit_code)
            if unit is None:
                raise LookupError(f"no unit {unit_code.upper()!r}")
            ReviewStore(connection).add_invite(
                {
                    "code_hash": invite_hash(code),
                    "unit_id": unit["id"],
                    "created_at": now,
                    "expires_at": now + expires,
                }
            )
        compact = code.replace("-", "")
        link = f"https://t.me/{bot_username}?start=canbo-{compact}" if bot_username else None
        return Invitation(code, unit["code"], unit["name"], now + expires, link)

    def officers(self) -> list[RowMapping]:
        with self._db.read() as connection:
            return list(ReviewStore(connection).officers())

    def remove_officer(self, person_id: int, unit_code: str) -> bool:
        with self._db.write() as connection:
            unit = ConversationStore(connection).unit(unit_code)
            if unit is None:
                raise LookupError(f"no unit {unit_code.upper()!r}")
            return ReviewStore(connection).remove_officer(person_id, unit["id"])

    def notify_officers(self, *, every: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Tell each officer, in one message, how many new entries wait at their own level
        since they were last told; at most once per `every`. How many were told."""
        now = now or self._clock()
        told = 0
        with self._db.write() as connection:
            store = ReviewStore(connection)
            for person_id in store.officer_ids():
                last = store.last_notice(person_id)
                if last is not None and now - last < every:
                    continue
                count = sum(
                    store.count_pending(scope, scope.level, since=last)
                    for scope in store.scopes(person_id)
                    if scope.level in self._levels
                )
                chats = store.chats_of(person_id)
                if not count or not chats:
                    continue
                channel, chat_id = chats[0]
                notice = Notice(
                    channel,
                    chat_id,
                    msg.WAITING_NOTICE.format(count=count),
                    f"waiting:{person_id}:{now.isoformat()}",
                )
                queue_notices(connection, [notice], now=now)
                store.noticed(person_id, now=now)
                told += 1
        return told
