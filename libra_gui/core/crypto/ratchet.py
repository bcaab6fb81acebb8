"""End-to-end message encryption: Olm (3DH + Double Ratchet) sessions via vodozemac.

Why vodozemac: audited Rust implementation used by Matrix, ~5x faster than the pure-Python
alternative we measured (see docs/protocol/ratchet.md). This module is the only place that
touches it, so the rest of Libra sees raw bytes and two typed errors:

* :class:`~libra_gui.core.errors.DecryptionError`: bytes from outside that do not decrypt
  (tampered, truncated, replayed, non-canonical, wrong session, unknown kind, too far ahead).
* :class:`~libra_gui.core.errors.SessionError`: a session or account could not be created or
  loaded (bad key, wrong pickle key, corrupt pickle).

What the wrapper adds to vodozemac (each found by tests/test_ratchet.py):

* Failed decrypts change nothing. vodozemac commits receiving-chain state only after the MAC
  checks, but a message carrying an unknown ratchet key, arriving while we have not replied
  since the peer's last new chain, activates our next sending ratchet (a fresh key pair) even
  when the MAC then fails. So a message on a chain not known to be stored is decrypted after
  an in-memory snapshot (a pickle, ~12 us) that is restored on failure; messages on the chain
  that last decrypted successfully take the fast path, where vodozemac is transactional.
* One message, one byte string: vodozemac's parser accepts non-canonical encodings (its MAC
  covers a re-encoding and the pre-key header is not MACed at all) and X25519 ignores the top
  bit of a key; both are refused here, and so are pre-key messages of another session.

Objects here are not thread-safe; use each from one task at a time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import vodozemac

from ..errors import DecryptionError, SessionError

KEY_LEN: Final = 32
PICKLE_KEY_LEN: Final = 32

# vodozemac 0.10 limits (src/olm/session/receiver_chain.rs, session/mod.rs,
# account/one_time_keys.rs); tests/test_ratchet.py pins each one empirically.
MAX_MESSAGE_GAP: Final = 2000  # a message more than this far ahead in its chain is refused
MAX_SKIPPED_KEYS: Final = 40  # skipped message keys kept per receiving chain (oldest dropped)
MAX_RECEIVING_CHAINS: Final = 5  # peer ratchet keys remembered (oldest chain dropped)
MAX_STORED_ONE_TIME_KEYS: Final = 5000  # private OTKs an account keeps (oldest dropped)

# One byte in front of vodozemac's encrypted pickle: says what it is and lets the format
# change later without guessing.
_ACCOUNT_PICKLE_TAG: Final = b"\xa1"
_SESSION_PICKLE_TAG: Final = b"\x51"

_VODOZEMAC_ERRORS: Final = ValueError  # base class of every vodozemac exception

# Canonical Olm v1 layout (vodozemac, SessionConfig v1 = "MAC truncated" messages, version 3).
_VERSION: Final = 3
_KEY_FIELD: Final = b"\x0a\x20"  # field 1, 32 bytes: the ratchet key of a normal message
# Pre-key header: one-time key, base key, identity key (fields 1-3, 32 bytes each), then
# field 4 (0x22) holding the embedded normal message.
_PRE_KEY_TAGS: Final = ((1, b"\x0a\x20"), (35, b"\x12\x20"), (69, b"\x1a\x20"))
_PRE_KEY_HEADER_LEN: Final = 103
_EMBEDDED_TAG: Final = 0x22

# Key for in-memory rollback snapshots only; never stored.
_SNAPSHOT_KEY: Final = secrets.token_bytes(32)


class MessageKind(IntEnum):
    """Olm message types, numbered as on the wire."""

    PRE_KEY = 0
    NORMAL = 1


@dataclass(frozen=True, slots=True)
class RatchetMessage:
    """One Olm message as the wire format carries it: ``Envelope(kind, ciphertext)``.

    Constructing one validates nothing, so a decoder can build it from untrusted fields;
    :meth:`RatchetSession.decrypt` and :meth:`RatchetSession.accept` do the checking.
    """

    kind: int
    ciphertext: bytes


def _public_key(raw: object, what: str) -> vodozemac.Curve25519PublicKey:
    if type(raw) is not bytes or len(raw) != KEY_LEN:
        raise SessionError(f"{what} must be {KEY_LEN} bytes")
    try:
        return vodozemac.Curve25519PublicKey.from_bytes(raw)
    except _VODOZEMAC_ERRORS:
        raise SessionError(f"{what} is not a valid Curve25519 key") from None


def _check_pickle_key(pickle_key: object) -> bytes:
    if type(pickle_key) is not bytes or len(pickle_key) != PICKLE_KEY_LEN:
        raise SessionError(f"pickle key must be {PICKLE_KEY_LEN} bytes")
    return pickle_key


def _pack_pickle(tag: bytes, pickle: str) -> bytes:
    """Keep vodozemac's base64 text as is: decoding it would save 25% of a few KB but cost
    ~10 us per save+load, and Libra saves after every message."""
    return tag + pickle.encode("ascii")


def _unpack_pickle(tag: bytes, data: object, what: str) -> str:
    if type(data) is not bytes or len(data) < 2 or data[:1] != tag:
        raise SessionError(f"this is not a saved {what}")
    try:
        return data[1:].decode("ascii")
    except UnicodeDecodeError:
        raise SessionError(f"saved {what} is damaged") from None


def _embedded_message(pre_key: bytes) -> bytes:
    """Return the normal message inside a canonical pre-key message, checking its header."""
    for offset, tag in _PRE_KEY_TAGS:
        if pre_key[offset : offset + 2] != tag:
            raise DecryptionError("pre-key message has an unexpected layout")
        # X25519 ignores bit 255, so vodozemac treats a key with it flipped as the same key:
        # refuse it, or the un-MACed header would have two valid encodings.
        if pre_key[offset + 33] & 0x80:
            raise DecryptionError("pre-key message carries a non-canonical key")
    pos = _PRE_KEY_HEADER_LEN
    if len(pre_key) <= pos or pre_key[pos] != _EMBEDDED_TAG:
        raise DecryptionError("pre-key message has an unexpected layout")
    length = shift = 0
    while True:  # protobuf varint; bounded because the message was parsed already
        pos += 1
        if pos >= len(pre_key):
            raise DecryptionError("pre-key message has an unexpected layout")
        length |= (pre_key[pos] & 0x7F) << shift
        shift += 7
        if not pre_key[pos] & 0x80:
            break
    inner = pre_key[pos + 1 :]
    if len(inner) != length:
        raise DecryptionError("pre-key message has an unexpected layout")
    return inner


def _ratchet_key(kind: int, ciphertext: bytes) -> bytes:
    """The sender's ratchet key (chain id) of a canonical message."""
    normal = ciphertext if kind == MessageKind.NORMAL else _embedded_message(ciphertext)
    if len(normal) < 35 or normal[0] != _VERSION or normal[1:3] != _KEY_FIELD:
        raise DecryptionError("ratchet message has an unexpected layout")
    return normal[3:35]


def _to_olm(message: object) -> tuple[vodozemac.AnyOlmMessage, bytes]:
    """Parse untrusted fields into a vodozemac message and its ratchet key; only canonical
    encodings pass."""
    if not isinstance(message, RatchetMessage):
        raise DecryptionError("not a ratchet message")
    kind, ciphertext = message.kind, message.ciphertext
    if type(kind) is not int and type(kind) is not MessageKind:
        raise DecryptionError("ratchet message kind is not an integer")
    if kind not in (MessageKind.PRE_KEY, MessageKind.NORMAL):
        raise DecryptionError(f"unknown ratchet message kind {kind!r}")
    if type(ciphertext) is not bytes:
        raise DecryptionError("ratchet ciphertext is not bytes")
    try:
        olm = vodozemac.AnyOlmMessage.from_parts(int(kind), ciphertext)
        canonical = olm.to_parts()[1]
    except _VODOZEMAC_ERRORS:
        raise DecryptionError("ratchet message is malformed or truncated") from None
    # The MAC covers a re-encoding, not the bytes received, and the pre-key header is not
    # MACed at all: without this check one message would have many valid byte strings.
    if canonical != ciphertext:
        raise DecryptionError("ratchet message is not canonically encoded")
    return olm, _ratchet_key(kind, ciphertext)


class RatchetAccount:
    """Our long-term Olm identity (Curve25519) and the one-time keys we hand out.

    The identity key is the ``ratchet_key`` of our contact card. Persist the account after
    every :meth:`new_one_time_key` and every :meth:`RatchetSession.accept` (which consumes a
    one-time key), in the same transaction as the new session.
    """

    __slots__ = ("_account",)

    def __init__(self, account: vodozemac.Account) -> None:
        self._account = account

    @classmethod
    def generate(cls) -> RatchetAccount:
        return cls(vodozemac.Account())

    @property
    def identity_key(self) -> bytes:
        """Raw 32-byte Curve25519 identity key (the card's ``ratchet_key``)."""
        return self._account.curve25519_key.to_bytes()

    def new_one_time_key(self) -> bytes:
        """Create one one-time key for a peer who wants to open a session; return it raw.

        The key is marked published at once. The account keeps the private halves of the
        newest :data:`MAX_STORED_ONE_TIME_KEYS` unused keys; older ones are dropped, so a
        peer who asks for keys faster than others use them only delays those others.
        """
        self._account.mark_keys_as_published()  # nothing else may be pending
        self._account.generate_one_time_keys(1)
        keys = list(self._account.one_time_keys.values())
        self._account.mark_keys_as_published()
        if len(keys) != 1:  # pragma: no cover - vodozemac contract
            raise SessionError("one-time key generation returned an unexpected result")
        return keys[0].to_bytes()

    def to_bytes(self, pickle_key: bytes) -> bytes:
        """Encrypted snapshot (vodozemac pickle: AES-256-CBC + HMAC, deterministic)."""
        try:
            pickle = self._account.pickle(_check_pickle_key(pickle_key))
        except _VODOZEMAC_ERRORS as exc:
            raise SessionError(f"cannot save ratchet account: {exc}") from None
        return _pack_pickle(_ACCOUNT_PICKLE_TAG, pickle)

    @classmethod
    def from_bytes(cls, data: bytes, pickle_key: bytes) -> RatchetAccount:
        """Load a snapshot; SessionError if the key is wrong or the bytes are damaged."""
        pickle = _unpack_pickle(_ACCOUNT_PICKLE_TAG, data, "ratchet account")
        try:
            return cls(vodozemac.Account.from_pickle(pickle, _check_pickle_key(pickle_key)))
        except _VODOZEMAC_ERRORS:
            raise SessionError("ratchet account cannot be loaded: wrong key or damaged") from None


class RatchetSession:
    """One Olm session with one peer: encrypts to them and decrypts from them."""

    __slots__ = ("_known_chain", "_session")

    def __init__(self, session: vodozemac.Session, known_chain: bytes | None = None) -> None:
        self._session = session
        # Ratchet key of the chain that last decrypted a message: certainly stored, because
        # chains are only added (and old ones evicted) by a successful decrypt.
        self._known_chain = known_chain

    @classmethod
    def initiate(
        cls, account: RatchetAccount, their_identity_key: bytes, their_one_time_key: bytes
    ) -> RatchetSession:
        """Open an outbound session (3DH) to a peer's identity key and offered one-time key.

        Every message we send is a pre-key message until the peer's first reply arrives.
        """
        identity = _public_key(their_identity_key, "peer ratchet identity key")
        one_time = _public_key(their_one_time_key, "peer one-time key")
        try:
            return cls(account._account.create_outbound_session(identity, one_time))
        except _VODOZEMAC_ERRORS as exc:
            raise SessionError(f"cannot open ratchet session: {exc}") from None

    @classmethod
    def accept(
        cls, account: RatchetAccount, their_identity_key: bytes, message: RatchetMessage
    ) -> tuple[RatchetSession, bytes]:
        """Create the inbound session from a peer's first pre-key message; return it and the
        plaintext. Consumes our one-time key only on success, so a replay is refused.

        SessionError if ``their_identity_key`` is unusable; DecryptionError if the message is
        malformed, tampered, replayed, not a pre-key message or not from that identity key.
        """
        identity = _public_key(their_identity_key, "peer ratchet identity key")
        olm, chain = _to_olm(message)
        pre_key = olm.to_pre_key()
        if pre_key is None:
            raise DecryptionError("a new ratchet session must start with a pre-key message")
        try:
            session, plaintext = account._account.create_inbound_session(identity, pre_key)
        except _VODOZEMAC_ERRORS as exc:
            raise DecryptionError(f"pre-key message refused: {exc}") from None
        return cls(session, chain), plaintext

    @property
    def session_id(self) -> str:
        """Stable id shared by both ends (unpadded base64 of a hash of the 3DH keys)."""
        return self._session.session_id

    def matches(self, message: RatchetMessage) -> bool:
        """True if ``message`` is a (canonical) pre-key message of this very session.

        Lets a caller with several sessions for one contact pick the right one, or decide to
        :meth:`accept` a new one.
        """
        try:
            pre_key = _to_olm(message)[0].to_pre_key()
        except DecryptionError:
            return False
        return pre_key is not None and self._session.session_matches(pre_key)

    def encrypt(self, plaintext: bytes) -> RatchetMessage:
        """Encrypt for the peer; advances our sending chain."""
        if type(plaintext) is not bytes:
            raise TypeError("plaintext must be bytes")
        try:
            kind, ciphertext = self._session.encrypt(plaintext).to_parts()
        except _VODOZEMAC_ERRORS as exc:
            raise SessionError(f"cannot encrypt: {exc}") from None
        return RatchetMessage(MessageKind(kind), ciphertext)

    def decrypt(self, message: RatchetMessage) -> bytes:
        """Decrypt a message from the peer; on any failure raise DecryptionError and leave
        the session exactly as it was."""
        olm, chain = _to_olm(message)
        pre_key = olm.to_pre_key()
        if pre_key is not None and not self._session.session_matches(pre_key):
            raise DecryptionError("pre-key message belongs to another ratchet session")
        if chain == self._known_chain:  # fast path: vodozemac only commits on success here
            try:
                return self._session.decrypt(olm)
            except _VODOZEMAC_ERRORS as exc:
                raise DecryptionError(f"ratchet message does not decrypt: {exc}") from None
        snapshot = self._session.pickle(_SNAPSHOT_KEY)
        try:
            plaintext = self._session.decrypt(olm)
        except _VODOZEMAC_ERRORS as exc:
            self._session = vodozemac.Session.from_pickle(snapshot, _SNAPSHOT_KEY)
            raise DecryptionError(f"ratchet message does not decrypt: {exc}") from None
        self._known_chain = chain
        return plaintext

    def to_bytes(self, pickle_key: bytes) -> bytes:
        """Encrypted snapshot; deterministic, so equal state gives equal bytes."""
        try:
            pickle = self._session.pickle(_check_pickle_key(pickle_key))
        except _VODOZEMAC_ERRORS as exc:
            raise SessionError(f"cannot save ratchet session: {exc}") from None
        return _pack_pickle(_SESSION_PICKLE_TAG, pickle)

    @classmethod
    def from_bytes(cls, data: bytes, pickle_key: bytes) -> RatchetSession:
        """Load a snapshot; SessionError if the key is wrong or the bytes are damaged."""
        pickle = _unpack_pickle(_SESSION_PICKLE_TAG, data, "ratchet session")
        try:
            return cls(vodozemac.Session.from_pickle(pickle, _check_pickle_key(pickle_key)))
        except _VODOZEMAC_ERRORS:
            raise SessionError("ratchet session cannot be loaded: wrong key or damaged") from None


__all__ = [
    "KEY_LEN",
    "MAX_MESSAGE_GAP",
    "MAX_RECEIVING_CHAINS",
    "MAX_SKIPPED_KEYS",
    "MAX_STORED_ONE_TIME_KEYS",
    "PICKLE_KEY_LEN",
    "MessageKind",
    "RatchetAccount",
    "RatchetMessage",
    "RatchetSession",
]
