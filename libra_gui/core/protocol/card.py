"""Signed contact cards: what a peer learns about you, and the only way keys enter a contact.

A card is a msgpack map with fixed short keys; the signature covers a canonical msgpack array
of every other field in a fixed order, prefixed by a domain tag. Decoding validates every
field (type, length, range, text rules) and the signature before anything is returned.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..crypto.identity import (
    KEY_LEN,
    SIGNATURE_LEN,
    IdentityKeys,
    fingerprint,
    verify_signature,
    verify_static_key,
)
from ..crypto.onion import OnionKeyError, normalize_onion_address
from ..errors import CardError, CryptoError, ProtocolError
from .codec import Limits, pack, unpack_strict

CARD_VERSION = 1
CARD_DOMAIN = b"libra/v1/contact-card"
MAX_CARD_BYTES = 1024
MAX_NAME_CHARS = 64
CARD_LIMITS = Limits(max_bytes=MAX_CARD_BYTES, max_depth=2, max_str=256, max_bin=64, max_map=16)
_FIELDS = ("v", "name", "id", "sk", "ssig", "rk", "inbox", "ck", "ts", "sig")
_MAX_TIMESTAMP = 2**40  # far future; rejects nonsense without caring about the clock

# Characters that let a name impersonate or reorder text around it.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
ONION_V3_LEN = 56


def normalize_display_name(name: str) -> str:
    """Return the canonical form of a display name or raise CardError saying what is wrong."""
    if not isinstance(name, str):
        raise CardError("display name must be text")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise CardError("display name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise CardError(f"display name is longer than {MAX_NAME_CHARS} characters")
    for ch in name:
        # Zl/Zp (U+2028, U+2029) are line breaks, like the Cc "\n" that is already refused.
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or ch in _BIDI_CONTROLS:
            raise CardError("display name contains control or invisible characters")
    return name


def validate_onion_v3(address: str) -> str:
    """Check a v3 onion address (56 base32 chars, optional '.onion'); return the 56 chars."""
    if not isinstance(address, str):
        raise CardError("inbox address must be text")
    try:
        return normalize_onion_address(address)
    except OnionKeyError as exc:
        raise CardError(f"inbox address: {exc}") from None


@dataclass(frozen=True)
class ContactCard:
    """A validated, signature-checked contact card."""

    version: int
    display_name: str
    identity_key: bytes
    static_key: bytes
    static_signature: bytes
    ratchet_key: bytes
    inbox: str | None
    client_auth_key: bytes | None  # X25519 public key contacts authorize on their inbox (v3)
    created: int
    signature: bytes

    @classmethod
    def create(
        cls,
        keys: IdentityKeys,
        display_name: str,
        ratchet_key: bytes,
        created: int,
        inbox: str | None = None,
        client_auth_key: bytes | None = None,
    ) -> ContactCard:
        """Build and sign our own card (inputs are validated exactly as a peer would)."""
        unsigned = cls(
            version=CARD_VERSION,
            display_name=normalize_display_name(display_name),
            identity_key=keys.identity_public,
            static_key=keys.static_public,
            static_signature=keys.static_signature,
            ratchet_key=ratchet_key,
            inbox=None if inbox is None else validate_onion_v3(inbox),
            client_auth_key=client_auth_key,
            created=created,
            signature=b"",
        )
        sig = keys.sign(CARD_DOMAIN, unsigned._signed_bytes())
        card = cls(**{**unsigned.__dict__, "signature": sig})
        return card.validated()

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.identity_key)

    def _signed_bytes(self) -> bytes:
        return pack(
            [
                self.version,
                self.display_name,
                self.identity_key,
                self.static_key,
                self.static_signature,
                self.ratchet_key,
                self.inbox,
                self.client_auth_key,
                self.created,
            ]
        )

    def encode(self) -> bytes:
        return pack(
            {
                "v": self.version,
                "name": self.display_name,
                "id": self.identity_key,
                "sk": self.static_key,
                "ssig": self.static_signature,
                "rk": self.ratchet_key,
                "inbox": self.inbox,
                "ck": self.client_auth_key,
                "ts": self.created,
                "sig": self.signature,
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> ContactCard:
        """Parse and verify a card from untrusted bytes; raise CardError on any problem."""
        try:
            raw = unpack_strict(data, CARD_LIMITS)
        except ProtocolError as exc:
            raise CardError(f"contact card is not valid: {exc}") from None
        if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
            raise CardError("contact card has missing or unknown fields")
        if data[0] != 0x80 | len(_FIELDS):  # fixmap whose count matches: no duplicate keys
            raise CardError("contact card must be a fixmap without duplicate keys")
        card = cls(
            version=raw["v"],
            display_name=raw["name"],
            identity_key=raw["id"],
            static_key=raw["sk"],
            static_signature=raw["ssig"],
            ratchet_key=raw["rk"],
            inbox=raw["inbox"],
            client_auth_key=raw["ck"],
            created=raw["ts"],
            signature=raw["sig"],
        )
        return card.validated()

    def validated(self) -> ContactCard:
        """Check every field and both signatures; return self or raise CardError."""
        if type(self.version) is not int or self.version != CARD_VERSION:
            raise CardError(f"unsupported contact card version {self.version!r}")
        if normalize_display_name(self.display_name) != self.display_name:
            raise CardError("display name is not in canonical form")
        for value, length, what in (
            (self.identity_key, KEY_LEN, "identity key"),
            (self.static_key, KEY_LEN, "static key"),
            (self.ratchet_key, KEY_LEN, "ratchet key"),
            (self.static_signature, SIGNATURE_LEN, "static key signature"),
            (self.signature, SIGNATURE_LEN, "card signature"),
        ):
            if type(value) is not bytes or len(value) != length:
                raise CardError(f"{what} must be {length} bytes")
        if self.client_auth_key is not None and (
            type(self.client_auth_key) is not bytes or len(self.client_auth_key) != KEY_LEN
        ):
            raise CardError(f"client authorization key must be {KEY_LEN} bytes")
        if self.inbox is not None and validate_onion_v3(self.inbox) != self.inbox:
            raise CardError("inbox address is not in canonical form")
        if type(self.created) is not int or not 0 <= self.created < _MAX_TIMESTAMP:
            raise CardError("card timestamp is out of range")
        try:
            verify_static_key(self.identity_key, self.static_key, self.static_signature)
            verify_signature(self.identity_key, CARD_DOMAIN, self._signed_bytes(), self.signature)
        except CryptoError:
            raise CardError("contact card signature does not verify") from None
        return self

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able view (hex/base64 for bytes) for the CLI and logs of public data."""
        return {
            "version": self.version,
            "display_name": self.display_name,
            "fingerprint": self.fingerprint.hex(),
            "identity_key": self.identity_key.hex(),
            "static_key": self.static_key.hex(),
            "ratchet_key": self.ratchet_key.hex(),
            "inbox": self.inbox,
            "client_auth_key": None if self.client_auth_key is None else self.client_auth_key.hex(),
            "created": self.created,
            "card": base64.b64encode(self.encode()).decode("ascii"),
        }
