"""Libra's direct (WebRTC) path vs raw aiortc, vs Libra over Tor, and its failover, in one run.

One private Tor network (``tests/tornet.py``) and two Libra ``Node``s, A and B, each with its
own tor, contacts of each other, started exactly as ``libra-cli run`` starts them but with
``ice_servers=[]`` (host candidates only). First the direct path is off (the default for a
contact that is not verified), so the same two nodes are measured over Tor; then both allow
it (``set_direct_policy(contact, "allowed")``), ``DirectService`` brings up the data channel
over 127.0.0.1 and the active link switches to it. The raw baseline is a pair of bare aiortc
peer connections in the same process with one pre-negotiated, ordered data channel (what
Libra's direct stream is built on, nothing of Libra's); Libra and raw samples alternate.

aioice leaves 127.0.0.1 out when it gathers host candidates, so two peers in one process
would pair over the machine's real interfaces (whatever they are). Like
``tests/webrtc_support.py``, the run patches ``aioice.ice.get_host_addresses`` to return only
127.0.0.1 (scoped: restored at the end), so every ICE, DTLS and SCTP packet stays on loopback.

Rows (in this order):

* direct message round trip: ``messaging.send_text`` until the sender publishes "delivered"
  (the peer stored and acked it, the ack was stored) for a 200-character text over the direct
  link, vs the echo of a 200-byte message on the raw channel; medians. Goal <= 1.3x raw.
* direct link-level echo (where the time goes, 1): an Envelope with a 200-byte ciphertext
  queued on the direct Link, bounced by the peer's record consumer, until it is back: Noise,
  padding, the link's tasks and the stream, no ratchet, no storage. Same raw echo baseline.
* the message round trip vs its durability floor (where the time goes, 2): the raw echo plus
  four commits to a plain sqlite3 file with Libra's pragmas (WAL, synchronous=FULL) on the
  same disk, i.e. what any design that stores before sending and before acking pays.
* the same round trip over Tor (measured before direct was allowed), baseline the direct one.
* direct file transfer: ``FileService.send_file`` of a file of random bytes; the clock runs
  from the receiver's ``accept()`` until its ``FileStateChanged(done)`` (every chunk stored,
  made durable and the whole file's SHA-256 checked), vs the same number of bytes in 64 KiB
  messages on the raw channel (back-pressure on ``bufferedAmount``, the water marks Libra's
  stream uses) until the receiving side counted them all. Goal >= 0.8x raw.
* direct link bulk (to tell the link from the file service): FILES-channel ``FileChunk``
  records of 65,458 bytes queued on the live direct Link (``send`` + ``drain(FILES)``) until
  the peer's link layer handed them all to its record consumer, vs the same raw bulk.
* the same file transfer over Tor (a smaller file, before direct was allowed), baseline the
  direct transfer.
* failover: every UDP socket of the direct path is blackholed (datagrams dropped both ways,
  silently, as tests/test_direct_service.py does), a message is sent at once, and the clock
  runs until it is "delivered" over Tor; worst of the rounds. Baseline: the configured
  ``dead_after``. Goal <= 10 s.

Rows without a goal say "informative". stderr has the details: p10/p90, the round trip's
split (queue+store, to the peer, peer store + ack back, ack stored), per-round MB/s and the
CPU this process spent per MB, when each side fell back.

The direct path runs with the product defaults (``DirectServiceConfig()``: heartbeat 2 s,
dead_after 6 s, retry back-off 5 s doubling, jittered), so each failover round first waits for
the retried direct link; the back-off also keeps a retried direct link from carrying the
failover message before Tor does.

Needs ``tor`` and ``tor-gencert``; run from the repository root (``python -m bench direct``).
About 1.5-2 minutes (``--quick``: about 35 s). Every tor and peer connection is closed at the
end, also on failure (tor logs are then kept and named in the error).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import statistics
import sys
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.bench_tor import (
    PASS,
    BenchError,
    Peer,
    TorNetwork,
    run_on_private_network,
    settled_link,
    step,
)
from libra_gui.core.net.link import Channel, Link
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.net.webrtc.transport import StreamTuning
from libra_gui.core.protocol.records import (
    KIND_NORMAL,
    MAX_CHUNK_DATA,
    Ack,
    Envelope,
    FileChunk,
    LinkRecord,
)
from libra_gui.core.services import profile
from libra_gui.core.services.direct import DirectServiceConfig, PathChanged
from libra_gui.core.services.events import FileOffered, FileStateChanged
from libra_gui.core.services.files import FileService
from libra_gui.core.services.node import Node

LOCAL = "127.0.0.1"
MB = 1_000_000
MSG_CHARS = 200
RAW_MESSAGE = 64 * 1024  # the largest message every WebRTC stack accepts
BULK_ID = b"libra-bench-bulk"  # file_id of link-level bulk chunks, swallowed before FileService
ECHO_MARK = b"BENCHECHO"  # msg_id prefix of link-level echo Envelopes, never seen by messaging
CONFIG = DirectServiceConfig()
"""The product defaults (heartbeat 2 s, dead_after 6 s, retry back-off from 5 s): the failover
row measures what a user gets."""


def log(text: str) -> None:
    print(f"  [direct] {text}", file=sys.stderr, flush=True)


def row(name: str, unit: str, libra: float, base: float, base_name: str, goal: str) -> dict:
    """A result row; 3 decimals everywhere (a 0.3 ms baseline must keep its digits)."""
    return {
        "name": name,
        "unit": unit,
        "libra": round(libra, 3),
        "baseline": round(base, 3),
        "baseline_name": base_name,
        "goal": goal,
    }


async def until(condition: Callable[[], object], what: str, seconds: float) -> None:
    """Poll a condition every 20 ms; BenchError naming ``what`` after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise BenchError(f"{what}: not within {seconds:g} s")
        await asyncio.sleep(0.02)


def _ms(samples: Sequence[float]) -> str:
    q = statistics.quantiles(samples, n=10) if len(samples) > 1 else list(samples) * 9
    return (
        f"median {statistics.median(samples) * 1e3:.2f}, p10 {q[0] * 1e3:.2f}, "
        f"p90 {q[-1] * 1e3:.2f}"
    )


# --- loopback ICE and the injected fault ---------------------------------------------------------


class Blackhole:
    """Remembers every ICE socket (aioice ``StunProtocol``); ``kill`` makes the live ones drop
    every datagram both ways, silently: a direct path that dies without a word. Sockets made
    later (the next attempt) work."""

    def __init__(self, original: Callable[[Any, Any], None]) -> None:
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()
        self._original = original

    def connection_made(self, protocol: Any, transport: Any) -> None:
        self.live.add(protocol)
        self._original(protocol, transport)

    def kill(self) -> int:
        victims = list(self.live)
        for protocol in victims:
            protocol.datagram_received = _drop
            protocol.send_stun = _drop
            protocol.send_data = _drop_async
            self.live.discard(protocol)
        return len(victims)


def _drop(*_args: object) -> None:
    return None


async def _drop_async(*_args: object) -> None:
    return None


@contextlib.contextmanager
def loopback_ice() -> Iterator[Blackhole]:
    """ICE gathers exactly one host candidate, 127.0.0.1, and every ICE socket is tracked for
    the blackhole; both patches are undone on exit.

    aioice's ``get_host_addresses`` lists every interface address except 127.0.0.1, so two
    peers in one process would pair over the machine's real interfaces (or not at all);
    returning only loopback keeps all ICE, DTLS and SCTP traffic on 127.0.0.1.
    """
    import aioice.ice

    hosts, made = aioice.ice.get_host_addresses, aioice.ice.StunProtocol.connection_made
    hole = Blackhole(made)

    def connection_made(protocol: Any, transport: Any) -> None:
        hole.connection_made(protocol, transport)

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [LOCAL]
    aioice.ice.StunProtocol.connection_made = connection_made
    try:
        yield hole
    finally:
        aioice.ice.get_host_addresses = hosts
        aioice.ice.StunProtocol.connection_made = made


# --- the raw baseline ----------------------------------------------------------------------------


class RawChannel:
    """Two bare aiortc peer connections in this process, one pre-negotiated ordered data
    channel (as Libra's), no STUN/TURN: side A sends, side B echoes or counts."""

    def __init__(self) -> None:
        self.pcs: list[Any] = []
        self.a: Any = None
        self.b: Any = None
        self._reply: asyncio.Future[bytes] | None = None
        self._reply_size = 0  # 0: echo what came; n: answer every message with n bytes
        self._counting = False
        self._received = 0
        self._target = 0
        self._done: asyncio.Future[float] | None = None
        self._low = asyncio.Event()

    async def open(self) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.pcs = [RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2)]
        pa, pb = self.pcs
        self.a = pa.createDataChannel("raw", negotiated=True, id=0, ordered=True)
        self.b = pb.createDataChannel("raw", negotiated=True, id=0, ordered=True)
        await pa.setLocalDescription(await pa.createOffer())
        await pb.setRemoteDescription(pa.localDescription)
        await pb.setLocalDescription(await pb.createAnswer())
        await pa.setRemoteDescription(pb.localDescription)
        await until(
            lambda: self.a.readyState == "open" and self.b.readyState == "open",
            "raw aiortc channel open",
            30,
        )
        tuning = StreamTuning()
        self.high_water = tuning.high_water
        self.a.bufferedAmountLowThreshold = tuning.low_water
        self.a.on("bufferedamountlow", self._low.set)
        self.a.on("message", self._on_a)
        self.b.on("message", self._on_b)

    def _on_a(self, message: bytes) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(message)

    def _on_b(self, message: bytes) -> None:
        if self._counting:
            self._received += len(message)
            done = self._done
            if done is not None and not done.done() and self._received >= self._target:
                done.set_result(time.perf_counter())
        else:
            self.b.send(bytes(self._reply_size) if self._reply_size else message)

    async def exchange(self, out: bytes, reply_size: int = 0) -> float:
        """Seconds from sending ``out`` until B's answer (an echo, or ``reply_size`` bytes)."""
        self._counting, self._reply_size = False, reply_size
        self._reply = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        self.a.send(out)
        got = await asyncio.wait_for(self._reply, 10)
        elapsed = time.perf_counter() - t0
        if len(got) != (reply_size or len(out)):
            raise BenchError("the raw echo returned another size")
        return elapsed

    async def bulk(self, nbytes: int) -> float:
        """Seconds until B counted ``nbytes`` sent by A in RAW_MESSAGE messages."""
        self._counting, self._received, self._target = True, 0, nbytes
        self._done = asyncio.get_running_loop().create_future()
        blob = os.urandom(RAW_MESSAGE)
        sent = 0
        t0 = time.perf_counter()
        while sent < nbytes:
            if self.a.bufferedAmount > self.high_water:
                self._low.clear()
                await self._low.wait()
            n = min(RAW_MESSAGE, nbytes - sent)
            self.a.send(blob if n == RAW_MESSAGE else blob[:n])
            sent += n
        t1 = await asyncio.wait_for(self._done, 120)
        self._counting = False
        return t1 - t0

    async def close(self) -> None:
        for pc in self.pcs:
            with contextlib.suppress(Exception):
                await pc.close()
        self.pcs = []


class PlainStore:
    """A plain sqlite3 file next to the profiles with Libra's durability pragmas (WAL,
    synchronous=FULL) but no SQLCipher: what a durable commit costs on this disk right now
    (the machine's disk is shared, so this moves with other people's load)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")

    def commit(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO t (body) VALUES (?)", (os.urandom(300),))
        self.conn.execute("COMMIT")

    async def durable_echo(self, raw: RawChannel) -> float:
        """The floor under a durable round trip: a raw 200 B echo plus four commits, each on
        a worker thread (Libra commits twice before sending, the peer once before acking,
        the sender once more before "delivered")."""
        t0 = time.perf_counter()
        await raw.exchange(os.urandom(MSG_CHARS))
        for _ in range(4):
            await asyncio.to_thread(self.commit)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.conn.close()


# --- the Libra side ------------------------------------------------------------------------------


class NodeTap:
    """Sits in front of what the Node's sink calls (``node.messaging.receive``, then
    ``node.files.receive``, with the same records) to:

    * stamp when an Envelope or an Ack arrives (the round trip's split, on stderr);
    * bounce or catch the link-level echo Envelopes (msg id ECHO_MARK...);
    * count and swallow the link-level bulk chunks (file id BULK_ID).
    Everything else passes through unchanged.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.files: FileService = node.files
        self.envelope_at: dict[bytes, float] = {}
        self.ack_at: dict[bytes, float] = {}
        self.bulk_received = 0
        self.bulk_target = 0
        self.bulk_done: asyncio.Future[float] | None = None
        self.echo: asyncio.Future[float] | None = None
        self._messaging = node.messaging.receive
        self._files = node.files.receive
        node.messaging.receive = self.receive  # type: ignore[method-assign]
        node.files.receive = self.files_receive  # type: ignore[method-assign]

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        """In front of messaging: stamp, bounce, count; pass the rest on."""
        now = time.perf_counter()
        rest = []
        for r in records:
            if isinstance(r, FileChunk) and r.file_id == BULK_ID:
                self.bulk_received += len(r.data)
                continue
            if isinstance(r, Envelope) and r.msg_id.startswith(ECHO_MARK):
                self._on_echo(contact_id, r, now)
                continue
            if isinstance(r, Envelope):
                self.envelope_at.setdefault(r.msg_id, now)
            elif isinstance(r, Ack):
                for msg_id in r.msg_ids:
                    self.ack_at.setdefault(msg_id, now)
            rest.append(r)
        done = self.bulk_done
        if done is not None and not done.done() and self.bulk_received >= self.bulk_target:
            done.set_result(now)
        if rest:
            await self._messaging(contact_id, rest)

    async def files_receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        """In front of files: bench chunks are not a transfer (no FileCancel for them)."""
        rest = [r for r in records if not (isinstance(r, FileChunk) and r.file_id == BULK_ID)]
        if rest:
            await self._files(contact_id, rest)

    def _on_echo(self, contact_id: int, record: Envelope, now: float) -> None:
        """Our own echo came back (resolve), or the peer's arrived (send it back at once)."""
        if self.echo is not None:
            if not self.echo.done():
                self.echo.set_result(now)
            return
        assert self.node.direct is not None
        link = self.node.direct.active_link(contact_id)
        if link is not None:
            link.send([record])

    async def link_echo(self, link: Link, size: int) -> float:
        """Seconds from queueing an Envelope of ``size`` ciphertext bytes on ``link`` until
        the peer's link layer handed it to its consumer and the copy it sent back reached ours:
        Noise, padding, the link's scheduler and the stream, no storage, no ratchet."""
        self.echo = asyncio.get_running_loop().create_future()
        msg_id = ECHO_MARK + os.urandom(16 - len(ECHO_MARK))
        t0 = time.perf_counter()
        link.send([Envelope(msg_id=msg_id, kind=KIND_NORMAL, ciphertext=os.urandom(size))])
        try:
            return await asyncio.wait_for(self.echo, 10) - t0
        finally:
            self.echo = None

    def expect_bulk(self, nbytes: int) -> asyncio.Future[float]:
        """A future for the time at which ``nbytes`` more bulk chunk bytes arrived."""
        self.bulk_received, self.bulk_target = 0, nbytes
        self.bulk_done = asyncio.get_running_loop().create_future()
        return self.bulk_done


class FileEvents:
    """Bus listener: offers by file id, and when each transfer ended (by transfer id)."""

    def __init__(self) -> None:
        self.offers: dict[bytes, int] = {}
        self.ended: dict[tuple[int, str], tuple[float, str, str | None]] = {}
        self.changed = asyncio.Event()

    def __call__(self, event: object) -> None:
        if isinstance(event, FileOffered):
            self.offers[event.file_id] = event.transfer_id
        elif isinstance(event, FileStateChanged) and event.state in ("done", "failed", "cancelled"):
            key = (event.transfer_id, event.direction)
            self.ended.setdefault(key, (time.perf_counter(), event.state, event.reason))
        else:
            return
        self.changed.set()

    async def wait(self, condition: Callable[[], Any], seconds: float) -> Any:
        """The first truthy value of ``condition``, re-checked after every event."""
        async with asyncio.timeout(seconds):
            while not (value := condition()):
                self.changed.clear()
                await self.changed.wait()
        return value


class PathLog:
    """Bus listener: perf_counter time of each PathChanged state."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, str]] = []

    def __call__(self, event: object) -> None:
        if isinstance(event, PathChanged):
            self.changes.append((time.perf_counter(), event.state))

    def first(self, state: str, after: float) -> float | None:
        return next((t for t, s in self.changes if s == state and t >= after), None)


class DirectPeer(Peer):
    """A bench_tor Peer whose Node may go direct (host candidates only) and sends files."""

    tap: NodeTap | None = None
    files_seen: FileEvents
    paths: PathLog

    async def open(self, torrc: list[str]) -> Node:
        self.prof = await profile.unlock(self.data_dir, PASS)
        settings = TorSettings(
            data_dir=self.data_dir / "tor", extra_torrc=torrc, bootstrap_timeout=60
        )
        self.node = Node(self.prof, settings, self.bus, direct_config=CONFIG, ice_servers=[])
        self.tap = NodeTap(self.node)
        self.files_seen = FileEvents()
        self.paths = PathLog()
        self.bus.add_listener(self.files_seen)
        self.bus.add_listener(self.paths)
        return self.node

    def path(self, other: Peer) -> str | None:
        assert self.node is not None and self.node.direct is not None
        return self.node.direct.stats(self.contact_ids[other.name]).path

    def active(self, other: Peer) -> Link:
        assert self.node is not None and self.node.direct is not None
        link = self.node.direct.active_link(self.contact_ids[other.name])
        if link is None:
            raise BenchError(f"{self.name} has no active link")
        return link


# --- measurements --------------------------------------------------------------------------------


async def libra_rtt(near: DirectPeer, far: DirectPeer) -> tuple[float, list[float]]:
    """One 200-character message: send_text -> delivered, and its split (stderr)."""
    assert near.node is not None and near.tap is not None and far.tap is not None
    body = ("round trip " * 30)[:MSG_CHARS]
    t0 = time.perf_counter()
    msg_id = await near.node.messaging.send_text(near.contact_ids[far.name], body)
    t_stored = time.perf_counter()
    t_done = await asyncio.wait_for(near.delivered.wait(msg_id), 30)
    t_there = far.tap.envelope_at.get(msg_id, t_stored)
    t_ack = near.tap.ack_at.get(msg_id, t_done)
    split = [t_stored - t0, t_there - t_stored, t_ack - t_there, t_done - t_ack]
    return t_done - t0, split


async def measure_rtts(
    near: DirectPeer,
    far: DirectPeer,
    raw: RawChannel | None,
    store: PlainStore | None,
    count: int,
    warmup: int,
) -> tuple[list[float], list[float], list[float], list[float], list[float], list[list[float]]]:
    """Alternating samples: Libra message; Libra link-level echo; raw 200 B echo; raw exchange
    of Libra's wire sizes (the link's bytes out and in for one message, smallest seen in the
    warm-up); raw echo + four plain durable commits. Returns (message, link echo, raw echo,
    raw sized, durable floor, splits)."""
    assert near.tap is not None
    link = near.active(far)
    libra: list[float] = []
    echo: list[float] = []
    floor: list[float] = []
    plain: list[float] = []
    sized: list[float] = []
    splits: list[list[float]] = []
    wire_out, wire_in = 1 << 30, 1 << 30
    for i in range(warmup + count):
        out0, in0 = link.stats.bytes_out, link.stats.bytes_in
        rtt, split = await libra_rtt(near, far)
        if i < warmup:
            wire_out = min(wire_out, link.stats.bytes_out - out0)
            wire_in = min(wire_in, link.stats.bytes_in - in0)
            if raw is not None:
                await raw.exchange(os.urandom(MSG_CHARS))
            continue
        libra.append(rtt)
        splits.append(split)
        echo.append(await near.tap.link_echo(link, MSG_CHARS))
        if raw is not None:
            plain.append(await raw.exchange(os.urandom(MSG_CHARS)))
            sized.append(await raw.exchange(os.urandom(wire_out), wire_in))
            if store is not None:
                floor.append(await store.durable_echo(raw))
    if raw is not None:
        log(f"direct link wire bytes per message: {wire_out} out, {wire_in} back")
    return libra, echo, plain, sized, floor, splits


def log_split(label: str, splits: list[list[float]]) -> None:
    """Where a round trip's time goes (medians of each part)."""
    parts = ("send_text (queue+store)", "to the peer", "peer store + ack back", "ack stored")
    medians = [statistics.median(s[i] for s in splits) * 1e3 for i in range(4)]
    log(
        f"{label} RTT split, medians ms: "
        + ", ".join(f"{p} {m:.2f}" for p, m in zip(parts, medians, strict=True))
    )


async def file_transfer(sender: DirectPeer, receiver: DirectPeer, path: Path) -> tuple[int, float]:
    """send_file, then accept on the receiver: (bytes, seconds from accept to done)."""
    assert sender.tap is not None and receiver.tap is not None
    sent = await sender.tap.files.send_file(sender.contact_ids[receiver.name], path)
    seen = receiver.files_seen
    transfer_id = await seen.wait(lambda: seen.offers.get(sent.file_id), 60)
    t0 = time.perf_counter()
    await receiver.tap.files.accept(transfer_id)
    at, state, reason = await seen.wait(lambda: seen.ended.get((transfer_id, "in")), 300)
    if state != "done":
        raise BenchError(f"the file transfer ended {state} ({reason})")
    mine = sender.files_seen
    await mine.wait(lambda: mine.ended.get((sent.id, "out")), 60)  # the final FileAck
    return sent.size, at - t0


async def link_bulk(near: DirectPeer, far: DirectPeer, nbytes: int) -> tuple[int, float]:
    """FILES-channel chunks on the active link until the peer's consumer had them all:
    (payload bytes, seconds)."""
    assert far.tap is not None
    link = near.active(far)
    chunks = -(-nbytes // MAX_CHUNK_DATA)
    blob = os.urandom(MAX_CHUNK_DATA)
    done = far.tap.expect_bulk(chunks * MAX_CHUNK_DATA)
    t0 = time.perf_counter()
    for index in range(chunks):
        link.send([FileChunk(file_id=BULK_ID, index=index, data=blob)])
        await link.drain(Channel.FILES)
    return chunks * MAX_CHUNK_DATA, await asyncio.wait_for(done, 120) - t0


async def go_direct(a: DirectPeer, b: DirectPeer, seconds: float) -> None:
    """Wait until both sides' active link is the direct one."""
    await until(
        lambda: a.path(b) == "direct" and b.path(a) == "direct", "both sides on direct", seconds
    )


async def failover(a: DirectPeer, b: DirectPeer, hole: Blackhole, round_no: int) -> float:
    """Blackhole the direct path and send at once: seconds until the message is delivered.

    Both sides detect the silent link on their own (``dead_after`` after their last inbound
    byte, so 4-6 s after the kill with 2 s heartbeats), fall back to Tor and resend what is
    unacked; stderr shows when each fell back and A's path at delivery.
    """
    assert a.node is not None
    await go_direct(a, b, 60)
    # Kill at a random phase of the heartbeats: how long a path has been silent when it dies
    # decides how soon dead_after runs out.
    await asyncio.sleep(0.5 + random.random() * CONFIG.heartbeat_interval)
    killed = hole.kill()
    t0 = time.perf_counter()
    msg_id = await a.node.messaging.send_text(a.contact_ids[b.name], f"after kill {round_no}")
    t1 = await asyncio.wait_for(a.delivered.wait(msg_id), 60)
    fell = [p.paths.first("fallback", t0) for p in (a, b)]
    when = ", ".join(
        f"{p.name} {t - t0:.2f} s" if t is not None else f"{p.name} not yet"
        for p, t in zip((a, b), fell, strict=True)
    )
    path = a.path(b)
    log(
        f"failover #{round_no}: {killed} ICE sockets blackholed; fell back: {when}; "
        f"message delivered after {t1 - t0:.2f} s (A's path then: {path})"
    )
    if path != "tor":
        log("WARNING: a new direct link, not Tor, may have delivered the failover message")
    return t1 - t0


def rate(runs: list[tuple[int, float]]) -> float:
    """MB/s over all rounds (total bytes / total seconds, so long rounds weigh more)."""
    return sum(n for n, _ in runs) / sum(t for _, t in runs) / MB


async def _measure(network: TorNetwork, base: Path, quick: bool) -> list[dict]:
    rtt_count, warmup = (15, 3) if quick else (50, 5)
    file_bytes = 8 * MB if quick else 32 * MB
    tor_file_bytes = 2 * MB if quick else 6 * MB
    rounds = 1 if quick else 4
    failovers = 1 if quick else 3
    torrc = network.client_torrc_lines()

    peers: list[DirectPeer] = []
    raw = RawChannel()
    store = PlainStore(base / "plain.db")
    with loopback_ice() as hole:
        try:
            async with step("creating profiles", 60):
                a, b = await DirectPeer.create("alice", base), await DirectPeer.create("bob", base)
                peers += [a, b]
                await a.add(b)
                await b.add(a)
                for peer in (a, b):
                    await peer.open(torrc)
            assert a.node is not None and b.node is not None
            cid_b, cid_a = a.contact_ids["bob"], b.contact_ids["alice"]
            payload = base / "payload.bin"
            payload.write_bytes(os.urandom(file_bytes))  # incompressible, like most big files
            tor_payload = base / "payload-tor.bin"
            tor_payload.write_bytes(os.urandom(tor_file_bytes))

            async with step("starting Libra nodes A and B", 120):
                t0 = time.perf_counter()
                await asyncio.gather(a.node.start(), b.node.start())
                log(f"nodes A and B up in {time.perf_counter() - t0:.1f} s")
            async with step("first message A -> B delivered over Tor", 120):
                t0 = time.perf_counter()
                first = await a.node.messaging.send_text(cid_b, "hello")
                await a.delivered.wait(first)
                log(f"Tor link up and first message delivered in {time.perf_counter() - t0:.1f} s")
            async with step("waiting for one settled Tor link", 60):
                await settled_link(a, b, 60)
                if a.path(b) != "tor" or b.path(a) != "tor":
                    raise BenchError(f"expected Tor on both sides, got {a.path(b)}, {b.path(a)}")

            async with step("Tor: message round trips", 120):
                tor_rtt, tor_echo, _, _, _, tor_split = await measure_rtts(
                    a, b, None, None, rtt_count, warmup
                )
            log(f"Tor RTT ms: {_ms(tor_rtt)}")
            log(f"Tor link-level echo ms: {_ms(tor_echo)}")
            log_split("Tor", tor_split)
            async with step("Tor: file transfer", 180):
                tor_file = [await file_transfer(a, b, tor_payload)]
            log(f"Tor file: {tor_file[0][0] / MB:.0f} MB in {tor_file[0][1]:.1f} s")

            async with step("allowing the direct path on both sides -> direct link up", 60):
                t0 = time.perf_counter()
                await a.node.set_direct_policy(cid_b, "allowed")
                await b.node.set_direct_policy(cid_a, "allowed")
                await go_direct(a, b, 60)
                assert a.node.direct is not None
                stats = a.node.direct.stats(cid_b)
                log(
                    f"direct link up {time.perf_counter() - t0:.2f} s after allowing it "
                    f"({stats.candidate} candidate, {stats.attempts} attempt(s))"
                )
            async with step("opening the raw aiortc channel", 30):
                await raw.open()
            direct_link = a.active(b)

            async with step("direct: message round trips", 120):
                d_rtt, d_echo, raw_rtt, sized_rtt, floor, d_split = await measure_rtts(
                    a, b, raw, store, rtt_count, warmup
                )
            log(f"direct RTT ms: {_ms(d_rtt)}")
            log(f"direct link-level echo ms: {_ms(d_echo)}")
            log(f"raw {MSG_CHARS} B echo ms: {_ms(raw_rtt)}")
            log(f"raw exchange of Libra's wire sizes ms: {_ms(sized_rtt)}")
            log(f"raw echo + 4 plain durable sqlite3 commits ms: {_ms(floor)}")
            log_split("direct", d_split)

            runs: dict[str, list[tuple[int, float]]] = {"file": [], "link": [], "raw": []}
            cpu = dict.fromkeys(runs, 0.0)
            async with step("direct: bulk (warm-up)", 120):
                await raw.bulk(2 * MB)
                await link_bulk(a, b, 2 * MB)
            async with step("direct: file transfers, link bulk and raw bulk", 600):
                sides = list(runs)
                for i in range(rounds):
                    for side in sides[i % 3 :] + sides[: i % 3]:
                        c0 = time.process_time()
                        if side == "file":
                            runs[side].append(await file_transfer(a, b, payload))
                        elif side == "link":
                            runs[side].append(await link_bulk(a, b, file_bytes))
                        else:
                            runs[side].append((file_bytes, await raw.bulk(file_bytes)))
                        cpu[side] += time.process_time() - c0
            for side, label in (("file", "file"), ("link", "link bulk"), ("raw", "raw bulk")):
                per_round = ", ".join(f"{n / t / MB:.2f}" for n, t in runs[side])
                cpu_ms = cpu[side] / sum(n for n, _ in runs[side]) * MB * 1e3
                log(f"direct {label} MB/s per round: {per_round} (CPU {cpu_ms:.0f} ms per MB)")
            if a.active(b) is not direct_link:
                log("WARNING: the direct link was replaced during the measurements")
            await raw.close()

            fail_times: list[float] = []
            async with step("failover rounds", 90 * failovers):
                for i in range(failovers):
                    fail_times.append(await failover(a, b, hole, i))
        finally:
            await raw.close()
            store.close()
            await asyncio.gather(*(p.close() for p in peers))

    dead_after = CONFIG.dead_after
    d_med, raw_med = statistics.median(d_rtt), statistics.median(raw_rtt)
    return [
        row(
            f"direct: text message round trip, send_text -> delivered ({MSG_CHARS} chars, "
            f"median of {rtt_count})",
            "ms",
            d_med * 1e3,
            raw_med * 1e3,
            f"echo of {MSG_CHARS} B on a raw aiortc data channel, same process",
            "<= 1.3x raw",
        ),
        row(
            f"direct: link-level echo, {MSG_CHARS} B Envelope record, no storage (median of "
            f"{rtt_count})",
            "ms",
            statistics.median(d_echo) * 1e3,
            raw_med * 1e3,
            f"echo of {MSG_CHARS} B on a raw aiortc data channel, same process",
            "informative",
        ),
        row(
            f"direct: the same round trip vs its durability floor (median of {rtt_count})",
            "ms",
            d_med * 1e3,
            statistics.median(floor) * 1e3,
            "raw 200 B echo + 4 plain sqlite3 commits (WAL, synchronous=FULL), same disk",
            "informative",
        ),
        row(
            f"Tor vs direct: the same round trip over Tor (median of {rtt_count})",
            "ms",
            statistics.median(tor_rtt) * 1e3,
            d_med * 1e3,
            "the same message over the direct path, same nodes",
            "informative",
        ),
        row(
            f"direct: file transfer, FileService accept -> done ({file_bytes // MB} MB x "
            f"{rounds}, random bytes)",
            "MB/s",
            rate(runs["file"]),
            rate(runs["raw"]),
            f"same bytes in {RAW_MESSAGE // 1024} KiB messages on a raw aiortc data channel",
            ">= 0.8x raw",
        ),
        row(
            f"direct: link bulk, FILES-channel records of {MAX_CHUNK_DATA:,} B "
            f"({file_bytes // MB} MB x {rounds})",
            "MB/s",
            rate(runs["link"]),
            rate(runs["raw"]),
            "the same raw aiortc bulk",
            "informative",
        ),
        row(
            f"Tor vs direct: file transfer over Tor ({tor_file_bytes // MB} MB)",
            "MB/s",
            rate(tor_file),
            rate(runs["file"]),
            "the file transfer over the direct path, same nodes",
            "informative",
        ),
        row(
            f"direct: failover, direct path blackholed -> next message delivered over Tor "
            f"(worst of {failovers})",
            "s",
            max(fail_times),
            dead_after,
            "the configured dead_after (silence before a link is dead)",
            "<= 10 s",
        ),
    ]


def run(quick: bool = False) -> list[dict]:
    """Start a private Tor network, measure, stop everything. ~1.5-2 min (quick: ~35 s)."""
    return run_on_private_network("direct", _measure, quick)


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(
            f"{r['name']:<80} {r['libra']:>9} {r['unit']:<5} baseline {r['baseline']:>9}"
            f"  goal {r['goal']}"
        )
