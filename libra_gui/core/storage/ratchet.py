"""Pickled Double Ratchet sessions, one per contact."""

from __future__ import annotations

from ._conn import Connection, now_ms


def load(conn: Connection, contact_id: int) -> bytes | None:
    row = conn.execute(
        "SELECT pickle FROM ratchet_sessions WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    return row[0] if row else None


def save(
    conn: Connection, contact_id: int, pickle: bytes, *, updated_at: int | None = None
) -> None:
    """Upsert the session. Save in the same transaction as the message it en/decrypted."""
    conn.execute(
        "INSERT INTO ratchet_sessions (contact_id, pickle, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (contact_id) DO UPDATE SET pickle = excluded.pickle,"
        " updated_at = excluded.updated_at",
        (contact_id, pickle, now_ms() if updated_at is None else updated_at),
    )


def delete(conn: Connection, contact_id: int) -> bool:
    cur = conn.execute("DELETE FROM ratchet_sessions WHERE contact_id = ?", (contact_id,))
    return cur.rowcount == 1
