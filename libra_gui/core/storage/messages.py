"""Messages of a conversation, as shown to the user.

``seq`` is per direction (ours for 'out', the peer's for 'in'). Display order is ``position``,
a per-conversation counter assigned when a message becomes displayable: at insert for 'out'
and in-order 'in' messages, at ``mark_received`` for an inbound message that arrived ahead of
a gap ('pending'). So the chat view never depends on either side's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import StorageError
from ._conn import Connection, expect_one_row, now_ms

Direction = Literal["in", "out"]
State = Literal["queued", "sent", "delivered", "pending", "received"]
Kind = Literal["text", "file"]
"""What the row shows: a text (``body`` is the text) or a file offer (``body`` is the file
name; the transfer is the ``file_transfers`` row with the same direction and id)."""
OUT_STATES = ("queued", "sent", "delivered")
IN_STATES = ("pending", "received")
MSG_ID_LEN = 16


@dataclass(frozen=True, slots=True)
class Message:
    id: int  # local row id
    conversation_id: int
    msg_id: bytes
    direction: Direction
    seq: int
    position: int | None  # display order; None while pending
    sent_at: int  # sender's clock, ms
    received_at: int | None  # our clock, ms; None for outbound
    body: str
    state: State
    kind: Kind = "text"


_COLUMNS = (
    "id, conversation_id, msg_id, direction, seq, position, sent_at, received_at, body, state, kind"
)
_NEXT_POSITION = (
    "(SELECT coalesce(max(position), 0) + 1 FROM messages"
    " WHERE conversation_id = ? AND position IS NOT NULL)"
)


def insert(
    conn: Connection,
    conversation_id: int,
    msg_id: bytes,
    direction: Direction,
    seq: int,
    body: str,
    state: State,
    *,
    sent_at: int,
    received_at: int | None = None,
    kind: Kind = "text",
) -> Message:
    """Insert a message; it gets the next display position unless it is 'pending'.

    A duplicate (conversation, direction, msg_id) or (conversation, direction, seq) violates
    UNIQUE (IntegrityError): check ``exists`` / the delivery verdict first.
    """
    if len(msg_id) != MSG_ID_LEN:
        raise StorageError(f"msg_id must be {MSG_ID_LEN} bytes")
    if direction == "in" and received_at is None:
        received_at = now_ms()
    position_sql = "NULL" if state == "pending" else _NEXT_POSITION
    position_args: tuple[int, ...] = () if state == "pending" else (conversation_id,)
    row = conn.execute(
        "INSERT INTO messages (conversation_id, msg_id, direction, seq, position, sent_at,"
        f" received_at, body, state, kind) VALUES (?, ?, ?, ?, {position_sql}, ?, ?, ?, ?, ?)"
        f" RETURNING {_COLUMNS}",
        (
            conversation_id,
            msg_id,
            direction,
            seq,
            *position_args,
            sent_at,
            received_at,
            body,
            state,
            kind,
        ),
    ).fetchone()
    return Message(*row)


def get(
    conn: Connection, conversation_id: int, direction: Direction, msg_id: bytes
) -> Message | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages"
        " WHERE conversation_id = ? AND direction = ? AND msg_id = ?",
        (conversation_id, direction, msg_id),
    ).fetchone()
    return Message(*row) if row else None


def exists(conn: Connection, conversation_id: int, direction: Direction, msg_id: bytes) -> bool:
    """Dedupe check for a (possibly resent) message."""
    row = conn.execute(
        "SELECT 1 FROM messages WHERE conversation_id = ? AND direction = ? AND msg_id = ?",
        (conversation_id, direction, msg_id),
    ).fetchone()
    return row is not None


def by_seq(
    conn: Connection, conversation_id: int, direction: Direction, seq: int
) -> Message | None:
    """The message with this seq (unique per conversation and direction)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND direction = ? AND seq = ?",
        (conversation_id, direction, seq),
    ).fetchone()
    return Message(*row) if row else None


def latest(
    conn: Connection, conversation_id: int, limit: int = 200, *, before: int | None = None
) -> list[Message]:
    """The newest ``limit`` displayable messages, returned oldest first (ready to render).

    ``before`` is a position: pass the first returned message's position to page back.
    """
    bound = "" if before is None else " AND position < ?"
    args: tuple[int, ...] = (conversation_id,) if before is None else (conversation_id, before)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages"
        f" WHERE conversation_id = ? AND position IS NOT NULL{bound}"
        " ORDER BY position DESC LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [Message(*row) for row in reversed(rows)]


def pending_in(conn: Connection, conversation_id: int) -> list[Message]:
    """Inbound messages held back by a gap, by seq (what to release once the gap fills)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages"
        " WHERE conversation_id = ? AND direction = 'in' AND state = 'pending' ORDER BY seq",
        (conversation_id,),
    ).fetchall()
    return [Message(*row) for row in rows]


def mark_received(conn: Connection, conversation_id: int, msg_id: bytes) -> Message:
    """Release a 'pending' inbound message: it becomes 'received' and gets the next position."""
    return _release(conn, conversation_id, "msg_id", msg_id)


def release(conn: Connection, conversation_id: int, seq: int) -> Message:
    """``mark_received`` by seq: for the ``released`` seqs of a ``delivery.Decision``."""
    return _release(conn, conversation_id, "seq", seq)


def _release(conn: Connection, conversation_id: int, column: str, value: bytes | int) -> Message:
    assert column in ("msg_id", "seq")
    row = conn.execute(
        f"UPDATE messages SET state = 'received', position = {_NEXT_POSITION}"
        f" WHERE conversation_id = ? AND direction = 'in' AND {column} = ? AND state = 'pending'"
        f" RETURNING {_COLUMNS}",
        (conversation_id, conversation_id, value),
    ).fetchone()
    expect_one_row(1 if row else 0, "pending inbound message")
    return Message(*row)


def held_seqs(conn: Connection, conversation_id: int) -> list[int]:
    """Seqs of pending inbound messages (``delivery.Inbound.held`` after a restart)."""
    rows = conn.execute(
        "SELECT seq FROM messages"
        " WHERE conversation_id = ? AND direction = 'in' AND state = 'pending' ORDER BY seq",
        (conversation_id,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def set_state(
    conn: Connection, conversation_id: int, direction: Direction, msg_id: bytes, state: State
) -> None:
    """Outbound progress ('queued' -> 'sent' -> 'delivered'). Use ``mark_received`` for 'in'."""
    if direction == "in":
        raise StorageError("inbound messages change state through mark_received")
    cur = conn.execute(
        "UPDATE messages SET state = ? WHERE conversation_id = ? AND direction = ? AND msg_id = ?",
        (state, conversation_id, direction, msg_id),
    )
    expect_one_row(cur.rowcount, "message")


def count(conn: Connection, conversation_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return int(row[0])


# --- reads for the chat view and the contact list ------------------------------------------
# ``latest(..., before=)`` pages back through history; these two complete what a lazy chat
# view needs: what became displayable since the newest row it shows, and one preview per
# conversation, without loading anything else.


def newer(conn: Connection, conversation_id: int, after: int, limit: int = 200) -> list[Message]:
    """Displayable messages with a position after ``after``, oldest first (append to a view)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages"
        " WHERE conversation_id = ? AND position IS NOT NULL AND position > ?"
        " ORDER BY position LIMIT ?",
        (conversation_id, after, limit),
    ).fetchall()
    return [Message(*row) for row in rows]


def newest_per_conversation(conn: Connection) -> dict[int, Message]:
    """The newest displayable message of every conversation that has one, by conversation id."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages"
        " JOIN (SELECT conversation_id AS conv, max(position) AS last FROM messages"
        "       WHERE position IS NOT NULL GROUP BY conversation_id)"
        " ON conversation_id = conv AND position = last"
    ).fetchall()
    return {message.conversation_id: message for message in (Message(*row) for row in rows)}
