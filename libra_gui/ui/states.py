"""Core events folded into what the window shows: a contact's status dot, the Tor status.

Pure functions over core events (no Qt), so every rule lives in one place and is testable
without a window. The facade calls them on the GUI thread as events arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..core.events import Event
from ..core.net.tor.errors import TorDied
from ..core.net.tor.events import TorBootstrap, TorFailed, TorRestarted, TorRestarting, TorStopped
from ..core.services.direct import PathChanged
from ..core.services.events import LinkStateChanged

PathState = Literal["offline", "tor", "connecting-direct", "direct", "fallback"]
PATH_STATES: tuple[PathState, ...] = ("offline", "tor", "connecting-direct", "direct", "fallback")


def path_state(event: Event) -> tuple[int, PathState] | None:
    """(contact id, dot state) if ``event`` says how a contact is reached, else None.

    The direct-path service's ``PathChanged`` carries the state itself; a bare link up/down
    (a node without that service) means Tor or offline.
    """
    if isinstance(event, PathChanged):
        state = event.state if event.state in PATH_STATES else "offline"
        return event.contact_id, state  # type: ignore[return-value]
    if isinstance(event, LinkStateChanged):
        if event.state != "up":
            return event.contact_id, "offline"
        return event.contact_id, "direct" if event.path == "direct" else "tor"
    return None


class ContactPaths:
    """Every contact's dot state. Once a contact has had a ``PathChanged``, only those count:
    the direct-path service also swaps links under the same state (a new Tor link while in
    "fallback"), and the link events of such a swap must not repaint the dot as plain "tor"."""

    def __init__(self) -> None:
        self.states: dict[int, PathState] = {}
        self._from_path_events: set[int] = set()

    def apply(self, event: Event) -> tuple[int, PathState] | None:
        """The contact's new state if ``event`` changed it, else None."""
        found = path_state(event)
        if found is None:
            return None
        contact_id, state = found
        if isinstance(event, PathChanged):
            self._from_path_events.add(contact_id)
        elif contact_id in self._from_path_events:
            return None
        if self.states.get(contact_id) == state:
            return None
        self.states[contact_id] = state
        return contact_id, state


@dataclass(frozen=True)
class NodeStarting(Event):
    """The engine began starting tor and the node (first start or a retry)."""


@dataclass(frozen=True)
class NodeStarted(Event):
    """Tor is bootstrapped, our inbox is published, contacts are being dialled."""


@dataclass(frozen=True)
class NodeStartFailed(Event):
    """Starting failed; ``error`` is the typed core error (ui/errors.py explains it)."""

    error: BaseException


TorPhase = Literal["idle", "starting", "bootstrapping", "ready", "restarting", "failed", "stopped"]


@dataclass(frozen=True)
class TorStatus:
    """Everything the status bar and the Tor panel show about the connection."""

    phase: TorPhase = "idle"
    percent: int = 0
    summary: str = ""  # tor's own words for the current bootstrap step (English)
    warning: str = ""  # tor's latest complaint, if any
    error: BaseException | None = None  # why we are "failed"

    @property
    def online(self) -> bool:
        return self.phase == "ready"


def next_tor_status(status: TorStatus, event: Event) -> TorStatus | None:
    """The status after ``event``, or None if the event says nothing about Tor."""
    if isinstance(event, NodeStarting):
        return TorStatus("starting")
    if isinstance(event, TorBootstrap):
        # A tor left running after a failed start (stuck bootstrap) still reports progress;
        # the failure stays on screen until the user retries.
        keep = status.phase in ("ready", "restarting", "failed")
        return replace(
            status,
            phase=status.phase if keep else "bootstrapping",
            percent=event.percent,
            summary=event.summary,
            warning=event.warning,
        )
    if isinstance(event, NodeStarted | TorRestarted):
        return replace(status, phase="ready", percent=100, warning="", error=None)
    if isinstance(event, TorRestarting):
        return replace(status, phase="restarting", warning=event.reason)
    if isinstance(event, NodeStartFailed):
        return replace(status, phase="failed", error=event.error)
    if isinstance(event, TorFailed):
        return replace(status, phase="failed", error=TorDied(event.message))
    if isinstance(event, TorStopped):
        return status if status.phase == "failed" else replace(status, phase="stopped")
    return None
