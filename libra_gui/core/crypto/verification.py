"""SPAKE2 (RFC 9382) over edwards25519 for the shared-secret question check.

Two people who know the same answer to a question learn *that* they do and nothing else; a
wrong answer reveals only "not equal", and whoever is on the other end gets exactly one guess
per run (the PAKE property: no offline dictionary attack on a transcript). Group operations
are libsodium's constant-time edwards25519 functions (via PyNaCl), which also reject any point
that is not canonical, is of small order or lies outside the prime-order subgroup.

Ciphersuite: SPAKE2-edwards25519-SHA256-HKDF-HMAC-SHA256 with RFC 9382's M and N (the test
suite re-derives both from their published seeds). Deviations from the RFC are choices the RFC
leaves to the application and are spelled out in docs/verification.md: how ``w`` is derived
from the answer, what the identities A and B are, and the AAD.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as sodium
from nacl.exceptions import CryptoError as NaclCryptoError

from ..errors import CryptoError

POINT_LEN = 32
SCALAR_LEN = 32
MAC_LEN = 32
ORDER = 2**252 + 27742317777372353535851937790883648493
"""Order L of the edwards25519 prime-order subgroup (RFC 8032)."""
COFACTOR = 8

M = bytes.fromhex("d048032c6ea0b6d697ddc2e86bda85a33adac920f1bf18e1b0c6d166a5cecdaf")
"""RFC 9382 §6: first point with seed 'edwards25519 point generation seed (M)'."""
N = bytes.fromhex("d3bfb518f44f3430f29d0c92af503865a1ed3281dc69b35dd868ba85f886c4ab")
"""RFC 9382 §6: first point with seed 'edwards25519 point generation seed (N)'."""

ANSWER_DOMAIN = b"libra/v1/verify/answer"
MAX_ANSWER_CHARS = 256

Role = Literal["A", "B"]
RandomBytes = Callable[[int], bytes]


class VerificationCryptoError(CryptoError):
    """A peer's share is not a valid group element, or the exchange degenerated."""


def normalize_answer(answer: str) -> str:
    """The form two people's answers are compared in: NFKC, case-folded, whitespace collapsed.

    So "  Paris ", "PARIS" and "Paris" in full-width letters match; "Pariss" does not. Raises
    ValueError for an answer that is empty after normalisation or unreasonably long.
    """
    if not isinstance(answer, str):
        raise TypeError("answer must be text")
    text = unicodedata.normalize("NFKC", answer)
    text = unicodedata.normalize("NFKC", text.casefold())  # casefold can denormalise
    text = " ".join(text.split())
    if not text:
        raise ValueError("the answer is empty")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the answer is not valid Unicode text") from None
    return text


def password_scalar(answer: str) -> int:
    """w = SHA-512(domain || normalised answer) mod L: 512 bits reduced, bias < 2^-259."""
    data = ANSWER_DOMAIN + normalize_answer(answer).encode("utf-8")
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % ORDER


def _lp(data: bytes) -> bytes:
    """RFC 9382 §3.2 length prefix: 8-byte little-endian length, then the bytes."""
    return struct.pack("<Q", len(data)) + data


@dataclass(frozen=True)
class KeySchedule:
    """RFC 9382 §4 outputs for one transcript (Ke is unused here: we only confirm)."""

    transcript: bytes = field(repr=False)
    ke: bytes = field(repr=False)
    ka: bytes = field(repr=False)
    kc_a: bytes = field(repr=False)
    kc_b: bytes = field(repr=False)
    mac_a: bytes = field(repr=False)
    mac_b: bytes = field(repr=False)


def key_schedule(
    id_a: bytes, id_b: bytes, share_a: bytes, share_b: bytes, k: bytes, w: bytes, aad: bytes
) -> KeySchedule:
    """TT, Ke||Ka = SHA-256(TT), KcA||KcB = HKDF(Ka, nil, "ConfirmationKeys"||AAD), MACs.

    Group-agnostic on purpose: the RFC's P-256 test vector checks it byte for byte.
    ``w`` is the scalar as a big-endian number padded to the group order's length.
    """
    tt = _lp(id_a) + _lp(id_b) + _lp(share_a) + _lp(share_b) + _lp(k) + _lp(w)
    digest = hashlib.sha256(tt).digest()
    ke, ka = digest[:16], digest[16:]
    kc = HKDF(hashes.SHA256(), 32, None, b"ConfirmationKeys" + aad).derive(ka)
    kc_a, kc_b = kc[:16], kc[16:]
    return KeySchedule(
        transcript=tt,
        ke=ke,
        ka=ka,
        kc_a=kc_a,
        kc_b=kc_b,
        mac_a=hmac.new(kc_a, tt, hashlib.sha256).digest(),
        mac_b=hmac.new(kc_b, tt, hashlib.sha256).digest(),
    )


def _scalar(value: int) -> bytes:
    return (value % ORDER).to_bytes(SCALAR_LEN, "little")


def random_scalar(random: RandomBytes = secrets.token_bytes) -> int:
    """Uniform in [1, L): 64 random bytes reduced mod L (zero is re-drawn)."""
    while True:
        value = int.from_bytes(random(64), "little") % ORDER
        if value:
            return value


def is_valid_share(point: bytes) -> bool:
    """Canonical encoding of a point in the prime-order subgroup, not of small order."""
    return (
        type(point) is bytes
        and len(point) == POINT_LEN
        and bool(sodium.crypto_core_ed25519_is_valid_point(point))
    )


class Spake2:
    """One side of one SPAKE2 exchange. ``A`` is the asker, ``B`` the answerer.

    ``id_a``/``id_b`` are the identities as both sides must see them (our binding: every
    long-term key of each party, see docs/verification.md); a relay between two different
    pairs of identities therefore derives different keys on each leg.
    """

    __slots__ = ("_aad", "_done", "_id_a", "_id_b", "_role", "_w", "_x", "share")

    def __init__(
        self,
        role: Role,
        w: int,
        id_a: bytes,
        id_b: bytes,
        aad: bytes,
        *,
        random: RandomBytes = secrets.token_bytes,
        x: int | None = None,
    ) -> None:
        if role not in ("A", "B"):
            raise ValueError("role must be 'A' or 'B'")
        self._role: Role = role
        self._w = w % ORDER
        self._id_a, self._id_b, self._aad = id_a, id_b, aad
        self._x = random_scalar(random) if x is None else x % ORDER
        self._done = False
        blind = M if role == "A" else N
        try:
            public = sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(self._x))
            mask = sodium.crypto_scalarmult_ed25519_noclamp(_scalar(self._w), blind)
            self.share: bytes = sodium.crypto_core_ed25519_add(public, mask)
        except NaclCryptoError:  # w == 0 or x == 0: probability ~2^-252
            raise VerificationCryptoError("degenerate SPAKE2 scalar") from None

    def finish(self, peer_share: bytes) -> KeySchedule:
        """K = h*x*(peer - w*blind) and the key schedule; once per instance.

        Raises VerificationCryptoError if the peer's share is not a valid element or K is
        the identity (a peer who sent exactly w*M learns only what one guess tells it).
        """
        if self._done:
            raise VerificationCryptoError("this SPAKE2 exchange is already finished")
        self._done = True
        if not is_valid_share(peer_share):
            raise VerificationCryptoError("the peer's SPAKE2 share is not a valid point")
        blind = N if self._role == "A" else M
        try:
            mask = sodium.crypto_scalarmult_ed25519_noclamp(_scalar(self._w), blind)
            unblinded = sodium.crypto_core_ed25519_sub(peer_share, mask)
            k = sodium.crypto_scalarmult_ed25519_noclamp(_scalar(COFACTOR * self._x), unblinded)
        except NaclCryptoError:
            raise VerificationCryptoError("SPAKE2 produced no usable shared point") from None
        share_a, share_b = (
            (self.share, peer_share) if self._role == "A" else (peer_share, self.share)
        )
        w_be = self._w.to_bytes(SCALAR_LEN, "big")
        return key_schedule(self._id_a, self._id_b, share_a, share_b, k, w_be, self._aad)


def macs_equal(expected: bytes, received: bytes) -> bool:
    """Constant-time comparison of a confirmation MAC."""
    return hmac.compare_digest(expected, received)
