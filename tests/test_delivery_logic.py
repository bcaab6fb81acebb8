"""Pure delivery state machines: scheduling, windows, ordering, exactly-once release."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from libra_gui.core.protocol.delivery import Inbound, Outbound, Verdict


def ids(n: int) -> list[bytes]:
    return [i.to_bytes(16, "big") for i in range(1, n + 1)]


def test_nothing_is_sent_without_a_link():
    out = Outbound()
    out.enqueue(b"a" * 16, 1)
    assert out.due(0.0) == []
    assert out.next_deadline() is None


def test_window_limits_outstanding_and_slides_on_ack():
    out = Outbound(window=4)
    for seq, mid in enumerate(ids(10), start=1):
        out.enqueue(mid, seq)
    out.on_link_up()
    first = out.due(0.0)
    assert [e.seq for e in first] == [1, 2, 3, 4]
    assert out.due(0.1) == []  # nothing new until an ack or a timeout
    assert out.on_ack([ids(10)[1]]) == [ids(10)[1]]  # seq 2 acked, 1 still open
    assert [e.seq for e in out.due(0.2)] == [5]


def test_retransmission_backs_off_exponentially():
    out = Outbound(rto=1.0, max_rto=5.0)
    out.enqueue(b"x" * 16, 1)
    out.on_link_up()
    times = []
    now = 0.0
    for _ in range(6):
        assert len(out.due(now)) == 1
        deadline = out.next_deadline()
        assert deadline is not None
        times.append(deadline - now)
        assert out.due(deadline - 0.001) == []
        now = deadline
    assert times == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_new_link_resends_everything_unacked_at_once():
    out = Outbound(rto=100.0)
    for seq, mid in enumerate(ids(3), start=1):
        out.enqueue(mid, seq)
    out.on_link_up()
    assert len(out.due(0.0)) == 3
    out.on_link_down()
    assert out.due(1.0) == []
    out.on_link_up()
    assert [e.seq for e in out.due(1.0)] == [1, 2, 3]


def test_ack_of_unknown_or_repeated_ids_is_harmless():
    out = Outbound()
    out.enqueue(b"a" * 16, 1)
    assert out.on_ack([b"b" * 16]) == []
    assert out.on_ack([b"a" * 16, b"a" * 16]) == [b"a" * 16]
    assert len(out) == 0


def test_restore_rebuilds_the_same_schedule():
    rows = list(zip(ids(5), range(1, 6), strict=True))
    out = Outbound.restore(reversed(rows), window=3)
    out.on_link_up()
    assert [e.seq for e in out.due(0.0)] == [1, 2, 3]


def test_inbound_releases_in_order_exactly_once():
    inbound = Inbound()
    assert inbound.accept(2).verdict is Verdict.HOLD
    assert inbound.accept(3).verdict is Verdict.HOLD
    assert inbound.accept(2).verdict is Verdict.DUPLICATE
    decision = inbound.accept(1)
    assert decision.verdict is Verdict.DELIVER and decision.released == (1, 2, 3)
    assert inbound.accept(1).verdict is Verdict.DUPLICATE
    assert inbound.next_seq == 4 and inbound.held == set()


def test_inbound_refuses_to_hold_too_much():
    inbound = Inbound(max_held=2)
    assert inbound.accept(5).verdict is Verdict.OVERFLOW
    assert inbound.accept(2).verdict is Verdict.HOLD
    assert inbound.accept(3).verdict is Verdict.HOLD
    assert inbound.accept(4).verdict is Verdict.OVERFLOW  # held set is full
    assert inbound.accept(1).released == (1, 2, 3)  # the gap can always be filled


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n=st.integers(1, 300),
    drop=st.floats(0, 0.5),
    dup=st.floats(0, 0.3),
    window=st.integers(1, 40),
)
def test_lossy_channel_simulation_delivers_everything_once_in_order(seed, n, drop, dup, window):
    """Drops, duplicates, reordering and link flaps: every message released once, in order."""
    rng = random.Random(seed)
    out = Outbound(window=window, rto=1.0, max_rto=4.0)
    inbound = Inbound(max_held=window)
    for seq, mid in enumerate(ids(n), start=1):
        out.enqueue(mid, seq)
    by_id = {mid: seq for seq, mid in enumerate(ids(n), start=1)}
    out.on_link_up()
    released: list[int] = []
    in_flight: list[bytes] = []
    acks: list[bytes] = []
    now = 0.0
    for _ in range(200_000):
        if not len(out):
            break
        now += 0.25
        if rng.random() < 0.01:
            out.on_link_down()
            in_flight.clear()
            acks.clear()
            out.on_link_up()
        for entry in out.due(now):
            copies = 0 if rng.random() < drop else 1 + (rng.random() < dup)
            in_flight.extend([entry.msg_id] * copies)
        rng.shuffle(in_flight)
        for mid in in_flight[: rng.randint(0, len(in_flight))]:
            in_flight.remove(mid)
            decision = inbound.accept(by_id[mid])
            if decision.verdict is not Verdict.OVERFLOW and rng.random() >= drop:
                acks.append(mid)
            released.extend(decision.released)
        out.on_ack(acks)
        acks.clear()
    assert released == list(range(1, n + 1))
