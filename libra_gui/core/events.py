"""The base class of every event the core publishes (no dependencies, so any layer can use it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """Base class of everything published on the EventBus (services/events.py)."""
