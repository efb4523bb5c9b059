"""Draw the conversation as a Mermaid flowchart, from the step declarations themselves.

``python -m dialogs.diagram`` rewrites ``docs/conversation.md`` and the diagram block of
``README.md``; a test fails when either is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from dialogs import messages as msg
from dialogs.flow import Flow
from dialogs.flows.submit import SUBMIT

TITLES = msg.STEP_TITLES
# Where a question from outside finds a person, and where they go back to after it.
ANYWHERE = "bất kỳ câu nào"


def mermaid(flow: Flow = SUBMIT) -> str:
    """The flowchart: solid arrows for answers, dotted ones for "quay lại" and edits."""
    lines = ["flowchart TD"]
    for step in (flow.start, *flow.specs):
        lines.append(f'    {step.value}["{TITLES[step]}"]')
    lines.append(f"    {flow.start.value} -->|{flow.entry_label}| {flow.entry.value}")
    for spec in flow.specs.values():
        for target, label in spec.targets:
            arrow = f"-->|{label}|" if label else "-->"
            lines.append(f"    {spec.step.value} {arrow} {target.value}")
        if spec.back is not None:
            lines.append(f"    {spec.step.value} -.->|quay lại| {spec.back.value}")
        if spec.returns_when_editing:
            lines.append(f"    {spec.step.value} -.->|khi đang sửa| {flow.review.value}")
    for step in sorted(flow.stuck_steps):
        if flow.stuck is not None:
            lines.append(f"    {step.value} -.->|lần 2 «không biết»| {flow.stuck.value}")
    for name, command in flow.commands.items():
        for target in command.targets:
            if target is not flow.home:
                lines.append(f"    {flow.home.value} -.->|/{name}| {target.value}")
    if flow.interrupt is not None:
        lines.append(f'    anywhere(("{ANYWHERE}"))')
        lines.append(f"    anywhere -.->|cán bộ nhập hộ| {flow.interrupt.value}")
        lines.append(f"    {flow.interrupt.value} -.->|trả lời xong| anywhere")
    return "\n".join(lines) + "\n"


def document() -> str:
    return (
        "# The conversation\n\n"
        "Generated from `dialogs/flows/submit.py` by `python -m dialogs.diagram`;"
        " do not edit by hand.\n\n"
        "At every step the worker can also say «trợ giúp» (help for that step, with an example),"
        " «hủy» (stop; the draft is kept) and «menu». Solid arrows are answers; dotted arrows"
        " are «quay lại» and the way back to the summary while editing.\n\n"
        f"```mermaid\n{mermaid()}```\n"
    )


README_BLOCK = re.compile(r"(<!-- diagram:start -->\n).*?(<!-- diagram:end -->)", re.DOTALL)


def readme_with_diagram(readme: str) -> str:
    """`readme` with the text between the diagram markers replaced by the current diagram."""
    block = f"```mermaid\n{mermaid()}```\n"
    return README_BLOCK.sub(lambda m: m[1] + block + m[2], readme)


def write(root: Path) -> None:
    (root / "docs" / "conversation.md").write_text(document(), encoding="utf-8")
    readme = root / "README.md"
    readme.write_text(readme_with_diagram(readme.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    write(Path(__file__).resolve().parent.parent)
