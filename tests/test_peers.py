"""PeerLinks over loopback TCP: duplicate resolution, back-off, kick, IK fallback, policy."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable, Sequence

import pytest
from test_link_support import ALICE, BOB, CAROL, HOST, Relay, fast

from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.net.link import Link, LinkConfig
from libra_gui.core.net.peers import PeerConfig, PeerInfo, PeerLinks
from libra_gui.core.protocol.backoff import Backoff
from libra_gui.core.protocol.records import Envelope, LinkRecord

ID = {ALICE.identity_public: 1, BOB.identity_public: 2}  # each side's contact ids


QUICK = Backoff(base=0.05, cap=0.4)


class Sink:
    """Records link_up/link_down/receive like MessagingService would see them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, Link]] = []
        self.records: list[LinkRecord] = []
        self.changed = asyncio.Event()

    async def link_up(self, contact_id: int, link: Link) -> None:
        self.events.append(("up", contact_id, link))
        self.changed.set()

    async def link_down(self, contact_id: int, link: Link | None = None) -> None:
        assert link is not None
        self.events.append(("down", contact_id, link))
        self.changed.set()

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        self.records.extend(records)
        self.changed.set()

    def open_links(self) -> set[Link]:
        ups = {link for kind, _, link in self.events if kind == "up"}
        return ups - {link for kind, _, link in self.events if kind == "down"}


class Node:
    """One user: PeerLinks with a loopback listener; dials go to ``ports[contact_id]``."""

    def __init__(
        self,
        keys: IdentityKeys,
        ports: dict[int, int],
        *,
        backoff: Backoff = QUICK,
        link: LinkConfig | None = None,
        accepts: bool = True,
        gate: asyncio.Event | None = None,
        stable_after: float = 30.0,
    ) -> None:
        self.keys, self.ports, self.gate = keys, ports, gate
        self.sink = Sink()
        self.dials: list[float] = []
        self.accepted = 0
        self.peer_statics: list[bytes] = []
        self.links = PeerLinks(
            keys,
            sink=self.sink,
            contact_for=lambda identity: ID.get(identity) if accepts else None,
            dial=self._dial,
            config=PeerConfig(backoff=backoff, stable_after=stable_after, link=link or fast()),
            rng=random.Random(1),
            on_peer_static=lambda _cid, key: self.peer_statics.append(key),
        )
        self.port = 0

    async def _dial(self, peer: PeerInfo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.dials.append(time.monotonic())
        if self.gate is not None:
            await self.gate.wait()
        return await asyncio.open_connection(HOST, self.ports[peer.contact_id])

    async def _inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        await self.links.handle_inbound(reader, writer)

    async def listen(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._inbound, HOST, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.port:
            self.server.close()
        await self.links.close()


def info(keys: IdentityKeys, static: bytes | None = None) -> PeerInfo:
    return PeerInfo(ID[keys.identity_public], keys.identity_public, static)


def current(node: Node, contact_id: int) -> Link:
    link = node.links.link(contact_id)
    assert link is not None
    return link


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# --- duplicate resolution -------------------------------------------------------------------


@pytest.mark.parametrize("ik", [False, True], ids=["XX", "IK"])
async def test_simultaneous_dials_converge_on_the_same_single_link(
    ik: bool, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="libra_gui.core.net.peers")
    for _round in range(4):
        await _simultaneous_round(ik)
    resolved = [r for r in caplog.records if "duplicate" in r.message or "replaces" in r.message]
    assert len(resolved) >= 4  # both links really existed each round, one was dropped


async def _simultaneous_round(ik: bool) -> None:
    ports: dict[int, int] = {}
    gate = asyncio.Event()
    a, b = Node(ALICE, ports, gate=gate), Node(BOB, ports, gate=gate)
    ports[2], ports[1] = await b.listen(), await a.listen()
    a.links.add(info(BOB, BOB.static_public if ik else None))
    b.links.add(info(ALICE, ALICE.static_public if ik else None))
    await until(lambda: a.dials and b.dials)
    gate.set()  # both dial at once
    await until(lambda: a.accepted and b.accepted)
    await until(lambda: a.links.link(2) is not None and b.links.link(1) is not None)
    await asyncio.sleep(0.3)  # let the duplicate close and both sides settle
    la, lb = a.links.link(2), b.links.link(1)
    assert la is not None and lb is not None and la.is_open and lb.is_open
    assert la.handshake_hash == lb.handshake_hash  # the same link on both sides
    assert a.sink.open_links() == {la} and b.sink.open_links() == {lb}
    lower_dialled = ALICE.fingerprint < BOB.fingerprint
    assert la.initiator is lower_dialled and lb.initiator is not lower_dialled
    assert len(a.dials) == len(b.dials) == 1  # no redial storm
    la.send([Envelope(msg_id=bytes(16), kind=1, ciphertext=b"hi")])
    await until(lambda: b.sink.records)
    await a.stop()
    await b.stop()
    assert a.sink.open_links() == set() and b.sink.open_links() == set()


async def test_a_newer_link_from_the_same_side_replaces_the_old_one():
    """A lost its link and redials while B still believes in the old one (the loss has not
    reached B: the relay carrying it froze). B must switch to the new link."""
    ports: dict[int, int] = {}
    a, b = Node(ALICE, ports), Node(BOB, ports, link=fast(dead_after=30.0))
    b_port = await b.listen()
    async with Relay(b_port) as relay:
        ports[2] = relay.port
        a.links.add(info(BOB))
        await until(lambda: b.links.link(1) is not None)
        old = b.links.link(1)
        assert old is not None
        relay.pause()
        ports[2] = b_port
        current(a, 2).abort()
        await until(lambda: b.links.link(1) not in (None, old))
        assert current(b, 1).handshake_hash == current(a, 2).handshake_hash
        await until(lambda: old.is_closed)
        assert b.sink.open_links() == {b.links.link(1)}
    await a.stop()
    await b.stop()


# --- reconnecting ---------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = Backoff(base=1.0, factor=2.0, cap=60.0, jitter=0.5)
    rng = random.Random(7)
    assert policy.delay(0, rng.random()) == 0.0
    for n, nominal in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (500, 60)]:
        for _ in range(50):
            assert nominal * 0.5 <= policy.delay(n, rng.random()) <= nominal


async def test_dial_loop_uses_the_backoff_schedule_with_the_injected_rng_and_sleep():
    slept: list[float] = []
    failures = asyncio.Event()

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        await asyncio.sleep(0)

    async def refuse(_peer: PeerInfo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if len(slept) >= 6:
            failures.set()
            await asyncio.Event().wait()  # park until closed
        raise ConnectionRefusedError("nobody home")

    policy = Backoff(base=2.0, cap=20.0)
    links = PeerLinks(
        ALICE,
        sink=Sink(),
        contact_for=ID.get,
        dial=refuse,
        config=PeerConfig(backoff=policy),
        rng=random.Random(42),
        sleep=fake_sleep,
    )
    links.add(info(BOB))
    await asyncio.wait_for(failures.wait(), 5)
    await links.close()
    expected_rng = random.Random(42)
    assert slept == [policy.delay(n, expected_rng.random()) for n in range(1, 7)]
    assert 1.0 <= slept[0] <= 2.0 and 10.0 <= slept[-1] <= 20.0


async def test_reconnects_with_backoff_after_the_peer_goes_away_and_returns():
    ports: dict[int, int] = {}
    a = Node(ALICE, ports, backoff=Backoff(base=0.05, cap=0.4, jitter=0.0), stable_after=0.2)
    b = Node(BOB, ports)
    port = ports[2] = await b.listen()
    a.links.add(info(BOB))
    await until(lambda: a.links.link(2) is not None)
    await asyncio.sleep(0.3)  # a stable link: its loss resets the back-off
    await b.stop()
    await until(lambda: a.links.link(2) is None)
    down_at = time.monotonic()
    await asyncio.sleep(1.0)
    attempts = [t - down_at for t in a.dials[1:]]
    gaps = [y - x for x, y in itertools.pairwise(attempts)]
    assert attempts[0] < 0.05  # first retry at once
    for gap, nominal in zip(gaps, [0.05, 0.1, 0.2, 0.4, 0.4], strict=False):
        assert nominal <= gap < nominal + 0.05, gaps
    b2 = Node(BOB, ports)
    await b2.listen(port)  # back on the same address
    await until(lambda: a.links.link(2) is not None, timeout=1.0)
    assert b2.links.link(1) is not None
    await a.stop()
    await b2.stop()


async def test_kick_retries_at_once_despite_a_long_backoff():
    ports: dict[int, int] = {}
    probe = await asyncio.start_server(lambda r, w: None, HOST, 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    ports[2] = port  # nothing listens there yet
    a = Node(ALICE, ports, backoff=Backoff(base=60.0, cap=60.0))
    a.links.add(info(BOB))
    await until(lambda: len(a.dials) == 1)
    await asyncio.sleep(0.1)  # the first attempt failed; the next is 30..60 s away
    b = Node(BOB, ports)
    await b.listen(port)
    a.links.kick()  # e.g. Tor just restarted
    await until(lambda: a.links.link(2) is not None, timeout=1.0)
    assert len(a.dials) == 2
    await a.stop()
    await b.stop()


# --- handshake policy -----------------------------------------------------------------------


async def test_stale_static_key_falls_back_to_xx_once_and_learns_the_new_key():
    ports: dict[int, int] = {}
    a, b = Node(ALICE, ports), Node(BOB, ports)
    ports[2] = await b.listen()
    a.links.add(info(BOB, CAROL.static_public))  # the card's key is outdated
    await until(lambda: a.links.link(2) is not None)
    assert len(a.dials) == 2  # IK (refused: B cannot decrypt message 1), then XX
    assert a.peer_statics == [BOB.static_public]
    old = current(a, 2)
    await old.close()
    await until(lambda: a.links.link(2) not in (None, old))  # next time: IK, learned key
    assert current(a, 2).mode.name == "IK"
    await a.stop()
    await b.stop()


async def test_strangers_are_refused_and_the_sink_never_hears_of_them():
    ports: dict[int, int] = {}
    a, b = Node(ALICE, ports), Node(BOB, ports, accepts=False)
    ports[2] = await b.listen()
    a.links.add(info(BOB))
    await until(lambda: len(a.dials) >= 3)  # refused each time, backing off
    assert b.sink.events == [] and a.sink.events == []
    assert a.links.link(2) is None
    await a.stop()
    await b.stop()


async def test_too_many_pending_handshakes_are_cut():
    links = PeerLinks(
        BOB,
        sink=Sink(),
        contact_for=ID.get,
        config=PeerConfig(max_pending_handshakes=2, link=fast(handshake_timeout=5.0)),
    )
    server = await asyncio.start_server(links.handle_inbound, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    streams = [await asyncio.open_connection(HOST, port) for _ in range(3)]
    third_reader = streams[2][0]
    assert await asyncio.wait_for(third_reader.read(), 2) == b""  # cut at once
    for _reader, writer in streams:
        writer.close()
    server.close()
    await links.close()
