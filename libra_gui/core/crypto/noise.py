"""Thin, strict wrapper over ``noiseprotocol`` for the two Noise handshakes Libra uses.

* ``Noise_XX_25519_ChaChaPoly_SHA256``: first contact, neither side knows the other's static key.
* ``Noise_IK_25519_ChaChaPoly_SHA256``: the initiator already knows the responder's static key.

Why a wrapper: ``noiseprotocol`` raises a dozen exception types (its own, ``cryptography``'s
``InvalidTag``, bare ``ValueError``), leaves its state half-advanced after a failure, forgets the
remote static key once the handshake splits, does not check the 65535-byte Noise message limit
on handshake messages and warns instead of refusing fixed ephemeral keys. Here every failure
caused by bytes from outside becomes :class:`HandshakeError` (handshake) or
:class:`DecryptionError` (transport), a failed object refuses further use, and only the four
protocol names below are accepted.

Hash: SHA-256 is what protocol version 1 uses (see docs/decisions.md and
docs/protocol/handshake.md). BLAKE2b names are accepted too so both are checked against the
published test vectors and a later version can switch without touching this module.
"""

from __future__ import annotations

import warnings

from cryptography.exceptions import InvalidTag
from noise.connection import Keypair, NoiseConnection
from noise.exceptions import (
    NoiseHandshakeError,
    NoiseInvalidMessage,
    NoiseMaxNonceError,
    NoiseProtocolNameError,
    NoisePSKError,
    NoiseValidationError,
    NoiseValueError,
)

from ..errors import CryptoError, DecryptionError, HandshakeError

MAX_MESSAGE_LEN = 65535  # Noise spec section 3: every Noise message, handshake or transport
TAG_LEN = 16  # ChaChaPoly authentication tag
DH_LEN = 32  # X25519 public key
KEY_LEN = 32
MAX_TRANSPORT_PLAINTEXT = MAX_MESSAGE_LEN - TAG_LEN
# Largest handshake overhead of XX/IK: ephemeral key + encrypted static key + payload tag.
MAX_HANDSHAKE_OVERHEAD = DH_LEN + (DH_LEN + TAG_LEN) + TAG_LEN
MAX_HANDSHAKE_PAYLOAD = MAX_MESSAGE_LEN - MAX_HANDSHAKE_OVERHEAD

PATTERNS = ("XX", "IK")
HASHES = ("SHA256", "BLAKE2b")
DEFAULT_HASH = "SHA256"

# Everything noiseprotocol and its backend raise when fed bad keys or bytes.
_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    NoiseHandshakeError,
    NoiseInvalidMessage,
    NoiseMaxNonceError,
    NoiseProtocolNameError,
    NoisePSKError,
    NoiseValidationError,
    NoiseValueError,
    InvalidTag,
    ValueError,
    TypeError,
    IndexError,
)


def protocol_name(pattern: str, hash_name: str = DEFAULT_HASH) -> str:
    """Full Noise protocol name, e.g. ``Noise_XX_25519_ChaChaPoly_SHA256``."""
    if pattern not in PATTERNS:
        raise ValueError(f"unsupported Noise pattern {pattern!r}")
    if hash_name not in HASHES:
        raise ValueError(f"unsupported Noise hash {hash_name!r}")
    return f"Noise_{pattern}_25519_ChaChaPoly_{hash_name}"


SUPPORTED_PROTOCOLS = frozenset(protocol_name(p, h) for p in PATTERNS for h in HASHES)


def _key(value: bytes | None, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != KEY_LEN:
        raise HandshakeError(f"{what} must be {KEY_LEN} bytes")
    return bytes(value)


class NoiseHandshake:
    """One side of an XX or IK handshake; becomes a :class:`NoiseTransport` when complete.

    Messages alternate strictly (initiator writes first). After any error the object is
    dead: a half-advanced Noise state must never be reused.
    """

    def __init__(
        self,
        name: str,
        *,
        initiator: bool,
        static_private: bytes,
        remote_static: bytes | None = None,
        prologue: bytes = b"",
        insecure_fixed_ephemeral: bytes | None = None,
    ) -> None:
        """``insecure_fixed_ephemeral`` exists for published test vectors only.

        Production code never passes it: a repeated ephemeral key destroys forward secrecy
        and, for the initiator in IK, lets a passive observer link sessions.
        """
        if name not in SUPPORTED_PROTOCOLS:
            raise ValueError(f"unsupported Noise protocol {name!r}")
        self.protocol_name = name
        self.pattern = name.split("_")[1]
        self.initiator = initiator
        if self.pattern == "IK" and initiator and remote_static is None:
            raise ValueError("IK initiator needs the responder's static key")
        if remote_static is not None and not (self.pattern == "IK" and initiator):
            raise ValueError("only an IK initiator knows the remote static key in advance")
        if not isinstance(prologue, bytes):
            raise TypeError("prologue must be bytes")
        self._failed = False
        self._complete = False
        self._transport_taken = False
        self._remote_static: bytes | None = None
        conn = NoiseConnection.from_name(name.encode("ascii"))
        try:
            if initiator:
                conn.set_as_initiator()
            else:
                conn.set_as_responder()
            conn.set_prologue(prologue)
            conn.set_keypair_from_private_bytes(
                Keypair.STATIC, _key(static_private, "static private key")
            )
            if remote_static is not None:
                self._remote_static = _key(remote_static, "remote static key")
                conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, self._remote_static)
            if insecure_fixed_ephemeral is None:
                conn.start_handshake()
            else:
                conn.set_keypair_from_private_bytes(
                    Keypair.EPHEMERAL, _key(insecure_fixed_ephemeral, "ephemeral key")
                )
                with warnings.catch_warnings():
                    # noiseprotocol warns about fixed ephemerals; the caller asked for it.
                    warnings.simplefilter("ignore")
                    conn.start_handshake()
        except _LIBRARY_ERRORS as exc:
            raise HandshakeError(f"cannot set up Noise handshake: {type(exc).__name__}") from None
        self._conn = conn
        # noiseprotocol deletes its HandshakeState at split; keep it to read ``rs`` afterwards.
        self._state = conn.noise_protocol.handshake_state
        self._writes_next = initiator

    # -- state ---------------------------------------------------------------------------

    @property
    def is_complete(self) -> bool:
        return self._complete

    @property
    def writes_next(self) -> bool:
        """True when the next handshake step is ``write_message`` on this side."""
        return self._writes_next

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static public key once Noise has received (or was given) it."""
        if self._remote_static is None:
            rs = getattr(self._state, "rs", None)
            public = getattr(rs, "public_bytes", None)
            if isinstance(public, bytes):
                self._remote_static = public
        return self._remote_static

    @property
    def handshake_hash(self) -> bytes:
        """Noise handshake hash ``h``: identical on both sides, unique per session."""
        if not self._complete:
            raise HandshakeError("handshake hash is only defined after completion")
        return bytes(self._conn.get_handshake_hash())

    def _check_usable(self, writing: bool) -> None:
        if self._failed:
            raise HandshakeError("Noise handshake already failed")
        if self._complete:
            raise HandshakeError("Noise handshake already complete")
        if writing != self._writes_next:
            raise HandshakeError("Noise handshake messages out of order")

    # -- messages ------------------------------------------------------------------------

    def write_message(self, payload: bytes = b"") -> bytes:
        """Next handshake message carrying ``payload`` (encrypted once keys exist)."""
        self._check_usable(writing=True)
        if len(payload) > MAX_HANDSHAKE_PAYLOAD:
            raise ValueError(f"handshake payload above {MAX_HANDSHAKE_PAYLOAD} bytes")
        try:
            message = bytes(self._conn.write_message(bytes(payload)))
        except _LIBRARY_ERRORS as exc:
            self._failed = True
            raise HandshakeError(f"Noise handshake failed: {type(exc).__name__}") from None
        self._after_step()
        return message

    def read_message(self, data: bytes) -> bytes:
        """Process the peer's next handshake message; return its decrypted payload."""
        self._check_usable(writing=False)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("handshake message must be bytes")
        data = bytes(data)
        if not data or len(data) > MAX_MESSAGE_LEN:
            self._failed = True
            raise HandshakeError(f"Noise handshake message of {len(data)} bytes")
        try:
            payload = bytes(self._conn.read_message(data))
        except _LIBRARY_ERRORS as exc:
            self._failed = True
            raise HandshakeError(f"Noise handshake failed: {type(exc).__name__}") from None
        self._after_step()
        return payload

    def _after_step(self) -> None:
        self._writes_next = not self._writes_next
        if self._conn.handshake_finished:
            self._complete = True

    def transport(self) -> NoiseTransport:
        """The transport cipher pair; callable once, after completion."""
        if not self._complete or self._failed:
            raise HandshakeError("Noise handshake is not complete")
        if self._transport_taken:
            raise HandshakeError("Noise transport already taken")
        self._transport_taken = True
        return NoiseTransport(self._conn, self.handshake_hash)


class NoiseTransport:
    """Noise transport messages: ChaChaPoly with implicit, strictly increasing nonces.

    Because nonces are implicit, a replayed, dropped or reordered ciphertext fails to
    decrypt; after the first failure the receiving direction refuses everything (the link
    is to be closed), so a peer gets no decryption oracle.
    """

    def __init__(self, connection: NoiseConnection, handshake_hash: bytes) -> None:
        self._conn = connection
        self.handshake_hash = handshake_hash
        self._decrypt_failed = False

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt one message (at most 65519 bytes, so the ciphertext fits 65535)."""
        if len(plaintext) > MAX_TRANSPORT_PLAINTEXT:
            raise ValueError(f"transport plaintext above {MAX_TRANSPORT_PLAINTEXT} bytes")
        try:
            return bytes(self._conn.encrypt(bytes(plaintext)))
        except _LIBRARY_ERRORS as exc:
            raise CryptoError(f"Noise encryption failed: {type(exc).__name__}") from None

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt the next message from the peer or raise DecryptionError."""
        if self._decrypt_failed:
            raise DecryptionError("an earlier message on this link failed to decrypt")
        if not isinstance(ciphertext, bytes | bytearray | memoryview):
            raise TypeError("ciphertext must be bytes")
        data = bytes(ciphertext)
        if not TAG_LEN <= len(data) <= MAX_MESSAGE_LEN:
            self._decrypt_failed = True
            raise DecryptionError(f"Noise transport message of {len(data)} bytes")
        try:
            return bytes(self._conn.decrypt(data))
        except _LIBRARY_ERRORS:
            self._decrypt_failed = True
            raise DecryptionError(
                "Noise transport message was tampered, replayed or reordered"
            ) from None
