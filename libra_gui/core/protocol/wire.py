"""Sans-IO link wire format: stream framing, padded frames, optional zstd, record lists.

Layers, outermost first (byte-exact description in docs/protocol/wire.md):

* stream: ``u16 BE length | Noise message``, repeated (:func:`encode_message`,
  :class:`MessageReader`);
* frame (plaintext of one Noise transport message): ``flags | u32 BE body length | body |
  zero padding`` up to a size bucket, so an observer of the stream learns little from sizes;
* body (after optional zstd): ``u32 BE length | strict msgpack map``, repeated.

Any bytes from a peer end in records or a :class:`ProtocolError` subclass, with memory and
work bounded by the constants below; anything else escaping is a bug.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import cast

import zstandard

from ..errors import MalformedRecord, RecordTooLarge
from .codec import pack
from .records import LINK_LIMITS, LINK_RECORDS, MAX_RECORD, LinkRecord, decode_packed

# --- limits ---------------------------------------------------------------------------------

MESSAGE_PREFIX_LEN = 2
MAX_MESSAGE = 0xFFFF
"""Largest Noise message (the u16 prefix cannot say more)."""
NOISE_TAG_LEN = 16
MAX_FRAME = MAX_MESSAGE - NOISE_TAG_LEN
"""65519: largest frame, i.e. plaintext of one Noise transport message."""
FRAME_HEADER_LEN = 5
MAX_FRAME_BODY = MAX_FRAME - FRAME_HEADER_LEN
"""65514: largest body, before compression and after decompression alike."""
TOR_CELL_PAYLOAD = 498
"""Bytes of stream data one Tor RELAY_DATA cell carries."""
BUCKETS: tuple[int, ...] = (
    256,
    *(n * TOR_CELL_PAYLOAD - MESSAGE_PREFIX_LEN - NOISE_TAG_LEN for n in (1, 2, 4, 8)),
    16384,
    MAX_FRAME,
)
"""The only frame sizes on the wire: every frame is zero-padded up to one of these.

256, then 480 / 978 / 1974 / 3966: a Noise message of that frame (u16 prefix + frame + tag)
fills exactly 1 / 2 / 4 / 8 Tor cells, so padding never costs an extra cell (a 200-character
message travels in one cell, its ack in one). Tor pads every cell to the same size anyway, so
these finer steps reveal nothing a Tor observer could not already count."""
RECORD_PREFIX_LEN = 4
MAX_RECORDS_PER_FRAME = 1024
"""Bounds the work one tiny, highly compressed frame can cause."""

FLAG_ZSTD = 0x01
COMPRESS_MIN_BODY = 512
"""Smaller bodies are never compressed: they always fit the smallest bucket anyway."""
COMPRESS_LEVEL = 3
MAX_ZSTD_WINDOW = 1 << 21
"""Largest zstd window a peer may make us allocate (2 MiB: zstd's streaming default, level 3)."""

_BUCKET_SET = frozenset(BUCKETS)
_PER_FRAME_COST = MESSAGE_PREFIX_LEN + NOISE_TAG_LEN

assert MAX_RECORD + RECORD_PREFIX_LEN <= MAX_FRAME_BODY  # every record fits one frame

# --- stream framing -------------------------------------------------------------------------


def encode_message(msg: bytes) -> bytes:
    """Prefix one Noise message with its u16 BE length for the stream."""
    if not 0 < len(msg) <= MAX_MESSAGE:
        raise ValueError(f"Noise message of {len(msg)} bytes: must be 1..{MAX_MESSAGE}")
    return len(msg).to_bytes(MESSAGE_PREFIX_LEN, "big") + bytes(msg)


class MessageReader:
    """Incrementally split a byte stream into Noise messages (u16 BE length prefixes).

    Between calls it holds at most one incomplete message (< 65537 bytes). After an error the
    stream is out of sync for good, so every later ``feed`` fails too.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the stream; return every message now complete, in order."""
        if self._failed:
            raise MalformedRecord("message stream already failed")
        buf = self._buf
        buf += data
        messages: list[bytes] = []
        pos, end = 0, len(buf)
        with memoryview(buf) as view:
            while end - pos >= MESSAGE_PREFIX_LEN:
                size = (view[pos] << 8) | view[pos + 1]
                if size == 0:
                    self._fail()
                    raise MalformedRecord("zero-length message on the stream")
                start = pos + MESSAGE_PREFIX_LEN
                if end - start < size:
                    break
                messages.append(bytes(view[start : start + size]))
                pos = start + size
        del buf[:pos]
        return messages

    def finish(self) -> None:
        """The stream ended: raise MalformedRecord if it stopped inside a message."""
        if self._buf:
            self._fail()
            raise MalformedRecord("stream ended inside a message")

    def _fail(self) -> None:
        self._failed = True
        self._buf = bytearray()


# --- frames ---------------------------------------------------------------------------------


def bucket_for(frame_len: int) -> int:
    """Smallest padding bucket holding ``frame_len`` bytes (header included)."""
    for bucket in BUCKETS:
        if frame_len <= bucket:
            return bucket
    raise ValueError(f"frame of {frame_len} bytes exceeds {MAX_FRAME}")


def encode_frame(records: Iterable[LinkRecord]) -> bytes:
    """Pack records, in order, into one padded frame (zstd when it saves a bucket).

    Raises ValueError if they do not fit one frame (a bug on our side: use :class:`Batcher`).
    An empty list gives a valid empty frame (cover traffic).
    """
    items = [_encode_record(r) for r in records]
    if len(items) > MAX_RECORDS_PER_FRAME or sum(map(len, items)) > MAX_FRAME_BODY:
        raise ValueError("records do not fit in one frame")
    return _seal(b"".join(items))


def decode_frame(data: bytes) -> list[LinkRecord]:
    """Parse one frame (a decrypted Noise transport message) into its link records.

    Raises RecordTooLarge / MalformedRecord (ProtocolError) for anything not exactly valid.
    """
    if type(data) is not bytes:
        data = bytes(memoryview(data))
    size = len(data)
    if size > MAX_FRAME:
        raise RecordTooLarge(f"frame of {size} bytes exceeds {MAX_FRAME}")
    if size not in _BUCKET_SET:
        raise MalformedRecord(f"frame of {size} bytes is not one of the padding sizes")
    flags = data[0]
    if flags & ~FLAG_ZSTD:
        raise MalformedRecord(f"unknown frame flags 0x{flags:02x}")
    end = FRAME_HEADER_LEN + int.from_bytes(data[1:FRAME_HEADER_LEN], "big")
    if end > size:
        raise MalformedRecord("frame body length exceeds the frame")
    if data.count(0, end) != size - end:
        raise MalformedRecord("frame padding is not all zero")
    body = data[FRAME_HEADER_LEN:end]
    if flags & FLAG_ZSTD:
        body = _decompress(body)
    return _split_records(body)


class Batcher:
    """Coalesce outgoing link records into few padded frames, preserving order.

    Small records share frames; a record too big to share gets a frame of its own. Records
    are serialised (and checked) in :meth:`add`, so a bug surfaces at the caller.
    """

    def __init__(self) -> None:
        self._items: list[bytes] = []
        self._bytes = 0

    @property
    def pending(self) -> int:
        """Records added since the last flush."""
        return len(self._items)

    @property
    def pending_bytes(self) -> int:
        """Encoded size of those records (for the caller's back-pressure)."""
        return self._bytes

    def add(self, record: LinkRecord) -> None:
        """Queue one record; ValueError/TypeError if it could never be sent."""
        item = _encode_record(record)
        self._items.append(item)
        self._bytes += len(item)

    def extend(self, records: Iterable[LinkRecord]) -> None:
        """Queue several records in order."""
        for record in records:
            self.add(record)

    def flush(self) -> list[bytes]:
        """Frames for everything queued, in order (empty list if nothing is queued)."""
        items, self._items, self._bytes = self._items, [], 0
        if not items:
            return []
        return [_seal(b"".join(group)) for group in _pack(items)]


# --- internals ------------------------------------------------------------------------------


def _encode_record(record: LinkRecord) -> bytes:
    """u32 BE length + msgpack of one link record."""
    if not isinstance(record, LinkRecord):
        raise TypeError(f"{type(record).__name__} is not a link record")
    data = pack(record.to_wire())
    if len(data) > MAX_RECORD:
        raise ValueError(f"record of {len(data)} bytes exceeds {MAX_RECORD}")
    return len(data).to_bytes(RECORD_PREFIX_LEN, "big") + data


def _seal(body: bytes) -> bytes:
    """Header + body (compressed if that lands in a smaller bucket) + zero padding."""
    flags = 0
    if len(body) >= COMPRESS_MIN_BODY:
        packed = zstandard.ZstdCompressor(
            level=COMPRESS_LEVEL,
            write_content_size=True,
            write_checksum=False,
            write_dict_id=False,
        ).compress(body)
        # zstd output can exceed its input (incompressible data); such output may not even
        # fit the top bucket, so only a smaller output is ever weighed.
        if len(packed) < len(body) and bucket_for(FRAME_HEADER_LEN + len(packed)) < bucket_for(
            FRAME_HEADER_LEN + len(body)
        ):
            body, flags = packed, FLAG_ZSTD
    used = FRAME_HEADER_LEN + len(body)
    padding = bytes(bucket_for(used) - used)
    return b"".join((bytes((flags,)), len(body).to_bytes(4, "big"), body, padding))


def _pack(items: Sequence[bytes]) -> list[list[bytes]]:
    """Split encoded records into consecutive groups, minimising bytes on the wire.

    Tries filling frames greedily up to each bucket's capacity and keeps the cheapest
    (padded sizes plus per-message overhead; ties go to fewer frames).
    """
    sizes = [len(item) for item in items]
    largest, total = max(sizes), sum(sizes)
    best: list[int] = []
    best_cost = -1
    for bucket in reversed(BUCKETS):
        capacity = bucket - FRAME_HEADER_LEN
        if largest > capacity:
            break
        if capacity > total and best:  # a bigger capacity would give the same single group
            continue
        cuts, cost = _greedy(sizes, capacity)
        if best_cost < 0 or cost < best_cost:
            best, best_cost = cuts, cost
    return [list(items[a:b]) for a, b in itertools.pairwise(best)]


def _greedy(sizes: Sequence[int], capacity: int) -> tuple[list[int], int]:
    """Group boundaries when each frame takes following records while they fit, and the
    resulting cost in bytes on the wire."""
    cuts, cost = [0], 0
    used = count = 0
    for i, size in enumerate(sizes):
        if count and (used + size > capacity or count == MAX_RECORDS_PER_FRAME):
            cuts.append(i)
            cost += bucket_for(FRAME_HEADER_LEN + used) + _PER_FRAME_COST
            used = count = 0
        used += size
        count += 1
    cuts.append(len(sizes))
    cost += bucket_for(FRAME_HEADER_LEN + used) + _PER_FRAME_COST
    return cuts, cost


@contextlib.contextmanager
def _zstd_errors() -> Iterator[None]:
    """Turn the zstd library's errors into MalformedRecord (our errors pass through)."""
    try:
        yield
    except zstandard.ZstdError as exc:
        raise MalformedRecord(f"invalid zstd body: {exc}") from None


def _decompress(body: bytes) -> bytes:
    """Inflate exactly one zstd frame under a hard output cap.

    The header's claims are only used to reject early, never to size anything: a first,
    streaming pass reads at most cap + 1 bytes (RecordTooLarge beyond the cap); the strict
    one-shot pass then rejects truncation, trailing bytes and extra frames with its output
    buffer capped as well.
    """
    cap = MAX_FRAME_BODY
    with _zstd_errors():
        params = zstandard.get_frame_parameters(body)
        if params.dict_id:
            raise MalformedRecord("zstd body needs a dictionary")
        if params.window_size > MAX_ZSTD_WINDOW:
            raise RecordTooLarge(f"zstd window of {params.window_size} bytes is too large")
        if params.content_size != zstandard.CONTENTSIZE_UNKNOWN and params.content_size > cap:
            raise RecordTooLarge(f"zstd body claims {params.content_size} bytes")
        dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
        seen = 0
        with dctx.stream_reader(body) as reader:
            while seen <= cap:
                chunk = reader.read(cap + 1 - seen)
                if not chunk:
                    break
                seen += len(chunk)
        if seen > cap:
            raise RecordTooLarge(f"zstd body inflates beyond {cap} bytes")
        out = dctx.decompress(body, max_output_size=cap, allow_extra_data=False)
    if not out:
        raise MalformedRecord("compressed frame body is empty")
    return out


def _split_records(body: bytes) -> list[LinkRecord]:
    """Parse ``u32 length | msgpack`` records filling ``body`` exactly."""
    records: list[LinkRecord] = []
    pos, end = 0, len(body)
    view = memoryview(body)
    while pos < end:
        if end - pos < RECORD_PREFIX_LEN:
            raise MalformedRecord("truncated record length")
        size = int.from_bytes(view[pos : pos + RECORD_PREFIX_LEN], "big")
        if size > MAX_RECORD:
            raise RecordTooLarge(f"record of {size} bytes exceeds {MAX_RECORD}")
        if size == 0:
            raise MalformedRecord("empty record")
        pos += RECORD_PREFIX_LEN
        if end - pos < size:
            raise MalformedRecord("truncated record")
        if len(records) == MAX_RECORDS_PER_FRAME:
            raise MalformedRecord(f"more than {MAX_RECORDS_PER_FRAME} records in one frame")
        record = decode_packed(view[pos : pos + size], LINK_LIMITS, LINK_RECORDS)
        records.append(cast(LinkRecord, record))
        pos += size
    return records
