"""Wire format: stream framing, padded frames, compression, records and hostile input."""

from __future__ import annotations

import dataclasses
import enum
import random
import resource
import struct
import time
import tracemalloc

import msgpack
import pytest
import zstandard

from libra_gui.core.errors import MalformedRecord, ProtocolError, RecordTooLarge
from libra_gui.core.protocol import wire
from libra_gui.core.protocol.records import (
    CONTENT_RECORDS,
    KIND_NORMAL,
    KIND_PRE_KEY,
    LINK_RECORDS,
    MAX_CIPHERTEXT,
    MAX_CONTENT,
    MAX_RECORD,
    Ack,
    Close,
    Envelope,
    Nack,
    OneTimeKey,
    Ping,
    Pong,
    SessionStart,
    TextMessage,
    decode_content,
    decode_record,
    encode_content,
)
from libra_gui.core.protocol.wire import (
    BUCKETS,
    FLAG_ZSTD,
    MAX_FRAME,
    MAX_FRAME_BODY,
    MAX_RECORDS_PER_FRAME,
    Batcher,
    MessageReader,
    decode_frame,
    encode_frame,
    encode_message,
)

ID1 = bytes(range(16))
ID2 = bytes(range(16, 32))

SAMPLES = [
    Ping(0),
    Ping(2**64 - 1),
    Pong(12345),
    Envelope(ID1, KIND_PRE_KEY, b"\x01"),
    Envelope(ID2, KIND_NORMAL, bytes(range(256)) * 3),
    Envelope(ID1, KIND_NORMAL, b"\xaa" * MAX_CIPHERTEXT),
    Ack((ID1,)),
    Ack(tuple(bytes([i]) * 16 for i in range(256))),
    OneTimeKey(b"k" * 32),
    Close(""),
    Close("é" * 200),
    Nack((ID2, ID1)),
]


# --- helpers: hand-built hostile bytes -----------------------------------------------------


def packed(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def rec(payload: bytes) -> bytes:
    """One record as it appears in a body: u32 BE length + payload."""
    return len(payload).to_bytes(4, "big") + payload


def frame(body: bytes, *, flags: int = 0, size: int | None = None, length: int | None = None):
    """A frame around ``body`` with explicit control over every header field."""
    head = bytes([flags]) + (len(body) if length is None else length).to_bytes(4, "big")
    raw = head + body
    size = wire.bucket_for(len(raw)) if size is None else size
    return raw + bytes(size - len(raw))


def forged(cls, **fields):
    """A record instance that skips validation (to test the encoder's own guards)."""
    obj = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj


def zstd_frame(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def _streamed(data: bytes, *, window_log: int) -> bytes:
    """zstd as a streaming encoder writes it: no content size, window from the parameters."""
    params = zstandard.ZstdCompressionParameters.from_level(
        3, window_log=window_log, write_content_size=False
    )
    cobj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return cobj.compress(data) + cobj.flush()


# --- records -------------------------------------------------------------------------------


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_link_record_round_trips(record):
    assert decode_record(msgpack.unpackb(packed(record.to_wire()))) == record
    assert decode_frame(encode_frame([record])) == [record]


def test_wire_maps_use_the_documented_keys_and_type_codes():
    assert Ping(7).to_wire() == {"t": 1, "n": 7}
    assert Pong(7).to_wire() == {"t": 2, "n": 7}
    assert Envelope(ID1, 1, b"c").to_wire() == {"t": 3, "id": ID1, "k": 1, "c": b"c"}
    assert Ack((ID1, ID2)).to_wire() == {"t": 4, "ids": [ID1, ID2]}
    assert OneTimeKey(b"k" * 32).to_wire() == {"t": 5, "k": b"k" * 32}
    assert Close("bye").to_wire() == {"t": 6, "r": "bye"}
    assert Nack((ID1,)).to_wire() == {"t": 7, "ids": [ID1]}
    assert SessionStart().to_wire() == {"t": 65}
    msg = TextMessage(ID1, 1, 2, "hi")
    assert msg.to_wire() == {"t": 64, "id": ID1, "s": 1, "ts": 2, "b": "hi"}
    assert sorted(LINK_RECORDS) == list(range(1, 21))
    assert sorted(CONTENT_RECORDS) == [64, 65, 66, 67, 68, 69, 71]


def test_golden_frame_bytes_match_the_spec():
    """docs/protocol/wire.md gives this exact example."""
    expected = bytes.fromhex("00 0000000b 00000007 82a17401a16e01") + bytes(256 - 16)
    assert encode_frame([Ping(1)]) == expected
    assert encode_message(b"abc") == b"\x00\x03abc"


def test_text_message_round_trips_and_limits():
    msg = TextMessage(ID1, 2**63 - 1, 2**53 - 1, "héllo ✓ 👋")
    assert decode_content(encode_content(msg)) == msg
    longest = TextMessage(ID1, 1, 0, "字" * 16384)  # 3-byte chars at full length fit
    assert decode_content(encode_content(longest)) == longest
    assert len(encode_content(longest)) <= MAX_CONTENT
    for bad in (
        {"seq": 0},
        {"seq": 2**63},
        {"sent_at": -1},
        {"sent_at": 2**53},
        {"body": ""},
        {"body": "a" * 16385},
        {"body": "👋" * 12289},  # 16384 chars would fit, but 49156 UTF-8 bytes do not
        {"body": "\ud800"},  # lone surrogate cannot be sent
        {"msg_id": ID1[:15]},
        {"seq": True},
    ):
        fields = {"msg_id": ID1, "seq": 1, "sent_at": 0, "body": "x", **bad}
        with pytest.raises(MalformedRecord):
            TextMessage(**fields)


class _Kind(enum.IntEnum):
    PRE_KEY = 0
    NORMAL = 1


def test_records_validate_on_construction_and_are_frozen():
    with pytest.raises(MalformedRecord, match="msg_id"):
        Envelope(ID1[:15], KIND_NORMAL, b"x")
    with pytest.raises(MalformedRecord):
        Ping(True)
    ack = Ack([ID1, ID2])  # a list is accepted and stored as a tuple
    assert ack.msg_ids == (ID1, ID2)
    assert hash(ack) == hash(Ack((ID1, ID2)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ack.msg_ids = ()  # type: ignore[misc]
    assert Ping(1) != Pong(1)
    kind = Envelope(ID1, _Kind.NORMAL, b"x").kind  # an IntEnum (as the ratchet has) is fine
    assert type(kind) is int and kind == KIND_NORMAL


GOOD = {
    "ping": {"t": 1, "n": 5},
    "env": {"t": 3, "id": ID1, "k": 1, "c": b"x"},
    "ack": {"t": 4, "ids": [ID1]},
    "otk": {"t": 5, "k": b"k" * 32},
    "close": {"t": 6, "r": "x"},
    "nack": {"t": 7, "ids": [ID1, ID2]},
}

BAD_FIELDS = [
    ("ping", {"n": True}),  # bool is not int
    ("ping", {"n": -1}),
    ("ping", {"n": "5"}),
    ("ping", {"n": 5.0}),  # floats are refused outright
    ("ping", {"n": None}),
    ("env", {"id": "0123456789abcdef"}),  # str for bytes
    ("env", {"id": ID1[:15]}),
    ("env", {"id": ID1 + b"x"}),
    ("env", {"k": 2}),
    ("env", {"k": False}),
    ("env", {"c": b""}),
    ("env", {"c": b"x" * (MAX_CIPHERTEXT + 1)}),
    ("env", {"c": "text"}),
    ("ack", {"ids": []}),
    ("ack", {"ids": [ID1] * 257}),
    ("ack", {"ids": [ID1[:8]]}),
    ("ack", {"ids": ID1}),
    ("ack", {"ids": [[ID1]]}),
    ("otk", {"k": b"k" * 31}),
    ("otk", {"k": b"k" * 33}),
    ("close", {"r": "x" * 201}),
    ("close", {"r": b"bye"}),
    ("nack", {"ids": []}),
    ("nack", {"ids": [ID1, 5]}),
    ("ping", {"t": True}),  # type code must be an int, not bool
    ("ping", {"t": "1"}),
    ("ping", {"t": 99}),  # unknown type
    ("ping", {"t": 64}),  # a content record is not valid inside a frame
    ("ping", {"extra": 1}),  # unknown key
]


@pytest.mark.parametrize(("name", "change"), BAD_FIELDS)
def test_wrong_fields_are_malformed_in_a_frame(name, change):
    obj = {**GOOD[name], **change}
    with pytest.raises(MalformedRecord):
        decode_record(obj)
    with pytest.raises(MalformedRecord):
        decode_frame(frame(rec(packed(obj))))


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_missing_key_is_malformed(name):
    decode_record(GOOD[name])  # the baseline is valid
    for key in GOOD[name]:
        obj = {k: v for k, v in GOOD[name].items() if k != key}
        with pytest.raises(MalformedRecord):
            decode_record(obj)
        renamed = {**obj, key + "x": GOOD[name][key]}
        with pytest.raises(MalformedRecord):
            decode_record(renamed)


@pytest.mark.parametrize(
    "obj", [[1, 5], 5, b"x", "t", None, {b"t": 1, b"n": 5}, {"t": 1, "n": 5, 1: 2}]
)
def test_non_map_or_non_str_keys_are_malformed(obj):
    with pytest.raises(ProtocolError):
        decode_frame(frame(rec(packed(obj))))


def test_from_wire_checks_the_type_code_too():
    with pytest.raises(MalformedRecord):
        Ping.from_wire({"n": 1, "x": 2})
    with pytest.raises(MalformedRecord):
        Ping.from_wire({"t": 2, "n": 1})
    assert Ping.from_wire({"t": 1, "n": 1}) == Ping(1)


def test_map16_header_is_accepted():
    data = b"\xde\x00\x02\xa1t\x01\xa1n\x07"
    assert decode_frame(frame(rec(data))) == [Ping(7)]


def test_content_decoder_is_strict():
    good = {"t": 64, "id": ID1, "s": 1, "ts": 0, "b": "x"}
    assert decode_content(packed(good)) == TextMessage(ID1, 1, 0, "x")
    assert decode_content(encode_content(SessionStart())) == SessionStart()
    for bad in (
        b"",
        packed(good) + b"\x00",  # trailing garbage
        packed(good)[:-1],  # truncated
        packed({**good, "t": 1}),  # a link record is not content
        packed({"t": 65, "b": "x"}),
        packed({**good, "x": 1}),
        packed({k: v for k, v in good.items() if k != "ts"}),
        packed({**good, "ts": 1.5}),
        packed([good]),
        b"\x86" + packed(good)[1:] + b"\xa1b\xa1y",  # duplicate key
        b"\x91" * 5000,  # deep nesting
    ):
        with pytest.raises(MalformedRecord):
            decode_content(bad)
    with pytest.raises(RecordTooLarge):
        decode_content(packed({**good, "b": "x" * MAX_CONTENT}))
    with pytest.raises(TypeError):
        encode_content(Ping(1))  # type: ignore[arg-type]


# --- stream framing ------------------------------------------------------------------------


def test_message_reader_splits_any_chunking():
    msgs = [b"a", b"bc" * 1000, bytes(wire.MAX_MESSAGE), b"\x00"]
    stream = b"".join(encode_message(m) for m in msgs)
    assert MessageReader().feed(stream) == msgs
    reader, out = MessageReader(), []
    for i in range(0, len(stream), 777):
        out += reader.feed(stream[i : i + 777])
        assert reader.buffered <= 2 + wire.MAX_MESSAGE
    assert out == msgs
    reader.finish()  # ended on a boundary


def test_message_reader_holds_at_most_one_partial_message():
    reader = MessageReader()
    big = encode_message(bytes(wire.MAX_MESSAGE))
    for byte in big[:-1]:
        assert reader.feed(bytes([byte])) == []
    assert reader.buffered == len(big) - 1
    assert reader.feed(big[-1:]) == [bytes(wire.MAX_MESSAGE)]
    assert reader.buffered == 0


def test_zero_length_message_poisons_the_reader():
    reader = MessageReader()
    with pytest.raises(ProtocolError):
        reader.feed(encode_message(b"ok") + b"\x00\x00rest")
    with pytest.raises(ProtocolError):
        reader.feed(encode_message(b"ok"))  # the stream stays failed


def test_stream_ending_mid_message_is_reported():
    reader = MessageReader()
    assert reader.feed(b"\x00\x05abc") == []
    with pytest.raises(MalformedRecord):
        reader.finish()


@pytest.mark.parametrize("size", [0, wire.MAX_MESSAGE + 1])
def test_encode_message_rejects_impossible_sizes(size):
    with pytest.raises(ValueError):
        encode_message(bytes(size))


# --- batching, buckets, compression --------------------------------------------------------


def _envelopes(n: int, size: int = 200) -> list[Envelope]:
    """Envelopes with random-looking (incompressible) ciphertext, like the real thing."""
    rng = random.Random(n)
    return [Envelope(rng.randbytes(16), KIND_NORMAL, rng.randbytes(size)) for _ in range(n)]


def _decode_all(frames: list[bytes]) -> list:
    return [r for f in frames for r in decode_frame(f)]


def test_batcher_coalesces_small_records_in_order():
    records = [Ping(i) for i in range(100)] + [Ack((ID1, ID2)), Close("bye")]
    batcher = Batcher()
    batcher.extend(records)
    assert batcher.pending == 102
    frames = batcher.flush()
    assert len(frames) <= 2
    assert sum(map(len, frames)) <= 2 * 1024
    assert _decode_all(frames) == records
    batcher.extend(records[:20])
    assert [len(f) for f in batcher.flush()] == [256]
    assert batcher.pending == 0 and batcher.pending_bytes == 0
    assert batcher.flush() == []


def test_batcher_gives_big_records_their_own_frames_and_keeps_order():
    big = [Envelope(bytes([i]) * 16, KIND_NORMAL, bytes([i]) * MAX_CIPHERTEXT) for i in range(3)]
    records = [Ping(1), big[0], Ping(2), Ping(3), big[1], big[2], Pong(4)]
    batcher = Batcher()
    batcher.extend(records)
    frames = batcher.flush()
    assert _decode_all(frames) == records
    assert 3 <= len(frames) < len(records)
    for f in frames:
        inside = decode_frame(f)
        assert sum(isinstance(r, Envelope) for r in inside) <= 1


def test_many_envelopes_pack_tightly_into_buckets():
    records = _envelopes(300)
    batcher = Batcher()
    batcher.extend(records)
    payload = batcher.pending_bytes
    frames = batcher.flush()
    assert _decode_all(frames) == records
    assert all(len(f) in BUCKETS for f in frames)
    assert len(frames) < 60  # coalesced: about 5 envelopes per frame or more
    assert sum(map(len, frames)) < 1.15 * payload  # padding overhead stays small


def test_frame_sizes_are_only_buckets():
    seen = set()
    for n in (1, 3, 10, 40, 150, 280, 600):
        batcher = Batcher()
        batcher.extend(_envelopes(n, 230))
        seen.update(len(f) for f in batcher.flush())
    assert seen <= set(BUCKETS)
    assert len(seen) >= 3


def test_batcher_respects_the_per_frame_record_cap():
    batcher = Batcher()
    records = [Ping(i) for i in range(MAX_RECORDS_PER_FRAME + 1)]
    batcher.extend(records)
    frames = batcher.flush()
    assert max(len(decode_frame(f)) for f in frames) <= MAX_RECORDS_PER_FRAME
    assert _decode_all(frames) == records
    with pytest.raises(ValueError):
        encode_frame(records)
    # 1488 records of 11 bytes would fit one 16384 frame most cheaply, but not within the cap
    records = [Ping(i % 128) for i in range(1488)]
    batcher.extend(records)
    frames = batcher.flush()
    assert max(len(decode_frame(f)) for f in frames) <= MAX_RECORDS_PER_FRAME
    assert _decode_all(frames) == records
    body = b"".join(rec(packed({"t": 1, "n": i})) for i in range(MAX_RECORDS_PER_FRAME + 1))
    with pytest.raises(MalformedRecord):
        decode_frame(frame(body))


def test_compression_is_used_when_it_saves_a_bucket():
    records = [Envelope(bytes([i]) * 16, KIND_NORMAL, b"\x00" * 3000) for i in range(5)]
    f = encode_frame(records)
    assert f[0] == FLAG_ZSTD
    assert len(f) < 15_000  # uncompressed it would need the 16384 bucket
    assert decode_frame(f) == records


def test_compression_is_skipped_when_it_does_not_help():
    slightly_compressible = _envelopes(3, 900) + [Ping(i) for i in range(40)]
    body = b"".join(rec(packed(r.to_wire())) for r in slightly_compressible)
    assert len(zstd_frame(body)) < len(body)  # smaller, but still the same bucket
    for records in (_envelopes(20), slightly_compressible, [Close("a" * 200)]):  # last: < 512 B
        f = encode_frame(records)
        assert f[0] == 0
        assert decode_frame(f) == records


def test_empty_frame_is_valid_cover_traffic():
    assert encode_frame([]) == bytes(256)
    assert decode_frame(bytes(256)) == []


def test_encoder_refuses_what_could_never_be_sent():
    oversize = forged(Envelope, msg_id=ID1, kind=1, ciphertext=b"x" * (MAX_RECORD + 1))
    with pytest.raises(ValueError):
        encode_frame([oversize])
    with pytest.raises(ValueError):
        Batcher().add(oversize)
    with pytest.raises(ValueError):  # two big records cannot share one frame
        encode_frame([SAMPLES[5], SAMPLES[5]])
    with pytest.raises(TypeError):  # content must go through the ratchet, never a frame
        encode_frame([TextMessage(ID1, 1, 0, "secret")])  # type: ignore[list-item]


# --- hostile frames ------------------------------------------------------------------------


def _bomb(size: int = 1 << 30, *, claimed: int | None = None) -> bytes:
    """zstd frame of ``size`` zero bytes built from RLE blocks (128 KiB each, 4 bytes each)."""
    fhd, fcs = 0, b""
    if claimed is not None:
        fhd, fcs = 3 << 6, struct.pack("<Q", claimed)
    header = struct.pack("<I", 0xFD2FB528) + bytes([fhd, (17 - 10) << 3]) + fcs
    block = 128 * 1024
    n = size // block
    rle = (2 | block << 3).to_bytes(3, "little") + b"\x00"
    last = (1 | 2 | block << 3).to_bytes(3, "little") + b"\x00"
    return header + rle * (n - 1) + last


def _assert_bounded(call, exc: type[Exception]) -> None:
    """``call`` raises ``exc`` within 1 s, allocating < 1 MiB in Python and < 64 MiB RSS."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(exc):
            call()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert elapsed < 1.0
    assert peak < 1 << 20
    assert rss_growth_kib < 64 * 1024


def test_zstd_bomb_from_a_real_compressor_is_rejected_quickly():
    cobj = zstandard.ZstdCompressor(level=3).compressobj()  # default streaming: 2 MiB window
    chunk = bytes(1 << 20)
    bomb = b"".join([cobj.compress(chunk) for _ in range(1024)] + [cobj.flush()])  # 1 GiB
    assert len(bomb) < 40_000
    _assert_bounded(lambda: decode_frame(frame(bomb, flags=FLAG_ZSTD)), RecordTooLarge)


@pytest.mark.parametrize("claimed", [None, 1 << 30])
def test_handmade_zstd_bomb_is_rejected_quickly(claimed):
    bomb = frame(_bomb(claimed=claimed), flags=FLAG_ZSTD)
    assert len(bomb) == MAX_FRAME
    _assert_bounded(lambda: decode_frame(bomb), RecordTooLarge)


def test_zstd_bomb_lying_about_a_small_size_is_rejected():
    _assert_bounded(lambda: decode_frame(frame(_bomb(claimed=100), flags=FLAG_ZSTD)), ProtocolError)


def test_decompressed_body_is_capped_at_the_frame_body_size():
    ok = rec(packed({"t": 3, "id": ID1, "k": 1, "c": bytes(MAX_CIPHERTEXT)}))
    assert len(decode_frame(frame(zstd_frame(ok), flags=FLAG_ZSTD))) == 1
    too_big = b"".join(rec(packed({"t": 1, "n": 0})) for _ in range(MAX_FRAME_BODY // 11 + 1))
    with pytest.raises(RecordTooLarge):
        decode_frame(frame(zstd_frame(too_big), flags=FLAG_ZSTD))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff\xff",  # 4 GiB record: refused before waiting for any data
        b"\xff\xff\xff\xff" + bytes(100),
        (MAX_RECORD + 1).to_bytes(4, "big") + bytes(200),
    ],
)
def test_huge_record_length_is_refused_immediately(body):
    with pytest.raises(RecordTooLarge):
        decode_frame(frame(body))


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (rec(packed({"t": 1, "n": 1}))[:-1], "truncated record"),
        (MAX_RECORD.to_bytes(4, "big") + bytes(10), "truncated record"),
        (rec(packed({"t": 1, "n": 1})) + b"\x00\x00", "truncated record length"),
        (rec(packed({"t": 1, "n": 1}) + b"\xc0"), "trailing byte inside a record"),
        (rec(b""), "empty record"),
        (rec(b"\x91" * 10_000), "deep nesting"),
        (rec(packed({"t": 4, "ids": [[[[[ID1]]]]]})), "nesting in a field"),
        (rec(b"\xc1"), "reserved msgpack byte"),
        (rec(b"\xd4\x01\x00"), "msgpack ext type"),
        (rec(b"\x81\xa1t\xcb" + struct.pack(">d", 1.0)), "float"),
        (rec(b"\x82\xa1t\x01\xa1t\x01"), "duplicate key"),
        (rec(b"\x83\xa1t\x01\xa1n\x01\xa1n\x02"), "duplicate field: which one wins?"),
        (rec(b"\xde\x00\x03\xa1t\x01\xa1n\x01\xa1n\x02"), "duplicate field, map16"),
    ],
)
def test_bad_bodies_are_protocol_errors(body, why):
    with pytest.raises(ProtocolError):
        decode_frame(frame(body))


def test_bad_frame_envelopes_are_protocol_errors():
    good = encode_frame([Ping(1)])
    assert decode_frame(good) == [Ping(1)]
    cases = {
        "nonzero padding": good[:-1] + b"\x01",
        "unknown flag bit": bytes([0x02]) + good[1:],
        "high flag bit": bytes([0x80]) + good[1:],
        "body length beyond frame": frame(b"", length=252),
        "body length huge": frame(b"", length=0xFFFFFFFF),
        "not a bucket size": good[:-1],
        "bucket plus one": good + b"\x00",
        "empty": b"",
        "one byte": b"\x00",
        "zstd garbage": frame(b"not zstd at all", flags=FLAG_ZSTD),
        "zstd empty": frame(b"", flags=FLAG_ZSTD),
        "zstd of nothing": frame(zstd_frame(b""), flags=FLAG_ZSTD),
        "zstd truncated": frame(zstd_frame(rec(packed({"t": 1, "n": 1})) * 100)[:-3], flags=1),
        "zstd trailing": frame(zstd_frame(rec(packed({"t": 1, "n": 1}))) + b"x", flags=1),
        "two zstd frames": frame(zstd_frame(rec(packed({"t": 1, "n": 1}))) * 2, flags=1),
        "zstd skippable": frame(struct.pack("<II", 0x184D2A50, 3) + b"abc", flags=1),
    }
    for name, data in cases.items():
        with pytest.raises(ProtocolError):
            decode_frame(data)
            pytest.fail(name)
    with pytest.raises(RecordTooLarge):
        decode_frame(bytes(MAX_FRAME + 1))
    with pytest.raises(RecordTooLarge, match="window"):  # would make us allocate 4 MiB
        decode_frame(frame(_streamed(rec(packed({"t": 1, "n": 1})), window_log=22), flags=1))
    with pytest.raises(MalformedRecord, match="exceeds the frame"):
        decode_frame(frame(b"", length=252))
    with pytest.raises(MalformedRecord, match="empty record"):
        decode_frame(frame(rec(b"") + rec(packed({"t": 1, "n": 1}))))


def test_zstd_with_a_dictionary_id_is_refused():
    body = rec(packed({"t": 1, "n": 1})) * 50
    zdict = zstandard.ZstdCompressionDict(body * 4, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    data = zstandard.ZstdCompressor(dict_data=zdict, write_dict_id=True).compress(body)
    with pytest.raises(MalformedRecord):
        decode_frame(frame(data, flags=FLAG_ZSTD))


def test_compressed_frames_from_other_encoders_are_accepted():
    """Checksums, unknown content size and a larger bucket than needed are all allowed."""
    body = rec(packed({"t": 1, "n": 1})) * 100
    with_checksum = zstandard.ZstdCompressor(write_checksum=True).compress(body)
    for data in (with_checksum, _streamed(body, window_log=21), _streamed(body, window_log=10)):
        assert decode_frame(frame(data, flags=FLAG_ZSTD, size=3966)) == [Ping(1)] * 100


def test_incompressible_group_just_under_the_top_bucket_is_sent_uncompressed():
    """zstd makes random data slightly bigger; near the top bucket that overflow must not
    be weighed (it once raised "frame of 65522 bytes exceeds 65519" and killed the link)."""
    rng = random.Random(19)
    envelopes = [
        Envelope(bytes(16), KIND_NORMAL, rng.randbytes(rng.randrange(10, 30_000)))
        for _ in range(40)
    ]
    batcher = Batcher()
    batcher.extend(envelopes)
    assert _decode_all(batcher.flush()) == envelopes
