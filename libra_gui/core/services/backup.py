"""Back up a profile and restore one: copies of the encrypted files, never plaintext.

A backup is a profile directory (``profile.db`` + ``profile.hdr`` + ``files/``), still
encrypted under the same passphrase, so restoring it is "copy it back and unlock it".
Consistency: the copy is taken on the store's single DB thread right after a
``wal_checkpoint(TRUNCATE)``, so no write can land between checkpoint and copy. Atomicity: both
directions write into a temporary directory first and rename at the end, so a failure (or a
crash) leaves no half-written backup and no half-restored profile. See docs/storage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from pathlib import Path

from ..errors import ProfileExists, ProfileNotFound, StorageError
from ..storage._conn import Connection
from ..storage.database import DB_NAME, HEADER_NAME, NEXT_HEADER_NAME, Database, ProfilePaths
from ..storage.files import FILES_DIR
from ..storage.keyfile import fsync_dir
from ..storage.lock import LOCK_NAME, ProfileLock
from .paths import ensure_private_dir
from .profile import Profile, unlocked

PARTIAL_PREFIX = ".libra-partial-"  # a backup or restore under way (or crashed: deleted later)


class NotABackup(ProfileNotFound):
    """The folder chosen to restore from holds no Libra profile."""


class BackupDestinationNotEmpty(StorageError):
    """A backup goes into a new or empty folder: we never mix it with other files."""


# --- backup ---------------------------------------------------------------------------------


async def backup(source: Profile | Database | Path, dest_dir: Path) -> Path:
    """Copy a profile's encrypted files to ``dest_dir`` (new or empty); return ``dest_dir``.

    ``source`` is an unlocked profile (the copy is taken on its DB thread, so Libra may keep
    running) or the data directory of a closed profile (its lock is held while copying).
    """
    dest = Path(dest_dir)
    _check_destination(dest)
    if isinstance(source, Profile):
        source = source.db
    if isinstance(source, Database):
        db = source
        # The copy runs on the DB thread: nothing can write between the checkpoint and the copy.
        return await db.run(_snapshot_open, db.paths, dest)
    return await asyncio.to_thread(_snapshot_closed, Path(source), dest)


def _check_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupDestinationNotEmpty(
            f"{dest} is not an empty folder: choose a new or empty folder for the backup"
        )


def _snapshot_open(conn: Connection, paths: ProfilePaths, dest: Path) -> Path:
    busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StorageError("the database is busy; try the backup again")
    return _write_backup(paths, dest, with_wal=False)


def _snapshot_closed(data_dir: Path, dest: Path) -> Path:
    paths = ProfilePaths(data_dir)
    if not paths.db.exists():
        raise ProfileNotFound(f"no Libra profile in {data_dir}")
    lock = ProfileLock(data_dir)
    lock.acquire()  # ProfileInUse if Libra or `libra-cli run` has it open
    try:
        # After a crash the WAL holds committed data: copy it along (restore replays it).
        return _write_backup(paths, dest, with_wal=True)
    finally:
        lock.release()


def _write_backup(paths: ProfilePaths, dest: Path, *, with_wal: bool) -> Path:
    """Copy into a sibling temp dir, fsync, rename to ``dest``. Database first, then files:
    a chunk file is then never shorter than the checkpoint the copied database names."""
    _check_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f"{PARTIAL_PREFIX}{secrets.token_hex(6)}"
        tmp.mkdir(mode=0o700)
    except OSError as exc:
        raise StorageError(f"cannot create the backup folder: {exc.strerror}") from None
    try:
        names = [DB_NAME, HEADER_NAME]
        if with_wal:
            names += [DB_NAME + "-wal", NEXT_HEADER_NAME]
        _copy_profile_files(paths.data_dir, tmp, names)
        with contextlib.suppress(FileNotFoundError):
            dest.rmdir()  # empty (checked): the rename below needs it gone
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(f"cannot write the backup: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _copy_profile_files(src: Path, dst: Path, names: list[str]) -> None:
    """Copy the named files (those that exist) and ``files/``; private modes, fsynced."""
    for name in names:
        if (src / name).is_file():
            _copy_file(src / name, dst / name)
    chunks = src / FILES_DIR
    if chunks.is_dir():
        (dst / FILES_DIR).mkdir(mode=0o700)
        for path in sorted(chunks.iterdir()):
            if path.is_file():
                _copy_file(path, dst / FILES_DIR / path.name)
        fsync_dir(dst / FILES_DIR)
    fsync_dir(dst)


def _copy_file(src: Path, dst: Path) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


# --- restore --------------------------------------------------------------------------------


async def restore(src_dir: Path, data_dir: Path, passphrase: str) -> None:
    """Make the backup in ``src_dir`` the profile in ``data_dir``.

    Raises ``NotABackup`` (no profile in ``src_dir``), ``ProfileExists`` (``data_dir`` has
    one: never overwritten), ``WrongPassphrase`` or ``CorruptStore`` — all before ``data_dir``
    changes. The copy is unlocked (and its schema migrated) before it becomes the profile.
    """
    src, data_dir = Path(src_dir), Path(data_dir)
    if not (src / DB_NAME).is_file() or not (
        (src / HEADER_NAME).is_file() or (src / NEXT_HEADER_NAME).is_file()
    ):
        raise NotABackup(f"no Libra profile (profile.db and profile.hdr) in {src}")
    if Database.exists(data_dir):
        raise ProfileExists(f"a Libra profile already exists in {data_dir}; it was not changed")
    try:
        ensure_private_dir(data_dir)
    except OSError as exc:
        raise StorageError(f"cannot create {data_dir}: {exc.strerror}") from None
    lock = ProfileLock(data_dir)
    lock.acquire()  # no create/unlock of data_dir can race with us
    try:
        tmp = await asyncio.to_thread(_stage, src, data_dir)
        try:
            async with unlocked(tmp, passphrase):
                pass  # the passphrase opens it and the identity loads; close checkpoints
            await asyncio.to_thread(_install, tmp, data_dir)
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)
    finally:
        lock.release()


def _stage(src: Path, data_dir: Path) -> Path:
    """Copy the backup into ``data_dir/.libra-partial-*`` (same filesystem: renames work)."""
    if Database.exists(data_dir):
        raise ProfileExists(f"a Libra profile already exists in {data_dir}; it was not changed")
    chunks = data_dir / FILES_DIR
    if chunks.is_dir() and any(chunks.iterdir()):
        raise ProfileExists(f"{chunks} holds files of another profile; choose another folder")
    for stale in data_dir.glob(PARTIAL_PREFIX + "*"):  # an earlier restore that crashed
        shutil.rmtree(stale, ignore_errors=True)
    tmp = data_dir / f"{PARTIAL_PREFIX}{secrets.token_hex(6)}"
    try:
        tmp.mkdir(mode=0o700)
        names = [DB_NAME, HEADER_NAME, DB_NAME + "-wal", NEXT_HEADER_NAME]
        _copy_profile_files(src, tmp, names)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(f"cannot copy the backup: {exc.strerror}") from None
    return tmp


def _install(tmp: Path, data_dir: Path) -> None:
    """Header and files first, ``profile.db`` last: until that rename there is no profile."""
    for name in (DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME):
        with contextlib.suppress(FileNotFoundError):
            (tmp / name).unlink()
    moved_files = False
    try:
        os.replace(tmp / HEADER_NAME, data_dir / HEADER_NAME)
        if (tmp / FILES_DIR).is_dir():
            with contextlib.suppress(FileNotFoundError, OSError):
                (data_dir / FILES_DIR).rmdir()  # empty (checked in _stage)
            os.replace(tmp / FILES_DIR, data_dir / FILES_DIR)
            moved_files = True
        fsync_dir(data_dir)
        os.replace(tmp / DB_NAME, data_dir / DB_NAME)
        fsync_dir(data_dir)
    except OSError as exc:
        if moved_files:
            shutil.rmtree(data_dir / FILES_DIR, ignore_errors=True)
        raise StorageError(f"cannot restore the profile: {exc.strerror}") from None
