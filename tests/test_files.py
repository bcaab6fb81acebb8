"""File transfer end to end: two users with real SQLCipher profiles, real ratchet sessions
and real Links over loopback TCP.

Faults are injected only where a test says so: a link closed, a side restarted, a source
file changed, or a "sender" whose records the test writes itself (sealed with the real file
key from its store) while its FileService hears nothing. To stop a transfer at an exact
point (loopback moves 20 MB faster than a test can react), a user's record consumer can
*hold* after N chunks: the link stops being read, TCP back-pressure stops the sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_link_support import HOST
from test_storage import find_leaks, needles_for

from libra_gui.core.errors import CorruptStore, LibraError
from libra_gui.core.net.link import Link, LinkConfig
from libra_gui.core.protocol import files as proto
from libra_gui.core.protocol.records import (
    FileAck,
    FileCancel,
    FileChunk,
    FileQuery,
    FileRequest,
    LinkRecord,
)
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import (
    EventBus,
    FileOffered,
    FileProgress,
    FileStateChanged,
    MessageReceived,
    MessageStateChanged,
)
from libra_gui.core.services.files import (
    FilePolicy,
    FileService,
    FileTransfer,
    NotEnoughSpace,
    SaveError,
    TransferStateError,
)
from libra_gui.core.services.messaging import MessagingService
from libra_gui.core.storage import INSECURE_TEST_KDF, Database
from libra_gui.core.storage import files as files_repo

PASS = "file transfer test passphrase"
MB = 1 << 20
TIMEOUT = 60.0  # generous: a loaded 2-core machine; tests wait on conditions, never on time
CONFIG = LinkConfig(handshake_timeout=30.0, heartbeat_interval=2.0, dead_after=60.0)
TIMING = proto.ReceiveTiming(stall_after=60.0, checkpoint_chunks=16, checkpoint_interval=0.2)


@dataclass
class User:
    name: str
    data_dir: Path
    timing: proto.ReceiveTiming = TIMING
    chunk_size: int = proto.CHUNK_SIZE
    contact_id: int = 0
    files_deaf: bool = False
    """Hand no link records to the FileService (a sender that never answers)."""
    bus: EventBus = field(default_factory=EventBus)
    events: list[object] = field(default_factory=list)
    seen: list[LinkRecord] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    links: list[Link] = field(default_factory=list)
    watchers: set[asyncio.Task[None]] = field(default_factory=set)
    hold_at: int | None = None
    """Once this many chunks arrived, the consumer of that link waits for release()."""
    held_link: Link | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)
    dropping: bool = False

    def __post_init__(self) -> None:
        self.bus.add_listener(self._on_event)

    def _on_event(self, event: object) -> None:
        self.events.append(event)
        self.changed.set()

    async def start(self) -> None:
        self.dropping, self.hold_at, self.held_link = False, None, None
        self.released = asyncio.Event()
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.messaging = MessagingService(self.prof, self.bus, rto=1.0)
        self.files = FileService(
            self.prof, self.bus, self.messaging, timing=self.timing, chunk_size=self.chunk_size
        )
        await self.files.start()

    async def stop(self) -> None:
        """Like a process exit: links cut, what they still deliver dropped, store closed."""
        self.dropping = True
        self.released.set()
        for link in self.links:
            link.abort()
        for task in list(self.watchers):
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, TIMEOUT)
        await self.files.close()
        await self.messaging.close()
        await self.prof.db.close()

    async def restart(self) -> None:
        await self.stop()
        self.events.clear()
        self.links.clear()
        await self.start()

    async def attach(self, link: Link) -> None:
        """What the Node's sink does: link_up to both services, then deliver records."""
        self.links.append(link)
        await self.messaging.link_up(self.contact_id, link)
        await self.files.link_up(self.contact_id, link)
        link.deliver_to(functools.partial(self.receive, link))
        task = asyncio.get_running_loop().create_task(self._watch(link))
        self.watchers.add(task)
        task.add_done_callback(self.watchers.discard)

    async def _watch(self, link: Link) -> None:
        await link.closed.wait()
        await link.wait_closed()
        await self.messaging.link_down(self.contact_id, link)
        await self.files.link_down(self.contact_id, link)
        self.changed.set()

    async def receive(self, link: Link, records: Sequence[LinkRecord]) -> None:
        if self.dropping:
            return
        self.seen.extend(records)
        await self.messaging.receive(self.contact_id, records)
        if not self.files_deaf:
            await self.files.receive(self.contact_id, records)
        self.changed.set()
        holds = self.hold_at is not None and self.held_link in (None, link)
        if holds and len(self.seen_of(FileChunk)) >= (self.hold_at or 0):
            self.held_link = link
            await self.released.wait()

    @property
    def holding(self) -> bool:
        return self.held_link is not None and not self.released.is_set()

    def release(self) -> None:
        self.hold_at = None
        self.released.set()

    async def wait(self, condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    def states(self, transfer_id: int) -> list[tuple[str, str | None]]:
        return [
            (e.state, e.reason)
            for e in self.events
            if isinstance(e, FileStateChanged) and e.transfer_id == transfer_id
        ]

    def last_state(self, transfer_id: int) -> tuple[str, str | None] | None:
        states = self.states(transfer_id)
        return states[-1] if states else None

    def offered(self) -> list[FileOffered]:
        return [e for e in self.events if isinstance(e, FileOffered)]

    def progress(self, transfer_id: int) -> int:
        done = [
            e.done_bytes
            for e in self.events
            if isinstance(e, FileProgress) and e.transfer_id == transfer_id
        ]
        return max(done, default=0)

    def seen_of(self, kind: type) -> list:
        return [r for r in self.seen if isinstance(r, kind)]

    def chunk_files(self) -> list[Path]:
        return sorted((self.data_dir / files_repo.FILES_DIR).glob("*.chunks"))


async def open_link(a: User, b: User) -> tuple[Link, Link]:
    """A fresh authenticated link a -> b over loopback; both sides attach it."""
    accepted: asyncio.Future[Link] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            link = await Link.accept(
                reader, writer, b.prof.keys, accept_peer=lambda _: True, config=CONFIG
            )
        except LibraError as exc:
            accepted.set_exception(exc)
            return
        accepted.set_result(link)

    server = await asyncio.start_server(handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection(HOST, port)
    a_link = await Link.connect(
        reader, writer, a.prof.keys, expected_identity=b.prof.keys.identity_public, config=CONFIG
    )
    async with asyncio.timeout(TIMEOUT):
        b_link = await accepted
    server.close()
    await a.attach(a_link)
    await b.attach(b_link)
    return a_link, b_link


@pytest.fixture
async def pair(tmp_path: Path):
    alice, bob = User("alice", tmp_path / "alice"), User("bob", tmp_path / "bob")
    cards = [
        await profile.create_profile(u.data_dir, PASS, u.name, kdf_params=INSECURE_TEST_KDF)
        for u in (alice, bob)
    ]
    for user, other in ((alice, cards[1]), (bob, cards[0])):
        async with profile.unlocked(user.data_dir, PASS) as prof:
            user.contact_id = (await contacts.add_from_card(prof, other.encode())).id
        await user.start()
    yield alice, bob
    for user in (alice, bob):
        with contextlib.suppress(LibraError, RuntimeError):
            await user.stop()


def write_file(path: Path, size: int, *, seed: int = 1, text: bool = False) -> bytes:
    if text:
        line = b"Libra file transfer test line %d, compressible on purpose.\n"
        data = b"".join(line % i for i in range(size // 40 + 1))[:size]
    else:
        data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


async def offer_to(alice: User, bob: User, path: Path) -> tuple[FileTransfer, int]:
    """Alice offers ``path``; returns her transfer and bob's transfer id once he has it."""
    sent = await alice.files.send_file(alice.contact_id, path)
    await bob.wait(lambda: any(e.file_id == sent.file_id for e in bob.offered()))
    incoming = next(e for e in bob.offered() if e.file_id == sent.file_id)
    return sent, incoming.transfer_id


async def view(user: User, transfer_id: int) -> FileTransfer:
    return next(t for t in await user.files.list() if t.id == transfer_id)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- the happy path -------------------------------------------------------------------------


async def test_offer_is_a_chat_item_nothing_flows_before_accept_then_save(pair, tmp_path):
    alice, bob = pair
    await open_link(alice, bob)
    source = tmp_path / "notes.txt"
    data = write_file(source, 300_000, text=True)
    sent, tid = await offer_to(alice, bob, source)

    # the offer is an ordered chat message of kind 'file', on both sides, exactly once
    await alice.wait(
        lambda: any(
            isinstance(e, MessageStateChanged)
            and e.msg_id == sent.file_id
            and e.state == "delivered"
            for e in alice.events
        )
    )
    assert [m.kind for m in await bob.messaging.history(bob.contact_id)] == ["file"]
    assert [(m.kind, m.body) for m in await alice.messaging.history(alice.contact_id)] == [
        ("file", "notes.txt")
    ]
    assert [e.body for e in bob.events if isinstance(e, MessageReceived)] == ["notes.txt"]
    incoming = await view(bob, tid)
    assert (incoming.state, incoming.size, incoming.name) == ("offered", len(data), "notes.txt")

    # auto-accept is off: nothing is requested, streamed or written until bob accepts
    assert (await bob.files.get_policy()).auto_accept is False
    assert bob.chunk_files() == [] and alice.seen_of(FileRequest) == []
    assert (await view(alice, sent.id)).state == "offered"
    with pytest.raises(TransferStateError):
        await bob.files.save(tid, tmp_path / "too-early.txt")

    await bob.files.accept(tid)
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    assert [s for s, _ in bob.states(tid)] == ["accepted", "transferring", "done"]
    assert [s for s, _ in alice.states(sent.id)] == ["offered", "transferring", "done"]
    assert bob.progress(tid) == len(data) and alice.progress(sent.id) == len(data)
    assert (await view(bob, tid)).done_bytes == len(data)

    dest = tmp_path / "saved.txt"
    assert await bob.files.save(tid, dest) == dest
    assert dest.read_bytes() == data
    with pytest.raises(SaveError):
        await bob.files.save(tid, dest)  # never overwrites unless asked
    assert dest.read_bytes() == data
    await bob.files.save(tid, dest, overwrite=True)
    assert dest.read_bytes() == data
    # compressible data was stored compressed (and sealed)
    [stored] = bob.chunk_files()
    assert stored.stat().st_size < len(data) // 4


async def test_empty_file_and_auto_accept(pair, tmp_path):
    alice, bob = pair
    await bob.files.set_policy(FilePolicy(auto_accept=True))
    await open_link(alice, bob)
    source = tmp_path / "empty"
    source.write_bytes(b"")
    sent, tid = await offer_to(alice, bob, source)
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    await bob.files.save(tid, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b""


# --- link switches and restarts -------------------------------------------------------------


async def test_20mb_file_survives_a_link_switch_mid_transfer(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "big.bin"
    data = write_file(source, 20 * MB)
    plan = proto.FilePlan(len(data), proto.CHUNK_SIZE)
    bob.hold_at = 48  # ~3 MB
    _, bob_link1 = await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    at_switch = len(bob.seen_of(FileChunk))
    await bob_link1.close("switching")  # queued records dropped, Close flushed
    bob.release()  # what link 1 had already read is still delivered
    await alice.wait(lambda: all(link.is_closed for link in alice.links))
    await bob.wait(lambda: all(link.is_closed for link in bob.links))
    await open_link(alice, bob)  # link 2
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    requests = [r.from_index for r in alice.seen_of(FileRequest)]
    assert requests[0] == 0 and requests[-1] > 0  # link 2 asked for the rest only
    assert len(bob.seen_of(FileChunk)) < plan.chunks + at_switch  # resumed, not restarted
    out = tmp_path / "big.out"
    await bob.files.save(tid, out)
    assert sha(out.read_bytes()) == sha(data)


async def test_a_second_link_taking_over_while_the_first_is_open(pair, tmp_path):
    """The direct path's kind of switch: link_up(new) while the old link still runs."""
    alice, bob = pair
    source = tmp_path / "mid.bin"
    data = write_file(source, 6 * MB, seed=2)
    bob.hold_at = 16
    link1, _ = await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    await open_link(alice, bob)  # now current on both sides; link 1 is stuck
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    bob.release()  # late chunks from link 1 are duplicates now
    await link1.close()
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    out = tmp_path / "mid.out"
    await bob.files.save(tid, out)
    assert out.read_bytes() == data


async def test_receiver_restart_resumes_from_the_last_complete_chunk(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "resume.bin"
    data = write_file(source, 10 * MB, seed=3)
    bob.hold_at = 40
    await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    await bob.stop()
    # a crash mid-append leaves a torn tail: half of a chunk entry
    [stored] = bob.chunk_files()
    with stored.open("ab") as fh:
        fh.write((proto.CHUNK_SIZE + 41).to_bytes(4, "big") + os.urandom(1000))
    await bob.start()
    resumed = await view(bob, tid)
    assert resumed.state == "transferring" and resumed.done_bytes == 40 * proto.CHUNK_SIZE
    row = await bob.prof.db.run(files_repo.get, tid)
    assert row is not None and stored.stat().st_size == row.stored_bytes  # torn tail cut
    requests_before = len(alice.seen_of(FileRequest))
    await open_link(alice, bob)
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    first_after = alice.seen_of(FileRequest)[requests_before]
    assert first_after.from_index == 40
    out = tmp_path / "resume.out"
    await bob.files.save(tid, out)  # the hash was recomputed from the stored chunks
    assert sha(out.read_bytes()) == sha(data)


async def test_sender_restart_mid_transfer(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "sender.bin"
    data = write_file(source, 10 * MB, seed=4)
    bob.hold_at = 40
    await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    await alice.restart()
    bob.release()
    await bob.wait(lambda: all(link.is_closed for link in bob.links))
    assert (await view(alice, sent.id)).state == "transferring"
    await open_link(alice, bob)
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    out = tmp_path / "sender.out"
    await bob.files.save(tid, out)
    assert out.read_bytes() == data


async def test_a_missed_final_ack_is_recovered_on_the_next_link(pair, tmp_path):
    """Bob finished while alice's link was gone: her FileQuery on the next link settles it."""
    alice, bob = pair
    source = tmp_path / "q.bin"
    write_file(source, 200_000, seed=5)
    alice.files_deaf = True  # she never hears bob's acks on link 1
    await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await alice.wait(lambda: alice.seen_of(FileRequest))
    # stream it by hand, exactly as alice's service would (she is deaf on this link)
    await stream_by_hand(alice, sent.file_id, source.read_bytes())
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    for link in alice.links:
        await link.close()
    alice.files_deaf = False
    await alice.wait(lambda: all(link.is_closed for link in alice.links))
    await open_link(alice, bob)
    await alice.wait(lambda: alice.last_state(sent.id) == ("done", None))
    assert alice.seen_of(FileAck)[-1].chunks == 4 and bob.seen_of(FileQuery)


# --- cancel ---------------------------------------------------------------------------------


async def test_receiver_cancel_deletes_partial_data_and_tells_the_sender(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "c1.bin"
    write_file(source, 20 * MB, seed=6)
    bob.hold_at = 8
    await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    [partial] = bob.chunk_files()
    assert partial.stat().st_size >= 8 * proto.CHUNK_SIZE
    cancelled = await bob.files.cancel(tid)
    assert (cancelled.state, cancelled.reason) == ("cancelled", "cancelled")
    assert bob.chunk_files() == []
    bob.release()
    await alice.wait(lambda: alice.last_state(sent.id) == ("cancelled", "peer:cancelled"))
    assert bob.chunk_files() == []  # late chunks are not stored
    assert (await bob.files.cancel(tid)).state == "cancelled"  # idempotent


async def test_sender_cancel_stops_the_stream_and_the_receiver_deletes(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "c2.bin"
    write_file(source, 20 * MB, seed=7)
    bob.hold_at = 8
    await open_link(alice, bob)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    await alice.files.cancel(sent.id)
    assert alice.last_state(sent.id) == ("cancelled", "cancelled")
    bob.release()
    await bob.wait(lambda: bob.last_state(tid) == ("cancelled", "peer:cancelled"))
    assert bob.chunk_files() == []
    assert (await view(bob, tid)).state == "cancelled"


async def test_declining_an_offer_and_a_request_for_a_cancelled_file(pair, tmp_path):
    alice, bob = pair
    await open_link(alice, bob)
    source = tmp_path / "d.txt"
    write_file(source, 5000, text=True)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.cancel(tid)  # decline
    await alice.wait(lambda: alice.last_state(sent.id) == ("cancelled", "peer:cancelled"))

    # alice cancels a second offer before bob accepts; his later request gets FileCancel
    sent2, tid2 = await offer_to(alice, bob, source)
    await alice.files.cancel(sent2.id)
    await bob.wait(lambda: bob.last_state(tid2) == ("cancelled", "peer:cancelled"))
    bob.links[-1].send([FileRequest(file_id=sent2.file_id, from_index=0)])  # as if accepted
    await bob.wait(
        lambda: len([c for c in bob.seen_of(FileCancel) if c.file_id == sent2.file_id]) == 2
    )
    for cancel in (c for c in bob.seen_of(FileCancel) if c.file_id == sent2.file_id):
        assert cancel.by_sender and cancel.reason == proto.CancelReason.CANCELLED


# --- hostile and broken input ---------------------------------------------------------------


async def hostile_setup(alice: User, bob: User, tmp_path: Path, size: int = 5 * 4096):
    """Alice offers a file in 4096-byte chunks, bob accepts; alice's service is deaf so the
    test plays the sender."""
    alice.chunk_size = 4096
    await alice.restart()
    alice.files_deaf = True
    await open_link(alice, bob)
    source = tmp_path / "h.bin"
    data = write_file(source, size, seed=8)
    sent, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await alice.wait(lambda: alice.seen_of(FileRequest))
    row = await alice.prof.db.run(files_repo.get, sent.id)
    assert row is not None
    return row, tid, data


def seal(row: files_repo.Transfer, index: int, data: bytes, **kw: object) -> bytes:
    plan = proto.FilePlan(row.size, row.chunk_size)
    return proto.seal_chunk(row.file_key, row.file_id, index, plan.is_last(index), data, **kw)


async def inject(alice: User, *records: LinkRecord) -> None:
    alice.links[-1].send(list(records))


async def stream_by_hand(alice: User, file_id: bytes, data: bytes) -> None:
    row = await alice.prof.db.run(files_repo.find, alice.contact_id, "out", file_id)
    assert row is not None
    plan = proto.FilePlan(row.size, row.chunk_size)
    for i in range(plan.chunks):
        piece = data[i * plan.chunk_size : i * plan.chunk_size + plan.chunk_len(i)]
        await inject(alice, FileChunk(file_id, i, seal(row, i, piece)))


async def expect_bad_data(alice: User, bob: User, tid: int, reason: str = "bad_data") -> None:
    await bob.wait(lambda: bob.last_state(tid) == ("failed", reason))
    code = proto.CancelReason[reason.upper()]
    await alice.wait(lambda: any(c.reason == code for c in alice.seen_of(FileCancel)))
    [cancel] = [c for c in alice.seen_of(FileCancel) if c.reason == code]
    assert not cancel.by_sender
    assert bob.chunk_files() == []
    assert (await view(bob, tid)).state == "failed"


async def test_chunk_index_beyond_the_declared_size(pair, tmp_path):
    alice, bob = pair
    row, tid, data = await hostile_setup(alice, bob, tmp_path)
    await inject(alice, FileChunk(row.file_id, 0, seal(row, 0, data[:4096])))
    await inject(alice, FileChunk(row.file_id, 5, seal(row, 4, data[:4096])))  # 5 chunks: 0..4
    await expect_bad_data(alice, bob, tid)


async def test_chunks_for_files_never_offered_or_not_accepted(pair, tmp_path):
    alice, bob = pair
    alice.files_deaf = True
    await open_link(alice, bob)
    stranger = os.urandom(16)
    sealed = proto.seal_chunk(os.urandom(32), stranger, 0, True, b"x" * 100)
    await inject(alice, FileChunk(stranger, 0, sealed), FileChunk(stranger, 0, sealed))
    await alice.wait(lambda: alice.seen_of(FileCancel))
    source = tmp_path / "n.bin"
    write_file(source, 4096, seed=9)
    sent, tid = await offer_to(alice, bob, source)  # offered, never accepted
    row = await alice.prof.db.run(files_repo.get, sent.id)
    await inject(alice, FileChunk(row.file_id, 0, seal(row, 0, source.read_bytes())))
    await inject(alice, FileQuery(row.file_id))  # a round trip: the chunk was handled by now
    await alice.wait(lambda: any(a.file_id == row.file_id for a in alice.seen_of(FileAck)))
    [unknown] = alice.seen_of(FileCancel)  # one answer for the stranger, none for the offer
    assert unknown.file_id == stranger and unknown.reason == proto.CancelReason.UNKNOWN
    assert bob.chunk_files() == [] and (await view(bob, tid)).state == "offered"
    assert [t.file_id for t in await bob.files.list()] == [row.file_id]


async def test_chunk_data_longer_than_the_chunk(pair, tmp_path):
    alice, bob = pair
    row, tid, data = await hostile_setup(alice, bob, tmp_path)
    sealed = proto.seal_chunk(row.file_key, row.file_id, 0, False, data[:4096] + b"!")
    await inject(alice, FileChunk(row.file_id, 0, sealed))
    await expect_bad_data(alice, bob, tid)


async def test_chunk_with_a_bad_aead_tag(pair, tmp_path):
    alice, bob = pair
    row, tid, data = await hostile_setup(alice, bob, tmp_path)
    good = bytearray(seal(row, 0, data[:4096]))
    good[-1] ^= 1
    await inject(alice, FileChunk(row.file_id, 0, bytes(good)))
    await expect_bad_data(alice, bob, tid)


async def test_decompression_bomb_chunk(pair, tmp_path):
    alice, bob = pair
    row, tid, _ = await hostile_setup(alice, bob, tmp_path)
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(64 * MB))
    import nacl.bindings

    nonce = os.urandom(24)
    ad = proto.AD_PREFIX + row.file_id + (0).to_bytes(4, "big") + b"\x00"
    sealed = nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        b"\x01" + bomb, ad, nonce, row.file_key
    )
    await inject(alice, FileChunk(row.file_id, 0, sealed))
    await expect_bad_data(alice, bob, tid)


async def test_wrong_final_hash_fails_both_sides_and_deletes(pair, tmp_path):
    alice, bob = pair
    await open_link(alice, bob)
    source = tmp_path / "tampered.bin"
    data = write_file(source, 3 * MB, seed=10)
    sent, tid = await offer_to(alice, bob, source)
    # same size, mtime put back: only the whole-file hash can notice
    info = source.stat()
    source.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.last_state(tid) == ("failed", "hash_mismatch"))
    await alice.wait(lambda: alice.last_state(sent.id) == ("failed", "peer:hash_mismatch"))
    assert bob.chunk_files() == []


async def test_source_changed_before_done_fails_the_transfer(pair, tmp_path):
    alice, bob = pair
    await open_link(alice, bob)
    source = tmp_path / "changing.bin"
    write_file(source, 100_000, seed=11)
    sent, tid = await offer_to(alice, bob, source)
    with source.open("ab") as fh:
        fh.write(b"more")
    await bob.files.accept(tid)
    await alice.wait(lambda: alice.last_state(sent.id) == ("failed", "source_changed"))
    await bob.wait(lambda: bob.last_state(tid) == ("failed", "peer:source_changed"))
    assert bob.chunk_files() == []


async def test_a_sender_that_stops_forever_stalls_without_busy_looping(pair, tmp_path):
    alice, bob = pair
    bob.timing = proto.ReceiveTiming(stall_after=0.3, checkpoint_chunks=1)
    await bob.restart()
    row, tid, data = await hostile_setup(alice, bob, tmp_path)
    for i in range(2):  # two chunks, then silence
        await inject(
            alice, FileChunk(row.file_id, i, seal(row, i, data[i * 4096 : (i + 1) * 4096]))
        )
    await bob.wait(lambda: bob.last_state(tid) == ("transferring", "stalled"))
    stalled = await view(bob, tid)
    assert stalled.done_bytes == 2 * 4096 and stalled.stalled  # progress events: throttled
    [stored] = bob.chunk_files()
    assert stored.stat().st_size > 2 * 4096  # partial data kept (sealed)
    # while stalled bob asks again every stall_after, not in a loop
    start = len(alice.seen_of(FileRequest))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await alice.wait(lambda: len(alice.seen_of(FileRequest)) >= start + 3)
    elapsed = loop.time() - t0
    assert elapsed >= 0.5  # three asks took at least ~2 stall periods
    assert [r.from_index for r in alice.seen_of(FileRequest)[start:]] == [2, 2, 2]
    assert [s for s in bob.states(tid) if s[1] == "stalled"] == [("transferring", "stalled")]
    await bob.files.cancel(tid)
    assert bob.chunk_files() == []
    await alice.wait(lambda: any(c.reason == 0 for c in alice.seen_of(FileCancel)))


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (FilePolicy(max_file_size=10_000), "too_large"),
        (FilePolicy(disk_reserve=2**62), "no_space"),
    ],
)
async def test_offers_over_the_limits_are_declined_automatically(pair, tmp_path, policy, reason):
    alice, bob = pair
    await bob.files.set_policy(policy)
    await open_link(alice, bob)
    source = tmp_path / "large.bin"
    write_file(source, 20_000, seed=12)
    sent, tid = await offer_to(alice, bob, source)
    await bob.wait(lambda: bob.last_state(tid) == ("cancelled", reason))
    await alice.wait(lambda: alice.last_state(sent.id) == ("cancelled", f"peer:{reason}"))
    assert bob.chunk_files() == []
    assert [m.kind for m in await bob.messaging.history(bob.contact_id)] == ["file"]
    with pytest.raises(TransferStateError):
        await bob.files.accept(tid)


async def test_accept_refuses_when_space_ran_out_since_the_offer(pair, tmp_path):
    alice, bob = pair
    await open_link(alice, bob)
    source = tmp_path / "s.bin"
    write_file(source, 20_000, seed=13)
    _sent, tid = await offer_to(alice, bob, source)
    await bob.files.set_policy(FilePolicy(disk_reserve=2**62))
    with pytest.raises(NotEnoughSpace):
        await bob.files.accept(tid)
    assert (await view(bob, tid)).state == "offered" and bob.chunk_files() == []


# --- at rest --------------------------------------------------------------------------------


async def test_nothing_about_a_file_is_on_disk_in_plaintext(pair, tmp_path):
    alice, bob = pair
    marker = f"TOP-SECRET-{os.urandom(8).hex()}"
    name = f"secret-plans-{os.urandom(4).hex()}.txt"
    source = tmp_path / name
    source.write_bytes((marker + " lorem ipsum dolor sit amet\n").encode() * 40_000)  # ~2 MB
    bob.hold_at = 1
    await open_link(alice, bob)
    _, tid = await offer_to(alice, bob, source)
    await bob.files.accept(tid)
    await bob.wait(lambda: bob.holding)
    row = await bob.prof.db.run(files_repo.get, tid)
    assert row is not None
    needles = needles_for({"file key": row.file_key}, {"marker": marker, "name": name})
    assert bob.chunk_files()
    assert find_leaks(bob.data_dir, needles) == []  # mid-transfer, partial chunk file
    bob.release()
    await bob.wait(lambda: bob.last_state(tid) == ("done", None))
    assert bob.chunk_files()
    for user in (alice, bob):
        assert find_leaks(user.data_dir, needles) == [], user.name
    await bob.files.save(tid, tmp_path / "saved.txt")
    for user in (alice, bob):
        await user.stop()
        assert find_leaks(user.data_dir, needles) == [], user.name
        await user.start()
    # control: the detector does see the plaintext where it is (the saved copy)
    assert "saved.txt: marker utf8" in find_leaks(tmp_path, needles)


# --- storage: chunk files and the v3 migration ----------------------------------------------


def test_recover_keeps_verified_chunks_and_cuts_a_torn_or_bad_tail(tmp_path):
    path = tmp_path / "x.chunks"
    good = [os.urandom(100 + i) + bytes(41) for i in range(5)]
    ends = [sum(4 + len(g) for g in good[: i + 1]) for i in range(5)]  # entry end offsets
    with path.open("wb") as fh:
        for sealed in good:
            files_repo.append(fh, sealed)

    def verify(index: int, sealed: bytes) -> bool:
        return sealed == good[index]

    assert files_repo.recover(path, 0, 0, 5, verify) == (5, ends[4])
    with path.open("ab") as fh:  # a crash mid-append: a length prefix and part of the data
        fh.write((5000).to_bytes(4, "big") + b"torn")
    assert files_repo.recover(path, 2, ends[1], 5, verify) == (5, ends[4])
    assert path.stat().st_size == ends[4]  # the torn tail is gone
    assert files_repo.recover(path, 0, 0, 3, verify) == (3, ends[2])  # never past the plan
    assert path.stat().st_size == ends[2]
    data = bytearray(path.read_bytes())
    data[ends[0] + 4 + 10] ^= 1  # inside chunk 1: it and everything after it are dropped
    path.write_bytes(bytes(data))
    assert files_repo.recover(path, 0, 0, 5, verify) == (1, ends[0])
    # the checkpoint says more than the file holds: rescan from the start
    assert files_repo.recover(path, 4, 10**6, 5, verify) == (1, ends[0])
    missing = tmp_path / "new.chunks"  # no file yet: created empty
    assert files_repo.recover(missing, 0, 0, 5, verify) == (0, 0) and missing.exists()
    assert list(files_repo.read_chunks(path, 1)) == [good[0]]
    with pytest.raises(CorruptStore):
        list(files_repo.read_chunks(path, 2))


async def test_v3_migration_keeps_messages_as_text(tmp_path):
    from libra_gui.core.crypto.identity import IdentityKeys
    from libra_gui.core.storage import MIGRATIONS, conversations, identity
    from libra_gui.core.storage import contacts as contacts_repo
    from libra_gui.core.storage import messages as messages_repo

    db = await Database.create(
        tmp_path, "pw", kdf_params=INSECURE_TEST_KDF, migrations=MIGRATIONS[:2]
    )

    def v2_data(conn) -> int:
        identity.create(conn, IdentityKeys.generate(), "Alice")
        peer = contacts_repo.add(conn, IdentityKeys.generate().identity_public, "Bob")
        conv = conversations.for_contact(conn, peer.id)
        conn.execute(
            "INSERT INTO messages (conversation_id, msg_id, direction, seq, position, sent_at,"
            " body, state) VALUES (?, ?, 'out', 1, 1, 1, 'old text', 'queued')",
            (conv.id, os.urandom(16)),
        )
        return conv.id

    conv_id = await db.transaction(v2_data)
    await db.close()
    async with await Database.open(tmp_path, "pw") as db:
        assert db.schema_version == 3
        [old] = await db.run(messages_repo.latest, conv_id)
        assert (old.kind, old.body) == ("text", "old text")
        assert await db.run(files_repo.list_all) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.integers(0, 8), st.integers(0, 700))
def test_recover_never_fails_on_arbitrary_file_contents(blob: bytes, chunks: int, offset: int):
    """Whatever a crash (or anyone) left in a chunk file, recovery ends at a clean boundary."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.chunks"
        path.write_bytes(blob)
        count, end = files_repo.recover(path, chunks, offset, 8, lambda i, s: s[:1] != b"\x00")
        assert path.stat().st_size == end <= len(blob) and count <= 8
        path.write_bytes(blob)  # from no checkpoint, everything kept was read and verified
        count, end = files_repo.recover(path, 0, 0, 8, lambda i, s: s[:1] != b"\x00")
        assert (
            path.stat().st_size == end and len(list(files_repo.read_chunks(path, count))) == count
        )
