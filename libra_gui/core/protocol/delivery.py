"""Delivery state machines (sans-IO): what to send when, and what may be shown.

One :class:`Outbound` and one :class:`Inbound` per contact. They hold only what can be rebuilt
from the store (the unacked outbox rows; the next expected sequence number and the held
sequence numbers), so a restart reloads them and carries on. Time is a parameter (seconds,
any monotonic clock); nothing here sleeps, sends or writes.

Guarantees they give the messaging service:

* a message is (re)transmitted until acked — on every new link and after a retransmission
  timeout that backs off exponentially;
* at most ``window`` unacked messages are outstanding, and only the *lowest* ``window``
  sequence numbers are ever eligible: the receiver never has to keep more than ``window``
  skipped ratchet keys or held messages for one gap;
* the receiver releases messages strictly in sequence order, each exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

DEFAULT_WINDOW = 32
DEFAULT_RTO = 3.0
MAX_RTO = 60.0
MAX_HELD = 1024


@dataclass
class OutEntry:
    """One unacked outgoing message as the scheduler sees it."""

    msg_id: bytes
    seq: int
    attempts: int = 0
    sent_on_link: bool = False
    next_attempt_at: float = 0.0


@dataclass
class Outbound:
    """Sending side of one contact: a sliding window over the unacked outbox."""

    window: int = DEFAULT_WINDOW
    rto: float = DEFAULT_RTO
    max_rto: float = MAX_RTO
    _entries: dict[bytes, OutEntry] = field(default_factory=dict)
    _link_up: bool = False

    @classmethod
    def restore(cls, unacked: Iterable[tuple[bytes, int]], **kwargs: float) -> Outbound:
        """Rebuild from the store's unacked outbox rows ``(msg_id, seq)``."""
        out = cls(**kwargs)  # type: ignore[arg-type]
        for msg_id, seq in unacked:
            out.enqueue(msg_id, seq)
        return out

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def link_up(self) -> bool:
        return self._link_up

    def enqueue(self, msg_id: bytes, seq: int) -> None:
        if msg_id in self._entries:
            return
        self._entries[msg_id] = OutEntry(msg_id, seq)

    def on_link_up(self) -> None:
        """A new link: everything unacked goes again, whatever the old link did with it."""
        self._link_up = True
        for entry in self._entries.values():
            entry.sent_on_link = False
            entry.next_attempt_at = 0.0

    def on_link_down(self) -> None:
        self._link_up = False

    def _eligible(self) -> list[OutEntry]:
        """The lowest ``window`` unacked entries by sequence number."""
        return sorted(self._entries.values(), key=lambda e: e.seq)[: self.window]

    def due(self, now: float) -> list[OutEntry]:
        """Entries to transmit now, in sequence order; marks them as sent at ``now``."""
        if not self._link_up:
            return []
        ready = []
        for entry in self._eligible():
            if entry.sent_on_link and entry.next_attempt_at > now:
                continue
            entry.attempts += 1
            entry.sent_on_link = True
            backoff = self.rto * 2 ** min(entry.attempts - 1, 16)
            entry.next_attempt_at = now + min(backoff, self.max_rto)
            ready.append(entry)
        return ready

    def on_ack(self, msg_ids: Iterable[bytes]) -> list[bytes]:
        """Forget acked messages; return the ids that were ours and are now delivered."""
        return [m for m in msg_ids if self._entries.pop(m, None) is not None]

    def resend_now(self, msg_id: bytes) -> bool:
        """Make one entry due at once (the peer asked for it again); False if unknown."""
        entry = self._entries.get(msg_id)
        if entry is None:
            return False
        entry.sent_on_link = False
        entry.next_attempt_at = 0.0
        return True

    def next_deadline(self) -> float | None:
        """When :meth:`due` may return something new without other input (None: never)."""
        if not self._link_up:
            return None
        times = [e.next_attempt_at if e.sent_on_link else 0.0 for e in self._eligible()]
        return min(times, default=None)


class Verdict(Enum):
    DELIVER = "deliver"  # store as received; release ``released`` in order
    HOLD = "hold"  # store as pending (ack it), release later
    DUPLICATE = "duplicate"  # already have it: ack again, store nothing
    OVERFLOW = "overflow"  # too far ahead: do not store, do not ack (sender retries later)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    released: tuple[int, ...] = ()  # sequence numbers now displayable, ascending


@dataclass
class Inbound:
    """Receiving side of one contact: releases sequence numbers strictly in order."""

    next_seq: int = 1
    held: set[int] = field(default_factory=set)
    max_held: int = MAX_HELD

    def accept(self, seq: int) -> Decision:
        if seq < self.next_seq or seq in self.held:
            return Decision(Verdict.DUPLICATE)
        if seq != self.next_seq:
            if seq - self.next_seq > self.max_held or len(self.held) >= self.max_held:
                return Decision(Verdict.OVERFLOW)
            self.held.add(seq)
            return Decision(Verdict.HOLD)
        released = [seq]
        self.next_seq = seq + 1
        while self.next_seq in self.held:
            self.held.remove(self.next_seq)
            released.append(self.next_seq)
            self.next_seq += 1
        return Decision(Verdict.DELIVER, tuple(released))
