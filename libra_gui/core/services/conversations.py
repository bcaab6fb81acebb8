"""What a chat window reads: the contact list with previews and unread counts, pages of a
conversation, and marking it read.

The GUI's engine used to read these tables itself; they live here so that the window, like
the CLI, only ever talks to services. Reads are single indexed queries on the store's thread
(a page is ``messages.latest(before=)`` / ``messages.newer(after=)``), so a conversation of
100k messages opens as fast as one of 100.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.card import ContactCard
from ..storage import contacts as contacts_repo
from ..storage import conversations as conversations_repo
from ..storage import messages as messages_repo
from ..storage._conn import Connection
from ..storage.messages import Message
from . import trust
from .profile import Profile

PAGE = 100
PREVIEW_CHARS = 200


@dataclass(frozen=True)
class ContactSummary:
    """One row of the contact list."""

    id: int
    display_name: str
    trust: str
    blocked: bool
    unread: int
    last_activity: int | None
    preview: str
    preview_outgoing: bool
    preview_kind: str = "text"  # "file": ``preview`` is the file's name
    awaiting_acceptance: bool = False
    """We sent them a contact request and they have not connected yet: their card came from
    their beacon, which never shows the inbox, so we cannot reach them until they accept."""
    added_at: int = 0
    key_change_pending: bool = False  # they presented new keys; the user has not decided


class ConversationService:
    """Contact-list summaries, conversation pages and read marks for one profile."""

    def __init__(self, profile: Profile) -> None:
        self._db = profile.db
        self._ids: dict[int, int] = {}  # contact id -> conversation id

    async def summaries(self) -> list[ContactSummary]:
        """Every contact, most recent conversation first (then by name)."""
        return await self._db.run(_summaries)

    async def page(
        self, contact_id: int, before: int | None = None, limit: int = PAGE
    ) -> list[Message]:
        """``limit`` messages before position ``before`` (None: the newest), oldest first."""
        conversation = await self._conversation(contact_id)
        return await self._db.run(messages_repo.latest, conversation, limit, before=before)

    async def newer(self, contact_id: int, after: int, limit: int = PAGE) -> list[Message]:
        """Messages after position ``after``, oldest first (what arrived since)."""
        conversation = await self._conversation(contact_id)
        return await self._db.run(messages_repo.newer, conversation, after, limit)

    async def mark_read(self, contact_id: int) -> None:
        conversation = await self._conversation(contact_id)
        await self._db.run(conversations_repo.mark_read, conversation)

    def forget(self, contact_id: int) -> None:
        """The contact was deleted: its conversation id must not be reused from the cache."""
        self._ids.pop(contact_id, None)

    async def _conversation(self, contact_id: int) -> int:
        found = self._ids.get(contact_id)
        if found is None:
            conv = await self._db.transaction(conversations_repo.for_contact, contact_id)
            found = self._ids[contact_id] = conv.id
        return found


def _summaries(conn: Connection) -> list[ContactSummary]:
    conversations = {c.contact_id: c for c in conversations_repo.list_all(conn)}
    newest = messages_repo.newest_per_conversation(conn)
    out = []
    for contact in contacts_repo.list_all(conn):
        conv = conversations.get(contact.id)
        last = newest.get(conv.id) if conv is not None else None
        out.append(
            ContactSummary(
                id=contact.id,
                display_name=contact.display_name,
                trust=contact.trust,
                blocked=contact.blocked,
                unread=conv.unread if conv is not None else 0,
                last_activity=conv.last_activity if conv is not None else None,
                preview=last.body[:PREVIEW_CHARS] if last is not None else "",
                preview_outgoing=last is not None and last.direction == "out",
                preview_kind=last.kind if last is not None else "text",
                awaiting_acceptance=_awaiting(contact.card),
                added_at=contact.added_at,
                key_change_pending=trust.pending_card(conn, contact.id) is not None,
            )
        )
    out.sort(key=lambda c: -(c.last_activity or c.added_at or 0))  # stable: by name otherwise
    return out


def _awaiting(card: bytes | None) -> bool:
    """A card without an inbox is one a beacon gave us: our request is not accepted yet."""
    return card is not None and ContactCard.decode(card).inbox is None
