"""RequestGate (pure): verification, rate limits, quotas, block/unblock, invites, memory bounds."""

from __future__ import annotations

import hashlib
import os
import random
import tracemalloc

import pytest
from nacl.signing import SigningKey

from libra_gui.core.crypto import pow as pow_
from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.crypto.onion import onion_address
from libra_gui.core.protocol.card import ContactCard
from libra_gui.core.protocol.records import RequestResult, decode_record
from libra_gui.core.protocol.requests import (
    TRANSITIONS,
    Action,
    GateConfig,
    InvalidTransition,
    RequestGate,
    RequestRejected,
    RequestState,
    RequestStatus,
    Verdict,
    VerifiedRequest,
    make_request,
    next_state,
    sign_request,
    verify_request,
)

BEACON = onion_address(bytes(SigningKey(hashlib.sha256(b"beacon").digest()).verify_key))
OTHER = onion_address(bytes(SigningKey(hashlib.sha256(b"elsewhere").digest()).verify_key))
NOW = 1_700_000_000_000
MIN = 60_000
HOUR = 3_600_000
BITS = 4


class Person:
    """A requester: keys plus their signed card."""

    def __init__(self, name: str = "Bob") -> None:
        self.keys = IdentityKeys.generate()
        self.card = ContactCard.create(self.keys, name, os.urandom(32), created=1_700_000_000)
        self.key = self.keys.identity_public

    def request(self, now: int = NOW, message: str = "hi, it's me", *, beacon: str = BEACON):
        return make_request(self.keys, self.card.encode(), beacon, message, now, BITS)


def config(**changes) -> GateConfig:
    return GateConfig(**{"beacon": BEACON, "pow_bits": BITS, **changes})


def fake(key: bytes | None = None, stamp: bytes | None = None, now: int = NOW) -> VerifiedRequest:
    """A request as verification would hand it over (for policy tests without crypto)."""
    key = os.urandom(32) if key is None else key
    stamp = pow_.encode_stamp(now // MIN, random.getrandbits(64)) if stamp is None else stamp
    return VerifiedRequest(key, b"card", "hello", stamp, now)


@pytest.fixture(scope="module")
def bob() -> Person:
    return Person("Bob")


@pytest.fixture(scope="module")
def bob_request(bob):
    return bob.request()


# --- verification ---------------------------------------------------------------------------


def test_a_good_request_is_received_and_stored(bob, bob_request):
    gate = RequestGate(config())
    decision = gate.check(bob_request, NOW + 5_000)
    assert (decision.verdict, decision.status, decision.retry_after) == (
        Verdict.RECEIVED,
        RequestStatus.RECEIVED,
        0,
    )
    stored = decision.store
    assert stored is not None and stored.identity_key == bob.key
    assert (stored.card, stored.message, stored.display_name) == (
        bob.card.encode(),
        "hi, it's me",
        "Bob",
    )
    assert decision.reply() == RequestResult(0, 0)
    assert decode_record(decision.reply().to_wire()) == decision.reply()
    assert gate.pending == {bob.key} and not decision.invite_consumed


def test_an_exact_retry_is_a_duplicate_even_inside_the_rate_limit(bob_request):
    gate = RequestGate(config())
    assert gate.check(bob_request, NOW).verdict is Verdict.RECEIVED
    again = gate.check(bob_request, NOW + 1_000)
    assert (again.verdict, again.status, again.store) == (
        Verdict.DUPLICATE,
        RequestStatus.DUPLICATE,
        None,
    )


def test_per_requester_rate_limit_then_duplicate_while_pending(bob):
    gate = RequestGate(config())
    assert gate.check(bob.request(NOW), NOW).verdict is Verdict.RECEIVED
    limited = gate.check(bob.request(NOW + 45_000), NOW + 45_000)  # next minute: a new stamp
    assert (limited.status, limited.retry_after) == (RequestStatus.RATE_LIMITED, 15)
    later = gate.check(bob.request(NOW + 61_000), NOW + 61_000)
    assert later.status is RequestStatus.DUPLICATE


def test_after_decline_a_new_request_is_received_again(bob):
    gate = RequestGate(config())
    assert gate.check(bob.request(NOW), NOW).status is RequestStatus.RECEIVED
    gate.on_decided(bob.key, Action.DECLINE)
    assert gate.check(bob.request(NOW + 2 * MIN), NOW + 2 * MIN).status is RequestStatus.RECEIVED


def test_request_for_another_beacon_is_refused(bob):
    record = bob.request(beacon=OTHER)
    decision = RequestGate(config()).check(record, NOW)
    assert decision.status is RequestStatus.MALFORMED  # the signature names the other beacon


def test_someone_elses_public_card_cannot_be_used(bob):
    mallory = Person("Mallory")
    stamp = pow_.solve(pow_.PowContext(BEACON, bob.key), BITS, NOW)  # PoW for Bob: valid
    forged = sign_request(mallory.keys, BEACON, bob.card.encode(), "hi", stamp, NOW)
    assert RequestGate(config()).check(forged, NOW).status is RequestStatus.MALFORMED


def test_tampered_fields_break_the_signature(bob, bob_request):
    for change in (
        {"message": "something else"},
        {"sent_at": NOW + 1},
        {"stamp": bytes(16)},
    ):
        record = type(bob_request)(**{**_fields(bob_request), **change})
        with pytest.raises(RequestRejected) as info:
            verify_request(record, BEACON, BITS, NOW)
        assert info.value.verdict in (Verdict.MALFORMED, Verdict.CLOCK_SKEW)


def test_bad_card_is_malformed(bob_request):
    card = bytearray(bob_request.card)
    card[-1] ^= 1  # the card signature no longer verifies
    record = type(bob_request)(**{**_fields(bob_request), "card": bytes(card)})
    assert RequestGate(config()).check(record, NOW).status is RequestStatus.MALFORMED
    record = type(bob_request)(**{**_fields(bob_request), "card": b"\x93\x01\x02\x03"})
    assert RequestGate(config()).check(record, NOW).status is RequestStatus.MALFORMED


def test_weak_stamp_is_bad_pow(bob):
    ctx = pow_.PowContext(BEACON, bob.key)
    minute = NOW // MIN
    nonce = next(
        n for n in range(1000) if pow_.leading_zero_bits(pow_.pow_hash(ctx, minute, n)) < 8
    )
    record = sign_request(
        bob.keys, BEACON, bob.card.encode(), "hi", pow_.encode_stamp(minute, nonce), NOW
    )
    decision = RequestGate(config(pow_bits=8)).check(record, NOW)
    assert decision.status is RequestStatus.BAD_POW


def test_clock_skew(bob, bob_request):
    gate = RequestGate(config())
    assert gate.check(bob_request, NOW + 11 * MIN).status is RequestStatus.CLOCK_SKEW
    assert gate.check(bob_request, NOW - 11 * MIN).status is RequestStatus.CLOCK_SKEW
    # stamp in the window but sent_at far off (signed that way by a broken client)
    stamp = pow_.solve(pow_.PowContext(BEACON, bob.key), BITS, NOW)
    record = sign_request(bob.keys, BEACON, bob.card.encode(), "hi", stamp, NOW + HOUR)
    assert gate.check(record, NOW).status is RequestStatus.CLOCK_SKEW


def test_expired_beacon_refuses_before_any_work(bob_request):
    gate = RequestGate(config(expires_at=NOW, attempt_burst=1))
    for _ in range(3):
        assert gate.check(bob_request, NOW).status is RequestStatus.EXPIRED
    assert RequestGate(config(expires_at=NOW + 1)).check(bob_request, NOW).verdict is (
        Verdict.RECEIVED
    )


# --- global attempt bucket ------------------------------------------------------------------


def test_global_bucket_limits_verification_attempts():
    gate = RequestGate(config(attempt_burst=3, attempt_rate=0.5))
    assert [gate.admit(NOW) for _ in range(3)] == [None, None, None]
    limited = gate.admit(NOW)
    assert (limited.status, limited.retry_after) == (RequestStatus.RATE_LIMITED, 2)
    assert gate.admit(NOW + 1_000).status is RequestStatus.RATE_LIMITED  # half a token
    assert gate.admit(NOW + 2_000) is None
    assert gate.admit(NOW + 2_000) is not None
    assert [gate.admit(NOW + 3_600_000) for _ in range(3)] == [None] * 3  # capped at burst
    assert gate.admit(NOW + 3_600_000) is not None


def test_clock_going_backwards_does_not_refill_the_bucket():
    gate = RequestGate(config(attempt_burst=1, attempt_rate=1))
    assert gate.admit(NOW) is None
    assert gate.admit(NOW - 10_000) is not None
    assert gate.admit(NOW + 1_000) is None


def test_flood_of_bad_pow_keeps_the_gate_small_and_a_legit_request_gets_through(bob):
    """1,000 requests with bad stamps: at most the burst is verified, then Bob gets in."""
    gate = RequestGate(config(pow_bits=8))
    mallory = Person("Mallory")
    ctx = pow_.PowContext(BEACON, mallory.key)
    minute = NOW // MIN
    weak = [n for n in range(200) if pow_.leading_zero_bits(pow_.pow_hash(ctx, minute, n)) < 8]
    records = [
        sign_request(
            mallory.keys, BEACON, mallory.card.encode(), "x", pow_.encode_stamp(minute, n), NOW
        )
        for n in weak[:20]
    ]
    counts: dict[RequestStatus, int] = {}
    for i in range(1000):
        status = gate.check(records[i % len(records)], NOW + i).status
        counts[status] = counts.get(status, 0) + 1
    assert counts[RequestStatus.BAD_POW] <= 100 + 20 + 1  # burst + 1 s of refill at 20/s
    assert counts[RequestStatus.RATE_LIMITED] >= 1000 - 121
    assert set(counts) == {RequestStatus.BAD_POW, RequestStatus.RATE_LIMITED}
    assert gate.sizes()["tracked"] == 0 and gate.sizes()["pending"] == 0
    legit = make_request(bob.keys, bob.card.encode(), BEACON, "hi", NOW + 5_000, 8)
    assert gate.check(legit, NOW + 5_000).status is RequestStatus.RECEIVED


# --- quotas ---------------------------------------------------------------------------------


def test_hourly_quota():
    gate = RequestGate(config(hourly_quota=3))
    for i in range(3):
        assert gate.decide(fake(now=NOW + i * MIN), NOW + i * MIN).verdict is Verdict.RECEIVED
    over = gate.decide(fake(now=NOW + 10 * MIN), NOW + 10 * MIN)
    assert (over.status, over.retry_after) == (RequestStatus.QUOTA_EXCEEDED, 50 * 60)
    gate.pending.clear()  # decisions do not give quota back: the hour does
    assert gate.decide(fake(now=NOW + 30 * MIN), NOW + 30 * MIN).verdict is Verdict.QUOTA_EXCEEDED
    assert gate.decide(fake(now=NOW + HOUR), NOW + HOUR).verdict is Verdict.RECEIVED


def test_max_pending():
    gate = RequestGate(config(max_pending=2, hourly_quota=100))
    first = fake()
    assert gate.decide(first, NOW).verdict is Verdict.RECEIVED
    assert gate.decide(fake(), NOW).verdict is Verdict.RECEIVED
    full = gate.decide(fake(), NOW)
    assert (full.status, full.retry_after) == (RequestStatus.QUOTA_EXCEEDED, 3600)
    gate.on_decided(first.identity_key, Action.ACCEPT)
    assert gate.decide(fake(), NOW).verdict is Verdict.RECEIVED


# --- block list -----------------------------------------------------------------------------


def _statuses(gate: RequestGate, key: bytes) -> list[tuple[RequestStatus, int]]:
    """The requester's view of a fixed script of attempts."""
    out = []
    for t in (0, 10_000, 70_000, 70_500, 200_000):
        request = fake(key, now=NOW + t)
        out.append(gate.decide(request, NOW + t))
        if t == 70_000:
            out.append(gate.decide(request, NOW + t + 100))  # exact retry
    return [(d.status, d.retry_after) for d in out]


def test_blocked_requester_sees_exactly_what_an_ignored_one_sees():
    key = os.urandom(32)
    normal = _statuses(RequestGate(config()), key)
    gate = RequestGate(config())
    gate.block(key)
    assert _statuses(gate, key) == normal
    assert normal[0] == (RequestStatus.RECEIVED, 0)
    assert gate.pending == set() and len(gate.recent) == 0  # nothing stored, no quota used


def test_blocked_verdict_is_visible_to_the_owner_only():
    key = os.urandom(32)
    gate = RequestGate(config())
    gate.block(key)
    decision = gate.decide(fake(key), NOW)
    assert (decision.verdict, decision.status, decision.store) == (
        Verdict.BLOCKED,
        RequestStatus.RECEIVED,
        None,
    )
    assert decision.reply() == RequestResult(RequestStatus.RECEIVED, 0)
    later = gate.decide(fake(key, now=NOW + 2 * MIN), NOW + 2 * MIN)
    assert (later.verdict, later.status) == (Verdict.BLOCKED, RequestStatus.DUPLICATE)


def test_block_from_pending_then_unblock():
    gate = RequestGate(config())
    first = fake()
    key = first.identity_key
    assert gate.decide(first, NOW).verdict is Verdict.RECEIVED
    gate.on_decided(key, Action.BLOCK)
    assert key not in gate.pending
    again = gate.decide(fake(key, now=NOW + 2 * MIN), NOW + 2 * MIN)
    assert (again.verdict, again.status) == (Verdict.BLOCKED, RequestStatus.DUPLICATE)
    gate.on_decided(key, Action.UNBLOCK)
    back = gate.decide(fake(key, now=NOW + 4 * MIN), NOW + 4 * MIN)
    assert back.verdict is Verdict.RECEIVED and back.store is not None
    gate.block(key)
    gate.unblock(key)
    assert key not in gate.blocked


def test_blocked_requests_still_obey_the_quota_like_everyone():
    gate = RequestGate(config(hourly_quota=1))
    assert gate.decide(fake(), NOW).verdict is Verdict.RECEIVED
    key = os.urandom(32)
    gate.block(key)
    assert gate.decide(fake(key), NOW).status is RequestStatus.QUOTA_EXCEEDED


# --- one-time invites -----------------------------------------------------------------------


def test_one_time_invite_works_once(bob, bob_request):
    gate = RequestGate(config(one_time=True))
    first = gate.check(bob_request, NOW)
    assert first.status is RequestStatus.RECEIVED and first.invite_consumed
    assert gate.invite_used_by == bob.key
    assert gate.check(bob_request, NOW + 1).status is RequestStatus.DUPLICATE  # Bob retrying
    carol = Person("Carol")
    late = gate.check(carol.request(), NOW + 2)
    assert (late.status, late.invite_consumed, late.store) == (
        RequestStatus.INVITE_USED,
        False,
        None,
    )


def test_used_invite_survives_a_restart():
    key = os.urandom(32)
    gate = RequestGate.restore(config(one_time=True), invite_used_by=key)
    assert gate.decide(fake(), NOW).status is RequestStatus.INVITE_USED


# --- restore and memory ---------------------------------------------------------------------


def test_restore_from_the_store():
    pending, blocked_sent, blocked_silent = os.urandom(32), os.urandom(32), os.urandom(32)
    gate = RequestGate.restore(
        config(hourly_quota=2),
        pending=[pending],
        blocked=[blocked_sent, blocked_silent],
        shadow=[blocked_sent],
        recent=[NOW - HOUR + MIN],
    )
    assert gate.decide(fake(pending), NOW).status is RequestStatus.DUPLICATE
    assert gate.decide(fake(blocked_sent), NOW).status is RequestStatus.DUPLICATE
    assert gate.decide(fake(blocked_silent), NOW).status is RequestStatus.RECEIVED
    assert gate.decide(fake(), NOW).status is RequestStatus.RECEIVED
    over = gate.decide(fake(), NOW)
    assert (over.status, over.retry_after) == (RequestStatus.QUOTA_EXCEEDED, 60)


def test_memory_is_bounded_under_100k_distinct_attackers():
    cfg = config(max_tracked=4096, max_seen_stamps=4096, attempt_burst=10**9, attempt_rate=1e9)
    gate = RequestGate(cfg)
    rng = random.Random(1)
    baseline = None
    try:
        for i in range(100_000):
            now = NOW + i * 10  # 100 requests per second for ~17 minutes
            if i == 60_000:  # trace late (tracing is slow), so every live entry is traced
                tracemalloc.start()
            elif i == 80_000:
                baseline = tracemalloc.take_snapshot()
            assert gate.admit(now) is None
            stamp = pow_.encode_stamp(now // MIN, rng.getrandbits(64))
            gate.decide(VerifiedRequest(rng.randbytes(32), b"c", "m", stamp, now), now)
        diff = tracemalloc.take_snapshot().compare_to(baseline, "filename")
        grown = sum(stat.size_diff for stat in diff)
    finally:
        tracemalloc.stop()
    sizes = gate.sizes()
    assert sizes["tracked"] == 4096
    assert sizes["seen"] <= 4096 and sizes["pending"] <= cfg.max_pending
    assert sizes["recent"] <= cfg.hourly_quota and sizes["blocked"] == 0
    assert grown < 64 * 1024, grown  # 20k more attackers cost no memory


def test_seen_stamps_expire_and_are_capped():
    gate = RequestGate(config(max_seen_stamps=3, hourly_quota=100, max_pending=100))
    for i in range(5):
        gate.decide(fake(), NOW + i)
    assert gate.sizes()["seen"] == 3
    gate.decide(fake(now=NOW + 12 * MIN), NOW + 12 * MIN)
    assert gate.sizes()["seen"] == 1  # older stamps could not verify any more


# --- configuration and state model ----------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"beacon": "nope"},
        {"pow_bits": 21},
        {"pow_bits": -1},
        {"hourly_quota": 0},
        {"max_tracked": 0},
        {"attempt_rate": 0},
    ],
)
def test_bad_configuration_is_refused(changes):
    with pytest.raises(ValueError):
        config(**changes)


def test_transition_table():
    P, A, D, B, U = (
        RequestState.PENDING,
        RequestState.ACCEPTED,
        RequestState.DECLINED,
        RequestState.BLOCKED,
        RequestState.UNBLOCKED,
    )
    assert next_state(P, Action.ACCEPT) is A
    assert next_state("pending", "decline") is D
    assert next_state(P, Action.BLOCK) is B
    assert next_state(D, Action.BLOCK) is B
    assert next_state(B, Action.UNBLOCK) is U
    assert next_state(U, Action.BLOCK) is B
    allowed = set(TRANSITIONS)
    for state in RequestState:
        for action in Action:
            if (state, action) not in allowed:
                with pytest.raises(InvalidTransition):
                    next_state(state, action)
    with pytest.raises(InvalidTransition):
        next_state("gone", "accept")
    with pytest.raises(InvalidTransition, match="cannot accept a request that is declined"):
        next_state(D, Action.ACCEPT)


def _fields(record) -> dict:
    return {
        "card": record.card,
        "message": record.message,
        "stamp": record.stamp,
        "sent_at": record.sent_at,
        "signature": record.signature,
    }
