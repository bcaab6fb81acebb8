"""Deciding on contact requests that arrived at my beacon: accept, decline, block, unblock.

Accepting stores the requester as a contact (trust "known": they were never verified);
the running node then authorizes them on the inbox and dials them (Node.accept_request).
"""

from __future__ import annotations

from ..protocol.requests import Action
from ..storage import requests as requests_repo
from ..storage.requests import Blocked, ContactRequest
from .profile import Profile


async def pending(profile: Profile) -> list[ContactRequest]:
    return await profile.db.run(requests_repo.list_pending)


async def blocked(profile: Profile) -> list[Blocked]:
    return await profile.db.run(requests_repo.list_blocked)


async def decide(profile: Profile, request_id: int, action: Action | str) -> ContactRequest:
    """Record the owner's decision (guarded by the state model; typed error if not allowed)."""
    return await profile.db.run(requests_repo.decide, request_id, Action(action))
