"""Exponential back-off with jitter: one rule for re-dialling contacts and retrying direct."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before the next try after ``failures`` consecutive failures (seconds)."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.5
    """Fraction of the delay that is random: delay * (1 - jitter * U[0, 1))."""

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base:
            raise ValueError("need base > 0, factor >= 1 and cap >= base")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay(self, failures: int, uniform: float) -> float:
        """0 before the first failure; then base * factor^(failures-1), capped, minus jitter
        (``uniform`` is U[0, 1), passed in so the rule stays pure).

        Jitter spreads the retries of many peers after a shared outage (a Tor restart, a
        network change), so they do not come back in lockstep.
        """
        if failures <= 0:
            return 0.0
        raw = min(self.cap, self.base * self.factor ** min(failures - 1, 64))
        return raw * (1.0 - self.jitter * uniform)
