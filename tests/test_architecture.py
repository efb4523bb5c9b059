"""The seams between the rooms: what crosses them is explicit and checked here.

(Which room may import which is checked by import-linter: `lint-imports` in .ci/run.)
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.services.conversation import DRAFT_COLUMNS
from dialogs.state import Draft, IdeaStatus
from storage.models import InitiativeBase, InitiativeStatus

ROOT = Path(__file__).resolve().parent.parent


def test_every_draft_field_has_an_initiative_column_and_back() -> None:
    # Not answers: bookkeeping, and whom an officer entered it for (author_id, confirmed_by_id).
    answers = set(Draft.model_fields) - {
        "id",
        "sources",
        "voice_notes",
        "reopen",
        "author",
        "confirmed",
        "similar_checked",
    }
    columns = set(InitiativeBase.model_fields) - {"title"}  # the title is derived
    assert set(DRAFT_COLUMNS) == answers
    assert set(DRAFT_COLUMNS.values()) == columns


def test_the_dialog_shows_every_stored_status() -> None:
    assert [s.value for s in IdeaStatus] == [s.value for s in InitiativeStatus]


def _clock_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith(("datetime.now", "utcnow", "date.today", "time.time", "monotonic")):
                found.append(f"{path.name}:{node.lineno} {name}()")
    return found


def test_storage_and_dialogs_have_no_clock_of_their_own() -> None:
    files = [*ROOT.glob("storage/*.py"), *ROOT.glob("dialogs/**/*.py")]
    assert files
    assert [call for path in files for call in _clock_calls(path)] == []
