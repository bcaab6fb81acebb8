"""Shared-secret question check: SPAKE2 crypto and the sans-IO state machine.

Known answers: RFC 9382's M and N re-derived from their seeds, the RFC's P-256 vector for the
(group-agnostic) key schedule, and an independent pure-Python edwards25519 for the group part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_core_ed25519_is_valid_point

from libra_gui.core.crypto import verification as v
from libra_gui.core.errors import MalformedRecord
from libra_gui.core.protocol.records import (
    CONTENT_RECORDS,
    VerifyAbort,
    VerifyConfirm,
    VerifyReply,
    VerifyStart,
    decode_content,
    encode_content,
)
from libra_gui.core.protocol.verification import (
    AbortReason,
    BadMessage,
    InvalidState,
    Outcome,
    Party,
    Phase,
    UnexpectedMessage,
    Verification,
    VerificationError,
    WrongRun,
)

# --- an independent edwards25519 (RFC 8032 formulas, affine, slow, test only) ---------------

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
GY = 4 * pow(5, P - 2, P) % P


def _recover_x(y: int, sign: int) -> int:
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    assert (x * x - x2) % P == 0
    return P - x if x & 1 != sign else x


def decode(b: bytes) -> tuple[int, int]:
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    return _recover_x(y, sign), y


def encode(pt: tuple[int, int]) -> bytes:
    x, y = pt
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def mul(k: int, pt: tuple[int, int]) -> tuple[int, int]:
    acc, addend = (0, 1), pt
    while k:
        if k & 1:
            acc = add(acc, addend)
        addend = add(addend, addend)
        k >>= 1
    return acc


def neg(pt: tuple[int, int]) -> tuple[int, int]:
    return (-pt[0]) % P, pt[1]


G = (_recover_x(GY, 0), GY)


def fixed_random(seed: bytes):
    """Deterministic ``random(n)`` for reproducible runs."""
    counter = count()

    def random(n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha512(seed + next(counter).to_bytes(4, "big")).digest()
        return out[:n]

    return random


ALICE = Party(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
BOB = Party(b"\x11" * 32, b"\x12" * 32, b"\x13" * 32)
MALLORY = Party(b"\x21" * 32, b"\x22" * 32, b"\x23" * 32)
Q = "Where did we first meet?"

# --- constants and known answers ------------------------------------------------------------


def test_m_and_n_are_rfc9382_points_rederived_from_their_seeds():
    for seed, expected, iterations in (
        (b"edwards25519 point generation seed (M)", v.M, 21),
        (b"edwards25519 point generation seed (N)", v.N, 7),
    ):
        candidate, tries = hashlib.sha256(seed).digest(), 1
        while not crypto_core_ed25519_is_valid_point(candidate):
            candidate, tries = hashlib.sha256(candidate).digest(), tries + 1
        assert (candidate, tries) == (expected, iterations)


def test_key_schedule_matches_rfc9382_p256_vector():
    """RFC 9382 Appendix B, A='server', B='client' (the schedule is group-agnostic)."""
    ks = v.key_schedule(
        b"server",
        b"client",
        bytes.fromhex(
            "04a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470f9010153ac33d0d5"
            "f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c"
        ),
        bytes.fromhex(
            "0406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676d09857ccbc522686"
            "c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a1e0b7"
        ),
        bytes.fromhex(
            "0412af7e89717850671913e6b469ace67bd90a4df8ce45c2af19010175e37eed69f75897996d5393"
            "56e2fa6a406d528501f907e04d97515fbe83db277b715d3325"
        ),
        bytes.fromhex("2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f"),
        b"",
    )
    assert ks.ke.hex() == "0e0672dc86f8e45565d338b0540abe69"
    assert ks.ka.hex() == "15bdf72e2b35b5c9e5663168e960a91b"
    assert ks.kc_a.hex() == "00c12546835755c86d8c0db7851ae86f"
    assert ks.kc_b.hex() == "a9fa3406c3b781b93d804485430ca27a"
    assert ks.mac_a.hex() == "58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0"
    assert ks.mac_b.hex() == "d3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b"


def test_group_operations_match_an_independent_edwards25519():
    w, x, y = v.password_scalar("paris"), 12345678901234567890, 98765432109876543210
    a = v.Spake2("A", w, b"idA", b"idB", b"aad", x=x)
    b = v.Spake2("B", w, b"idA", b"idB", b"aad", x=y)
    m, n = decode(v.M), decode(v.N)
    assert a.share == encode(add(mul(x, G), mul(w, m)))
    assert b.share == encode(add(mul(y, G), mul(w, n)))
    k = encode(mul(8 * x, add(decode(b.share), neg(mul(w, n)))))
    assert k == encode(mul(8 * y, add(decode(a.share), neg(mul(w, m)))))
    expected = v.key_schedule(b"idA", b"idB", a.share, b.share, k, w.to_bytes(32, "big"), b"aad")
    assert a.finish(b.share) == expected == b.finish(a.share)


def test_libra_known_answer_vector():
    """A fixed run (docs/verification.md lists it) so another implementation can check itself."""
    run, out = Verification.ask(ALICE, BOB, Q, " Paris ", now=0, random=fixed_random(b"alice"))
    (start,) = out
    bob = Verification.asked(start, BOB, ALICE, now=0, random=fixed_random(b"bob"))
    (reply,) = bob.answer("PARIS", now=0)
    (confirm,) = run.receive(reply, now=0)
    bob.receive(confirm, now=0)
    assert run.outcome is Outcome.EQUAL and bob.outcome is Outcome.EQUAL
    got = {
        "w": v.password_scalar("paris").to_bytes(32, "big").hex(),
        "run_id": start.run_id.hex(),
        "pA": start.share.hex(),
        "pB": reply.share.hex(),
        "cB": reply.mac.hex(),
        "cA": confirm.mac.hex(),
    }
    assert got == KAT, got


KAT = {
    "w": "01752108d8825445349bfc5a2fabf08920f4657c1c50c8fa57eae77bacf02655",
    "run_id": "2873212758dfc20c2ec1d10ada6fee22",
    "pA": "8d0def2c99fea98e99e26913c267b86f19136b35b1c58e3a78d809f6378df650",
    "pB": "2b7b6257dc785b1ef6844ef6fcf6cb87c642f9e226f64319b11a89a122115e9a",
    "cB": "8ee3a120b80948642c873165aa9438e4f9ff381f7ad2ade7904a4f1bca06e036",
    "cA": "644899fdacbb175aec3473c10b5420fd2275f2d379a3cdf1e3326354dbf22dae",
}


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Paris", "paris"),
        ("  New   York ", "new york"),
        ("new\tyork\n", "NEW YORK"),
        ("\uff30\uff21\uff32\uff29\uff33", "paris"),  # full-width PARIS (NFKC)
        ("Straße", "STRASSE"),  # case folding, not just lower()
        ("e\u0301te", "\u00e9te"),  # combining accent vs precomposed
        ("ﬁsh", "fish"),  # ligature
    ],
)
def test_equivalent_answers_normalise_alike(a, b):
    assert v.normalize_answer(a) == v.normalize_answer(b)
    assert v.password_scalar(a) == v.password_scalar(b)


@pytest.mark.parametrize("a", ["", "   ", "\t\n", "x" * 300])
def test_empty_or_huge_answers_are_refused(a):
    with pytest.raises(ValueError):
        v.normalize_answer(a)


@given(st.text(min_size=1, max_size=60))
def test_normalisation_is_idempotent_and_case_insensitive(text):
    try:
        once = v.normalize_answer(text)
    except ValueError:
        return
    assert v.normalize_answer(once) == once
    assert once == " ".join(once.split())
    assert unicodedata.is_normalized("NFKC", once)
    assert v.normalize_answer(text.upper().lower()) == v.normalize_answer(text.lower())


@given(st.text(min_size=1, max_size=40), st.sampled_from([" ", "  ", "\t", "\u3000"]))
def test_surrounding_whitespace_never_matters(text, ws):
    try:
        expected = v.normalize_answer(text)
    except ValueError:
        return
    assert v.normalize_answer(ws + text + ws) == expected


# --- full runs ----------------------------------------------------------------------------------


def run_pair(
    q_answer: str, a_answer: str, *, asker=ALICE, answerer=BOB, asker_peer=BOB, answerer_peer=ALICE
):
    """Alice asks, Bob answers; each side binds the parties as *it* sees them."""
    alice, (start,) = Verification.ask(asker, asker_peer, Q, q_answer, now=0)
    bob = Verification.asked(start, answerer, answerer_peer, now=0)
    assert bob.question == Q and bob.phase is Phase.WAIT_ANSWER
    (reply,) = bob.answer(a_answer, now=1)
    (confirm,) = alice.receive(reply, now=2)
    assert bob.receive(confirm, now=3) == []
    return alice, bob


def test_equal_answers_give_equal_on_both_sides():
    alice, bob = run_pair("Paris", "  paris ")
    assert alice.outcome is bob.outcome is Outcome.EQUAL
    assert alice.done and bob.done


def test_different_answers_give_not_equal_on_both_sides():
    alice, bob = run_pair("Paris", "London")
    assert alice.outcome is bob.outcome is Outcome.NOT_EQUAL


def test_a_relay_between_two_sessions_with_other_identities_is_not_equal():
    """Mallory sits between: Alice thinks she talks to Mallory-as-Bob (Alice stored Mallory's
    keys for "Bob"), Bob thinks he talks to Mallory-as-Alice. Mallory forwards every record
    verbatim, and both people know the answer — still not EQUAL on either side."""
    alice, (start,) = Verification.ask(ALICE, MALLORY, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, MALLORY, now=0)
    (reply,) = bob.answer("paris", now=0)
    (confirm,) = alice.receive(reply, now=0)
    bob.receive(confirm, now=0)
    assert alice.outcome is Outcome.NOT_EQUAL and bob.outcome is Outcome.NOT_EQUAL


@pytest.mark.parametrize("who", ["identity_key", "static_key", "ratchet_key"])
def test_any_differing_key_in_the_binding_breaks_equality(who):
    other = dataclasses.replace(BOB, **{who: b"\x99" * 32})
    alice, bob = run_pair("paris", "paris", asker_peer=other)
    assert alice.outcome is bob.outcome is Outcome.NOT_EQUAL


def test_a_changed_question_in_transit_breaks_equality():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    forged = dataclasses.replace(start, question="What is the capital of France?")
    bob = Verification.asked(forged, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    (confirm,) = alice.receive(reply, now=0)
    bob.receive(confirm, now=0)
    assert alice.outcome is bob.outcome is Outcome.NOT_EQUAL


# --- tampering, order, duplicates: typed errors or abort, never a wrong EQUAL ---------------------


def flip(data: bytes, i: int = 0) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]


def test_tampered_reply_mac_is_not_equal():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    (confirm,) = alice.receive(dataclasses.replace(reply, mac=flip(reply.mac, 5)), now=0)
    assert alice.outcome is Outcome.NOT_EQUAL
    bob.receive(confirm, now=0)
    assert bob.outcome is Outcome.NOT_EQUAL  # the asker sends cA only after cB verified


def test_tampered_confirm_mac_is_not_equal():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    (confirm,) = alice.receive(reply, now=0)
    bob.receive(dataclasses.replace(confirm, mac=flip(confirm.mac, 31)), now=0)
    assert alice.outcome is Outcome.EQUAL and bob.outcome is Outcome.NOT_EQUAL


def test_a_share_that_is_not_a_valid_point_aborts_with_bad_message():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    small_order = bytes(32)  # the identity-adjacent small-order encoding (y = 0)
    with pytest.raises(BadMessage) as err:
        alice.receive(dataclasses.replace(reply, share=small_order), now=0)
    assert alice.outcome is Outcome.ABORTED and alice.abort_reason is AbortReason.PROTOCOL
    assert err.value.outgoing == [VerifyAbort(run_id=alice.run_id, reason=3)]


def test_a_start_with_an_invalid_share_is_refused_before_anyone_is_asked():
    _alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    with pytest.raises(BadMessage) as err:
        Verification.asked(dataclasses.replace(start, share=b"\xff" * 32), BOB, ALICE, now=0)
    assert err.value.outgoing == [VerifyAbort(run_id=start.run_id, reason=3)]


def test_confirm_before_reply_aborts_the_asker():
    alice, _ = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    with pytest.raises(UnexpectedMessage) as err:
        alice.receive(VerifyConfirm(run_id=alice.run_id, mac=b"\x00" * 32), now=0)
    assert alice.outcome is Outcome.ABORTED
    assert [type(r) for r in err.value.outgoing] == [VerifyAbort]


def test_confirm_before_the_user_answered_aborts_the_answerer():
    _alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    with pytest.raises(UnexpectedMessage):
        bob.receive(VerifyConfirm(run_id=bob.run_id, mac=b"\x00" * 32), now=0)
    assert bob.outcome is Outcome.ABORTED
    with pytest.raises(InvalidState):
        bob.answer("paris", now=0)


def test_duplicate_start_aborts_an_open_answerer_run():
    _alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    with pytest.raises(UnexpectedMessage):
        bob.receive(start, now=0)
    assert bob.outcome is Outcome.ABORTED


def test_duplicate_reply_after_the_result_changes_nothing():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    alice.receive(reply, now=0)
    with pytest.raises(UnexpectedMessage) as err:
        alice.receive(reply, now=0)
    assert err.value.outgoing == [] and alice.outcome is Outcome.EQUAL


def test_reply_replayed_into_a_new_run_is_another_runs_record():
    _old, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    new, _ = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    with pytest.raises(WrongRun):
        new.receive(reply, now=0)
    assert new.phase is Phase.WAIT_REPLY and new.outcome is None  # untouched
    # Even relabelled with the new run id, the reply was made for the old run's share and AAD.
    (confirm,) = new.receive(dataclasses.replace(reply, run_id=new.run_id), now=0)
    assert new.outcome is Outcome.NOT_EQUAL and isinstance(confirm, VerifyConfirm)


def test_peer_abort_ends_the_run_without_a_result():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (abort,) = bob.abort(AbortReason.DECLINED)
    assert bob.outcome is Outcome.ABORTED
    assert alice.receive(abort, now=0) == []
    assert alice.outcome is Outcome.ABORTED and alice.abort_reason is AbortReason.DECLINED
    assert alice.aborted_by_peer
    assert alice.abort() == []  # already over: nothing more to send


def test_unknown_abort_code_is_mapped_not_rejected():
    alice, _ = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    alice.receive(VerifyAbort(run_id=alice.run_id, reason=200), now=0)
    assert alice.abort_reason is AbortReason.UNKNOWN


def test_timeout_aborts_and_tells_the_peer():
    alice, _ = Verification.ask(ALICE, BOB, Q, "paris", now=100, timeout=30)
    assert alice.tick(129.9) == []
    (abort,) = alice.tick(130)
    assert abort == VerifyAbort(run_id=alice.run_id, reason=int(AbortReason.TIMEOUT))
    assert alice.outcome is Outcome.ABORTED and alice.tick(1000) == []


def test_answering_restarts_the_answerers_clock():
    _alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0, timeout=10)
    bob = Verification.asked(start, BOB, ALICE, now=0, timeout=10)
    bob.answer("paris", now=9)
    assert bob.tick(15) == [] and bob.deadline == 19


def test_local_misuse_is_a_typed_error():
    alice, _ = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    with pytest.raises(InvalidState):
        alice.answer("paris", now=0)
    with pytest.raises(ValueError):
        Verification.ask(ALICE, BOB, Q, "   ", now=0)
    with pytest.raises(MalformedRecord):
        Verification.ask(ALICE, BOB, "", "paris", now=0)
    with pytest.raises(MalformedRecord):
        Verification.ask(ALICE, BOB, "?" * 201, "paris", now=0)


def test_an_empty_answer_leaves_the_question_open():
    _alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    with pytest.raises(ValueError):
        bob.answer(" ", now=0)
    assert bob.phase is Phase.WAIT_ANSWER


# --- hypothesis: answers and garbage ------------------------------------------------------------

answers = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=40, deadline=None)
@given(answers, answers)
def test_outcome_is_equal_exactly_when_normalised_answers_match(a, b):
    try:
        same = v.normalize_answer(a) == v.normalize_answer(b)
    except ValueError:
        return
    alice, bob = run_pair(a, b)
    expected = Outcome.EQUAL if same else Outcome.NOT_EQUAL
    assert alice.outcome is expected and bob.outcome is expected


records = st.one_of(
    st.builds(
        VerifyReply,
        run_id=st.binary(min_size=16, max_size=16),
        share=st.binary(min_size=32, max_size=32),
        mac=st.binary(min_size=32, max_size=32),
    ),
    st.builds(
        VerifyConfirm,
        run_id=st.binary(min_size=16, max_size=16),
        mac=st.binary(min_size=32, max_size=32),
    ),
    st.builds(
        VerifyStart,
        run_id=st.binary(min_size=16, max_size=16),
        question=st.just("q?"),
        share=st.binary(min_size=32, max_size=32),
    ),
    st.builds(VerifyAbort, run_id=st.binary(min_size=16, max_size=16), reason=st.integers(0, 255)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(records, min_size=1, max_size=6), st.booleans(), st.booleans())
def test_garbage_records_never_yield_equal(garbage, use_run_id, asker_side):
    """Random records (optionally carrying the live run id) never make either side EQUAL."""
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    target = alice if asker_side else bob
    if not asker_side:
        bob.answer("paris", now=0)
    for record in garbage:
        if use_run_id:
            record = dataclasses.replace(record, run_id=target.run_id)
        try:
            out = target.receive(record, now=0)
        except VerificationError as exc:
            out = exc.outgoing
        assert all(r.run_id == target.run_id for r in out)
        assert target.outcome is not Outcome.EQUAL


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_bytes_decode_to_a_record_or_a_protocol_error(data):
    from libra_gui.core.errors import ProtocolError

    try:
        record = decode_content(data)
    except ProtocolError:
        return
    assert type(record) in CONTENT_RECORDS.values()


def test_records_round_trip_through_the_content_codec():
    alice, (start,) = Verification.ask(ALICE, BOB, Q, "paris", now=0)
    bob = Verification.asked(start, BOB, ALICE, now=0)
    (reply,) = bob.answer("paris", now=0)
    (confirm,) = alice.receive(reply, now=0)
    for record in (start, reply, confirm, VerifyAbort(run_id=start.run_id, reason=4)):
        assert decode_content(encode_content(record)) == record
    assert start.to_wire().keys() == {"t", "r", "q", "p"} and start.to_wire()["t"] == 66
    assert reply.to_wire().keys() == {"t", "r", "p", "m"} and reply.to_wire()["t"] == 67
    assert confirm.to_wire().keys() == {"t", "r", "m"} and confirm.to_wire()["t"] == 68
    with pytest.raises(MalformedRecord):
        VerifyReply(run_id=b"x" * 15, share=b"s" * 32, mac=b"m" * 32)
