"""Trust service over two real users: SQLCipher profiles, real ratchet, a recording link.

The question check travels as ratchet ciphertext through MessagingService exactly as chat
does; the test decides what reaches the other side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from libra_gui.core.crypto.ratchet import RatchetAccount
from libra_gui.core.protocol.card import ContactCard
from libra_gui.core.protocol.records import Envelope, LinkRecord
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.events import (
    ContactKeyChanged,
    EventBus,
    MessageReceived,
    TrustChanged,
    VerificationFinished,
    VerificationRequested,
)
from libra_gui.core.services.messaging import MessagingService, NotConnected
from libra_gui.core.services.trust import TrustError, TrustService, may_connect_directly
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import contacts as contacts_repo
from libra_gui.core.storage import ratchet as ratchet_repo

PASS = "trust test passphrase"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[LinkRecord] = []

    def send(self, records: Sequence[LinkRecord]) -> None:
        self.sent.extend(records)

    def take(self) -> list[LinkRecord]:
        taken, self.sent = self.sent, []
        return taken


class User:
    def __init__(self, name: str, data_dir: Path) -> None:
        self.name, self.data_dir = name, data_dir
        self.bus = EventBus()
        self.events: list[object] = []
        self.bus.add_listener(self.events.append)
        self.link = Recorder()
        self.cid = 0
        self.wire: list[LinkRecord] = []  # everything this user ever sent

    async def start(self, timeout: float = 600.0) -> None:
        self.prof = await profile.unlock(self.data_dir, PASS)
        self.msg = MessagingService(self.prof, self.bus, rto=60.0)
        self.trust = TrustService(self.prof, self.bus, self.msg, timeout=timeout)

    async def stop(self) -> None:
        await self.trust.close()
        await self.msg.close()
        await self.prof.db.close()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def level(self) -> str:
        return (await self.trust.contact(self.cid)).trust


async def settle(a: User, b: User) -> None:
    for _ in range(30):
        moved = False
        for src, dst in ((a, b), (b, a)):
            records = src.link.take()
            if records:
                src.wire += records
                moved = True
                await dst.msg.receive(dst.cid, records)
        if not moved:
            return


async def connect(a: User, b: User) -> None:
    await a.msg.link_up(a.cid, a.link)
    await b.msg.link_up(b.cid, b.link)
    await settle(a, b)


@pytest.fixture
async def pair(tmp_path: Path):
    users = [User("alice", tmp_path / "a"), User("bob", tmp_path / "b")]
    cards = [
        await profile.create_profile(u.data_dir, PASS, u.name, kdf_params=INSECURE_TEST_KDF)
        for u in users
    ]
    for user, other in zip(users, reversed(cards), strict=True):
        async with profile.unlocked(user.data_dir, PASS) as prof:
            user.cid = (await contacts.add_from_card(prof, other.encode())).id
        await user.start()
    yield users[0], users[1]
    for user in users:
        await user.stop()


async def verify(asker: User, answerer: User, answer: str, reply: str) -> None:
    await asker.trust.start_verification(asker.cid, "Our first holiday?", answer)
    await settle(asker, answerer)
    assert answerer.trust.pending_question(answerer.cid) == "Our first holiday?"
    await answerer.trust.answer_verification(answerer.cid, reply)
    await settle(asker, answerer)


# --- end to end through the ratchet ---------------------------------------------------------


async def test_equal_answers_verify_both_sides_through_the_ratchet(pair):
    alice, bob = pair
    await connect(alice, bob)
    assert await alice.level() == "known" and await bob.level() == "known"
    await verify(alice, bob, "Lisbon 2019", "  lisbon 2019")
    (asked,) = bob.of(VerificationRequested)
    assert asked.question == "Our first holiday?" and asked.contact_id == bob.cid
    for user, asker in ((alice, True), (bob, False)):
        (done,) = user.of(VerificationFinished)
        assert (done.outcome, done.asker, done.trust, done.reason) == (
            "equal",
            asker,
            "verified",
            None,
        )
        assert await user.level() == "verified"
        assert user.of(TrustChanged) == [TrustChanged(user.cid, "known", "verified")]
    # Only ratchet ciphertext ever crossed the link; the question never did in the clear.
    assert {type(r).__name__ for r in alice.wire + bob.wire} <= {
        "Envelope",
        "Ack",
        "Nack",
        "OneTimeKey",
    }
    blob = b"".join(r.ciphertext for r in alice.wire if isinstance(r, Envelope))
    assert b"holiday" not in blob
    # Chat still works and shows nothing of the check.
    await alice.msg.send_text(alice.cid, "hi")
    await settle(alice, bob)
    assert [e.body for e in bob.of(MessageReceived)] == ["hi"]


async def test_different_answers_leave_trust_as_it_was(pair):
    alice, bob = pair
    await connect(alice, bob)
    await verify(bob, alice, "Lisbon", "Porto")
    for user in (alice, bob):
        (done,) = user.of(VerificationFinished)
        assert done.outcome == "not_equal" and done.trust == "known"
        assert await user.level() == "known"


async def test_equal_never_downgrades_trusted(pair):
    alice, bob = pair
    await connect(alice, bob)
    await alice.trust.mark_verified(alice.cid)
    await alice.trust.set_trust(alice.cid, "trusted")
    await verify(alice, bob, "x", "x")
    assert await alice.level() == "trusted" and await bob.level() == "verified"


async def test_declining_aborts_both_sides(pair):
    alice, bob = pair
    await connect(alice, bob)
    await alice.trust.start_verification(alice.cid, "Pet's name?", "rex")
    await settle(alice, bob)
    await bob.trust.cancel_verification(bob.cid)
    await settle(alice, bob)
    assert [(e.outcome, e.reason) for e in alice.of(VerificationFinished)] == [
        ("aborted", "declined")
    ]
    assert [(e.outcome, e.reason) for e in bob.of(VerificationFinished)] == [
        ("aborted", "declined")
    ]
    assert bob.trust.pending_question(bob.cid) is None
    with pytest.raises(TrustError):
        await bob.trust.answer_verification(bob.cid, "rex")


async def test_a_second_question_while_one_is_open_is_refused_or_busy(pair):
    alice, bob = pair
    await connect(alice, bob)
    await alice.trust.start_verification(alice.cid, "Q1?", "a")
    with pytest.raises(TrustError):
        await alice.trust.start_verification(alice.cid, "Q2?", "b")
    await bob.trust.start_verification(bob.cid, "Q3?", "c")  # crosses Alice's question
    await settle(alice, bob)
    # Each side refused the other's question as BUSY, which ended its own run too.
    for user in (alice, bob):
        assert [(e.outcome, e.reason) for e in user.of(VerificationFinished)] == [
            ("aborted", "busy")
        ]
    await verify(alice, bob, "a", "a")  # a fresh run afterwards works
    assert await alice.level() == "verified"


async def test_timeout_aborts_and_the_peer_hears_of_it(pair):
    alice, bob = pair
    await alice.stop()
    await alice.start(timeout=0.05)
    await connect(alice, bob)
    await alice.trust.start_verification(alice.cid, "Q?", "a")
    await settle(alice, bob)
    assert len(bob.of(VerificationRequested)) == 1
    deadline = time.monotonic() + 5
    while not alice.of(VerificationFinished) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert [(e.outcome, e.reason) for e in alice.of(VerificationFinished)] == [
        ("aborted", "timeout")
    ]
    await settle(alice, bob)
    assert [(e.outcome, e.reason) for e in bob.of(VerificationFinished)] == [("aborted", "timeout")]


async def test_verification_needs_a_connected_contact_and_a_real_answer(pair):
    alice, bob = pair
    with pytest.raises(NotConnected):
        await alice.trust.start_verification(alice.cid, "Q?", "a")
    await connect(alice, bob)
    with pytest.raises(TrustError):
        await alice.trust.start_verification(alice.cid, "Q?", "   ")
    with pytest.raises(TrustError):
        await alice.trust.start_verification(alice.cid, "", "a")
    await alice.trust.start_verification(alice.cid, "Q?", "a")  # nothing was left open
    await settle(alice, bob)
    with pytest.raises(TrustError):
        await bob.trust.answer_verification(bob.cid, " ")
    assert bob.trust.pending_question(bob.cid) == "Q?"  # an empty answer is not an answer


# --- trust levels ---------------------------------------------------------------------------


async def test_trust_moves_up_one_step_and_down_on_request(pair):
    alice, _bob = pair
    cid = alice.cid
    await alice.trust.set_trust(cid, "unknown")
    with pytest.raises(TrustError, match="one step"):
        await alice.trust.set_trust(cid, "verified")
    for level in ("known", "verified", "trusted"):
        assert (await alice.trust.set_trust(cid, level)).trust == level
    assert (await alice.trust.set_trust(cid, "known")).trust == "known"
    assert (await alice.trust.set_trust(cid, "known")).trust == "known"  # no-op
    with pytest.raises(TrustError, match="unknown trust level"):
        await alice.trust.set_trust(cid, "best friend")
    with pytest.raises(TrustError):
        await alice.trust.set_trust(999, "known")
    assert (await alice.trust.mark_verified(cid)).trust == "verified"
    await alice.trust.set_trust(cid, "trusted")
    assert (await alice.trust.mark_verified(cid)).trust == "trusted"  # never a downgrade
    changes = [(e.old, e.new) for e in alice.of(TrustChanged)]
    assert changes[:4] == [
        ("known", "unknown"),
        ("unknown", "known"),
        ("known", "verified"),
        ("verified", "trusted"),
    ]


async def test_safety_number_is_the_same_on_both_screens(pair):
    alice, bob = pair
    assert await alice.trust.safety_number(alice.cid) == await bob.trust.safety_number(bob.cid)


def test_direct_connection_policy():
    base = contacts_repo.Contact(1, b"k" * 32, b"f" * 32, "x", None, "known", False, 0, "default")
    expect = {
        ("default", "unknown"): False,
        ("default", "known"): False,
        ("default", "verified"): True,
        ("default", "trusted"): True,
        ("off", "trusted"): False,
        ("allowed", "known"): True,
        ("allowed", "unknown"): True,
    }
    for (policy, trust), allowed in expect.items():
        contact = dataclasses.replace(base, direct_policy=policy, trust=trust)
        assert may_connect_directly(contact) is allowed, (policy, trust)
    blocked = dataclasses.replace(base, direct_policy="allowed", blocked=True)
    assert may_connect_directly(blocked) is False


# --- key changes ----------------------------------------------------------------------------


async def _new_ratchet_card(user: User) -> bytes:
    """The user's card with a fresh ratchet account (as after a reinstall with the same
    identity), and the user switched over to it."""
    user.prof.account = RatchetAccount.generate()
    await user.prof.db.transaction(user.prof.save_account)
    return user.prof.card.encode()


async def test_changed_keys_demote_warn_and_wait_for_the_user(pair):
    alice, bob = pair
    await connect(alice, bob)
    await alice.trust.mark_verified(alice.cid)
    await alice.trust.set_trust(alice.cid, "trusted")
    stored = (await alice.trust.contact(alice.cid)).card
    new_card = await _new_ratchet_card(bob)

    with pytest.raises(contacts.KeyChanged) as err:
        await contacts.add_from_card(alice.prof, new_card, bus=alice.bus)
    assert err.value.contact_id == alice.cid
    contact = await alice.trust.contact(alice.cid)
    assert contact.trust == "known" and contact.card == stored  # demoted, keys unchanged
    (warning,) = alice.of(ContactKeyChanged)
    assert (warning.previous_trust, warning.trust, warning.identity_changed) == (
        "trusted",
        "known",
        False,
    )
    assert (await alice.trust.pending_key_change(alice.cid)).encode() == new_card
    with pytest.raises(contacts.KeyChanged):  # the same card again: refused, no new warning
        await contacts.add_from_card(alice.prof, new_card, bus=alice.bus)
    assert len(alice.of(ContactKeyChanged)) == 1
    # Nothing goes up while the change is pending; EQUAL does not either.
    with pytest.raises(TrustError, match="new keys"):
        await alice.trust.mark_verified(alice.cid)
    with pytest.raises(TrustError, match="new keys"):
        await alice.trust.set_trust(alice.cid, "verified")
    await verify(bob, alice, "x", "x")
    assert [e.outcome for e in alice.of(VerificationFinished)] == ["not_equal"]

    contact = await alice.trust.accept_key_change(alice.cid)
    assert contact.card == new_card and contact.trust == "known"
    assert await alice.prof.db.run(ratchet_repo.load, alice.cid) is None
    assert await alice.trust.pending_key_change(alice.cid) is None
    with pytest.raises(TrustError):
        await alice.trust.accept_key_change(alice.cid)


async def test_after_accepting_new_keys_chat_and_verification_work_again(pair):
    alice, bob = pair
    await connect(alice, bob)
    new_card = await _new_ratchet_card(bob)
    # Bob's side: his old session is useless with his new ratchet account.
    await bob.prof.db.transaction(lambda conn: ratchet_repo.delete(conn, bob.cid))
    await bob.msg.reset_peer(bob.cid)
    with pytest.raises(contacts.KeyChanged):
        await contacts.add_from_card(alice.prof, new_card, bus=alice.bus)
    await alice.trust.accept_key_change(alice.cid)
    await alice.msg.send_text(alice.cid, "still you?")
    await connect(alice, bob)
    assert [e.body for e in bob.of(MessageReceived)] == ["still you?"]
    await verify(alice, bob, "yes", "YES")
    assert await alice.level() == "verified" and await bob.level() == "verified"


async def test_rejecting_a_key_change_keeps_the_old_keys(pair):
    alice, bob = pair
    stored = (await alice.trust.contact(alice.cid)).card
    with pytest.raises(contacts.KeyChanged):
        await contacts.add_from_card(alice.prof, await _new_ratchet_card(bob))
    contact = await alice.trust.reject_key_change(alice.cid)
    assert contact.card == stored and contact.trust == "known"
    with pytest.raises(TrustError):
        await alice.trust.reject_key_change(alice.cid)
    assert (await alice.trust.mark_verified(alice.cid)).trust == "verified"


async def test_a_different_identity_is_reported_but_never_accepted(pair, tmp_path):
    alice, _bob = pair
    await alice.trust.mark_verified(alice.cid)
    impostor = await profile.create_profile(
        tmp_path / "m", PASS, "bob", kdf_params=INSECURE_TEST_KDF
    )
    change = await alice.trust.report_key_change(alice.cid, impostor.encode())
    assert change.identity_changed and change.trust == "known"
    (warning,) = alice.of(ContactKeyChanged)
    assert warning.new_fingerprint == impostor.fingerprint
    with pytest.raises(TrustError, match="different person"):
        await alice.trust.accept_key_change(alice.cid)
    await alice.trust.reject_key_change(alice.cid)
    same = (await alice.trust.contact(alice.cid)).card
    with pytest.raises(TrustError):
        await alice.trust.report_key_change(alice.cid, same)
    assert ContactCard.decode(same).identity_key != impostor.identity_key
