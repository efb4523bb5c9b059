"""The step declarations: every step reachable, every step can go back, stop and explain itself,
and the committed diagram matches the declarations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dialogs import messages as msg
from dialogs.diagram import document, readme_with_diagram
from dialogs.engine import handle, interrupt
from dialogs.events import Inbound, VoiceIn, parse_text
from dialogs.flows.submit import SPECS, SUBMIT
from dialogs.state import Confirmation, Draft, State, Step
from tests.utils.memory import MemoryDesk, MemoryDirectory

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parent.parent

TO_MENU = ["xin chào", "HN-DM01", "Nguyễn Thị Lan"]
TO_SUMMARY = [
    *TO_MENU,
    "1",
    "Khó khăn lúc trước",
    "Cách làm mới",
    "1",
    "30 phút mỗi ca",
    "1",
    "2",
    "không",
]
# From a first message, what a worker types to stand at each step.
ROUTES: dict[Step, list[str]] = {
    Step.START: [],
    Step.ONBOARD_UNIT: ["xin chào"],
    Step.ONBOARD_NAME: ["xin chào", "HN-DM01"],
    Step.MENU: TO_MENU,
    Step.PICK_DRAFT: [*TO_MENU, "2"],
    Step.RESUME: [*TO_MENU, "1", "Khó khăn lúc trước", "menu", "1"],
    Step.PROBLEM: [*TO_MENU, "1"],
    Step.SOLUTION: TO_SUMMARY[:5],
    Step.BENEFIT_KIND: TO_SUMMARY[:6],
    Step.BENEFIT_DETAIL: TO_SUMMARY[:7],
    Step.FIELD: TO_SUMMARY[:8],
    Step.APPLIED: TO_SUMMARY[:9],
    Step.COAUTHORS: TO_SUMMARY[:10],
    Step.SUMMARY: TO_SUMMARY,
    Step.EDIT_PICK: [*TO_SUMMARY, "sửa"],
    Step.REVIEW_CARD: [*TO_MENU, "/duyet"],
    Step.REVIEW_PART: [*TO_MENU, "/duyet", "2"],
    Step.REVIEW_REASON: [*TO_MENU, "/duyet", "3"],
    Step.REVIEW_DUPLICATE: [*TO_MENU, "/duyet", "trùng"],
    Step.ASSIST_FIND: [*TO_MENU, "/duyet", "menu", "5"],
    Step.ASSIST_PICK: [*TO_MENU, "/duyet", "menu", "5", "An"],
    Step.ASSIST_NEW_NAME: [*TO_MENU, "/duyet", "menu", "5", "An", "2"],
    Step.ASSIST_NEW_UNIT: [*TO_MENU, "/duyet", "menu", "5", "An", "2", "Phạm Văn Tư"],
    Step.ASSIST_NEW_PHONE: [*TO_MENU, "/duyet", "menu", "5", "Phạm Văn Tư", "1", "hn dm01"],
    Step.ASSIST_AGREED: [
        *TO_MENU,
        "/duyet",
        "menu",
        "5",
        "Bình",
        "1",
        *TO_SUMMARY[4:],
        "1",
    ],
    # Asked from outside (an officer's entry), on top of wherever the worker is.
    Step.CONFIRM_OWN: TO_MENU,
    Step.STUCK: [*TO_MENU, "1", "không biết", "không nhớ"],
    # A problem like a stored idea's (the desk says so for «giống»).
    Step.SIMILAR: [*TO_MENU, "1", "Khó khăn giống hệt", *TO_SUMMARY[5:]],
    Step.RECORD: [*TO_MENU, "/ghiam"],
    # And a note that says something else (below).
    Step.RECORD_CHECK: [*TO_MENU, "/ghiam"],
}


def _directory() -> MemoryDirectory:
    return MemoryDirectory({7: Draft(id=7, problem="Nháp cũ")})


def run(state: State, *events: Inbound) -> tuple[State, str]:
    text = ""
    for event in events:
        outcome = handle(
            state, event, flow=SUBMIT, now=NOW, directory=_directory(), desk=MemoryDesk()
        )
        state, text = outcome.state, "\n".join(r.text for r in outcome.replies)
    return state, text


def at(step: Step) -> State:
    state, _ = run(State(), *map(parse_text, ROUTES[step]))
    if step is Step.CONFIRM_OWN:
        state = interrupt(state, ASKED, flow=SUBMIT, now=NOW, directory=_directory()).state
    if step is Step.RECORD_CHECK:
        state, _ = run(state, VoiceIn("hôm nay trời đẹp quá", note_id=5))
    assert state.step is step
    return state


ASKED = Confirmation(initiative_id=55, title="Kệ phụ liệu", officer="Hùng", summary="…")


def test_every_step_has_a_route_and_help() -> None:
    assert set(ROUTES) == set(Step) == set(SPECS) | {SUBMIT.start} == set(msg.HELP)


def test_every_declared_target_is_a_step_reachable_from_start() -> None:
    seen, frontier = {Step.START, SUBMIT.entry}, [SUBMIT.entry]  # the start greets, then asks
    # Commands lead from anywhere, and a worker stuck at a question is helped.
    entries = {t for command in SUBMIT.commands.values() for t in command.targets}
    assert SUBMIT.stuck is not None
    for step in entries | {SUBMIT.stuck}:
        seen.add(step)
        frontier.append(step)
    while frontier:
        for target, _ in SPECS[frontier.pop()].targets:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Step)


@pytest.mark.parametrize("step", list(Step), ids=str)
def test_every_step_is_reachable_by_talking(step: Step) -> None:
    at(step)


@pytest.mark.parametrize("step", [s for s in Step if s is not Step.START], ids=str)
def test_help_works_from_every_step(step: Step) -> None:
    state, text = run(at(step), parse_text("trợ giúp"))
    assert state.step is step
    assert msg.HELP[step] in text


@pytest.mark.parametrize("step", [s for s in Step if s is not Step.START], ids=str)
def test_back_works_from_every_step(step: Step) -> None:
    before = at(step)
    state, text = run(before, parse_text("quay lại"))
    expected = SPECS[step].back
    if expected is None:
        assert state.step is step
        assert msg.AT_FIRST_QUESTION in text
    else:
        assert state.step is expected
    assert state.draft == before.draft


@pytest.mark.parametrize("step", [s for s in Step if s is not Step.START], ids=str)
def test_cancel_works_from_every_step_and_keeps_the_draft(step: Step) -> None:
    before = at(step)
    state, text = run(before, parse_text("hủy"))
    if step in (Step.ONBOARD_UNIT, Step.ONBOARD_NAME):
        assert state.step is step
        assert msg.CANCELLED_ONBOARDING in text
    else:
        assert state.step is Step.MENU
    assert state.draft == before.draft


@pytest.mark.parametrize("step", [s for s, spec in SPECS.items() if spec.drafting], ids=str)
def test_every_drafting_step_can_go_on_to_a_submission(step: Step) -> None:
    answers = {
        Step.PROBLEM: "Khó khăn lúc trước",
        Step.SOLUTION: "Cách làm mới",
        Step.BENEFIT_KIND: "1",
        Step.BENEFIT_DETAIL: "30 phút",
        Step.FIELD: "1",
        Step.APPLIED: "2",
        Step.COAUTHORS: "không",
        Step.SUMMARY: "1",
        Step.EDIT_PICK: "7",
        Step.ASSIST_AGREED: "dạ rồi",
        Step.STUCK: "1",
        Step.SIMILAR: "1",
    }
    state = at(step)
    for _ in range(len(answers) + 1):
        outcome = handle(
            state,
            parse_text(answers[state.step]),
            flow=SUBMIT,
            now=NOW,
            directory=_directory(),
            desk=MemoryDesk(),
        )
        state = outcome.state
        if outcome.submitted is not None:
            assert outcome.submitted.solution
            return
    pytest.fail(f"no submission reached from {step}")


def test_the_committed_diagrams_are_current() -> None:
    committed = (ROOT / "docs" / "conversation.md").read_text(encoding="utf-8")
    assert committed == document(), "run: python -m dialogs.diagram"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- diagram:start -->" in readme
    assert readme == readme_with_diagram(readme), "run: python -m dialogs.diagram"


def test_choices_and_commands_without_diacritics() -> None:
    state = at(Step.SUMMARY)
    state, _ = run(state, parse_text("SUA"))
    assert state.step is Step.EDIT_PICK
    state, _ = run(state, parse_text("cach lam"))
    assert state.step is Step.SOLUTION and state.editing
    state, _ = run(state, parse_text("tro giup"))
    assert state.step is Step.SOLUTION
    state, _ = run(state, parse_text("/back"))
    assert state.step is Step.SUMMARY and not state.editing


def test_applied_accepts_a_typed_date_and_refuses_a_future_one() -> None:
    state = at(Step.APPLIED)
    future, text = run(state, parse_text("1/1/2030"))
    assert future.step is Step.APPLIED and msg.DATE_INVALID in text
    done, _ = run(state, parse_text("15/3/2026"))
    assert done.draft is not None and done.draft.applied_on == dt.date(2026, 3, 15)
    today, _ = run(state, parse_text("hôm nay"))
    assert today.draft is not None and today.draft.applied_on == dt.date(2026, 11, 20)


def test_a_draft_picked_from_the_list_continues_at_its_first_gap() -> None:
    state, _ = run(at(Step.PICK_DRAFT), parse_text("1"))
    assert state.step is Step.SOLUTION
    assert state.draft is not None and state.draft.id == 7


@pytest.mark.parametrize(
    ("step", "said", "expected_step"),
    [
        (Step.MENU, "Một.", Step.PROBLEM),
        (Step.BENEFIT_KIND, "Số hai.", Step.BENEFIT_DETAIL),
        (Step.FIELD, "số 7", Step.APPLIED),
        (Step.APPLIED, "Không.", Step.COAUTHORS),
        (Step.APPLIED, "Có.", Step.COAUTHORS),
        (Step.COAUTHORS, "Không có ai.", Step.SUMMARY),
        (Step.SUMMARY, "Đồng ý.", Step.MENU),
        (Step.SOLUTION, "Quay lại.", Step.PROBLEM),
        (Step.SOLUTION, "Hủy.", Step.MENU),
    ],
)
def test_spoken_choices_and_commands_act_like_presses(
    step: Step, said: str, expected_step: Step
) -> None:
    state, _ = run(at(step), VoiceIn(transcript=said, note_id=3))
    assert state.step is expected_step
    assert state.pending is None


def test_a_spoken_answer_is_read_back_and_recorded_with_its_note() -> None:
    state, text = run(at(Step.PROBLEM), VoiceIn(transcript="Kho xa chuyền may.", note_id=41))
    assert "Tôi nghe được: «Kho xa chuyền may.»" in text
    assert state.step is Step.PROBLEM and state.pending is not None
    state, _ = run(state, parse_text("đúng"))
    assert state.step is Step.SOLUTION
    assert state.draft is not None
    assert state.draft.problem == "Kho xa chuyền may."
    assert state.draft.sources["problem"] == "voice"
    assert state.draft.voice_notes == {"problem": 41}


def test_a_spoken_answer_that_is_no_choice_is_said_back() -> None:
    state, text = run(at(Step.FIELD), VoiceIn(transcript="Khách sạn."))
    assert state.step is Step.FIELD
    assert "Tôi nghe được «Khách sạn.», nhưng chưa rõ anh/chị chọn gì" in text


def test_a_spoken_unit_code_and_name_lose_the_transcript_full_stop() -> None:
    state, _ = run(at(Step.ONBOARD_UNIT), VoiceIn(transcript="Hn-dm01."), parse_text("đúng"))
    assert state.step is Step.ONBOARD_NAME and state.unit_code == "HN-DM01"
    state, text = run(state, VoiceIn(transcript="Nguyễn Thị Lan."), parse_text("1"))
    assert state.name == "Nguyễn Thị Lan"
    assert "Lan ơi" in text
