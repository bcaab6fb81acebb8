"""Key/value settings inside the encrypted store (values are bytes; callers encode)."""

from __future__ import annotations

from ._conn import Connection


def get(conn: Connection, key: str, default: bytes | None = None) -> bytes | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def put(conn: Connection, key: str, value: bytes) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete(conn: Connection, key: str) -> bool:
    return conn.execute("DELETE FROM settings WHERE key = ?", (key,)).rowcount == 1
