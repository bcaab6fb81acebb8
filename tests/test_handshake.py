"""Link handshake state machine: negotiation, XX/IK, identities, framing, hostile input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from libra_gui.core.crypto.identity import STATIC_KEY_DOMAIN, IdentityKeys
from libra_gui.core.errors import (
    DecryptionError,
    HandshakeError,
    ProtocolError,
    VersionMismatch,
)
from libra_gui.core.protocol import handshake as hs
from libra_gui.core.protocol.handshake import (
    MAX_FRAME_LEN,
    Handshake,
    Mode,
    NoCommonVersion,
    Role,
    build_prologue,
    choose_version,
    decode_identity_payload,
    encode_hello,
    encode_identity_payload,
    encode_reply,
)

ALICE = IdentityKeys.from_seeds(bytes([1]) * 32, bytes([2]) * 32)
BOB = IdentityKeys.from_seeds(bytes([3]) * 32, bytes([4]) * 32)
CAROL = IdentityKeys.from_seeds(bytes([5]) * 32, bytes([6]) * 32)
BOUND = MAX_FRAME_LEN + 2

Intercept = Callable[[str, int, bytes], bytes]


def _pair(
    mode: Mode,
    *,
    initiator: IdentityKeys | FakeKeys = ALICE,
    responder: IdentityKeys | FakeKeys = BOB,
    expected: bytes | None = None,
    init_versions: tuple[int, ...] = (1,),
    resp_versions: tuple[int, ...] = (1,),
    init_context: bytes = b"ctx",
    resp_context: bytes = b"ctx",
    card: bytes | None = None,
) -> tuple[Handshake, Handshake]:
    init = Handshake(
        Role.INITIATOR,
        initiator,
        remote_static=responder.static_public if mode is Mode.IK else None,
        expected_identity=expected,
        context=init_context,
        versions=init_versions,
        card=card,
    )
    resp = Handshake(
        Role.RESPONDER, responder, context=resp_context, versions=resp_versions, card=card
    )
    return init, resp


def _deliver(target: Handshake, data: bytes, chunk: int | None) -> list[bytes]:
    if chunk is None:
        return target.receive(data)
    out: list[bytes] = []
    for i in range(0, len(data), chunk):
        out += target.receive(data[i : i + chunk])
        assert target.buffered <= BOUND
    return out


def drive(
    init: Handshake, resp: Handshake, intercept: Intercept | None = None, chunk: int | None = None
) -> dict[str, list[bytes]]:
    """Move bytes between both sides until nothing is left to send; return the transcript."""
    transcript: dict[str, list[bytes]] = {"i2r": [], "r2i": []}
    queue = [("i2r", init.start())]
    while queue:
        direction, data = queue.pop(0)
        index = len(transcript[direction])
        if intercept is not None:
            data = intercept(direction, index, data)
        transcript[direction].append(data)
        target, back = (resp, "r2i") if direction == "i2r" else (init, "i2r")
        queue += [(back, out) for out in _deliver(target, data, chunk)]
    return transcript


@dataclass
class FakeKeys:
    """Key material a forger controls: any identity claim, any signature."""

    identity_public: bytes
    static_public: bytes
    static_secret: bytes
    static_signature: bytes


def _forged(claimed_identity: bytes, signer: SigningKey, base: IdentityKeys = CAROL) -> FakeKeys:
    sig = signer.sign(STATIC_KEY_DOMAIN + base.static_public).signature
    return FakeKeys(claimed_identity, base.static_public, base.static_secret, sig)


# --- happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_handshake_completes_and_both_sides_agree(mode):
    init, resp = _pair(mode, expected=BOB.identity_public, card=b"opaque card")
    transcript = drive(init, resp)
    assert init.complete and resp.complete
    assert len(transcript["i2r"]) == (3 if mode is Mode.XX else 2)
    a, b = init.result, resp.result
    assert a.version == b.version == 1
    assert a.mode == b.mode == mode
    assert a.handshake_hash == b.handshake_hash and len(a.handshake_hash) == 32
    assert a.peer_identity == BOB.identity_public and a.peer_static == BOB.static_public
    assert b.peer_identity == ALICE.identity_public and b.peer_static == ALICE.static_public
    assert a.peer_card == b.peer_card == b"opaque card"
    assert a.leftover == b.leftover == b""
    for n in range(3):
        assert b.transport.decrypt(a.transport.encrypt(b"ping %d" % n)) == b"ping %d" % n
        assert a.transport.decrypt(b.transport.encrypt(b"pong %d" % n)) == b"pong %d" % n


def test_card_is_optional():
    init, resp = _pair(Mode.XX)
    drive(init, resp)
    assert init.result.peer_card is None and resp.result.peer_card is None


def test_wire_bytes_of_the_negotiation_are_exact():
    init, resp = _pair(Mode.IK)
    transcript = drive(init, resp)
    assert transcript["i2r"][0] == b"LIBRA\x01\x00\x01"
    assert transcript["r2i"][0] == b"LIBRA\x00\x01\x01\x00\x01"
    first = transcript["i2r"][1]
    assert first[0] == Mode.IK and int.from_bytes(first[1:3], "big") == len(first) - 3
    hello, reply = transcript["i2r"][0], transcript["r2i"][0]
    assert build_prologue(hello, reply, Mode.IK, b"ctx") == hello + reply + b"\x02\x00\x03ctx"


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_byte_at_a_time_delivery(mode):
    init, resp = _pair(mode)
    drive(init, resp, chunk=1)
    assert init.complete and resp.complete
    assert init.result.handshake_hash == resp.result.handshake_hash


@settings(max_examples=40, deadline=None)
@given(mode=st.sampled_from([Mode.XX, Mode.IK]), chunk=st.integers(1, 400))
def test_any_chunking_gives_the_same_result(mode, chunk):
    init, resp = _pair(mode)
    drive(init, resp, chunk=chunk)
    assert init.result.handshake_hash == resp.result.handshake_hash


def test_bytes_after_the_last_handshake_message_are_leftover():
    # XX: the initiator completes by sending message 3 and may send transport data at once.
    init, resp = _pair(Mode.XX)
    hello = init.start()
    (reply,) = resp.receive(hello)
    (first,) = init.receive(reply)
    (second,) = resp.receive(first)
    (third,) = init.receive(second)
    early = init.result.transport.encrypt(b"early bird")
    assert resp.receive(third + early) == []
    assert resp.result.leftover == early
    assert resp.result.transport.decrypt(resp.result.leftover) == b"early bird"
    # IK: the responder completes by sending message 2.
    init, resp = _pair(Mode.IK)
    (reply,) = resp.receive(init.start())
    (first,) = init.receive(reply)
    (second,) = resp.receive(first)
    early = resp.result.transport.encrypt(b"welcome")
    assert init.receive(second + early) == []
    assert init.result.transport.decrypt(init.result.leftover) == b"welcome"


# --- identities ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_expected_identity_mismatch_fails_before_revealing_ours(mode):
    init, resp = _pair(mode, responder=CAROL, expected=BOB.identity_public)
    transcript = {"n": 0}

    def count(direction, index, data):
        transcript["n"] += direction == "i2r"
        return data

    with pytest.raises(HandshakeError, match="expected contact"):
        drive(init, resp, intercept=count)
    assert init.failed
    # XX: hello and message 1 only; message 3 (our identity) was never produced.
    assert transcript["n"] == 2


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
@pytest.mark.parametrize(
    "forge",
    [
        # Claims Bob's identity, static key signed by Carol's identity key.
        lambda: _forged(BOB.identity_public, CAROL.signing_key),
        # Replays Bob's genuine (identity, signature) pair with Carol's static key.
        lambda: FakeKeys(
            BOB.identity_public, CAROL.static_public, CAROL.static_secret, BOB.static_signature
        ),
        # Carol's own identity, but the signature lacks the domain tag.
        lambda: FakeKeys(
            CAROL.identity_public,
            CAROL.static_public,
            CAROL.static_secret,
            CAROL.signing_key.sign(CAROL.static_public).signature,
        ),
    ],
)
def test_forged_static_signature_is_rejected_on_both_sides(mode, forge):
    forger = forge()
    init, resp = _pair(mode, responder=forger)  # the initiator has no expectation
    with pytest.raises(HandshakeError, match="not signed"):
        drive(init, resp)
    assert init.failed
    init, resp = _pair(mode, initiator=forger)
    with pytest.raises(HandshakeError, match="not signed"):
        drive(init, resp)
    assert resp.failed and not resp.complete


def test_ik_after_key_rotation_fails_then_xx_retry_succeeds():
    """Bob rotated his static key; Alice still has the old one in her contact record."""
    bob_new = IdentityKeys(BOB.signing_key, CAROL.static_key)
    init = Handshake(
        Role.INITIATOR,
        ALICE,
        remote_static=BOB.static_public,
        expected_identity=BOB.identity_public,
    )
    resp = Handshake(Role.RESPONDER, bob_new)
    with pytest.raises(HandshakeError):
        drive(init, resp)
    assert resp.failed and not init.failed  # Alice just sees the link close
    init = Handshake(Role.INITIATOR, ALICE, expected_identity=BOB.identity_public)
    resp = Handshake(Role.RESPONDER, bob_new)
    drive(init, resp)
    assert init.result.peer_identity == BOB.identity_public
    assert init.result.peer_static == bob_new.static_public != BOB.static_public


def test_xx_retry_reaching_someone_else_fails():
    init = Handshake(Role.INITIATOR, ALICE, expected_identity=BOB.identity_public)
    with pytest.raises(HandshakeError, match="expected contact"):
        drive(init, Handshake(Role.RESPONDER, CAROL))


def test_identity_payload_is_strict():
    good = encode_identity_payload(ALICE, b"card")
    assert decode_identity_payload(good) == (
        ALICE.identity_public,
        ALICE.static_signature,
        b"card",
    )
    from libra_gui.core.protocol.codec import pack

    for bad in (
        pack({"id": ALICE.identity_public}),
        pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature, "x": b""}),
        pack({"id": ALICE.identity_public[:31], "ssig": ALICE.static_signature}),
        pack({"id": ALICE.identity_public, "ssig": "text"}),
        pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature, "card": b""}),
        pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature, "card": b"x" * 1025}),
        pack([ALICE.identity_public, ALICE.static_signature]),
        pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature, "card": [1]}),
        b"",
        b"\xc1",
        good + b"\x00",
        # duplicate key: msgpack keeps the last, the map header says 3
        b"\x83"
        + pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature})[1:]
        + pack({"id": BOB.identity_public})[1:],
        # same map, non-fixmap (map16) header
        b"\xde\x00\x02" + pack({"id": ALICE.identity_public, "ssig": ALICE.static_signature})[1:],
    ):
        with pytest.raises(HandshakeError):
            decode_identity_payload(bad)


# --- tampering, truncation, reordering, replay ---------------------------------------------

_STALL_OK = {  # flipping these only changes a length or count: the victim waits for more
    ("i2r", 0): {5},
    ("r2i", 0): {7},
    ("i2r", 1): {1, 2},
    ("i2r", 2): {0, 1},
    ("r2i", 1): {0, 1},
}


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
@pytest.mark.parametrize("direction", ["i2r", "r2i"])
def test_every_flipped_byte_breaks_the_handshake(mode, direction):
    checked = 0
    for index in range(3):
        for position in range(400):
            init, resp = _pair(mode)
            hit = {"done": False}

            def flip(d, i, data, index=index, position=position, hit=hit):
                if d == direction and i == index and position < len(data):
                    hit["done"] = True
                    data = data[:position] + bytes([data[position] ^ 0x04]) + data[position + 1 :]
                return data

            try:
                drive(init, resp, intercept=flip)
                raised = False
            except ProtocolError:
                raised = True
            if not hit["done"]:
                break
            checked += 1
            assert not (init.complete and resp.complete), (index, position)
            if not raised:
                assert position in _STALL_OK[(direction, index)], (index, position)
    assert checked > 100


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_truncated_noise_message_in_a_valid_frame_is_rejected(mode):
    def truncate(direction, index, data):
        if direction == "r2i" and index == 1:
            body = data[2:-5]
            return len(body).to_bytes(2, "big") + body
        return data

    init, resp = _pair(mode)
    with pytest.raises(HandshakeError):
        drive(init, resp, intercept=truncate)


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_truncated_stream_waits_with_bounded_buffer(mode):
    init, resp = _pair(mode)
    (reply,) = resp.receive(init.start())
    (first,) = init.receive(reply)
    assert resp.receive(first[:-1]) == []
    assert not resp.complete and not resp.failed and resp.buffered == len(first) - 2


def test_messages_in_the_wrong_order_are_rejected():
    # Message 3 straight after the hello: its length prefix is read as the mode byte.
    init, resp = _pair(Mode.XX)
    transcript = drive(init, resp)
    init2, resp2 = _pair(Mode.XX)
    resp2.receive(init2.start())
    with pytest.raises(HandshakeError, match="mode"):
        resp2.receive(transcript["i2r"][2])
    # Message 2 before the reply: not the magic.
    init3, _ = _pair(Mode.XX)
    init3.start()
    with pytest.raises(HandshakeError, match="magic"):
        init3.receive(transcript["r2i"][1])
    # Our own hello reflected back as the reply: read as "chose 256, one more version".
    init4, _ = _pair(Mode.XX)
    assert init4.receive(init4.start()) == []
    with pytest.raises(HandshakeError, match="not the highest common"):
        init4.receive(b"\x01\x00")


def test_replayed_xx_initiator_transcript_is_rejected():
    recorded = drive(*_pair(Mode.XX))["i2r"]
    resp = Handshake(Role.RESPONDER, BOB, context=b"ctx")
    resp.receive(recorded[0])
    resp.receive(recorded[1])  # message 1 carries no authentication yet
    with pytest.raises(HandshakeError):
        resp.receive(recorded[2])


def test_replayed_ik_message_1_never_yields_a_working_link():
    """Documented IK property: the responder completes, but the replayer has no keys."""
    init, resp = _pair(Mode.IK)
    recorded = drive(init, resp)
    old_transport_message = init.result.transport.encrypt(b"old")
    victim = Handshake(Role.RESPONDER, BOB, context=b"ctx")
    victim.receive(recorded["i2r"][0])
    victim.receive(recorded["i2r"][1])
    assert victim.complete  # liveness is only proven by the first transport message
    with pytest.raises(DecryptionError):
        victim.result.transport.decrypt(old_transport_message)


@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_context_mismatch_fails(mode):
    init, resp = _pair(mode, init_context=b"alice.onion|bob.onion", resp_context=b"other")
    with pytest.raises(HandshakeError):
        drive(init, resp)


def test_oversized_and_empty_frames_are_rejected_early():
    for length in (0, MAX_FRAME_LEN + 1, 0xFFFF):
        init, resp = _pair(Mode.IK)
        (reply,) = resp.receive(init.start())
        init.receive(reply)
        resp.receive(bytes([Mode.IK]))
        with pytest.raises(HandshakeError, match="handshake message of"):
            resp.receive(length.to_bytes(2, "big"))
    # XX message 1 is exactly an ephemeral key: anything longer is refused before buffering.
    init, resp = _pair(Mode.XX)
    (reply,) = resp.receive(init.start())
    init.receive(reply)
    with pytest.raises(HandshakeError):
        resp.receive(b"\x01\x00\x21")
    # XX message 1 with a payload is refused.
    init, resp = _pair(Mode.XX)
    (reply,) = resp.receive(init.start())
    (first,) = init.receive(reply)
    with pytest.raises(HandshakeError, match="limit 32"):
        resp.receive(bytes([Mode.XX]) + b"\x00\x21" + first[3:] + b"\x00")


# --- version negotiation -------------------------------------------------------------------


def test_choose_version():
    assert choose_version((1, 2, 3), (2, 3, 4)) == 3
    assert choose_version((1,), (2,)) is None


def test_responder_picks_highest_common_version_from_raw_hello():
    resp = Handshake(Role.RESPONDER, BOB)
    (reply,) = resp.receive(b"LIBRA\x03\x00\x01\x00\x07\x00\x09")
    assert reply == b"LIBRA\x00\x01\x01\x00\x01"
    assert resp.version == 1


def test_no_common_version_responder_replies_then_fails():
    resp = Handshake(Role.RESPONDER, BOB)
    with pytest.raises(NoCommonVersion) as excinfo:
        resp.receive(b"LIBRA\x02\x00\x07\x00\x09")
    assert excinfo.value.reply == b"LIBRA\x00\x00\x01\x00\x01"
    assert isinstance(excinfo.value, VersionMismatch) and resp.failed
    init = Handshake(Role.INITIATOR, ALICE)
    init.start()
    with pytest.raises(VersionMismatch, match=r"peer speaks protocol versions \[7, 9\]"):
        init.receive(b"LIBRA\x00\x00\x02\x00\x07\x00\x09")


@pytest.fixture
def more_versions(monkeypatch):
    """Pretend versions 2 (SHA256) and 3 (BLAKE2b) exist, to test negotiation end to end."""
    monkeypatch.setitem(hs.SUPPORTED_VERSIONS, 2, "SHA256")
    monkeypatch.setitem(hs.SUPPORTED_VERSIONS, 3, "BLAKE2b")


@pytest.mark.usefixtures("more_versions")
@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_negotiated_version_selects_the_noise_suite(mode):
    init, resp = _pair(mode, init_versions=(1, 2, 3), resp_versions=(1, 2))
    drive(init, resp)
    assert init.result.version == resp.result.version == 2
    init, resp = _pair(mode, init_versions=(2, 3), resp_versions=(1, 3))
    drive(init, resp)
    assert init.result.version == 3 and len(init.result.handshake_hash) == 64
    init, resp = _pair(mode, init_versions=(2,), resp_versions=(1, 3))
    with pytest.raises(NoCommonVersion):
        drive(init, resp)


@pytest.mark.usefixtures("more_versions")
@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_downgrade_by_editing_the_hello_is_detected(mode):
    """A MITM strips version 2 from the hello: the reply's list gives it away."""

    def strip_hello(direction, index, data):
        if direction == "i2r" and index == 0:
            return encode_hello((1,))
        return data

    init, resp = _pair(mode, init_versions=(1, 2), resp_versions=(1, 2))
    with pytest.raises(HandshakeError, match="highest common"):
        drive(init, resp, intercept=strip_hello)


@pytest.mark.usefixtures("more_versions")
@pytest.mark.parametrize("mode", [Mode.XX, Mode.IK])
def test_downgrade_by_editing_both_lists_is_caught_by_the_prologue(mode):
    def strip_both(direction, index, data):
        if index == 0:
            return encode_hello((1,)) if direction == "i2r" else encode_reply(1, (1,))
        return data

    init, resp = _pair(mode, init_versions=(1, 2), resp_versions=(1, 2))
    with pytest.raises(HandshakeError):
        drive(init, resp, intercept=strip_both)
    assert not (init.complete and resp.complete)


@pytest.mark.parametrize(
    "hello",
    [
        b"LIBRA\x00",  # no versions
        b"LIBRA\x11" + b"\x00\x01" * 17,  # too many
        b"LIBRA\x02\x00\x02\x00\x01",  # not ascending
        b"LIBRA\x02\x00\x01\x00\x01",  # duplicate
        b"LIBRA\x01\x00\x00",  # version 0
        b"LIBRX\x01\x00\x01",  # magic
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00",  # TLS ClientHello
    ],
)
def test_malformed_hello_is_rejected(hello):
    resp = Handshake(Role.RESPONDER, BOB)
    with pytest.raises(HandshakeError):
        resp.receive(hello)
    with pytest.raises(HandshakeError, match="already failed"):
        resp.receive(b"LIBRA")


def test_bad_magic_is_rejected_on_the_first_wrong_byte():
    resp = Handshake(Role.RESPONDER, BOB)
    assert resp.receive(b"LIB") == []
    with pytest.raises(HandshakeError, match="magic"):
        resp.receive(b"X")


@pytest.mark.parametrize(
    "reply",
    [
        b"LIBRA\x00\x02\x01\x00\x02",  # chose a version we did not offer
        b"LIBRA\x00\x01\x00",  # empty list
        b"LIBRA\x00\x01\x01\x00\x02",  # chosen not in its own list
        b"LIBRA\x00\x01\x02\x00\x01\x00\x01",  # duplicate
        b"XIBRA\x00\x01\x01\x00\x01",
    ],
)
def test_malformed_reply_is_rejected(reply):
    init = Handshake(Role.INITIATOR, ALICE)
    init.start()
    with pytest.raises(HandshakeError):
        init.receive(reply)


def test_unknown_mode_byte_is_rejected():
    for mode in (0, 3, 0xFF):
        init, resp = _pair(Mode.XX)
        resp.receive(init.start())
        with pytest.raises(HandshakeError, match="mode"):
            resp.receive(bytes([mode]))


# --- misuse -------------------------------------------------------------------------------


def test_api_misuse_is_a_programming_error():
    init = Handshake(Role.INITIATOR, ALICE)
    with pytest.raises(RuntimeError):
        init.receive(b"LIBRA")
    init.start()
    with pytest.raises(RuntimeError):
        init.start()
    with pytest.raises(HandshakeError):
        init.result  # noqa: B018
    a, b = _pair(Mode.XX)
    drive(a, b)
    with pytest.raises(RuntimeError):
        a.receive(b"more")
    assert Handshake(Role.RESPONDER, BOB).start() == b""
    for kwargs in (
        {"versions": (2,)},
        {"versions": ()},
        {"remote_static": b"short"},
        {"expected_identity": b"short"},
        {"context": bytes(1025)},
        {"card": b""},
        {"card": bytes(1025)},
    ):
        with pytest.raises(ValueError):
            Handshake(Role.INITIATOR, ALICE, **kwargs)
    with pytest.raises(ValueError):
        Handshake(Role.RESPONDER, BOB, remote_static=ALICE.static_public)


# --- hostile input, property-based ----------------------------------------------------------


def _responder_at(stage: int, mode: Mode) -> Handshake:
    """A responder waiting for: 0 hello, 1 mode, 2 message 1, 3 message 3 (XX only)."""
    init, resp = _pair(mode)
    hello = init.start()
    if stage == 0:
        return resp
    (reply,) = resp.receive(hello)
    if stage == 1:
        return resp
    (first,) = init.receive(reply)
    resp.receive(first[:1])
    if stage == 2:
        return resp
    resp.receive(first[1:])
    return resp


def _initiator_at(stage: int, mode: Mode) -> Handshake:
    """An initiator waiting for: 0 the reply, 1 message 2."""
    init, resp = _pair(mode)
    hello = init.start()
    if stage == 1:
        init.receive(resp.receive(hello)[0])
    return init


def _feed_garbage(target: Handshake, chunks: list[bytes]) -> None:
    for chunk in chunks:
        try:
            target.receive(chunk)
        except ProtocolError:
            assert target.failed
            return
        assert target.buffered <= BOUND
        assert not target.complete


@settings(max_examples=300, deadline=None)
@given(
    stage=st.integers(0, 3),
    mode=st.sampled_from([Mode.XX, Mode.IK]),
    prefix=st.sampled_from([b"", b"LIBRA", b"LIBRA\x01", b"\x01", b"\x02", b"\x00\x20"]),
    chunks=st.lists(st.binary(max_size=3000), max_size=6),
)
def test_arbitrary_bytes_to_a_responder_only_raise_protocol_errors(stage, mode, prefix, chunks):
    if stage == 3 and mode is Mode.IK:
        stage = 2
    _feed_garbage(_responder_at(stage, mode), [prefix, *chunks])


@settings(max_examples=200, deadline=None)
@given(
    stage=st.integers(0, 1),
    mode=st.sampled_from([Mode.XX, Mode.IK]),
    prefix=st.sampled_from([b"", b"LIBRA\x00\x01\x01\x00\x01", b"\x00\x60"]),
    chunks=st.lists(st.binary(max_size=3000), max_size=6),
)
def test_arbitrary_bytes_to_an_initiator_only_raise_protocol_errors(stage, mode, prefix, chunks):
    _feed_garbage(_initiator_at(stage, mode), [prefix, *chunks])


def test_a_flood_of_bytes_is_never_buffered():
    resp = _responder_at(2, Mode.IK)
    resp.receive(b"\x08\x00")  # announces a 2048-byte message, within the limit
    assert resp.receive(bytes(2000)) == []
    assert resp.buffered == 2002
    with pytest.raises(HandshakeError):
        resp.receive(bytes(10_000_000))
    assert resp.buffered == 0
