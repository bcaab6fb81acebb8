"""Contact-request proof of work: how long a legitimate requester waits, and what verifying costs.

Rows:

* solve time at the default difficulty (``pow.DEFAULT_BITS``), mean / p90 / p99 over fresh
  contexts (each solve is a geometric number of Argon2id evaluations, so the tail is long:
  p90 ~ 2.3x and p99 ~ 4.6x the mean in theory). Baseline: one verification, i.e. one
  Argon2id evaluation — the ratio is the number of evaluations a solve takes;
* verification time (one Argon2id evaluation, whatever the difficulty) vs one SHA-256 of the
  same 124-byte input: the price of memory-hardness on the owner's side.

The machine is shared, so a loaded run reads slower; the goal is on the mean.
"""

from __future__ import annotations

import hashlib
import statistics
import time

from nacl.signing import SigningKey

from libra_gui.core.crypto import pow as pow_
from libra_gui.core.crypto.onion import onion_address

NOW = 1_700_000_000_000


def _quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile."""
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _contexts(n: int) -> list[pow_.PowContext]:
    beacon = onion_address(bytes(SigningKey(hashlib.sha256(b"bench beacon").digest()).verify_key))
    return [pow_.PowContext(beacon, hashlib.sha256(b"requester %d" % i).digest()) for i in range(n)]


def _solve_times(contexts: list[pow_.PowContext], bits: int) -> list[float]:
    times = []
    for i, ctx in enumerate(contexts):
        start = time.perf_counter()
        pow_.solve(ctx, bits, NOW + i)
        times.append(time.perf_counter() - start)
    return sorted(times)


def _per_call(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def run(quick: bool = False) -> list[dict]:
    bits = pow_.DEFAULT_BITS
    n = 8 if quick else 50
    contexts = _contexts(n)
    stamps = [pow_.solve(ctx, 0, NOW) for ctx in contexts[:1]]
    verify_s = _per_call(lambda: pow_.verify(stamps[0], contexts[0], 0, NOW), 50 if quick else 500)
    data = contexts[0].prefix(NOW // 60_000) + bytes(8)
    sha_s = _per_call(lambda: hashlib.sha256(data).digest(), 20_000)

    times = _solve_times(contexts, bits)
    label = f"PoW solve, {bits} bits, Argon2id 256 KiB ({n} solves)"
    baseline = {"baseline": verify_s, "baseline_name": "one verification"}
    return [
        {
            "name": f"{label}: mean",
            "unit": "s",
            "libra": statistics.mean(times),
            **baseline,
            "goal": "<= 2 s",
        },
        {
            "name": f"{label}: p90",
            "unit": "s",
            "libra": _quantile(times, 0.9),
            **baseline,
            "goal": "informative",
        },
        {
            "name": f"{label}: p99",
            "unit": "s",
            "libra": _quantile(times, 0.99),
            **baseline,
            "goal": "informative",
        },
        {
            "name": "PoW verify (any difficulty)",
            "unit": "ms",
            "libra": verify_s * 1e3,
            "baseline": sha_s * 1e3,
            "baseline_name": "one SHA-256 of the same input",
            "goal": "<= 1 ms",
        },
    ]


if __name__ == "__main__":
    for row in run(quick=False):
        print(row)
