"""Contact requests received over a beacon, and the block list (schema v2).

State changes are guarded in SQL by the protocol's transition table
(:data:`TRANSITIONS`), so a stale GUI click can never move a request backwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import StorageError
from ..protocol.requests import (
    TRANSITIONS,
    Action,
    InvalidTransition,
    RequestState,
    next_state,
)
from ._conn import Connection, now_ms, transaction


@dataclass(frozen=True, slots=True)
class ContactRequest:
    id: int
    identity_key: bytes
    card: bytes
    message: str
    received_at: int
    state: RequestState
    decided_at: int | None


@dataclass(frozen=True, slots=True)
class Blocked:
    identity_key: bytes
    blocked_at: int
    reason: str


_COLUMNS = "id, identity_key, card, message, received_at, state, decided_at"


def _row(row: tuple) -> ContactRequest:
    values = list(row)
    values[5] = RequestState(values[5])
    return ContactRequest(*values)


def add_pending(
    conn: Connection,
    identity_key: bytes,
    card: bytes,
    message: str,
    *,
    received_at: int | None = None,
) -> ContactRequest:
    """Store a request the gate accepted. A second pending request from the same key
    violates the partial UNIQUE index (sqlite IntegrityError): the gate answers DUPLICATE."""
    cur = conn.execute(
        "INSERT INTO contact_requests (identity_key, card, message, received_at)"
        f" VALUES (?, ?, ?, ?) RETURNING {_COLUMNS}",
        (identity_key, card, message, now_ms() if received_at is None else received_at),
    )
    return _row(cur.fetchone())


def get(conn: Connection, request_id: int) -> ContactRequest | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM contact_requests WHERE id = ?", (request_id,)
    ).fetchone()
    return _row(row) if row else None


def list_pending(conn: Connection) -> list[ContactRequest]:
    """Pending requests, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM contact_requests WHERE state = 'pending' ORDER BY received_at, id"
    ).fetchall()
    return [_row(row) for row in rows]


def list_by_identity(conn: Connection, identity_key: bytes) -> list[ContactRequest]:
    """Every request from one key, newest first (history shown next to a pending one)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM contact_requests WHERE identity_key = ?"
        " ORDER BY received_at DESC, id DESC",
        (identity_key,),
    ).fetchall()
    return [_row(row) for row in rows]


def set_state(
    conn: Connection,
    request_id: int,
    state: RequestState | str,
    *,
    decided_at: int | None = None,
) -> ContactRequest:
    """Move a request to ``state`` if :data:`TRANSITIONS` allows it from its current state.

    StorageError if there is no such request; InvalidTransition otherwise (nothing changes).
    The UPDATE is a compare-and-set on the state read, so it never skips a step.
    """
    target = RequestState(state)
    current = get(conn, request_id)
    if current is None:
        raise StorageError("no such contact request")
    if not any(src is current.state and dst is target for (src, _), dst in TRANSITIONS.items()):
        raise InvalidTransition(f"cannot move a {current.state.value} request to {target.value}")
    row = conn.execute(
        f"UPDATE contact_requests SET state = ?, decided_at = ? WHERE id = ? AND state = ?"
        f" RETURNING {_COLUMNS}",
        (
            target.value,
            now_ms() if decided_at is None else decided_at,
            request_id,
            current.state.value,
        ),
    ).fetchone()
    if row is None:  # changed since we read it: impossible on the single DB thread
        raise InvalidTransition(f"request {request_id} changed while being decided")
    return _row(row)


def decide(
    conn: Connection,
    request_id: int,
    action: Action | str,
    *,
    at: int | None = None,
    reason: str = "",
) -> ContactRequest:
    """Apply an owner action atomically: the request's state and, for block/unblock, the
    block list. (Accept's other effects, adding the contact, belong to the service.)"""
    act = Action(action)
    at = now_ms() if at is None else at
    with transaction(conn):
        current = get(conn, request_id)
        if current is None:
            raise StorageError("no such contact request")
        updated = set_state(conn, request_id, next_state(current.state, act), decided_at=at)
        if act is Action.BLOCK:
            block(conn, updated.identity_key, reason=reason, blocked_at=at)
        elif act is Action.UNBLOCK:
            unblock(conn, updated.identity_key)
    return updated


def count_since(conn: Connection, since: int) -> int:
    """Requests stored at or after ``since`` (ms), whatever their state: the hourly quota."""
    row = conn.execute(
        "SELECT count(*) FROM contact_requests WHERE received_at >= ?", (since,)
    ).fetchone()
    return int(row[0])


def received_since(conn: Connection, since: int) -> list[int]:
    """received_at of requests stored at or after ``since``, ascending (restores the gate)."""
    rows = conn.execute(
        "SELECT received_at FROM contact_requests WHERE received_at >= ? ORDER BY received_at",
        (since,),
    ).fetchall()
    return [row[0] for row in rows]


# --- block list --------------------------------------------------------------------------------


def is_blocked(conn: Connection, identity_key: bytes) -> bool:
    row = conn.execute("SELECT 1 FROM blocked WHERE identity_key = ?", (identity_key,)).fetchone()
    return row is not None


def block(
    conn: Connection, identity_key: bytes, *, reason: str = "", blocked_at: int | None = None
) -> bool:
    """Add a key to the block list; False if it was already there (its entry is kept)."""
    cur = conn.execute(
        "INSERT INTO blocked (identity_key, blocked_at, reason) VALUES (?, ?, ?)"
        " ON CONFLICT (identity_key) DO NOTHING",
        (identity_key, now_ms() if blocked_at is None else blocked_at, reason),
    )
    return cur.rowcount == 1


def unblock(conn: Connection, identity_key: bytes) -> bool:
    """Remove a key from the block list; False if it was not blocked."""
    return conn.execute("DELETE FROM blocked WHERE identity_key = ?", (identity_key,)).rowcount == 1


def list_blocked(conn: Connection) -> list[Blocked]:
    rows = conn.execute(
        "SELECT identity_key, blocked_at, reason FROM blocked ORDER BY blocked_at, identity_key"
    ).fetchall()
    return [Blocked(*row) for row in rows]


def pending_keys(conn: Connection) -> list[bytes]:
    """Identity keys with a pending request (restores the gate)."""
    rows = conn.execute(
        "SELECT identity_key FROM contact_requests WHERE state = 'pending'"
    ).fetchall()
    return [row[0] for row in rows]


def shadow_keys(conn: Connection) -> list[bytes]:
    """Blocked keys that have sent us a request: the gate keeps answering them DUPLICATE."""
    rows = conn.execute(
        "SELECT DISTINCT b.identity_key FROM blocked AS b"
        " JOIN contact_requests AS r ON r.identity_key = b.identity_key"
    ).fetchall()
    return [row[0] for row in rows]
