"""Draw the conversation as a Mermaid flowchart, from the step declarations themselves.

``python -m dialogs.diagram > docs/conversation.md`` regenerates the document; a test fails
when the committed one is stale.
"""

from __future__ import annotations

from dialogs.state import Step
from dialogs.steps import SPECS

TITLES: dict[Step, str] = {
    Step.START: "👋 Lời chào",
    Step.ONBOARD_UNIT: "🏭 Mã công đoàn cơ sở",
    Step.ONBOARD_NAME: "👤 Họ tên",
    Step.MENU: "🏠 Menu",
    Step.PICK_DRAFT: "📝 Chọn bản nháp",
    Step.RESUME: "🔁 Làm tiếp nháp?",
    Step.PROBLEM: "⚠️ Khó khăn trước đây",
    Step.SOLUTION: "💡 Cách làm mới",
    Step.BENEFIT_KIND: "🎯 Loại lợi ích",
    Step.BENEFIT_DETAIL: "📈 Lợi ích cụ thể",
    Step.FIELD: "🗂️ Lĩnh vực",
    Step.APPLIED: "📅 Đã áp dụng?",
    Step.COAUTHORS: "🤝 Người cùng làm",
    Step.SUMMARY: "📋 Xem lại và gửi",
    Step.EDIT_PICK: "✏️ Sửa phần nào",
}


def mermaid() -> str:
    """The flowchart: solid arrows for answers, dotted ones for "quay lại" and edits."""
    lines = ["flowchart TD"]
    for step in Step:
        lines.append(f'    {step.value}["{TITLES[step]}"]')
    for spec in SPECS.values():
        for target, label in spec.targets:
            arrow = f"-->|{label}|" if label else "-->"
            lines.append(f"    {spec.step.value} {arrow} {target.value}")
        if spec.back is not None:
            lines.append(f"    {spec.step.value} -.->|quay lại| {spec.back.value}")
        if spec.returns_when_editing:
            lines.append(f"    {spec.step.value} -.->|khi đang sửa| {Step.SUMMARY.value}")
    return "\n".join(lines) + "\n"


def document() -> str:
    return (
        "# The conversation\n\n"
        "Generated from `dialogs/steps.py` by `python -m dialogs.diagram > docs/conversation.md`;"
        " do not edit by hand.\n\n"
        "At every step the worker can also say «trợ giúp» (help for that step, with an example),"
        " «hủy» (stop; the draft is kept) and «menu». Solid arrows are answers; dotted arrows"
        " are «quay lại» and the way back to the summary while editing.\n\n"
        f"```mermaid\n{mermaid()}```\n"
    )


if __name__ == "__main__":
    import sys

    sys.stdout.write(document())
