"""``libra:`` invitation URIs: what a QR code or a pasted link carries (pure: text in, text out).

Canonical form (docs/protocol/uri.md has the grammar)::

    LIBRA:V1/AMBER-FALCON-RAVEN/FP:<52 base32>/C:<counter>[/AUTH:<52 base32>][/EXP:<unix>]
        [/ONION:<56 base32>][/ONCE]

Why this shape:

* Every character is in the QR *alphanumeric* set (``0-9 A-Z $%*+-./:`` and space), so a whole
  invite is one alphanumeric segment: 5.5 bits per character instead of 8. A full private
  invite (228 characters with its ONION address) fits a version-9 QR (53x53 modules) instead
  of version 11 (61x61): bigger modules, easier scans from a screen. That rules out ``?``,
  ``&``, ``=`` and lower case, hence ``/`` between fields, ``:`` inside them, and upper-case
  base32 for binary values.
* The URI is case-insensitive (after an ASCII check, so a dotless i or a long s cannot
  upper-case into a valid letter); people may type or paste it in lower case. The alias must
  be its three word-list words written in full: no prefixes, no other separators.
* Strict: each field is validated, duplicates and empty fields are refused, binary values must
  be canonical base32, so one invite has exactly one meaning. Errors never echo values (AUTH
  is a secret).
* Versioned: a reader stops at an unknown ``V<n>`` and says "update Libra". Within v1, an
  unknown field is an error (fail safe: a field a reader does not understand might restrict
  the invite) unless its name starts with ``X-``, which marks an optional extension readers
  may skip. New optional hints need no version bump; anything security-relevant does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from ..crypto.alias import AliasSyntaxError, parse_alias
from ..crypto.onion import OnionKeyError, normalize_onion_address
from ..errors import ProtocolError, VersionMismatch

SCHEME = "LIBRA"
VERSION = 1
MAX_URI_LEN = 512  # a full v1 invite is <= 251 characters; the rest is room for X- fields
FINGERPRINT_LEN = 32
CREDENTIAL_LEN = 32  # X25519 private key for Tor v3 client authorization
B32_LEN = 52  # base32 of 32 bytes, no padding
MAX_COUNTER = 2**32 - 1
MAX_EXPIRES = 2**40 - 1  # far future; rejects nonsense without caring about the clock
MAX_FIELDS = 16

# 3 to 9 characters like every list word; letters with at most one inner hyphen (t-shirt, yo-yo)
_WORD_RE = re.compile(r"(?=[a-z-]{3,9}\Z)[a-z]+(-[a-z]+)?")
_VERSION_RE = re.compile(r"V([1-9][0-9]{0,3})")
_NAME_RE = re.compile(r"[A-Z][A-Z0-9-]{0,15}")
_EXT_VALUE_RE = re.compile(r"[0-9A-Z$*+.:-]{0,256}")
_DECIMAL_RE = re.compile(r"0|[1-9][0-9]{0,12}")
_B32_RE = re.compile(r"[A-Z2-7]{52}")
_EXTENSION_PREFIX = "X-"
_FLAGS = frozenset({"ONCE"})
_VALUED = frozenset({"FP", "C", "AUTH", "EXP", "ONION"})
_ONION_RE = re.compile(r"[A-Z2-7]{56}")


class InviteError(ProtocolError):
    """A ``libra:`` invite link or QR payload that is malformed; the message says what to fix."""


class InviteVersionError(InviteError, VersionMismatch):
    """An invite in a format this Libra does not know (made by a newer version)."""


@dataclass(frozen=True)
class Invite:
    """A contact invitation: the alias, the pinned identity and, for a private beacon, its key.

    ``credential`` is a secret (anyone holding it can reach the private beacon), so it is kept
    out of ``repr``. ``expires`` and ``one_time`` tell the holder what to expect; the beacon
    owner enforces them.
    """

    words: tuple[str, str, str]
    fingerprint: bytes
    counter: int = 0
    credential: bytes | None = field(default=None, repr=False)
    expires: int | None = None
    one_time: bool = False
    onion: str | None = None  # a private / one-time beacon's own address (random key)

    def __post_init__(self) -> None:
        if not isinstance(self.words, tuple) or len(self.words) != 3:
            raise InviteError("an alias is exactly three words")
        for word in self.words:
            _check_word(word)
        _check_bytes(self.fingerprint, FINGERPRINT_LEN, "identity fingerprint")
        _check_int(self.counter, MAX_COUNTER, "alias counter")
        if self.credential is not None:
            _check_bytes(self.credential, CREDENTIAL_LEN, "beacon credential")
        if self.expires is not None:
            _check_int(self.expires, MAX_EXPIRES, "expiry time")
        if not isinstance(self.one_time, bool):
            raise InviteError("one_time must be a bool")
        if self.onion is not None:
            try:
                if not isinstance(self.onion, str):
                    raise OnionKeyError("not text")
                canonical = normalize_onion_address(self.onion)
            except OnionKeyError:
                raise InviteError(
                    "the beacon address (ONION) is not a valid onion address"
                ) from None
            object.__setattr__(self, "onion", canonical)

    @property
    def alias(self) -> str:
        """The three words as people say them: ``amber-falcon-raven``."""
        return "-".join(self.words)

    @property
    def private(self) -> bool:
        """True if the invite carries a client-auth credential (a private beacon)."""
        return self.credential is not None

    def is_expired(self, now: float) -> bool:
        """True once ``now`` (unix seconds) has reached ``expires``; time is a parameter here."""
        return self.expires is not None and now >= self.expires

    def to_uri(self, *, lowercase: bool = False) -> str:
        """The canonical URI (upper case, for QR alphanumeric mode) or its lower-case twin."""
        parts = [
            f"{SCHEME}:V{VERSION}",
            self.alias.upper(),
            f"FP:{_b32(self.fingerprint)}",
            f"C:{self.counter}",
        ]
        if self.credential is not None:
            parts.append(f"AUTH:{_b32(self.credential)}")
        if self.expires is not None:
            parts.append(f"EXP:{self.expires}")
        if self.onion is not None:
            parts.append(f"ONION:{self.onion.upper()}")
        if self.one_time:
            parts.append("ONCE")
        uri = "/".join(parts)
        return uri.lower() if lowercase else uri


def is_invite_uri(text: str) -> bool:
    """Cheap check: does ``text`` claim to be a ``libra:`` URI (valid or not)?"""
    return isinstance(text, str) and text.strip()[:6].upper() == f"{SCHEME}:"


def parse_invite(text: str) -> Invite:
    """Parse a ``libra:`` invite strictly; raise InviteError (or InviteVersionError) if bad.

    Surrounding whitespace is ignored and case does not matter; nothing else is forgiven.
    """
    if not isinstance(text, str):
        raise InviteError("an invite must be text")
    text = text.strip()
    if len(text) > MAX_URI_LEN:
        raise InviteError(f"invite is too long (more than {MAX_URI_LEN} characters)")
    if not text.isascii():
        raise InviteError("invite contains characters that are not plain ASCII")
    upper = text.upper()
    scheme, sep, rest = upper.partition(":")
    if not sep or scheme != SCHEME:
        raise InviteError("not a Libra invite (it must start with 'libra:')")
    segments = rest.split("/")
    _check_version(segments[0])
    if len(segments) < 2 or not segments[1]:
        raise InviteError("invite has no alias (expected libra:v1/word-word-word/...)")
    words = _parse_words(segments[1])
    fields = _parse_fields(segments[2:])

    if "FP" not in fields:
        raise InviteError("invite has no identity fingerprint (FP)")
    if "C" not in fields:
        raise InviteError("invite has no alias counter (C)")
    auth, exp, onion = fields.get("AUTH"), fields.get("EXP"), fields.get("ONION")
    if onion is not None and _ONION_RE.fullmatch(onion) is None:
        raise InviteError("the beacon address (ONION) must be 56 base32 characters")
    return Invite(
        words=words,
        fingerprint=_unb32(fields["FP"], "identity fingerprint (FP)"),
        counter=_parse_decimal(fields["C"], MAX_COUNTER, "alias counter (C)"),
        credential=None if auth is None else _unb32(auth, "beacon credential (AUTH)"),
        expires=None if exp is None else _parse_decimal(exp, MAX_EXPIRES, "expiry time (EXP)"),
        one_time="ONCE" in fields,
        onion=None if onion is None else onion.lower(),
    )


# --- parsing helpers ------------------------------------------------------------------------


def _check_version(segment: str) -> None:
    match = _VERSION_RE.fullmatch(segment)
    if match is None:
        raise InviteError("invite has no valid format version (expected libra:v1/...)")
    version = int(match.group(1))
    if version != VERSION:
        raise InviteVersionError(
            f"this invite uses format v{version}, which this version of Libra cannot read: "
            "please update Libra"
        )


def _parse_words(segment: str) -> tuple[str, str, str]:
    """Three words of the alias word list (hyphenated list words like yo-yo are rejoined)."""
    try:
        words = parse_alias(segment.lower())
    except AliasSyntaxError as exc:
        raise InviteError(f"the alias in this invite is not valid: {exc}") from None
    if "-".join(words) != segment.lower():  # parse_alias forgives prefixes and separators
        raise InviteError(
            f"the alias in this invite must be its words in full joined by '-': {'-'.join(words)}"
        )
    return words


def _parse_fields(segments: list[str]) -> dict[str, str]:
    """``NAME:VALUE`` / ``FLAG`` segments -> dict (flags map to ""); X- extensions dropped."""
    if len(segments) > MAX_FIELDS:
        raise InviteError(f"invite has too many fields (more than {MAX_FIELDS})")
    fields: dict[str, str] = {}
    seen: set[str] = set()
    for segment in segments:
        if not segment:
            raise InviteError("invite has an empty field (two '/' in a row or a trailing '/')")
        name, sep, value = segment.partition(":")
        if _NAME_RE.fullmatch(name) is None:
            raise InviteError("invite has a field with an invalid name")
        if name in seen:
            raise InviteError(f"invite field {name} appears more than once")
        seen.add(name)
        if name.startswith(_EXTENSION_PREFIX):
            if _EXT_VALUE_RE.fullmatch(value) is None:
                raise InviteError(f"invite extension field {name} has an invalid value")
            continue  # optional extension from a newer Libra: safe to skip by definition
        if name in _FLAGS:
            if sep:
                raise InviteError(f"invite flag {name} takes no value")
            fields[name] = ""
        elif name in _VALUED:
            if not sep or not value:
                raise InviteError(f"invite field {name} has no value")
            fields[name] = value
        else:
            raise InviteError(
                f"invite has a field this version of Libra does not know ({name}): "
                "it may need a newer Libra"
            )
    return fields


def _unb32(value: str, what: str) -> bytes:
    if _B32_RE.fullmatch(value) is None:
        raise InviteError(f"{what} must be {B32_LEN} base32 characters (A-Z, 2-7)")
    try:
        raw = base64.b32decode(value + "====")
    except binascii.Error as exc:  # unreachable after the regex; kept as a guard
        raise InviteError(f"{what} is not valid base32") from exc
    if _b32(raw) != value:  # the last character carries 3 unused bits; they must be zero
        raise InviteError(f"{what} is not canonical base32 (damaged or edited?)")
    return raw


def _parse_decimal(value: str, maximum: int, what: str) -> int:
    if _DECIMAL_RE.fullmatch(value) is None:
        raise InviteError(f"{what} must be a decimal number without leading zeros")
    number = int(value)
    if number > maximum:
        raise InviteError(f"{what} is out of range")
    return number


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _check_word(word: object) -> None:
    """Syntax only (lower-case letters, maybe one inner hyphen); parsing checks the list."""
    if not isinstance(word, str) or _WORD_RE.fullmatch(word) is None:
        raise InviteError("each alias word must be 3 to 9 letters a-z (at most one inner '-')")


def _check_bytes(value: object, n: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != n:
        raise InviteError(f"{what} must be {n} bytes")


def _check_int(value: object, maximum: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InviteError(f"{what} must be an integer from 0 to {maximum}")
