"""Connection-level helpers shared by the database, migrations and repositories."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlcipher3

from ..errors import CorruptStore, StorageError

Connection = sqlcipher3.dbapi2.Connection
"""A connection of the store. Repositories also accept a stdlib ``sqlite3`` connection
(the benchmark baseline uses that); they only call ``execute``."""


def now_ms() -> int:
    """Wall-clock time in integer milliseconds, the unit of every timestamp column."""
    return time.time_ns() // 1_000_000


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception).

    Nested use becomes a SAVEPOINT, so services can compose repository calls that each open a
    transaction into one atomic unit. IMMEDIATE takes the write lock up front: a transaction
    never fails half-way with SQLITE_BUSY on its first write.
    """
    if conn.in_transaction:
        conn.execute("SAVEPOINT libra_nested")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled everything back
                conn.execute("ROLLBACK TO libra_nested")
                conn.execute("RELEASE libra_nested")
            raise
        conn.execute("RELEASE libra_nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def translate(exc: Exception) -> StorageError:
    """Map a driver exception to the typed error the rest of Libra handles."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlcipher3.SQLITE_CORRUPT, sqlcipher3.SQLITE_NOTADB):
        return CorruptStore(f"the profile database is damaged: {exc}")
    if code is not None and code & 0xFF == sqlcipher3.SQLITE_FULL:
        return StorageError("the disk is full; the last change was not saved")
    return StorageError(f"database error: {type(exc).__name__}: {exc}")


def expect_one_row(cursor_rowcount: int, what: str) -> None:
    """Repositories' update-by-id helpers: a missing row is a caller bug worth a clear error."""
    if cursor_rowcount != 1:
        raise StorageError(f"no such {what}")
