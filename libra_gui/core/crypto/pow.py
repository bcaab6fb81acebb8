"""Proof-of-work stamps for contact requests: make every request cost the sender real work.

A stamp is bound to its context, so it cannot be replayed elsewhere: the beacon it is for,
the requester's identity key and the minute it was made. Valid iff

    Argon2id(POW_DOMAIN || beacon || requester || minute || nonce) has >= ``bits`` leading
    zero bits

Why Argon2id rather than SHA-256: a Python client hashing SHA-256 in a loop runs ~1.5 M/s on
this machine while native code does 10-20x that on the same CPU and a GPU ~10^4x, so the user
would pay far more than an attacker. One Argon2id evaluation (256 KiB, 1 pass) is a single
native call of ~0.15-0.3 ms, so our solver runs at native speed, and the memory traffic per guess
blunts GPUs. Verification is still O(1): one evaluation, whatever the difficulty.

Pure: time is a parameter (``now_ms``); see docs/protocol/requests.md §3 for the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nacl.bindings import crypto_pwhash_alg, crypto_pwhash_ALG_ARGON2ID13

from ..errors import LibraError, ProtocolError
from .identity import KEY_LEN
from .onion import ONION_ADDRESS_LEN, OnionKeyError, normalize_onion_address

POW_DOMAIN = b"libra/v1/request-pow"
POW_SALT = b"libra/v1/pow\x00\x00\x00\x00"
"""Argon2id salt (16 bytes, fixed): uniqueness comes from the context in the password."""
ARGON2_OPSLIMIT = 1
ARGON2_MEMLIMIT = 256 * 1024
HASH_LEN = 32
STAMP_LEN = 16
"""minute (u64 big-endian) || nonce (u64 big-endian)."""
DEFAULT_BITS = 12
"""4096 evaluations on average: ~0.65 s mean, ~1.6 s p90 on one core here (docs §3)."""
MIN_BITS = 0
MAX_BITS = 20
"""Highest difficulty a requester accepts from a beacon (~5 min here): bounds hostile asks."""
WINDOW_MINUTES = 10
"""A stamp's minute may differ from the verifier's by at most this much (clock skew)."""
MINUTE_MS = 60_000
_U64 = 2**64
_CHECK_EVERY = 16


class BadStamp(ProtocolError):
    """A proof-of-work stamp that is malformed, too weak or made for another context."""


class StaleStamp(BadStamp):
    """A stamp whose minute is outside the verifier's window (wrong clock or too old)."""


class PowExhausted(LibraError):
    """``solve`` hit its iteration cap or was cancelled before finding a stamp."""


@dataclass(frozen=True, slots=True)
class PowContext:
    """What a stamp is bound to: the beacon's onion address and the requester's identity key."""

    beacon: str
    requester: bytes

    def __post_init__(self) -> None:
        try:
            beacon = normalize_onion_address(self.beacon)
        except (OnionKeyError, TypeError, AttributeError):
            raise BadStamp("proof-of-work context: not a v3 onion address") from None
        if type(self.requester) is not bytes or len(self.requester) != KEY_LEN:
            raise BadStamp(f"proof-of-work context: requester key must be {KEY_LEN} bytes")
        object.__setattr__(self, "beacon", beacon)

    def prefix(self, minute: int) -> bytes:
        """Everything hashed before the nonce (fixed length: 20 + 56 + 32 + 8 = 116 bytes)."""
        assert len(self.beacon) == ONION_ADDRESS_LEN
        return POW_DOMAIN + self.beacon.encode("ascii") + self.requester + minute.to_bytes(8, "big")


def minute_of(now_ms: int) -> int:
    """The stamp minute for a wall-clock time in ms since the Unix epoch."""
    return now_ms // MINUTE_MS


def encode_stamp(minute: int, nonce: int) -> bytes:
    return minute.to_bytes(8, "big") + nonce.to_bytes(8, "big")


def decode_stamp(stamp: bytes) -> tuple[int, int]:
    """``(minute, nonce)`` of a stamp; BadStamp if it is not exactly 16 bytes."""
    if type(stamp) is not bytes or len(stamp) != STAMP_LEN:
        raise BadStamp(f"proof-of-work stamp must be {STAMP_LEN} bytes")
    return int.from_bytes(stamp[:8], "big"), int.from_bytes(stamp[8:], "big")


def _check_bits(bits: int) -> None:
    if type(bits) is not int or not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"difficulty must be an integer in [{MIN_BITS}, {MAX_BITS}]")


def _digest(prefix: bytes, nonce: int) -> bytes:
    return crypto_pwhash_alg(
        HASH_LEN,
        prefix + nonce.to_bytes(8, "big"),
        POW_SALT,
        ARGON2_OPSLIMIT,
        ARGON2_MEMLIMIT,
        crypto_pwhash_ALG_ARGON2ID13,
    )


def pow_hash(context: PowContext, minute: int, nonce: int) -> bytes:
    """The 32-byte Argon2id output a stamp is judged by (exposed for tests and docs)."""
    return _digest(context.prefix(minute), nonce)


def leading_zero_bits(digest: bytes) -> int:
    return len(digest) * 8 - int.from_bytes(digest, "big").bit_length()


def solve(
    context: PowContext,
    bits: int,
    now_ms: int,
    *,
    start: int = 0,
    step: int = 1,
    max_iterations: int | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> bytes:
    """Find a stamp for ``context`` at ``bits`` for the minute of ``now_ms``.

    Tries nonces ``start, start + step, ...`` (so ``step`` workers can split the space).
    ``max_iterations`` caps the work (default: 64 x the expected count, failure odds e^-64);
    ``cancelled`` is polled every few tries (a deadline: ``lambda: clock() > deadline``).
    Raises PowExhausted when either stops it. Expected work: 2^bits evaluations.
    """
    _check_bits(bits)
    if not 0 <= start < _U64 or step < 1:
        raise ValueError("start must be a u64 and step >= 1")
    minute = minute_of(now_ms)
    prefix = context.prefix(minute)
    cap = 64 << bits if max_iterations is None else max_iterations
    nonce = start
    for i in range(cap):
        if i % _CHECK_EVERY == 0 and cancelled is not None and cancelled():
            raise PowExhausted("proof of work cancelled")
        if leading_zero_bits(_digest(prefix, nonce)) >= bits:
            return encode_stamp(minute, nonce)
        nonce = (nonce + step) % _U64
    raise PowExhausted(f"no proof-of-work stamp found in {cap} tries")


def verify(
    stamp: bytes,
    context: PowContext,
    bits: int,
    now_ms: int,
    *,
    window_minutes: int = WINDOW_MINUTES,
) -> None:
    """Accept a stamp or raise BadStamp (StaleStamp for a minute outside the window).

    One Argon2id evaluation at most, whatever ``bits``: checks the cheap things first.
    """
    _check_bits(bits)
    minute, nonce = decode_stamp(stamp)
    if abs(minute - minute_of(now_ms)) > window_minutes:
        raise StaleStamp("proof-of-work stamp is outside the time window (check the clock)")
    if leading_zero_bits(_digest(context.prefix(minute), nonce)) < bits:
        raise BadStamp("proof-of-work stamp does not meet the difficulty for this context")
