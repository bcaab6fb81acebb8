"""Contact-request repository and schema v2 over a real (cheap-KDF) SQLCipher profile."""

from __future__ import annotations

import hashlib
import os

import pytest
import sqlcipher3
from nacl.signing import SigningKey

from libra_gui.core.crypto import pow as pow_
from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.crypto.onion import onion_address
from libra_gui.core.errors import StorageError
from libra_gui.core.protocol.requests import (
    Action,
    GateConfig,
    InvalidTransition,
    RequestGate,
    RequestState,
    Verdict,
    VerifiedRequest,
)
from libra_gui.core.storage import (
    INSECURE_TEST_KDF,
    LATEST_VERSION,
    MIGRATIONS,
    Database,
    contacts,
    identity,
)
from libra_gui.core.storage import requests as repo
from libra_gui.core.storage.migrations import SCHEMA_V2

BEACON = onion_address(bytes(SigningKey(hashlib.sha256(b"beacon").digest()).verify_key))
NOW = 1_700_000_000_000
HOUR = 3_600_000


@pytest.fixture
async def db(tmp_path):
    database = await Database.create(tmp_path, "pw", kdf_params=INSECURE_TEST_KDF)
    yield database
    await database.close()


def key() -> bytes:
    return os.urandom(32)


async def test_schema_is_at_v2(db):
    assert LATEST_VERSION >= 2 and MIGRATIONS[1].version == 2
    assert db.schema_version == LATEST_VERSION
    tables = await db.run(
        lambda c: {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    )
    assert {"contact_requests", "blocked"} <= tables
    assert len(SCHEMA_V2) == 5


async def test_add_get_list_pending(db):
    def check(conn):
        alice, bob = key(), key()
        a = repo.add_pending(conn, alice, b"card-a", "hi", received_at=NOW)
        b = repo.add_pending(conn, bob, b"card-b", "", received_at=NOW - 5)
        assert (a.identity_key, a.card, a.message, a.received_at) == (alice, b"card-a", "hi", NOW)
        assert (a.state, a.decided_at) == (RequestState.PENDING, None)
        assert repo.get(conn, a.id) == a and repo.get(conn, 10**9) is None
        assert [r.id for r in repo.list_pending(conn)] == [b.id, a.id]  # oldest first
        assert set(repo.pending_keys(conn)) == {alice, bob}
        with pytest.raises(sqlcipher3.IntegrityError):  # one pending request per requester
            repo.add_pending(conn, alice, b"card-a", "again", received_at=NOW + 1)

    await db.transaction(check)


@pytest.mark.parametrize(
    ("identity_key", "card", "message"),
    [
        (b"short", b"c", "m"),
        (os.urandom(32), b"", "m"),
        (os.urandom(32), b"x" * 1025, "m"),
        (os.urandom(32), b"c", "x" * 501),
    ],
)
async def test_schema_checks_reject_bad_rows(db, identity_key, card, message):
    with pytest.raises(StorageError):
        await db.run(repo.add_pending, identity_key, card, message)


async def test_state_transitions_are_guarded(db):
    def check(conn):
        r = repo.add_pending(conn, key(), b"c", "m", received_at=NOW)
        accepted = repo.set_state(conn, r.id, "accepted", decided_at=NOW + 1)
        assert (accepted.state, accepted.decided_at) == (RequestState.ACCEPTED, NOW + 1)
        for target in ("pending", "declined", "blocked", "unblocked", "accepted"):
            with pytest.raises(InvalidTransition):
                repo.set_state(conn, r.id, target)
        assert repo.get(conn, r.id) == accepted  # unchanged
        with pytest.raises(StorageError, match="no such"):
            repo.set_state(conn, 10**9, "accepted")
        with pytest.raises(ValueError):
            repo.set_state(conn, r.id, "deleted")
        # after a decision the requester may send a new pending request
        again = repo.add_pending(conn, accepted.identity_key, b"c", "m2", received_at=NOW + 2)
        declined = repo.set_state(conn, again.id, RequestState.DECLINED)
        assert declined.decided_at is not None
        assert repo.set_state(conn, again.id, "blocked").state is RequestState.BLOCKED
        assert repo.list_by_identity(conn, again.identity_key)[0].id == again.id

    await db.transaction(check)


async def test_block_list(db):
    def check(conn):
        k = key()
        assert not repo.is_blocked(conn, k)
        assert repo.block(conn, k, reason="spam", blocked_at=5)
        assert not repo.block(conn, k, reason="again", blocked_at=6)  # first entry kept
        assert repo.is_blocked(conn, k)
        assert repo.list_blocked(conn) == [repo.Blocked(k, 5, "spam")]
        assert repo.unblock(conn, k) and not repo.unblock(conn, k)
        assert not repo.is_blocked(conn, k) and repo.list_blocked(conn) == []

    await db.transaction(check)


async def test_decide_block_and_unblock_is_atomic(db):
    def check(conn):
        k = key()
        r = repo.add_pending(conn, k, b"c", "m", received_at=NOW)
        blocked = repo.decide(conn, r.id, Action.BLOCK, at=NOW + 1, reason="rude")
        assert blocked.state is RequestState.BLOCKED and repo.is_blocked(conn, k)
        assert repo.shadow_keys(conn) == [k]
        assert repo.list_pending(conn) == []
        unblocked = repo.decide(conn, r.id, "unblock", at=NOW + 2)
        assert unblocked.state is RequestState.UNBLOCKED and not repo.is_blocked(conn, k)
        with pytest.raises(InvalidTransition):
            repo.decide(conn, r.id, Action.ACCEPT)
        assert repo.get(conn, r.id).state is RequestState.UNBLOCKED
        with pytest.raises(StorageError):
            repo.decide(conn, 10**9, Action.ACCEPT)
        other = repo.add_pending(conn, key(), b"c", "m", received_at=NOW)
        assert repo.decide(conn, other.id, "accept").state is RequestState.ACCEPTED

    await db.transaction(check)


async def test_failed_decide_changes_nothing(db):
    def setup(conn):
        return repo.add_pending(conn, key(), b"c", "m", received_at=NOW).id

    request_id = await db.transaction(setup)

    def bad_block(conn):
        conn.execute("DROP TABLE blocked")  # the block-list write will fail mid-decision
        repo.decide(conn, request_id, Action.BLOCK)

    with pytest.raises(StorageError):
        await db.transaction(bad_block)
    row = await db.run(repo.get, request_id)
    assert row.state is RequestState.PENDING  # rolled back with the failed block
    assert await db.run(repo.is_blocked, row.identity_key) is False


async def test_count_since_and_gate_restore(db):
    def check(conn):
        for t in (NOW - 2 * HOUR, NOW - HOUR + 1, NOW - 10, NOW):
            repo.add_pending(conn, key(), b"c", "m", received_at=t)
        assert repo.count_since(conn, NOW - HOUR) == 3
        assert repo.count_since(conn, NOW + 1) == 0
        assert repo.received_since(conn, NOW - HOUR) == [NOW - HOUR + 1, NOW - 10, NOW]
        blocked = key()
        repo.block(conn, blocked)
        return RequestGate.restore(
            GateConfig(BEACON, hourly_quota=3),
            pending=repo.pending_keys(conn),
            blocked=[b.identity_key for b in repo.list_blocked(conn)],
            shadow=repo.shadow_keys(conn),
            recent=repo.received_since(conn, NOW - HOUR),
        )

    gate = await db.transaction(check)
    assert gate.config.beacon == BEACON
    stamp = pow_.encode_stamp(NOW // 60_000, 1)
    request = VerifiedRequest(key(), b"c", "m", stamp, NOW)
    assert gate.decide(request, NOW).verdict is Verdict.QUOTA_EXCEEDED
    assert len(gate.pending) == 4


async def test_migration_from_a_v1_database_keeps_data(tmp_path):
    database = await Database.create(
        tmp_path, "pw", kdf_params=INSECURE_TEST_KDF, migrations=MIGRATIONS[:1]
    )
    assert database.schema_version == 1

    def v1_data(conn):
        identity.create(conn, IdentityKeys.generate(), "Alice")
        contacts.add(conn, IdentityKeys.generate().identity_public, "Bob")
        assert conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'contact_requests'"
        ).fetchone() == (0,)

    await database.transaction(v1_data)
    await database.close()

    database = await Database.open(tmp_path, "pw")
    try:
        assert database.schema_version == LATEST_VERSION >= 2
        names = await database.run(lambda c: [x.display_name for x in contacts.list_all(c)])
        assert names == ["Bob"]
        k = key()

        def v2_use(conn):
            r = repo.add_pending(conn, k, b"c", "hello", received_at=NOW)
            repo.decide(conn, r.id, Action.BLOCK, at=NOW)
            return repo.is_blocked(conn, k)

        assert await database.transaction(v2_use)
    finally:
        await database.close()
