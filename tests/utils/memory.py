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
    Step,
    UnitRef,
)

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
    """An officer of HN-DM01 with one entry waiting, for driving the review steps purely."""

    def __init__(self) -> None:
        self.decisions: list[tuple[int, str, str | None, Step | None]] = []
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
            )
        }

    def officer_units(self) -> list[UnitRef]:
        return [UNITS["HN-DM01"]]

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
