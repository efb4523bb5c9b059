"""How alike two ideas are, and the signature that finds the candidates quickly.

Text is compared as folded syllables: diacritics and case off, đ → d, punctuation and the
shop floor's fillers («thì», «là», «cái», «dạ», «em thấy»…) dropped, so that a typed idea, one
typed without marks and a voice transcript in lower case compare as the same words.

Two ideas are the same idea when both their problems and their changes are alike: the score
is the lesser of the two fields' token-sort ratios (rapidfuzz), 0 to 1. Measured on the
generated evaluation set (``python -m benchmarks.similar_eval``), this beat the token-set
ratio, their mean, character trigrams (as pg_trgm compares), word-shingle Jaccard and the
mean of the two fields instead of the lesser.

Candidates come from MinHash signatures of each idea's words, cut into bands: ideas sharing
one band are compared exactly. 128 permutations in 32 bands of 4 found 98.5 % of re-told
ideas among about 4 % of a set of ideas all in the same vocabulary.

The signature is datasketch's MinHash (seed 1, SHA-1 of each word), computed here with numpy
value for value, as a test checks against datasketch itself: importing datasketch imports its
LSH and with it scipy, 0.35 s of CPU at every start of the bot (measured with py-spy in the
soak, where it was 8 % of the bot's work) for a dozen lines of arithmetic.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz

from nlp.text import match_key

PERMUTATIONS = 128
ROWS = 4  # a band: this many minimum hashes
BANDS = PERMUTATIONS // ROWS
_SEED = 1
_PRIME = np.uint64((1 << 61) - 1)  # datasketch's Mersenne prime and 32-bit hash range
_MAX_HASH = np.uint64((1 << 32) - 1)


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters for `_SEED`: drawn in its order, a then b."""
    generator = np.random.RandomState(_SEED)
    drawn = np.array(
        [
            (
                generator.randint(1, _PRIME, dtype=np.uint64),
                generator.randint(0, _PRIME, dtype=np.uint64),
            )
            for _ in range(PERMUTATIONS)
        ],
        dtype=np.uint64,
    ).T
    return drawn[0], drawn[1]


_A, _B = _permutations()

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


def minimum_hashes(tokens: set[str]) -> list[int]:
    """The MinHash signature of a set of words: for each permutation, the least permuted
    32-bit SHA-1 of a word (none for no words), as datasketch's MinHash computes it."""
    if not tokens:
        return []
    hashes = np.array(
        [struct.unpack("<I", hashlib.sha1(token.encode()).digest()[:4])[0] for token in tokens],
        dtype=np.uint64,
    )
    permuted = (np.outer(hashes, _A) + _B) % _PRIME & _MAX_HASH
    return [int(value) for value in permuted.min(axis=0)]


def bands(texts: Iterable[str]) -> list[int]:
    """The idea's LSH band keys (signed 64-bit, one a band, the band's number mixed in)
    from the words of its folded texts; none for an idea without words."""
    values = minimum_hashes({word for text in texts for word in text.split()})
    if not values:
        return []
    keys = []
    for band in range(BANDS):
        packed = struct.pack(f"<H{ROWS}I", band, *values[band * ROWS : (band + 1) * ROWS])
        keys.append(
            int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "little", signed=True)
        )
    return keys
