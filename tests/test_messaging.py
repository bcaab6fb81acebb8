"""Messaging service against hostile or unusual input, step by step (real store and ratchet).

The links here only record what a side sends; the test decides what reaches the other side,
so every case (tampering, replay, reordering across a restart) is exact and repeatable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from libra_gui.core.errors import MalformedRecord
from libra_gui.core.protocol.records import Ack, Envelope, LinkRecord, Nack, OneTimeKey
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import (
    EventBus,
    MessageReceived,
    MessageStateChanged,
    SessionEstablished,
)
from libra_gui.core.services.messaging import MessagingService, UnknownContact
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import messages as messages_repo

PASS = "messaging test passphrase"


class Recorder:
    """A link that keeps what was sent, for the test to deliver (or not)."""

    def __init__(self) -> None:
        self.sent: list[LinkRecord] = []

    def send(self, records: Sequence[LinkRecord]) -> None:
        self.sent.extend(records)

    def take(self, kind: type | None = None) -> list[LinkRecord]:
        taken = [r for r in self.sent if kind is None or isinstance(r, kind)]
        self.sent = [r for r in self.sent if r not in taken]
        return taken


class User:
    def __init__(self, name: str, data_dir: Path) -> None:
        self.name, self.data_dir = name, data_dir
        self.bus = EventBus()
        self.events: list[object] = []
        self.bus.add_listener(self.events.append)
        self.link = Recorder()
        self.contact_id = 0

    async def start(self) -> None:
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.svc = MessagingService(self.prof, self.bus, rto=60.0)

    async def stop(self) -> None:
        await self.svc.close()
        await self.prof.db.close()

    def shown(self) -> list[str]:
        return [e.body for e in self.events if isinstance(e, MessageReceived)]

    def states(self, msg_id: bytes) -> list[str]:
        return [
            e.state
            for e in self.events
            if isinstance(e, MessageStateChanged) and e.msg_id == msg_id
        ]


async def deliver(src: User, dst: User, kind: type | None = None) -> list[LinkRecord]:
    records = src.link.take(kind)
    if records:
        await dst.svc.receive(dst.contact_id, records)
    return records


async def settle(a: User, b: User) -> None:
    """Pass records back and forth until both links are quiet."""
    for _ in range(20):
        if not (await deliver(a, b) or await deliver(b, a)):
            return


@pytest.fixture
async def pair(tmp_path: Path):
    users = [User("alice", tmp_path / "a"), User("bob", tmp_path / "b")]
    cards = [
        (await profile.create_profile(u.data_dir, PASS, u.name, kdf_params=INSECURE_TEST_KDF))
        for u in users
    ]
    for user, other_card in zip(users, reversed(cards), strict=True):
        async with profile.unlocked(user.data_dir, PASS) as prof:
            user.contact_id = (await contacts.add_from_card(prof, other_card.encode())).id
        await user.start()
    # Initiator (lower fingerprint) first, for readable tests.
    users.sort(key=lambda u: u.prof.keys.fingerprint)
    yield users[0], users[1]
    for user in users:
        await user.stop()


async def connect(a: User, b: User) -> None:
    await a.svc.link_up(a.contact_id, a.link)
    await b.svc.link_up(b.contact_id, b.link)
    await settle(a, b)


async def test_session_bootstrap_and_queued_messages_flow_after_link_up(pair):
    init, resp = pair
    first = await init.svc.send_text(init.contact_id, "written while offline")
    assert init.states(first) == ["queued"]
    await connect(init, resp)
    assert resp.shown() == ["written while offline"]
    assert init.states(first) == ["queued", "sent", "delivered"]
    assert any(isinstance(e, SessionEstablished) for e in resp.events)
    reply = await resp.svc.send_text(resp.contact_id, "got it")
    await settle(init, resp)
    assert init.shown() == ["got it"] and resp.states(reply)[-1] == "delivered"


async def test_tampered_ciphertext_is_nacked_then_resent_intact(pair):
    init, resp = pair
    await connect(init, resp)
    await init.svc.send_text(init.contact_id, "precious")
    (env,) = init.link.take(Envelope)
    broken = bytearray(env.ciphertext)
    broken[len(broken) // 2] ^= 0x01
    await resp.svc.receive(resp.contact_id, [dataclasses.replace(env, ciphertext=bytes(broken))])
    assert resp.shown() == []
    (nack,) = resp.link.take()
    assert isinstance(nack, Nack) and nack.msg_ids == (env.msg_id,)
    await init.svc.receive(init.contact_id, [nack])  # sender re-encrypts and resends
    await settle(init, resp)
    assert resp.shown() == ["precious"]


async def test_envelope_relabelled_with_another_id_is_refused(pair):
    init, resp = pair
    await connect(init, resp)
    await init.svc.send_text(init.contact_id, "one")
    (env,) = init.link.take(Envelope)
    fake = dataclasses.replace(env, msg_id=b"\x42" * 16)
    await resp.svc.receive(resp.contact_id, [fake])
    assert resp.shown() == []
    assert [type(r) for r in resp.link.take()] == [Nack]
    assert await resp.prof.db.run(messages_repo.count, 1) == 0


async def test_replayed_envelope_is_acked_but_shown_once(pair):
    init, resp = pair
    await connect(init, resp)
    await init.svc.send_text(init.contact_id, "only once")
    (env,) = init.link.take(Envelope)
    for _ in range(3):
        await resp.svc.receive(resp.contact_id, [env])
    acks = resp.link.take(Ack)
    assert len(acks) == 3 and all(a.msg_ids == (env.msg_id,) for a in acks)
    assert resp.shown() == ["only once"]


async def test_held_message_survives_a_receiver_restart_and_is_released_in_order(pair):
    init, resp = pair
    await connect(init, resp)
    for text in ("first", "second", "third"):
        await init.svc.send_text(init.contact_id, text)
    first, second, third = init.link.take(Envelope)
    await resp.svc.receive(resp.contact_id, [third, second])
    assert resp.shown() == []  # held: a gap before them
    assert {m for a in resp.link.take(Ack) for m in a.msg_ids} == {second.msg_id, third.msg_id}
    await resp.stop()
    await resp.start()
    await resp.svc.link_up(resp.contact_id, resp.link)
    await resp.svc.receive(resp.contact_id, [first])
    assert resp.shown() == ["first", "second", "third"]
    history = await resp.svc.history(resp.contact_id)
    assert [m.body for m in history] == ["first", "second", "third"]


async def test_stale_one_time_key_offer_is_ignored(pair):
    init, resp = pair
    await init.svc.link_up(init.contact_id, init.link)
    await resp.svc.link_up(resp.contact_id, resp.link)
    (offer,) = resp.link.take(OneTimeKey)
    await init.svc.receive(init.contact_id, [offer])
    start = init.link.take(Envelope)
    assert len(start) == 1
    await init.svc.receive(init.contact_id, [offer])  # the same offer again: no new session
    assert init.link.take(Envelope) == []
    await resp.svc.receive(resp.contact_id, start)
    await init.svc.send_text(init.contact_id, "after bootstrap")
    await settle(init, resp)
    assert resp.shown() == ["after bootstrap"]


async def test_bad_bodies_and_unknown_contacts_are_typed_errors(pair):
    init, _resp = pair
    with pytest.raises(MalformedRecord):
        await init.svc.send_text(init.contact_id, "")
    with pytest.raises(MalformedRecord):
        await init.svc.send_text(init.contact_id, "x" * 20_000)
    with pytest.raises(UnknownContact):
        await init.svc.send_text(999, "hello")
    assert await init.svc.history(init.contact_id) == []
