"""Contacts: adding a peer from its signed card, and what the core knows about each peer.

Until aliases exist, cards travel as files (``libra-cli whoami`` writes one, ``add-contact``
reads it). A card is verified before anything is stored; a known identity whose keys change is
refused loudly instead of being silently replaced: the contact is demoted, the new card is held
until the user accepts it (services/trust.py) and KeyChanged is raised.
"""

from __future__ import annotations

import asyncio
import base64

from ..errors import CardError, LibraError
from ..protocol.card import ContactCard
from ..storage import contacts as contacts_repo
from ..storage import conversations as conversations_repo
from ..storage import files as files_repo
from ..storage import requests as requests_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from ..storage.contacts import Contact, Trust
from . import trust as trust_service
from .events import EventBus
from .profile import Profile


class ContactError(LibraError):
    """A contact cannot be added or changed as asked."""


class KeyChanged(ContactError):
    """A known contact presented different keys: possible impersonation, never accepted silently."""

    def __init__(self, message: str, contact_id: int | None = None) -> None:
        super().__init__(message)
        self.contact_id = contact_id


async def add_from_card(
    profile: Profile, card_bytes: bytes, *, trust: Trust = "known", bus: EventBus | None = None
) -> Contact:
    """Verify a card and store its owner as a contact (idempotent for the same card).

    Other keys for a known identity: the contact is demoted and the card held (trust.py),
    ContactKeyChanged goes to ``bus`` (first time only) and KeyChanged is raised.
    """
    card = ContactCard.decode(card_bytes)
    if card.identity_key == profile.keys.identity_public:
        raise ContactError("that is your own contact card")

    def store(conn: Connection) -> Contact | trust_service.KeyChange:
        existing = contacts_repo.by_identity(conn, card.identity_key)
        if existing is not None:
            old = ContactCard.decode(existing.card) if existing.card else None
            if old is not None and trust_service.keys_differ(old, card):
                return trust_service.record_key_change(conn, existing, card)
            if old is None or card.created >= old.created:
                contacts_repo.set_card(conn, existing.id, card.encode())
                contacts_repo.set_display_name(conn, existing.id, card.display_name)
            return contacts_repo.get(conn, existing.id) or existing
        contact = contacts_repo.add(
            conn, card.identity_key, card.display_name, card=card.encode(), trust=trust
        )
        conversations_repo.for_contact(conn, contact.id)
        return contact

    result = await profile.db.transaction(store)
    if isinstance(result, trust_service.KeyChange):
        if bus is not None and result.fresh:
            bus.publish(result.event())
        raise KeyChanged(
            f"{result.display_name} presented different keys than before; the new keys are "
            "not used until you accept them, and the contact must be verified again",
            result.contact_id,
        )
    return result


async def list_contacts(profile: Profile) -> list[Contact]:
    return await profile.db.run(contacts_repo.list_all)


PER_CONTACT_SETTINGS = (trust_service.PENDING_CARD_SETTING, "ratchet.used_otks.{}")
"""Settings rows named after a contact id (deleted with the contact; the rest cascades)."""


async def remove(profile: Profile, contact_id: int) -> Contact:
    """Delete a contact and everything kept for it: conversation, messages, outbox, ratchet
    session and file transfers (by cascade), the settings rows named after it, and the sealed
    chunk files of files it sent us. A running node must stop using the contact too
    (Node.remove_contact does both). ContactError if there is no such contact."""

    def drop(conn: Connection) -> tuple[Contact, list[str]]:
        contact = contacts_repo.get(conn, contact_id)
        if contact is None:
            raise ContactError(f"no contact {contact_id}")
        names = [
            t.store_name
            for t in files_repo.list_all(conn, contact_id)
            if t.direction == "in" and t.store_name is not None
        ]
        for key in PER_CONTACT_SETTINGS:
            settings_repo.delete(conn, key.format(contact_id))
        contacts_repo.delete(conn, contact_id)
        return contact, names

    contact, names = await profile.db.transaction(drop)
    if names:
        await asyncio.to_thread(_remove_chunk_files, profile, names)
    return contact


def _remove_chunk_files(profile: Profile, names: list[str]) -> None:
    """Delete sealed chunk files after the rows are gone (a crash in between leaves orphans,
    which FileService.start removes)."""
    directory = files_repo.files_dir(profile.db.paths.data_dir)
    for name in names:
        files_repo.remove(files_repo.chunk_path(directory, name))


async def set_blocked(profile: Profile, contact_id: int, blocked: bool) -> Contact:
    """Block or unblock a contact: a blocked contact is neither dialled nor accepted (the
    running node applies it: Node.set_contact_blocked), and its identity is on the block list
    so its contact requests are refused too. The conversation is kept."""

    def store(conn: Connection) -> Contact:
        contact = contacts_repo.get(conn, contact_id)
        if contact is None:
            raise ContactError(f"no contact {contact_id}")
        contacts_repo.set_blocked(conn, contact_id, blocked)
        if blocked:
            requests_repo.block(conn, contact.identity_key, reason="contact blocked")
        else:
            requests_repo.unblock(conn, contact.identity_key)
        return contacts_repo.get(conn, contact_id) or contact

    return await profile.db.transaction(store)


CARD_TEXT_PREFIX = "libra-card:1:"
MAX_CARD_TEXT = 4096


def card_to_text(card: ContactCard) -> str:
    """One line of text a person can paste or save: prefix + URL-safe base64 of the card."""
    return CARD_TEXT_PREFIX + base64.urlsafe_b64encode(card.encode()).decode("ascii")


def card_from_text(text: str) -> ContactCard:
    """Parse and verify a card written by :func:`card_to_text` (surrounding spaces ignored)."""
    text = text.strip()
    if len(text) > MAX_CARD_TEXT or not text.startswith(CARD_TEXT_PREFIX):
        raise CardError(f"not a Libra contact card (it should start with {CARD_TEXT_PREFIX!r})")
    try:
        raw = base64.urlsafe_b64decode(text[len(CARD_TEXT_PREFIX) :].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CardError("the contact card text is damaged (bad base64)") from None
    return ContactCard.decode(raw)


async def find(profile: Profile, ref: str) -> Contact:
    """A contact by id, exact display name, or fingerprint prefix (>= 8 hex digits)."""
    everyone = await list_contacts(profile)
    ref = ref.strip()
    matches = [c for c in everyone if ref.isdigit() and c.id == int(ref)]
    matches = matches or [c for c in everyone if c.display_name == ref]
    hexref = ref.replace(" ", "").lower()
    if not matches and len(hexref) >= 8:
        matches = [c for c in everyone if c.fingerprint.hex().startswith(hexref)]
    if not matches:
        raise ContactError(f"no contact matches {ref!r}")
    if len(matches) > 1:
        raise ContactError(f"{ref!r} matches {len(matches)} contacts; use the id or fingerprint")
    return matches[0]
