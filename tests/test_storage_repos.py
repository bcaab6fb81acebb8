"""Repositories over a real (cheap-KDF) SQLCipher profile: small functions, obvious behaviour."""

from __future__ import annotations

import os

import pytest
import sqlcipher3

from libra_gui.core.crypto.identity import IdentityKeys, fingerprint
from libra_gui.core.errors import StorageError
from libra_gui.core.storage import (
    INSECURE_TEST_KDF,
    Database,
    contacts,
    conversations,
    identity,
    messages,
    outbox,
    ratchet,
    settings,
    transaction,
)


@pytest.fixture
async def db(tmp_path):
    database = await Database.create(tmp_path, "pw", kdf_params=INSECURE_TEST_KDF)
    yield database
    await database.close()


def new_contact(conn, name: str = "Bob") -> contacts.Contact:
    return contacts.add(conn, IdentityKeys.generate().identity_public, name)


def mid() -> bytes:
    return os.urandom(16)


async def test_identity(db):
    def check(conn):
        assert identity.load(conn) is None
        keys = IdentityKeys.generate()
        record = identity.create(conn, keys, "Alice", created_at=5)
        assert identity.load(conn) == record
        assert record.keys().static_public == keys.static_public
        assert "identity_seed" not in repr(record) and keys.identity_seed.hex() not in repr(record)
        identity.set_display_name(conn, "Alice B.")
        identity.set_ratchet_account(conn, b"account-pickle")
        loaded = identity.load(conn)
        assert (loaded.display_name, loaded.ratchet_account) == ("Alice B.", b"account-pickle")
        identity.save(conn, record)  # replace, still one row
        assert conn.execute("SELECT count(*) FROM identity").fetchone() == (1,)

    await db.transaction(check)


async def test_contacts(db):
    def check(conn):
        key = IdentityKeys.generate().identity_public
        bob = contacts.add(conn, key, "bob", card=b"card", added_at=7)
        assert bob.fingerprint == fingerprint(key)
        assert (bob.trust, bob.blocked, bob.direct_policy, bob.added_at) == (
            "unknown",
            False,
            "default",
            7,
        )
        assert contacts.get(conn, bob.id) == bob
        assert contacts.by_identity(conn, key) == bob
        assert contacts.by_identity(conn, bytes(32)) is None
        amy = new_contact(conn, "Amy")
        assert [c.display_name for c in contacts.list_all(conn)] == ["Amy", "bob"]
        contacts.set_trust(conn, bob.id, "verified")
        contacts.set_blocked(conn, bob.id, True)
        contacts.set_direct_policy(conn, bob.id, "allowed")
        contacts.set_display_name(conn, bob.id, "Bob")
        contacts.set_card(conn, bob.id, None)
        bob = contacts.get(conn, bob.id)
        assert (bob.trust, bob.blocked, bob.direct_policy, bob.display_name, bob.card) == (
            "verified",
            True,
            "allowed",
            "Bob",
            None,
        )
        with pytest.raises(sqlcipher3.IntegrityError):
            contacts.set_trust(conn, bob.id, "best friend")
        with pytest.raises(sqlcipher3.IntegrityError):
            contacts.add(conn, key, "Bob again")
        with pytest.raises(StorageError):
            contacts.set_trust(conn, 999, "known")
        contacts.delete(conn, amy.id)
        assert contacts.get(conn, amy.id) is None

    await db.transaction(check)


async def test_conversations(db):
    def check(conn):
        bob = new_contact(conn)
        conv = conversations.for_contact(conn, bob.id)
        assert conversations.for_contact(conn, bob.id) == conv  # idempotent
        assert (conv.next_out_seq, conv.next_in_seq, conv.unread, conv.last_activity) == (
            1,
            1,
            0,
            None,
        )
        assert [conversations.bump_out_seq(conn, conv.id) for _ in range(3)] == [1, 2, 3]
        conversations.set_next_in_seq(conn, conv.id, 5)
        conversations.touch(conn, conv.id, 100)
        conversations.touch(conn, conv.id, 50)  # never backwards
        conversations.add_unread(conn, conv.id, 2)
        got = conversations.get(conn, conv.id)
        assert (got.next_out_seq, got.next_in_seq, got.last_activity, got.unread) == (
            4,
            5,
            100,
            2,
        )
        conversations.mark_read(conn, conv.id)
        assert conversations.get(conn, conv.id).unread == 0
        amy_conv = conversations.for_contact(conn, new_contact(conn, "Amy").id)
        conversations.touch(conn, amy_conv.id, 200)
        assert [c.id for c in conversations.list_all(conn)] == [amy_conv.id, conv.id]
        with pytest.raises(StorageError):
            conversations.bump_out_seq(conn, 999)
        with pytest.raises(sqlcipher3.IntegrityError):  # no such contact
            conversations.for_contact(conn, 999)

    await db.transaction(check)


async def test_messages_order_pending_and_release(db):
    def check(conn):
        conv = conversations.for_contact(conn, new_contact(conn).id).id
        a = messages.insert(conn, conv, mid(), "out", 1, "a", "queued", sent_at=10)
        # inbound 2 arrives before 1: held back, invisible
        held = messages.insert(conn, conv, mid(), "in", 2, "c", "pending", sent_at=5)
        assert held.position is None and held.received_at is not None
        assert [m.body for m in messages.latest(conn, conv)] == ["a"]
        assert messages.held_seqs(conn, conv) == [2]
        messages.insert(conn, conv, mid(), "in", 1, "b", "received", sent_at=4)
        released = messages.release(conn, conv, 2)
        assert released.state == "received"
        assert messages.held_seqs(conn, conv) == []
        # display order is arrival/release order, not either side's clock or seq
        assert [m.body for m in messages.latest(conn, conv)] == ["a", "b", "c"]
        assert messages.exists(conn, conv, "out", a.msg_id)
        assert not messages.exists(conn, conv, "in", a.msg_id)  # per direction
        assert messages.get(conn, conv, "out", a.msg_id) == a
        assert messages.by_seq(conn, conv, "in", 2).body == "c"
        messages.set_state(conn, conv, "out", a.msg_id, "delivered")
        assert messages.get(conn, conv, "out", a.msg_id).state == "delivered"
        with pytest.raises(sqlcipher3.IntegrityError):  # duplicate msg_id
            messages.insert(conn, conv, a.msg_id, "out", 9, "dup", "queued", sent_at=1)
        with pytest.raises(sqlcipher3.IntegrityError):  # duplicate seq
            messages.insert(conn, conv, mid(), "out", 1, "dup", "queued", sent_at=1)
        with pytest.raises(sqlcipher3.IntegrityError):  # state not valid for direction
            messages.insert(conn, conv, mid(), "out", 5, "x", "received", sent_at=1)
        with pytest.raises(StorageError):
            messages.release(conn, conv, 2)  # already released
        with pytest.raises(StorageError):
            messages.insert(conn, conv, b"short", "out", 6, "x", "queued", sent_at=1)
        assert messages.count(conn, conv) == 3

    await db.transaction(check)


async def test_messages_mark_received_and_paging(db):
    def check(conn):
        conv = conversations.for_contact(conn, new_contact(conn).id).id
        other = conversations.for_contact(conn, new_contact(conn, "Eve").id).id
        pending = messages.insert(conn, conv, mid(), "in", 1000, "late", "pending", sent_at=0)
        for i in range(1, 301):
            messages.insert(conn, conv, mid(), "out", i, f"m{i}", "queued", sent_at=i)
            messages.insert(conn, other, mid(), "out", i, f"o{i}", "queued", sent_at=i)
        messages.mark_received(conn, conv, pending.msg_id)
        page = messages.latest(conn, conv, 200)
        assert len(page) == 200
        assert [m.body for m in page[-2:]] == ["m300", "late"]
        assert all(m.conversation_id == conv for m in page)
        older = messages.latest(conn, conv, 200, before=page[0].position)
        assert [m.body for m in older][:2] == ["m1", "m2"] and len(older) == 101
        positions = [m.position for m in older + page]
        assert positions == sorted(positions) and len(set(positions)) == 301

    await db.transaction(check)


async def test_outbox(db):
    def check(conn):
        bob = new_contact(conn)
        eve = new_contact(conn, "Eve")
        first, second = mid(), mid()
        outbox.enqueue(conn, bob.id, second, 2, b"two", next_attempt_at=50, created_at=1)
        item = outbox.enqueue(conn, bob.id, first, 1, b"one", next_attempt_at=10, created_at=1)
        outbox.enqueue(conn, eve.id, mid(), 1, b"eve", next_attempt_at=500, created_at=1)
        assert (item.state, item.attempts, item.ciphertext) == ("queued", 0, None)
        assert [i.seq for i in outbox.pending(conn, bob.id)] == [1, 2]
        assert [i.msg_id for i in outbox.due(conn, now=60)] == [first, second]

        sent = outbox.mark_sent(conn, first, next_attempt_at=100, ciphertext=b"ct1", kind=3)
        assert (sent.state, sent.attempts, sent.ciphertext, sent.kind) == ("sent", 1, b"ct1", 3)
        resent = outbox.mark_sent(conn, first, next_attempt_at=200, ciphertext=b"ct2")
        assert (resent.attempts, resent.ciphertext, resent.kind) == (2, b"ct1", 3)  # reused
        assert [i.msg_id for i in outbox.due(conn, now=150)] == [second]
        assert outbox.clear_ciphertext(conn, first) is True  # e.g. after a Nack
        cleared = outbox.get(conn, first)
        assert (cleared.ciphertext, cleared.kind, cleared.attempts) == (None, None, 2)
        again = outbox.mark_sent(conn, first, next_attempt_at=200, ciphertext=b"ct3", kind=4)
        assert (again.ciphertext, again.kind, again.attempts) == (b"ct3", 4, 3)
        assert outbox.clear_ciphertext(conn, b"\x01" * 16) is False
        outbox.reschedule(conn, second, 1000)
        assert outbox.due(conn, now=150) == []

        assert outbox.mark_delivered(conn, first) is True
        assert outbox.mark_delivered(conn, first) is False  # duplicate ack
        assert outbox.mark_sent(conn, first, next_attempt_at=1).state == "delivered"
        assert [i.msg_id for i in outbox.pending(conn, bob.id)] == [second]
        assert outbox.purge_delivered(conn) == 1
        assert outbox.get(conn, first) is None
        assert outbox.remove(conn, second) is True
        assert "payload=" not in repr(item) and "ciphertext=" not in repr(item)
        with pytest.raises(StorageError):
            outbox.mark_sent(conn, b"\x00" * 16, next_attempt_at=1)

    await db.transaction(check)


async def test_ratchet_and_settings(db):
    def check(conn):
        bob = new_contact(conn)
        assert ratchet.load(conn, bob.id) is None
        ratchet.save(conn, bob.id, b"p1", updated_at=1)
        ratchet.save(conn, bob.id, b"p2")
        assert ratchet.load(conn, bob.id) == b"p2"
        assert ratchet.delete(conn, bob.id) and ratchet.load(conn, bob.id) is None
        assert settings.get(conn, "theme", b"light") == b"light"
        settings.put(conn, "theme", b"dark")
        settings.put(conn, "theme", b"darker")
        assert settings.get(conn, "theme") == b"darker"
        assert settings.delete(conn, "theme") and settings.get(conn, "theme") is None

    await db.transaction(check)


async def test_deleting_a_contact_cascades(db):
    def check(conn):
        bob = new_contact(conn)
        conv = conversations.for_contact(conn, bob.id)
        m = messages.insert(conn, conv.id, mid(), "out", 1, "x", "queued", sent_at=1)
        outbox.enqueue(conn, bob.id, m.msg_id, 1, b"x")
        ratchet.save(conn, bob.id, b"session")
        contacts.delete(conn, bob.id)
        for table in ("conversations", "messages", "outbox", "ratchet_sessions"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        with pytest.raises(sqlcipher3.IntegrityError):  # foreign keys are enforced
            outbox.enqueue(conn, 12345, mid(), 1, b"x")

    await db.transaction(check)


async def test_composed_operation_is_atomic(db):
    """What the delivery service does: several repositories, one transaction, all or nothing."""

    def send(conn, contact_id: int, body: str, fail: bool) -> None:
        with transaction(conn):
            conv = conversations.for_contact(conn, contact_id)
            seq = conversations.bump_out_seq(conn, conv.id)
            msg = messages.insert(conn, conv.id, mid(), "out", seq, body, "queued", sent_at=1)
            outbox.enqueue(conn, contact_id, msg.msg_id, seq, body.encode())
            if fail:
                raise RuntimeError("crash between writes")

    bob = await db.transaction(new_contact)
    await db.run(send, bob.id, "ok", False)
    with pytest.raises(RuntimeError):
        await db.run(send, bob.id, "lost", True)
    conv = await db.run(conversations.for_contact, bob.id)
    assert conv.next_out_seq == 2
    assert [m.body for m in await db.run(messages.latest, conv.id)] == ["ok"]
    assert len(await db.run(outbox.pending, bob.id)) == 1
