"""Two real messaging engines joined by a hostile in-memory pipe.

Real parts: SQLCipher profiles on disk, Olm ratchet sessions, the wire format (every record
is batched into padded frames and decoded again). The pipe drops, duplicates, reorders and
delays frames, the link goes down and up, and each side is restarted from its store
mid-stream. Every message must be shown exactly once, in order, on the other side.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from libra_gui.core.protocol.records import LinkRecord
from libra_gui.core.protocol.wire import Batcher, decode_frame
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import EventBus, MessageReceived
from libra_gui.core.services.messaging import MessagingService
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import outbox as outbox_repo

PASS = "pipe test passphrase"


@dataclass
class Side:
    """One user: profile on disk, messaging engine, and what it has been shown."""

    name: str
    data_dir: Path
    contact_id: int = 0
    prof: profile.Profile | None = None
    messaging: MessagingService | None = None
    bus: EventBus = field(default_factory=EventBus)
    shown: list[str] = field(default_factory=list)
    running: asyncio.Lock = field(default_factory=asyncio.Lock)  # held by a send or a restart

    async def start(self) -> None:
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.messaging = MessagingService(self.prof, self.bus, rto=0.3)

    async def stop(self) -> None:
        assert self.messaging is not None and self.prof is not None
        await self.messaging.close()
        await self.prof.db.close()
        self.messaging = self.prof = None


class LossyLink:
    """Carries records one way as real wire frames, losing, duplicating and reordering them."""

    def __init__(self, rng: random.Random, target: Side, loss: float, dup: float) -> None:
        self.rng, self.target, self.loss, self.dup = rng, target, loss, dup
        self.open = True
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, records: Sequence[LinkRecord]) -> None:
        if not self.open:
            return
        batcher = Batcher()
        batcher.extend(records)
        loop = asyncio.get_running_loop()
        for frame in batcher.flush():
            if self.rng.random() < self.loss:
                continue
            copies = 2 if self.rng.random() < self.dup else 1
            for _ in range(copies):
                loop.call_later(self.rng.random() * 0.02, self._deliver, frame)

    def _deliver(self, frame: bytes) -> None:
        if not self.open or self.target.messaging is None:
            return
        task = asyncio.get_running_loop().create_task(
            self.target.messaging.receive(self.target.contact_id, decode_frame(frame))
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


async def make_pair(tmp_path: Path) -> tuple[Side, Side]:
    a, b = Side("alice", tmp_path / "alice"), Side("bob", tmp_path / "bob")
    cards = {}
    for side in (a, b):
        card = await profile.create_profile(
            side.data_dir, PASS, side.name, kdf_params=INSECURE_TEST_KDF
        )
        cards[side.name] = card.encode()
    for side, other in ((a, b), (b, a)):
        async with profile.unlocked(side.data_dir, PASS) as prof:
            side.contact_id = (await contacts.add_from_card(prof, cards[other.name])).id
    for side in (a, b):
        await side.start()
        side.bus.add_listener(
            lambda ev, s=side: s.shown.append(ev.body) if isinstance(ev, MessageReceived) else None
        )
    return a, b


class Network:
    """The pair of one-way links between a and b; reconnect() swaps in fresh ones."""

    def __init__(self, a: Side, b: Side, rng: random.Random, loss: float, dup: float) -> None:
        self.a, self.b, self.rng, self.loss, self.dup = a, b, rng, loss, dup
        self.links: list[LossyLink] = []

    async def disconnect(self) -> None:
        """Close both links; frames in flight are lost, handlers already running finish."""
        for link in self.links:
            link.open = False
        await self.drain()

    async def connect(self) -> None:
        await self.disconnect()
        to_b = LossyLink(self.rng, self.b, self.loss, self.dup)
        to_a = LossyLink(self.rng, self.a, self.loss, self.dup)
        self.links = [to_b, to_a]
        assert self.a.messaging is not None and self.b.messaging is not None
        await self.a.messaging.link_up(self.a.contact_id, to_b)
        await self.b.messaging.link_up(self.b.contact_id, to_a)

    async def drain(self) -> None:
        for link in self.links:
            if link.tasks:
                await asyncio.gather(*link.tasks, return_exceptions=True)


async def wait_for(predicate, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_two_engines_chat_over_a_clean_link(tmp_path: Path):
    a, b = await make_pair(tmp_path)
    net = Network(a, b, random.Random(1), loss=0.0, dup=0.0)
    await net.connect()
    assert a.messaging and b.messaging
    await a.messaging.send_text(a.contact_id, "hello bob")
    await b.messaging.send_text(b.contact_id, "hello alice")
    await wait_for(lambda: a.shown == ["hello alice"] and b.shown == ["hello bob"], 10)
    history = [m.body for m in await a.messaging.history(a.contact_id)]
    assert history == ["hello bob", "hello alice"]
    for side in (a, b):
        await side.stop()


@pytest.mark.slow
async def test_ten_thousand_messages_survive_loss_duplication_reordering_and_restarts(
    tmp_path: Path,
):
    rng = random.Random(20261122)
    a, b = await make_pair(tmp_path)
    net = Network(a, b, rng, loss=0.05, dup=0.05)
    await net.connect()
    plan = {"alice": 6000, "bob": 4000}
    sent = {name: [f"{name} #{i}" for i in range(count)] for name, count in plan.items()}
    progress = {"alice": 0, "bob": 0}

    async def writer(side: Side) -> None:
        for text in sent[side.name]:
            async with side.running:  # the app is not quitting in the middle of a send
                assert side.messaging is not None
                await side.messaging.send_text(side.contact_id, text)
            progress[side.name] += 1
            if progress[side.name] % 50 == 0:
                await asyncio.sleep(0)

    async def chaos() -> None:
        restarts = {"alice": 0, "bob": 0}
        step = 0
        while progress["alice"] < plan["alice"] or progress["bob"] < plan["bob"]:
            await asyncio.sleep(0.4)
            step += 1
            if step % 3 == 0:
                await net.connect()  # link drops; in-flight frames are lost
            if step % 7 == 0:
                victim = a if step % 14 == 0 else b
                await net.disconnect()
                async with victim.running:
                    await victim.stop()
                    await asyncio.sleep(0.05)
                    await victim.start()
                restarts[victim.name] += 1
                await net.connect()
        assert restarts["alice"] >= 1 and restarts["bob"] >= 1, restarts

    await asyncio.gather(writer(a), writer(b), chaos())
    await wait_for(
        lambda: len(b.shown) >= plan["alice"] and len(a.shown) >= plan["bob"], timeout=120
    )
    await asyncio.sleep(1.0)  # let late duplicates arrive: nothing more may be shown
    await net.drain()
    # Events are per process lifetime; the store is the full record across restarts.
    for side, other in ((a, b), (b, a)):
        assert side.messaging is not None and side.prof is not None
        history = await side.messaging.history(side.contact_id, limit=20_000)
        received = [m.body for m in history if m.direction == "in"]
        assert received == sent[other.name]
        sent_states = {m.state for m in history if m.direction == "out"}
        assert len(side.shown) == len(set(side.shown))  # no message shown twice
        assert side.shown == [t for t in sent[other.name] if t in set(side.shown)]
        assert sent_states <= {"sent", "delivered"}

    # every outbox drains: everything is acked eventually
    async def outbox_empty(side: Side) -> bool:
        assert side.prof is not None
        return not await side.prof.db.run(outbox_repo.pending, side.contact_id)

    for _ in range(200):
        if await outbox_empty(a) and await outbox_empty(b):
            break
        await asyncio.sleep(0.1)
    assert await outbox_empty(a) and await outbox_empty(b)
    for side in (a, b):
        await side.stop()
