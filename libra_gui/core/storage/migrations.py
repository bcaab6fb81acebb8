"""Schema versions: an ordered list of steps, each applied in its own transaction at open.

``schema_version`` holds one row. A step never edits an earlier step: to change the schema,
append a step. A database whose version is above the newest step was written by a newer Libra
and is refused (``CorruptStore``) rather than half-understood.

Steps run statement by statement (never ``executescript``, which would COMMIT the enclosing
transaction), so a failing step leaves the database exactly at the previous version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import CorruptStore
from ._conn import Connection, transaction


@dataclass(frozen=True, slots=True)
class Migration:
    """Step from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _statements(*sql: str) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return apply


# v1: the initial schema. Times are integer milliseconds since the Unix epoch (UTC).
# STRICT tables: SQLite enforces the declared column types instead of silently coercing.
SCHEMA_V1: tuple[str, ...] = (
    """
    CREATE TABLE identity (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        identity_seed   BLOB    NOT NULL CHECK (length(identity_seed) = 32),
        static_secret   BLOB    NOT NULL CHECK (length(static_secret) = 32),
        display_name    TEXT    NOT NULL,
        ratchet_account BLOB,
        created_at      INTEGER NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE contacts (
        id            INTEGER PRIMARY KEY,
        identity_key  BLOB    NOT NULL UNIQUE CHECK (length(identity_key) = 32),
        fingerprint   BLOB    NOT NULL CHECK (length(fingerprint) = 32),
        display_name  TEXT    NOT NULL,
        card          BLOB,
        trust         TEXT    NOT NULL DEFAULT 'unknown'
                      CHECK (trust IN ('unknown', 'known', 'verified', 'trusted')),
        blocked       INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        added_at      INTEGER NOT NULL,
        direct_policy TEXT    NOT NULL DEFAULT 'default'
                      CHECK (direct_policy IN ('default', 'off', 'allowed'))
    ) STRICT
    """,
    """
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        contact_id    INTEGER NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
        next_out_seq  INTEGER NOT NULL DEFAULT 1 CHECK (next_out_seq >= 0),
        next_in_seq   INTEGER NOT NULL DEFAULT 1 CHECK (next_in_seq >= 0),
        unread        INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),
        last_activity INTEGER
    ) STRICT
    """,
    # position: local display order within the conversation (1, 2, ...), assigned when a
    # message becomes displayable; NULL while an inbound message waits for a gap ('pending').
    # seq is per direction (our counter for 'out', the peer's for 'in'; unique per direction,
    # as protocol.delivery releases each seq once), so it cannot order a mixed conversation.
    """
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        msg_id          BLOB    NOT NULL CHECK (length(msg_id) = 16),
        direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
        seq             INTEGER NOT NULL CHECK (seq >= 0),
        position        INTEGER,
        sent_at         INTEGER NOT NULL,
        received_at     INTEGER,
        body            TEXT    NOT NULL,
        state           TEXT    NOT NULL CHECK (
                            (direction = 'out' AND state IN ('queued', 'sent', 'delivered'))
                            OR (direction = 'in' AND state IN ('pending', 'received'))),
        CHECK ((state = 'pending') = (position IS NULL)),
        UNIQUE (conversation_id, direction, msg_id)
    ) STRICT
    """,
    """
    CREATE UNIQUE INDEX messages_by_position ON messages (conversation_id, position DESC)
        WHERE position IS NOT NULL
    """,
    "CREATE UNIQUE INDEX messages_by_seq ON messages (conversation_id, direction, seq)",
    """
    CREATE TABLE outbox (
        msg_id          BLOB    PRIMARY KEY CHECK (length(msg_id) = 16),
        contact_id      INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL CHECK (seq >= 0),
        payload         BLOB    NOT NULL,
        ciphertext      BLOB,
        kind            INTEGER,
        state           TEXT    NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'sent', 'delivered')),
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID
    """,
    "CREATE INDEX outbox_by_contact ON outbox (contact_id, state, seq)",
    "CREATE INDEX outbox_by_due ON outbox (state, next_attempt_at)",
    """
    CREATE TABLE ratchet_sessions (
        contact_id INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
        pickle     BLOB    NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT, WITHOUT ROWID
    """,
)

# v2: contact requests received over a beacon, and the block list (protocol/requests.py).
# A requester has at most one pending request (partial unique index); decided_at is set
# exactly when the state leaves 'pending'. Blocks are by identity key, so they also cover
# keys that never sent a request (and survive deleting the request rows).
SCHEMA_V2: tuple[str, ...] = (
    """
    CREATE TABLE contact_requests (
        id           INTEGER PRIMARY KEY,
        identity_key BLOB    NOT NULL CHECK (length(identity_key) = 32),
        card         BLOB    NOT NULL CHECK (length(card) BETWEEN 1 AND 1024),
        message      TEXT    NOT NULL CHECK (length(message) <= 500),
        received_at  INTEGER NOT NULL,
        state        TEXT    NOT NULL DEFAULT 'pending' CHECK (
                         state IN ('pending', 'accepted', 'declined', 'blocked', 'unblocked')),
        decided_at   INTEGER,
        CHECK ((state = 'pending') = (decided_at IS NULL))
    ) STRICT
    """,
    """
    CREATE UNIQUE INDEX contact_requests_one_pending ON contact_requests (identity_key)
        WHERE state = 'pending'
    """,
    "CREATE INDEX contact_requests_by_received ON contact_requests (received_at)",
    "CREATE INDEX contact_requests_by_identity ON contact_requests (identity_key, state)",
    """
    CREATE TABLE blocked (
        identity_key BLOB    PRIMARY KEY CHECK (length(identity_key) = 32),
        blocked_at   INTEGER NOT NULL,
        reason       TEXT    NOT NULL DEFAULT ''
    ) STRICT, WITHOUT ROWID
    """,
)

# v3: file transfers (docs/protocol/files.md, docs/storage.md "Files"). A file offer is a
# chat message of kind 'file' (body = file name) with a transfer row of the same contact,
# direction and id; both are written in one transaction. 'in' rows name their chunk file
# (random, under <data_dir>/files/); 'out' rows keep the source path and what it looked
# like when offered (size, mtime) to notice a change before the transfer is done.
SCHEMA_V3: tuple[str, ...] = (
    """
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
        CHECK (kind IN ('text', 'file'))
    """,
    """
    CREATE TABLE file_transfers (
        id              INTEGER PRIMARY KEY,
        contact_id      INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
        file_id         BLOB    NOT NULL CHECK (length(file_id) = 16),
        name            TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
        size            INTEGER NOT NULL CHECK (size >= 0),
        sha256          BLOB    NOT NULL CHECK (length(sha256) = 32),
        chunk_size      INTEGER NOT NULL CHECK (chunk_size > 0),
        file_key        BLOB    NOT NULL CHECK (length(file_key) = 32),
        state           TEXT    NOT NULL CHECK (state IN (
                            'offered', 'accepted', 'transferring', 'done', 'failed',
                            'cancelled')),
        reason          TEXT,
        chunks          INTEGER NOT NULL DEFAULT 0 CHECK (chunks >= 0),
        stored_bytes    INTEGER NOT NULL DEFAULT 0 CHECK (stored_bytes >= 0),
        store_name      TEXT,
        source_path     TEXT,
        source_mtime_ns INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        CHECK ((direction = 'in') = (store_name IS NOT NULL)),
        CHECK ((direction = 'out') = (source_path IS NOT NULL)),
        UNIQUE (contact_id, direction, file_id)
    ) STRICT
    """,
    "CREATE INDEX file_transfers_by_state ON file_transfers (state)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _statements(*SCHEMA_V1)),
    Migration(2, "contact requests and block list", _statements(*SCHEMA_V2)),
    Migration(3, "file transfers", _statements(*SCHEMA_V3)),
)
LATEST_VERSION = MIGRATIONS[-1].version


def bootstrap(conn: Connection) -> None:
    """Stamp a brand-new database as version 0 (done once, inside ``Database.create``)."""
    with transaction(conn):
        conn.execute(
            "CREATE TABLE schema_version ("
            " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT"
        )
        conn.execute("INSERT INTO schema_version (id, version) VALUES (1, 0)")


def current_version(conn: Connection) -> int:
    """Schema version; CorruptStore if the table is missing (not a Libra profile database)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    row = conn.execute("SELECT version FROM schema_version").fetchone() if has_table else None
    if row is None or not isinstance(row[0], int):
        raise CorruptStore("the database is not a Libra profile (no schema version)")
    return row[0]


def migrate(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply every step above the stored version, one transaction each; return the version."""
    for expected, step in enumerate(migrations, start=1):
        if step.version != expected:
            raise ValueError(f"migration list is not contiguous at {step.version}")
    latest = len(migrations)
    version = current_version(conn)
    if version > latest:
        raise CorruptStore(
            f"this profile uses database schema v{version}, but this Libra only knows up to "
            f"v{latest}; it was written by a newer Libra - upgrade Libra to open it"
        )
    for step in migrations[version:]:
        with transaction(conn):
            step.apply(conn)
            conn.execute("UPDATE schema_version SET version = ? WHERE id = 1", (step.version,))
        version = step.version
    return version
