"""The direct-path state machine (protocol/direct.py), pure: no IO, time is a number."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libra_gui.core.protocol.backoff import Backoff
from libra_gui.core.protocol.direct import (
    AbortAttempt,
    AcceptOffer,
    Action,
    CloseDirect,
    DirectPath,
    PathConfig,
    PathState,
    SendDecline,
    SendHello,
    StartOffer,
    is_offerer,
)
from libra_gui.core.protocol.records import (
    DECLINE_BAD_OFFER,
    DECLINE_BUSY,
    DECLINE_FAILED,
    DECLINE_POLICY,
)

NO_JITTER = PathConfig(backoff=Backoff(base=5.0, jitter=0.0))


def ids() -> Callable[[], bytes]:
    """Deterministic attempt ids: a1, a2, ... (16 bytes each)."""
    numbers = count(1)
    return lambda: f"a{next(numbers)}".encode().ljust(16, b".")


def offerer(config: PathConfig = NO_JITTER) -> DirectPath:
    return DirectPath(offerer=True, config=config, new_attempt_id=ids(), rng=random.Random(1))


def answerer(config: PathConfig = NO_JITTER) -> DirectPath:
    return DirectPath(offerer=False, config=config, new_attempt_id=ids(), rng=random.Random(2))


def started(actions: list[Action]) -> bytes:
    """The attempt id of the one StartOffer in ``actions``."""
    offers = [a for a in actions if isinstance(a, StartOffer)]
    assert len(offers) == 1, actions
    return offers[0].attempt


def connecting(now: float = 0.0) -> tuple[DirectPath, bytes]:
    """An offerer whose first attempt is running."""
    m = offerer()
    m.on_tor_up(now, True)
    return m, started(m.on_hello(True, now))


def direct(now: float = 0.0) -> tuple[DirectPath, bytes]:
    m, attempt = connecting(now)
    assert m.on_attempt_succeeded(attempt, now) == []
    return m, attempt


OFFER = b"o1".ljust(16, b".")
OFFER2 = b"o2".ljust(16, b".")


# --- who offers, and when ---------------------------------------------------------------


def test_the_lower_fingerprint_offers_and_both_sides_agree():
    low, high = bytes(32), b"\x01" + bytes(31)
    assert is_offerer(low, high) and not is_offerer(high, low)


def test_every_tor_link_starts_with_our_hello():
    m = offerer()
    assert m.state is PathState.OFFLINE
    assert m.on_tor_up(0, False) == [SendHello(False)]
    assert m.state is PathState.TOR
    assert m.on_tor_up(1, True) == [SendHello(True)]  # a replacement link: hello again


def test_the_offerer_offers_once_both_said_allowed():
    m = offerer()
    assert m.on_tor_up(0, True) == [SendHello(True)]
    assert m.next_deadline is None  # nothing to do before the peer's hello
    attempt = started(m.on_hello(True, 0.5))
    assert m.state is PathState.CONNECTING
    assert m.attempt == attempt and m.next_deadline == 0.5 + 10.0


@pytest.mark.parametrize(("local", "peer"), [(False, True), (True, False), (False, False)])
def test_nobody_offers_unless_both_allowed(local: bool, peer: bool):
    m = offerer()
    m.on_tor_up(0, local)
    assert not [a for a in m.on_hello(peer, 0) if isinstance(a, StartOffer)]
    assert not [a for a in m.on_tick(1000) if isinstance(a, StartOffer)]
    assert m.attempt is None and m.state is PathState.TOR


def test_no_offer_without_the_peers_hello_on_the_current_tor_link():
    m = offerer()
    m.on_tor_up(0, True)
    m.on_hello(True, 0)
    m.on_tor_down(1)
    m.on_tor_up(2, True)  # the old hello no longer counts
    assert m.on_tick(3) == [] and m.attempt is None


def test_the_answerer_never_offers_it_accepts():
    m = answerer()
    m.on_tor_up(0, True)
    assert m.on_hello(True, 0) == []
    assert m.on_tick(1000) == [] and m.next_deadline is None
    assert m.on_offer(OFFER, 1000) == [AcceptOffer(OFFER)]
    assert m.state is PathState.CONNECTING and m.next_deadline == 1010


def test_offers_are_declined_unless_both_allowed_and_we_answer():
    m = answerer()
    m.on_tor_up(0, False)
    m.on_hello(True, 0)
    assert m.on_offer(OFFER, 0) == [SendDecline(OFFER, DECLINE_POLICY)]
    m2 = answerer()
    m2.on_tor_up(0, True)  # no hello from the peer yet
    assert m2.on_offer(OFFER, 0) == [SendDecline(OFFER, DECLINE_POLICY)]
    m3, _ = connecting()  # an offer to the offerer: the peer got the roles wrong
    assert m3.on_offer(OFFER, 0) == [SendDecline(OFFER, DECLINE_POLICY)]


def test_attempts_start_at_least_min_attempt_gap_apart_whatever_the_peer_does():
    m, attempt = connecting()
    m.on_decline(attempt, DECLINE_POLICY, 0.1)
    for t in (0.2, 0.3, 0.4):  # a contact toggling its hello as fast as it can
        assert m.on_hello(False, t) == []
        assert m.on_hello(True, t) == []
    assert m.next_deadline == 1.0  # min_attempt_gap after the last start
    started(m.on_tick(1.0))


def test_the_answerer_rate_limits_offers_and_ignores_duplicates():
    m = answerer()
    m.on_tor_up(0, True)
    m.on_hello(True, 0)
    assert m.on_offer(OFFER, 0) == [AcceptOffer(OFFER)]
    assert m.on_offer(OFFER, 0.1) == []  # the same offer again
    assert m.on_offer(OFFER2, 0.5) == [SendDecline(OFFER2, DECLINE_BUSY)]
    assert m.attempt == OFFER


def test_a_new_offer_supersedes_the_answerers_attempt_and_direct_link():
    m = answerer()
    m.on_tor_up(0, True)
    m.on_hello(True, 0)
    m.on_offer(OFFER, 0)
    assert m.on_offer(OFFER2, 5) == [AbortAttempt(OFFER), AcceptOffer(OFFER2)]
    m.on_attempt_succeeded(OFFER2, 6)
    assert m.state is PathState.DIRECT
    third = b"o3".ljust(16, b".")
    actions = m.on_offer(third, 20)  # the offerer saw the link die before we did
    assert actions == [CloseDirect(OFFER2, "replaced by a new attempt"), AcceptOffer(third)]
    assert m.state is PathState.FALLBACK and m.attempt == third and m.direct is None


# --- attempts: timeout, failure, back-off -------------------------------------------------


def test_an_attempt_times_out_tells_the_peer_and_retries_after_the_backoff():
    m, attempt = connecting()
    assert m.on_tick(9.9) == []
    assert m.on_tick(10) == [AbortAttempt(attempt), SendDecline(attempt, DECLINE_FAILED)]
    assert m.state is PathState.TOR and m.last_failure is not None
    assert m.next_deadline == 15.0  # 10 + base 5
    assert m.on_tick(14.9) == []
    second = started(m.on_tick(15))
    assert second != attempt and m.state is PathState.CONNECTING


def test_the_backoff_doubles_up_to_the_cap():
    m, attempt = connecting()
    now, delays = 0.0, []
    for _ in range(9):
        m.on_attempt_failed(attempt, now, "ICE failed")
        assert m.next_deadline is not None
        delays.append(m.next_deadline - now)
        now = m.next_deadline
        attempt = started(m.on_tick(now))
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]


def test_jitter_shortens_the_delay_by_at_most_its_fraction():
    backoff = Backoff(base=5, jitter=0.5)
    assert backoff.delay(0, 0.7) == 0
    assert backoff.delay(1, 0.0) == 5 and backoff.delay(1, 0.999) > 2.5
    seen = set()
    for seed in range(20):
        m = DirectPath(offerer=True, rng=random.Random(seed))
        m.on_tor_up(0, True)
        m.on_attempt_failed(started(m.on_hello(True, 0)), 0, "x")
        assert m.next_deadline is not None and 2.5 < m.next_deadline <= 5.0
        seen.add(m.next_deadline)
    assert len(seen) > 1


def test_a_failure_of_our_own_attempt_tells_the_peer():
    m, attempt = connecting()
    assert m.on_attempt_failed(attempt, 1, "bad SDP") == [SendDecline(attempt, DECLINE_FAILED)]
    assert m.last_failure == "bad SDP" and m.attempt is None


def test_a_decline_from_the_peer_ends_the_attempt_and_backs_off():
    m, attempt = connecting()
    assert m.on_decline(attempt, DECLINE_BAD_OFFER, 1) == [AbortAttempt(attempt)]
    assert m.next_deadline == 6 and m.peer_allowed is True
    attempt = started(m.on_tick(6))
    assert m.on_decline(attempt, DECLINE_POLICY, 7) == [AbortAttempt(attempt)]
    assert m.peer_allowed is False and m.next_deadline is None  # wait for its next hello


def test_stale_inputs_change_nothing():
    m, attempt = connecting()
    other = b"zz".ljust(16, b".")
    assert m.on_attempt_failed(other, 1, "late") == []
    assert m.on_direct_down(other, 1, "late") == []
    assert m.on_decline(other, DECLINE_FAILED, 1) == []
    assert m.on_attempt_succeeded(other, 1) == [CloseDirect(other, "attempt no longer wanted")]
    assert m.attempt == attempt and m.state is PathState.CONNECTING


# --- the direct link ----------------------------------------------------------------------


def test_success_makes_direct_the_path_and_a_dead_link_falls_back_and_retries():
    m, attempt = direct()
    assert m.state is PathState.DIRECT and m.next_deadline is None
    assert m.on_direct_down(attempt, 3, "no data for 6 s") == []
    assert m.state is PathState.FALLBACK and m.last_failure == "no data for 6 s"
    assert m.next_deadline == 8
    retry = started(m.on_tick(8))
    assert m.state is PathState.FALLBACK  # retrying on Tor: still a fallback
    m.on_attempt_failed(retry, 9, "ICE failed")
    assert m.state is PathState.FALLBACK and m.next_deadline == 19  # 10 s: second failure
    retry = started(m.on_tick(19))
    m.on_attempt_succeeded(retry, 20)
    assert m.state is PathState.DIRECT


def test_a_direct_link_that_lived_long_resets_the_backoff():
    m, attempt = connecting()
    m.on_attempt_failed(attempt, 0, "x")
    attempt = started(m.on_tick(5))
    m.on_attempt_failed(attempt, 5, "x")
    attempt = started(m.on_tick(15))
    m.on_attempt_succeeded(attempt, 15)
    m.on_direct_down(attempt, 15 + 60, "dead")  # lived stable_after
    assert m.next_deadline == 75 + 5
    attempt = started(m.on_tick(80))
    m.on_attempt_succeeded(attempt, 80)
    m.on_direct_down(attempt, 81, "dead")  # short-lived: the back-off grows
    assert m.next_deadline == 81 + 10


def test_a_decline_naming_our_direct_link_closes_it():
    m, attempt = direct()
    actions = m.on_decline(attempt, DECLINE_FAILED, 2)
    assert [type(a) for a in actions] == [CloseDirect]
    assert m.state is PathState.FALLBACK and m.direct is None


def test_direct_survives_tor_but_nothing_starts_without_tor():
    m, attempt = direct()
    assert m.on_tor_down(1) == []
    assert m.state is PathState.DIRECT
    assert m.on_direct_down(attempt, 2, "dead") == []
    assert m.state is PathState.OFFLINE and m.next_deadline is None
    assert m.on_tick(1000) == []
    m.on_tor_up(1000, True)
    assert m.state is PathState.TOR  # a new session: not a fallback any more
    started(m.on_hello(True, 1000))


def test_tor_coming_back_under_a_direct_link_keeps_it():
    m, _ = direct()
    m.on_tor_down(1)
    assert m.on_tor_up(2, True) == [SendHello(True)]
    assert m.on_hello(True, 2) == [] and m.state is PathState.DIRECT


def test_a_replacement_tor_link_keeps_the_running_attempt():
    m, attempt = connecting()
    assert m.on_tor_up(1, True) == [SendHello(True)]  # duplicate-link resolution, say
    assert m.attempt == attempt and m.on_tick(2) == []
    assert m.on_hello(True, 2) == [] and m.attempt == attempt


def test_losing_tor_aborts_a_running_attempt():
    m, attempt = connecting()
    assert m.on_tor_down(1) == [AbortAttempt(attempt)]
    assert m.state is PathState.OFFLINE and m.attempt is None


# --- policy -------------------------------------------------------------------------------


def test_turning_direct_off_tears_down_the_attempt_at_once():
    m, attempt = connecting()
    actions = m.on_policy(False, 1)
    assert actions == [
        AbortAttempt(attempt),
        SendDecline(attempt, DECLINE_POLICY),
        SendHello(False),
    ]
    assert m.state is PathState.TOR and m.on_tick(1000) == []


def test_turning_direct_off_closes_the_direct_link_even_without_tor():
    m, attempt = direct()
    m.on_tor_down(1)
    assert m.on_policy(False, 2) == [
        CloseDirect(attempt, "direct connections are off for this contact")
    ]
    assert m.state is PathState.OFFLINE


def test_the_peer_turning_direct_off_tears_down_too_and_on_again_retries_at_once():
    m, attempt = direct()
    m.on_direct_down(attempt, 1, "dead")
    retry = started(m.on_tick(6))
    m.on_attempt_failed(retry, 7, "x")  # back-off now 10 s
    assert m.on_hello(False, 8) == []
    assert m.state is PathState.TOR and m.next_deadline is None
    started(m.on_hello(True, 9))  # turned on again: no waiting for the old back-off


def test_an_unchanged_policy_sends_nothing():
    m, _ = connecting()
    assert m.on_policy(True, 1) == []


def test_turning_direct_on_locally_starts_at_once():
    m = offerer()
    m.on_tor_up(0, False)
    m.on_hello(True, 0)
    actions = m.on_policy(True, 1)
    assert actions[0] == SendHello(True)
    started(actions)


def test_config_is_validated():
    with pytest.raises(ValueError):
        Backoff(base=0)
    with pytest.raises(ValueError):
        Backoff(jitter=1.0)
    with pytest.raises(ValueError):
        PathConfig(attempt_timeout=0)


# --- properties ---------------------------------------------------------------------------


@dataclass
class Model:
    """What the actions say is running, checked against the machine after every step."""

    running: set[bytes] = field(default_factory=set)
    links: set[bytes] = field(default_factory=set)
    last_start: float | None = None


def _check_actions(m: DirectPath, model: Model, actions: list[Action], now: float) -> None:
    starts = 0
    for action in actions:
        if isinstance(action, StartOffer | AcceptOffer):
            starts += 1
            assert not model.running and not model.links, "one attempt at a time"
            if model.last_start is not None:
                assert now - model.last_start >= m.config.min_attempt_gap, "rate limit"
            model.last_start = now
            assert m.tor_up and m.local_allowed and m.peer_allowed is True
            assert m.offerer == isinstance(action, StartOffer)
            model.running.add(action.attempt)
        elif isinstance(action, AbortAttempt):
            model.running.discard(action.attempt)
        elif isinstance(action, CloseDirect):
            model.links.discard(action.attempt)
        elif isinstance(action, SendHello | SendDecline):
            assert m.tor_up, "signaling only on a Tor link"
    assert starts <= 1


def _check_state(m: DirectPath, model: Model) -> None:
    assert model.running == ({m.attempt} - {None})
    assert model.links == ({m.direct} - {None})
    assert not (m.attempt and m.direct), "no attempt while a direct link is up"
    if m.attempt is not None:  # (a replacement Tor link has no peer hello yet: None)
        assert m.tor_up and m.local_allowed and m.peer_allowed is not False
        assert m.next_deadline is not None
    if not m.local_allowed or m.peer_allowed is False:
        assert m.attempt is None and m.direct is None
    expected = (
        PathState.DIRECT
        if m.direct
        else PathState.OFFLINE
        if not m.tor_up
        else PathState.FALLBACK
        if m.had_direct
        else PathState.CONNECTING
        if m.attempt
        else PathState.TOR
    )
    assert m.state is expected
    if m.state is PathState.OFFLINE:
        assert not m.had_direct


POOL = [b"p1".ljust(16, b"."), b"p2".ljust(16, b".")]
attempt_ref = st.sampled_from(["current", "direct", "p1", "p2"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("tor_up"), st.booleans()),
        st.tuples(st.just("tor_down")),
        st.tuples(st.just("policy"), st.booleans()),
        st.tuples(st.just("hello"), st.booleans()),
        st.tuples(st.just("offer"), attempt_ref),
        st.tuples(st.just("decline"), attempt_ref, st.integers(0, 255)),
        st.tuples(st.just("failed"), attempt_ref),
        st.tuples(st.just("succeeded"), attempt_ref),
        st.tuples(st.just("direct_down"), attempt_ref),
        st.tuples(st.just("tick"), st.floats(0, 400)),
    ),
    max_size=60,
)


def _resolve(m: DirectPath, ref: str) -> bytes:
    if ref == "current" and m.attempt:
        return m.attempt
    if ref == "direct" and m.direct:
        return m.direct
    return POOL[ref == "p2"]


@settings(max_examples=400, deadline=None)
@given(
    role=st.booleans(), seed=st.integers(0, 2**32), script=steps, gaps=st.lists(st.floats(0, 30))
)
def test_random_inputs_never_break_the_invariants(
    role: bool, seed: int, script: list[tuple], gaps: list[float]
):
    m = DirectPath(offerer=role, rng=random.Random(seed), new_attempt_id=ids())
    model, now = Model(), 0.0
    for i, step in enumerate(script):
        now += gaps[i % len(gaps)] if gaps else 1.0
        kind = step[0]
        before = m.next_deadline
        actions: list[Action]
        if kind == "tor_up":
            actions = m.on_tor_up(now, step[1])
        elif kind == "tor_down":
            actions = m.on_tor_down(now)
        elif kind == "policy":
            actions = m.on_policy(step[1], now)
        elif kind == "hello":
            actions = m.on_hello(step[1], now)
        elif kind == "offer":
            actions = m.on_offer(_resolve(m, step[1]), now)
        elif kind == "decline":
            actions = m.on_decline(_resolve(m, step[1]), step[2], now)
        elif kind == "failed":
            ref = _resolve(m, step[1])
            model.running.discard(ref if ref == m.attempt else b"")
            actions = m.on_attempt_failed(ref, now, "failed")
        elif kind == "succeeded":
            ref = _resolve(m, step[1])
            if ref == m.attempt:
                model.running.discard(ref)
                model.links.add(ref)
            actions = m.on_attempt_succeeded(ref, now)
        elif kind == "direct_down":
            ref = _resolve(m, step[1])
            model.links.discard(ref if ref == m.direct else b"")
            actions = m.on_direct_down(ref, now, "dead")
        else:
            if before is not None and step[1] > 200:
                now = max(now, before)  # the driver wakes at the deadline
            else:
                now += step[1]
            actions = m.on_tick(now)
            assert m.next_deadline is None or m.next_deadline > now, "no busy loop"
        _check_actions(m, model, actions, now)
        _check_state(m, model)
        if m.next_deadline is not None and m.attempt is not None:
            assert m.next_deadline <= now + m.config.attempt_timeout


# --- two machines talking -------------------------------------------------------------------


class Pair:
    """Two machines joined by an ideal signaling channel, for convergence checks."""

    def __init__(self, seed: int) -> None:
        self.now = 0.0
        self.a = DirectPath(offerer=True, rng=random.Random(seed))
        self.b = DirectPath(offerer=False, rng=random.Random(seed + 1))

    def feed(self, side: DirectPath, actions: list[Action]) -> None:
        other = self.b if side is self.a else self.a
        for action in actions:
            if isinstance(action, SendHello):
                self.feed(other, other.on_hello(action.allowed, self.now))
            elif isinstance(action, StartOffer):
                self.feed(other, other.on_offer(action.attempt, self.now))
            elif isinstance(action, AcceptOffer):  # the channel opens on both sides
                self.feed(self.a, self.a.on_attempt_succeeded(action.attempt, self.now))
                self.feed(self.b, self.b.on_attempt_succeeded(action.attempt, self.now))
            elif isinstance(action, SendDecline):
                self.feed(other, other.on_decline(action.attempt, action.reason, self.now))
            elif isinstance(action, CloseDirect):
                self.feed(other, other.on_direct_down(action.attempt, self.now, action.reason))

    def run_until_quiet(self) -> None:
        for _ in range(50):
            deadlines = [d for d in (self.a.next_deadline, self.b.next_deadline) if d]
            if not deadlines:
                return
            self.now = max(self.now, min(deadlines))
            self.feed(self.a, self.a.on_tick(self.now))
            self.feed(self.b, self.b.on_tick(self.now))
            if self.a.state is PathState.DIRECT and self.b.state is PathState.DIRECT:
                return


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 1000),
    policies=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), max_size=12),
)
def test_two_peers_converge_to_direct_exactly_when_both_allow(
    seed: int, policies: list[tuple[bool, bool, bool]]
):
    pair = Pair(seed)
    hello_a, hello_b = pair.a.on_tor_up(0, True), pair.b.on_tor_up(0, True)
    pair.feed(pair.a, hello_a)
    pair.feed(pair.b, hello_b)
    a_on = b_on = True
    for which, allowed, kill in policies:
        pair.now += 1
        side = pair.a if which else pair.b
        if which:
            a_on = allowed
        else:
            b_on = allowed
        pair.feed(side, side.on_policy(allowed, pair.now))
        if kill and pair.a.direct:  # the path dies: both notice
            dead = pair.a.direct
            pair.feed(pair.a, pair.a.on_direct_down(dead, pair.now, "dead"))
            pair.feed(pair.b, pair.b.on_direct_down(dead, pair.now, "dead"))
        pair.run_until_quiet()
        both = a_on and b_on
        assert (pair.a.state is PathState.DIRECT) == both
        assert (pair.b.state is PathState.DIRECT) == both
        assert pair.a.direct == pair.b.direct
