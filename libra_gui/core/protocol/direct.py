"""Direct-path selection for one contact as a sans-IO state machine (docs/protocol/direct.md).

One :class:`DirectPath` per contact. Inputs are what happened (a Tor link came up, the peer's
DirectHello arrived, an attempt failed, the direct link died, time passed); outputs are
:data:`Action` values for the IO driver (``services.direct``) and :attr:`next_deadline`, when
to call :meth:`DirectPath.on_tick` next. Time is a parameter (any monotonic clock, seconds);
nothing here sleeps, sends or opens a socket.

Rules, each enforced here and nowhere else:

* nobody offers (reveals an IP address) before BOTH sides said allowed on the current Tor
  link; the side with the lower identity fingerprint offers, the other only answers (no
  glare); one attempt at a time, bounded by ``attempt_timeout``;
* a failed attempt or a dead direct link is retried with exponential back-off and jitter;
  a direct link that lived ``stable_after`` resets the back-off;
* a policy change to "not allowed" (ours or the peer's) tears down any attempt or direct
  link at once;
* a direct link survives the Tor link (it is independent once up), but no attempt starts,
  and none continues, without a Tor link to signal on.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from .backoff import Backoff
from .records import ATTEMPT_ID_LEN, DECLINE_BUSY, DECLINE_FAILED, DECLINE_POLICY


class PathState(StrEnum):
    """What the user sees for a contact's connection (the GUI shows these values)."""

    OFFLINE = "offline"
    """No link at all."""
    TOR = "tor"
    """Traffic on Tor; no direct link (not allowed, not tried yet, or attempts failed)."""
    CONNECTING = "connecting-direct"
    """Traffic on Tor while a first direct attempt runs."""
    DIRECT = "direct"
    """Traffic on the direct link."""
    FALLBACK = "fallback"
    """Traffic on Tor because the direct link died (or a retry failed) after it had been up;
    until the next direct link (or until direct is no longer allowed)."""


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class PathConfig:
    """Timings of direct-path selection (seconds)."""

    attempt_timeout: float = 10.0
    """Whole attempt: offer, answer, ICE, DTLS, data channel and link handshake."""
    backoff: Backoff = field(default_factory=lambda: Backoff(base=5.0))
    stable_after: float = 60.0
    """A direct link that lived this long resets the back-off when it dies."""
    min_attempt_gap: float = 1.0
    """Attempts (made or answered) start at least this far apart: each one costs a peer
    connection and UDP sockets, so no input from a misbehaving contact (offers, hellos
    toggling on and off) can make us build them in a loop. Early offers are declined BUSY."""

    def __post_init__(self) -> None:
        if self.attempt_timeout <= 0 or self.stable_after <= 0 or self.min_attempt_gap < 0:
            raise ValueError("attempt_timeout and stable_after must be positive")


def is_offerer(our_fingerprint: bytes, their_fingerprint: bytes) -> bool:
    """The lower identity fingerprint offers: both sides compute the same answer."""
    return our_fingerprint < their_fingerprint


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendHello:
    """Send DirectHello(allowed) on the Tor link."""

    allowed: bool


@dataclass(frozen=True)
class StartOffer:
    """Offerer: build a peer connection and send DirectOffer with this attempt id."""

    attempt: bytes


@dataclass(frozen=True)
class AcceptOffer:
    """Answerer: build a peer connection for the peer's offer and send DirectAnswer."""

    attempt: bytes


@dataclass(frozen=True)
class AbortAttempt:
    """Stop the running attempt and release its peer connection (no link came of it)."""

    attempt: bytes


@dataclass(frozen=True)
class SendDecline:
    """Send DirectDecline(attempt, reason) on the Tor link (a DECLINE_* code)."""

    attempt: bytes
    reason: int


@dataclass(frozen=True)
class CloseDirect:
    """Close the direct link of this attempt (and its peer connection)."""

    attempt: bytes
    reason: str


Action = SendHello | StartOffer | AcceptOffer | AbortAttempt | SendDecline | CloseDirect


def _new_attempt_id() -> bytes:
    return secrets.token_bytes(ATTEMPT_ID_LEN)


# --- the machine ----------------------------------------------------------------------------


class DirectPath:
    """Path selection with one contact; feed it events, carry out what it returns.

    Attempt ids name everything: an input about an attempt or direct link that is no longer
    the current one (a late callback) changes nothing.
    """

    def __init__(
        self,
        *,
        offerer: bool,
        config: PathConfig | None = None,
        rng: random.Random | None = None,
        new_attempt_id: Callable[[], bytes] = _new_attempt_id,
    ) -> None:
        self.offerer = offerer
        self.config = config or PathConfig()
        self._rng = rng or random.Random()
        self._new_attempt_id = new_attempt_id
        self.tor_up = False
        self.local_allowed = False
        self.peer_allowed: bool | None = None
        """The peer's last DirectHello on the current Tor link (None: none yet)."""
        self.attempt: bytes | None = None
        self.attempt_deadline: float | None = None
        self.direct: bytes | None = None
        """Attempt id of the live direct link."""
        self.direct_since = 0.0
        self.had_direct = False
        self.failures = 0
        self.retry_at = 0.0
        self.last_attempt_at: float | None = None
        self.last_failure: str | None = None

    # -- derived state -------------------------------------------------------------------

    @property
    def state(self) -> PathState:
        if self.direct is not None:
            return PathState.DIRECT
        if not self.tor_up:
            return PathState.OFFLINE
        if self.had_direct:
            return PathState.FALLBACK
        if self.attempt is not None:
            return PathState.CONNECTING
        return PathState.TOR

    @property
    def both_allowed(self) -> bool:
        return self.local_allowed and self.peer_allowed is True

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`on_tick` has something to do (None: nothing until another input)."""
        if self.attempt is not None:
            return self.attempt_deadline
        if self._may_start():
            return max(self.retry_at, self._earliest_attempt())
        return None

    # -- inputs: links -------------------------------------------------------------------

    def on_tor_up(self, now: float, allowed: bool) -> list[Action]:
        """A (new) Tor link is up; ``allowed`` is our policy evaluated now.

        Every Tor link starts with our DirectHello; the peer's hello on the old link no
        longer counts (it sends a new one).
        """
        self.tor_up = True
        self.peer_allowed = None
        actions = self._set_local(allowed, now)
        actions.append(SendHello(self.local_allowed))
        return actions

    def on_tor_down(self, now: float) -> list[Action]:
        """No Tor link: stop any attempt (nothing to signal on); a direct link stays."""
        self.tor_up = False
        self.peer_allowed = None
        actions = self._drop_attempt()
        if self.direct is None:
            self.had_direct = False
        return actions

    def on_direct_down(self, attempt: bytes, now: float, reason: str) -> list[Action]:
        """The direct link of ``attempt`` died (heartbeats, the peer closed it, ...)."""
        if attempt != self.direct:
            return []
        self.direct = None
        if now - self.direct_since >= self.config.stable_after:
            self.failures = 0
        self._failed(now, reason)
        if not self.tor_up:
            self.had_direct = False
        return self._maybe_start(now)

    # -- inputs: policy and signaling ----------------------------------------------------

    def on_policy(self, allowed: bool, now: float) -> list[Action]:
        """Our policy for this contact was re-evaluated; the peer hears of a change."""
        changed = allowed != self.local_allowed
        actions = self._set_local(allowed, now)
        if changed and self.tor_up:
            actions.append(SendHello(allowed))
        return actions + self._maybe_start(now)

    def on_hello(self, allowed: bool, now: float) -> list[Action]:
        """The peer's DirectHello on the current Tor link."""
        if not self.tor_up:
            return []  # a late record of a closed Tor link
        previous, self.peer_allowed = self.peer_allowed, allowed
        if not allowed:
            return self._teardown(now, "the contact does not allow a direct connection")
        if previous is False:  # the peer turned it on: try now, whatever failed before
            self._reset_backoff(now)
        return self._maybe_start(now)

    def on_offer(self, attempt: bytes, now: float) -> list[Action]:
        """The peer's DirectOffer: accept it, or say why not.

        A new offer supersedes our current attempt or direct link with the peer: the
        offerer runs one attempt at a time and offers only when it has no direct link, so
        it gave up on those (we may not have noticed yet).
        """
        if not self.tor_up or attempt in (self.attempt, self.direct):
            return []  # a late record of a closed Tor link, or a duplicate
        if self.offerer or not self.both_allowed:
            return [SendDecline(attempt, DECLINE_POLICY)]
        if now < self._earliest_attempt():
            return [SendDecline(attempt, DECLINE_BUSY)]
        actions = self._drop_attempt()
        if self.direct is not None:
            actions.append(CloseDirect(self.direct, "replaced by a new attempt"))
            self.direct = None
        self._begin(attempt, now)
        actions.append(AcceptOffer(attempt))
        return actions

    def on_decline(self, attempt: bytes, reason: int, now: float) -> list[Action]:
        """The peer's DirectDecline for our attempt (or for the attempt that made our direct
        link: it failed on its side)."""
        if attempt not in (self.attempt, self.direct):
            return []
        if reason == DECLINE_POLICY and self.peer_allowed:
            self.peer_allowed = False  # its hello says so too; until it comes, do not offer
        why = f"declined by the contact (code {reason})"
        if attempt == self.attempt:
            self.attempt = self.attempt_deadline = None
            self._failed(now, why)
            return [AbortAttempt(attempt), *self._maybe_start(now)]
        self.direct = None
        self._failed(now, why)
        return [CloseDirect(attempt, why), *self._maybe_start(now)]

    # -- inputs: our attempt -------------------------------------------------------------

    def on_attempt_failed(
        self, attempt: bytes, now: float, reason: str, code: int = DECLINE_FAILED
    ) -> list[Action]:
        """Our side of ``attempt`` failed (already released); the peer is told why
        (``code``: DECLINE_FAILED, or DECLINE_BAD_OFFER for an offer we could not use)."""
        if attempt != self.attempt:
            return []
        self.attempt = self.attempt_deadline = None
        self._failed(now, reason)
        actions: list[Action] = []
        if self.tor_up:
            actions.append(SendDecline(attempt, code))
        return actions + self._maybe_start(now)

    def on_attempt_succeeded(self, attempt: bytes, now: float) -> list[Action]:
        """``attempt`` produced an authenticated direct link: it becomes the path.

        A stale attempt id (aborted meanwhile) is refused with CloseDirect.
        """
        if attempt != self.attempt:
            return [CloseDirect(attempt, "attempt no longer wanted")]
        self.attempt = self.attempt_deadline = None
        self.direct = attempt
        self.direct_since = now
        self.had_direct = True
        return []

    def on_tick(self, now: float) -> list[Action]:
        """Time passed: time out the attempt, start a due retry."""
        actions: list[Action] = []
        attempt, deadline = self.attempt, self.attempt_deadline
        if attempt is not None and deadline is not None and now >= deadline:
            actions += self._drop_attempt()
            self._failed(now, f"timed out after {self.config.attempt_timeout:g} s")
            if self.tor_up:
                actions.append(SendDecline(attempt, DECLINE_FAILED))
        return actions + self._maybe_start(now)

    # -- internals -----------------------------------------------------------------------

    def _set_local(self, allowed: bool, now: float) -> list[Action]:
        previous, self.local_allowed = self.local_allowed, allowed
        if not allowed:
            return self._teardown(now, "direct connections are off for this contact")
        if not previous:
            self._reset_backoff(now)
        return []

    def _teardown(self, now: float, why: str) -> list[Action]:
        """Direct is no longer allowed (either side): stop everything, forget the history."""
        actions: list[Action] = []
        attempt = self.attempt
        if attempt is not None:
            actions += self._drop_attempt()
            if self.tor_up:
                actions.append(SendDecline(attempt, DECLINE_POLICY))
        if self.direct is not None:
            actions.append(CloseDirect(self.direct, why))
            self.direct = None
        self.had_direct = False
        self._reset_backoff(now)
        return actions

    def _drop_attempt(self) -> list[Action]:
        if self.attempt is None:
            return []
        attempt, self.attempt, self.attempt_deadline = self.attempt, None, None
        return [AbortAttempt(attempt)]

    def _failed(self, now: float, reason: str) -> None:
        self.last_failure = reason
        self.failures += 1
        self.retry_at = now + self.config.backoff.delay(self.failures, self._rng.random())

    def _reset_backoff(self, now: float) -> None:
        self.failures = 0
        self.retry_at = now

    def _begin(self, attempt: bytes, now: float) -> None:
        self.attempt = attempt
        self.attempt_deadline = now + self.config.attempt_timeout
        self.last_attempt_at = now

    def _earliest_attempt(self) -> float:
        if self.last_attempt_at is None:
            return float("-inf")
        return self.last_attempt_at + self.config.min_attempt_gap

    def _may_start(self) -> bool:
        return (
            self.offerer
            and self.tor_up
            and self.both_allowed
            and self.attempt is None
            and self.direct is None
        )

    def _maybe_start(self, now: float) -> list[Action]:
        if not self._may_start() or now < max(self.retry_at, self._earliest_attempt()):
            return []
        attempt = self._new_attempt_id()
        self._begin(attempt, now)
        return [StartOffer(attempt)]
