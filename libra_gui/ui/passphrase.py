"""A rough passphrase strength estimate for the hint under the passphrase field.

Advice, not a gate: the only hard rule is the CLI's minimum length. The estimate splits the
text into runs of letters, digits, spaces and symbols: a run of letters is worth about one
dictionary word (never more than random letters would be), digits and symbols their
alphabet, a character that repeats or continues a sequence (``1111``, ``1234``) about 1 bit,
and a well-known password nothing. Good enough to tell "qwerty123" or "two words" from "four
random words", which is all the hint needs to do.
"""

from __future__ import annotations

import math
import re

from ..cli import MIN_PASSPHRASE_CHARS

__all__ = ["MIN_PASSPHRASE_CHARS", "estimate_bits", "strength"]

WORD_BITS = 14.0  # a word picked from a list of ~16k: what one word of a passphrase is worth

_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passphrase",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "letmein123",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "11111111",
        "00000000",
        "abcdefgh",
        "libra123",
        "trustno1",
    }
)


def estimate_bits(passphrase: str) -> float:
    """Approximate guessing entropy in bits (see the module docstring)."""
    if passphrase.lower() in _COMMON:
        return 0.0
    bits = 0.0
    for run in re.findall(r"[^\W\d_]+|\d+|\s+|[\W_]", passphrase):
        bits += _run_bits(run)
    return bits


def _run_bits(run: str) -> float:
    """Letters: a word-like run costs about a dictionary word, never more than random letters;
    digits: per digit, runs like 1234 or 1111 almost free; a space separator: 1 bit."""
    if run.isspace():
        return 1.0
    if run.isdigit():
        return _per_char(run, math.log2(10))
    if len(run) == 1 and not run.isalpha():
        return math.log2(33)
    alphabet = 26 if run.isascii() else 100
    random_letters = _per_char(run.lower(), math.log2(alphabet))
    word_like = max(WORD_BITS, 2.5 * len(run))
    mixed_case = 1.0 if run.lower() != run else 0.0
    return min(random_letters, word_like) + mixed_case


def _per_char(run: str, per_char: float) -> float:
    """``per_char`` bits for each character, 1 bit for one that repeats or continues a run."""
    bits = 0.0
    for i, ch in enumerate(run):
        predictable = i > 0 and abs(ord(ch) - ord(run[i - 1])) <= 1
        bits += 1.0 if predictable else per_char
    return bits


def strength(passphrase: str) -> int:
    """0 (too short or trivial) .. 4 (very strong); the widget maps it to words and colour."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        return 0
    bits = estimate_bits(passphrase)
    for score, limit in ((0, 25), (1, 35), (2, 50), (3, 70)):
        if bits < limit:
            return score
    return 4
