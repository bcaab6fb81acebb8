"""Outbox: what still has to reach a peer, with its retry schedule.

``payload`` is the encoded content (what to encrypt); ``ciphertext`` is stored at the first
transmission and reused verbatim for every resend, so a retry never advances the ratchet and
the peer can dedupe it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._conn import Connection, expect_one_row, now_ms

OutboxState = Literal["queued", "sent", "delivered"]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    msg_id: bytes
    contact_id: int
    seq: int
    payload: bytes = field(repr=False)
    ciphertext: bytes | None = field(repr=False)
    kind: int | None
    state: OutboxState
    attempts: int
    next_attempt_at: int
    created_at: int


_COLUMNS = (
    "msg_id, contact_id, seq, payload, ciphertext, kind, state, attempts, next_attempt_at,"
    " created_at"
)


def enqueue(
    conn: Connection,
    contact_id: int,
    msg_id: bytes,
    seq: int,
    payload: bytes,
    *,
    kind: int | None = None,
    next_attempt_at: int | None = None,
    created_at: int | None = None,
) -> OutboxItem:
    """Queue a message for ``contact_id``; due immediately unless ``next_attempt_at`` says so."""
    now = now_ms()
    row = conn.execute(
        "INSERT INTO outbox (msg_id, contact_id, seq, payload, kind, next_attempt_at, created_at)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        (
            msg_id,
            contact_id,
            seq,
            payload,
            kind,
            now if next_attempt_at is None else next_attempt_at,
            now if created_at is None else created_at,
        ),
    ).fetchone()
    return OutboxItem(*row)


def get(conn: Connection, msg_id: bytes) -> OutboxItem | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE msg_id = ?", (msg_id,)).fetchone()
    return OutboxItem(*row) if row else None


def mark_sent(
    conn: Connection,
    msg_id: bytes,
    *,
    next_attempt_at: int,
    ciphertext: bytes | None = None,
    kind: int | None = None,
) -> OutboxItem:
    """Record a transmission attempt: attempts+1, retry at ``next_attempt_at``.

    ``ciphertext``/``kind`` are stored only if none is stored yet: the first transmission's
    ciphertext is the one every resend uses. A delivered item stays delivered.
    """
    row = conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
        " state = CASE state WHEN 'delivered' THEN 'delivered' ELSE 'sent' END,"
        " ciphertext = coalesce(ciphertext, ?), kind = coalesce(kind, ?)"
        f" WHERE msg_id = ? RETURNING {_COLUMNS}",
        (next_attempt_at, ciphertext, kind, msg_id),
    ).fetchone()
    expect_one_row(1 if row else 0, "outbox item")
    return OutboxItem(*row)


def clear_ciphertext(conn: Connection, msg_id: bytes) -> bool:
    """Forget the stored ciphertext/kind (peer could not decrypt it, or the session was
    replaced): the next transmission re-encrypts the payload. False if the item is unknown."""
    cur = conn.execute(
        "UPDATE outbox SET ciphertext = NULL, kind = NULL WHERE msg_id = ?", (msg_id,)
    )
    return cur.rowcount == 1


def reschedule(conn: Connection, msg_id: bytes, next_attempt_at: int) -> None:
    cur = conn.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE msg_id = ?", (next_attempt_at, msg_id)
    )
    expect_one_row(cur.rowcount, "outbox item")


def mark_delivered(conn: Connection, msg_id: bytes) -> bool:
    """The peer acknowledged it. False if unknown or already delivered (duplicate ack)."""
    cur = conn.execute(
        "UPDATE outbox SET state = 'delivered' WHERE msg_id = ? AND state != 'delivered'",
        (msg_id,),
    )
    return cur.rowcount == 1


def pending(conn: Connection, contact_id: int) -> list[OutboxItem]:
    """Undelivered items for a contact, in seq order (what to (re)send when it comes online)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE contact_id = ? AND state IN ('queued', 'sent')"
        " ORDER BY seq",
        (contact_id,),
    ).fetchall()
    return [OutboxItem(*row) for row in rows]


def due(conn: Connection, now: int, limit: int = 100) -> list[OutboxItem]:
    """Undelivered items of all contacts whose retry time has come, earliest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('queued', 'sent')"
        " AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?",
        (now, limit),
    ).fetchall()
    return [OutboxItem(*row) for row in rows]


def remove(conn: Connection, msg_id: bytes) -> bool:
    return conn.execute("DELETE FROM outbox WHERE msg_id = ?", (msg_id,)).rowcount == 1


def purge_delivered(conn: Connection) -> int:
    """Drop delivered items (their ciphertext is no longer needed); returns how many."""
    return conn.execute("DELETE FROM outbox WHERE state = 'delivered'").rowcount
