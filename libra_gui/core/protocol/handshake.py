"""Sans-IO link handshake: version negotiation, then a Noise XX or IK handshake.

Bytes in (any chunking), bytes out, a :class:`HandshakeResult` at the end. No sockets, no
clock: the caller moves bytes and enforces timeouts. The byte-exact format is in
docs/protocol/handshake.md; in short::

    I -> R  hello   "LIBRA" | u8 n | n x u16 versions (ascending)
    R -> I  reply   "LIBRA" | u16 chosen (0 = none) | u8 m | m x u16 versions (ascending)
    I -> R  mode    u8 (1 = XX, 2 = IK)
    then    Noise handshake messages, each u16-length-prefixed (XX: 3, IK: 2)

The prologue is ``hello | reply | mode | u16 len(context) | context``, so tampering with the
cleartext negotiation (a downgrade) or using the transcript in another context breaks the
handshake. Identity payloads carry the Ed25519 identity key and its signature over the Noise
static key, checked against the static key Noise actually authenticated.

Policy stays out: the initiator may pin the identity it expects; otherwise the caller looks at
``result.peer_identity`` and decides.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from ..crypto.identity import KEY_LEN, SIGNATURE_LEN, IdentityKeys, verify_static_key
from ..crypto.noise import (
    DH_LEN,
    MAX_HANDSHAKE_OVERHEAD,
    NoiseHandshake,
    NoiseTransport,
    protocol_name,
)
from ..errors import CryptoError, HandshakeError, ProtocolError, VersionMismatch
from .card import MAX_CARD_BYTES
from .codec import Limits, pack, unpack_strict

MAGIC = b"LIBRA"
MAX_VERSIONS = 16
# Protocol version -> Noise hash function. Version 0 is reserved ("none in common").
SUPPORTED_VERSIONS: dict[int, str] = {1: "SHA256"}
MAX_CONTEXT_LEN = 1024
MAX_PAYLOAD_LEN = 2048
MAX_FRAME_LEN = MAX_HANDSHAKE_OVERHEAD + MAX_PAYLOAD_LEN
PAYLOAD_LIMITS = Limits(
    max_bytes=MAX_PAYLOAD_LEN,
    max_depth=1,
    max_str=8,
    max_bin=MAX_CARD_BYTES,
    max_array=0,
    max_map=3,
)
_HELLO_HEADER = len(MAGIC) + 1
_REPLY_HEADER = len(MAGIC) + 2 + 1


class Role(Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class Mode(IntEnum):
    """Which Noise pattern the initiator chose; sent as one byte after the reply."""

    XX = 1  # first contact: the initiator does not know the responder's static key
    IK = 2  # the initiator knows (pins) the responder's static key


class NoCommonVersion(VersionMismatch):
    """Responder side: no version in common. Send ``reply`` to the peer, then close.

    The reply tells the initiator which versions we speak, so it can show "update Libra".
    """

    def __init__(self, message: str, reply: bytes) -> None:
        super().__init__(message)
        self.reply = reply


@dataclass(frozen=True)
class HandshakeResult:
    """What a completed handshake established."""

    version: int
    mode: Mode
    peer_identity: bytes
    peer_static: bytes
    peer_card: bytes | None
    transport: NoiseTransport = field(repr=False)
    handshake_hash: bytes
    leftover: bytes  # bytes received after the last handshake message: transport data


class _State(Enum):
    START = "start"
    WAIT_HELLO = "wait hello"
    WAIT_REPLY = "wait reply"
    WAIT_MODE = "wait mode"
    WAIT_MSG1 = "wait message 1"
    WAIT_MSG2 = "wait message 2"
    WAIT_MSG3 = "wait message 3"
    COMPLETE = "complete"
    FAILED = "failed"


# --- version negotiation (pure functions, also used by tests and other tools) -------------


def _encode_list(versions: tuple[int, ...]) -> bytes:
    return bytes([len(versions)]) + b"".join(v.to_bytes(2, "big") for v in versions)


def encode_hello(versions: tuple[int, ...]) -> bytes:
    """Initiator's first bytes: magic and the versions it speaks."""
    return MAGIC + _encode_list(_check_versions(versions))


def encode_reply(chosen: int, versions: tuple[int, ...]) -> bytes:
    """Responder's answer: the chosen version (0 = none in common) and its own list."""
    if not 0 <= chosen <= 0xFFFF:
        raise ValueError("version out of range")
    return MAGIC + chosen.to_bytes(2, "big") + _encode_list(_check_versions(versions))


def choose_version(ours: Iterable[int], theirs: Iterable[int]) -> int | None:
    """Highest version both sides speak, or None."""
    common = set(ours) & set(theirs)
    return max(common) if common else None


def _check_versions(versions: Iterable[int]) -> tuple[int, ...]:
    result = tuple(versions)
    if not 1 <= len(result) <= MAX_VERSIONS:
        raise ValueError(f"need 1 to {MAX_VERSIONS} versions")
    if any(type(v) is not int or not 1 <= v <= 0xFFFF for v in result):
        raise ValueError("versions are integers 1..65535")
    if list(result) != sorted(set(result)):
        raise ValueError("versions must be strictly ascending")
    return result


def _parse_list(data: bytes) -> tuple[int, ...]:
    """Strictly parse ``count`` u16 versions; the caller checked the length."""
    versions = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    if any(v == 0 for v in versions) or list(versions) != sorted(set(versions)):
        raise HandshakeError("version list is not strictly ascending non-zero versions")
    return versions


def build_prologue(hello: bytes, reply: bytes, mode: Mode, context: bytes) -> bytes:
    """Bind the whole cleartext negotiation and the caller's context into Noise."""
    if len(context) > MAX_CONTEXT_LEN:
        raise ValueError(f"context above {MAX_CONTEXT_LEN} bytes")
    return hello + reply + bytes([mode]) + len(context).to_bytes(2, "big") + context


# --- identity payload ---------------------------------------------------------------------


def encode_identity_payload(keys: IdentityKeys, card: bytes | None) -> bytes:
    """msgpack map: id (Ed25519 key), ssig (signature over the static key), card (optional)."""
    body: dict[str, bytes] = {"id": keys.identity_public, "ssig": keys.static_signature}
    if card is not None:
        body["card"] = card
    return pack(body)


def decode_identity_payload(payload: bytes) -> tuple[bytes, bytes, bytes | None]:
    """Strictly parse an identity payload into (identity key, static signature, card)."""
    try:
        raw = unpack_strict(payload, PAYLOAD_LIMITS)
    except ProtocolError as exc:
        raise HandshakeError(f"identity payload is not valid: {exc}") from None
    if not isinstance(raw, dict) or not {"id", "ssig"} <= set(raw) <= {"id", "ssig", "card"}:
        raise HandshakeError("identity payload has missing or unknown fields")
    if payload[0] != 0x80 | len(raw):  # fixmap whose count matches: no duplicate keys
        raise HandshakeError("identity payload must be a fixmap without duplicate keys")
    identity, sig, card = raw["id"], raw["ssig"], raw.get("card")
    if type(identity) is not bytes or len(identity) != KEY_LEN:
        raise HandshakeError("identity key must be 32 bytes")
    if type(sig) is not bytes or len(sig) != SIGNATURE_LEN:
        raise HandshakeError("static key signature must be 64 bytes")
    if card is not None and (type(card) is not bytes or not 1 <= len(card) <= MAX_CARD_BYTES):
        raise HandshakeError(f"contact card must be 1 to {MAX_CARD_BYTES} bytes")
    return identity, sig, card


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


# --- the state machine --------------------------------------------------------------------


class Handshake:
    """One link's handshake, either side. Feed it every received byte with :meth:`receive`.

    Initiator: ``start()`` gives the hello. XX is used when ``remote_static`` is None, IK
    when the responder's static key is known. If IK fails (the peer rotated its static key,
    so it cannot decrypt message 1 and closes), retry once with XX and the same
    ``expected_identity``; see docs/protocol/handshake.md.
    """

    def __init__(
        self,
        role: Role,
        keys: IdentityKeys,
        *,
        remote_static: bytes | None = None,
        expected_identity: bytes | None = None,
        context: bytes = b"",
        versions: Iterable[int] = (1,),
        card: bytes | None = None,
    ) -> None:
        self.role = Role(role)
        self._keys = keys
        self._versions = _check_versions(sorted(versions))
        unknown = [v for v in self._versions if v not in SUPPORTED_VERSIONS]
        if unknown:
            raise ValueError(f"unsupported protocol versions {unknown}")
        if remote_static is not None:
            if self.role is not Role.INITIATOR:
                raise ValueError("only the initiator can know the peer's static key")
            if type(remote_static) is not bytes or len(remote_static) != DH_LEN:
                raise ValueError("remote static key must be 32 bytes")
        if expected_identity is not None and (
            type(expected_identity) is not bytes or len(expected_identity) != KEY_LEN
        ):
            raise ValueError("expected identity must be a 32-byte Ed25519 key")
        if type(context) is not bytes or len(context) > MAX_CONTEXT_LEN:
            raise ValueError(f"context must be at most {MAX_CONTEXT_LEN} bytes")
        if card is not None and (type(card) is not bytes or not 1 <= len(card) <= MAX_CARD_BYTES):
            raise ValueError(f"card must be 1 to {MAX_CARD_BYTES} bytes")
        self._remote_static = remote_static
        self._expected_identity = expected_identity
        self._context = context
        self._card = card
        self._state = _State.START if self.role is Role.INITIATOR else _State.WAIT_HELLO
        self._buf = bytearray()
        self._hello = b""
        self._reply = b""
        self.version: int | None = None
        self.mode: Mode | None = (
            None if self.role is Role.RESPONDER else (Mode.IK if remote_static else Mode.XX)
        )
        self._noise: NoiseHandshake | None = None
        self._peer: tuple[bytes, bytes | None] | None = None
        self._result: HandshakeResult | None = None

    # -- public state ----------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return self._state is _State.COMPLETE

    @property
    def failed(self) -> bool:
        return self._state is _State.FAILED

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message (bounded by MAX_FRAME_LEN + 2)."""
        return len(self._buf)

    @property
    def result(self) -> HandshakeResult:
        if self._result is None:
            raise HandshakeError("handshake is not complete")
        return self._result

    # -- driving ---------------------------------------------------------------------------

    def start(self) -> bytes:
        """Bytes to send first: the hello for an initiator, nothing for a responder."""
        if self.role is Role.RESPONDER:
            return b""
        if self._state is not _State.START:
            raise RuntimeError("start() called twice")
        self._hello = encode_hello(self._versions)
        self._state = _State.WAIT_REPLY
        return self._hello

    def receive(self, data: bytes) -> list[bytes]:
        """Consume stream bytes in any chunking; return chunks to send, in order.

        Raises a ProtocolError subclass (HandshakeError, VersionMismatch, NoCommonVersion)
        on any failure; the handshake is then dead and the link must be closed.
        """
        if self._state is _State.FAILED:
            raise HandshakeError("handshake already failed")
        if self._state is _State.COMPLETE:
            raise RuntimeError("handshake complete: hand further bytes to the transport")
        if self._state is _State.START:
            raise RuntimeError("initiator must call start() first")
        self._buf += data
        out: list[bytes] = []
        try:
            while self._state is not _State.COMPLETE and self._step(out):
                pass
        except ProtocolError:
            self._fail()
            raise
        except CryptoError as exc:
            self._fail()
            raise HandshakeError(str(exc)) from None
        return out

    def _fail(self) -> None:
        self._state = _State.FAILED
        self._buf.clear()
        self._noise = None

    # -- steps: each returns True if it consumed a whole message -----------------------------

    def _step(self, out: list[bytes]) -> bool:
        state = self._state
        if state is _State.WAIT_HELLO:
            return self._on_hello(out)
        if state is _State.WAIT_REPLY:
            return self._on_reply(out)
        if state is _State.WAIT_MODE:
            return self._on_mode()
        frame = self._take_frame(DH_LEN if self._is_xx_message_1() else MAX_FRAME_LEN)
        if frame is None:
            return False
        if state is _State.WAIT_MSG1:
            self._on_message_1(frame, out)
        elif state is _State.WAIT_MSG2:
            self._on_message_2(frame, out)
        else:
            self._on_message_3(frame)
        return True

    def _check_magic(self) -> None:
        """Fail on the first wrong byte, so garbage is rejected without waiting for more."""
        prefix = bytes(self._buf[: len(MAGIC)])
        if not MAGIC.startswith(prefix):
            raise HandshakeError("peer does not speak the Libra protocol (bad magic)")

    def _on_hello(self, out: list[bytes]) -> bool:
        self._check_magic()
        if len(self._buf) < _HELLO_HEADER:
            return False
        count = self._buf[len(MAGIC)]
        if not 1 <= count <= MAX_VERSIONS:
            raise HandshakeError(f"hello lists {count} versions")
        end = _HELLO_HEADER + 2 * count
        if len(self._buf) < end:
            return False
        theirs = _parse_list(bytes(self._buf[_HELLO_HEADER:end]))
        self._hello = self._consume(end)
        chosen = choose_version(self._versions, theirs)
        if chosen is None:
            reply = encode_reply(0, self._versions)
            raise NoCommonVersion(
                f"peer speaks protocol versions {list(theirs)}, we speak {list(self._versions)}",
                reply,
            )
        self._reply = encode_reply(chosen, self._versions)
        self.version = chosen
        out.append(self._reply)
        self._state = _State.WAIT_MODE
        return True

    def _on_reply(self, out: list[bytes]) -> bool:
        self._check_magic()
        if len(self._buf) < _REPLY_HEADER:
            return False
        chosen = int.from_bytes(self._buf[len(MAGIC) : len(MAGIC) + 2], "big")
        count = self._buf[_REPLY_HEADER - 1]
        if not 1 <= count <= MAX_VERSIONS:
            raise HandshakeError(f"reply lists {count} versions")
        end = _REPLY_HEADER + 2 * count
        if len(self._buf) < end:
            return False
        theirs = _parse_list(bytes(self._buf[_REPLY_HEADER:end]))
        self._reply = self._consume(end)
        if chosen == 0:
            raise VersionMismatch(
                f"peer speaks protocol versions {list(theirs)}, we speak {list(self._versions)}"
            )
        if chosen != choose_version(self._versions, theirs):
            raise HandshakeError(f"peer chose version {chosen}, not the highest common one")
        self.version = chosen
        assert self.mode is not None
        self._noise = self._new_noise(self.mode)
        payload = b"" if self.mode is Mode.XX else self._identity_payload()
        out.append(bytes([self.mode]) + _frame(self._noise.write_message(payload)))
        self._state = _State.WAIT_MSG2
        return True

    def _on_mode(self) -> bool:
        if not self._buf:
            return False
        value = self._consume(1)[0]
        if value not in (Mode.XX, Mode.IK):
            raise HandshakeError(f"unknown handshake mode {value}")
        self.mode = Mode(value)
        self._noise = self._new_noise(self.mode)
        self._state = _State.WAIT_MSG1
        return True

    def _on_message_1(self, message: bytes, out: list[bytes]) -> None:
        """Responder: XX message 1 (e, empty payload) or IK message 1 (initiator identity)."""
        noise = self._require_noise()
        payload = noise.read_message(message)
        if self.mode is Mode.XX:
            if payload:  # unreachable while the frame limit is 32; kept if that changes
                raise HandshakeError("XX message 1 must have an empty payload")
            out.append(_frame(noise.write_message(self._identity_payload())))
            self._state = _State.WAIT_MSG3
        else:
            self._accept_peer(payload)
            out.append(_frame(noise.write_message(self._identity_payload())))
            self._finish()

    def _on_message_2(self, message: bytes, out: list[bytes]) -> None:
        """Initiator: the responder's identity. XX: check it before revealing ours."""
        noise = self._require_noise()
        self._accept_peer(noise.read_message(message))
        if self.mode is Mode.XX:
            out.append(_frame(noise.write_message(self._identity_payload())))
        self._finish()

    def _on_message_3(self, message: bytes) -> None:
        """Responder, XX only: the initiator's identity."""
        noise = self._require_noise()
        self._accept_peer(noise.read_message(message))
        self._finish()

    # -- helpers ---------------------------------------------------------------------------

    def _is_xx_message_1(self) -> bool:
        return self._state is _State.WAIT_MSG1 and self.mode is Mode.XX

    def _consume(self, n: int) -> bytes:
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk

    def _take_frame(self, max_len: int) -> bytes | None:
        if len(self._buf) < 2:
            return None
        length = int.from_bytes(self._buf[:2], "big")
        if not 1 <= length <= max_len:
            raise HandshakeError(f"handshake message of {length} bytes (limit {max_len})")
        if len(self._buf) < 2 + length:
            return None
        del self._buf[:2]
        return self._consume(length)

    def _require_noise(self) -> NoiseHandshake:
        if self._noise is None:  # unreachable: every WAIT_MSG state has a Noise state
            raise HandshakeError("no Noise state")
        return self._noise

    def _new_noise(self, mode: Mode) -> NoiseHandshake:
        assert self.version is not None
        name = protocol_name(mode.name, SUPPORTED_VERSIONS[self.version])
        return NoiseHandshake(
            name,
            initiator=self.role is Role.INITIATOR,
            static_private=self._keys.static_secret,
            remote_static=self._remote_static if self.role is Role.INITIATOR else None,
            prologue=build_prologue(self._hello, self._reply, mode, self._context),
        )

    def _identity_payload(self) -> bytes:
        return encode_identity_payload(self._keys, self._card)

    def _accept_peer(self, payload: bytes) -> None:
        """Check the peer's identity against the static key Noise authenticated."""
        identity, sig, card = decode_identity_payload(payload)
        static = self._require_noise().remote_static
        if static is None:  # unreachable: identity payloads follow the peer's static key
            raise HandshakeError("peer static key unknown")
        try:
            verify_static_key(identity, static, sig)
        except CryptoError:
            raise HandshakeError("peer's static key is not signed by its identity key") from None
        if self._expected_identity is not None and not hmac.compare_digest(
            identity, self._expected_identity
        ):
            raise HandshakeError("peer identity is not the expected contact")
        self._peer = (identity, card)

    def _finish(self) -> None:
        noise = self._require_noise()
        if not noise.is_complete or self._peer is None:
            raise HandshakeError("handshake ended early")  # unreachable by construction
        static = noise.remote_static
        assert static is not None and self.version is not None and self.mode is not None
        identity, card = self._peer
        self._result = HandshakeResult(
            version=self.version,
            mode=self.mode,
            peer_identity=identity,
            peer_static=static,
            peer_card=card,
            transport=noise.transport(),
            handshake_hash=noise.handshake_hash,
            leftover=self._consume(len(self._buf)),
        )
        self._noise = None
        self._state = _State.COMPLETE
