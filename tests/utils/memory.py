"""An in-memory :class:`~dialogs.state.Directory` for driving the pure engine without a database."""

from __future__ import annotations

import datetime as dt

from dialogs.state import Draft, IdeaRef, IdeaStatus, UnitRef

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
