"""Libra over Tor vs raw Tor streams, on a private Tor network, in the same run.

One private network (``tests/tornet.py``: 3 authorities + 3 relays on loopback) and two Libra
``Node``s, A and B, each with its own tor launched by ``TorManager``, contacts of each other
(cards exchanged), linked over Tor exactly as ``libra-cli run`` does.

The raw baseline runs on *the same Tor circuit* as the Libra link. On this network the
latency of a rendezvous circuit depends on which relays it uses: five circuits between the
same two tors measured 11, 16, 48, 52 and 52 ms median echo round trip. A baseline on its own
circuit would measure circuit luck, not Libra. So the raw streams go from the tor that dialled
the link to the same inbox onion with the same SOCKS isolation token (read back from tor's
``circuit-status``, checked with ``stream-status``); a small shim in front of each inbox's
local port (``Dispatch``, installed by wrapping the node's ``tor.add_onion``) hands streams
that start with a bench magic line to an echo/sink server and everything else, unchanged, to
the node's ``PeerLinks.handle_inbound``. Libra and raw samples alternate.

Rows:

* message round trip: ``messaging.send_text`` until the same node publishes "delivered" (the
  Envelope reached the peer, which stored and acked it, and the ack was stored) for a
  200-character text, vs the echo round trip of a 200-byte write on the raw stream; medians.
  Goal: <= 1.15x raw.
* bulk: Envelope records with 60,000-byte ciphertexts queued on the live link (``Link.send``
  + ``drain``) until the peer's link layer handed all of them to its record consumer (a tap
  in front of ``messaging.receive``), vs the same bytes written to the raw stream until the
  sink read them all. Payload MB/s (10^6 B), same direction. Goal: >= 0.9x raw.
* start -> inbox reachable: a fresh Node (fresh profile, fresh tor data dir) from
  ``Node.start()`` until an already running tor client (the "prober") completes a SOCKS
  CONNECT to its client-authorized inbox, vs a fresh raw client tor (``start_client``) +
  ``ADD_ONION`` of a plain service + first successful CONNECT from the same prober. Both
  are probed only after ADD_ONION was accepted. Means: tor's bootstrap moves in steps of
  its once-a-second timer (2.1, 3.1 or 4.1 s here), a median of a few runs jumps between
  them. Goal: <= 1.2x raw.

Needs ``tor`` and ``tor-gencert``; run from the repository root (``python -m bench tor``).
About 1.5-2 minutes (``--quick``: about 40 s). Every tor is stopped at the end; on failure
the tor logs are kept and their directory is named in the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from libra_gui.core.net.link import Link
from libra_gui.core.net.tor.errors import SocksError
from libra_gui.core.net.tor.events import TorBootstrap
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.net.tor.socks import open_stream
from libra_gui.core.protocol.records import KIND_NORMAL, Envelope, LinkRecord
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import EventBus, MessageStateChanged
from libra_gui.core.services.node import INBOX_PORT, Node
from libra_gui.core.storage import INSECURE_TEST_KDF

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests/tornet.py lives outside the package
    sys.path.insert(0, str(ROOT))

from tests.tornet import TOR, TOR_GENCERT, TorClient, TorNetwork  # noqa: E402

PASS = "bench tor passphrase"
MSG_CHARS = 200
CHUNK = 60_000  # largest Envelope ciphertext (records.MAX_CIPHERTEXT)
BULK_MARK = b"BENCHBLK"  # msg_id prefix of bulk Envelopes, counted before messaging sees them
ECHO_MAGIC = b"libra-bench-raw-echo\n"  # first bytes of a raw stream: what the shim serves
SINK_MAGIC = b"libra-bench-raw-sink\n"
SIZED_MAGIC = b"libra-bench-raw-sized\n"  # then u32 request size, u32 reply size
MAGICS = (ECHO_MAGIC, SINK_MAGIC, SIZED_MAGIC)
MB = 1_000_000
LOCAL = "127.0.0.1"
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def log(text: str) -> None:
    print(f"  [tor] {text}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and where the logs are."""


@contextlib.asynccontextmanager
async def step(what: str, seconds: float) -> AsyncIterator[None]:
    """Bound one step in time and name it in the error if it fails."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise BenchError(f"{what}: no result within {seconds:g} s") from None
    except BenchError as exc:
        raise BenchError(f"{what}: {exc}") from exc
    except Exception as exc:
        raise BenchError(f"{what}: {type(exc).__name__}: {exc}") from exc


# --- the raw side --------------------------------------------------------------------------------


class RawServer:
    """Echo or sink, chosen by the magic line a raw stream starts with."""

    def __init__(self) -> None:
        self.received = 0
        self.target = 0
        self.done: asyncio.Future[float] | None = None
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Also listen on a port of its own (target of the plain service in the start row)."""
        self.server = await asyncio.start_server(self.handle, LOCAL, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def expect(self, nbytes: int) -> asyncio.Future[float]:
        """A future for the perf_counter time at which the sink has read ``nbytes`` more."""
        self.received, self.target = 0, nbytes
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            magic = await reader.readline()
            if magic == ECHO_MAGIC:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            elif magic == SINK_MAGIC:
                while data := await reader.read(65536):
                    self.received += len(data)
                    done = self.done
                    if done is not None and not done.done() and self.received >= self.target:
                        done.set_result(time.perf_counter())
            elif magic == SIZED_MAGIC:  # read a request of n bytes, answer with m bytes
                header = await reader.readexactly(8)
                n, m = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
                reply = bytes(m)
                while True:
                    await reader.readexactly(n)
                    writer.write(reply)
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class Dispatch(asyncio.Protocol):
    """In front of an inbox's local port: looks at the first bytes of a stream, then hands
    the connection to a StreamReaderProtocol for the raw server or for the node's own inbound
    handler (``transport.set_protocol``: no copy, no extra hop once decided)."""

    def __init__(
        self,
        libra: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        raw: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> None:
        self._libra, self._raw = libra, raw
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        handler = self._libra
        for magic in MAGICS:
            if self._buf.startswith(magic):
                handler = self._raw
            elif magic.startswith(self._buf):
                return  # could still be a raw stream: wait for more
        assert self._transport is not None
        proto = asyncio.StreamReaderProtocol(asyncio.StreamReader(), handler)
        self._transport.set_protocol(proto)
        proto.connection_made(self._transport)
        proto.data_received(self._buf)

    def eof_received(self) -> bool:
        return False  # ended before saying anything: close


# --- the Libra side ------------------------------------------------------------------------------


class Delivered:
    """Bus listener: perf_counter time of each "delivered" MessageStateChanged."""

    def __init__(self) -> None:
        self.at: dict[bytes, float] = {}
        self._waiters: dict[bytes, asyncio.Future[float]] = {}

    def __call__(self, event: object) -> None:
        if isinstance(event, MessageStateChanged) and event.state == "delivered":
            now = time.perf_counter()
            self.at[event.msg_id] = now
            fut = self._waiters.pop(event.msg_id, None)
            if fut is not None and not fut.done():
                fut.set_result(now)

    async def wait(self, msg_id: bytes) -> float:
        if msg_id in self.at:
            return self.at[msg_id]
        fut = asyncio.get_running_loop().create_future()
        self._waiters[msg_id] = fut
        return await fut


class BulkTap:
    """Wraps a node's ``messaging.receive``: counts bulk Envelopes, passes the rest on."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.inner = node.messaging.receive
        self.received = 0
        self.target = 0
        self.done: asyncio.Future[float] | None = None
        node.messaging.receive = self.receive  # type: ignore[method-assign]

    def expect(self, nbytes: int) -> asyncio.Future[float]:
        self.received, self.target = 0, nbytes
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    async def receive(self, contact_id: int, records: list[LinkRecord]) -> None:
        rest = []
        for r in records:
            if isinstance(r, Envelope) and r.msg_id.startswith(BULK_MARK):
                self.received += len(r.ciphertext)
            else:
                rest.append(r)
        done = self.done
        if done is not None and not done.done() and self.received >= self.target:
            done.set_result(time.perf_counter())
        if rest:
            await self.inner(contact_id, rest)

    def remove(self) -> None:
        with contextlib.suppress(AttributeError):
            del self.node.messaging.receive  # back to the class's method


class Peer:
    """One profile + Node (its tor under ``<dir>/tor``)."""

    def __init__(self, name: str, data_dir: Path, card: bytes) -> None:
        self.name, self.data_dir, self.card = name, data_dir, card
        self.bus = EventBus()
        self.delivered = Delivered()
        self.bus.add_listener(self.delivered)
        self.node: Node | None = None
        self.prof: profile.Profile | None = None
        self.contact_ids: dict[str, int] = {}
        self._shim: asyncio.Server | None = None

    @classmethod
    async def create(cls, name: str, base: Path) -> Peer:
        data_dir = base / name
        card = await profile.create_profile(data_dir, PASS, name, kdf_params=INSECURE_TEST_KDF)
        return cls(name, data_dir, card.encode())

    async def add(self, other: Peer) -> None:
        async with profile.unlocked(self.data_dir, PASS) as prof:
            self.contact_ids[other.name] = (await contacts.add_from_card(prof, other.card)).id

    async def open(self, torrc: list[str]) -> Node:
        self.prof = await profile.unlock(self.data_dir, PASS)
        settings = TorSettings(
            data_dir=self.data_dir / "tor", extra_torrc=torrc, bootstrap_timeout=60
        )
        self.node = Node(self.prof, settings, self.bus)
        return self.node

    def shim_inbox(self, raw: RawServer) -> None:
        """Put ``Dispatch`` in front of the inbox: wrap this node's ``tor.add_onion`` so the
        inbox service targets the shim's port instead of the node's own listener."""
        node = self.node
        assert node is not None
        add_onion = node.tor.add_onion

        async def libra(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert node.peers is not None
            await node.peers.handle_inbound(reader, writer)

        async def wrapped(key: Any, virtual_port: int, target_port: int, **kw: Any) -> str:
            if virtual_port == INBOX_PORT and self._shim is None:
                loop = asyncio.get_running_loop()
                self._shim = await loop.create_server(lambda: Dispatch(libra, raw.handle), LOCAL, 0)
                target_port = self._shim.sockets[0].getsockname()[1]
            return await add_onion(key, virtual_port, target_port, **kw)

        node.tor.add_onion = wrapped  # type: ignore[method-assign]

    def link_to(self, other: Peer) -> Link | None:
        assert self.node is not None and self.node.peers is not None
        return self.node.peers.link(self.contact_ids[other.name])

    async def close(self) -> None:
        node, prof, self.node, self.prof = self.node, self.prof, None, None
        if node is not None:
            with contextlib.suppress(Exception):
                await node.stop()
        if self._shim is not None:
            self._shim.close()
            self._shim = None
        if prof is not None:
            with contextlib.suppress(Exception):
                await prof.db.close()


# --- helpers -------------------------------------------------------------------------------------


async def connect(
    socks_port: int, onion: str, port: int, isolation: str, seconds: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, list[int | None]]:
    """SOCKS CONNECT through tor, retrying what a fresh service answers (0xF0 before its
    descriptor is on the HSDirs, 0xF2/0xF3/0xF7 on a bad first circuit)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    seen: list[int | None] = []
    while True:
        try:
            reader, writer = await open_stream(
                LOCAL,
                socks_port,
                onion + ".onion",
                port,
                isolation=isolation,
                timeout=max(1.0, deadline - loop.time()),
            )
            return reader, writer, seen
        except SocksError as exc:
            seen.append(exc.code)
            if not exc.retryable:
                raise
            if loop.time() > deadline:
                codes = ", ".join("-" if c is None else f"0x{c:02X}" for c in seen)
                raise BenchError(
                    f"{onion}.onion:{port} not reachable within {seconds:g} s "
                    f"(SOCKS errors: {codes})"
                ) from exc
        await asyncio.sleep(0.1)


def control(client: TorClient, *commands: str) -> list[str]:
    """Raw control commands to a tornet client (blocking: call in a thread)."""
    out = []
    with client.controller() as ctl:
        for command in commands:
            reply = ctl.msg(command)
            if not reply.is_ok():
                raise BenchError(f"{client.name} refused {command.split()[0]}: {reply}")
            out.append(str(reply))
    return out


async def streams_to(node: Node, onion: str) -> dict[int, int]:
    """Stream id -> circuit id of the open streams from this node's tor to ``onion``."""
    out = {}
    for line in (await node.tor.get_info("stream-status")).splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "SUCCEEDED" and parts[3].startswith(onion + "."):
            out[int(parts[0])] = int(parts[2])
    return out


async def isolation_of(node: Node, circuit: int) -> str:
    """The SOCKS username (isolation token) tor recorded for a circuit."""
    for line in (await node.tor.get_info("circuit-status")).splitlines():
        if line.split(" ", 1)[0] == str(circuit):
            match = re.search(r'SOCKS_USERNAME="((?:[^"\\]|\\.)*)"', line)
            if match:
                return match.group(1)
    raise BenchError(f"tor shows no isolation token for circuit {circuit}")


async def settled_link(a: Peer, b: Peer, seconds: float) -> tuple[Link, Link]:
    """Wait until A and B agree on one link (simultaneous dials resolved) for a second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    stable_since, last = None, None
    while loop.time() < deadline:
        la, lb = a.link_to(b), b.link_to(a)
        ok = (
            la is not None
            and lb is not None
            and la.is_open
            and lb.is_open
            and la.handshake_hash == lb.handshake_hash
        )
        key = la.handshake_hash if ok and la is not None else None
        if key is not None and key == last:
            if stable_since is not None and loop.time() - stable_since >= 1.0:
                assert la is not None and lb is not None
                return la, lb
        else:
            stable_since, last = loop.time(), key
        await asyncio.sleep(0.1)
    raise BenchError("A and B never settled on one link")


def row(name: str, unit: str, libra: float, base: float, base_name: str, goal: str) -> dict:
    digits = 3 if unit in ("s", "MB/s") else 1
    return {
        "name": name,
        "unit": unit,
        "libra": round(libra, digits),
        "baseline": round(base, digits),
        "baseline_name": base_name,
        "goal": goal,
    }


def _ms(samples: list[float], stall_above: float) -> str:
    q = statistics.quantiles(samples, n=10) if len(samples) > 1 else samples * 9
    stalls = sum(x > stall_above for x in samples)
    return (
        f"median {statistics.median(samples) * 1e3:.1f}, p10 {q[0] * 1e3:.1f}, "
        f"p90 {q[-1] * 1e3:.1f}; {stalls}/{len(samples)} over {stall_above * 1e3:.0f}"
    )


# --- measurements --------------------------------------------------------------------------------


async def measure_rtt(
    near: Peer, far: Peer, link: Link, echo: Stream, sized: Stream, count: int, warmup: int
) -> tuple[list[float], list[float], list[float], tuple[int, int]]:
    """Alternating samples: Libra message, raw 200 B echo, raw exchange of Libra's wire sizes.

    The wire sizes (frame of the Envelope out, frame of the Ack back) are read from the
    link's byte counters during the warm-up (the smallest seen: a heartbeat can add a frame).
    """
    assert near.node is not None
    cid = near.contact_ids[far.name]
    reader, writer = echo
    sreader, swriter = sized
    body = ("round trip " * 30)[:MSG_CHARS]
    libra: list[float] = []
    raw: list[float] = []
    raw_sized: list[float] = []
    wire_out, wire_in = 1 << 30, 1 << 30
    for i in range(warmup + count):
        out0, in0 = link.stats.bytes_out, link.stats.bytes_in
        t0 = time.perf_counter()
        msg_id = await near.node.messaging.send_text(cid, body)
        t1 = await asyncio.wait_for(near.delivered.wait(msg_id), 30)
        if i < warmup:
            wire_out = min(wire_out, link.stats.bytes_out - out0)
            wire_in = min(wire_in, link.stats.bytes_in - in0)
            if i == warmup - 1:
                swriter.write(
                    SIZED_MAGIC + wire_out.to_bytes(4, "big") + wire_in.to_bytes(4, "big")
                )
        payload = os.urandom(MSG_CHARS)
        t2 = time.perf_counter()
        writer.write(payload)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(len(payload)), 30)
        t3 = time.perf_counter()
        if got != payload:
            raise BenchError("the raw echo returned other bytes")
        if i >= warmup:
            t4 = time.perf_counter()
            swriter.write(os.urandom(wire_out))
            await swriter.drain()
            await asyncio.wait_for(sreader.readexactly(wire_in), 30)
            raw_sized.append(time.perf_counter() - t4)
            libra.append(t1 - t0)
            raw.append(t3 - t2)
    return libra, raw, raw_sized, (wire_out, wire_in)


async def libra_bulk(link: Link, tap: BulkTap, nbytes: int) -> tuple[int, float]:
    """Payload bytes and seconds until the peer's record consumer had them all."""
    if not link.is_open:
        raise BenchError("the Libra link closed before the bulk transfer")
    chunks = math.ceil(nbytes / CHUNK)
    blob = os.urandom(CHUNK)  # incompressible, like real ciphertext
    done = tap.expect(chunks * CHUNK)
    t0 = time.perf_counter()
    for _ in range(chunks):
        msg_id = BULK_MARK + os.urandom(16 - len(BULK_MARK))
        link.send([Envelope(msg_id=msg_id, kind=KIND_NORMAL, ciphertext=blob)])
        await link.drain()
    t1 = await done
    return chunks * CHUNK, t1 - t0


async def raw_bulk(
    server: RawServer, writer: asyncio.StreamWriter, nbytes: int
) -> tuple[int, float]:
    """Bytes and seconds until the sink had read them all."""
    chunks = math.ceil(nbytes / CHUNK)
    blob = os.urandom(CHUNK)
    done = server.expect(chunks * CHUNK)
    t0 = time.perf_counter()
    for _ in range(chunks):
        writer.write(blob)
        await writer.drain()
    t1 = await done
    return chunks * CHUNK, t1 - t0


async def libra_start(
    peer: Peer, torrc: list[str], prober: TorClient, auth_b64: str, round_no: int
) -> float:
    """Node.start() until the prober's CONNECT to the (client-authorized) inbox succeeds.

    Probing starts once tor accepted the inbox's ADD_ONION (earlier probes would only fill
    the prober's HSDir back-off), while Node.start() finishes its remaining steps.
    """
    node = await peer.open(torrc)
    address = node.profile.inbox_key.address
    await asyncio.to_thread(control, prober, f"ONION_CLIENT_AUTH_ADD {address} x25519:{auth_b64}")
    bootstrapped: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, TorBootstrap) and event.percent == 100:
            bootstrapped.append(time.perf_counter())

    peer.bus.add_listener(on_event)
    marks: dict[str, float] = {}
    added = asyncio.Event()

    def timed(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            marks.setdefault(name + " called", time.perf_counter())
            result = await fn(*args, **kwargs)
            marks.setdefault(name + " returned", time.perf_counter())
            if name == "ADD_ONION":
                added.set()
            return result

        return wrapper

    node.tor.start = timed("tor.start", node.tor.start)  # type: ignore[method-assign]
    node.tor.add_onion = timed("ADD_ONION", node.tor.add_onion)  # type: ignore[method-assign]
    node.start = timed("Node.start", node.start)  # type: ignore[method-assign]
    t0 = time.perf_counter()
    starting = asyncio.create_task(node.start())
    try:
        waiter = asyncio.create_task(added.wait())
        await asyncio.wait([starting, waiter], return_when="FIRST_COMPLETED")
        waiter.cancel()
        if not added.is_set():
            starting.result()  # start() failed before the inbox was added: raise that
            raise BenchError("Node.start() returned without adding the inbox")
        probe = f"probe-l{round_no}"
        _r, w, seen = await connect(prober.socks_port, address, INBOX_PORT, probe, 90)
        t_reach = time.perf_counter()
        w.close()
    except BaseException:
        await asyncio.wait([starting])  # stop() must not race a start() still running
        raise
    await starting
    if bootstrapped:
        marks["bootstrapped"] = bootstrapped[0]
    marks["reachable"] = t_reach
    marks.pop("Node.start called", None)
    steps = ", ".join(f"{k} {v - t0:.2f}" for k, v in sorted(marks.items(), key=lambda kv: kv[1]))
    log(
        f"libra start #{round_no}: {steps} s (Sandbox {int(node.tor.sandboxed)}, "
        f"{len(seen)} failed probes)"
    )
    return t_reach - t0


async def raw_start(network: TorNetwork, prober: TorClient, target: int, round_no: int) -> float:
    """Raw client tor start + ADD_ONION + the prober's first successful CONNECT."""
    t0 = time.perf_counter()
    client = await asyncio.to_thread(network.start_client, f"raw{round_no}")
    t_boot = time.perf_counter()
    try:
        (reply,) = await asyncio.to_thread(
            control,
            client,
            f"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK,Detach Port={INBOX_PORT},{LOCAL}:{target}",
        )
        t_added = time.perf_counter()
        match = re.search(r"ServiceID=([a-z2-7]{56})", reply)
        if match is None:
            raise BenchError(f"no ServiceID in the ADD_ONION reply: {reply!r}")
        _r, w, seen = await connect(
            prober.socks_port, match.group(1), INBOX_PORT, f"probe-r{round_no}", 90
        )
        t_reach = time.perf_counter()
        w.close()
    finally:
        await asyncio.to_thread(client.stop)
    log(
        f"raw   start #{round_no}: bootstrapped {t_boot - t0:.2f} s, service added "
        f"{t_added - t0:.2f} s, reachable {t_reach - t0:.2f} s ({len(seen)} failed probes)"
    )
    return t_reach - t0


# --- the run -------------------------------------------------------------------------------------


async def _measure(network: TorNetwork, base: Path, quick: bool) -> list[dict]:
    rtt_count, warmup = (10, 3) if quick else (50, 5)
    bulk_bytes = 1 * MB if quick else 5 * MB
    bulk_rounds = 1 if quick else 3
    start_rounds = 2 if quick else 5
    torrc = network.client_torrc_lines()

    peers: list[Peer] = []
    raw_server = RawServer()
    writers: list[asyncio.StreamWriter] = []
    tap: BulkTap | None = None
    try:
        async with step("creating profiles", 60):
            a, b = await Peer.create("alice", base), await Peer.create("bob", base)
            starters = [await Peer.create(f"carol{i}", base) for i in range(start_rounds)]
            peers += [a, b, *starters]
            await a.add(b)
            await b.add(a)
            for carol in starters:
                await carol.add(a)  # carol's inbox authorizes alice's client-auth key
        await raw_server.start()
        for peer in (a, b):
            await peer.open(torrc)
            peer.shim_inbox(raw_server)
        assert a.node is not None and b.node is not None

        async with step("starting Libra nodes A and B and the prober tor", 120):
            t0 = time.perf_counter()
            _, _, prober = await asyncio.gather(
                a.node.start(), b.node.start(), asyncio.to_thread(network.start_client, "prober")
            )
            log(f"nodes A, B and the prober up in {time.perf_counter() - t0:.1f} s")
        async with step("first Libra message A -> B delivered (link up, ratchet session)", 120):
            t0 = time.perf_counter()
            first = await a.node.messaging.send_text(a.contact_ids["bob"], "hello")
            await a.delivered.wait(first)
            log(f"link up and first message delivered in {time.perf_counter() - t0:.1f} s")
        async with step("waiting for one settled link", 60):
            link_a, _ = await settled_link(a, b, 60)
        # Measure from the side that dialled: its tor owns the rendezvous circuit.
        near, far = (a, b) if link_a.initiator else (b, a)
        assert near.node is not None and far.node is not None and far.node.address is not None
        link = near.link_to(far)
        assert link is not None
        async with step("opening raw streams on the Libra link's circuit", 60):
            libra_streams = await streams_to(near.node, far.node.address)
            if len(libra_streams) != 1:
                raise BenchError(
                    f"expected one Libra stream to the inbox, tor shows {libra_streams}"
                )
            (libra_circ,) = libra_streams.values()
            isolation = await isolation_of(near.node, libra_circ)
            socks = (await near.node.tor.socks_endpoint())[1]
            er, ew, _ = await connect(socks, far.node.address, INBOX_PORT, isolation, 30)
            writers.append(ew)
            _sr, sw, _ = await connect(socks, far.node.address, INBOX_PORT, isolation, 30)
            writers.append(sw)
            zr, zw, _ = await connect(socks, far.node.address, INBOX_PORT, isolation, 30)
            writers.append(zw)
            ew.write(ECHO_MAGIC)
            sw.write(SINK_MAGIC)
            await asyncio.gather(ew.drain(), sw.drain())
            circuits = set((await streams_to(near.node, far.node.address)).values())
            if circuits != {libra_circ}:
                log(f"WARNING: raw streams on circuits {circuits}, Libra on {libra_circ}")
            else:
                log(f"{near.name} dialled; Libra link and raw streams share circuit {libra_circ}")

        async with step("message round trips", 180):
            libra_rtt, raw_rtt, sized_rtt, (w_out, w_in) = await measure_rtt(
                near, far, link, (er, ew), (zr, zw), rtt_count, warmup
            )
        # A stall: ~40 ms more than a quick raw echo (see docs/benchmarks.md).
        stall = min(raw_rtt) + 0.030
        log(f"RTT ms  libra: {_ms(libra_rtt, stall)}")
        log(f"RTT ms  raw {MSG_CHARS} B echo: {_ms(raw_rtt, stall)}")
        log(f"RTT ms  raw {w_out} B out / {w_in} B back (Libra's sizes): {_ms(sized_rtt, stall)}")

        tap = BulkTap(far.node)
        sent_before = link.stats.bytes_out
        bulk: dict[str, list[tuple[int, float]]] = {"libra": [], "raw": []}
        cpu = {"libra": 0.0, "raw": 0.0}  # CPU of this process (both nodes' Python side)
        async with step("bulk transfers", 150):
            for i in range(bulk_rounds):
                order = ("libra", "raw") if i % 2 == 0 else ("raw", "libra")
                for side in order:
                    cpu0 = time.process_time()
                    if side == "libra":
                        bulk[side].append(await libra_bulk(link, tap, bulk_bytes))
                    else:
                        bulk[side].append(await raw_bulk(raw_server, sw, bulk_bytes))
                    cpu[side] += time.process_time() - cpu0
        tap.remove()
        tap = None
        payload = {side: sum(n for n, _ in runs) for side, runs in bulk.items()}
        rate = {side: payload[side] / sum(t for _, t in runs) / MB for side, runs in bulk.items()}
        wire = (link.stats.bytes_out - sent_before) / payload["libra"]

        def rates(side: str) -> str:
            return ", ".join(f"{n / t / MB:.2f}" for n, t in bulk[side])

        log(
            f"bulk MB/s per round  libra: {rates('libra')};  raw: {rates('raw')}  "
            f"(Libra wire bytes per payload byte: {wire:.3f})"
        )
        log(
            "bulk CPU of this process per payload MB: "
            f"libra {cpu['libra'] / payload['libra'] * MB * 1e3:.0f} ms, "
            f"raw {cpu['raw'] / payload['raw'] * MB * 1e3:.0f} ms "
            f"({os.cpu_count()} cores shared with every tor)"
        )
        if near.link_to(far) is not link:
            log("WARNING: the Libra link was replaced during the measurements")

        libra_starts: list[float] = []
        raw_starts: list[float] = []
        auth = a.prof.client_auth.private_b64 if a.prof is not None else ""
        async with step("start -> inbox reachable", 30 + 60 * start_rounds):
            for i, carol in enumerate(starters):
                order = ("libra", "raw") if i % 2 == 0 else ("raw", "libra")
                for side in order:
                    if side == "libra":
                        try:
                            libra_starts.append(await libra_start(carol, torrc, prober, auth, i))
                        finally:
                            await carol.close()
                    else:
                        raw_starts.append(await raw_start(network, prober, raw_server.port, i))
    finally:
        if tap is not None:
            tap.remove()
        for writer in writers:
            writer.close()
        await asyncio.gather(*(p.close() for p in peers))
        raw_server.close()

    return [
        row(
            f"Tor: text message round trip, send_text -> delivered ({MSG_CHARS} chars, "
            f"median of {rtt_count})",
            "ms",
            statistics.median(libra_rtt) * 1000,
            statistics.median(raw_rtt) * 1000,
            f"echo of {MSG_CHARS} B on a raw SOCKS stream, same circuit",
            "<= 1.15x raw",
        ),
        row(
            f"Tor: bulk on the live link, {CHUNK:,} B Envelopes "
            f"({bulk_bytes // MB} MB x {bulk_rounds})",
            "MB/s",
            rate["libra"],
            rate["raw"],
            "same bytes on a raw SOCKS stream, same circuit, until the sink read them",
            ">= 0.9x raw",
        ),
        row(
            f"Tor: start -> inbox reachable, fresh tor (mean of {len(libra_starts)})",
            "s",
            statistics.mean(libra_starts),
            statistics.mean(raw_starts),
            "raw client tor + ADD_ONION of a plain service + first CONNECT",
            "<= 1.2x raw",
        ),
    ]


Measure = Callable[[TorNetwork, Path, bool], Awaitable[list[dict]]]


def run_on_private_network(name: str, measure: Measure, quick: bool) -> list[dict]:
    """Start a private Tor network, run ``measure``, stop every tor; keep logs on failure."""
    for binary in (TOR, TOR_GENCERT):
        if not shutil.which(binary):
            raise BenchError(f"bench {name} needs {binary} (Debian: apt install tor)")
    base = Path(tempfile.mkdtemp(prefix=f"libra-bench-{name}-"))
    network = TorNetwork(base / "net")
    ok = False
    started = time.perf_counter()
    try:
        network.start()
        log(f"private network up in {network.startup_seconds:.1f} s")
        rows = asyncio.run(measure(network, base, quick))
        ok = True
        return rows
    except BenchError as exc:
        raise BenchError(f"{exc} (tor logs kept in {base})") from exc
    finally:
        network.stop()
        if ok:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"failed; logs kept in {base}")
        log(f"total {time.perf_counter() - started:.0f} s")


def run(quick: bool = False) -> list[dict]:
    """Start a private Tor network, measure, stop every tor. ~1.5-2 min (quick: ~40 s)."""
    return run_on_private_network("tor", _measure, quick)


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(
            f"{r['name']:<72} {r['libra']:>8} {r['unit']:<5} baseline {r['baseline']:>8}"
            f"  goal {r['goal']}"
        )
