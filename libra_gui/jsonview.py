"""JSON views of core objects for scripts (`libra-cli` output and the control API)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any

from .core.storage.contacts import Contact
from .core.storage.messages import Message


def event_json(event: object) -> dict[str, Any]:
    """A dataclass event as {"event": snake_case_name, fields...}; bytes as hex."""
    name = "".join(f"_{c.lower()}" if c.isupper() else c for c in type(event).__name__)
    out: dict[str, Any] = {"event": name.lstrip("_")}
    for f in dataclasses.fields(event):  # type: ignore[arg-type]
        value = getattr(event, f.name)
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, Path):
            value = str(value)
        out[f.name] = value
    return out


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "display_name": contact.display_name,
        "fingerprint": contact.fingerprint.hex(),
        "trust": contact.trust,
        "blocked": contact.blocked,
    }


def history_json(contact_id: int, messages: list[Message]) -> dict[str, Any]:
    return {
        "ok": True,
        "contact": contact_id,
        "messages": [
            {
                "msg_id": m.msg_id.hex(),
                "direction": m.direction,
                "kind": m.kind,
                "seq": m.seq,
                "state": m.state,
                "sent_at": m.sent_at,
                "body": m.body,
            }
            for m in messages
        ],
    }
