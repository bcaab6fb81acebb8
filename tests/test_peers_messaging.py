"""End to end: two MessagingServices joined by PeerLinks over loopback TCP.

Real profiles (SQLCipher), Olm sessions, Noise links, the wire format and the link
scheduler. Both users dial each other through relays the test can cut; messages flow both
ways while the connection is killed mid-stream, and each must be shown exactly once, in
order, with every outgoing message ending up delivered.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from test_link_support import HOST, Relay, fast

from libra_gui.core.net.peers import PeerConfig, PeerInfo, PeerLinks
from libra_gui.core.protocol.backoff import Backoff
from libra_gui.core.protocol.card import ContactCard
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import EventBus, MessageReceived, MessageStateChanged
from libra_gui.core.services.messaging import MessagingService
from libra_gui.core.storage import INSECURE_TEST_KDF

PASS = "peer links e2e passphrase"
COUNT = 40


@dataclass
class User:
    name: str
    data_dir: Path
    bus: EventBus = field(default_factory=EventBus)
    shown: list[str] = field(default_factory=list)
    delivered: set[bytes] = field(default_factory=set)
    contact_id: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.bus.add_listener(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, MessageReceived):
            self.shown.append(event.body)
        elif isinstance(event, MessageStateChanged) and event.state == "delivered":
            self.delivered.add(event.msg_id)
        self.changed.set()

    async def start(self, other: ContactCard, dial_port: int) -> None:
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.messaging = MessagingService(self.prof, self.bus, rto=0.5)
        self.dial_port = dial_port

        async def dial(_peer: PeerInfo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.open_connection(HOST, self.dial_port)

        self.links = PeerLinks(
            self.prof.keys,
            sink=self.messaging,
            contact_for={other.identity_key: self.contact_id}.get,
            dial=dial,
            config=PeerConfig(
                backoff=Backoff(base=0.05, cap=0.3),
                link=fast(heartbeat_interval=0.2, dead_after=1.5),
            ),
            rng=random.Random(self.name),
        )
        self.server = await asyncio.start_server(self.links.handle_inbound, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.links.add(PeerInfo(self.contact_id, other.identity_key, other.static_key))

    async def stop(self) -> None:
        self.server.close()
        await self.links.close()
        await self.messaging.close()
        await self.prof.db.close()

    async def wait(self, condition: Callable[[], object], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


async def test_messages_both_ways_survive_a_killed_connection_exactly_once(tmp_path: Path):
    alice, bob = User("alice", tmp_path / "a"), User("bob", tmp_path / "b")
    cards = [
        await profile.create_profile(u.data_dir, PASS, u.name, kdf_params=INSECURE_TEST_KDF)
        for u in (alice, bob)
    ]
    for user, other in ((alice, cards[1]), (bob, cards[0])):
        async with profile.unlocked(user.data_dir, PASS) as prof:
            user.contact_id = (await contacts.add_from_card(prof, other.encode())).id
    # Each dials the other through a relay (its own is created once the other listens).
    await alice.start(cards[1], dial_port=0)
    async with Relay(alice.port) as to_alice:
        await bob.start(cards[0], dial_port=0)
        async with Relay(bob.port) as to_bob:
            alice.dial_port, bob.dial_port = to_bob.port, to_alice.port
            alice.links.kick()
            bob.links.kick()
            sent: dict[str, list[bytes]] = {"alice": [], "bob": []}

            async def chat(user: User, other: str) -> None:
                for i in range(COUNT):
                    body = f"{user.name} -> {other} #{i}"
                    sent[user.name].append(await user.messaging.send_text(user.contact_id, body))
                    await asyncio.sleep(random.random() * 0.02)

            talking = [
                asyncio.ensure_future(chat(alice, "bob")),
                asyncio.ensure_future(chat(bob, "alice")),
            ]
            await bob.wait(lambda: len(bob.shown) >= COUNT // 4, timeout=10)
            to_alice.cut()  # kill the connection mid-stream: both ends see a reset
            to_bob.cut()
            await alice.wait(lambda: len(alice.shown) >= COUNT // 2, timeout=10)
            to_alice.cut()
            to_bob.cut()
            await asyncio.gather(*talking)
            await bob.wait(lambda: len(bob.shown) >= COUNT, timeout=15)
            await alice.wait(lambda: len(alice.shown) >= COUNT, timeout=15)
            await alice.wait(lambda: alice.delivered >= set(sent["alice"]), timeout=10)
            await bob.wait(lambda: bob.delivered >= set(sent["bob"]), timeout=10)
            await asyncio.sleep(0.3)  # late duplicates would show up now
            assert bob.shown == [f"alice -> bob #{i}" for i in range(COUNT)]
            assert alice.shown == [f"bob -> alice #{i}" for i in range(COUNT)]
            assert alice.links.link(alice.contact_id) is not None
            await alice.stop()
            await bob.stop()
