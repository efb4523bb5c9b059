"""A generated evaluation set for the similar-idea check, deterministic from a seed.

    python -m benchmarks.similar_eval [--ideas 400] [--seed 1]

Ideas are put together from the shop floor's own pieces (a machine or a place, what went
wrong, what was changed), then re-told the way a second worker would: other words for the
same thing, another order, words dropped or added, no diacritics, a voice transcript's lower
case without punctuation, typos. Unrelated ideas share the vocabulary (the same machine, a
different problem and change). Each scorer is asked, for every re-telling and every unrelated
idea, for the closest stored idea; precision and recall are reported at the "very similar"
and "related" thresholds.

Prints one JSON line per scorer.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from nlp import similar
from nlp.text import strip_diacritics

PLACES = [
    "máy cắt vải",
    "máy may bằng",
    "máy vắt sổ",
    "băng chuyền đóng gói",
    "xe nâng trong kho",
    "máy ép nhựa",
    "lò hơi",
    "bàn kiểm hàng",
    "kho phụ liệu",
    "máy tiện",
    "máy hàn điểm",
    "dây chuyền sơn",
    "máy nén khí",
    "máy dập",
    "khu rửa linh kiện",
    "máy in lụa",
]
PROBLEMS = [
    "hay kẹt vải nên phải dừng máy",
    "rò rỉ dầu ra sàn rất trơn",
    "bụi nhiều làm công nhân ho",
    "thiếu ánh sáng nên soi lỗi khó",
    "phải đi bộ xa để lấy hàng",
    "tốn điện vì chạy không tải cả ca",
    "dao mòn nhanh phải thay liên tục",
    "nóng quá công nhân mệt",
    "hàng lỗi nhiều do lệch khuôn",
    "ồn quá không nghe được nhau",
    "hay bị kẹp tay khi thay khuôn",
    "nước thải chảy tràn ra ngoài",
    "xếp hàng lộn xộn khó tìm",
    "mỗi lần chỉnh máy mất nửa tiếng",
    "chỉ bị đứt liên tục phải nối lại",
    "keo dán bị khô trong ống",
    "sàn ướt dễ trượt ngã",
    "bao bì rách khi xếp lên xe",
    "nhiệt độ khuôn không đều",
    "phải ghi sổ bằng tay rồi nhập lại",
]
CHANGES = [
    "gắn thêm thanh dẫn vải trước lưỡi cắt",
    "thay gioăng cao su và làm khay hứng dầu",
    "lắp quạt hút bụi ở đầu máy",
    "lắp thêm đèn LED phía trên",
    "đặt kệ phụ liệu ngay cạnh chuyền",
    "gắn công tắc tự ngắt khi không có hàng",
    "đổi sang dao thép hợp kim",
    "lắp quạt thông gió và rèm chắn nắng",
    "làm đồ gá định vị cho khuôn",
    "bọc tấm cách âm quanh máy",
    "làm tấm che tay bằng mica",
    "xây rãnh thu nước về bể lắng",
    "dán nhãn màu theo từng mã hàng",
    "làm dưỡng chỉnh máy có vạch sẵn",
    "lắp bộ căng chỉ tự động",
    "làm nắp đậy kín cho ống keo",
    "trải thảm cao su chống trơn",
    "đổi sang thùng carton hai lớp",
    "gắn cảm biến nhiệt ở hai đầu khuôn",
    "làm bảng quét mã vạch thay sổ tay",
]
BENEFITS = [
    "mỗi ca đỡ mất 30 phút",
    "mỗi tháng tiết kiệm 2 triệu",
    "không còn ai bị thương",
    "hàng lỗi giảm một nửa",
    "tiết kiệm điện 10 phần trăm",
    "",
]
# Words a second worker uses for the same thing (both ways).
SYNONYMS = {
    "hay": "thường xuyên",
    "gắn": "lắp",
    "lắp": "gắn",
    "thêm": "bổ sung",
    "phải": "buộc phải",
    "dừng": "tắt",
    "nhiều": "quá nhiều",
    "công nhân": "anh em",
    "tiết kiệm": "đỡ tốn",
    "rất": "quá",
    "khó": "vất vả",
    "làm": "chế",
    "đặt": "để",
    "thay": "đổi",
    "mất": "tốn",
    "lỗi": "hỏng",
    "ngay cạnh": "sát bên",
    "nửa tiếng": "30 phút",
}
FILLERS = ["thì", "là", "cái", "dạ", "kiểu", "ạ", "nói chung", "em thấy", "bên em"]


@dataclass(frozen=True, slots=True)
class Idea:
    id: int
    problem: str
    solution: str
    parts: tuple[int, int, int]  # place, problem, change


@dataclass(frozen=True, slots=True)
class Query:
    problem: str
    solution: str
    original: int | None  # the stored idea it re-tells; None for an unrelated idea
    how: str


def _idea(rng: random.Random, number: int, taken: set[tuple[int, int]]) -> Idea:
    """A new idea: a problem and a change no idea before it pairs (the place is free)."""
    while True:
        parts = (
            rng.randrange(len(PLACES)),
            rng.randrange(len(PROBLEMS)),
            rng.randrange(len(CHANGES)),
        )
        if parts[1:] not in taken:
            taken.add(parts[1:])
            break
    return Idea(number, *_texts(rng, parts), parts)


def _texts(rng: random.Random, parts: tuple[int, int, int]) -> tuple[str, str]:
    place, problem, change = PLACES[parts[0]], PROBLEMS[parts[1]], CHANGES[parts[2]]
    benefit = rng.choice(BENEFITS)
    solution = f"Tôi đã {change}" + (f", {benefit}." if benefit else ".")
    return f"{place.capitalize()} {problem}.", solution


def _synonyms(rng: random.Random, text: str) -> str:
    for word, other in SYNONYMS.items():
        if f" {word} " in f" {text} " and rng.random() < 0.6:
            text = f" {text} ".replace(f" {word} ", f" {other} ", 1).strip()
    return text


def _reorder(rng: random.Random, text: str) -> str:
    """The same words told in another order: the sentence's two halves swapped."""
    words = text.rstrip(".").split()
    cut = rng.randrange(2, max(3, len(words) - 1))
    return " ".join(words[cut:] + words[:cut]) + "."


def _drop(rng: random.Random, text: str, share: float = 0.15) -> str:
    words = text.split()
    kept = [w for w in words if rng.random() > share]
    return " ".join(kept or words)


def _add(rng: random.Random, text: str, count: int = 3) -> str:
    words = text.split()
    for _ in range(count):
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    return " ".join(words)


def _voice(text: str) -> str:
    kept = "".join(ch for ch in text if ch.isalnum() or ch.isspace())
    return " ".join(kept.lower().split())


def _typos(rng: random.Random, text: str, count: int = 3) -> str:
    chars = list(unicodedata.normalize("NFC", text))
    for _ in range(count):
        at = rng.randrange(len(chars) - 1)
        if chars[at].isalpha() and chars[at + 1].isalpha():
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
    return "".join(chars)


RETELLINGS: dict[str, Callable[[random.Random, str], str]] = {
    "synonyms": _synonyms,
    "order": _reorder,
    "dropped": _drop,
    "added": _add,
    "no_marks": lambda rng, t: strip_diacritics(t),
    "voice": lambda rng, t: _voice(_synonyms(rng, t)),
    "typos": _typos,
    "all": lambda rng, t: _typos(
        rng, strip_diacritics(_voice(_add(rng, _drop(rng, _synonyms(rng, _reorder(rng, t))))))
    ),
}


def generate(ideas: int, seed: int) -> tuple[list[Idea], list[Query]]:
    """`ideas` stored ideas and a re-telling of each (every way, in turn); as many unrelated
    ideas, each sharing the place, the problem or the change of a stored one but never both
    the problem and the change (that would be the same idea on another machine)."""
    pairs = len(PROBLEMS) * len(CHANGES)
    if 2 * ideas > pairs:
        raise ValueError(
            f"at most {pairs // 2} ideas: each pairs a problem and a change of its own"
        )
    rng = random.Random(seed)
    taken: set[tuple[int, int]] = set()
    stored = [_idea(rng, n, taken) for n in range(ideas)]
    queries: list[Query] = []
    kinds = list(RETELLINGS)
    for n, idea in enumerate(stored):
        how = kinds[n % len(kinds)]
        retell = RETELLINGS[how]
        queries.append(Query(retell(rng, idea.problem), retell(rng, idea.solution), idea.id, how))
    for n in range(ideas):
        unrelated = _idea(rng, -n - 1, taken)
        queries.append(Query(unrelated.problem, unrelated.solution, None, "unrelated"))
    return stored, queries


# (problem, solution) → [(idea id, score 0..1)], best first
Scorer = Callable[[str, str], list[tuple[int, float]]]


def evaluate(
    stored: list[Idea], queries: list[Query], search: Scorer, very: float, related: float
) -> dict[str, float]:
    """Precision and recall at both thresholds: a query is a hit at a threshold when its best
    match reaches it; a hit is right when it is the idea re-told."""
    figures: dict[str, float] = {}
    for name, threshold in (("very", very), ("related", related)):
        hits = right = 0
        for query in queries:
            found = [(i, s) for i, s in search(query.problem, query.solution) if s >= threshold]
            if found:
                hits += 1
                right += found[0][0] == query.original
        retold = sum(q.original is not None for q in queries)
        figures[f"precision_{name}"] = round(right / hits, 3) if hits else 1.0
        figures[f"recall_{name}"] = round(right / retold, 3)
    return figures


class MemoryIndex:
    """The production check (:mod:`nlp.similar`: band keys for candidates, the exact score),
    held in memory: the quality of the method, whatever the database."""

    def __init__(self) -> None:
        self._ideas: dict[int, tuple[str, str]] = {}
        self._bands: dict[int, set[int]] = {}

    def add(self, idea_id: int, problem: str, solution: str) -> None:
        keys = (similar.folded(problem), similar.folded(solution))
        self._ideas[idea_id] = keys
        for band in similar.bands(keys):
            self._bands.setdefault(band, set()).add(idea_id)

    def search(self, problem: str, solution: str) -> list[tuple[int, float]]:
        keys = (similar.folded(problem), similar.folded(solution))
        found = {i for band in similar.bands(keys) for i in self._bands.get(band, ())}
        scored = [(i, similar.score(*keys, *self._ideas[i])) for i in found]
        return sorted(scored, key=lambda pair: -pair[1])


def quality(
    ideas: int = 200, seed: int = 1, very: float = 0.75, related: float = 0.6
) -> dict[str, float]:
    """Precision and recall of the check on the generated set, at both thresholds."""
    stored, queries = generate(ideas, seed)
    index = MemoryIndex()
    for idea in stored:
        index.add(idea.id, idea.problem, idea.solution)
    return evaluate(stored, queries, index.search, very, related)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ideas", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = quality(args.ideas, args.seed)
    figures |= {
        "ideas": args.ideas,
        "queries": 2 * args.ideas,
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
