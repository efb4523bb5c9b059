"""An in-memory :class:`~dialogs.state.Directory` for driving the pure engine without a database."""

from __future__ import annotations

import datetime as dt

from dialogs.state import (
    BenefitKind,
    Card,
    Decided,
    Draft,
    FieldOfWork,
    IdeaRef,
    IdeaStatus,
    SimilarRef,
    Step,
    UnitRef,
    Worker,
)
from nlp.text import match_key

UNITS = {
    "HN": UnitRef(code="HN", name="Liên đoàn Lao động TP Hà Nội", grassroots=False),
    "HN-DM01": UnitRef(code="HN-DM01", name="CĐCS Công ty CP May Đức Giang", grassroots=True),
}


class MemoryDirectory:
    def __init__(self, drafts: dict[int, Draft] | None = None) -> None:
        self.saved = drafts or {}

    def find_unit(self, code: str) -> UnitRef | None:
        return UNITS.get(code) or UNITS.get(code.replace("DM", "-DM"))

    def suggest_units(self, code: str) -> list[UnitRef]:
        return [UNITS["HN-DM01"]] if code.startswith("HN") else []

    def drafts(self) -> list[IdeaRef]:
        when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        return [
            IdeaRef(id=i, title=d.problem or "", status=IdeaStatus.DRAFT, updated_at=when)
            for i, d in self.saved.items()
        ]

    def submitted(self) -> list[IdeaRef]:
        return []

    def load_draft(self, initiative_id: int) -> Draft | None:
        return self.saved.get(initiative_id)


class MemoryDesk:
    """An officer of the city federation HN (so of HN-DM01 below it) with one entry waiting,
    for driving the review and assisted-entry steps purely."""

    def __init__(self) -> None:
        self.decisions: list[tuple[int, str, str | None, Step | None]] = []
        # Two workers of HN-DM01: An writes to the bot, Bình has no phone with the app.
        self.workers = {
            90: Worker(
                person_id=90,
                name="Nguyễn Văn An",
                unit_code="HN-DM01",
                unit_name="CĐCS Công ty CP May Đức Giang",
                phone_tail="678",
                reachable=True,
            ),
            91: Worker(
                person_id=91,
                name="Lê Thị Bình",
                unit_code="HN-DM01",
                unit_name="CĐCS Công ty CP May Đức Giang",
            ),
        }
        self.answers: list[tuple[int, bool]] = []
        self.clips: list[tuple[str, str, int, str, float]] = []
        self.helped: list[str] = []
        self.joins: list[tuple[int, int | None]] = []
        self.join_answers: list[tuple[int, bool]] = []
        self.waiting = {
            41: Card(
                id=41,
                level="grassroots",
                title="Gắn thanh dẫn vải",
                problem="Máy hay kẹt vải",
                solution="Gắn thanh dẫn vải",
                benefit_kind=BenefitKind.TIME,
                benefit_detail="30 phút mỗi ca",
                benefit_value_vnd=None,
                field=FieldOfWork.PRODUCTION,
                applied=True,
                applied_on=None,
                co_authors="",
                author_name="Nguyễn Thị Lan",
                unit_name="CĐCS Công ty CP May Đức Giang",
                submitted_at=dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC),
                sources={"problem": "voice"},
                similar=["• rất giống (90%): số 7 «Kệ phụ liệu» · CĐCS May · ⏳ Đã gửi"],
                similar_ids=[7],
            )
        }

    def officer_units(self) -> list[UnitRef]:
        return [UNITS["HN"]]

    def redeem(self, code: str) -> UnitRef | None:
        return UNITS["HN-DM01"] if code.upper() == "K7QM-2XPA" else None

    def next_card(self, skip: list[int]) -> Card | None:
        return next((c for i, c in self.waiting.items() if i not in skip), None)

    def card(self, initiative_id: int) -> Card | None:
        return self.waiting.get(initiative_id)

    def decide(
        self, initiative_id: int, level: str, decision: str, reason: str | None, part: Step | None
    ) -> Decided:
        if self.waiting.pop(initiative_id, None) is None:
            return Decided.TAKEN
        self.decisions.append((initiative_id, decision, reason, part))
        return Decided.DONE

    def find_workers(self, query: str) -> list[Worker]:
        key = match_key(query)
        return [w for w in self.workers.values() if key and key in match_key(w.name)]

    def worker(self, person_id: int) -> Worker | None:
        return self.workers.get(person_id)

    def grassroots_unit(self, code: str) -> UnitRef | None:
        return UNITS["HN-DM01"] if code == "HN-DM01" else None

    def add_worker(self, name: str, unit_code: str, phone: str | None) -> Worker | None:
        if unit_code != "HN-DM01":
            return None
        worker = Worker(
            person_id=100 + len(self.workers),
            name=name,
            unit_code=unit_code,
            unit_name=UNITS[unit_code].name,
            phone_tail=phone[-3:] if phone else None,
        )
        self.workers = {**self.workers, worker.person_id: worker}
        return worker

    def answer_entry(self, initiative_id: int, mine: bool) -> bool:
        if any(i == initiative_id for i, _ in self.answers):
            return False
        self.answers.append((initiative_id, mine))
        return True

    def recorded(self, unit_code: str) -> set[str]:
        return {key for unit, key, *_ in self.clips if unit == unit_code}

    def keep_clip(self, unit_code: str, key: str, note_id: int, heard: str, score: float) -> bool:
        self.clips.append((unit_code, key, note_id, heard, score))
        return True

    def ask_for_help(self, question: str) -> bool:
        self.helped.append(question)
        return True

    def similar_idea(self, draft: Draft) -> SimilarRef | None:
        """Entry 41 is very like any draft whose problem says «giống» (alike)."""
        if "giống" not in (draft.problem or "").lower():
            return None
        return SimilarRef(id=41, title="Gắn thanh dẫn vải", unit="CĐCS May", status="⏳ Đã gửi")

    def ask_to_join(self, initiative_id: int, draft_id: int | None) -> bool:
        self.joins.append((initiative_id, draft_id))
        return True

    def answer_join(self, request_id: int, accept: bool) -> str:
        self.join_answers.append((request_id, accept))
        return f"answered {request_id}"

    def web_link(self) -> str:
        return "https://example.test/web/login/token"

    def mark_duplicate(self, initiative_id: int, level: str, of: int) -> Decided:
        if self.waiting.pop(initiative_id, None) is None:
            return Decided.TAKEN
        self.decisions.append((initiative_id, "duplicate", str(of), None))
        return Decided.DONE
