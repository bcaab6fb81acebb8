"""Long-term keys of a Libra user: who you are, and how peers check it.

* identity key: Ed25519; signs everything that speaks for the user.
* static key: X25519 used as the Noise static key; bound to the identity by a signature, so a
  handshake proves both "I hold this static key" (Noise) and "it belongs to that identity".
* fingerprint: SHA-256 over a domain tag and the identity key (what QR codes pin).
* safety number: Signal's numeric-fingerprint construction (iterated SHA-512, 5 x 5-digit
  chunks per side), the two halves sorted so both screens show the same 60 digits.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from nacl.exceptions import BadSignatureError
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

from ..errors import CryptoError

KEY_LEN = 32
SIGNATURE_LEN = 64

# Domain-separation tags: a signature made for one purpose never verifies for another.
STATIC_KEY_DOMAIN = b"libra/v1/static-key"
FINGERPRINT_DOMAIN = b"libra/v1/fingerprint"
SAFETY_NUMBER_VERSION = b"\x00\x01"
SAFETY_NUMBER_ITERATIONS = 5200  # as in Signal's NumericFingerprintGenerator
SAFETY_NUMBER_CHUNKS = 6  # 6 chunks x 5 digits = 30 digits per side


def fingerprint(identity_public: bytes) -> bytes:
    """32-byte fingerprint of an Ed25519 identity key."""
    _require_len(identity_public, KEY_LEN, "identity key")
    return hashlib.sha256(FINGERPRINT_DOMAIN + identity_public).digest()


def format_fingerprint(fp: bytes) -> str:
    """Human-readable fingerprint: 16 groups of four hex digits."""
    text = fp.hex()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def sign_static_key(signing_key: SigningKey, static_public: bytes) -> bytes:
    return signing_key.sign(STATIC_KEY_DOMAIN + static_public).signature


def verify_signature(identity_public: bytes, domain: bytes, data: bytes, sig: bytes) -> None:
    """Check an identity signature made with ``IdentityKeys.sign``; raise CryptoError if bad."""
    _require_len(identity_public, KEY_LEN, "identity key")
    _require_len(sig, SIGNATURE_LEN, "signature")
    try:
        VerifyKey(identity_public).verify(domain + data, sig)
    except (BadSignatureError, NaclCryptoError, ValueError):
        raise CryptoError("signature does not verify") from None


def verify_static_key(identity_public: bytes, static_public: bytes, sig: bytes) -> None:
    """Raise CryptoError unless ``sig`` binds ``static_public`` to ``identity_public``."""
    _require_len(static_public, KEY_LEN, "static key")
    verify_signature(identity_public, STATIC_KEY_DOMAIN, static_public, sig)


@dataclass(frozen=True)
class IdentityKeys:
    """The user's private long-term keys. Never logged, never leaves the encrypted store."""

    signing_key: SigningKey = field(repr=False)
    static_key: PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> IdentityKeys:
        return cls(SigningKey.generate(), PrivateKey.generate())

    @classmethod
    def from_seeds(cls, identity_seed: bytes, static_secret: bytes) -> IdentityKeys:
        _require_len(identity_seed, KEY_LEN, "identity seed")
        _require_len(static_secret, KEY_LEN, "static secret")
        return cls(SigningKey(identity_seed), PrivateKey(static_secret))

    @property
    def identity_seed(self) -> bytes:
        return bytes(self.signing_key)

    @property
    def static_secret(self) -> bytes:
        return bytes(self.static_key)

    @property
    def identity_public(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def static_public(self) -> bytes:
        return bytes(self.static_key.public_key)

    @property
    def static_signature(self) -> bytes:
        """Ed25519 signature binding the static key to the identity (deterministic)."""
        return sign_static_key(self.signing_key, self.static_public)

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.identity_public)

    def sign(self, domain: bytes, data: bytes) -> bytes:
        """Sign ``domain || data``; domains are the ``*_DOMAIN`` constants of each protocol."""
        return self.signing_key.sign(domain + data).signature


def _safety_half(identity_public: bytes) -> str:
    digest = hashlib.sha512(SAFETY_NUMBER_VERSION + identity_public + FINGERPRINT_DOMAIN).digest()
    for _ in range(SAFETY_NUMBER_ITERATIONS):
        digest = hashlib.sha512(digest + identity_public).digest()
    chunks = []
    for i in range(SAFETY_NUMBER_CHUNKS):
        value = int.from_bytes(digest[i * 5 : i * 5 + 5], "big") % 100_000
        chunks.append(f"{value:05d}")
    return "".join(chunks)


def safety_number(identity_a: bytes, identity_b: bytes) -> str:
    """60-digit safety number for a pair, identical whichever side computes it.

    Formatted as 12 groups of 5 digits, the way Signal shows it.
    """
    _require_len(identity_a, KEY_LEN, "identity key")
    _require_len(identity_b, KEY_LEN, "identity key")
    digits = "".join(sorted((_safety_half(identity_a), _safety_half(identity_b))))
    return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _require_len(value: bytes, length: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise CryptoError(f"{what} must be {length} bytes")
