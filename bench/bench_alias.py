"""Cost of the alias KDFs (Argon2id) that make impersonation and enumeration expensive.

Rows (seconds per call, median of interleaved runs):

* alias derivation: ``derive_alias`` = one Argon2id (ALIAS_KDF) -> three word indices. Paid
  once per regenerate by the owner and once per lookup by the looker-up (verify_binding), but
  ~2^38.8 times by an impostor grinding keys for someone's words.
* beacon address: ``beacon_address`` = one Argon2id (BEACON_KDF) + Ed25519 key + onion
  encoding. Paid once per lookup; mapping every alias to its beacon costs 2^38.8 of these.
* lookup total: both of the above, what a person waits for (plus Tor) after typing words.
* work factor: the alias derivation against a single SHA-256 of the same input, i.e. how
  much slower each guess is than if the words were a plain hash.

Baselines: libsodium's INTERACTIVE Argon2id (t=2, 64 MiB, its "online login" setting) and a
single SHA-256, measured in the same run.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable

from nacl.pwhash import argon2id

from libra_gui.core.crypto import alias as A

IDENTITY = bytes(range(32))
WORDS = ("amber", "falcon", "canyon")
GOAL = "0.1-0.3 s on the reference machine"


def _median_pair(
    a: Callable[[], object], b: Callable[[], object], reps: int
) -> tuple[float, float]:
    """Median seconds per call of ``a`` and ``b``, interleaved so noise hits both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return statistics.median(ta), statistics.median(tb)


def _per_call(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def _interactive() -> bytes:
    return argon2id.kdf(
        48,
        IDENTITY + bytes(8),
        A.ALIAS_SALT,
        opslimit=argon2id.OPSLIMIT_INTERACTIVE,
        memlimit=argon2id.MEMLIMIT_INTERACTIVE,
    )


def run(quick: bool = False) -> list[dict]:
    reps = 3 if quick else 9
    A.wordlist()  # load + hash-check the list outside the timings
    derive = lambda: A.derive_alias(IDENTITY, 0)  # noqa: E731
    beacon = lambda: A.beacon_address(WORDS)  # noqa: E731
    alias_s, inter_a = _median_pair(derive, _interactive, reps)
    beacon_s, inter_b = _median_pair(beacon, _interactive, reps)
    sha_s = _per_call(lambda: hashlib.sha256(IDENTITY + bytes(8)).digest(), 20_000)
    inter_name = "Argon2id INTERACTIVE t=2 64 MiB"
    kdf = f"t={A.ALIAS_KDF.opslimit} {A.ALIAS_KDF.memlimit >> 20} MiB"
    return [
        {
            "name": f"alias: derive words (Argon2id {kdf})",
            "unit": "s",
            "libra": alias_s,
            "baseline": inter_a,
            "baseline_name": inter_name,
            "goal": GOAL,
        },
        {
            "name": f"alias: beacon address from words (Argon2id {kdf} + Ed25519)",
            "unit": "s",
            "libra": beacon_s,
            "baseline": inter_b,
            "baseline_name": inter_name,
            "goal": GOAL,
        },
        {
            "name": "alias: lookup crypto (beacon address + binding check)",
            "unit": "s",
            "libra": alias_s + beacon_s,
            "baseline": inter_a + inter_b,
            "baseline_name": "2 x " + inter_name,
            "goal": "<= 0.6 s",
        },
        {
            "name": "alias: cost per impostor guess vs a plain hash",
            "unit": "s",
            "libra": alias_s,
            "baseline": sha_s,
            "baseline_name": "one SHA-256 of the same 40 bytes",
            "goal": "ratio >= 1e5",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
