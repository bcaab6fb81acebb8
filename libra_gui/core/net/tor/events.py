"""Events the Tor layer reports (frozen dataclasses; the composition root forwards them to
the EventBus, so this package stays below services/ and shares only the base class)."""

from __future__ import annotations

from dataclasses import dataclass

from ...events import Event


@dataclass(frozen=True)
class TorEvent(Event):
    """Base class of everything TorManager reports through its ``on_event`` callback."""


@dataclass(frozen=True)
class TorBootstrap(TorEvent):
    """Bootstrap progress changed (0-100). ``warning`` is tor's latest complaint, if any."""

    percent: int
    tag: str
    summary: str
    warning: str = ""


@dataclass(frozen=True)
class TorRestarting(TorEvent):
    """Tor died (or its control connection broke); the next attempt starts after ``delay``."""

    reason: str
    attempt: int
    delay: float


@dataclass(frozen=True)
class TorRestarted(TorEvent):
    """Tor is back and every onion service and client-auth key we had is re-added."""

    attempt: int
    onion_services: int
    client_auth_keys: int


@dataclass(frozen=True)
class TorFailed(TorEvent):
    """Tor died and could not be restarted; ``message`` says what to do."""

    message: str


@dataclass(frozen=True)
class TorStopped(TorEvent):
    """``stop()`` finished."""
