"""Proof-of-work stamps: solve/verify, context binding, time window, difficulty, fuzzing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_pwhash_alg, crypto_pwhash_ALG_ARGON2ID13
from nacl.signing import SigningKey

from libra_gui.core.crypto import pow as pow_
from libra_gui.core.crypto.onion import onion_address
from libra_gui.core.crypto.pow import (
    BadStamp,
    PowContext,
    PowExhausted,
    StaleStamp,
    decode_stamp,
    encode_stamp,
    leading_zero_bits,
    solve,
    verify,
)
from libra_gui.core.errors import ProtocolError

BEACON = onion_address(bytes(SigningKey(hashlib.sha256(b"beacon").digest()).verify_key))
OTHER_BEACON = onion_address(bytes(SigningKey(hashlib.sha256(b"other").digest()).verify_key))
ALICE = b"A" * 32
BOB = b"B" * 32
NOW = 1_700_000_000_000  # ms
BITS = 6  # ~64 evaluations: fast, yet random stamps fail with probability 63/64


@pytest.fixture(scope="module")
def stamp() -> bytes:
    return solve(PowContext(BEACON, ALICE), BITS, NOW)


def test_construction_matches_the_spec(stamp):
    """The digest is Argon2id(t=1, m=256 KiB) of the documented 124-byte input."""
    minute, nonce = decode_stamp(stamp)
    assert minute == NOW // 60_000
    data = b"libra/v1/request-pow" + BEACON.encode() + ALICE + minute.to_bytes(8, "big")
    data += nonce.to_bytes(8, "big")
    assert len(data) == 124
    digest = crypto_pwhash_alg(
        32, data, b"libra/v1/pow\0\0\0\0", 1, 256 * 1024, crypto_pwhash_ALG_ARGON2ID13
    )
    assert digest == pow_.pow_hash(PowContext(BEACON, ALICE), minute, nonce)
    assert leading_zero_bits(digest) >= BITS
    assert stamp == minute.to_bytes(8, "big") + nonce.to_bytes(8, "big")


def test_solved_stamp_verifies(stamp):
    verify(stamp, PowContext(BEACON, ALICE), BITS, NOW)
    verify(stamp, PowContext(BEACON + ".onion", ALICE), BITS, NOW)  # normalised context
    verify(stamp, PowContext(BEACON.upper(), ALICE), BITS, NOW)
    verify(stamp, PowContext(BEACON, ALICE), 0, NOW)  # any lower difficulty too


def test_wrong_beacon_or_requester_fails(stamp):
    hits = 0
    for ctx in (PowContext(OTHER_BEACON, ALICE), PowContext(BEACON, BOB)):
        try:
            verify(stamp, ctx, BITS, NOW)
        except BadStamp as exc:
            assert not isinstance(exc, StaleStamp)
            hits += 1
    # each passes by chance with probability 2^-6; both at once 2^-12
    assert hits >= 1


def test_wrong_context_fails_reliably():
    """Over many stamps, a foreign context passes only at the 2^-bits chance rate."""
    passed = 0
    for i in range(8):
        stamp = solve(PowContext(BEACON, bytes([i]) * 32), BITS, NOW)
        try:
            verify(stamp, PowContext(BEACON, bytes([i + 100]) * 32), BITS, NOW)
            passed += 1
        except BadStamp:
            pass
    assert passed <= 2


def test_time_window(stamp):
    ctx = PowContext(BEACON, ALICE)
    minute = 60_000
    base = (NOW // minute) * minute
    verify(stamp, ctx, BITS, base + 10 * minute)  # 10 minutes later: still fine
    verify(stamp, ctx, BITS, base - 10 * minute)  # verifier clock 10 minutes behind
    for now in (base + 11 * minute, base - 11 * minute, 0, 2**50):
        with pytest.raises(StaleStamp):
            verify(stamp, ctx, BITS, now)
    verify(stamp, ctx, BITS, base + 20 * minute, window_minutes=20)
    with pytest.raises(StaleStamp):
        verify(stamp, ctx, BITS, base + minute, window_minutes=0)


def test_stale_stamp_is_a_bad_stamp_and_a_protocol_error():
    assert issubclass(StaleStamp, BadStamp) and issubclass(BadStamp, ProtocolError)


def test_higher_difficulty_fails(stamp):
    ctx = PowContext(BEACON, ALICE)
    minute, nonce = decode_stamp(stamp)
    zeros = leading_zero_bits(pow_.pow_hash(ctx, minute, nonce))
    if zeros < pow_.MAX_BITS:
        with pytest.raises(BadStamp):
            verify(stamp, ctx, zeros + 1, NOW)
    verify(stamp, ctx, min(zeros, pow_.MAX_BITS), NOW)


def test_zero_bits_accepts_any_well_formed_stamp_in_the_window():
    verify(encode_stamp(NOW // 60_000, 12345), PowContext(BEACON, ALICE), 0, NOW)


def test_the_nonce_matters():
    ctx = PowContext(BEACON, ALICE)
    minute = NOW // 60_000
    bad = next(n for n in range(100) if leading_zero_bits(pow_.pow_hash(ctx, minute, n)) < 4)
    with pytest.raises(BadStamp):
        verify(encode_stamp(minute, bad), ctx, 4, NOW)


@pytest.mark.parametrize("stamp", [b"", b"x" * 15, b"x" * 17, bytearray(16), "x" * 16, None])
def test_malformed_stamps(stamp):
    with pytest.raises(BadStamp):
        verify(stamp, PowContext(BEACON, ALICE), 0, NOW)


@pytest.mark.parametrize("bits", [-1, 21, 256, True, 1.0])
def test_difficulty_out_of_range_is_a_caller_bug(bits):
    with pytest.raises(ValueError):
        verify(encode_stamp(0, 0), PowContext(BEACON, ALICE), bits, NOW)
    with pytest.raises(ValueError):
        solve(PowContext(BEACON, ALICE), bits, NOW)


@pytest.mark.parametrize(
    ("beacon", "requester"),
    [
        ("not an onion", ALICE),
        (BEACON[:-1], ALICE),
        (BEACON, b"short"),
        (BEACON, "A" * 32),
        (None, ALICE),
    ],
)
def test_bad_context_is_refused(beacon, requester):
    with pytest.raises(BadStamp):
        PowContext(beacon, requester)


def test_iteration_cap_and_cancel():
    ctx = PowContext(BEACON, ALICE)
    with pytest.raises(PowExhausted):
        solve(ctx, 20, NOW, max_iterations=3)
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(PowExhausted, match="cancelled"):
        solve(ctx, 20, NOW, cancelled=cancelled)
    assert len(calls) == 3


def test_split_search_space_finds_stamps_with_distinct_nonces():
    ctx = PowContext(BEACON, BOB)
    a = solve(ctx, 3, NOW, start=0, step=2)
    b = solve(ctx, 3, NOW, start=1, step=2)
    assert decode_stamp(a)[1] % 2 == 0 and decode_stamp(b)[1] % 2 == 1
    verify(a, ctx, 3, NOW)
    verify(b, ctx, 3, NOW)
    with pytest.raises(ValueError):
        solve(ctx, 3, NOW, step=0)


def test_leading_zero_bits():
    assert leading_zero_bits(bytes(32)) == 256
    assert leading_zero_bits(b"\x80" + bytes(31)) == 0
    assert leading_zero_bits(b"\x00\x01" + bytes(30)) == 15


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stamp=st.one_of(
        st.binary(min_size=16, max_size=16),
        st.binary(max_size=40),
        st.builds(
            encode_stamp,
            st.integers(NOW // 60_000 - 12, NOW // 60_000 + 12),
            st.integers(0, 2**64 - 1),
        ),
    ),
    bits=st.integers(0, 20),
    now=st.one_of(st.just(NOW), st.integers(0, 2**53)),
    requester=st.binary(min_size=32, max_size=32),
)
def test_fuzz_verify_raises_only_bad_stamp(stamp, bits, now, requester):
    """Random stamps never crash verify; they pass only when they really meet the target."""
    ctx = PowContext(BEACON, requester)
    try:
        verify(stamp, ctx, bits, now)
    except BadStamp:
        return
    minute, nonce = decode_stamp(stamp)
    assert abs(minute - now // 60_000) <= pow_.WINDOW_MINUTES
    assert leading_zero_bits(pow_.pow_hash(ctx, minute, nonce)) >= bits
