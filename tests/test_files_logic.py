"""File transfer, pure parts: records, chunk sealing, sizes, names, and both state machines.

No IO: every decoder gets hypothesis-fuzzed (anything ends in a record or a ProtocolError),
and the accounting classes run on an injected clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os

import msgpack
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libra_gui.core.errors import DecryptionError, MalformedRecord, ProtocolError
from libra_gui.core.protocol import files as proto
from libra_gui.core.protocol.files import (
    CHUNK_SIZE,
    SEAL_OVERHEAD,
    BadChunk,
    BadFileRecord,
    CancelReason,
    ChunkDecryptionFailed,
    FilePlan,
    ReceiveState,
    ReceiveTiming,
    SendState,
    Throttle,
    Verdict,
    open_chunk,
    sanitize_file_name,
    seal_chunk,
)
from libra_gui.core.protocol.records import (
    CONTENT_LIMITS,
    CONTENT_RECORDS,
    LINK_LIMITS,
    LINK_RECORDS,
    MAX_CHUNK_DATA,
    MAX_CHUNK_SIZE,
    MAX_FILE_SIZE,
    MAX_RECORD,
    MIN_CHUNK_DATA,
    MIN_CHUNK_SIZE,
    FileAck,
    FileCancel,
    FileChunk,
    FileOffer,
    FileQuery,
    FileRequest,
    decode_content,
    decode_packed,
    encode_content,
    file_name,
)
from libra_gui.core.protocol.wire import MAX_FRAME, MAX_FRAME_BODY, decode_frame, encode_frame

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = bytes(range(32))
FID = bytes(range(100, 116))
OTHER_FID = bytes(16)


def packed(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def offer(**overrides: object) -> FileOffer:
    values: dict[str, object] = {
        "msg_id": FID,
        "seq": 1,
        "sent_at": 1_700_000_000_000,
        "name": "report.pdf",
        "size": 123_456,
        "sha256": bytes(32),
        "chunk_size": CHUNK_SIZE,
        "key": KEY,
    }
    values.update(overrides)
    return FileOffer(**values)  # type: ignore[arg-type]


# --- records --------------------------------------------------------------------------------


def test_record_codes_keys_and_channels():
    assert [FileChunk.TYPE, FileRequest.TYPE, FileAck.TYPE, FileCancel.TYPE, FileQuery.TYPE] == [
        16,
        17,
        18,
        19,
        20,
    ]
    assert FileOffer.TYPE == 71 and CONTENT_RECORDS[71] is FileOffer
    assert all(LINK_RECORDS[c.TYPE] is c for c in (FileChunk, FileRequest, FileAck, FileCancel))
    assert FileChunk(FID, 3, bytes(MIN_CHUNK_DATA)).to_wire() == {
        "t": 16,
        "f": FID,
        "i": 3,
        "d": bytes(MIN_CHUNK_DATA),
    }
    assert FileRequest(FID, 9).to_wire() == {"t": 17, "f": FID, "i": 9}
    assert FileAck(FID, 2).to_wire() == {"t": 18, "f": FID, "n": 2}
    assert FileCancel(FID, True, 5).to_wire() == {"t": 19, "f": FID, "s": True, "r": 5}
    assert FileQuery(FID).to_wire() == {"t": 20, "f": FID}
    assert set(offer().to_wire()) == {"t", "id", "s", "ts", "n", "z", "h", "c", "k"}

    from libra_gui.core.net.link import CHANNEL_OF, Channel

    assert CHANNEL_OF[FileChunk] is Channel.FILES
    assert {CHANNEL_OF[c] for c in (FileRequest, FileAck, FileCancel, FileQuery)} == {
        Channel.SIGNALING
    }


@pytest.mark.parametrize("index", [0, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1])
def test_a_full_chunk_is_one_top_frame_with_little_padding(index: int):
    record = FileChunk(FID, index, os.urandom(MAX_CHUNK_DATA))  # incompressible, as sealed
    size = len(packed(record.to_wire()))
    assert size <= MAX_RECORD and MAX_RECORD - size <= 4
    if index >= 65_536:
        assert size == MAX_RECORD  # the widest index
    frame = encode_frame([record])  # wire tries zstd on it: the growth must still fit
    assert len(frame) == MAX_FRAME
    body_len = int.from_bytes(frame[1:5], "big")
    assert 16 <= MAX_FRAME_BODY - body_len <= 20
    assert decode_frame(frame) == [record]
    assert CHUNK_SIZE == MAX_CHUNK_DATA - SEAL_OVERHEAD == MAX_CHUNK_SIZE
    assert CHUNK_SIZE / MAX_FRAME > 0.998  # file bytes per frame byte (was 0.916 at 60,000)


def test_limits_only_grew_for_the_chunk():
    assert MAX_RECORD == MAX_FRAME_BODY - 4 - 16  # 16: zstd growth on incompressible data
    assert LINK_LIMITS.max_bin == MAX_CHUNK_DATA
    assert LINK_LIMITS.max_map == 8 and LINK_LIMITS.max_depth == 2
    assert CONTENT_LIMITS.max_map == 9  # FileOffer: "t" and eight fields


def test_oversize_chunk_data_is_refused_by_the_record_and_the_decoder():
    with pytest.raises(MalformedRecord):
        FileChunk(FID, 0, bytes(MAX_CHUNK_DATA + 1))
    with pytest.raises(MalformedRecord):
        FileChunk(FID, 0, bytes(MIN_CHUNK_DATA - 1))
    forged = packed({"t": 16, "f": FID, "i": 0, "d": bytes(MAX_CHUNK_DATA + 1)})
    with pytest.raises(ProtocolError):
        decode_packed(forged, LINK_LIMITS, LINK_RECORDS)
    with pytest.raises(MalformedRecord):
        FileChunk(FID, 2**32, bytes(MIN_CHUNK_DATA))


def test_offer_fields_are_checked():
    assert decode_content(encode_content(offer())) == offer()
    assert offer(size=0).size == 0 and offer(size=MAX_FILE_SIZE).size == MAX_FILE_SIZE
    bad = [
        {"size": MAX_FILE_SIZE + 1},
        {"size": -1},
        {"chunk_size": MIN_CHUNK_SIZE - 1},
        {"chunk_size": MAX_CHUNK_SIZE + 1},
        {"sha256": bytes(31)},
        {"key": bytes(33)},
        {"name": ""},
        {"name": "x" * 256},
        {"name": "../etc/passwd"},
        {"name": "a\\b"},
        {"name": "C:evil"},
        {"name": "bell\x07"},
        {"name": "new\nline"},
        {"name": "\u202eexe.txt"},
        {"name": " padded"},
        {"name": "dot."},
        {"name": ".."},
        {"seq": 0},
    ]
    for fields in bad:
        with pytest.raises(MalformedRecord):
            offer(**fields)


@pytest.mark.parametrize("code", range(16))
def test_cancel_reasons_round_trip(code: int):
    record = FileCancel(FID, False, code)
    assert decode_packed(packed(record.to_wire()), LINK_LIMITS, LINK_RECORDS) == record
    assert proto.reason_label(code) == (
        CancelReason(code).label if code in iter(CancelReason) else f"reason_{code}"
    )
    with pytest.raises(MalformedRecord):
        FileCancel(FID, False, 16)
    with pytest.raises(MalformedRecord):
        FileCancel(FID, 1, 0)  # type: ignore[arg-type]


file_link_records = st.one_of(
    st.builds(
        FileChunk,
        st.binary(min_size=16, max_size=16),
        st.integers(0, 2**32 - 1),
        st.binary(min_size=MIN_CHUNK_DATA, max_size=300),
    ),
    st.builds(FileRequest, st.binary(min_size=16, max_size=16), st.integers(0, 2**32 - 1)),
    st.builds(FileAck, st.binary(min_size=16, max_size=16), st.integers(0, 2**32)),
    st.builds(FileCancel, st.binary(min_size=16, max_size=16), st.booleans(), st.integers(0, 15)),
    st.builds(FileQuery, st.binary(min_size=16, max_size=16)),
)
wire_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@FUZZ
@given(file_link_records)
def test_file_link_records_round_trip(record):
    assert decode_packed(packed(record.to_wire()), LINK_LIMITS, LINK_RECORDS) == record


@FUZZ
@given(
    st.sampled_from([16, 17, 18, 19, 20]),
    st.dictionaries(st.sampled_from(["f", "i", "d", "n", "s", "r", "x"]), wire_values),
)
def test_file_link_record_decoder_never_crashes(code: int, fields: dict):
    with contextlib.suppress(ProtocolError):
        decode_packed(packed({"t": code, **fields}), LINK_LIMITS, LINK_RECORDS)


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "s", "ts", "n", "z", "h", "c", "k"]), wire_values))
def test_offer_decoder_never_crashes(fields: dict):
    with contextlib.suppress(ProtocolError):
        decode_content(packed({"t": 71, **fields}))


@FUZZ
@given(st.text(max_size=40), st.integers(0, 2**50), st.integers(0, 70_000))
def test_offer_decoder_on_near_valid_maps(name: str, size: int, chunk: int):
    obj = offer().to_wire() | {"n": name, "z": size, "c": chunk}
    try:
        record = decode_content(packed(obj))
    except ProtocolError:
        return
    assert isinstance(record, FileOffer) and file_name(record.name, "n") == record.name


# --- sealing --------------------------------------------------------------------------------


def test_seal_and_open_round_trip_and_compress_only_when_it_helps():
    text = b"the quick brown fox jumps over the lazy dog\n" * 1600
    noise = os.urandom(CHUNK_SIZE)
    for data in (text[:CHUNK_SIZE], noise, b"", b"x"):
        sealed = seal_chunk(KEY, FID, 7, False, data)
        assert len(sealed) <= len(data) + SEAL_OVERHEAD
        assert open_chunk(KEY, FID, 7, False, sealed, len(data)) == data
    assert len(seal_chunk(KEY, FID, 0, True, text[:CHUNK_SIZE])) < CHUNK_SIZE // 10
    assert len(seal_chunk(KEY, FID, 0, True, noise)) == CHUNK_SIZE + SEAL_OVERHEAD
    assert len(seal_chunk(KEY, FID, 0, True, text[:CHUNK_SIZE], compress=False)) == (
        CHUNK_SIZE + SEAL_OVERHEAD
    )
    # random nonces: the same chunk never seals to the same bytes
    assert seal_chunk(KEY, FID, 0, True, b"abc") != seal_chunk(KEY, FID, 0, True, b"abc")


def test_a_chunk_opens_only_at_its_own_key_file_index_and_position():
    sealed = seal_chunk(KEY, FID, 5, False, b"payload")
    wrong = [
        (bytes(32), FID, 5, False),  # another file's key
        (KEY, OTHER_FID, 5, False),  # moved to another file
        (KEY, FID, 4, False),  # reordered
        (KEY, FID, 5, True),  # passed off as the last chunk (truncation)
    ]
    for key, fid, index, last in wrong:
        with pytest.raises(ChunkDecryptionFailed):
            open_chunk(key, fid, index, last, sealed, 7)
    assert issubclass(ChunkDecryptionFailed, DecryptionError)


@FUZZ
@given(st.data())
def test_any_change_to_a_sealed_chunk_is_caught(data: st.DataObject):
    sealed = bytearray(seal_chunk(KEY, FID, 1, False, b"some chunk data" * 20))
    pos = data.draw(st.integers(0, len(sealed) - 1))
    sealed[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ChunkDecryptionFailed):
        open_chunk(KEY, FID, 1, False, bytes(sealed), 300)


@FUZZ
@given(st.binary(max_size=400), st.integers(0, 2000))
def test_opening_arbitrary_bytes_never_crashes(blob: bytes, expected: int):
    with pytest.raises((BadChunk, ChunkDecryptionFailed)):
        open_chunk(KEY, FID, 0, True, blob, expected)


def _sealed_body(body: bytes, index: int = 0, last: bool = True) -> bytes:
    """A chunk whose AEAD is valid (the peer has the key) but whose contents are hostile."""
    import nacl.bindings

    nonce = os.urandom(24)
    ad = proto.AD_PREFIX + FID + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
    return nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(body, ad, nonce, KEY)


def test_decompression_bombs_and_lies_are_refused_without_inflating():
    expected = 4096
    # 1 GiB of zeros squeezed into a frame that fits one chunk
    cobj = zstandard.ZstdCompressor(level=19).compressobj(size=1 << 30)
    bomb = b"".join([cobj.compress(bytes(1 << 20)) for _ in range(1024)] + [cobj.flush()])
    assert len(bomb) < MAX_CHUNK_DATA - SEAL_OVERHEAD
    hostile = {
        "bomb (claims 1 GiB)": b"\x01" + bomb,
        "no size in header": b"\x01"
        + zstandard.ZstdCompressor(write_content_size=False).compress(bytes(expected)),
        "claims less than it holds": b"\x01"
        + zstandard.ZstdCompressor().compress(bytes(expected // 2))
        + zstandard.ZstdCompressor().compress(bytes(expected // 2)),
        "inflates short": b"\x01" + zstandard.ZstdCompressor().compress(bytes(expected - 1)),
        "raw but short": b"\x00" + bytes(expected - 1),
        "raw but long": b"\x00" + bytes(expected + 1),
        "unknown encoding": b"\x07" + bytes(expected),
        "garbage zstd": b"\x01" + b"\x28\xb5\x2f\xfd" + os.urandom(50),
        "compressed empty chunk": b"\x01" + zstandard.ZstdCompressor().compress(b""),
    }
    for name, body in hostile.items():
        length = 0 if name == "compressed empty chunk" else expected
        with pytest.raises(BadChunk):
            open_chunk(KEY, FID, 0, True, _sealed_body(body), length)
            pytest.fail(name)


def test_the_zstd_window_a_chunk_may_ask_for_is_bounded():
    # magic, descriptor (2-byte size, not single-segment), window 2^24, size 4096, one RLE block
    header = bytes.fromhex("28b52ffd") + bytes([0x40, 14 << 3]) + (4096 - 256).to_bytes(2, "little")
    frame = header + ((4096 << 3) | 0b011).to_bytes(3, "little") + b"z"
    assert zstandard.ZstdDecompressor().decompress(frame) == b"z" * 4096
    assert zstandard.get_frame_parameters(frame).content_size == 4096
    assert zstandard.get_frame_parameters(frame).window_size > proto.MAX_CHUNK_WINDOW
    with pytest.raises(BadChunk, match="window"):
        open_chunk(KEY, FID, 0, True, _sealed_body(b"\x01" + frame), 4096)


# --- sizes and names ------------------------------------------------------------------------


@FUZZ
@given(st.integers(0, 10**9), st.integers(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE))
def test_a_plan_covers_the_file_exactly(size: int, chunk_size: int):
    plan = FilePlan(size, chunk_size)
    lengths = [plan.chunk_len(i) for i in (0, plan.chunks - 1)]
    assert plan.chunks >= 1 and plan.is_last(plan.chunks - 1)
    assert plan.is_last(0) == (plan.chunks == 1)
    assert (plan.chunks - 1) * chunk_size + lengths[-1] == size
    assert all(0 <= n <= chunk_size for n in lengths)
    assert plan.bytes_in(plan.chunks) == size and plan.bytes_in(0) == 0
    with pytest.raises(BadChunk):
        plan.chunk_len(plan.chunks)


def test_plan_edges():
    empty = FilePlan(0, MIN_CHUNK_SIZE)
    assert empty.chunks == 1 and empty.chunk_len(0) == 0 and empty.is_last(0)
    assert FilePlan(MAX_FILE_SIZE, MIN_CHUNK_SIZE).chunks == 2**32
    for size, chunk in ((-1, CHUNK_SIZE), (MAX_FILE_SIZE + 1, CHUNK_SIZE), (1, 100)):
        with pytest.raises(ValueError):
            FilePlan(size, chunk)


@FUZZ
@given(st.text(max_size=600))
def test_any_name_sanitises_to_a_valid_offer_name(name: str):
    clean = sanitize_file_name(name)
    assert file_name(clean, "name") == clean
    assert sanitize_file_name(clean) == clean
    assert "/" not in clean and "\\" not in clean and not clean.startswith(".")


def test_sanitised_names_keep_what_they_can():
    assert sanitize_file_name("/home/u/Holiday Photo.JPG") == "Holiday Photo.JPG"
    assert sanitize_file_name("C:\\Users\\u\\report.pdf") == "report.pdf"
    assert sanitize_file_name("a\x00b\u202ec.txt") == "a_b_c.txt"
    assert sanitize_file_name("..") == "file"
    assert sanitize_file_name(".bashrc") == "file.bashrc"
    assert sanitize_file_name("bad\udcffname") == "bad?name"
    long = sanitize_file_name("x" * 400 + ".tar.gz")
    assert len(long) == 255 and long.endswith(".gz")
    wide = sanitize_file_name("雪" * 300 + ".txt")
    assert wide.endswith(".txt") and len(wide.encode()) <= 1020


# --- accounting -----------------------------------------------------------------------------

TIMING = ReceiveTiming(
    stall_after=10.0, checkpoint_chunks=4, checkpoint_interval=1.0, progress_interval=0.25
)


def test_receiver_takes_chunks_in_order_and_ignores_resends():
    plan = FilePlan(10 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE)
    rx = ReceiveState(plan, 3, now=0.0, timing=TIMING)
    assert rx.classify(3) is Verdict.STORE
    assert rx.classify(2) is Verdict.DUPLICATE
    assert rx.classify(4) is Verdict.AHEAD
    for bad in (10, 11, 2**32 - 1):
        with pytest.raises(BadChunk):
            rx.classify(bad)
    rx.stored(0.1)
    assert rx.next_index == 4 and rx.classify(3) is Verdict.DUPLICATE


def test_receiver_checkpoints_by_count_or_time_and_throttles_progress():
    plan = FilePlan(100 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE)
    rx = ReceiveState(plan, 0, now=0.0, timing=TIMING)
    steps = [rx.stored(0.01 * i) for i in range(1, 5)]
    assert [s.checkpoint for s in steps] == [False, False, False, True]  # every 4 chunks
    assert [s.progress for s in steps] == [True, False, False, False]  # <= 4/s
    rx.checkpoint_done(0.04)
    assert rx.checkpointed == 4
    assert rx.stored(1.5).checkpoint  # a second since the last one
    assert rx.stored(1.6).progress is False and rx.stored(1.8).progress is True


def test_receiver_completes_on_the_last_chunk():
    plan = FilePlan(2 * MIN_CHUNK_SIZE + 1, MIN_CHUNK_SIZE)
    rx = ReceiveState(plan, 2, now=0.0, timing=TIMING)
    done = rx.stored(5.0)
    assert done.complete and done.checkpoint and done.progress and rx.complete
    assert rx.deadline() is None and not rx.poll(1e9)
    with pytest.raises(ValueError):
        rx.stored(6.0)


def test_receiver_stalls_when_the_sender_goes_quiet_and_recovers():
    plan = FilePlan(10 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE)
    rx = ReceiveState(plan, 0, now=100.0, timing=TIMING)
    assert rx.deadline() == 110.0
    assert not rx.poll(109.9) and not rx.stalled
    assert rx.poll(110.0) and rx.stalled
    rx.restart_clock(110.0)  # asked again: another stall_after before the next alarm
    assert rx.deadline() == 120.0 and not rx.poll(119.0) and rx.stalled
    rx.stored(115.0)
    assert not rx.stalled and rx.deadline() == 125.0


def test_sender_accounting():
    plan = FilePlan(5 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE)
    tx = SendState(plan)
    assert tx.request(0) == range(0, 5) and tx.request(5) == range(5, 5)
    with pytest.raises(BadFileRecord):
        tx.request(6)
    assert tx.ack(2) and not tx.ack(2) and not tx.ack(1) and tx.acked == 2
    with pytest.raises(BadFileRecord):
        tx.ack(6)
    assert not tx.done and tx.ack(5) and tx.done


def test_throttle():
    gate = Throttle(0.25)
    assert [gate.ready(t) for t in (0.0, 0.1, 0.24, 0.25, 0.3, 0.6)] == [
        True,
        False,
        False,
        True,
        False,
        True,
    ]


def test_whole_file_round_trip_through_the_pure_parts():
    """Sender seals, a hostile-free receiver opens in order: the SHA-256 matches."""
    data = os.urandom(3 * MIN_CHUNK_SIZE) + b"tail"
    plan = FilePlan(len(data), MIN_CHUNK_SIZE)
    digest = hashlib.sha256()
    rx = ReceiveState(plan, 0, now=0.0, timing=TIMING)
    for index in range(plan.chunks):
        start = index * plan.chunk_size
        piece = data[start : start + plan.chunk_len(index)]
        sealed = seal_chunk(KEY, FID, index, plan.is_last(index), piece)
        assert rx.classify(index) is Verdict.STORE
        digest.update(open_chunk(KEY, FID, index, plan.is_last(index), sealed, len(piece)))
        rx.stored(float(index))
    assert rx.complete and digest.digest() == hashlib.sha256(data).digest()
