"""Conversations: one per contact for now, holding the in-order delivery counters."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import StorageError
from ._conn import Connection, expect_one_row

_COLUMNS = "id, contact_id, next_out_seq, next_in_seq, unread, last_activity"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    contact_id: int
    next_out_seq: int  # seq our next outbound message gets
    next_in_seq: int  # seq of the next inbound message we may display
    unread: int
    last_activity: int | None  # ms; None until the first message


def get(conn: Connection, conversation_id: int) -> Conversation | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return Conversation(*row) if row else None


def find_for_contact(conn: Connection, contact_id: int) -> Conversation | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM conversations WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    return Conversation(*row) if row else None


def for_contact(conn: Connection, contact_id: int) -> Conversation:
    """The contact's conversation, created on first use (both seq counters start at 1, as in
    ``protocol.delivery``)."""
    conn.execute(
        "INSERT INTO conversations (contact_id) VALUES (?) ON CONFLICT (contact_id) DO NOTHING",
        (contact_id,),
    )
    found = find_for_contact(conn, contact_id)
    if found is None:  # only if the contact does not exist (FK) - a caller bug
        raise StorageError("no such contact")
    return found


def list_all(conn: Connection) -> list[Conversation]:
    """Most recently active first (conversations without messages last)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM conversations"
        " ORDER BY last_activity IS NULL, last_activity DESC, id"
    ).fetchall()
    return [Conversation(*row) for row in rows]


def bump_out_seq(conn: Connection, conversation_id: int) -> int:
    """Reserve the next outbound seq: returns it and advances the counter."""
    row = conn.execute(
        "UPDATE conversations SET next_out_seq = next_out_seq + 1 WHERE id = ?"
        " RETURNING next_out_seq - 1",
        (conversation_id,),
    ).fetchone()
    expect_one_row(1 if row else 0, "conversation")
    return int(row[0])


def set_next_in_seq(conn: Connection, conversation_id: int, next_in_seq: int) -> None:
    """Record that every inbound seq below ``next_in_seq`` has been delivered in order."""
    cur = conn.execute(
        "UPDATE conversations SET next_in_seq = ? WHERE id = ?", (next_in_seq, conversation_id)
    )
    expect_one_row(cur.rowcount, "conversation")


def touch(conn: Connection, conversation_id: int, at: int) -> None:
    """Move ``last_activity`` forward to ``at`` (never backwards)."""
    cur = conn.execute(
        "UPDATE conversations SET last_activity = max(coalesce(last_activity, ?), ?) WHERE id = ?",
        (at, at, conversation_id),
    )
    expect_one_row(cur.rowcount, "conversation")


def add_unread(conn: Connection, conversation_id: int, count: int = 1) -> None:
    cur = conn.execute(
        "UPDATE conversations SET unread = unread + ? WHERE id = ?", (count, conversation_id)
    )
    expect_one_row(cur.rowcount, "conversation")


def mark_read(conn: Connection, conversation_id: int) -> None:
    cur = conn.execute("UPDATE conversations SET unread = 0 WHERE id = ?", (conversation_id,))
    expect_one_row(cur.rowcount, "conversation")
