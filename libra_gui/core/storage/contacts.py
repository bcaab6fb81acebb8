"""Contacts: peers known by their Ed25519 identity key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..crypto.identity import fingerprint as identity_fingerprint
from ._conn import Connection, expect_one_row, now_ms

Trust = Literal["unknown", "known", "verified", "trusted"]
DirectPolicy = Literal["default", "off", "allowed"]
TRUST_LEVELS: tuple[str, ...] = get_args(Trust)
DIRECT_POLICIES: tuple[str, ...] = get_args(DirectPolicy)


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    identity_key: bytes
    fingerprint: bytes
    display_name: str
    card: bytes | None
    trust: Trust
    blocked: bool
    added_at: int
    direct_policy: DirectPolicy


_COLUMNS = (
    "id, identity_key, fingerprint, display_name, card, trust, blocked, added_at, direct_policy"
)


def _row(row: tuple) -> Contact:
    values = list(row)
    values[6] = bool(values[6])
    return Contact(*values)


def add(
    conn: Connection,
    identity_key: bytes,
    display_name: str,
    *,
    card: bytes | None = None,
    trust: Trust = "unknown",
    direct_policy: DirectPolicy = "default",
    added_at: int | None = None,
) -> Contact:
    """Insert a contact; the fingerprint is derived here so it can never disagree with the key.

    A second contact with the same identity key violates UNIQUE (sqlite IntegrityError); use
    ``by_identity`` first.
    """
    cur = conn.execute(
        "INSERT INTO contacts"
        " (identity_key, fingerprint, display_name, card, trust, added_at, direct_policy)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        (
            identity_key,
            identity_fingerprint(identity_key),
            display_name,
            card,
            trust,
            now_ms() if added_at is None else added_at,
            direct_policy,
        ),
    )
    return _row(cur.fetchone())


def get(conn: Connection, contact_id: int) -> Contact | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return _row(row) if row else None


def by_identity(conn: Connection, identity_key: bytes) -> Contact | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM contacts WHERE identity_key = ?", (identity_key,)
    ).fetchone()
    return _row(row) if row else None


def list_all(conn: Connection) -> list[Contact]:
    """All contacts, by display name (case-insensitive), then id."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM contacts ORDER BY display_name COLLATE NOCASE, id"
    ).fetchall()
    return [_row(row) for row in rows]


def _set(conn: Connection, contact_id: int, column: str, value: object) -> None:
    cur = conn.execute(f"UPDATE contacts SET {column} = ? WHERE id = ?", (value, contact_id))
    expect_one_row(cur.rowcount, "contact")


def set_trust(conn: Connection, contact_id: int, trust: Trust) -> None:
    _set(conn, contact_id, "trust", trust)


def set_blocked(conn: Connection, contact_id: int, blocked: bool) -> None:
    _set(conn, contact_id, "blocked", int(blocked))


def set_display_name(conn: Connection, contact_id: int, display_name: str) -> None:
    _set(conn, contact_id, "display_name", display_name)


def set_card(conn: Connection, contact_id: int, card: bytes | None) -> None:
    _set(conn, contact_id, "card", card)


def set_direct_policy(conn: Connection, contact_id: int, policy: DirectPolicy) -> None:
    _set(conn, contact_id, "direct_policy", policy)


def delete(conn: Connection, contact_id: int) -> None:
    """Remove a contact and, by cascade, its conversation, messages, outbox and session."""
    cur = conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
    expect_one_row(cur.rowcount, "contact")
