"""The user's own identity: one row holding the long-term secrets and the vodozemac account."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..crypto.identity import IdentityKeys
from ._conn import Connection, expect_one_row, now_ms


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """Row of ``identity``. Secrets are excluded from repr so they never reach a log."""

    identity_seed: bytes = field(repr=False)
    static_secret: bytes = field(repr=False)
    display_name: str
    ratchet_account: bytes | None = field(repr=False)
    created_at: int

    def keys(self) -> IdentityKeys:
        return IdentityKeys.from_seeds(self.identity_seed, self.static_secret)


_COLUMNS = "identity_seed, static_secret, display_name, ratchet_account, created_at"


def save(conn: Connection, record: IdentityRecord) -> None:
    """Insert or replace the single identity row."""
    conn.execute(
        f"INSERT OR REPLACE INTO identity (id, {_COLUMNS}) VALUES (1, ?, ?, ?, ?, ?)",
        (
            record.identity_seed,
            record.static_secret,
            record.display_name,
            record.ratchet_account,
            record.created_at,
        ),
    )


def create(
    conn: Connection,
    keys: IdentityKeys,
    display_name: str,
    *,
    ratchet_account: bytes | None = None,
    created_at: int | None = None,
) -> IdentityRecord:
    """Store freshly generated keys as the identity (convenience over ``save``)."""
    record = IdentityRecord(
        keys.identity_seed,
        keys.static_secret,
        display_name,
        ratchet_account,
        now_ms() if created_at is None else created_at,
    )
    save(conn, record)
    return record


def load(conn: Connection) -> IdentityRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM identity WHERE id = 1").fetchone()
    return IdentityRecord(*row) if row else None


def set_display_name(conn: Connection, display_name: str) -> None:
    cur = conn.execute("UPDATE identity SET display_name = ? WHERE id = 1", (display_name,))
    expect_one_row(cur.rowcount, "identity")


def set_ratchet_account(conn: Connection, ratchet_account: bytes) -> None:
    """Persist the pickled vodozemac Account (after every one-time-key change)."""
    cur = conn.execute("UPDATE identity SET ratchet_account = ? WHERE id = 1", (ratchet_account,))
    expect_one_row(cur.rowcount, "identity")
