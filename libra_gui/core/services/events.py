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
