"""Identity keys, static-key binding, fingerprints and safety numbers (core/crypto/identity.py).

Expected values are recomputed here from the documented algorithms (hashlib, PyNaCl's raw
verify) or pinned to RFC vectors, never read back from the module under test.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import VerifyKey

from libra_gui.core.crypto.identity import (
    IdentityKeys,
    constant_time_equal,
    fingerprint,
    format_fingerprint,
    safety_number,
    verify_signature,
    verify_static_key,
)
from libra_gui.core.errors import CryptoError
from libra_gui.core.protocol.card import CARD_DOMAIN

# Literal copies of the wire constants: a silent change in the module must fail these tests.
STATIC_DOMAIN = b"libra/v1/static-key"
FP_DOMAIN = b"libra/v1/fingerprint"

# RFC 8032 §7.1 TEST 1 (Ed25519) and RFC 7748 §6.1 Alice (X25519).
RFC_ED_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_ED_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_ED_SIG_EMPTY = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
RFC_X_SECRET = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
RFC_X_PUBLIC = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")

# Second fixed identity (seeds 00..1f / 20..3f) for the pinned vectors in docs/protocol/card.md.
BOB_SEED, BOB_STATIC = bytes(range(32)), bytes(range(32, 64))
BOB_PUBLIC = bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")

SLOW = settings(max_examples=25, deadline=None)
FAST = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module")
def alice() -> IdentityKeys:
    return IdentityKeys.from_seeds(RFC_ED_SEED, RFC_X_SECRET)


@pytest.fixture(scope="module")
def bob() -> IdentityKeys:
    return IdentityKeys.from_seeds(BOB_SEED, BOB_STATIC)


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def reference_safety_half(key: bytes) -> str:
    """Signal's NumericFingerprintGenerator, written from the description in card.md."""
    h = hashlib.sha512(b"\x00\x01" + key + b"libra/v1/fingerprint").digest()
    for _ in range(5200):
        h = hashlib.sha512(h + key).digest()
    return "".join(f"{int.from_bytes(h[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def reference_safety_number(a: bytes, b: bytes) -> str:
    digits = "".join(sorted([reference_safety_half(a), reference_safety_half(b)]))
    return " ".join(digits[i : i + 5] for i in range(0, 60, 5))


# --- keys ---------------------------------------------------------------------------------


def test_rfc_vectors(alice):
    assert alice.identity_public == RFC_ED_PUBLIC
    assert alice.static_public == RFC_X_PUBLIC
    # sign(domain, data) signs domain || data: empty || empty is RFC 8032's empty message.
    assert alice.sign(b"", b"") == RFC_ED_SIG_EMPTY
    assert IdentityKeys.from_seeds(BOB_SEED, BOB_STATIC).identity_public == BOB_PUBLIC


def test_generate_from_seeds_round_trip():
    keys = IdentityKeys.generate()
    assert len(keys.identity_seed) == len(keys.static_secret) == 32
    assert len(keys.identity_public) == len(keys.static_public) == 32
    again = IdentityKeys.from_seeds(keys.identity_seed, keys.static_secret)
    assert again == keys
    assert again.identity_public == keys.identity_public
    assert again.static_public == keys.static_public
    assert again.static_signature == keys.static_signature  # Ed25519 is deterministic
    assert again.fingerprint == keys.fingerprint


def test_generate_is_random():
    a, b = IdentityKeys.generate(), IdentityKeys.generate()
    assert a.identity_seed != b.identity_seed
    assert a.static_secret != b.static_secret
    assert a.identity_public != b.identity_public
    assert a.static_public != b.static_public


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
@FAST
def test_from_seeds_keeps_seeds(seed, secret):
    keys = IdentityKeys.from_seeds(seed, secret)
    assert keys.identity_seed == seed
    assert keys.static_secret == secret
    assert IdentityKeys.from_seeds(keys.identity_seed, keys.static_secret) == keys


@pytest.mark.parametrize(
    "seed, secret",
    [
        (bytes(31), bytes(32)),
        (bytes(33), bytes(32)),
        (bytes(32), bytes(31)),
        (bytes(32), b""),
        (bytearray(32), bytes(32)),
        ("a" * 32, bytes(32)),
        (bytes(32), None),
    ],
)
def test_from_seeds_rejects_bad_input(seed, secret):
    with pytest.raises(CryptoError):
        IdentityKeys.from_seeds(seed, secret)


def test_repr_never_shows_secrets():
    keys = IdentityKeys.generate()
    for text in (repr(keys), str(keys), f"{keys}", f"{keys!r}"):
        lowered = text.lower()
        for secret in (keys.identity_seed, keys.static_secret):
            assert secret.hex() not in lowered
            assert repr(secret) not in text
            # a single 8-byte window is enough to notice a partial dump
            assert secret[:8].hex() not in lowered


# --- fingerprint --------------------------------------------------------------------------


def test_fingerprint_is_domain_separated_sha256(alice, bob):
    for keys in (alice, bob):
        expected = hashlib.sha256(FP_DOMAIN + keys.identity_public).digest()
        assert fingerprint(keys.identity_public) == expected
        assert keys.fingerprint == expected
        assert expected != hashlib.sha256(keys.identity_public).digest()
    assert alice.fingerprint != bob.fingerprint
    assert alice.fingerprint.hex() == (
        "ec57efca0e4cc6fc19714bdf193556bf47a8354e82794bd3e05f671a294ca6b3"
    )


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
@FAST
def test_fingerprint_differs_per_key(a, b):
    assert (fingerprint(a) == fingerprint(b)) == (a == b)


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), bytes(64), "x" * 32, None])
def test_fingerprint_rejects_bad_key(bad):
    with pytest.raises(CryptoError):
        fingerprint(bad)


def test_format_fingerprint(alice):
    text = format_fingerprint(alice.fingerprint)
    assert re.fullmatch(r"[0-9a-f]{4}( [0-9a-f]{4}){15}", text)
    assert text.replace(" ", "") == alice.fingerprint.hex()
    assert text == "ec57 efca 0e4c c6fc 1971 4bdf 1935 56bf 47a8 354e 8279 4bd3 e05f 671a 294c a6b3"


# --- static key binding -------------------------------------------------------------------


def test_static_signature_verifies(alice, bob):
    for keys in (alice, bob):
        verify_static_key(keys.identity_public, keys.static_public, keys.static_signature)
        # exactly Ed25519 over "libra/v1/static-key" || static public key, nothing else
        VerifyKey(keys.identity_public).verify(
            STATIC_DOMAIN + keys.static_public, keys.static_signature
        )
        assert len(keys.static_signature) == 64


def test_static_signature_fails_for_other_identity_or_key(alice, bob):
    with pytest.raises(CryptoError):
        verify_static_key(bob.identity_public, alice.static_public, alice.static_signature)
    with pytest.raises(CryptoError):
        verify_static_key(alice.identity_public, bob.static_public, alice.static_signature)
    with pytest.raises(CryptoError):  # Bob vouching for Alice's static key is not Alice
        verify_static_key(
            alice.identity_public, alice.static_public, bob.sign(STATIC_DOMAIN, alice.static_public)
        )
    with pytest.raises(CryptoError):  # same key, same identity, wrong domain
        verify_static_key(
            alice.identity_public, alice.static_public, alice.sign(CARD_DOMAIN, alice.static_public)
        )
    with pytest.raises(CryptoError):  # no domain at all
        verify_static_key(
            alice.identity_public,
            alice.static_public,
            alice.signing_key.sign(alice.static_public).signature,
        )


@pytest.mark.parametrize("bit", [0, 7, 100, 255, 256, 300, 511])
def test_static_signature_flipped_bit(alice, bit):
    ident, static, sig = alice.identity_public, alice.static_public, alice.static_signature
    with pytest.raises(CryptoError):
        verify_static_key(ident, static, flip(sig, bit))
    if bit < 256:
        with pytest.raises(CryptoError):
            verify_static_key(ident, flip(static, bit), sig)
        with pytest.raises(CryptoError):
            verify_static_key(flip(ident, bit), static, sig)


BAD_LENGTHS = [0, 1, 31, 33, 63, 65, 128]


@pytest.mark.parametrize("n", BAD_LENGTHS)
def test_static_signature_wrong_lengths(alice, n):
    ident, static, sig = alice.identity_public, alice.static_public, alice.static_signature
    if n != 64:
        with pytest.raises(CryptoError):
            verify_static_key(ident, static, (sig * 3)[:n])
    if n != 32:
        with pytest.raises(CryptoError):
            verify_static_key((ident * 5)[:n], static, sig)
        with pytest.raises(CryptoError):
            verify_static_key(ident, (static * 5)[:n], sig)


@pytest.mark.parametrize("kind", [str, bytearray, memoryview, list, type(None)])
def test_static_signature_wrong_types(alice, kind):
    def conv(b: bytes) -> object:
        if kind is str:
            return b.hex()[: len(b)]
        return None if kind is type(None) else kind(b)

    ident, static, sig = alice.identity_public, alice.static_public, alice.static_signature
    for args in (
        (conv(ident), static, sig),
        (ident, conv(static), sig),
        (ident, static, conv(sig)),
    ):
        with pytest.raises(CryptoError):
            verify_static_key(*args)


@pytest.mark.parametrize(
    "ident",
    [bytes(32), b"\xff" * 32, bytes([1]) + bytes(31)],  # zero, non-canonical, small order
)
def test_degenerate_identity_keys_fail_cleanly(alice, ident):
    with pytest.raises(CryptoError):
        verify_static_key(ident, alice.static_public, alice.static_signature)
    with pytest.raises(CryptoError):
        verify_static_key(ident, alice.static_public, bytes(64))


@given(
    st.binary(min_size=0, max_size=40),
    st.binary(min_size=0, max_size=40),
    st.binary(min_size=0, max_size=70),
)
@FAST
def test_verify_static_key_only_raises_crypto_error(ident, static, sig):
    try:
        verify_static_key(ident, static, sig)
    except CryptoError:
        return
    raise AssertionError("random bytes verified")  # pragma: no cover


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
@FAST
def test_random_right_length_signature_fails(alice, ident, sig):
    with pytest.raises(CryptoError):
        verify_static_key(ident, alice.static_public, sig)


# --- sign / verify_signature --------------------------------------------------------------


def test_sign_verify_round_trip_and_domain_separation(alice, bob):
    data = b"some payload"
    sig = alice.sign(b"libra/test/a", data)
    verify_signature(alice.identity_public, b"libra/test/a", data, sig)
    VerifyKey(alice.identity_public).verify(b"libra/test/a" + data, sig)
    with pytest.raises(CryptoError):
        verify_signature(alice.identity_public, b"libra/test/b", data, sig)
    with pytest.raises(CryptoError):
        verify_signature(alice.identity_public, b"", data, sig)
    with pytest.raises(CryptoError):
        verify_signature(alice.identity_public, b"libra/test/a", data + b"!", sig)
    with pytest.raises(CryptoError):
        verify_signature(bob.identity_public, b"libra/test/a", data, sig)
    # the two real signing domains do not accept each other's signatures
    card_sig = alice.sign(CARD_DOMAIN, alice.static_public)
    with pytest.raises(CryptoError):
        verify_signature(alice.identity_public, STATIC_DOMAIN, alice.static_public, card_sig)
    with pytest.raises(CryptoError):
        verify_signature(
            alice.identity_public, CARD_DOMAIN, alice.static_public, alice.static_signature
        )


def test_signing_domains_are_prefix_free():
    """Plain concatenation is only unambiguous if no domain is a prefix of another."""
    domains = [STATIC_DOMAIN, CARD_DOMAIN]
    for a in domains:
        for b in domains:
            assert a == b or not b.startswith(a)


@pytest.mark.parametrize(
    "ident, sig", [(bytes(31), bytes(64)), (bytes(32), bytes(63)), (None, None)]
)
def test_verify_signature_bad_lengths(ident, sig):
    with pytest.raises(CryptoError):
        verify_signature(ident, b"d", b"x", sig)


def test_constant_time_equal():
    assert constant_time_equal(b"abc", b"abc")
    assert not constant_time_equal(b"abc", b"abd")
    assert not constant_time_equal(b"abc", b"ab")


# --- safety number ------------------------------------------------------------------------


def test_safety_number_shape_and_symmetry(alice, bob):
    sn = safety_number(alice.identity_public, bob.identity_public)
    assert sn == safety_number(bob.identity_public, alice.identity_public)
    assert re.fullmatch(r"\d{5}( \d{5}){11}", sn)
    assert len(sn.replace(" ", "")) == 60


def test_safety_number_matches_reference(alice, bob):
    expected = "54040 49304 84917 92008 74593 56542 82434 93726 47704 97536 12734 08211"
    assert reference_safety_number(alice.identity_public, bob.identity_public) == expected
    assert safety_number(alice.identity_public, bob.identity_public) == expected


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
@SLOW
def test_safety_number_reference_property(a, b):
    assert safety_number(a, b) == reference_safety_number(a, b) == safety_number(b, a)


def test_safety_number_changes_with_either_key(alice, bob):
    carol = IdentityKeys.generate()
    ab = safety_number(alice.identity_public, bob.identity_public)
    assert safety_number(alice.identity_public, carol.identity_public) != ab
    assert safety_number(carol.identity_public, bob.identity_public) != ab
    assert safety_number(flip(alice.identity_public, 0), bob.identity_public) != ab
    assert safety_number(alice.identity_public, flip(bob.identity_public, 255)) != ab
    # each side's 30 digits depend on that side's key only: changing one key keeps one half
    halves = {ab.replace(" ", "")[:30], ab.replace(" ", "")[30:]}
    ac = safety_number(alice.identity_public, carol.identity_public).replace(" ", "")
    assert len(halves & {ac[:30], ac[30:]}) == 1


def test_safety_number_ignores_static_key(alice):
    other_static = IdentityKeys.from_seeds(alice.identity_seed, bytes(range(32)))
    peer = IdentityKeys.generate().identity_public
    assert safety_number(alice.identity_public, peer) == safety_number(
        other_static.identity_public, peer
    )


@pytest.mark.parametrize("bad", [bytes(31), bytes(33), b"", "k" * 32, None])
def test_safety_number_rejects_bad_keys(alice, bad):
    with pytest.raises(CryptoError):
        safety_number(alice.identity_public, bad)
    with pytest.raises(CryptoError):
        safety_number(bad, alice.identity_public)
