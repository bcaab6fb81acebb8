"""Link over real loopback TCP: handshake, records, hostile bytes, heartbeats, fairness."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
from test_link_support import (
    ALICE,
    BOB,
    CAROL,
    HOST,
    Collector,
    FileChunk,
    LinkServer,
    Relay,
    dial,
    fast,
)

from libra_gui.core.crypto.noise import NoiseTransport
from libra_gui.core.errors import DecryptionError, HandshakeError, LibraError, MalformedRecord
from libra_gui.core.net import link as link_mod
from libra_gui.core.net.link import (
    Channel,
    HandshakeAborted,
    HandshakeTimeout,
    Link,
    LinkClosed,
    LinkConfig,
    LinkDead,
    LinkOverloaded,
    PeerRejected,
)
from libra_gui.core.protocol import records as records_mod
from libra_gui.core.protocol.handshake import Handshake, Mode, Role, encode_hello
from libra_gui.core.protocol.records import Ack, Close, Envelope, LinkRecord, Ping
from libra_gui.core.protocol.wire import encode_frame, encode_message


def envelope(i: int, size: int = 100) -> Envelope:
    """An Envelope with incompressible ciphertext (as real ratchet output is)."""
    return Envelope(msg_id=i.to_bytes(16, "big"), kind=1, ciphertext=random.randbytes(size))


@pytest.fixture
def files_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make FileChunk a decodable link record on the FILES channel, for this test only."""
    registry = cast(dict[int, type[LinkRecord]], records_mod.LINK_RECORDS)
    monkeypatch.setitem(registry, FileChunk.TYPE, FileChunk)
    monkeypatch.setitem(link_mod.CHANNEL_OF, FileChunk, Channel.FILES)


# --- handshake and records --------------------------------------------------------------------


@pytest.mark.parametrize("ik", [False, True], ids=["XX", "IK"])
async def test_records_flow_both_ways(ik: bool):
    async with LinkServer(context=b"onion:test") as server:
        got = Collector()
        client = await dial(server.port, ik=ik, on_records=got, context=b"onion:test")
        peer = await server.next_link()
        assert client.mode is (Mode.IK if ik else Mode.XX) and peer.mode is client.mode
        assert client.initiator and not peer.initiator
        assert client.peer_identity == BOB.identity_public
        assert peer.peer_identity == ALICE.identity_public
        assert peer.peer_static == ALICE.static_public
        assert client.handshake_hash == peer.handshake_hash
        sent = [envelope(i) for i in range(50)]
        client.send(sent[:25])
        client.send(sent[25:])
        assert await server.collectors[0].wait_for(50) == sent
        peer.send([Ack(msg_ids=tuple(e.msg_id for e in sent[:10]))])
        assert await got.wait_for(1) == [Ack(msg_ids=tuple(e.msg_id for e in sent[:10]))]
        await asyncio.sleep(0.15)  # one heartbeat: both sides measured a round trip
        assert client.rtt is not None and peer.rtt is not None and client.rtt < 0.1
        await client.close("bye")
        assert await server.outcome() is None
        assert peer.close_reason == "bye" and peer.closed_by_peer
        assert client.error is None and client.is_closed
        await client.wait_closed()


async def test_close_delivers_queued_chat_first_and_refuses_later_sends():
    async with LinkServer() as server:
        client = await dial(server.port)
        await server.next_link()
        client.send([envelope(i) for i in range(5)])
        await client.close("done")
        client.send([envelope(99)])  # closed: silently dropped, delivery resends elsewhere
        with pytest.raises(LinkClosed):
            await client.drain()
        assert await server.outcome() is None
        assert [r.msg_id[-1] for r in server.collectors[0].records] == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError):
            client.send([Close(reason="use close()")])


async def test_records_wait_for_a_late_consumer_in_order():
    async with LinkServer() as server:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        client = await Link.connect(
            reader, writer, ALICE, expected_identity=BOB.identity_public, config=fast()
        )
        peer = await server.next_link()
        peer.send([envelope(i) for i in range(40)])
        await asyncio.sleep(0.2)
        got = Collector()
        client.deliver_to(got)
        assert [r.msg_id[-1] for r in await got.wait_for(40)] == list(range(40))
        await client.close()


async def test_a_failing_consumer_closes_the_link_with_its_error():
    class Full(LibraError):
        pass

    async def refuse(records: list) -> None:
        raise Full("store is full")

    async with LinkServer() as server:
        client = await dial(server.port, on_records=refuse)
        (await server.next_link()).send([envelope(1)])
        await asyncio.wait_for(client.closed.wait(), 2)
        assert isinstance(client.error, Full)
        assert isinstance(await server.outcome(), LinkClosed)  # the stream was cut


async def test_sending_a_type_without_channel_is_a_bug():
    async with LinkServer() as server:
        client = await dial(server.port)
        with pytest.raises(TypeError):
            client.send([FileChunk(seq=1, data=b"x")])  # not in CHANNEL_OF
        await client.close()


# --- who may connect ------------------------------------------------------------------------


async def test_unknown_peer_is_rejected_xx():
    async with LinkServer(accept=lambda identity: identity == CAROL.identity_public) as server:
        with pytest.raises(PeerRejected):
            await dial(server.port)
        assert isinstance(await server.outcome(), PeerRejected)


async def test_unknown_peer_is_rejected_ik_before_message_2():
    async with LinkServer(accept=lambda identity: False) as server:
        with pytest.raises(HandshakeAborted):  # stream ends before IK message 2
            await dial(server.port, ik=True)
        assert isinstance(await server.outcome(), PeerRejected)


async def test_wrong_responder_identity_fails_before_we_reveal_ours():
    async with LinkServer(keys=CAROL) as server:
        with pytest.raises(HandshakeError, match="expected contact"):
            await dial(server.port, peer=BOB)
        assert isinstance(await server.outcome(), HandshakeAborted)


# --- hostile or broken streams --------------------------------------------------------------


async def raw_handshake(
    port: int,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, NoiseTransport]:
    """A hand-driven initiator: completes XX and returns the stream and Noise transport."""
    reader, writer = await asyncio.open_connection(HOST, port)
    hs = Handshake(Role.INITIATOR, ALICE, expected_identity=BOB.identity_public)
    writer.write(hs.start())
    while not hs.complete:
        for out in hs.receive(await reader.read(65536)):
            writer.write(out)
    return reader, writer, hs.result.transport


def sealed(transport: NoiseTransport, frame: bytes) -> bytes:
    return encode_message(transport.encrypt(frame))


PING = encode_frame([Ping(nonce=7)])
Attack = Callable[[int], Awaitable[asyncio.StreamWriter]]
Make = Callable[[NoiseTransport], bytes]
BAD_RECORD = (b"\x00" + (5).to_bytes(4, "big") + b"\x00\x00\x00\x01\xc1").ljust(256, b"\x00")


def _during_handshake(data: bytes, eof: bool = True) -> Attack:
    async def attack(port: int) -> asyncio.StreamWriter:
        _reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(data)
        if eof:
            writer.write_eof()
        return writer

    return attack


def _after_handshake(make: Make, confirm: bool = True, eof: bool = False) -> Attack:
    async def attack(port: int) -> asyncio.StreamWriter:
        _reader, writer, transport = await raw_handshake(port)
        if confirm:
            writer.write(sealed(transport, PING))
        writer.write(make(transport))
        if eof:
            writer.write_eof()
        return writer

    return attack


def _tampered(transport: NoiseTransport) -> bytes:
    data = bytearray(sealed(transport, encode_frame([envelope(1)])))
    data[10] ^= 0x40
    return bytes(data)


def _replayed(transport: NoiseTransport) -> bytes:
    frame = sealed(transport, encode_frame([envelope(1)]))
    return frame + frame


HOSTILE: dict[str, tuple[Attack, type[Exception]]] = {
    "http request": (_during_handshake(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HandshakeError),
    "tls hello": (_during_handshake(bytes.fromhex("160301020001")), HandshakeError),
    "oversized handshake length": (
        _during_handshake(encode_hello((1,)) + b"\x01\xff\xff" + bytes(64), eof=False),
        HandshakeError,
    ),
    "half-finished handshake": (
        _during_handshake(encode_hello((1,)) + b"\x01\x00\x20" + bytes(10)),
        HandshakeAborted,
    ),
    "tampered first frame": (_after_handshake(_tampered, confirm=False), DecryptionError),
    "no first frame": (_after_handshake(lambda t: b"", confirm=False, eof=True), HandshakeAborted),
    "tampered frame": (_after_handshake(_tampered), DecryptionError),
    "replayed frame": (_after_handshake(_replayed), DecryptionError),
    "zero length prefix": (_after_handshake(lambda t: b"\x00\x00"), MalformedRecord),
    "oversized length prefix": (
        _after_handshake(lambda t: b"\xff\xff" + random.randbytes(65535)),
        DecryptionError,
    ),
    "truncated frame": (
        _after_handshake(lambda t: sealed(t, PING)[:100], eof=True),
        MalformedRecord,
    ),
    "frame not a bucket size": (_after_handshake(lambda t: sealed(t, bytes(300))), MalformedRecord),
    "reserved msgpack byte": (_after_handshake(lambda t: sealed(t, BAD_RECORD)), MalformedRecord),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_stream_gets_a_typed_error_and_the_server_keeps_serving(case: str):
    attack, expected = HOSTILE[case]
    async with LinkServer(config=fast(handshake_timeout=1.0)) as server:
        writer = await attack(server.port)
        error = await server.outcome()
        assert isinstance(error, expected), (case, error)
        writer.close()
        good = await dial(server.port)  # the listener is unaffected
        (await server.next_link()).send([envelope(3)])
        await good.close()


async def test_slow_loris_is_cut_at_the_handshake_deadline():
    async with LinkServer(config=fast(handshake_timeout=1.0)) as server:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        start = time.monotonic()

        async def drip() -> None:  # a valid hello, one byte at a time: never completes
            for byte in encode_hello((1,)):
                writer.write(bytes([byte]))
                await asyncio.sleep(0.25)

        dripping = asyncio.get_running_loop().create_task(drip())
        assert isinstance(await server.outcome(), HandshakeTimeout)
        elapsed = time.monotonic() - start
        assert 1.0 <= elapsed < 1.3, elapsed
        assert await reader.read() == b""  # the server closed the stream
        dripping.cancel()
        writer.close()


# --- heartbeats -----------------------------------------------------------------------------


async def test_heartbeat_declares_a_silent_peer_dead_within_dead_after():
    """The relay stops both ways (a frozen peer or a dead circuit): both ends notice."""
    config = fast(heartbeat_interval=0.1, dead_after=0.6)
    async with LinkServer(config=config) as server, Relay(server.port) as relay:
        client = await dial(relay.port, config=config)
        peer = await server.next_link()
        await asyncio.sleep(1.0)  # idle but alive: heartbeats keep it open
        assert client.is_open and peer.is_open and client.rtt is not None
        relay.pause()
        start = time.monotonic()
        took = []
        for link in (client, peer):
            await asyncio.wait_for(link.closed.wait(), 2)
            took.append(time.monotonic() - start)
            assert isinstance(link.error, LinkDead), link.error
        assert all(0.6 - 0.1 - 0.05 <= t <= 0.6 + 0.1 for t in took), took


async def test_heartbeat_notices_a_peer_that_stopped_reading():
    """Our bytes no longer reach the peer, its Pings still reach us: only our unanswered
    Pings tell. (The server is configured not to notice first.)"""
    async with LinkServer(config=fast(dead_after=30.0)) as server, Relay(server.port) as relay:
        client = await dial(relay.port, config=fast(heartbeat_interval=0.1, dead_after=0.6))
        peer = await server.next_link()
        await asyncio.sleep(0.3)
        relay.pause("up")
        start = time.monotonic()
        await asyncio.wait_for(client.closed.wait(), 2)
        took = time.monotonic() - start
        assert isinstance(client.error, LinkDead) and "Ping" in str(client.error)
        assert 0.6 - 0.1 - 0.05 <= took <= 0.6 + 0.15, took
        peer.abort()


# --- scheduling and memory ------------------------------------------------------------------

CHUNK = random.Random(5).randbytes(60_000)  # incompressible: one file record per frame


async def test_chat_overtakes_a_20mb_file_backlog(files_channel: None):
    big = fast(high_water=64 << 20, low_water=1 << 20, max_queued=64 << 20)
    async with LinkServer(config=big) as server:
        client = await dial(server.port, config=big)
        await server.next_link()
        received = server.collectors[0]
        n_chunks = 20_000_000 // len(CHUNK) + 1
        start = time.perf_counter()
        client.send([FileChunk(seq=i, data=CHUNK) for i in range(n_chunks)])
        assert client.queued_bytes(Channel.FILES) > 20_000_000
        await asyncio.sleep(0.01)  # the writer is busy with files
        before = client.stats.records_out[Channel.FILES]
        client.send([envelope(1)])
        records = await received.wait_for(n_chunks + 1, timeout=20)
        elapsed = time.perf_counter() - start
        position = next(i for i, r in enumerate(records) if isinstance(r, Envelope))
        file_records_after_chat = position - before
        assert 0 <= file_records_after_chat <= 2, (before, position)
        assert [r.seq for r in records if isinstance(r, FileChunk)] == list(range(n_chunks))
        print(
            f"\n20 MB file backlog: chat behind {file_records_after_chat} file frame(s); "
            f"{n_chunks * len(CHUNK) / elapsed / 1e6:.0f} MB/s"
        )
        await client.close()


async def test_drain_bounds_the_queue_and_overload_closes(files_channel: None):
    config = fast(high_water=512 << 10, low_water=128 << 10, max_queued=2 << 20)
    async with LinkServer(config=config) as server:
        client = await dial(server.port, config=config)
        await server.next_link()
        peak = 0
        for i in range(200):  # 12 MB through a 512 KiB queue
            client.send([FileChunk(seq=i, data=CHUNK)])
            peak = max(peak, client.queued_bytes())
            await client.drain(Channel.FILES)
            if i == 100:
                client.send([envelope(1)])
        await server.collectors[0].wait_for(201, timeout=20)
        assert peak <= config.high_water + len(CHUNK) + 100
        # A producer that ignores drain() hits the hard cap: the link closes, memory stays put.
        client.send([FileChunk(seq=i, data=CHUNK) for i in range(40)])
        assert isinstance(client.error, LinkOverloaded) and client.queued_bytes() == 0


async def test_control_records_skip_the_queue():
    """With the peer's consumer slow, a chat backlog stays queued; a Ping still goes out in
    the very next batch."""
    config = fast(
        high_water=64 << 20, max_queued=64 << 20, heartbeat_interval=10.0, dead_after=10.0
    )
    slow = fast(inbound_frames=2, heartbeat_interval=10.0, dead_after=10.0)
    async with LinkServer(config=slow, delay=0.05) as server:
        client = await dial(server.port, config=config)
        await server.next_link()
        batches: list[list[type]] = []
        take = client._take_batch

        def spy() -> list:
            batch = take()
            batches.append([type(r) for r in batch])
            return batch

        setattr(client, "_take_batch", spy)  # noqa: B010 (spy on the scheduler)
        client.send([envelope(i, 50_000) for i in range(200)])  # 10 MB of chat backlog
        await asyncio.sleep(0.3)
        assert client.stats.records_out[Channel.CHAT] < 200  # still a backlog
        seen = len(batches)
        client._send_ping()  # what the heartbeat does
        await asyncio.wait_for(_until(lambda: len(batches) > seen), 5)
        assert batches[seen] == [Ping, Envelope]  # first in the next batch, then chat
        client.abort()  # a polite close would wait for the slow peer


async def _until(condition: Callable[[], object]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def test_config_rejects_inconsistent_bounds():
    with pytest.raises(ValueError):
        LinkConfig(low_water=10, high_water=5)
    with pytest.raises(ValueError):
        LinkConfig(dead_after=0)
