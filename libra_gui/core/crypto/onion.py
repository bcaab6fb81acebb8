"""Tor v3 onion keys in Tor's own encodings (pure: bytes in, strings out, no IO).

* address: ``base32(pubkey || checksum || version)`` with
  ``checksum = SHA3-256(".onion checksum" || pubkey || version)[:2]`` (rend-spec-v3 §6).
* expanded secret key: what ``ADD_ONION ED25519-V3:<base64>`` takes. Tor never sees the
  32-byte Ed25519 seed; it wants ``clamp(SHA-512(seed)[:32]) || SHA-512(seed)[32:]``. Deriving
  it from a seed kept in our encrypted store makes the inbox address stable across restarts
  without tor ever writing the key to disk.
* client authorization: X25519 keys; the service side lists the client's *public* key in
  base32 (``ClientAuthV3=``), the client side gives tor its *private* key in base64
  (``ONION_CLIENT_AUTH_ADD <onion> x25519:<base64>``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

import nacl.bindings
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from ..errors import CryptoError

ONION_VERSION = 3
ONION_ADDRESS_LEN = 56  # base32 of 35 bytes, without ".onion"
SEED_LEN = 32
EXPANDED_KEY_LEN = 64
PUBLIC_KEY_LEN = 32
X25519_KEY_LEN = 32
CLIENT_AUTH_PUBLIC_B32_LEN = 52  # base32 of 32 bytes, no padding
CLIENT_AUTH_PRIVATE_B64_LEN = 44  # base64 of 32 bytes, with padding
KEY_BLOB_PREFIX = "ED25519-V3:"
_CHECKSUM_DOMAIN = b".onion checksum"
_B32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")


class OnionKeyError(CryptoError):
    """An onion address or onion/client-auth key that is malformed or has a bad checksum."""


# --- addresses ------------------------------------------------------------------------------


def _checksum(public_key: bytes) -> bytes:
    data = _CHECKSUM_DOMAIN + public_key + bytes([ONION_VERSION])
    return hashlib.sha3_256(data).digest()[:2]


def onion_address(public_key: bytes) -> str:
    """The 56-character v3 address (lower case, no ``.onion``) of an Ed25519 public key."""
    _require_len(public_key, PUBLIC_KEY_LEN, "onion public key")
    raw = public_key + _checksum(public_key) + bytes([ONION_VERSION])
    return base64.b32encode(raw).decode("ascii").lower()


def normalize_onion_address(address: str) -> str:
    """Lower-case, strip ``.onion`` and validate; raises OnionKeyError if not a v3 address.

    Every address that ends up in a control command passes through here, so a hostile string
    (spaces, CR/LF) can never smuggle a second command to tor.
    """
    text = address.strip().lower()
    text = text.removesuffix(".onion")
    public_key_from_onion_address(text)
    return text


def public_key_from_onion_address(address: str) -> bytes:
    """The Ed25519 public key inside a v3 address; checks length, alphabet, checksum, version."""
    text = address.strip().lower().removesuffix(".onion")
    if len(text) != ONION_ADDRESS_LEN or not set(text) <= _B32_ALPHABET:
        raise OnionKeyError("not a v3 onion address (56 base32 characters expected)")
    raw = base64.b32decode(text.upper())
    public_key, checksum, version = raw[:32], raw[32:34], raw[34]
    if version != ONION_VERSION:
        raise OnionKeyError(f"onion address version {version} is not supported (only v3)")
    if checksum != _checksum(public_key):
        raise OnionKeyError("onion address checksum does not match (typo?)")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(public_key):
        # Tor refuses keys with a torsion component too; catch them before tor does.
        raise OnionKeyError("onion address does not contain a valid Ed25519 key")
    return public_key


def is_onion_address(address: str) -> bool:
    """True if ``address`` (with or without ``.onion``) is a well-formed v3 address."""
    try:
        public_key_from_onion_address(address)
    except OnionKeyError:
        return False
    return True


# --- service keys ---------------------------------------------------------------------------


def expanded_secret_key(seed: bytes) -> bytes:
    """Tor's 64-byte expanded Ed25519 secret key for a 32-byte seed (RFC 8032 §5.1.5)."""
    _require_len(seed, SEED_LEN, "onion key seed")
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return bytes(digest)


def public_key_from_seed(seed: bytes) -> bytes:
    _require_len(seed, SEED_LEN, "onion key seed")
    return bytes(SigningKey(seed).verify_key)


def public_key_from_expanded(expanded: bytes) -> bytes:
    """Public key of an expanded secret key (e.g. one that ``ADD_ONION NEW`` returned)."""
    _require_len(expanded, EXPANDED_KEY_LEN, "expanded onion key")
    scalar = expanded[:32]
    if scalar[0] & 7 or not scalar[31] & 64 or scalar[31] & 128:
        raise OnionKeyError("expanded onion key is not clamped")
    try:
        return nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(scalar)
    except Exception as exc:  # libsodium refuses degenerate scalars
        raise OnionKeyError("expanded onion key is invalid") from exc


def onion_address_from_seed(seed: bytes) -> str:
    return onion_address(public_key_from_seed(seed))


def key_blob(expanded: bytes) -> str:
    """``ED25519-V3:<base64>``: the KeyType:KeyBlob argument of ``ADD_ONION``."""
    _require_len(expanded, EXPANDED_KEY_LEN, "expanded onion key")
    return KEY_BLOB_PREFIX + base64.b64encode(expanded).decode("ascii")


def parse_key_blob(blob: str) -> bytes:
    """The 64-byte expanded key from ``ED25519-V3:<base64>`` (as ``ADD_ONION NEW`` returns it)."""
    if not blob.startswith(KEY_BLOB_PREFIX):
        raise OnionKeyError("onion key blob must start with ED25519-V3:")
    expanded = _b64decode(blob[len(KEY_BLOB_PREFIX) :], "onion key blob")
    _require_len(expanded, EXPANDED_KEY_LEN, "expanded onion key")
    return expanded


@dataclass(frozen=True)
class OnionServiceKey:
    """An onion service's secret key in the form tor takes, plus the address it yields."""

    expanded: bytes = field(repr=False)
    address: str

    @classmethod
    def from_seed(cls, seed: bytes) -> OnionServiceKey:
        return cls(expanded_secret_key(seed), onion_address_from_seed(seed))

    @classmethod
    def from_expanded(cls, expanded: bytes) -> OnionServiceKey:
        return cls(bytes(expanded), onion_address(public_key_from_expanded(expanded)))

    @classmethod
    def from_bytes(cls, key: bytes) -> OnionServiceKey:
        """A 32-byte seed or a 64-byte expanded key, told apart by length."""
        if len(key) == SEED_LEN:
            return cls.from_seed(key)
        if len(key) == EXPANDED_KEY_LEN:
            return cls.from_expanded(key)
        raise OnionKeyError("onion key must be a 32-byte seed or a 64-byte expanded key")

    @property
    def blob(self) -> str:
        return key_blob(self.expanded)


# --- client authorization -------------------------------------------------------------------


def client_auth_public_b32(public_key: bytes) -> str:
    """An X25519 public key as ``ClientAuthV3=`` wants it: 52 base32 chars, no padding."""
    _require_len(public_key, X25519_KEY_LEN, "client auth public key")
    return base64.b32encode(public_key).decode("ascii").rstrip("=")


def client_auth_private_b64(private_key: bytes) -> str:
    """An X25519 private key as ``ONION_CLIENT_AUTH_ADD ... x25519:`` wants it (base64)."""
    _require_len(private_key, X25519_KEY_LEN, "client auth private key")
    return base64.b64encode(private_key).decode("ascii")


def parse_client_auth_public_b32(text: str) -> bytes:
    """Inverse of :func:`client_auth_public_b32`; strict (52 chars, either case)."""
    t = text.strip().upper()
    if len(t) != CLIENT_AUTH_PUBLIC_B32_LEN or not set(t.lower()) <= _B32_ALPHABET:
        raise OnionKeyError("client auth public key must be 52 base32 characters")
    try:
        raw = base64.b32decode(t + "====")
    except binascii.Error as exc:
        raise OnionKeyError("client auth public key is not valid base32") from exc
    if client_auth_public_b32(raw) != t:  # non-canonical trailing bits
        raise OnionKeyError("client auth public key is not canonical base32")
    return raw


def parse_client_auth_private_b64(text: str) -> bytes:
    """Inverse of :func:`client_auth_private_b64`; strict (44 chars, canonical)."""
    t = text.strip()
    if len(t) != CLIENT_AUTH_PRIVATE_B64_LEN:
        raise OnionKeyError("client auth private key must be 44 base64 characters")
    raw = _b64decode(t, "client auth private key")
    if client_auth_private_b64(raw) != t:
        raise OnionKeyError("client auth private key is not canonical base64")
    return raw


@dataclass(frozen=True)
class ClientAuthKey:
    """One X25519 client-authorization key pair, with Tor's two encodings."""

    private: bytes = field(repr=False)
    public: bytes

    @classmethod
    def generate(cls) -> ClientAuthKey:
        sk = PrivateKey.generate()
        return cls(bytes(sk), bytes(sk.public_key))

    @classmethod
    def from_private(cls, private: bytes) -> ClientAuthKey:
        _require_len(private, X25519_KEY_LEN, "client auth private key")
        return cls(bytes(private), bytes(PrivateKey(private).public_key))

    @property
    def public_b32(self) -> str:
        """For the service: ``ClientAuthV3=<this>``."""
        return client_auth_public_b32(self.public)

    @property
    def private_b64(self) -> str:
        """For the client: ``ONION_CLIENT_AUTH_ADD <onion> x25519:<this>``."""
        return client_auth_private_b64(self.private)


# --- helpers --------------------------------------------------------------------------------


def _require_len(data: bytes, n: int, what: str) -> None:
    if not isinstance(data, bytes | bytearray) or len(data) != n:
        raise OnionKeyError(f"{what} must be {n} bytes")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise OnionKeyError(f"{what} is not valid base64") from exc
