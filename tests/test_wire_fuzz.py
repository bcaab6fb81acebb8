"""Property tests: any bytes end in valid records or a ProtocolError, never anything else."""

from __future__ import annotations

import itertools

import msgpack
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libra_gui.core.errors import ProtocolError
from libra_gui.core.protocol.records import (
    MAX_CIPHERTEXT,
    Ack,
    Close,
    ContentRecord,
    Envelope,
    LinkRecord,
    Nack,
    OneTimeKey,
    Ping,
    Pong,
    Record,
    SessionStart,
    TextMessage,
    decode_content,
    decode_record,
    encode_content,
)
from libra_gui.core.protocol.wire import (
    BUCKETS,
    MAX_FRAME,
    MAX_MESSAGE,
    Batcher,
    MessageReader,
    decode_frame,
    encode_message,
)

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.binary(min_size=16, max_size=16)


@st.composite
def ciphertexts(draw: st.DrawFn) -> bytes:
    """Mostly short, sometimes up to the maximum (built cheaply from a repeated seed)."""
    size = draw(st.one_of(st.integers(1, 300), st.integers(1, MAX_CIPHERTEXT)))
    seed = draw(st.binary(min_size=1, max_size=64))
    return (seed * (size // len(seed) + 1))[:size]


link_records = st.one_of(
    st.builds(Ping, st.integers(0, 2**64 - 1)),
    st.builds(Pong, st.integers(0, 2**64 - 1)),
    st.builds(Envelope, ids, st.integers(0, 1), ciphertexts()),
    st.builds(Ack, st.lists(ids, min_size=1, max_size=256).map(tuple)),
    st.builds(OneTimeKey, st.binary(min_size=32, max_size=32)),
    st.builds(Close, st.text(max_size=200)),
    st.builds(Nack, st.lists(ids, min_size=1, max_size=256).map(tuple)),
)

content_records = st.builds(
    TextMessage,
    ids,
    st.integers(1, 2**63 - 1),
    st.integers(0, 2**53 - 1),
    st.text(min_size=1, max_size=300),
) | st.builds(SessionStart)

# Any msgpack value, including the shapes records use, to reach deep into the validators.
msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.sampled_from(["t", "n", "id", "k", "c", "ids", "r", "s", "ts", "b"]),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["t", "n", "id", "k", "c", "ids", "r", "s", "ts", "b", "x"]),
            inner,
            max_size=6,
        )
    ),
    max_leaves=12,
)
record_like = st.fixed_dictionaries(
    {"t": st.one_of(st.integers(0, 70), st.booleans())},
    optional={
        key: msgpack_values | ids | st.integers(0, 2**64 - 1)
        for key in ("n", "id", "k", "c", "ids", "r", "s", "ts", "b", "x")
    },
)


def packed(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def records_or_protocol_error(decode, data: bytes) -> list[Record] | None:
    """Call a decoder; only valid records or a ProtocolError may come out."""
    try:
        out = decode(data)
    except ProtocolError:
        return None
    return out if isinstance(out, list) else [out]


def frame_around(body: bytes, flags: int, bucket: int, length_delta: int) -> bytes:
    head = bytes([flags]) + max(0, len(body) + length_delta).to_bytes(4, "big")
    raw = (head + body)[:bucket]
    return raw + bytes(bucket - len(raw))


# --- arbitrary input into every decoder ----------------------------------------------------


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_into_decode_frame(data):
    out = records_or_protocol_error(decode_frame, data)
    assert out is None or all(isinstance(r, LinkRecord) for r in out)


@FAST
@given(
    st.lists(record_like | msgpack_values | link_records.map(Record.to_wire), max_size=6),
    st.sampled_from([0, 1, 2, 0x80]),
    st.sampled_from(BUCKETS[:3]),
    st.integers(-3, 3) | st.just(0),
    st.binary(max_size=6),
)
def test_plausible_frames_into_decode_frame(objs, flags, bucket, length_delta, junk):
    """Bucket-sized frames of length-prefixed msgpack: reach the record validators."""
    body = b"".join(len(p).to_bytes(4, "big") + p for p in map(packed, objs)) + junk
    if flags & 1:
        body = zstandard.ZstdCompressor().compress(body)
    out = records_or_protocol_error(decode_frame, frame_around(body, flags, bucket, length_delta))
    assert out is None or all(isinstance(r, LinkRecord) for r in out)


@FAST
@given(st.binary(max_size=600) | record_like.map(packed) | msgpack_values.map(packed))
def test_arbitrary_bytes_into_decode_content(data):
    out = records_or_protocol_error(decode_content, data)
    assert out is None or all(isinstance(r, ContentRecord) for r in out)


@FAST
@given(record_like | msgpack_values)
def test_arbitrary_maps_into_decode_record(obj):
    out = records_or_protocol_error(decode_record, obj)
    if out is not None:
        assert decode_record(out[0].to_wire()) == out[0]


@FAST
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_bytes_into_message_reader(chunks):
    reader = MessageReader()
    try:
        for chunk in chunks:
            for msg in reader.feed(chunk):
                assert 0 < len(msg) <= MAX_MESSAGE
            assert reader.buffered < 2 + MAX_MESSAGE
    except ProtocolError:
        pass


# --- round trips ---------------------------------------------------------------------------


@SLOW
@given(st.lists(link_records, max_size=40))
def test_batcher_round_trips_any_record_list(records):
    batcher = Batcher()
    batcher.extend(records)
    frames = batcher.flush()
    assert all(len(f) in BUCKETS for f in frames)
    assert [r for f in frames for r in decode_frame(f)] == records
    assert len(frames) <= len(records)


@FAST
@given(content_records)
def test_content_round_trips(msg):
    assert decode_content(encode_content(msg)) == msg


@FAST
@given(
    st.lists(st.binary(min_size=1, max_size=3000), max_size=8),
    st.lists(st.integers(0, 30_000), max_size=10),
)
def test_message_reader_chunking_does_not_matter(msgs, cuts):
    stream = b"".join(map(encode_message, msgs))
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    reader, out = MessageReader(), []
    for start, end in itertools.pairwise(points):
        out += reader.feed(stream[start:end])
        assert reader.buffered < 2 + MAX_MESSAGE
    assert out == msgs
    reader.finish()


# --- mutations of valid frames -------------------------------------------------------------


compressible = st.lists(
    st.builds(Envelope, ids, st.just(1), st.binary(max_size=4).map(lambda b: b * 400 + b"x")),
    min_size=1,
    max_size=6,
)


@FAST
@given(
    st.lists(link_records, min_size=1, max_size=8) | compressible,
    st.lists(st.tuples(st.integers(0, MAX_FRAME - 1), st.integers(0, 7)), min_size=1, max_size=4),
    st.sampled_from(["flip", "truncate", "extend"]),
)
def test_mutated_frames_give_records_or_protocol_error(records, flips, how):
    batcher = Batcher()
    batcher.extend(records)
    frame = batcher.flush()[0]
    data = bytearray(frame)
    if how == "flip":
        for pos, bit in flips:
            data[pos % len(data)] ^= 1 << bit
    elif how == "truncate":
        del data[flips[0][0] % len(data) :]
    else:
        data += bytes([flips[0][1]]) * (flips[0][0] % 300 + 1)
    out = records_or_protocol_error(decode_frame, bytes(data))
    assert out is None or all(isinstance(r, LinkRecord) for r in out)
