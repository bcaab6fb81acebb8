"""Three-word aliases bound to the identity key, and the beacon address they name.

An alias is what a person reads out ("add me: amber-falcon-canyon"); it is not chosen but
*derived* from the identity key, so the card a beacon answers with can be checked against it:

* alias:  ``words = encode(Argon2id(identity_public || counter_be64, ALIAS_SALT, ALIAS_KDF))``.
  The owner regenerates by bumping ``counter``. An impostor who wants a card of their own to
  match someone's words must grind ~7776^3 = 2^38.8 Argon2id evaluations (docs/threat-model.md).
* beacon: ``seed = Argon2id("w1 w2 w3", BEACON_SALT, BEACON_KDF)`` is an Ed25519 onion key, so
  anyone holding the words computes the beacon's onion address and Tor's HSDir ring is the
  directory - no server of ours. The beacon key is therefore *not secret* from anyone who knows
  the words: authenticity comes only from :func:`verify_binding` plus the card's signature and
  the Noise handshake with the card's static key, never from the onion address.

Words come from the EFF large word list (7776 words, CC BY 3.0 US), shipped as package data
and checked against a pinned SHA-256 on load: aliases depend on the exact list forever.

Pure: bytes and strings in, bytes and strings out (the list is read with importlib.resources).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import importlib.resources
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from nacl.pwhash import argon2id

from ..errors import CryptoError, LibraError
from . import onion

# --- the word list --------------------------------------------------------------------------

WORDLIST_PACKAGE = "libra_gui.resources"
WORDLIST_FILE = "eff_large_wordlist.txt"
# SHA-256 of the words-only file (one word and "\n" per line). EFF's published file, with the
# dice numbers and a tab before each word, hashes to addd3553...996b903e; same words, same order.
WORDLIST_SHA256 = "6d557f0693958fb5e650b68b5bee585eb82cf4da32965505c789e924743bc522"
WORDLIST_SIZE = 7776
WORDS_PER_ALIAS = 3
ALIAS_BITS = WORDS_PER_ALIAS * math.log2(WORDLIST_SIZE)  # 38.77

# --- key derivation -------------------------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost (libsodium: one lane). Changing production values changes every alias."""

    opslimit: int  # passes over memory (Argon2 "t")
    memlimit: int  # bytes (Argon2 "m" x 1024)

    def __post_init__(self) -> None:
        if self.opslimit < argon2id.OPSLIMIT_MIN or self.opslimit > argon2id.OPSLIMIT_MAX:
            raise ValueError("Argon2id opslimit out of range")
        if self.memlimit < argon2id.MEMLIMIT_MIN or self.memlimit % 1024:
            raise ValueError("Argon2id memlimit must be a multiple of 1 KiB, at least 8 KiB")


# Measured on the reference machine (2-core AMD EPYC VM, libsodium via PyNaCl 1.6): 0.23 s per
# evaluation, 128 MiB. Paid once per derivation/lookup by a user, 2^38.8 times by an impostor.
ALIAS_KDF = KdfParams(opslimit=3, memlimit=128 * 1024 * 1024)
# Mapping the whole alias space to beacon addresses costs 2^38.8 of these.
BEACON_KDF = KdfParams(opslimit=3, memlimit=128 * 1024 * 1024)

# Domain separation lives in the (fixed, public) salts: libsodium wants exactly 16 bytes.
ALIAS_SALT = b"libra/alias/v1\x00\x00"
BEACON_SALT = b"libra/beacon/v1\x00"
assert len(ALIAS_SALT) == len(BEACON_SALT) == argon2id.SALTBYTES

IDENTITY_KEY_LEN = 32
COUNTER_MAX = 2**64 - 1
# Each word index is a 128-bit big-endian integer reduced mod 7776: the bias is below
# 7776 / 2^128 < 2^-115 in statistical distance, i.e. none an attacker could use.
_INDEX_BYTES = 16
_ALIAS_DIGEST_LEN = WORDS_PER_ALIAS * _INDEX_BYTES

# --- parsing limits -------------------------------------------------------------------------

MIN_PREFIX_LEN = 3  # shorter fragments are never completed: too easy to mean something else
MAX_INPUT_LEN = 256
_MAX_LISTED = 8  # completions listed in an "ambiguous prefix" message
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212._,]+")
_TYPO_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


# --- errors ---------------------------------------------------------------------------------


class AliasSyntaxError(LibraError):
    """Typed alias text that is not three words of the list; carries suggestions for the UI."""

    def __init__(
        self,
        message: str,
        *,
        word: str | None = None,
        position: int | None = None,
        suggestions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.word = word
        self.position = position  # 0-based index of the offending word
        self.suggestions = suggestions


class AliasMismatch(CryptoError):
    """A card's identity key (and counter) does not derive the words: an impostor beacon."""


class WordListError(CryptoError):
    """The bundled word list is missing or altered: a broken install, never user input."""


# --- aliases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alias:
    """Three list words derived from an identity key and a counter."""

    words: tuple[str, str, str]
    counter: int

    @property
    def text(self) -> str:
        """Display form, e.g. ``amber-falcon-canyon``; :func:`parse_alias` reads it back."""
        return "-".join(self.words)

    def __str__(self) -> str:
        return self.text


AliasWords = Alias | Sequence[str] | str


def derive_alias(identity_public: bytes, counter: int, *, params: KdfParams = ALIAS_KDF) -> Alias:
    """The alias of ``identity_public`` at ``counter`` (regenerate = counter + 1)."""
    _check_identity(identity_public)
    _check_counter(counter)
    password = bytes(identity_public) + counter.to_bytes(8, "big")
    digest = _argon2id(_ALIAS_DIGEST_LEN, password, ALIAS_SALT, params)
    words = wordlist()
    picked = tuple(
        words[int.from_bytes(digest[i : i + _INDEX_BYTES], "big") % WORDLIST_SIZE]
        for i in range(0, _ALIAS_DIGEST_LEN, _INDEX_BYTES)
    )
    return Alias(picked, counter)  # type: ignore[arg-type]


def verify_binding(
    words: AliasWords, identity_public: bytes, counter: int, *, params: KdfParams = ALIAS_KDF
) -> None:
    """Raise AliasMismatch unless the card's identity and counter derive ``words``.

    Run on every lookup *before* showing anything: anyone who knows the words holds the
    beacon's key, so only this check tells the owner's card from an impostor's.
    """
    expected = "-".join(canonical_words(words))
    try:
        derived = derive_alias(identity_public, counter, params=params)
    except CryptoError as exc:
        raise AliasMismatch(f"the card cannot derive an alias: {exc}") from None
    if not hmac.compare_digest(derived.text.encode(), expected.encode()):
        raise AliasMismatch(
            f"this card does not belong to the alias {expected}: possible impostor beacon"
        )


def beacon_seed(alias_words: AliasWords, *, params: KdfParams = BEACON_KDF) -> bytes:
    """32-byte Ed25519 seed of the beacon named by the words (anyone with them can compute it)."""
    words = canonical_words(alias_words)
    return _argon2id(onion.SEED_LEN, " ".join(words).encode("ascii"), BEACON_SALT, params)


def beacon_address(words: AliasWords, *, params: KdfParams = BEACON_KDF) -> str:
    """The beacon's 56-character v3 onion address (no ``.onion``): the lookup key on Tor."""
    return onion.onion_address_from_seed(beacon_seed(words, params=params))


def beacon_service_key(
    words: AliasWords, *, params: KdfParams = BEACON_KDF
) -> onion.OnionServiceKey:
    """What the owner hands to ``ADD_ONION`` to run the beacon for ``words``."""
    return onion.OnionServiceKey.from_seed(beacon_seed(words, params=params))


def canonical_words(words: AliasWords) -> tuple[str, str, str]:
    """Exact list words for key derivation.

    Text goes through :func:`parse_alias` (typed input); an :class:`Alias` or a sequence of
    words must already be list words (case and surrounding spaces aside): no guessing there.
    """
    if isinstance(words, Alias):
        return words.words
    if isinstance(words, str):
        return parse_alias(words)
    items = tuple(words)
    if len(items) != WORDS_PER_ALIAS or not all(isinstance(w, str) for w in items):
        raise AliasSyntaxError("an alias is exactly three words")
    index = _tables().index
    out = tuple(w.strip().lower() for w in items)
    for position, word in enumerate(out):
        if word not in index:
            raise AliasSyntaxError(
                f"{_quote(word)} is not in the word list", word=word, position=position
            )
    return out  # type: ignore[return-value]


# --- input normalisation --------------------------------------------------------------------


def parse_alias(text: str) -> tuple[str, str, str]:
    """Three list words from what a person typed or pasted.

    Accepts any case, Unicode compatibility forms (NFKC), spaces/hyphens/dots/underscores/
    commas between words and extra whitespace; completes a fragment of >= 3 letters that starts
    exactly one word (``amb`` -> ``amber`` if unique, ``tshirt`` -> ``t-shirt``). Never
    corrects a typo silently: a word one edit away from list words raises AliasSyntaxError
    with every candidate in ``suggestions``. The list's four hyphenated words (drop-down,
    felt-tip, t-shirt, yo-yo) are found again when the hyphen was read as a separator.
    """
    if not isinstance(text, str):
        raise AliasSyntaxError("an alias must be text")
    if len(text) > MAX_INPUT_LEN:
        raise AliasSyntaxError(f"too long for an alias ({len(text)} characters)")
    normalized = unicodedata.normalize("NFKC", text).casefold()
    tokens = [t for t in _SEPARATORS.split(normalized) if t]
    if not tokens:
        raise AliasSyntaxError("no words: an alias is three words, like amber-falcon-canyon")
    groupings = _groupings(tuple(tokens), WORDS_PER_ALIAS)
    if not groupings:
        raise AliasSyntaxError(
            f"an alias is three words, like amber-falcon-canyon; this has {len(tokens)}"
        )
    results: list[tuple[str, ...]] = []
    first_error: AliasSyntaxError | None = None
    for grouping in groupings:
        try:
            resolved = tuple(_resolve(tok, i) for i, tok in enumerate(grouping))
        except AliasSyntaxError as exc:
            first_error = first_error or exc
            continue
        if resolved not in results:
            results.append(resolved)
    if len(results) == 1:
        return results[0]  # type: ignore[return-value]
    if not results:
        assert first_error is not None
        raise first_error
    options = " or ".join("-".join(r) for r in results)
    raise AliasSyntaxError(
        f"ambiguous alias: {options}?", suggestions=tuple(map("-".join, results))
    )


def _groupings(tokens: tuple[str, ...], need: int) -> list[tuple[str, ...]]:
    """Ways to read ``tokens`` as ``need`` words, re-joining a hyphenated list word's halves."""
    if need == 0:
        return [()] if not tokens else []
    if not need <= len(tokens) <= 2 * need:
        return []
    out = [(tokens[0], *rest) for rest in _groupings(tokens[1:], need - 1)]
    if len(tokens) >= 2:
        joined = f"{tokens[0]}-{tokens[1]}"
        if joined in _tables().hyphenated:
            out += [(joined, *rest) for rest in _groupings(tokens[2:], need - 1)]
    return out


def _resolve(token: str, position: int) -> str:
    tables = _tables()
    if token in tables.index:
        return token
    completions = _completions(token)
    if len(token) >= MIN_PREFIX_LEN and len(completions) == 1:
        return completions[0]
    typos = _typo_candidates(token)
    short_list = completions if len(completions) <= _MAX_LISTED else ()
    suggestions = typos + tuple(c for c in short_list if c not in typos)
    shown = _quote(token)
    if suggestions:
        message = f"word {position + 1}, {shown}, is not in the word list: did you mean "
        message += _or_list(suggestions) + "?"
        if len(completions) > len(short_list):
            message += f" (or type more letters: it starts {len(completions)} words)"
    elif completions:
        message = (
            f"word {position + 1}, {shown}, starts {len(completions)} words "
            f"({', '.join(completions[:3])}, ...): type more letters"
        )
    else:
        message = f"word {position + 1}, {shown}, is not in the word list"
    raise AliasSyntaxError(message, word=token, position=position, suggestions=suggestions)


def _completions(prefix: str) -> tuple[str, ...]:
    """List words whose spelling, or spelling without its hyphen, starts with ``prefix``."""
    keys = _tables().prefix_keys
    found: set[str] = set()
    i = bisect.bisect_left(keys, (prefix, ""))
    while i < len(keys) and keys[i][0].startswith(prefix):
        found.add(keys[i][1])
        i += 1
    return _in_list_order(found)


def _typo_candidates(token: str) -> tuple[str, ...]:
    """List words at Damerau-Levenshtein distance 1 (substitution, insertion, deletion or
    adjacent transposition) from ``token``, also matching hyphen-less spellings."""
    tables = _tables()
    if len(token) > tables.max_len + 1:
        return ()
    lookup = tables.lookup
    found: set[str] = set()
    n = len(token)
    for i in range(n + 1):
        head, tail = token[:i], token[i:]
        for ch in _TYPO_ALPHABET:
            found.update(_get(lookup, head + ch + tail))  # insertion
            if tail:
                found.update(_get(lookup, head + ch + tail[1:]))  # substitution
        if tail:
            found.update(_get(lookup, head + tail[1:]))  # deletion
        if len(tail) >= 2:
            found.update(_get(lookup, head + tail[1] + tail[0] + tail[2:]))  # transposition
    found.discard(token)
    return _in_list_order(found)


def _get(lookup: dict[str, str], key: str) -> tuple[str, ...]:
    word = lookup.get(key)
    return (word,) if word is not None else ()


# --- word list loading ----------------------------------------------------------------------


@functools.cache
def wordlist() -> tuple[str, ...]:
    """The 7776 words in list order; raises WordListError if the bundled file was altered."""
    try:
        data = importlib.resources.files(WORDLIST_PACKAGE).joinpath(WORDLIST_FILE).read_bytes()
    except (OSError, ModuleNotFoundError) as exc:
        raise WordListError(f"alias word list is missing: {exc}") from None
    if hashlib.sha256(data).hexdigest() != WORDLIST_SHA256:
        raise WordListError("alias word list does not match its pinned SHA-256 (broken install)")
    words = tuple(data.decode("ascii").splitlines())
    if len(words) != WORDLIST_SIZE or len(set(words)) != WORDLIST_SIZE:
        raise WordListError("alias word list has the wrong number of words")
    return words


@dataclass(frozen=True)
class _Tables:
    index: dict[str, int]  # word -> position in the list
    lookup: dict[str, str]  # spelling (incl. hyphen-less) -> list word
    prefix_keys: list[tuple[str, str]]  # sorted (spelling, word) for prefix search
    hyphenated: frozenset[str]
    max_len: int


@functools.cache
def _tables() -> _Tables:
    words = wordlist()
    index = {w: i for i, w in enumerate(words)}
    lookup = {w: w for w in words}
    hyphenated = frozenset(w for w in words if "-" in w)
    for word in hyphenated:
        lookup.setdefault(word.replace("-", ""), word)  # "yoyo" is a word of its own: it wins
    prefix_keys = sorted({(w, w) for w in words} | {(w.replace("-", ""), w) for w in hyphenated})
    return _Tables(index, lookup, prefix_keys, hyphenated, max(map(len, words)))


def _in_list_order(found: set[str]) -> tuple[str, ...]:
    index = _tables().index
    return tuple(sorted(found, key=index.__getitem__))


# --- helpers --------------------------------------------------------------------------------


def _argon2id(size: int, password: bytes, salt: bytes, params: KdfParams) -> bytes:
    return argon2id.kdf(size, password, salt, opslimit=params.opslimit, memlimit=params.memlimit)


def _check_identity(identity_public: bytes) -> None:
    if (
        not isinstance(identity_public, bytes | bytearray)
        or len(identity_public) != IDENTITY_KEY_LEN
    ):
        raise CryptoError(f"identity key must be {IDENTITY_KEY_LEN} bytes")


def _check_counter(counter: int) -> None:
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= COUNTER_MAX:
        raise CryptoError("alias counter must be an integer in [0, 2^64)")


def _quote(token: str) -> str:
    return f'"{token[:40]}{"..." if len(token) > 40 else ""}"'


def _or_list(items: Sequence[str]) -> str:
    quoted = [f'"{w}"' for w in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
