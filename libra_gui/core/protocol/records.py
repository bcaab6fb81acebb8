"""Typed, validated records: the only shapes a peer's msgpack can take once decoded.

Every record is a frozen dataclass whose fields carry their wire key and a check. The checks
run on construction, so a record object is valid whether we built it or a peer sent it; a
decoded map must have exactly the declared keys plus ``"t"`` (the type code). Adding a record
type is one dataclass plus one entry in :data:`LINK_RECORDS` or :data:`CONTENT_RECORDS`.

Two families share one type-code space so a misrouted record can never be misread:
link records (codes 1..63) travel in frames between two linked peers; content records
(codes 64..127) are the plaintext inside ratchet-encrypted :class:`Envelope` ciphertext.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast

from ..errors import MalformedRecord
from .codec import Limits, pack, unpack_strict

# --- limits ---------------------------------------------------------------------------------

MAX_RECORD = 65_494
"""Largest encoded link record (msgpack bytes, without the u32 prefix). With its prefix it
fills the largest frame body (wire.MAX_FRAME_BODY, 65514) but for 16 bytes: room for zstd's
growth when wire._seal tries to compress an incompressible body (10 bytes seen: frame and
block headers). So a full FileChunk is one top-bucket frame with about 16 bytes of padding."""
MAX_CONTENT = 56 * 1024
"""Largest encoded content record: leaves room for ratchet overhead inside MAX_CIPHERTEXT."""
MAX_CIPHERTEXT = 60_000
"""Largest ratchet ciphertext one Envelope carries."""
MSG_ID_LEN = 16
KEY_LEN = 32
MAX_ACK_IDS = 256
MAX_CLOSE_REASON = 200
MAX_TEXT_CHARS = 16_384
MAX_TEXT_BYTES = 48 * 1024
"""UTF-8 bound on a text body: 16384 chars of up to 3 bytes each (all of the BMP) fit."""
MAX_SEQ = 2**63
MAX_TIMESTAMP_MS = 2**53
U64 = 2**64

KIND_PRE_KEY = 0
"""Envelope.kind: ratchet pre-key message (first messages of a session)."""
KIND_NORMAL = 1
"""Envelope.kind: ordinary ratchet message."""

LINK_TYPES = range(1, 64)
CONTENT_TYPES = range(64, 128)

# File transfer (docs/protocol/files.md). A sealed chunk is nonce || XChaCha20-Poly1305
# ciphertext of (1 encoding byte + data); protocol.files seals and opens it.
CHUNK_NONCE_LEN = 24
CHUNK_TAG_LEN = 16
MIN_CHUNK_DATA = CHUNK_NONCE_LEN + CHUNK_TAG_LEN + 1
"""Smallest sealed chunk: an empty last chunk (0-byte file)."""
FILE_CHUNK_OVERHEAD = 36
"""msgpack bytes of a FileChunk besides its data (index at its widest, uint32)."""
MAX_CHUNK_DATA = MAX_RECORD - FILE_CHUNK_OVERHEAD
"""65458: the largest sealed chunk; the FileChunk carrying it is exactly MAX_RECORD bytes."""
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = MAX_CHUNK_DATA - MIN_CHUNK_DATA
"""65417: the largest plaintext chunk an offer may announce (and the default)."""
MAX_FILE_SIZE = 2**42
"""4 TiB; with MIN_CHUNK_SIZE a file has at most 2^32 chunks (indexes fit a u32)."""
MAX_CHUNK_INDEX = 2**32
MAX_FILE_NAME_CHARS = 255
MAX_FILE_NAME_BYTES = 4 * MAX_FILE_NAME_CHARS
FILE_CANCEL_REASONS = 16
"""FileCancel.reason codes are 0..15 (protocol.files.CancelReason)."""

LINK_LIMITS = Limits(
    max_bytes=MAX_RECORD,
    max_depth=2,
    max_str=1024,
    max_bin=MAX_CHUNK_DATA,
    max_array=256,
    max_map=8,
)
CONTENT_LIMITS = Limits(
    max_bytes=MAX_CONTENT,
    max_depth=2,
    max_str=MAX_TEXT_BYTES,
    max_bin=MAX_CONTENT,
    max_array=256,
    max_map=9,  # FileOffer: "t" + 8 fields
)

# --- field checks ---------------------------------------------------------------------------

Check = Callable[[Any, str], Any]
"""Validate ``value`` (named ``what`` in errors); return it, possibly normalised."""


def uint(lo: int, hi: int) -> Check:
    """An int in ``lo <= v < hi``; bool is rejected (msgpack true is not 1).

    IntEnum members (our own side only: msgpack never yields them) become plain ints.
    """

    def check(value: Any, what: str) -> int:
        if type(value) is not int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise MalformedRecord(f"{what} must be an integer in [{lo}, {hi})")
            value = int(value)
        if not lo <= value < hi:
            raise MalformedRecord(f"{what} must be an integer in [{lo}, {hi})")
        return value

    return check


def blob(lo: int, hi: int) -> Check:
    """Bytes of length ``lo..hi`` inclusive; bytearray/str are rejected."""

    def check(value: Any, what: str) -> bytes:
        if type(value) is not bytes or not lo <= len(value) <= hi:
            size = f"{lo}" if lo == hi else f"{lo}..{hi}"
            raise MalformedRecord(f"{what} must be {size} bytes")
        return value

    return check


def text(lo: int, hi: int, max_bytes: int) -> Check:
    """A str of ``lo..hi`` characters and at most ``max_bytes`` of UTF-8."""

    def check(value: Any, what: str) -> str:
        if type(value) is not str or not lo <= len(value) <= hi:
            raise MalformedRecord(f"{what} must be text of {lo}..{hi} characters")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates: only possible from our own side
            raise MalformedRecord(f"{what} is not valid Unicode text") from None
        if size > max_bytes:
            raise MalformedRecord(f"{what} is longer than {max_bytes} bytes of UTF-8")
        return value

    return check


def array(item: Check, lo: int, hi: int) -> Check:
    """A list/tuple of ``lo..hi`` items, each passing ``item``; stored as a tuple."""

    def check(value: Any, what: str) -> tuple[Any, ...]:
        if type(value) not in (list, tuple) or not lo <= len(value) <= hi:
            raise MalformedRecord(f"{what} must be a list of {lo}..{hi} items")
        return tuple(item(v, what) for v in value)

    return check


def wire(key: str, check: Check) -> Any:
    """Declare a record field: its short wire key and its check."""
    return dataclasses.field(metadata={"key": key, "check": check})


_msg_id = blob(MSG_ID_LEN, MSG_ID_LEN)

# --- base classes ---------------------------------------------------------------------------


class Record:
    """Base of all records: validation on construction, ``to_wire`` / ``from_wire``."""

    __slots__ = ()
    TYPE: ClassVar[int]

    def __post_init__(self) -> None:
        for attr, _key, check, what in _fields_of(type(self)):
            value = getattr(self, attr)
            checked = check(value, what)
            if checked is not value:
                object.__setattr__(self, attr, checked)

    def to_wire(self) -> dict[str, Any]:
        """The msgpack map for this record (tuples become lists)."""
        out: dict[str, Any] = {"t": self.TYPE}
        for attr, key, _check, _what in _fields_of(type(self)):
            value = getattr(self, attr)
            out[key] = list(value) if type(value) is tuple else value
        return out

    @classmethod
    def from_wire(cls: type[_R], obj: Mapping[str, Any]) -> _R:
        """Build from a decoded map: exactly this type's code and keys, every field checked."""
        code = obj.get("t")
        if type(code) is not int or code != cls.TYPE:
            raise MalformedRecord(f"record is not a {cls.__name__}")
        if obj.keys() != _keys_of(cls):
            raise MalformedRecord(f"{cls.__name__} record has missing or unknown fields")
        return cls(**{attr: obj[key] for attr, key, _check, _what in _fields_of(cls)})


_R = TypeVar("_R", bound=Record)


class LinkRecord(Record):
    """A record carried in link frames (between two directly linked peers)."""

    __slots__ = ()


class ContentRecord(Record):
    """A record carried end to end inside ratchet ciphertext."""

    __slots__ = ()


@functools.cache
def _fields_of(cls: type[Record]) -> tuple[tuple[str, str, Check, str], ...]:
    """(attribute, wire key, check, name for errors) per dataclass field, in order."""
    return tuple(
        (f.name, f.metadata["key"], f.metadata["check"], f"{cls.__name__}.{f.name}")
        for f in dataclasses.fields(cls)
    )


@functools.cache
def _keys_of(cls: type[Record]) -> frozenset[str]:
    """Every key a map of this record type has: ``"t"`` plus the field keys."""
    return frozenset(["t", *(field[1] for field in _fields_of(cls))])


# --- link records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ping(LinkRecord):
    """Heartbeat; the peer answers with a Pong carrying the same nonce."""

    TYPE: ClassVar[int] = 1
    nonce: int = wire("n", uint(0, U64))


@dataclass(frozen=True, slots=True)
class Pong(LinkRecord):
    """Answer to a Ping (same nonce): proves the link is alive and measures round trips."""

    TYPE: ClassVar[int] = 2
    nonce: int = wire("n", uint(0, U64))


@dataclass(frozen=True, slots=True)
class Envelope(LinkRecord):
    """Ratchet ciphertext of one message; ``kind`` says which ratchet message type it is."""

    TYPE: ClassVar[int] = 3
    msg_id: bytes = wire("id", _msg_id)
    kind: int = wire("k", uint(KIND_PRE_KEY, KIND_NORMAL + 1))
    ciphertext: bytes = wire("c", blob(1, MAX_CIPHERTEXT))


@dataclass(frozen=True, slots=True)
class Ack(LinkRecord):
    """Receipt for stored Envelopes, by message id (the sender may drop them from its outbox)."""

    TYPE: ClassVar[int] = 4
    msg_ids: tuple[bytes, ...] = wire("ids", array(_msg_id, 1, MAX_ACK_IDS))


@dataclass(frozen=True, slots=True)
class OneTimeKey(LinkRecord):
    """A fresh Curve25519 one-time key offered so the peer can start a ratchet session."""

    TYPE: ClassVar[int] = 5
    key: bytes = wire("k", blob(KEY_LEN, KEY_LEN))


@dataclass(frozen=True, slots=True)
class Close(LinkRecord):
    """Polite end of a link with a short human-readable reason (may be empty)."""

    TYPE: ClassVar[int] = 6
    reason: str = wire("r", text(0, MAX_CLOSE_REASON, 4 * MAX_CLOSE_REASON))


@dataclass(frozen=True, slots=True)
class Nack(LinkRecord):
    """Envelopes the receiver could not decrypt: the sender re-encrypts them and resends."""

    TYPE: ClassVar[int] = 7
    msg_ids: tuple[bytes, ...] = wire("ids", array(_msg_id, 1, MAX_ACK_IDS))


# --- beacon link records: card lookup and contact requests (docs/protocol/requests.md) -------
# Local constants mirror card.MAX_CARD_BYTES and crypto.pow (STAMP_LEN, MAX_BITS); records.py
# stays free of crypto imports and tests/test_requests_records.py keeps them equal.

MAX_BEACON_CARD = 1024
"""Largest card in a beacon record (= card.MAX_CARD_BYTES)."""
MAX_REQUEST_MESSAGE_CHARS = 500
MAX_REQUEST_MESSAGE_BYTES = 1024
"""LINK_LIMITS caps every str at 1024 bytes: 500 Latin characters fit, ~341 of CJK."""
MAX_ALIAS_COUNTER = 2**32
MAX_POW_BITS = 20
POW_STAMP_LEN = 16
REQUEST_SIGNATURE_LEN = 64
REQUEST_STATUSES = 9
"""Number of RequestResult status codes (0..8, protocol.requests.RequestStatus)."""
MAX_RETRY_AFTER = 7 * 24 * 3600

_beacon_card = blob(1, MAX_BEACON_CARD)
_message_text = text(0, MAX_REQUEST_MESSAGE_CHARS, MAX_REQUEST_MESSAGE_BYTES)
_FORBIDDEN_IN_MESSAGE = frozenset(
    [chr(c) for c in range(0x20) if c != 0x0A]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)]
)


def _request_message(value: Any, what: str) -> str:
    """Request text shown to a stranger's target: no controls (but newline), no bidi tricks."""
    value = _message_text(value, what)
    if not _FORBIDDEN_IN_MESSAGE.isdisjoint(value):
        raise MalformedRecord(f"{what} contains control or bidirectional-override characters")
    return value


@dataclass(frozen=True, slots=True)
class CardRequest(LinkRecord):
    """Ask a beacon for its owner's contact card (sent over a link with a throwaway identity)."""

    TYPE: ClassVar[int] = 8


@dataclass(frozen=True, slots=True)
class CardReply(LinkRecord):
    """The beacon owner's signed card, the alias counter that binds it to the words, and the
    proof-of-work difficulty a request must meet."""

    TYPE: ClassVar[int] = 9
    card: bytes = wire("c", _beacon_card)
    counter: int = wire("n", uint(0, MAX_ALIAS_COUNTER))
    pow_bits: int = wire("w", uint(0, MAX_POW_BITS + 1))


@dataclass(frozen=True, slots=True)
class ContactRequestRecord(LinkRecord):
    """A contact request: the requester's full card, a short message, a proof-of-work stamp
    bound to (beacon, requester, minute), and the requester's signature binding it all to
    this beacon (a public card alone cannot be replayed as someone else's request)."""

    TYPE: ClassVar[int] = 10
    card: bytes = wire("c", _beacon_card)
    message: str = wire("m", _request_message)
    stamp: bytes = wire("p", blob(POW_STAMP_LEN, POW_STAMP_LEN))
    sent_at: int = wire("ts", uint(0, MAX_TIMESTAMP_MS))
    signature: bytes = wire("sig", blob(REQUEST_SIGNATURE_LEN, REQUEST_SIGNATURE_LEN))


@dataclass(frozen=True, slots=True)
class RequestResult(LinkRecord):
    """The beacon's answer to a ContactRequestRecord: a status code and, when it helps,
    how many seconds to wait before trying again (0 = no advice)."""

    TYPE: ClassVar[int] = 11
    status: int = wire("s", uint(0, REQUEST_STATUSES))
    retry_after: int = wire("ra", uint(0, MAX_RETRY_AFTER + 1))


# --- content records ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextMessage(ContentRecord):
    """A chat message: ids/sequence for de-duplication and ordering, sender's clock in ms."""

    TYPE: ClassVar[int] = 64
    msg_id: bytes = wire("id", _msg_id)
    seq: int = wire("s", uint(1, MAX_SEQ))
    sent_at: int = wire("ts", uint(0, MAX_TIMESTAMP_MS))
    body: str = wire("b", text(1, MAX_TEXT_CHARS, MAX_TEXT_BYTES))


@dataclass(frozen=True, slots=True)
class SessionStart(ContentRecord):
    """Empty first plaintext of a new ratchet session: its pre-key Envelope lets the peer
    create its side of the session before any chat message exists."""

    TYPE: ClassVar[int] = 65


# Shared-secret question check (docs/verification.md): SPAKE2 shares and key-confirmation
# MACs, one run identified by a random run id. Codes 66..70 belong to verification (70 spare).
RUN_ID_LEN = 16
SPAKE2_SHARE_LEN = 32
VERIFY_MAC_LEN = 32
MAX_QUESTION_CHARS = 200
MAX_QUESTION_BYTES = 800
_run_id = blob(RUN_ID_LEN, RUN_ID_LEN)
_share = blob(SPAKE2_SHARE_LEN, SPAKE2_SHARE_LEN)
_verify_mac = blob(VERIFY_MAC_LEN, VERIFY_MAC_LEN)


@dataclass(frozen=True, slots=True)
class VerifyStart(ContentRecord):
    """Asker -> answerer: the question and the asker's SPAKE2 share pA."""

    TYPE: ClassVar[int] = 66
    run_id: bytes = wire("r", _run_id)
    question: str = wire("q", text(1, MAX_QUESTION_CHARS, MAX_QUESTION_BYTES))
    share: bytes = wire("p", _share)


@dataclass(frozen=True, slots=True)
class VerifyReply(ContentRecord):
    """Answerer -> asker: the answerer's share pB and its confirmation MAC cB."""

    TYPE: ClassVar[int] = 67
    run_id: bytes = wire("r", _run_id)
    share: bytes = wire("p", _share)
    mac: bytes = wire("m", _verify_mac)


@dataclass(frozen=True, slots=True)
class VerifyConfirm(ContentRecord):
    """Asker -> answerer: the asker's confirmation MAC cA (random bytes if cB did not verify)."""

    TYPE: ClassVar[int] = 68
    run_id: bytes = wire("r", _run_id)
    mac: bytes = wire("m", _verify_mac)


@dataclass(frozen=True, slots=True)
class VerifyAbort(ContentRecord):
    """Either side: this run is over without a result (cancelled, declined, timeout, ...)."""

    TYPE: ClassVar[int] = 69
    run_id: bytes = wire("r", _run_id)
    reason: int = wire("c", uint(0, 256))


# --- file offer: an ordered chat item (docs/protocol/files.md) -------------------------------

FILE_NAME_FORBIDDEN = frozenset(
    [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
    + ["/", "\\", ":"]
    + [chr(c) for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029)]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)
"""Never in a file name: controls, path and drive separators, bidirectional overrides."""

_file_name_text = text(1, MAX_FILE_NAME_CHARS, MAX_FILE_NAME_BYTES)


def file_name(value: Any, what: str) -> str:
    """A name that is safe as one path component on every platform we ship for.

    protocol.files.sanitize_file_name turns any local name into one of these.
    """
    value = _file_name_text(value, what)
    if not FILE_NAME_FORBIDDEN.isdisjoint(value):
        raise MalformedRecord(f"{what} contains a separator or control character")
    if value != value.strip() or value.endswith("."):
        raise MalformedRecord(f"{what} starts or ends with a space, or ends with a dot")
    return value


@dataclass(frozen=True, slots=True)
class FileOffer(ContentRecord):
    """A file, offered as a chat item (ordered, exactly once, like a TextMessage): its name,
    size and SHA-256, the chunk size, and the random key its chunks are sealed with."""

    TYPE: ClassVar[int] = 71
    msg_id: bytes = wire("id", _msg_id)
    seq: int = wire("s", uint(1, MAX_SEQ))
    sent_at: int = wire("ts", uint(0, MAX_TIMESTAMP_MS))
    name: str = wire("n", file_name)
    size: int = wire("z", uint(0, MAX_FILE_SIZE + 1))
    sha256: bytes = wire("h", blob(32, 32))
    chunk_size: int = wire("c", uint(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE + 1))
    key: bytes = wire("k", blob(KEY_LEN, KEY_LEN))


# --- direct-path signaling (docs/protocol/direct.md) ---------------------------------------
# Travels only on an authenticated Tor link; the SDP is checked by protocol.sdp before use.

ATTEMPT_ID_LEN = 16
MAX_SDP = 8192
"""Largest SDP blob (ASCII) in an offer or answer; aiortc's are ~1-2 KiB."""
BIND_KEY_LEN = 32


def flag(value: Any, what: str) -> bool:
    """A msgpack bool (0/1 are rejected: a typo in a peer's encoder is its bug)."""
    if type(value) is not bool:
        raise MalformedRecord(f"{what} must be true or false")
    return value


@dataclass(frozen=True, slots=True)
class DirectHello(LinkRecord):
    """Whether the sender would accept a direct connection with this contact right now.

    Sent on every Tor link start and whenever the sender's policy changes; nobody offers
    (nobody reveals an IP address) before both sides said yes.
    """

    TYPE: ClassVar[int] = 12
    allowed: bool = wire("a", flag)


@dataclass(frozen=True, slots=True)
class DirectOffer(LinkRecord):
    """A WebRTC offer: SDP plus a fresh key both sides use to bind the channel to this link."""

    TYPE: ClassVar[int] = 13
    attempt: bytes = wire("id", blob(ATTEMPT_ID_LEN, ATTEMPT_ID_LEN))
    sdp: bytes = wire("s", blob(1, MAX_SDP))
    bind_key: bytes = wire("k", blob(BIND_KEY_LEN, BIND_KEY_LEN))


@dataclass(frozen=True, slots=True)
class DirectAnswer(LinkRecord):
    """The WebRTC answer to the offer with the same attempt id."""

    TYPE: ClassVar[int] = 14
    attempt: bytes = wire("id", blob(ATTEMPT_ID_LEN, ATTEMPT_ID_LEN))
    sdp: bytes = wire("s", blob(1, MAX_SDP))


DECLINE_POLICY = 0
"""DirectDecline.reason: the answerer does not allow a direct connection (now)."""
DECLINE_BUSY = 1
"""DirectDecline.reason: an attempt or a direct link already exists."""
DECLINE_BAD_OFFER = 2
"""DirectDecline.reason: the offer's SDP was refused (see protocol.sdp)."""
DECLINE_FAILED = 3
"""DirectDecline.reason: the attempt failed or timed out on the sender's side."""


@dataclass(frozen=True, slots=True)
class DirectDecline(LinkRecord):
    """No (more) direct connection for this attempt; the sender says why (a small code)."""

    TYPE: ClassVar[int] = 15
    attempt: bytes = wire("id", blob(ATTEMPT_ID_LEN, ATTEMPT_ID_LEN))
    reason: int = wire("r", uint(0, 256))


# --- file transfer link records (docs/protocol/files.md) -------------------------------------
# The file id is the FileOffer's message id. Chunks go on the FILES channel, the rest on
# SIGNALING; every record names one transfer of the contact at the other end of the link.

_file_id = blob(MSG_ID_LEN, MSG_ID_LEN)
_chunk_index = uint(0, MAX_CHUNK_INDEX)


@dataclass(frozen=True, slots=True)
class FileChunk(LinkRecord):
    """Sender -> receiver: chunk ``index`` of a file, sealed with the offer's file key."""

    TYPE: ClassVar[int] = 16
    file_id: bytes = wire("f", _file_id)
    index: int = wire("i", _chunk_index)
    data: bytes = wire("d", blob(MIN_CHUNK_DATA, MAX_CHUNK_DATA))


@dataclass(frozen=True, slots=True)
class FileRequest(LinkRecord):
    """Receiver -> sender: stream chunks ``from_index`` onwards on this link (sent after the
    user accepts and on every new link while the transfer is unfinished)."""

    TYPE: ClassVar[int] = 17
    file_id: bytes = wire("f", _file_id)
    from_index: int = wire("i", _chunk_index)


@dataclass(frozen=True, slots=True)
class FileAck(LinkRecord):
    """Receiver -> sender: ``chunks`` chunks are stored durably; equal to the chunk count
    only once the whole file's SHA-256 matched (the transfer is done)."""

    TYPE: ClassVar[int] = 18
    file_id: bytes = wire("f", _file_id)
    chunks: int = wire("n", uint(0, MAX_CHUNK_INDEX + 1))


@dataclass(frozen=True, slots=True)
class FileCancel(LinkRecord):
    """Either side: this transfer is over without the file (a reason code). ``by_sender``
    says which side's transfer it names, so the two directions never mix."""

    TYPE: ClassVar[int] = 19
    file_id: bytes = wire("f", _file_id)
    by_sender: bool = wire("s", flag)
    reason: int = wire("r", uint(0, FILE_CANCEL_REASONS))


@dataclass(frozen=True, slots=True)
class FileQuery(LinkRecord):
    """Sender -> receiver, on a new link: where is this transfer? Answered with FileAck
    (known) or FileCancel (cancelled, failed or unknown)."""

    TYPE: ClassVar[int] = 20
    file_id: bytes = wire("f", _file_id)


# --- registry: the one place type codes live ------------------------------------------------

_T = TypeVar("_T", bound=Record)


def _registry(codes: range, *classes: type[_T]) -> Mapping[int, type[_T]]:
    """Map type code -> class, checking codes are unique, in range and keys well-formed."""
    table: dict[int, type[_T]] = {}
    for cls in classes:
        keys = [field[1] for field in _fields_of(cls)]
        assert cls.TYPE in codes and cls.TYPE not in table, cls
        assert "t" not in keys and len(set(keys)) == len(keys), cls
        table[cls.TYPE] = cls
    return table


LINK_RECORDS: Mapping[int, type[LinkRecord]] = _registry(
    LINK_TYPES,
    Ping,
    Pong,
    Envelope,
    Ack,
    OneTimeKey,
    Close,
    Nack,
    CardRequest,
    CardReply,
    ContactRequestRecord,
    RequestResult,
    DirectHello,
    DirectOffer,
    DirectAnswer,
    DirectDecline,
    FileChunk,
    FileRequest,
    FileAck,
    FileCancel,
    FileQuery,
)
CONTENT_RECORDS: Mapping[int, type[ContentRecord]] = _registry(
    CONTENT_TYPES,
    TextMessage,
    SessionStart,
    VerifyStart,
    VerifyReply,
    VerifyConfirm,
    VerifyAbort,
    FileOffer,
)


def decode_record(obj: object, registry: Mapping[int, type[Record]] = LINK_RECORDS) -> Record:
    """Validate a decoded msgpack value as one record of ``registry`` (link records by default).

    Raises MalformedRecord for anything but an exact, in-range record.
    """
    if type(obj) is not dict:
        raise MalformedRecord("record is not a map")
    code = obj.get("t")
    if type(code) is not int:
        raise MalformedRecord("record has no integer type code")
    cls = registry.get(code)
    if cls is None:
        raise MalformedRecord(f"unknown record type {code}")
    return cls.from_wire(obj)


def encode_content(record: ContentRecord) -> bytes:
    """Serialise a content record as the plaintext to hand to the ratchet."""
    if not isinstance(record, ContentRecord):
        raise TypeError(f"{type(record).__name__} is not a content record")
    data = pack(record.to_wire())
    if len(data) > MAX_CONTENT:  # unreachable for validated records; guards new types
        raise ValueError(f"content record of {len(data)} bytes exceeds {MAX_CONTENT}")
    return data


def decode_packed(data: bytes, limits: Limits, registry: Mapping[int, type[Record]]) -> Record:
    """Strict msgpack bytes -> one record of ``registry``; ProtocolError otherwise.

    Also refuses duplicate map keys, which msgpack decoders resolve differently (ours keeps
    the last), so two implementations could otherwise read one record two ways.
    """
    obj = unpack_strict(data, limits)
    if type(obj) is dict and _map_header_len(data) != len(obj):
        raise MalformedRecord("record map has duplicate keys")
    return decode_record(obj, registry)


def _map_header_len(data: bytes) -> int:
    """Entry count announced by the msgpack map header at the start of ``data``."""
    first = data[0]
    if 0x80 <= first <= 0x8F:
        return first & 0x0F
    if first == 0xDE:
        return int.from_bytes(data[1:3], "big")
    if first == 0xDF:
        return int.from_bytes(data[1:5], "big")
    return -1


def decode_content(data: bytes) -> ContentRecord:
    """Parse ratchet plaintext into exactly one content record; ProtocolError otherwise."""
    return cast(ContentRecord, decode_packed(data, CONTENT_LIMITS, CONTENT_RECORDS))
