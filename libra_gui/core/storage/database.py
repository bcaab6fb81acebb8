"""The encrypted profile database: SQLCipher 4 keyed with Argon2id(passphrase), one DB thread.

Files in ``data_dir`` (see docs/storage.md):

* ``profile.db`` (+ ``-wal``/``-shm`` while open or after a crash): SQLCipher 4, raw 256-bit key;
* ``profile.hdr``: KDF parameters and salt (``keyfile``), no secrets;
* ``profile.hdr.next``: exists only while a passphrase change is in flight (or crashed).

Every SQLite call happens on one dedicated executor thread: sqlite connections are not
thread-safe, and a slow query or the deliberately slow KDF must never stall the event loop.
The async API (``run``, ``transaction``) ships a sync ``fn(conn, ...)`` to that thread.

The key is handed to SQLCipher through ``sqlite3_key`` (``Connection.set_key``), never as SQL
text, so it cannot show up in a statement trace, an error message or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import sqlcipher3

from ..errors import (
    CorruptStore,
    ProfileExists,
    ProfileNotFound,
    StorageError,
    WrongPassphrase,
)
from ._conn import Connection, transaction, translate
from .keyfile import (
    DEFAULT_KDF,
    Header,
    KdfParams,
    derive_key,
    fsync_dir,
    normalize_passphrase,
    read_header,
    write_header,
)
from .lock import ProfileLock
from .migrations import MIGRATIONS, Migration, bootstrap, migrate

P = ParamSpec("P")
T = TypeVar("T")

DB_NAME = "profile.db"
HEADER_NAME = "profile.hdr"
NEXT_HEADER_NAME = "profile.hdr.next"
CREATING_NAME = "profile.db.creating"

# Connection pragmas, applied after the key is verified. Why each one: docs/storage.md.
PRAGMAS: tuple[str, ...] = (
    "synchronous = FULL",  # a message we acknowledged survives power loss
    "foreign_keys = ON",
    "secure_delete = ON",  # deleted rows are zeroed, not left in free pages
    "temp_store = MEMORY",  # sorts and temp tables never touch disk (they are not encrypted)
    "trusted_schema = OFF",
)


@dataclass(frozen=True, slots=True)
class ProfilePaths:
    """Where a profile's files live inside its data directory."""

    data_dir: Path

    @property
    def db(self) -> Path:
        return self.data_dir / DB_NAME

    @property
    def header(self) -> Path:
        return self.data_dir / HEADER_NAME

    @property
    def next_header(self) -> Path:
        return self.data_dir / NEXT_HEADER_NAME

    @property
    def creating(self) -> Path:
        return self.data_dir / CREATING_NAME


class _BadKey(Exception):
    """Internal: the key does not decrypt page 1 (SQLITE_NOTADB)."""


@dataclass(slots=True)
class _Opened:
    conn: Connection
    header: Header
    key_check: bytes
    version: int
    thread_id: int = 0


# --- key handling (DB thread) ---------------------------------------------------------------

_HEX = b"0123456789abcdef"


def _key_spec(key: bytearray) -> bytearray:
    """``x'<hex>'``: tells SQLCipher the key is raw (no PBKDF2). Built in a wipeable buffer."""
    spec = bytearray(3 + 2 * len(key))
    spec[0:2] = b"x'"
    for i, byte in enumerate(key):
        spec[2 + 2 * i] = _HEX[byte >> 4]
        spec[3 + 2 * i] = _HEX[byte & 0x0F]
    spec[-1] = ord("'")
    return spec


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


def _key_check(key: bytearray) -> bytes:
    """In-memory fingerprint of the current key, to verify the old passphrase on change.

    Never stored: a stored key check value would be an offline guessing oracle.
    """
    return hashlib.sha256(b"libra/v1/in-memory-key-check" + key).digest()


def _connect(path: Path, key: bytearray, *, mode: str) -> Connection:
    """Open ``path`` with ``key``; raise ``_BadKey`` if the key does not decrypt it.

    ``mode`` is the SQLite URI mode: ``ro`` (probe: never writes the db or WAL), ``rw``
    (never creates a file) or ``rwc``.
    """
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    try:
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)
    except sqlcipher3.Error as exc:
        raise StorageError(f"cannot open the profile database: {exc}") from None
    try:
        # SQLCipher logs HMAC failures to stderr by default; a wrong passphrase is not news.
        conn.execute("PRAGMA cipher_log_level = NONE")
        spec = _key_spec(key)
        try:
            conn.set_key(spec)
        finally:
            _wipe(spec)
        # Pin the v4 format so a future SQLCipher with new defaults still opens our files.
        conn.execute("PRAGMA cipher_compatibility = 4")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        conn.close()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlcipher3.SQLITE_NOTADB:
            raise _BadKey from None
        raise translate(exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageError(f"cannot switch the database to WAL mode (got {mode!r})")
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")


def _checkpoint(conn: Connection) -> bool:
    """Copy the WAL into the main file and truncate it; False if a reader blocked it."""
    busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def _rekey(conn: Connection, key: bytearray) -> None:
    """Re-encrypt every page with ``key`` in one SQLite transaction (``PRAGMA rekey``)."""
    spec = _key_spec(key)
    try:
        conn.reset_key(spec)
    finally:
        _wipe(spec)


def _key_opens(path: Path, key: bytearray) -> bool:
    try:
        _connect(path, key, mode="ro").close()
    except (_BadKey, StorageError):
        return False
    return True


def _promote_next_header(paths: ProfilePaths) -> None:
    """Finish a passphrase change: ``profile.hdr.next`` becomes ``profile.hdr`` (atomic)."""
    try:
        os.replace(paths.next_header, paths.header)
    except OSError as exc:
        raise StorageError(f"cannot finish the header update: {exc.strerror}") from None
    fsync_dir(paths.data_dir)


def _discard(*paths: Path) -> None:
    removed = False
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    if removed:
        fsync_dir(paths[0].parent)


def _tmp_leftovers(paths: ProfilePaths) -> tuple[Path, ...]:
    return (
        paths.header.with_name(HEADER_NAME + ".tmp"),
        paths.next_header.with_name(NEXT_HEADER_NAME + ".tmp"),
    )


# --- open / create (DB thread) --------------------------------------------------------------


def _open_sync(
    paths: ProfilePaths, passphrase: str | bytes, migrations: Sequence[Migration]
) -> _Opened:
    if not paths.db.exists():
        raise ProfileNotFound(f"no Libra profile in {paths.data_dir}")
    if paths.db.stat().st_size == 0:
        raise CorruptStore("the profile database file is empty")
    candidates: list[tuple[Path, Header]] = []
    damaged: CorruptStore | None = None
    for path in (paths.header, paths.next_header):
        try:
            candidates.append((path, read_header(path)))
        except FileNotFoundError:
            continue
        except CorruptStore as exc:
            damaged = damaged or exc
    if not candidates:
        raise damaged or CorruptStore(f"the profile header ({HEADER_NAME}) is missing")

    for path, header in candidates:
        key = derive_key(passphrase, header)
        try:
            try:
                # Read-only probe first: a wrong key never writes the db or the WAL (a rw
                # connection would checkpoint a crashed WAL into the db file when closed).
                _connect(paths.db, key, mode="ro").close()
                conn = _connect(paths.db, key, mode="rw")
            except _BadKey:
                continue
            check = _key_check(key)
        finally:
            _wipe(key)
        try:
            _configure(conn)
            version = migrate(conn, migrations)
            if path == paths.next_header:
                # A passphrase change crashed after its rekey committed: finish it.
                _checkpoint(conn)
                _promote_next_header(paths)
            else:
                # A passphrase change crashed before its rekey committed: abandon it.
                _discard(paths.next_header)
            _discard(*_tmp_leftovers(paths))
        except BaseException:
            conn.close()
            raise
        return _Opened(conn, header, check, version)

    if damaged is not None:
        raise damaged
    raise WrongPassphrase("wrong passphrase: it does not unlock this profile")


def _create_sync(
    paths: ProfilePaths,
    passphrase: str | bytes,
    params: KdfParams,
    initialize: Callable[[Connection], None] | None,
    migrations: Sequence[Migration],
) -> _Opened:
    if not normalize_passphrase(passphrase):
        raise StorageError("the passphrase must not be empty")
    try:
        paths.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {paths.data_dir}: {exc.strerror}") from None
    if paths.db.exists():
        raise ProfileExists(f"a Libra profile already exists in {paths.data_dir}")
    # Leftovers of an interrupted create or passphrase change of a profile that never existed.
    creating = paths.creating
    stale = [creating.with_name(creating.name + suffix) for suffix in ("", "-wal", "-shm")]
    _discard(*stale, paths.next_header, *_tmp_leftovers(paths))

    header = Header.new(params)
    key = derive_key(passphrase, header)
    try:
        # Header first, database last: until the final rename there is no profile.db, so a
        # crash anywhere leaves "no profile" (an orphan header is overwritten by the next create).
        write_header(paths.header, header)
        try:
            os.close(os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise StorageError(f"cannot create the database file: {exc.strerror}") from None
        conn = _connect(creating, key, mode="rw")
        try:
            _configure(conn)
            bootstrap(conn)
            migrate(conn, migrations)
            if initialize is not None:
                with transaction(conn):
                    initialize(conn)
            _checkpoint(conn)
        finally:
            conn.close()
        if any(p.exists() for p in stale[1:]):
            raise StorageError("the new database did not close cleanly")
        fd = os.open(creating, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(creating, paths.db)
        fsync_dir(paths.data_dir)
        conn = _connect(paths.db, key, mode="rw")
        check = _key_check(key)
    except _BadKey:
        raise StorageError("the new database does not accept its own key") from None
    except OSError as exc:
        raise StorageError(f"cannot create the profile database: {exc.strerror}") from None
    finally:
        _wipe(key)
    try:
        _configure(conn)
        version = migrate(conn, migrations)
    except BaseException:
        conn.close()
        raise
    return _Opened(conn, header, check, version)


def _new_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="libra-db")


async def _start(executor: ThreadPoolExecutor, job: Callable[[], _Opened]) -> _Opened:
    """Run an open/create job on the DB thread; if the caller gives up, close what it opened."""

    def wrapped() -> _Opened:
        try:
            opened = job()
        except sqlcipher3.Error as exc:
            raise translate(exc) from None
        opened.thread_id = threading.get_ident()
        return opened

    future: Future[_Opened] = executor.submit(wrapped)
    try:
        return await asyncio.wrap_future(future)
    except BaseException:

        def cleanup() -> None:  # runs after ``job`` on the same thread, so future is done
            if not future.cancelled() and future.exception() is None:
                future.result().conn.close()

        executor.submit(cleanup)
        executor.shutdown(wait=False)
        raise


# --- the public object ---------------------------------------------------------------------


class Database:
    """An open profile. Create with ``await Database.create(...)`` / ``await Database.open(...)``.

    All methods are coroutines that run their work on the single DB thread, in call order.
    A ``run`` whose awaiting task is cancelled has either not started or runs to completion;
    a transaction is never left half-applied.
    """

    def __init__(
        self,
        paths: ProfilePaths,
        executor: ThreadPoolExecutor,
        opened: _Opened,
        lock: ProfileLock,
    ) -> None:
        self._paths = paths
        self._lock = lock
        self._executor = executor
        self._conn = opened.conn
        self._header = opened.header
        self._key_check = opened.key_check
        self._version = opened.version
        self._closed = False
        self._thread_id = opened.thread_id

    # -- lifecycle --

    @staticmethod
    def exists(data_dir: Path | str) -> bool:
        """Whether ``data_dir`` holds a profile (what the UI asks before "create or unlock?")."""
        return ProfilePaths(Path(data_dir)).db.exists()

    @classmethod
    async def create(
        cls,
        data_dir: Path | str,
        passphrase: str | bytes,
        *,
        kdf_params: KdfParams = DEFAULT_KDF,
        initialize: Callable[[Connection], None] | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> Database:
        """Create a new profile; ``ProfileExists`` if there is one.

        ``initialize(conn)`` runs in one transaction before the database becomes visible, so
        a crash never leaves a half-initialised profile (e.g. one without an identity).
        ``migrations`` exists for tests.
        """
        paths = ProfilePaths(Path(data_dir))
        try:
            paths.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {paths.data_dir}: {exc.strerror}") from None
        lock = ProfileLock(paths.data_dir)
        lock.acquire()
        executor = _new_executor()
        try:
            opened = await _start(
                executor,
                lambda: _create_sync(paths, passphrase, kdf_params, initialize, migrations),
            )
        except BaseException:
            lock.release()
            raise
        return cls(paths, executor, opened, lock)

    @classmethod
    async def open(
        cls,
        data_dir: Path | str,
        passphrase: str | bytes,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> Database:
        """Unlock a profile and bring its schema up to date.

        Raises ``ProfileNotFound``, ``WrongPassphrase`` (no file was modified) or
        ``CorruptStore`` (damaged header/database, or schema newer than this code).
        """
        paths = ProfilePaths(Path(data_dir))
        if not paths.db.exists():
            raise ProfileNotFound(f"no Libra profile in {paths.data_dir}")
        lock = ProfileLock(paths.data_dir)
        lock.acquire()
        executor = _new_executor()
        try:
            opened = await _start(executor, lambda: _open_sync(paths, passphrase, migrations))
        except BaseException:
            lock.release()
            raise
        return cls(paths, executor, opened, lock)

    async def close(self) -> None:
        """Checkpoint the WAL (so no ``-wal`` file is left behind) and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        future = self._executor.submit(self._close_sync)
        try:
            await asyncio.shield(asyncio.wrap_future(future))
        finally:
            self._executor.shutdown(wait=False)
            self._lock.release()

    def _close_sync(self) -> None:
        with contextlib.suppress(sqlcipher3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            _checkpoint(self._conn)
        self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- work --

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on the DB thread (autocommit unless fn opens a
        transaction). Driver errors become ``StorageError``/``CorruptStore``."""
        if self._closed:
            raise StorageError("the profile database is closed")
        future = self._executor.submit(self._call, fn, args, kwargs)
        return await asyncio.wrap_future(future)

    async def transaction(
        self,
        fn: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, ...)`` inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error)."""
        return await self.run(_in_transaction, fn, *args, **kwargs)

    def _call(self, fn: Callable[..., T], args: tuple[object, ...], kwargs: dict) -> T:
        conn = self._conn
        try:
            result = fn(conn, *args, **kwargs)
        except sqlcipher3.Error as exc:
            self._rollback_leftover()
            raise translate(exc) from exc
        except BaseException:
            self._rollback_leftover()
            raise
        if self._rollback_leftover():
            raise StorageError(f"{getattr(fn, '__name__', fn)!s} left a transaction open")
        return result

    def _rollback_leftover(self) -> bool:
        """Never let one call's open transaction leak into the next call."""
        if not self._conn.in_transaction:
            return False
        with contextlib.suppress(sqlcipher3.Error):
            self._conn.execute("ROLLBACK")
        return True

    # -- passphrase --

    async def change_passphrase(
        self,
        old: str | bytes,
        new: str | bytes,
        *,
        kdf_params: KdfParams | None = None,
    ) -> None:
        """Re-encrypt the database under Argon2id(new, fresh salt).

        ``kdf_params`` None keeps the profile's current cost. ``WrongPassphrase`` if ``old``
        is wrong (nothing changed). Crash-safe at every step; see docs/storage.md.
        """
        if self._closed:
            raise StorageError("the profile database is closed")
        future = self._executor.submit(self._change_passphrase_sync, old, new, kdf_params)
        await asyncio.shield(asyncio.wrap_future(future))

    def _change_passphrase_sync(
        self, old: str | bytes, new: str | bytes, kdf_params: KdfParams | None
    ) -> None:
        if not normalize_passphrase(new):
            raise StorageError("the passphrase must not be empty")
        paths, conn = self._paths, self._conn
        old_key = derive_key(old, self._header)
        new_key = bytearray()
        try:
            if not hmac.compare_digest(_key_check(old_key), self._key_check):
                raise WrongPassphrase("the current passphrase is wrong; nothing was changed")
            header = Header.new(kdf_params or self._header.params)
            new_key = derive_key(new, header)
            _checkpoint(conn)
            # 1. The new header is durable before the database changes ...
            write_header(paths.next_header, header)
            # 2. ... the rekey commits atomically (one SQLite transaction) ...
            try:
                _rekey(conn, new_key)
            except BaseException as exc:
                if _key_opens(paths.db, old_key):
                    _discard(paths.next_header)  # rolled back: the old header still rules
                # else: leave both headers; open() keeps whichever one unlocks the database
                if isinstance(exc, sqlcipher3.Error):
                    raise translate(exc) from None
                raise
            self._header, self._key_check = header, _key_check(new_key)
        finally:
            _wipe(old_key)
            _wipe(new_key)
        # 3. ... then the new-key pages move from the WAL into the main file, and
        # 4. the new header replaces the old one. A crash before 4 is finished by open().
        _checkpoint(conn)
        _promote_next_header(paths)

    # -- introspection --

    @property
    def paths(self) -> ProfilePaths:
        return self._paths

    @property
    def kdf_params(self) -> KdfParams:
        """Current Argon2id cost (to decide whether to upgrade it at the next change)."""
        return self._header.params

    @property
    def schema_version(self) -> int:
        return self._version

    @property
    def closed(self) -> bool:
        return self._closed

    def on_db_thread(self) -> bool:
        """True when called from the DB thread (for assertions in composite operations)."""
        return threading.get_ident() == self._thread_id


def _in_transaction(conn: Connection, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    with transaction(conn):
        return fn(conn, *args, **kwargs)
