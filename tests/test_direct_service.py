"""DirectService end to end: two real peers, a loopback "Tor" link and real aiortc attempts.

Each user has a real profile (SQLCipher), MessagingService, DirectService and PeerLinks wired
as Node wires them (PeerLinks -> DirectService -> messaging). The Tor link is a Noise link
over loopback TCP through a relay the test can cut; the direct path is a real aiortc peer
connection over 127.0.0.1 (``loopback_ice``). Faults are injected, never faked parts: a
blackhole that makes the ICE sockets alive at that moment drop every datagram (a path that
dies silently), an attempt whose answer never comes, an SDP the peer must refuse.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import subprocess
import sys
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_link_support import HOST, Relay, fast
from webrtc_support import loopback_ice  # noqa: F401  (a fixture)

from libra_gui.core.net.peers import PeerConfig, PeerInfo, PeerLinks
from libra_gui.core.net.webrtc import DirectConfig
from libra_gui.core.protocol.backoff import Backoff
from libra_gui.core.protocol.card import ContactCard
from libra_gui.core.protocol.direct import PathConfig, PathState
from libra_gui.core.protocol.records import (
    DirectAnswer,
    DirectDecline,
    DirectHello,
    DirectOffer,
    LinkRecord,
)
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.direct import (
    Attempt,
    DirectService,
    DirectServiceConfig,
    PathChanged,
    webrtc_attempts,
)
from libra_gui.core.services.events import EventBus, MessageReceived, MessageStateChanged
from libra_gui.core.services.messaging import MessagingService
from libra_gui.core.storage import INSECURE_TEST_KDF

PASS = "direct service test passphrase"
CONFIG = DirectServiceConfig(
    path=PathConfig(
        attempt_timeout=5.0,
        backoff=Backoff(base=0.2, cap=1.0),
        stable_after=30.0,
        min_attempt_gap=0.05,
    ),
    heartbeat_interval=0.25,
    dead_after=2.0,
    close_timeout=1.0,
)
TOR_LINK = fast(handshake_timeout=10.0, heartbeat_interval=0.5, dead_after=10.0)


async def until(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Wait for a condition (checked every 20 ms); fail with ``what`` after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")


# --- injected faults ------------------------------------------------------------------------


class Blackhole:
    """Make every ICE socket alive right now drop all datagrams, both ways, silently.

    Later attempts get new sockets and work, so a killed direct path can come back.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import aioice.ice

        self._live: weakref.WeakSet[Any] = weakref.WeakSet()
        original = aioice.ice.StunProtocol.connection_made
        live = self._live

        def connection_made(protocol: Any, transport: Any) -> None:
            live.add(protocol)
            original(protocol, transport)

        monkeypatch.setattr(aioice.ice.StunProtocol, "connection_made", connection_made)

    def kill(self) -> int:
        """Blackhole the current sockets; returns how many."""
        victims = list(self._live)
        for protocol in victims:
            protocol.datagram_received = _ignore
            protocol.send_stun = _ignore
            protocol.send_data = _ignore_async
            self._live.discard(protocol)
        return len(victims)


def _ignore(*_args: object) -> None:
    return None


async def _ignore_async(*_args: object) -> None:
    return None


@pytest.fixture
def blackhole(monkeypatch: pytest.MonkeyPatch) -> Blackhole:
    return Blackhole(monkeypatch)


class Attempts:
    """The real attempt factory, counting what it made; ``wrap`` may inject a fault."""

    def __init__(self, config: DirectServiceConfig) -> None:
        self.real = webrtc_attempts(DirectConfig(connect_timeout=config.path.attempt_timeout))
        self.made: list[Attempt] = []
        self.wrap: Callable[[Attempt], Attempt] | None = None

    def __call__(self, offerer: bool, bind_key: bytes) -> Attempt:
        attempt = self.real(offerer, bind_key)
        self.made.append(attempt)
        return self.wrap(attempt) if self.wrap else attempt


class Silent:
    """Fault: an attempt whose offer/answer is never produced (the peer waits in vain)."""

    def __init__(self, inner: Attempt) -> None:
        self.inner = inner
        self.selected_candidate_type = None

    async def create_offer(self) -> bytes:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def create_answer(self, offer_sdp: bytes) -> bytes:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def accept_answer(self, sdp: bytes) -> None:
        await self.inner.accept_answer(sdp)

    async def open(self) -> Any:
        return await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()


class Garbled(Silent):
    """Fault: our SDP is garbage the peer must refuse."""

    async def create_offer(self) -> bytes:
        await self.inner.create_offer()
        return b"v=0\r\nthis is not an SDP\r\n"

    async def create_answer(self, offer_sdp: bytes) -> bytes:
        await self.inner.create_answer(offer_sdp)
        return b"v=0\r\nthis is not an SDP\r\n"


# --- two users ------------------------------------------------------------------------------


@dataclass
class User:
    name: str
    data_dir: Path
    allowed: bool = True
    bus: EventBus = field(default_factory=EventBus)
    shown: list[str] = field(default_factory=list)
    delivered: set[bytes] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    attempts: Attempts = field(init=False)
    config: DirectServiceConfig = CONFIG
    tor_blocked: bool = False
    contact_id: int = 0

    def __post_init__(self) -> None:
        self.bus.add_listener(self._on_event)
        self.attempts = Attempts(self.config)

    def _on_event(self, event: object) -> None:
        if isinstance(event, MessageReceived):
            self.shown.append(event.body)
        elif isinstance(event, MessageStateChanged) and event.state == "delivered":
            self.delivered.add(event.msg_id)
        elif isinstance(event, PathChanged):
            assert event.contact_id == self.contact_id
            self.paths.append(event.state)

    async def start(self, other: ContactCard, dial_port: int | None) -> None:
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.messaging = MessagingService(self.prof, self.bus, rto=0.5)

        async def allowed(_contact_id: int) -> bool:
            return self.allowed

        self.direct = DirectService(
            self.prof.keys,
            sink=self.messaging,
            bus=self.bus,
            allowed=allowed,
            attempts=self.attempts,
            config=self.config,
            rng=random.Random(self.name),
        )
        self.dial_port = dial_port

        async def dial(_peer: PeerInfo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            if self.tor_blocked or self.dial_port is None:
                raise ConnectionRefusedError("tor is down (test)")
            return await asyncio.open_connection(HOST, self.dial_port)

        self.links = PeerLinks(
            self.prof.keys,
            sink=self.direct,
            contact_for={other.identity_key: self.contact_id}.get,
            dial=dial if dial_port is not None else None,
            config=PeerConfig(backoff=Backoff(base=0.05, cap=0.3), link=TOR_LINK),
            rng=random.Random(self.name),
        )
        self.server = await asyncio.start_server(self.links.handle_inbound, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.links.add(PeerInfo(self.contact_id, other.identity_key, other.static_key))

    async def stop(self) -> None:
        self.server.close()
        await self.direct.close()
        await self.links.close()
        await self.messaging.close()
        await self.prof.db.close()

    @property
    def state(self) -> PathState:
        return self.direct.state(self.contact_id)

    def heard_peer(self) -> bool:
        """The contact's DirectHello on the current Tor link has been processed."""
        return self.direct.stats(self.contact_id).peer_allowed is not None

    async def send(self, body: str) -> bytes:
        return await self.messaging.send_text(self.contact_id, body)


@dataclass
class Pair:
    alice: User
    bob: User
    relay: Relay

    def both(self, state: PathState) -> bool:
        return self.alice.state is state and self.bob.state is state

    async def stop(self) -> None:
        await self.alice.stop()
        await self.bob.stop()
        await self.relay.__aexit__(None, None, None)


@pytest.fixture
async def make_pair(
    tmp_path: Path,
    loopback_ice: None,  # noqa: F811  (the fixture imported above)
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Callable[..., Any]]:
    """``await make_pair(alice_allowed=..., bob_allowed=...)``: two users, Tor link up.

    Alice dials Bob's inbox through a relay (cut it to drop "Tor"); Bob only accepts. At
    the end no ERROR may have been logged (an exception escaping a task logs one).
    """
    pairs: list[Pair] = []
    caplog.set_level(logging.INFO, logger="libra_gui")

    async def make(
        *,
        alice_allowed: bool = True,
        bob_allowed: bool = True,
        config: DirectServiceConfig = CONFIG,
    ) -> Pair:
        n = len(pairs)
        alice = User("alice", tmp_path / f"a{n}", allowed=alice_allowed, config=config)
        bob = User("bob", tmp_path / f"b{n}", allowed=bob_allowed, config=config)
        cards = [
            await profile.create_profile(u.data_dir, PASS, u.name, kdf_params=INSECURE_TEST_KDF)
            for u in (alice, bob)
        ]
        for user, other in ((alice, cards[1]), (bob, cards[0])):
            async with profile.unlocked(user.data_dir, PASS) as prof:
                user.contact_id = (await contacts.add_from_card(prof, other.encode())).id
        await bob.start(cards[0], dial_port=None)
        relay = Relay(bob.port)
        await relay.__aenter__()
        await alice.start(cards[1], dial_port=relay.port)
        pair = Pair(alice, bob, relay)
        pairs.append(pair)
        await until(lambda: alice.state is not PathState.OFFLINE, what="the Tor link")
        await until(lambda: bob.state is not PathState.OFFLINE, what="the Tor link")
        return pair

    yield make
    for pair in pairs:
        await pair.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def collapse(states: list[str]) -> str:
    """The state sequence without repeats, as one space-separated string (trailing space)."""
    out: list[str] = []
    for state in states:
        if not out or out[-1] != state:
            out.append(state)
    return "".join(state + " " for state in out)


FIRST_DIRECT = r"tor (connecting-direct tor )*connecting-direct direct "
"""The way to the first direct link (a first attempt may fail on a loaded machine)."""


# --- THE acceptance test --------------------------------------------------------------------


async def test_1000_messages_across_five_killed_direct_links_arrive_once_in_order(
    make_pair: Callable[..., Any], blackhole: Blackhole
):
    pair = await make_pair()
    alice, bob = pair.alice, pair.bob
    sent: list[bytes] = []

    async def send(count: int) -> None:
        for _ in range(count):
            sent.append(await alice.send(f"m{len(sent)}"))

    for cycle in range(5):
        await until(lambda: pair.both(PathState.DIRECT), what=f"direct (cycle {cycle})")
        await send(80)  # over the direct link
        await until(lambda: len(bob.shown) >= len(sent) - 40, what="messages over direct")
        assert blackhole.kill() > 0  # the path dies silently: no Close, no error, nothing
        await send(60)  # into the dead link: only the resend over Tor can deliver these
        await until(
            lambda n=cycle + 1: (
                alice.paths.count("fallback") >= n and bob.paths.count("fallback") >= n
            ),
            what=f"fallback (cycle {cycle})",
        )
        await send(60)  # over Tor, while direct is retried
    assert len(sent) == 1000
    await until(lambda: pair.both(PathState.DIRECT), what="direct at the end")
    await until(lambda: alice.delivered >= set(sent), timeout=90, what="every message acked")
    await until(lambda: len(bob.shown) >= 1000, what="every message shown")

    expected = [f"m{i}" for i in range(1000)]
    assert bob.shown == expected  # 0 lost, 0 duplicated, order kept
    history = await bob.messaging.history(bob.contact_id, limit=2000)
    assert [m.body for m in history] == expected
    for user in (alice, bob):
        path = collapse(user.paths)
        assert re.fullmatch(FIRST_DIRECT + "(fallback direct ){5,}", path), path
        assert user.direct.stats(user.contact_id).candidate == "host"


# --- policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("off", ["alice", "bob", "both"])
async def test_policy_off_on_either_side_stays_on_tor_without_any_attempt(
    make_pair: Callable[..., Any], off: str
):
    pair = await make_pair(
        alice_allowed=off not in ("alice", "both"), bob_allowed=off not in ("bob", "both")
    )
    alice, bob = pair.alice, pair.bob
    await until(lambda: alice.heard_peer() and bob.heard_peer(), what="both hellos")
    ids = [await alice.send(f"hello {i}") for i in range(5)]
    await until(lambda: alice.delivered >= set(ids), what="delivery over Tor")
    for user in (alice, bob):
        await user.direct.policy_changed(user.contact_id)  # re-evaluated: still the same
    await until(lambda: alice.heard_peer() and bob.heard_peer(), what="both hellos")
    assert pair.both(PathState.TOR)
    assert alice.attempts.made == [] and bob.attempts.made == []
    assert alice.direct.stats(alice.contact_id).path == "tor"
    assert alice.paths == ["tor"] and bob.paths == ["tor"]


OFF_RUN = """
import asyncio, functools, sys
sys.path[:0] = ["tests", "."]
from test_link_support import ALICE, BOB, fast
from libra_gui.core.net.link import Link
from libra_gui.core.services.direct import DirectService
from libra_gui.core.services.events import EventBus

class Sink:
    async def link_up(self, contact_id, link): pass
    async def link_down(self, contact_id, link=None): pass
    async def receive(self, contact_id, records): pass

async def main(alice_allowed, bob_allowed):
    async def policy(allowed):
        return allowed
    services = [
        DirectService(keys, sink=Sink(), bus=EventBus(), allowed=lambda _c, a=a: policy(a))
        for keys, a in ((ALICE, alice_allowed), (BOB, bob_allowed))
    ]
    accepted = asyncio.get_running_loop().create_future()
    async def handle(reader, writer):
        accepted.set_result(
            await Link.accept(reader, writer, BOB, accept_peer=lambda _i: True, config=fast())
        )
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    links = [
        await Link.connect(reader, writer, ALICE, expected_identity=BOB.identity_public,
                           config=fast()),
        await accepted,
    ]
    for service, link in zip(services, links):
        await service.link_up(1, link)
        link.deliver_to(functools.partial(service.receive, 1))
    while any(s.stats(1).peer_allowed is None for s in services):  # both hellos processed
        await asyncio.sleep(0.01)
    assert [s.state(1).value for s in services] == ["tor", "tor"]
    for service in services:
        await service.policy_changed()
        await service.close()
    for link in links:
        await link.close()
    server.close()

asyncio.run(main(*(sys.argv[1] == "on", sys.argv[2] == "on")))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("aiortc", "aioice")))
"""


@pytest.mark.parametrize("policies", [("on", "off"), ("off", "on"), ("off", "off")])
def test_with_direct_off_aiortc_is_never_even_imported(policies: tuple[str, str]):
    """Structural: in a fresh process, two services on a real link with direct off on one
    side exchange hellos, stay on Tor, and never load aiortc or aioice (so no UDP socket,
    no STUN request can exist)."""
    out = subprocess.run(
        [sys.executable, "-c", OFF_RUN, *policies], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_turning_direct_off_moves_to_tor_at_once_and_on_again_comes_back(
    make_pair: Callable[..., Any],
):
    pair = await make_pair()
    alice, bob = pair.alice, pair.bob
    await until(lambda: pair.both(PathState.DIRECT), what="direct")
    bob.allowed = False
    await bob.direct.policy_changed(bob.contact_id)
    assert bob.state is PathState.TOR  # at once, not after a timeout
    assert bob.direct.active_link(bob.contact_id) is not None
    await until(lambda: alice.state is PathState.TOR, what="alice back on tor")
    ids = [await alice.send(f"after off {i}") for i in range(5)]
    await until(lambda: alice.delivered >= set(ids), what="delivery over Tor")
    made = len(alice.attempts.made) + len(bob.attempts.made)
    bob.allowed = True
    await bob.direct.policy_changed(bob.contact_id)
    await until(lambda: pair.both(PathState.DIRECT), what="direct again")
    assert len(alice.attempts.made) + len(bob.attempts.made) == made + 2
    assert bob.shown == [f"after off {i}" for i in range(5)]


# --- failing attempts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "side", "why"),
    [
        (Silent, "answerer", "timed out"),
        (Garbled, "offerer", "declined by the contact (code 2)"),  # DECLINE_BAD_OFFER
        (Garbled, "answerer", "BadSdp"),
    ],
    ids=["answer-never-comes", "offer-refused", "answer-refused"],
)
async def test_a_failing_attempt_stays_on_tor_and_retries_with_backoff(
    make_pair: Callable[..., Any], fault: Callable[[Attempt], Attempt], side: str, why: str
):
    short = dataclasses.replace(CONFIG, path=dataclasses.replace(CONFIG.path, attempt_timeout=2))
    pair = await make_pair(alice_allowed=False, config=short)  # no attempt before the fault
    alice, bob = pair.alice, pair.bob
    offerer, answerer = (
        (alice, bob) if alice.prof.keys.fingerprint < bob.prof.keys.fingerprint else (bob, alice)
    )
    (offerer if side == "offerer" else answerer).attempts.wrap = fault
    alice.allowed = True
    await alice.direct.policy_changed(alice.contact_id)
    ids = [await alice.send(f"on tor {i}") for i in range(10)]
    await until(lambda: alice.delivered >= set(ids), what="delivery over Tor")
    await until(lambda: len(offerer.attempts.made) >= 3, timeout=60, what="3 attempts")
    stats = offerer.direct.stats(offerer.contact_id)
    assert stats.path == "tor" and why in (stats.last_failure or "") and stats.failures >= 2
    assert stats.state in (PathState.TOR, PathState.CONNECTING)
    assert "direct" not in alice.paths and "direct" not in bob.paths
    for user in (alice, bob):  # the fault is gone: the next retry gets through
        user.attempts.wrap = None
    await until(lambda: pair.both(PathState.DIRECT), timeout=60, what="direct once fixed")
    assert bob.shown == [f"on tor {i}" for i in range(10)]


# --- Tor drops under a direct link ----------------------------------------------------------


async def test_direct_keeps_flowing_when_the_tor_link_drops(make_pair: Callable[..., Any]):
    pair = await make_pair()
    alice, bob = pair.alice, pair.bob
    await until(lambda: pair.both(PathState.DIRECT), what="direct")
    alice.tor_blocked = True
    pair.relay.cut()
    await until(lambda: alice.links.link(alice.contact_id) is None, what="alice's tor down")
    await until(lambda: bob.links.link(bob.contact_id) is None, what="bob's tor down")
    ids = [await alice.send(f"direct only {i}") for i in range(20)]
    ids += [await bob.send(f"back {i}") for i in range(5)]
    await until(lambda: len(bob.shown) == 20 and len(alice.shown) == 5, what="direct delivery")
    assert pair.both(PathState.DIRECT)
    assert bob.shown == [f"direct only {i}" for i in range(20)]
    assert alice.shown == [f"back {i}" for i in range(5)]
    await until(lambda: alice.delivered | bob.delivered >= set(ids), what="acks over direct")
    # Tor comes back: hellos again, direct stays the path.
    alice.tor_blocked = False
    alice.links.kick()
    await until(lambda: alice.heard_peer() and bob.heard_peer(), what="tor back")
    assert pair.both(PathState.DIRECT)
    assert re.fullmatch(FIRST_DIRECT, collapse(alice.paths)), alice.paths


# --- a misbehaving contact ------------------------------------------------------------------


async def test_a_flood_of_bogus_signaling_costs_at_most_one_attempt_per_gap(
    make_pair: Callable[..., Any],
):
    gap = dataclasses.replace(CONFIG, path=dataclasses.replace(CONFIG.path, min_attempt_gap=30))
    pair = await make_pair(config=gap)
    alice, bob = pair.alice, pair.bob
    await until(lambda: pair.both(PathState.DIRECT), what="direct")
    answerer, hostile = (
        (bob, alice) if alice.prof.keys.fingerprint < bob.prof.keys.fingerprint else (alice, bob)
    )
    tor = hostile.links.link(hostile.contact_id)
    assert tor is not None
    made = len(answerer.attempts.made)
    junk: list[LinkRecord] = []
    for i in range(100):
        attempt = i.to_bytes(16, "big")
        junk += [
            DirectOffer(attempt=attempt, sdp=b"v=0\r\nnot sdp\r\n", bind_key=bytes(32)),
            DirectAnswer(attempt=attempt, sdp=b"v=0\r\n"),
            DirectDecline(attempt=attempt, reason=255),
            DirectHello(allowed=bool(i % 2)),
        ]
    tor.send(junk)
    ids = [await hostile.send(f"after the flood {i}") for i in range(5)]
    await until(lambda: hostile.delivered >= set(ids), what="chat still works")
    # Every offer came within min_attempt_gap of the last attempt: declined BUSY, nothing
    # built; the hellos toggling off/on tore direct down but made no attempt either.
    assert len(answerer.attempts.made) == made
    stats = answerer.direct.stats(answerer.contact_id)
    assert stats.state in (PathState.TOR, PathState.FALLBACK, PathState.DIRECT)
    assert answerer.shown[-5:] == [f"after the flood {i}" for i in range(5)]
