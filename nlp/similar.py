"""How alike two ideas are, and the signature that finds the candidates quickly.

Text is compared as folded syllables: diacritics and case off, đ → d, punctuation and the
shop floor's fillers («thì», «là», «cái», «dạ», «em thấy»…) dropped, so that a typed idea, one
typed without marks and a voice transcript in lower case compare as the same words.

Two ideas are the same idea when both their problems and their changes are alike: the score
is the lesser of the two fields' token-sort ratios (rapidfuzz), 0 to 1. Measured on the
generated evaluation set (``python -m benchmarks.similar_eval``), this beat the token-set
ratio, their mean, character trigrams (as pg_trgm compares), word-shingle Jaccard and the
mean of the two fields instead of the lesser.

Candidates come from MinHash signatures of each idea's words (datasketch), cut into bands:
ideas sharing one band are compared exactly. 128 permutations in 32 bands of 4 found 98.5 %
of re-told ideas among about 4 % of a set of ideas all in the same vocabulary.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from datasketch import MinHash
from rapidfuzz import fuzz

from nlp.text import match_key

PERMUTATIONS = 128
ROWS = 4  # a band: this many minimum hashes
BANDS = PERMUTATIONS // ROWS
_SEED = 1

# Words that carry no idea: fillers of speech and who is speaking. Folded, so only those no
# content word folds to («đỏ» is «do», «dễ» is «de», «da» is leather, «thay» is to replace).
FILLERS = frozenset(
    ["thi", "la", "cai", "a", "ah", "kieu", "em", "toi", "minh", "ben", "roi", "nhe", "nha"]
)


def words(text: str) -> list[str]:
    """The folded syllables of `text` that carry meaning, in order."""
    return [word for word in match_key(text).split() if word not in FILLERS]


def folded(text: str) -> str:
    """`text` as compared: its folded meaningful syllables, one space apart."""
    return " ".join(words(text))


def field_score(one: str, other: str) -> float:
    """How alike two folded texts are, 0 to 1, whatever the words' order."""
    if not one or not other:
        return 0.0
    return fuzz.token_sort_ratio(one, other) / 100


def score(problem: str, solution: str, other_problem: str, other_solution: str) -> float:
    """How alike two ideas are (their folded fields): the lesser of the two fields'."""
    return min(field_score(problem, other_problem), field_score(solution, other_solution))


def bands(texts: Iterable[str]) -> list[int]:
    """The idea's LSH band keys (signed 64-bit, one a band, the band's number mixed in)
    from the words of its folded texts; none for an idea without words."""
    tokens = {word for text in texts for word in text.split()}
    if not tokens:
        return []
    signature = MinHash(num_perm=PERMUTATIONS, seed=_SEED)
    signature.update_batch([token.encode() for token in sorted(tokens)])
    values = [int(v) for v in signature.hashvalues]
    keys = []
    for band in range(BANDS):
        packed = struct.pack(f"<H{ROWS}I", band, *values[band * ROWS : (band + 1) * ROWS])
        keys.append(
            int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "little", signed=True)
        )
    return keys
