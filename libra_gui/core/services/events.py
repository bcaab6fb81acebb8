"""Events the core publishes for the GUI and CLI (plain frozen dataclasses, no Qt).

The GUI turns them into Qt signals on its side of the thread boundary; the CLI prints them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from ..events import Event


@dataclass(frozen=True)
class MessageReceived(Event):
    """A message became displayable (in order, exactly once)."""

    contact_id: int
    msg_id: bytes
    seq: int
    sent_at: int
    body: str


@dataclass(frozen=True)
class MessageStateChanged(Event):
    """An outgoing message moved along queued -> sent -> delivered."""

    contact_id: int
    msg_id: bytes
    state: str


@dataclass(frozen=True)
class SessionEstablished(Event):
    """An end-to-end ratchet session with a contact now exists."""

    contact_id: int


@dataclass(frozen=True)
class LinkStateChanged(Event):
    """A contact's link came up or went down; ``path`` is "tor" or "direct"."""

    contact_id: int
    state: str
    path: str


@dataclass(frozen=True)
class VerificationRequested(Event):
    """A contact asks us a shared-secret question; answer with TrustService.answer_verification
    (or decline with cancel_verification)."""

    contact_id: int
    run_id: bytes
    question: str


@dataclass(frozen=True)
class VerificationFinished(Event):
    """A question check ended. ``outcome``: "equal", "not_equal" or "aborted" (``reason`` then
    says why: cancelled, declined, timeout, protocol, busy); ``trust`` is the level after it."""

    contact_id: int
    run_id: bytes
    asker: bool
    outcome: str
    reason: str | None
    trust: str


@dataclass(frozen=True)
class TrustChanged(Event):
    """A contact's trust level changed (verification, key change or the user's choice)."""

    contact_id: int
    old: str
    new: str


@dataclass(frozen=True)
class ContactKeyChanged(Event):
    """LOUD: a contact presented keys other than the stored ones. The new card is held, not
    used, until the user calls TrustService.accept_key_change; the contact was demoted."""

    contact_id: int
    display_name: str
    identity_changed: bool
    old_fingerprint: bytes
    new_fingerprint: bytes
    previous_trust: str
    trust: str


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out of core events to synchronous listeners and async queues."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._queues: list[asyncio.Queue[Event]] = []

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every event; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def queue(self, maxsize: int = 0) -> asyncio.Queue[Event]:
        """A queue that receives every later event (call from the core's event loop)."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self._queues.append(q)
        return q

    def discard(self, q: asyncio.Queue[Event]) -> None:
        """Stop feeding a queue from :meth:`queue` (its consumer went away)."""
        if q in self._queues:
            self._queues.remove(q)

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
        for q in self._queues:
            if q.full():
                # A consumer that stopped reading must not stall the core: drop its oldest.
                q.get_nowait()
            q.put_nowait(event)


# --- file transfer (services/files.py, docs/protocol/files.md) -------------------------------


@dataclass(frozen=True)
class FileOffered(Event):
    """A contact offers a file (stored with its chat item). Accept it with
    FileService.accept(transfer_id) unless the policy already accepted or declined it
    (a FileStateChanged follows then)."""

    contact_id: int
    transfer_id: int
    file_id: bytes
    name: str
    size: int


@dataclass(frozen=True)
class FileProgress(Event):
    """Bytes of a transfer done so far (received and stored, or acked by the receiver);
    at most four per second per transfer, and always one at the end."""

    contact_id: int
    transfer_id: int
    direction: str
    done_bytes: int
    size: int


@dataclass(frozen=True)
class FileStateChanged(Event):
    """A transfer moved to ``state`` (offered, accepted, transferring, done, failed,
    cancelled). ``reason`` says why it failed or was cancelled ("peer:..." when the contact
    ended it), or "stalled" while no data arrives; None otherwise."""

    contact_id: int
    transfer_id: int
    direction: str
    state: str
    reason: str | None
