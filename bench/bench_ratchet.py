"""Ratchet throughput through Libra's wrapper vs raw XChaCha20-Poly1305, in the same run.

Rows (msg/s are encrypt + decrypt round trips of one 200-byte message):

* one direction: one sender streams to one receiver (symmetric ratchet only);
* alternating: the direction flips every message, so every message carries a DH ratchet
  step (a new X25519 key pair and two DH operations) - the worst case;
* persisted: one direction, but each side loads its session from bytes before and saves it
  after every message, as Libra does;
* save+load: what that persistence costs per step (pickle + unpickle of one session);
* wrapper overhead: the same round trips on bare vodozemac objects, to show what the
  wrapper's checks (canonical encoding, pre-key header, snapshot/rollback on a new chain) cost.

The main baseline is the bare AEAD a ratchet ultimately calls (random 24-byte nonce per
message), so the gap shows the price of forward secrecy + break-in recovery + Olm framing.
For the record, the pure-Python `doubleratchet` package measured ~8,500 msg/s one direction
and ~3,200 msg/s alternating on the same machine (not a dependency, so not run here).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import vodozemac
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

from libra_gui.core.crypto.ratchet import RatchetAccount, RatchetSession

PAYLOAD_LEN = 200
GOAL_MSGS = 20_000
PICKLE_KEY = bytes(range(32))


Step = Callable[[], object]


def _rates(a: Step, b: Step, seconds: float) -> tuple[float, float]:
    """Calls per second of ``a`` and ``b``, measured in interleaved bursts of 50 calls for
    about ``seconds`` in total, so machine noise hits both alike."""
    for _ in range(20):  # warm-up
        a()
        b()
    time_a = time_b = 0.0
    done = 0
    deadline = time.perf_counter() + seconds
    while done < 200 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(50):
            a()
        t1 = time.perf_counter()
        for _ in range(50):
            b()
        time_b += time.perf_counter() - t1
        time_a += t1 - t0
        done += 50
    return done / time_a, done / time_b


def _payloads() -> list[bytes]:
    return [os.urandom(PAYLOAD_LEN) for _ in range(64)]


def _wrapper_pair() -> tuple[RatchetSession, RatchetSession]:
    alice, bob = RatchetAccount.generate(), RatchetAccount.generate()
    a = RatchetSession.initiate(alice, bob.identity_key, bob.new_one_time_key())
    b, _ = RatchetSession.accept(bob, alice.identity_key, a.encrypt(b"hello"))
    # a few turns so both sides hold several chains, as in a real conversation
    for _ in range(6):
        a.decrypt(b.encrypt(b"reply"))
        b.decrypt(a.encrypt(b"again"))
    return a, b


def _raw_pair() -> tuple[vodozemac.Session, vodozemac.Session]:
    alice, bob = vodozemac.Account(), vodozemac.Account()
    bob.generate_one_time_keys(1)
    otk = next(iter(bob.one_time_keys.values()))
    bob.mark_keys_as_published()
    a = alice.create_outbound_session(bob.curve25519_key, otk)
    b, _ = bob.create_inbound_session(alice.curve25519_key, a.encrypt(b"hello").to_pre_key())
    for _ in range(6):
        a.decrypt(b.encrypt(b"reply"))
        b.decrypt(a.encrypt(b"again"))
    return a, b


def _round_trips(a: object, b: object, alternate: bool) -> Step:
    """One message per call, a -> b (or flipping direction every call), checked."""
    payloads, i = _payloads(), 0

    def step() -> None:
        nonlocal i
        i += 1
        msg = payloads[i & 63]
        sender, receiver = (b, a) if alternate and i & 1 else (a, b)
        assert receiver.decrypt(sender.encrypt(msg)) == msg

    return step


def _aead(size: int) -> Step:
    key, payloads, i = os.urandom(32), [os.urandom(size) for _ in range(64)], 0

    def step() -> None:
        nonlocal i
        i += 1
        msg = payloads[i & 63]
        nonce = os.urandom(24)
        ct = crypto_aead_xchacha20poly1305_ietf_encrypt(msg, None, nonce, key)
        assert crypto_aead_xchacha20poly1305_ietf_decrypt(ct, None, nonce, key) == msg

    return step


def _persisted() -> Step:
    a, b = _wrapper_pair()
    saved = {"a": a.to_bytes(PICKLE_KEY), "b": b.to_bytes(PICKLE_KEY)}
    payloads, i = _payloads(), 0

    def step() -> None:
        nonlocal i
        i += 1
        msg = payloads[i & 63]
        sender = RatchetSession.from_bytes(saved["a"], PICKLE_KEY)
        envelope = sender.encrypt(msg)
        saved["a"] = sender.to_bytes(PICKLE_KEY)
        receiver = RatchetSession.from_bytes(saved["b"], PICKLE_KEY)
        assert receiver.decrypt(envelope) == msg
        saved["b"] = receiver.to_bytes(PICKLE_KEY)

    return step


def run(quick: bool = False) -> list[dict]:
    """Measure every row; about 8 s in full, about 1 s with quick=True."""
    t = 0.12 if quick else 1.0
    aead_name = "raw XChaCha20-Poly1305 (PyNaCl) encrypt+decrypt, 200 B"
    wa, wb = _wrapper_pair()
    ra, rb = _raw_pair()
    one, aead = _rates(_round_trips(wa, wb, alternate=False), _aead(PAYLOAD_LEN), t)
    alt, aead_alt = _rates(_round_trips(wa, wb, alternate=True), _aead(PAYLOAD_LEN), t)
    persisted, aead_p = _rates(_persisted(), _aead(PAYLOAD_LEN), t)
    size = len(wb.to_bytes(PICKLE_KEY))
    save_load, aead_blob = _rates(
        lambda: RatchetSession.from_bytes(wb.to_bytes(PICKLE_KEY), PICKLE_KEY), _aead(size), t
    )
    one_w, one_raw = _rates(
        _round_trips(wa, wb, alternate=False), _round_trips(ra, rb, alternate=False), t
    )
    alt_w, alt_raw = _rates(
        _round_trips(wa, wb, alternate=True), _round_trips(ra, rb, alternate=True), t
    )

    def row(name: str, unit: str, libra: float, base: float, base_name: str, goal: str) -> dict:
        digits = 1 if unit == "us/step" else None
        return {
            "name": name,
            "unit": unit,
            "libra": round(libra, digits),
            "baseline": round(base, digits),
            "baseline_name": base_name,
            "goal": goal,
        }

    raw_name = "bare vodozemac Session.encrypt/decrypt, same pattern"
    return [
        row(
            "ratchet round trip, one direction (200 B)",
            "msg/s",
            one,
            aead,
            aead_name,
            f">= {GOAL_MSGS:,} msg/s round trip",
        ),
        row(
            "ratchet round trip, alternating directions, DH step each msg (200 B)",
            "msg/s",
            alt,
            aead_alt,
            aead_name,
            ">= 2,000 msg/s (a person types far slower)",
        ),
        row(
            "ratchet round trip, one direction, load+save both sessions per msg",
            "msg/s",
            persisted,
            aead_p,
            aead_name,
            ">= 5,000 msg/s",
        ),
        row(
            f"session save+load (pickle+unpickle, {size} B pickle)",
            "us/step",
            1e6 / save_load,
            1e6 / aead_blob,
            f"raw XChaCha20-Poly1305 seal+open of a {size} B blob",
            "<= 100 us/step",
        ),
        row(
            "wrapper overhead, one direction (canonical/header checks)",
            "msg/s",
            one_w,
            one_raw,
            raw_name,
            ">= 80% of bare vodozemac",
        ),
        row(
            "wrapper overhead, alternating (rollback snapshot each msg)",
            "msg/s",
            alt_w,
            alt_raw,
            raw_name,
            ">= 75% of bare vodozemac",
        ),
    ]


if __name__ == "__main__":
    import sys

    started = time.perf_counter()
    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<72} {row['libra']:>10,} {row['unit']:<8}"
            f" baseline {row['baseline']:>10,}  goal {row['goal']}"
        )
    print(f"({time.perf_counter() - started:.1f} s)")
