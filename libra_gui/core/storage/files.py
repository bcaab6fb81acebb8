"""File transfers: their rows in the store, and the chunk files of incoming ones.

A received file never touches the disk in plaintext: its chunks are appended exactly as
they arrived (sealed with the offer's file key, which lives only in the encrypted store) to
``<data_dir>/files/<random name>.chunks``, each as ``u32 BE length | sealed chunk``. The row
remembers a checkpoint (chunks, bytes) made durable with fsync *before* the row is updated;
after a crash :func:`recover` keeps every chunk after the checkpoint that still verifies
and cuts the file there, so a torn tail costs at most the chunks written since.

The chunk-file functions do blocking IO: call them from an executor.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import CorruptStore, StorageError
from ..protocol.records import MAX_CHUNK_DATA, MIN_CHUNK_DATA
from ._conn import Connection, expect_one_row, now_ms

Direction = Literal["in", "out"]
State = Literal["offered", "accepted", "transferring", "done", "failed", "cancelled"]
ACTIVE_STATES: tuple[State, ...] = ("offered", "accepted", "transferring")
FINAL_STATES: tuple[State, ...] = ("done", "failed", "cancelled")
FILES_DIR = "files"
CHUNK_FILE_SUFFIX = ".chunks"
STORED_PREFIX_LEN = 4


@dataclass(frozen=True, slots=True)
class Transfer:
    """One file transfer row. ``chunks``: 'in' = stored at the last checkpoint, 'out' = acked
    by the receiver; ``stored_bytes``: 'in' = chunk-file length at that checkpoint."""

    id: int
    contact_id: int
    direction: Direction
    file_id: bytes
    name: str
    size: int
    sha256: bytes
    chunk_size: int
    file_key: bytes = field(repr=False)
    state: State
    reason: str | None
    chunks: int
    stored_bytes: int
    store_name: str | None
    source_path: str | None = field(repr=False)
    source_mtime_ns: int | None
    created_at: int
    updated_at: int


_COLUMNS = (
    "id, contact_id, direction, file_id, name, size, sha256, chunk_size, file_key, state,"
    " reason, chunks, stored_bytes, store_name, source_path, source_mtime_ns, created_at,"
    " updated_at"
)


# --- rows -----------------------------------------------------------------------------------


def insert(
    conn: Connection,
    *,
    contact_id: int,
    direction: Direction,
    file_id: bytes,
    name: str,
    size: int,
    sha256: bytes,
    chunk_size: int,
    file_key: bytes,
    state: State,
    reason: str | None = None,
    store_name: str | None = None,
    source_path: str | None = None,
    source_mtime_ns: int | None = None,
) -> Transfer:
    """Add a transfer ('in' needs ``store_name``, 'out' needs ``source_path``)."""
    now = now_ms()
    row = conn.execute(
        "INSERT INTO file_transfers (contact_id, direction, file_id, name, size, sha256,"
        " chunk_size, file_key, state, reason, store_name, source_path, source_mtime_ns,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" RETURNING {_COLUMNS}",
        (
            contact_id,
            direction,
            file_id,
            name,
            size,
            sha256,
            chunk_size,
            file_key,
            state,
            reason,
            store_name,
            source_path,
            source_mtime_ns,
            now,
            now,
        ),
    ).fetchone()
    return Transfer(*row)


def get(conn: Connection, transfer_id: int) -> Transfer | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM file_transfers WHERE id = ?", (transfer_id,)
    ).fetchone()
    return Transfer(*row) if row else None


def find(
    conn: Connection, contact_id: int, direction: Direction, file_id: bytes
) -> Transfer | None:
    """The transfer a peer's record names (file ids are unique per contact and direction)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM file_transfers"
        " WHERE contact_id = ? AND direction = ? AND file_id = ?",
        (contact_id, direction, file_id),
    ).fetchone()
    return Transfer(*row) if row else None


def list_all(conn: Connection, contact_id: int | None = None) -> list[Transfer]:
    """Every transfer (of one contact), oldest first."""
    where, args = ("WHERE contact_id = ?", (contact_id,)) if contact_id is not None else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM file_transfers {where} ORDER BY id", args
    ).fetchall()
    return [Transfer(*row) for row in rows]


def active(conn: Connection) -> list[Transfer]:
    """Transfers not yet done, failed or cancelled (what a restart resumes)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM file_transfers WHERE state IN (?, ?, ?) ORDER BY id",
        ACTIVE_STATES,
    ).fetchall()
    return [Transfer(*row) for row in rows]


def unconfirmed_out(conn: Connection, contact_id: int) -> list[Transfer]:
    """Our unfinished transfers whose offer the contact has acknowledged (so it must know
    them): on a new link we ask where each one stands."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM file_transfers t"
        " WHERE contact_id = ? AND direction = 'out' AND state IN ('offered', 'transferring')"
        " AND EXISTS (SELECT 1 FROM messages m JOIN conversations c ON m.conversation_id = c.id"
        "   WHERE c.contact_id = t.contact_id AND m.direction = 'out'"
        "   AND m.msg_id = t.file_id AND m.state = 'delivered')"
        " ORDER BY id",
        (contact_id,),
    ).fetchall()
    return [Transfer(*row) for row in rows]


def set_state(conn: Connection, transfer_id: int, state: State, reason: str | None = None) -> None:
    cur = conn.execute(
        "UPDATE file_transfers SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
        (state, reason, now_ms(), transfer_id),
    )
    expect_one_row(cur.rowcount, "file transfer")


def set_progress(
    conn: Connection, transfer_id: int, chunks: int, stored_bytes: int, state: State
) -> None:
    """Checkpoint (incoming) or receiver's ack (outgoing), with the state it implies."""
    cur = conn.execute(
        "UPDATE file_transfers SET chunks = ?, stored_bytes = ?, state = ?, updated_at = ?"
        " WHERE id = ?",
        (chunks, stored_bytes, state, now_ms(), transfer_id),
    )
    expect_one_row(cur.rowcount, "file transfer")


def kept_store_names(conn: Connection) -> set[str]:
    """Chunk files that must stay: incoming transfers accepted, under way or done."""
    rows = conn.execute(
        "SELECT store_name FROM file_transfers WHERE direction = 'in'"
        " AND state IN ('accepted', 'transferring', 'done')"
    ).fetchall()
    return {row[0] for row in rows}


# --- chunk files (blocking IO) --------------------------------------------------------------


def files_dir(data_dir: Path) -> Path:
    """``<data_dir>/files``, created private (0700) if missing."""
    path = Path(data_dir) / FILES_DIR
    path.mkdir(mode=0o700, exist_ok=True)
    if os.name == "posix":
        path.chmod(0o700)
    return path


def chunk_path(directory: Path, store_name: str) -> Path:
    if not store_name.isalnum():  # our own random hex; never a path
        raise StorageError("bad chunk file name")
    return directory / (store_name + CHUNK_FILE_SUFFIX)


def recover(
    path: Path,
    checkpoint_chunks: int,
    checkpoint_bytes: int,
    max_chunks: int,
    verify: Callable[[int, bytes], bool],
) -> tuple[int, int]:
    """Complete, verified chunks at the start of the file: (count, bytes); the rest is cut.

    Starts at the checkpoint, or at the beginning if the checkpoint cannot describe this
    file (shorter than it says, or sizes no chunks could have). ``verify(index, sealed)``
    opens a chunk.
    """
    with contextlib.suppress(FileExistsError):
        _create(path)
    with path.open("r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        chunks, pos = (checkpoint_chunks, checkpoint_bytes)
        entry = (STORED_PREFIX_LEN + MIN_CHUNK_DATA, STORED_PREFIX_LEN + MAX_CHUNK_DATA)
        plausible = chunks * entry[0] <= pos <= chunks * entry[1] and chunks <= max_chunks
        if size < pos or not plausible:
            chunks, pos = 0, 0
        fh.seek(pos)
        while chunks < max_chunks:
            sealed = _read_one(fh)
            if sealed is None or not verify(chunks, sealed):
                break
            chunks += 1
            pos += STORED_PREFIX_LEN + len(sealed)
        if size != pos:
            fh.truncate(pos)
            fh.flush()
            os.fsync(fh.fileno())
    return chunks, pos


def open_for_append(path: Path) -> BinaryIO:
    """The chunk file, positioned at its end (call :func:`recover` first)."""
    return path.open("ab")


def append(fh: BinaryIO, sealed: bytes) -> int:
    """Append one sealed chunk; returns the bytes written (made durable by :func:`sync`)."""
    if not MIN_CHUNK_DATA <= len(sealed) <= MAX_CHUNK_DATA:
        raise StorageError("sealed chunk of impossible size")
    fh.write(len(sealed).to_bytes(STORED_PREFIX_LEN, "big") + sealed)
    return STORED_PREFIX_LEN + len(sealed)


def sync(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def read_chunks(path: Path, count: int) -> Iterator[bytes]:
    """The first ``count`` sealed chunks, in order; CorruptStore if the file has fewer."""
    with path.open("rb") as fh:
        for index in range(count):
            sealed = _read_one(fh)
            if sealed is None:
                raise CorruptStore(f"chunk file ends before chunk {index}")
            yield sealed


def remove(path: Path) -> None:
    """Delete a chunk file (absent is fine)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_orphans(directory: Path, keep: set[str]) -> list[str]:
    """Delete chunk files no transfer needs (cancelled, failed, or a crash mid-cleanup)."""
    removed = []
    for path in directory.glob("*" + CHUNK_FILE_SUFFIX):
        if path.name[: -len(CHUNK_FILE_SUFFIX)] not in keep:
            remove(path)
            removed.append(path.name)
    return removed


def _create(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    os.close(fd)


def _read_one(fh: BinaryIO) -> bytes | None:
    """One ``u32 length | sealed`` entry, or None at a clean or torn end."""
    head = fh.read(STORED_PREFIX_LEN)
    if len(head) < STORED_PREFIX_LEN:
        return None
    size = int.from_bytes(head, "big")
    if not MIN_CHUNK_DATA <= size <= MAX_CHUNK_DATA:
        return None
    sealed = fh.read(size)
    return sealed if len(sealed) == size else None
