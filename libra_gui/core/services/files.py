"""File transfer: send and receive files over whatever link a contact has right now.

The offer is a chat item (``FileOffer`` through messaging's durable outbox: exactly once,
in order, in history); its hook creates the transfer row in the same transaction that stores
the message. Chunks then move over links (docs/protocol/files.md): the receiver *pulls* with
``FileRequest(from_index)`` after the user accepts and on every new link (Tor or direct), the
sender streams from there with ``drain(FILES)`` between chunks, the receiver acks durable
progress with ``FileAck`` and both may ``FileCancel``. So a link switch, a dead link or a
restart of either side costs at most the chunks since the receiver's last checkpoint.

Received chunks are stored sealed, as they arrived (storage/files.py); ``save`` is the only
plaintext write. The pure rules (sealing, sizes, accounting) are in protocol/files.py; this
module does the IO: chunk opening and disk writes on one private thread (so they stay in
order, also when a coroutine is cancelled), source reads and sealing on the default
executor, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeVar

from ..errors import CorruptStore, DecryptionError, LibraError, ProtocolError
from ..net.link import Channel, LinkClosed
from ..protocol import files as proto
from ..protocol.records import (
    KEY_LEN,
    MAX_FILE_SIZE,
    FileAck,
    FileCancel,
    FileChunk,
    FileOffer,
    FileQuery,
    FileRequest,
    LinkRecord,
)
from ..storage import files as files_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from .events import EventBus, FileOffered, FileProgress, FileStateChanged
from .messaging import AfterCommit, Item, MessagingService
from .profile import Profile

log = logging.getLogger(__name__)

T = TypeVar("T")
Direction = Literal["in", "out"]
HASH_BLOCK = 1 << 20
MAX_ANSWERED = 1024
"""Per link: stray file ids we answered (a flood of chunks for one id gets one reply)."""
_CANCEL_CODES = (
    proto.CancelReason.CANCELLED,
    proto.CancelReason.UNKNOWN,
    proto.CancelReason.TOO_LARGE,
    proto.CancelReason.NO_SPACE,
)
"""Peer reasons that end our side as 'cancelled'; every other reason means 'failed'."""


READ_BATCH = 8
"""Chunks the sender reads and seals per executor call (bounded memory: ~0.5 MB)."""


class FileLink(Protocol):
    """What file transfer needs from a link: queue records, and wait while bulk is queued."""

    def send(self, records: Sequence[LinkRecord]) -> None: ...

    async def drain(self, channel: Channel | None = None) -> None: ...


# --- errors ---------------------------------------------------------------------------------


class FileTransferError(LibraError):
    """A file transfer request that cannot be carried out."""


class UnknownTransfer(FileTransferError):
    """No transfer with that id (or not one of the kind the call needs)."""


class TransferStateError(FileTransferError):
    """The transfer is not in a state that allows this (e.g. save before it is done)."""


class FileTooLarge(FileTransferError):
    """The file is above the per-file limit (ours when receiving, the protocol's when sending)."""


class NotEnoughSpace(FileTransferError):
    """Free disk space minus the reserve cannot hold the file."""


class SourceError(FileTransferError):
    """The file to send cannot be read, or is not a regular file."""


class SourceChanged(SourceError):
    """The file being sent changed (size or modification time) or vanished before done."""


class SaveError(FileTransferError):
    """The received file could not be written to the chosen place (nothing is left there)."""


# --- policy ---------------------------------------------------------------------------------

_POLICY_KEYS = ("files.max_file_size", "files.disk_reserve", "files.auto_accept")


@dataclass(frozen=True)
class FilePolicy:
    """What incoming offers may do without asking; stored in the profile's settings."""

    max_file_size: int = 4 << 30
    """Larger offers are declined automatically (FileCancel reason too_large)."""
    disk_reserve: int = 512 << 20
    """Offers that would leave less free disk space than this are declined (no_space)."""
    auto_accept: bool = False
    """Accept offers within the limits without asking (off: every file needs accept())."""


def load_policy(conn: Connection) -> FilePolicy:
    default = FilePolicy()
    size, reserve, auto = (settings_repo.get(conn, key) for key in _POLICY_KEYS)
    return FilePolicy(
        max_file_size=int.from_bytes(size, "big") if size else default.max_file_size,
        disk_reserve=int.from_bytes(reserve, "big") if reserve else default.disk_reserve,
        auto_accept=auto == b"\x01" if auto else default.auto_accept,
    )


def save_policy(conn: Connection, policy: FilePolicy) -> None:
    if not 0 <= policy.max_file_size <= MAX_FILE_SIZE or not 0 <= policy.disk_reserve < 2**63:
        raise FileTransferError("file policy limits out of range")
    values = (
        policy.max_file_size.to_bytes(8, "big"),
        policy.disk_reserve.to_bytes(8, "big"),
        b"\x01" if policy.auto_accept else b"\x00",
    )
    for key, value in zip(_POLICY_KEYS, values, strict=True):
        settings_repo.put(conn, key, value)


# --- views and in-memory state --------------------------------------------------------------


@dataclass(frozen=True)
class FileTransfer:
    """A transfer as the GUI and CLI see it (no keys, no paths)."""

    id: int
    contact_id: int
    direction: Direction
    file_id: bytes
    name: str
    size: int
    state: files_repo.State
    reason: str | None
    done_bytes: int
    stalled: bool
    created_at: int


@dataclass(eq=False)
class _Incoming:
    """An accepted incoming transfer: its open chunk file and the receiver state machine."""

    row: files_repo.Transfer
    plan: proto.FilePlan
    state: proto.ReceiveState
    path: Path
    fh: BinaryIO
    stored_bytes: int
    hasher: Any | None
    """SHA-256 over chunks 0..next-1, or None after a restart (then re-read at the end)."""
    transferring: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class _Outgoing:
    """An outgoing transfer not yet done: the sender state machine and its stream task."""

    row: files_repo.Transfer
    plan: proto.FilePlan
    state: proto.SendState
    transferring: bool
    progress: proto.Throttle
    task: asyncio.Task[None] | None = None


def _need_bytes(plan: proto.FilePlan) -> int:
    """Disk space the sealed chunk file of this plan can take."""
    return plan.max_sealed_bytes() + plan.chunks * files_repo.STORED_PREFIX_LEN


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def _code_of(label: str | None) -> proto.CancelReason:
    """The FileCancel code for a stored reason (a peer's own reason goes back as cancelled)."""
    if label is None or label.startswith("peer:"):
        return proto.CancelReason.CANCELLED
    try:
        return proto.CancelReason[label.upper()]
    except KeyError:
        return proto.CancelReason.FAILED


# --- the service ----------------------------------------------------------------------------


class FileService:
    """Send, accept, cancel and save files; publishes FileOffered / FileProgress /
    FileStateChanged. Call :meth:`start` once before links come up, :meth:`close` at the end.

    The Node forwards every link of a contact to :meth:`link_up` / :meth:`link_down` and
    every record batch to :meth:`receive` (it picks out the file records itself).
    """

    def __init__(
        self,
        profile: Profile,
        bus: EventBus,
        messaging: MessagingService,
        *,
        timing: proto.ReceiveTiming | None = None,
        chunk_size: int = proto.CHUNK_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._profile = profile
        self._db = profile.db
        self._bus = bus
        self._messaging = messaging
        self._timing = timing or proto.ReceiveTiming()
        self._chunk_size = chunk_size
        self._clock = clock
        self._data_dir = profile.db.paths.data_dir
        self._dir = self._data_dir / files_repo.FILES_DIR
        self._links: dict[int, FileLink] = {}
        self._answered: dict[int, set[tuple[Direction, bytes]]] = {}
        self._in: dict[tuple[int, bytes], _Incoming] = {}
        self._out: dict[tuple[int, bytes], _Outgoing] = {}
        self._activation = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="libra-files")
        self._closed = False
        proto.FilePlan(0, chunk_size)  # validates chunk_size
        messaging.on_item_stored(FileOffer, self._store_offer)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Delete chunk files no transfer needs; resume every unfinished transfer."""
        self._dir = await self._io(files_repo.files_dir, self._data_dir)
        keep = await self._db.run(files_repo.kept_store_names)
        removed = await self._io(files_repo.remove_orphans, self._dir, keep)
        if removed:
            log.info("removed %d leftover chunk files", len(removed))
        for row in await self._db.run(files_repo.active):
            if row.direction == "out":
                self._track_out(row)
            elif row.state != "offered":
                await self._activate(row)

    async def close(self) -> None:
        """Stop streams and timers and close chunk files (the store is closed by its owner)."""
        self._closed = True
        for inc in self._in.values():
            if inc.timer is not None:
                inc.timer.cancel()
        for out in self._out.values():
            if out.task is not None:
                out.task.cancel()
        for task in list(self._tasks):
            task.cancel()
        tasks = [t for t in (*self._tasks, *(o.task for o in self._out.values())) if t]
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, LibraError):
                await task
        for key, inc in list(self._in.items()):
            async with inc.lock:  # a chunk being stored finishes first
                self._in.pop(key, None)
                await self._io(inc.fh.close)
        self._out.clear()
        await asyncio.get_running_loop().run_in_executor(None, self._disk.shutdown)

    # -- public API --------------------------------------------------------------------------

    async def send_file(self, contact_id: int, path: str | os.PathLike[str]) -> FileTransfer:
        """Hash the file, then offer it to the contact as a chat item; it streams once the
        contact accepts. SourceError if it cannot be read; the path is kept (not the data),
        so the file must stay unchanged until the transfer is done."""
        loop = asyncio.get_running_loop()
        source = Path(path).absolute()
        size, mtime_ns, digest = await loop.run_in_executor(None, _describe_source, source)
        plan = proto.FilePlan(size, self._chunk_size)
        key = secrets.token_bytes(KEY_LEN)
        name = proto.sanitize_file_name(source.name)

        def build(msg_id: bytes, seq: int, sent_at: int) -> Item:
            return FileOffer(
                msg_id=msg_id,
                seq=seq,
                sent_at=sent_at,
                name=name,
                size=size,
                sha256=digest,
                chunk_size=plan.chunk_size,
                key=key,
            )

        def on_store(conn: Connection, item: Item) -> None:
            files_repo.insert(
                conn,
                contact_id=contact_id,
                direction="out",
                file_id=item.msg_id,
                name=name,
                size=size,
                sha256=digest,
                chunk_size=plan.chunk_size,
                file_key=key,
                state="offered",
                source_path=str(source),
                source_mtime_ns=mtime_ns,
            )

        file_id = await self._messaging.send_item(contact_id, build, on_store=on_store)
        row = await self._db.run(files_repo.find, contact_id, "out", file_id)
        assert row is not None
        self._track_out(row)
        self._publish_state(row, "offered")
        return self._view(row)

    async def accept(self, transfer_id: int) -> FileTransfer:
        """Accept an offered file: it is requested now and on every later link.

        NotEnoughSpace / FileTooLarge (it stays offered) if the limits no longer allow it.
        """
        row = await self._row(transfer_id, "in")

        def take(conn: Connection) -> files_repo.Transfer:
            current = files_repo.get(conn, transfer_id)
            if current is None or current.state != "offered":
                raise TransferStateError(f"transfer {transfer_id} is not waiting for acceptance")
            policy = load_policy(conn)
            plan = proto.FilePlan(current.size, current.chunk_size)
            if current.size > policy.max_file_size:
                raise FileTooLarge(f"the file is larger than the limit of {policy.max_file_size}")
            if _free_bytes(self._data_dir) - policy.disk_reserve < _need_bytes(plan):
                raise NotEnoughSpace("not enough free disk space for this file")
            files_repo.set_state(conn, transfer_id, "accepted")
            return files_repo.get(conn, transfer_id) or current

        row = await self._db.transaction(take)
        self._publish_state(row, "accepted")
        await self._activate(row)
        return self._view(row)

    async def cancel(self, transfer_id: int) -> FileTransfer:
        """Cancel (or decline) a transfer either way; partial data is deleted, the contact
        told. A transfer already done, failed or cancelled is left as it is."""
        row = await self._row(transfer_id)
        inc = self._in.get((row.contact_id, row.file_id)) if row.direction == "in" else None
        if inc is not None:
            async with inc.lock:
                if self._in.get((row.contact_id, row.file_id)) is inc:
                    await self._end(row, "cancelled", "cancelled", proto.CancelReason.CANCELLED)
        elif row.state not in files_repo.FINAL_STATES:
            await self._end(row, "cancelled", "cancelled", proto.CancelReason.CANCELLED)
        return self._view(await self._row(transfer_id))

    async def save(
        self, transfer_id: int, dest: str | os.PathLike[str], *, overwrite: bool = False
    ) -> Path:
        """Decrypt a received file to ``dest`` (the only plaintext Libra writes), checking its
        SHA-256 again on the way. SaveError if ``dest`` exists (unless ``overwrite``) or
        cannot be written; nothing is left at ``dest`` after any failure."""
        row = await self._row(transfer_id, "in")
        if row.state != "done" or row.store_name is None:
            raise TransferStateError(f"transfer {transfer_id} is not complete")
        path = files_repo.chunk_path(self._dir, row.store_name)
        target = Path(dest)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _save_sync, row, path, target, overwrite)
        return target

    async def list(self, contact_id: int | None = None) -> list[FileTransfer]:
        """Every transfer (with one contact), oldest first."""
        rows = await self._db.run(files_repo.list_all, contact_id)
        return [self._view(row) for row in rows]

    async def get_policy(self) -> FilePolicy:
        return await self._db.run(load_policy)

    async def set_policy(self, policy: FilePolicy) -> None:
        await self._db.transaction(save_policy, policy)

    # -- sink: links and records -------------------------------------------------------------

    async def link_up(self, contact_id: int, link: FileLink) -> None:
        """A new link to the contact: streams move to it, unfinished files are requested on
        it, and we ask where each of our delivered offers stands."""
        if self._closed:
            return
        log.debug("contact %d: file link %r", contact_id, link)
        self._links[contact_id] = link
        self._answered[contact_id] = set()
        for (cid, _), out in self._out.items():
            if cid == contact_id and out.task is not None:
                out.task.cancel()  # it streams on an older link; the receiver asks again
        for (cid, _), inc in list(self._in.items()):
            if cid == contact_id:
                self._request(inc)
        rows = await self._db.run(files_repo.unconfirmed_out, contact_id)
        if rows and self._links.get(contact_id) is link:
            link.send([FileQuery(file_id=row.file_id) for row in rows])

    async def link_down(self, contact_id: int, link: FileLink | None = None) -> None:
        """The link is gone (``link`` given: only if it is still the current one)."""
        if link is not None and self._links.get(contact_id) is not link:
            return
        self._links.pop(contact_id, None)
        for (cid, _), out in self._out.items():
            if cid == contact_id and out.task is not None:
                out.task.cancel()

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        """Handle the file records among ``records`` (others are ignored)."""
        if self._closed:
            return
        for record in records:
            try:
                if isinstance(record, FileChunk):
                    await self._on_chunk(contact_id, record)
                elif isinstance(record, FileRequest):
                    await self._on_request(contact_id, record)
                elif isinstance(record, FileAck):
                    await self._on_ack(contact_id, record)
                elif isinstance(record, FileCancel):
                    await self._on_cancel(contact_id, record)
                elif isinstance(record, FileQuery):
                    await self._on_query(contact_id, record)
            except LibraError as exc:
                log.warning(
                    "contact %d: %s failed: %s: %s",
                    contact_id,
                    type(record).__name__,
                    type(exc).__name__,
                    exc,
                )

    # -- offers (DB thread, inside messaging's transaction) ----------------------------------

    def _store_offer(self, conn: Connection, contact_id: int, item: Item) -> AfterCommit | None:
        """Create the incoming transfer row with the message; decline what the policy must."""
        assert isinstance(item, FileOffer)
        policy = load_policy(conn)
        plan = proto.FilePlan(item.size, item.chunk_size)
        code: proto.CancelReason | None = None
        if item.size > policy.max_file_size:
            code = proto.CancelReason.TOO_LARGE
        elif _free_bytes(self._data_dir) - policy.disk_reserve < _need_bytes(plan):
            code = proto.CancelReason.NO_SPACE
        state: files_repo.State = "accepted" if policy.auto_accept else "offered"
        row = files_repo.insert(
            conn,
            contact_id=contact_id,
            direction="in",
            file_id=item.msg_id,
            name=item.name,
            size=item.size,
            sha256=item.sha256,
            chunk_size=item.chunk_size,
            file_key=item.key,
            state="cancelled" if code is not None else state,
            reason=code.label if code is not None else None,
            store_name=secrets.token_hex(16),
        )
        return functools.partial(self._after_offer, row, code)

    async def _after_offer(self, row: files_repo.Transfer, code: proto.CancelReason | None) -> None:
        self._bus.publish(FileOffered(row.contact_id, row.id, row.file_id, row.name, row.size))
        if code is not None:
            log.info("declined file offer %d automatically: %s", row.id, code.label)
            self._send(
                row.contact_id, FileCancel(file_id=row.file_id, by_sender=False, reason=code)
            )
            self._publish_state(row, "cancelled", code.label)
        elif row.state == "accepted":
            self._publish_state(row, "accepted")
            await self._activate(row)

    # -- receiving ---------------------------------------------------------------------------

    async def _activate(self, row: files_repo.Transfer) -> None:
        """Open (or recover) the chunk file of an accepted transfer and request the rest."""
        key = (row.contact_id, row.file_id)
        async with self._activation:
            if key in self._in or self._closed:
                return
            assert row.store_name is not None
            plan = proto.FilePlan(row.size, row.chunk_size)
            self._dir = await self._io(files_repo.files_dir, self._data_dir)
            path = files_repo.chunk_path(self._dir, row.store_name)
            verify = functools.partial(_verifies, row, plan)
            chunks, stored = await self._io(
                files_repo.recover, path, row.chunks, row.stored_bytes, plan.chunks, verify
            )
            fh = await self._io(files_repo.open_for_append, path)
            if (chunks, stored) != (row.chunks, row.stored_bytes):
                log.info("transfer %d resumes at chunk %d of %d", row.id, chunks, plan.chunks)
                await self._db.transaction(
                    files_repo.set_progress, row.id, chunks, stored, row.state
                )
            inc = _Incoming(
                row=row,
                plan=plan,
                state=proto.ReceiveState(plan, chunks, self._clock(), self._timing),
                path=path,
                fh=fh,
                stored_bytes=stored,
                hasher=hashlib.sha256() if chunks == 0 else None,
                transferring=row.state == "transferring",
            )
            self._in[key] = inc
        if inc.state.complete:
            self._spawn(self._finish_locked(inc))
        else:
            self._request(inc)
            self._arm(inc)

    def _request(self, inc: _Incoming) -> None:
        """Ask the sender for everything from our next chunk, on the current link."""
        link = self._links.get(inc.row.contact_id)
        if link is None or inc.state.complete:
            return
        log.debug("transfer %d: requesting from chunk %d", inc.row.id, inc.state.next_index)
        link.send([FileRequest(file_id=inc.row.file_id, from_index=inc.state.next_index)])
        inc.state.restart_clock(self._clock())
        self._arm(inc)

    def _arm(self, inc: _Incoming) -> None:
        """One timer per transfer at the stall deadline (never per chunk, never polling)."""
        if inc.timer is not None:
            inc.timer.cancel()
            inc.timer = None
        deadline = inc.state.deadline()
        if deadline is None or self._closed:
            return
        delay = max(0.0, deadline - self._clock())
        inc.timer = asyncio.get_running_loop().call_later(delay, self._on_timer, inc)

    def _on_timer(self, inc: _Incoming) -> None:
        inc.timer = None
        if self._in.get((inc.row.contact_id, inc.row.file_id)) is not inc:
            return
        was_stalled = inc.state.stalled
        if not inc.state.poll(self._clock()):
            self._arm(inc)  # data came since the timer was set
            return
        if not was_stalled:
            self._publish_state(inc.row, self._state_of(inc), "stalled")
        self._request(inc)  # re-arms while a link exists; link_up re-requests otherwise

    async def _on_chunk(self, contact_id: int, record: FileChunk) -> None:
        key = (contact_id, record.file_id)
        inc = self._in.get(key)
        if inc is None:
            await self._stray(contact_id, "in", record.file_id)
            return
        async with inc.lock:
            if self._in.get(key) is not inc:
                return
            try:
                if inc.state.classify(record.index) is not proto.Verdict.STORE:
                    return
                written = await self._io(_store_chunk, inc, record)
            except (proto.BadChunk, proto.ChunkDecryptionFailed) as exc:
                log.warning(
                    "transfer %d: bad chunk from contact %d: %s", inc.row.id, contact_id, exc
                )
                await self._end(inc.row, "failed", "bad_data", proto.CancelReason.BAD_DATA)
                return
            except OSError as exc:
                log.error("transfer %d: cannot store a chunk: %s", inc.row.id, exc)
                await self._end(inc.row, "failed", "failed", proto.CancelReason.FAILED)
                return
            inc.stored_bytes += written
            was_stalled = inc.state.stalled
            after = inc.state.stored(self._clock())
            if not inc.transferring or was_stalled:
                inc.transferring = True
                self._publish_state(inc.row, "transferring")
            if after.checkpoint:
                await self._checkpoint(inc)
            if after.progress:
                self._publish_progress(inc.row, inc.plan.bytes_in(inc.state.next_index))
            if after.complete:
                await self._finish(inc)

    async def _checkpoint(self, inc: _Incoming) -> None:
        """Make the stored chunks durable, then record (and ack) them."""
        await self._io(files_repo.sync, inc.fh)
        chunks = inc.state.next_index
        await self._db.transaction(
            files_repo.set_progress, inc.row.id, chunks, inc.stored_bytes, "transferring"
        )
        inc.state.checkpoint_done(self._clock())
        if not inc.state.complete:
            self._send(inc.row.contact_id, FileAck(file_id=inc.row.file_id, chunks=chunks))

    async def _finish_locked(self, inc: _Incoming) -> None:
        async with inc.lock:
            if self._in.get((inc.row.contact_id, inc.row.file_id)) is inc:
                await self._finish(inc)

    async def _finish(self, inc: _Incoming) -> None:
        """Every chunk is stored: check the whole file's SHA-256, then done (or failed)."""
        row = inc.row
        try:
            digest = inc.hasher.digest() if inc.hasher is not None else await self._io(_rehash, inc)
        except (ProtocolError, DecryptionError, CorruptStore, OSError) as exc:
            log.error("transfer %d: stored chunks unreadable: %s", row.id, exc)
            await self._end(row, "failed", "failed", proto.CancelReason.FAILED)
            return
        if digest != row.sha256:
            log.warning("transfer %d: SHA-256 differs from the offer", row.id)
            await self._end(row, "failed", "hash_mismatch", proto.CancelReason.HASH_MISMATCH)
            return
        self._forget(row)
        await self._io(inc.fh.close)
        await self._db.transaction(
            files_repo.set_progress, row.id, inc.plan.chunks, inc.stored_bytes, "done"
        )
        self._send(row.contact_id, FileAck(file_id=row.file_id, chunks=inc.plan.chunks))
        self._publish_state(row, "done")

    async def _on_query(self, contact_id: int, record: FileQuery) -> None:
        """The sender asks where its file stands: FileAck, or FileCancel if it is over."""
        inc = self._in.get((contact_id, record.file_id))
        if inc is not None:
            chunks = min(inc.state.checkpointed, inc.plan.chunks - 1)
            self._send(contact_id, FileAck(file_id=record.file_id, chunks=chunks))
            return
        row = await self._db.run(files_repo.find, contact_id, "in", record.file_id)
        if row is None:
            reply: LinkRecord = FileCancel(
                file_id=record.file_id, by_sender=False, reason=proto.CancelReason.UNKNOWN
            )
        elif row.state in ("failed", "cancelled"):
            reply = FileCancel(file_id=record.file_id, by_sender=False, reason=_code_of(row.reason))
        else:
            done = row.state == "done"
            plan = proto.FilePlan(row.size, row.chunk_size)
            reply = FileAck(file_id=record.file_id, chunks=plan.chunks if done else 0)
        self._send(contact_id, reply)

    # -- sending -----------------------------------------------------------------------------

    def _track_out(self, row: files_repo.Transfer) -> None:
        plan = proto.FilePlan(row.size, row.chunk_size)
        self._out[(row.contact_id, row.file_id)] = _Outgoing(
            row=row,
            plan=plan,
            state=proto.SendState(plan, min(row.chunks, plan.chunks)),
            transferring=row.state == "transferring",
            progress=proto.Throttle(self._timing.progress_interval),
        )

    async def _on_request(self, contact_id: int, record: FileRequest) -> None:
        out = self._out.get((contact_id, record.file_id))
        log.debug(
            "contact %d asks for chunks from %d (known: %s)",
            contact_id,
            record.from_index,
            out is not None,
        )
        if out is None:
            await self._stray(contact_id, "out", record.file_id)
            return
        chunks = out.state.request(record.from_index)  # BadFileRecord: logged by receive()
        link = self._links.get(contact_id)
        if link is None:
            return
        if out.task is not None:
            out.task.cancel()
        out.task = asyncio.get_running_loop().create_task(self._stream(out, link, chunks))
        if not out.transferring:
            out.transferring = True
            await self._db.transaction(files_repo.set_state, out.row.id, "transferring")
            self._publish_state(out.row, "transferring")

    async def _stream(self, out: _Outgoing, link: FileLink, chunks: range) -> None:
        """Send ``chunks`` on ``link``, reading and sealing each off the event loop."""
        loop = asyncio.get_running_loop()
        try:
            # Several chunks per executor call: one thread hand-off per chunk cost ~15 % of
            # the direct path's throughput (bench/bench_direct.py); 8 chunks is ~0.5 MB.
            for start in range(chunks.start, chunks.stop, READ_BATCH):
                batch = range(start, min(start + READ_BATCH, chunks.stop))
                sealed = await loop.run_in_executor(None, _read_sealed_batch, out, batch)
                for index, data in zip(batch, sealed, strict=True):
                    link.send([FileChunk(file_id=out.row.file_id, index=index, data=data)])
                    await link.drain(Channel.FILES)
        except LinkClosed:
            return  # the receiver asks again on the next link
        except SourceError as exc:
            log.warning("transfer %d: the source file changed: %s", out.row.id, type(exc).__name__)
            await self._end(out.row, "failed", "source_changed", proto.CancelReason.SOURCE_CHANGED)

    async def _on_ack(self, contact_id: int, record: FileAck) -> None:
        out = self._out.get((contact_id, record.file_id))
        if out is None or not out.state.ack(record.chunks):
            return
        row = out.row
        if out.state.done:
            self._forget(row)
            await self._db.transaction(files_repo.set_progress, row.id, out.plan.chunks, 0, "done")
            self._publish_progress(row, row.size)
            self._publish_state(row, "done")
            return
        state: files_repo.State = "transferring"
        await self._db.transaction(files_repo.set_progress, row.id, record.chunks, 0, state)
        if out.progress.ready(self._clock()):
            self._publish_progress(row, out.plan.bytes_in(record.chunks))

    # -- ending ------------------------------------------------------------------------------

    async def _on_cancel(self, contact_id: int, record: FileCancel) -> None:
        """The contact ended a transfer (``by_sender``: the one it sends us)."""
        direction: Direction = "in" if record.by_sender else "out"
        row = await self._db.run(files_repo.find, contact_id, direction, record.file_id)
        if row is None or row.state in files_repo.FINAL_STATES:
            return
        state: files_repo.State = "cancelled" if record.reason in _CANCEL_CODES else "failed"
        label = "peer:" + proto.reason_label(record.reason)
        inc = self._in.get((contact_id, record.file_id)) if direction == "in" else None
        if inc is None:
            await self._end(row, state, label, None)
            return
        async with inc.lock:
            if self._in.get((contact_id, record.file_id)) is inc:
                await self._end(row, state, label, None)

    async def _end(
        self,
        row: files_repo.Transfer,
        state: files_repo.State,
        label: str,
        code: proto.CancelReason | None,
    ) -> None:
        """The one way a transfer fails or is cancelled: stop it, record it, delete partial
        data (after the row says so: a crash in between leaves an orphan that start()
        removes), tell the contact (``code``) and the UI. Callers hold the incoming lock."""
        inc = self._in.get((row.contact_id, row.file_id)) if row.direction == "in" else None
        self._forget(row)
        await self._db.transaction(files_repo.set_state, row.id, state, label)
        if row.direction == "in" and row.store_name is not None:
            path = files_repo.chunk_path(self._dir, row.store_name)
            await self._io(_close_and_remove, inc.fh if inc else None, path)
        if code is not None:
            by_sender = row.direction == "out"
            self._send(
                row.contact_id, FileCancel(file_id=row.file_id, by_sender=by_sender, reason=code)
            )
        self._publish_state(row, state, label)

    def _forget(self, row: files_repo.Transfer) -> None:
        """Drop the in-memory state of a transfer that is over (timer, stream task)."""
        key = (row.contact_id, row.file_id)
        if row.direction == "in":
            inc = self._in.pop(key, None)
            if inc is not None and inc.timer is not None:
                inc.timer.cancel()
            return
        out = self._out.pop(key, None)
        if out is not None and out.task is not None and out.task is not asyncio.current_task():
            out.task.cancel()

    async def _stray(self, contact_id: int, direction: Direction, file_id: bytes) -> None:
        """A record for a transfer we are not running: once per link, tell the contact if
        it is unknown or over (a file offered but not accepted yet is left alone)."""
        answered = self._answered.setdefault(contact_id, set())
        if (direction, file_id) in answered or len(answered) >= MAX_ANSWERED:
            return
        answered.add((direction, file_id))
        row = await self._db.run(files_repo.find, contact_id, direction, file_id)
        if row is None:
            code = proto.CancelReason.UNKNOWN
        elif row.state in ("failed", "cancelled"):
            code = _code_of(row.reason)
        else:
            return
        self._send(
            contact_id, FileCancel(file_id=file_id, by_sender=direction == "out", reason=code)
        )

    # -- helpers -----------------------------------------------------------------------------

    async def _row(
        self, transfer_id: int, direction: Direction | None = None
    ) -> files_repo.Transfer:
        row = await self._db.run(files_repo.get, transfer_id)
        if row is None or (direction is not None and row.direction != direction):
            raise UnknownTransfer(
                f"no {'incoming ' if direction == 'in' else ''}transfer {transfer_id}"
            )
        return row

    def _view(self, row: files_repo.Transfer) -> FileTransfer:
        plan = proto.FilePlan(row.size, row.chunk_size)
        key = (row.contact_id, row.file_id)
        inc = self._in.get(key) if row.direction == "in" else None
        out = self._out.get(key) if row.direction == "out" else None
        chunks = inc.state.next_index if inc else out.state.acked if out else row.chunks
        return FileTransfer(
            id=row.id,
            contact_id=row.contact_id,
            direction=row.direction,
            file_id=row.file_id,
            name=row.name,
            size=row.size,
            state=row.state,
            reason=row.reason,
            done_bytes=row.size if row.state == "done" else plan.bytes_in(chunks),
            stalled=inc.state.stalled if inc else False,
            created_at=row.created_at,
        )

    def _state_of(self, inc: _Incoming) -> str:
        return "transferring" if inc.transferring else "accepted"

    def _send(self, contact_id: int, record: LinkRecord) -> None:
        link = self._links.get(contact_id)
        if link is not None:
            link.send([record])

    def _publish_state(
        self, row: files_repo.Transfer, state: str, reason: str | None = None
    ) -> None:
        self._bus.publish(FileStateChanged(row.contact_id, row.id, row.direction, state, reason))

    def _publish_progress(self, row: files_repo.Transfer, done_bytes: int) -> None:
        self._bus.publish(FileProgress(row.contact_id, row.id, row.direction, done_bytes, row.size))

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking chunk-file work on the one files thread (in submission order)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._disk, functools.partial(fn, *args))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# --- blocking helpers (executor threads) ----------------------------------------------------


def _describe_source(path: Path) -> tuple[int, int, bytes]:
    """Size, mtime (ns) and SHA-256 of a regular file that did not change while hashed."""
    try:
        with path.open("rb") as fh:
            before = os.fstat(fh.fileno())
            if not stat.S_ISREG(before.st_mode):
                raise SourceError(f"{path.name} is not a regular file")
            if before.st_size > MAX_FILE_SIZE:
                raise FileTooLarge(f"{path.name} is larger than {MAX_FILE_SIZE} bytes")
            digest = hashlib.sha256()
            while block := fh.read(HASH_BLOCK):
                digest.update(block)
            after = os.fstat(fh.fileno())
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise SourceChanged(f"{path.name} changed while it was being read")
    return before.st_size, before.st_mtime_ns, digest.digest()


def _read_sealed_batch(out: _Outgoing, indices: range) -> list[bytes]:
    """:func:`_read_sealed` for consecutive chunks, in one executor call."""
    return [_read_sealed(out, index) for index in indices]


def _read_sealed(out: _Outgoing, index: int) -> bytes:
    """Read chunk ``index`` of the source (unchanged since the offer) and seal it.

    Opens the file per chunk: no handle outlives a cancelled stream, and every chunk
    re-checks that the file is still the one offered.
    """
    row, plan = out.row, out.plan
    assert row.source_path is not None
    length = plan.chunk_len(index)
    try:
        with open(row.source_path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if (info.st_size, info.st_mtime_ns) != (row.size, row.source_mtime_ns):
                raise SourceChanged(f"{row.name} changed since it was offered")
            fh.seek(index * plan.chunk_size)
            data = fh.read(length)
    except OSError as exc:
        raise SourceChanged(f"{row.name} is no longer readable: {exc.strerror or exc}") from None
    if len(data) != length:
        raise SourceChanged(f"{row.name} is shorter than when it was offered")
    return proto.seal_chunk(row.file_key, row.file_id, index, plan.is_last(index), data)


def _open_stored(
    row: files_repo.Transfer, plan: proto.FilePlan, index: int, sealed: bytes
) -> bytes:
    return proto.open_chunk(
        row.file_key, row.file_id, index, plan.is_last(index), sealed, plan.chunk_len(index)
    )


def _verifies(row: files_repo.Transfer, plan: proto.FilePlan, index: int, sealed: bytes) -> bool:
    try:
        _open_stored(row, plan, index, sealed)
    except (proto.BadChunk, proto.ChunkDecryptionFailed):
        return False
    return True


def _store_chunk(inc: _Incoming, record: FileChunk) -> int:
    """Open (verify, bounded inflate), hash and append one chunk; returns bytes written."""
    data = _open_stored(inc.row, inc.plan, record.index, record.data)
    if inc.hasher is not None:
        inc.hasher.update(data)
    return files_repo.append(inc.fh, record.data)


def _rehash(inc: _Incoming) -> bytes:
    """SHA-256 of the plaintext, streamed from the stored chunks (after a restart)."""
    digest = hashlib.sha256()
    inc.fh.flush()
    for index, sealed in enumerate(files_repo.read_chunks(inc.path, inc.plan.chunks)):
        digest.update(_open_stored(inc.row, inc.plan, index, sealed))
    return digest.digest()


def _close_and_remove(fh: BinaryIO | None, path: Path) -> None:
    if fh is not None:
        with contextlib.suppress(OSError):
            fh.close()
    files_repo.remove(path)


def _save_sync(row: files_repo.Transfer, path: Path, dest: Path, overwrite: bool) -> None:
    plan = proto.FilePlan(row.size, row.chunk_size)
    try:
        out = dest.open("wb" if overwrite else "xb")
    except OSError as exc:
        raise SaveError(f"cannot write {dest}: {exc.strerror or exc}") from None
    try:
        with out:
            digest = hashlib.sha256()
            for index, sealed in enumerate(files_repo.read_chunks(path, plan.chunks)):
                data = _open_stored(row, plan, index, sealed)
                digest.update(data)
                out.write(data)
        if digest.digest() != row.sha256:
            raise proto.HashMismatch("the stored file does not match its SHA-256")
    except OSError as exc:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise SaveError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise
