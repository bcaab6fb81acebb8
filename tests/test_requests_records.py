"""Beacon link records (codes 8-11): exact wire shape, round trips, hostile decoding."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libra_gui.core.crypto import pow as pow_
from libra_gui.core.errors import MalformedRecord, ProtocolError
from libra_gui.core.protocol import records
from libra_gui.core.protocol.card import MAX_CARD_BYTES
from libra_gui.core.protocol.records import (
    LINK_LIMITS,
    LINK_RECORDS,
    CardReply,
    CardRequest,
    ContactRequestRecord,
    RequestResult,
    decode_packed,
    decode_record,
)
from libra_gui.core.protocol.requests import RequestStatus
from libra_gui.core.protocol.wire import decode_frame, encode_frame

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STAMP = bytes(range(16))
SIG = b"s" * 64


def request(**changes) -> ContactRequestRecord:
    fields = {
        "card": b"c" * 300,
        "message": "hello",
        "stamp": STAMP,
        "sent_at": 1_700_000_000_000,
        "signature": SIG,
    }
    return ContactRequestRecord(**{**fields, **changes})


SAMPLES = [
    CardRequest(),
    CardReply(b"card", 0, 12),
    CardReply(b"x" * 1024, 2**32 - 1, 20),
    request(),
    request(message="", card=b"x" * 1024),
    request(message="é" * 500),
    request(message="line one\nline two 😀"),
    RequestResult(RequestStatus.RECEIVED, 0),
    RequestResult(RequestStatus.RATE_LIMITED, 60),
    RequestResult(8, 7 * 24 * 3600),
]


def packed(record: records.Record) -> bytes:
    return msgpack.packb(record.to_wire(), use_bin_type=True)


def test_constants_mirror_their_sources():
    assert records.MAX_BEACON_CARD == MAX_CARD_BYTES
    assert records.POW_STAMP_LEN == pow_.STAMP_LEN
    assert records.MAX_POW_BITS == pow_.MAX_BITS
    assert len(RequestStatus) == records.REQUEST_STATUSES
    assert [s.value for s in RequestStatus] == list(range(len(RequestStatus)))


def test_registry_has_the_beacon_codes():
    for code, cls in [(8, CardRequest), (9, CardReply), (10, ContactRequestRecord)]:
        assert LINK_RECORDS[code] is cls
    assert LINK_RECORDS[11] is RequestResult


def test_wire_maps_use_the_documented_keys():
    assert CardRequest().to_wire() == {"t": 8}
    assert CardReply(b"c", 3, 12).to_wire() == {"t": 9, "c": b"c", "n": 3, "w": 12}
    assert request(card=b"c", message="m").to_wire() == {
        "t": 10,
        "c": b"c",
        "m": "m",
        "p": STAMP,
        "ts": 1_700_000_000_000,
        "sig": SIG,
    }
    assert RequestResult(RequestStatus.BAD_POW, 5).to_wire() == {"t": 11, "s": 4, "ra": 5}
    assert type(RequestResult(RequestStatus.BAD_POW, 5).status) is int  # plain int on the wire


def test_golden_bytes():
    """docs/protocol/requests.md §2 shows these exact encodings."""
    assert packed(CardRequest()).hex() == "81a17408"
    assert packed(RequestResult(2, 60)).hex() == "83a1740ba17302a272613c"
    assert packed(CardReply(b"\x01", 1, 12)).hex() == "84a17409a163c40101a16e01a1770c"


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_round_trips_through_a_frame(record):
    assert decode_record(msgpack.unpackb(packed(record))) == record
    assert decode_packed(packed(record), LINK_LIMITS, LINK_RECORDS) == record
    assert decode_frame(encode_frame([record])) == [record]


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda: CardReply(b"", 0, 12), "empty card"),
        (lambda: CardReply(b"x" * 1025, 0, 12), "card too big"),
        (lambda: CardReply(b"x", -1, 12), "negative counter"),
        (lambda: CardReply(b"x", 2**32, 12), "counter too big"),
        (lambda: CardReply(b"x", 0, 21), "difficulty above the cap"),
        (lambda: CardReply(b"x", 0, True), "bool is not an int"),
        (lambda: CardReply(bytearray(b"x"), 0, 1), "bytearray"),
        (lambda: request(message="x" * 501), "501 characters"),
        (lambda: request(message="😀" * 300), "over 1024 bytes of UTF-8"),
        (lambda: request(message="a\x00b"), "NUL"),
        (lambda: request(message="a\rb"), "carriage return"),
        (lambda: request(message="a\x1bb"), "escape"),
        (lambda: request(message="a\x85b"), "C1 control"),
        (lambda: request(message="abc\u202edef"), "bidi override"),
        (lambda: request(message="abc\u2066def"), "bidi isolate"),
        (lambda: request(message="a\u2028b"), "line separator"),
        (lambda: request(message=b"bytes"), "bytes for text"),
        (lambda: request(stamp=b"x" * 15), "short stamp"),
        (lambda: request(stamp=b"x" * 17), "long stamp"),
        (lambda: request(signature=b"x" * 63), "short signature"),
        (lambda: request(sent_at=-1), "negative time"),
        (lambda: request(sent_at=2**53), "time out of range"),
        (lambda: request(card=b""), "empty card"),
        (lambda: RequestResult(9, 0), "unknown status"),
        (lambda: RequestResult(-1, 0), "negative status"),
        (lambda: RequestResult(0, 7 * 24 * 3600 + 1), "retry_after too long"),
        (lambda: RequestResult(0, -1), "negative retry_after"),
    ],
)
def test_invalid_fields_are_refused_on_construction(build, why):
    with pytest.raises(MalformedRecord):
        build()


@pytest.mark.parametrize(
    "obj",
    [
        {"t": 8, "x": 1},  # CardRequest has no fields
        {"t": 9, "c": b"c", "n": 1},  # missing key
        {"t": 9, "c": "c", "n": 1, "w": 1},  # str for bin
        {"t": 9, "c": b"c", "n": 1, "w": 1, "extra": 0},
        {"t": 10, "c": b"c", "m": "m", "p": STAMP, "ts": 1},  # no signature
        {"t": 10, "c": b"c", "m": b"m", "p": STAMP, "ts": 1, "sig": SIG},  # bin for str
        {"t": 10, "c": b"c", "m": "m", "p": STAMP, "ts": 1.0, "sig": SIG},  # float
        {"t": 11, "s": 0},
        {"t": 11, "s": 0, "ra": False},
    ],
)
def test_hostile_maps_are_malformed(obj):
    with pytest.raises(ProtocolError):
        decode_packed(msgpack.packb(obj, use_bin_type=True), LINK_LIMITS, LINK_RECORDS)


def test_duplicate_keys_are_refused():
    good = packed(RequestResult(0, 0))
    # {"t": 11, "s": 0, "s": 1, "ra": 0} as a map with 4 entries and a repeated key
    evil = bytes([0x84]) + good[1:] + b"\xa1s\x01"
    with pytest.raises(ProtocolError):
        decode_packed(evil, LINK_LIMITS, LINK_RECORDS)


def test_message_over_the_link_str_limit_cannot_even_be_decoded():
    obj = request().to_wire() | {"m": "é" * 513}  # 1026 bytes: over LINK_LIMITS.max_str
    with pytest.raises(ProtocolError):
        decode_packed(msgpack.packb(obj, use_bin_type=True), LINK_LIMITS, LINK_RECORDS)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["t", "c", "n", "w", "m", "p", "ts", "sig", "s", "ra", "x"]),
        st.one_of(
            st.integers(-(2**64), 2**64),
            st.sampled_from([8, 9, 10, 11]),
            st.binary(max_size=70),
            st.text(max_size=40),
            st.booleans(),
            st.none(),
        ),
        max_size=7,
    )
)
def test_random_maps_decode_to_a_valid_record_or_a_protocol_error(obj):
    try:
        data = msgpack.packb(obj, use_bin_type=True)
    except (OverflowError, ValueError):
        return
    try:
        record = decode_packed(data, LINK_LIMITS, LINK_RECORDS)
    except ProtocolError:
        return
    assert decode_packed(packed(record), LINK_LIMITS, LINK_RECORDS) == record


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(data):
    with contextlib.suppress(ProtocolError):
        decode_packed(data, LINK_LIMITS, LINK_RECORDS)
