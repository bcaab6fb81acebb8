"""Encrypted store: header, KDF, open/create, wrong passphrase, migrations, rekey, leaks.

Real SQLCipher files in tmp_path, with the libsodium-minimum KDF cost for speed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import sqlite3
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import sqlcipher3
from hypothesis import given, settings
from hypothesis import strategies as st

from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.errors import (
    CorruptStore,
    ProfileExists,
    ProfileNotFound,
    StorageError,
    WrongPassphrase,
)
from libra_gui.core.storage import (
    INSECURE_TEST_KDF,
    LATEST_VERSION,
    MIGRATIONS,
    Database,
    KdfParams,
    Migration,
    contacts,
    conversations,
    database,
    identity,
    keyfile,
    messages,
    now_ms,
    outbox,
    ratchet,
    transaction,
)
from libra_gui.core.storage import (
    settings as settings_repo,
)
from libra_gui.core.storage.keyfile import HEADER_LEN, Header, derive_key

PW = "correct horse battery staple"
NEW_PW = "tr0ub4dor&3 but longer"
KDF = INSECURE_TEST_KDF
REPO = Path(__file__).resolve().parents[1]


def snapshot(directory: Path) -> dict[str, str]:
    """SHA-256 of every file under ``directory`` (recursively), keyed by relative path."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


async def make_profile(path: Path, passphrase: str = PW, **kwargs: object) -> Database:
    return await Database.create(path, passphrase, kdf_params=KDF, **kwargs)


def populate(conn: sqlcipher3.Connection, body: str = "hello") -> int:
    """An identity, a contact, its conversation and one message of each direction."""
    identity.create(conn, IdentityKeys.generate(), "Alice")
    bob = contacts.add(conn, IdentityKeys.generate().identity_public, "Bob")
    conv = conversations.for_contact(conn, bob.id)
    seq = conversations.bump_out_seq(conn, conv.id)
    out = messages.insert(conn, conv.id, os.urandom(16), "out", seq, body, "queued", sent_at=1)
    outbox.enqueue(conn, bob.id, out.msg_id, seq, body.encode())
    messages.insert(conn, conv.id, os.urandom(16), "in", 1, "reply", "received", sent_at=2)
    return conv.id


def dump(conn: sqlcipher3.Connection) -> dict[str, list[tuple]]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    ]
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


# --- header ----------------------------------------------------------------------------------


def test_header_layout_is_byte_exact():
    salt = bytes(range(16))
    header = Header(KdfParams(opslimit=4, memlimit=256 * 1024**2), salt)
    body = (
        b"LIBRAHDR"
        + b"\x00\x01"  # format version 1
        + b"\x01"  # Argon2id
        + b"\x00"  # reserved
        + b"\x00\x00\x00\x04"  # opslimit
        + b"\x00\x00\x00\x00\x10\x00\x00\x00"  # memlimit 256 MiB
        + salt
    )
    expected = body + hashlib.sha256(body).digest()[:8]
    assert header.encode() == expected
    assert len(expected) == HEADER_LEN == 48
    assert Header.parse(expected) == header


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],
        lambda b: b + b"\x00",
        lambda b: b"",
        lambda b: b"X" + b[1:],  # magic
        lambda b: b[:9] + b"\x02" + b[10:],  # version
        lambda b: b[:10] + b"\x02" + b[11:],  # kdf id
        lambda b: b[:11] + b"\x01" + b[12:],  # reserved
        lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:],  # salt bit flip -> checksum
        lambda b: b[:-1] + bytes([b[-1] ^ 0x80]),  # checksum itself
    ],
)
def test_damaged_header_is_corrupt_store(mutate):
    good = Header.new(KDF).encode()
    with pytest.raises(CorruptStore):
        Header.parse(mutate(good))


def test_header_with_absurd_cost_is_refused_even_with_valid_checksum():
    body = struct.pack(">8sHBBIQ16s", b"LIBRAHDR", 1, 1, 0, 4, 1 << 50, bytes(16))
    with pytest.raises(CorruptStore):
        Header.parse(body + hashlib.sha256(body).digest()[:8])


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_header_parser_raises_only_corrupt_store(data):
    try:
        header = Header.parse(data)
    except CorruptStore:
        return
    assert header.encode() == data


@given(st.integers(0, HEADER_LEN - 1), st.integers(1, 255))
def test_any_single_byte_change_is_detected(index, xor):
    good = bytearray(Header.new(KDF).encode())
    good[index] ^= xor
    with pytest.raises(CorruptStore):
        Header.parse(bytes(good))


def test_kdf_is_deterministic_and_salted():
    header = Header.new(KDF)
    assert derive_key(PW, header) == derive_key(PW, header)
    assert len(derive_key(PW, header)) == 32
    assert derive_key(PW, header) != derive_key(PW, Header.new(KDF))
    # NFC normalisation: a decomposed "é" unlocks what a precomposed one locked.
    assert derive_key("caf\u00e9", header) == derive_key("cafe\u0301", header)


def test_kdf_params_validation():
    with pytest.raises(ValueError):
        KdfParams(0, 8192)
    with pytest.raises(ValueError):
        KdfParams(1, 8193)


# --- create / open ---------------------------------------------------------------------------


async def test_create_open_round_trip(tmp_path):
    data_dir = tmp_path / "profile"
    db = await make_profile(data_dir)
    assert db.schema_version == LATEST_VERSION
    assert db.kdf_params == KDF
    conv_id = await db.transaction(populate, "round trip")
    before = await db.run(dump)
    await db.close()
    assert names(data_dir) == {"profile.db", "profile.hdr", "profile.lock"}  # WAL checkpointed away
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for name in ("profile.db", "profile.hdr"):
        assert (data_dir / name).stat().st_mode & 0o777 == 0o600

    assert Database.exists(data_dir)
    db = await Database.open(data_dir, PW)
    try:
        assert await db.run(dump) == before
        latest = await db.run(messages.latest, conv_id, 200)
        assert [m.body for m in latest] == ["round trip", "reply"]
    finally:
        await db.close()


async def test_initialize_runs_before_the_profile_appears(tmp_path):
    keys = IdentityKeys.generate()
    db = await make_profile(tmp_path, initialize=lambda c: identity.create(c, keys, "Init"))
    try:
        record = await db.run(identity.load)
        assert record is not None
        assert record.keys().identity_public == keys.identity_public
    finally:
        await db.close()


async def test_failing_initialize_leaves_no_profile(tmp_path):
    def boom(conn):
        raise RuntimeError("init failed")

    with pytest.raises(RuntimeError):
        await make_profile(tmp_path, initialize=boom)
    assert not Database.exists(tmp_path)
    await (await make_profile(tmp_path)).close()  # a retry works


async def test_create_refuses_existing_profile(tmp_path):
    await (await make_profile(tmp_path)).close()
    before = snapshot(tmp_path)
    with pytest.raises(ProfileExists):
        await make_profile(tmp_path, "another passphrase")
    assert snapshot(tmp_path) == before


async def test_create_rejects_empty_passphrase(tmp_path):
    with pytest.raises(StorageError):
        await make_profile(tmp_path, "")


async def test_open_without_profile(tmp_path):
    with pytest.raises(ProfileNotFound):
        await Database.open(tmp_path, PW)
    with pytest.raises(ProfileNotFound):
        await Database.open(tmp_path / "does-not-exist", PW)
    assert not (tmp_path / "does-not-exist").exists()
    # An orphan header (crash during create) is not a profile either.
    keyfile.write_header(tmp_path / "profile.hdr", Header.new(KDF))
    with pytest.raises(ProfileNotFound):
        await Database.open(tmp_path, PW)
    await (await make_profile(tmp_path)).close()  # and create replaces it


async def test_wrong_passphrase_is_typed_and_touches_nothing(tmp_path):
    db = await make_profile(tmp_path)
    await db.transaction(populate)
    await db.close()
    before = snapshot(tmp_path)
    for wrong in ("wrong", PW + " ", PW.upper(), ""):
        with pytest.raises(WrongPassphrase) as info:
            await Database.open(tmp_path, wrong)
        assert "passphrase" in str(info.value)
    assert snapshot(tmp_path) == before  # same names, same bytes
    await (await Database.open(tmp_path, PW)).close()


async def test_wrong_passphrase_after_crash_leaves_db_and_wal_untouched(tmp_path):
    crash_while_open(tmp_path)
    assert {"profile.db-wal"} <= names(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(WrongPassphrase):
        await Database.open(tmp_path, "wrong")
    after = snapshot(tmp_path)
    # The read-only probe may (re)build the WAL index (-shm); data files are byte-identical.
    for name in ("profile.db", "profile.db-wal", "profile.hdr"):
        assert after[name] == before[name]
    db = await Database.open(tmp_path, PW)
    try:
        assert await db.run(settings_repo.get, "crash-marker") == b"x" * 5000
    finally:
        await db.close()


async def test_missing_or_damaged_header_is_corrupt_store(tmp_path):
    await (await make_profile(tmp_path)).close()
    hdr = tmp_path / "profile.hdr"
    good = hdr.read_bytes()
    hdr.write_bytes(good[:-1])
    with pytest.raises(CorruptStore):
        await Database.open(tmp_path, PW)
    hdr.write_bytes(good[:20] + bytes([good[20] ^ 4]) + good[21:])
    with pytest.raises(CorruptStore):
        await Database.open(tmp_path, PW)
    hdr.unlink()
    with pytest.raises(CorruptStore):
        await Database.open(tmp_path, PW)
    hdr.write_bytes(good)
    await (await Database.open(tmp_path, PW)).close()


async def test_empty_database_file_is_corrupt_store(tmp_path):
    await (await make_profile(tmp_path)).close()
    (tmp_path / "profile.db").write_bytes(b"")
    with pytest.raises(CorruptStore):
        await Database.open(tmp_path, PW)


async def test_damaged_page_surfaces_as_corrupt_store(tmp_path):
    db = await make_profile(tmp_path)

    def fill(conn):
        conv_id = populate(conn)
        for i in range(2, 600):
            messages.insert(
                conn, conv_id, os.urandom(16), "in", i, "x" * 200, "received", sent_at=i
            )

    await db.transaction(fill)
    await db.close()
    path = tmp_path / "profile.db"
    data = bytearray(path.read_bytes())
    assert len(data) > 20 * 4096
    pages = len(data) // 4096
    for page in range(pages // 2, pages):  # one flipped byte in each later (data) page
        data[page * 4096 + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    db = await Database.open(tmp_path, PW)  # page 1 and the schema are intact
    try:
        with pytest.raises(CorruptStore):
            await db.run(lambda c: c.execute("SELECT sum(length(body)) FROM messages").fetchall())
    finally:
        await db.close()


async def test_pragmas_in_effect(tmp_path):
    db = await make_profile(tmp_path)
    try:

        def pragmas(conn):
            return {
                name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in (
                    "journal_mode",
                    "foreign_keys",
                    "secure_delete",
                    "temp_store",
                    "synchronous",
                    "cipher_version",
                    "cipher_page_size",
                )
            }

        got = await db.run(pragmas)
    finally:
        await db.close()
    assert got["journal_mode"] == "wal"
    assert (got["foreign_keys"], got["secure_delete"], got["temp_store"]) == (1, 1, 2)
    assert got["synchronous"] == 2
    assert str(got["cipher_version"]).startswith("4.")
    assert got["cipher_page_size"] == "4096"


# --- threading and transactions --------------------------------------------------------------


async def test_all_db_work_runs_on_one_thread_off_the_loop(tmp_path, monkeypatch):
    kdf_threads: list[int] = []
    real_derive = database.derive_key

    def spy(passphrase, header):
        kdf_threads.append(threading.get_ident())
        return real_derive(passphrase, header)

    monkeypatch.setattr(database, "derive_key", spy)
    loop_thread = threading.get_ident()
    db = await make_profile(tmp_path)
    try:
        seen = await asyncio.gather(*(db.run(lambda c: threading.get_ident()) for _ in range(20)))
        seen.append(await db.transaction(lambda c: threading.get_ident()))
        await db.change_passphrase(PW, NEW_PW)
        assert len(set(seen)) == 1
        assert loop_thread not in seen
        assert set(kdf_threads) == set(seen)  # create, verify old, derive new: same thread
        assert await db.run(lambda c: db.on_db_thread())
        assert not db.on_db_thread()
    finally:
        await db.close()


async def test_loop_stays_responsive_during_slow_unlock(tmp_path):
    slow = KdfParams(opslimit=1, memlimit=64 * 1024**2)  # tens of ms
    await (await Database.create(tmp_path, PW, kdf_params=slow)).close()
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        db = await Database.open(tmp_path, PW)
    finally:
        task.cancel()
    await db.close()
    assert ticks >= 3


async def test_transaction_rolls_back_on_error(tmp_path):
    db = await make_profile(tmp_path)
    try:

        def fails(conn):
            settings_repo.put(conn, "a", b"1")
            raise ValueError("boom")

        with pytest.raises(ValueError):
            await db.transaction(fails)
        assert await db.run(settings_repo.get, "a") is None

        def nested(conn):
            settings_repo.put(conn, "outer", b"1")
            with pytest.raises(KeyError), transaction(conn):
                settings_repo.put(conn, "inner", b"2")
                raise KeyError("inner only")
            settings_repo.put(conn, "after", b"3")

        await db.transaction(nested)
        got = await db.run(lambda c: [settings_repo.get(c, k) for k in ("outer", "inner", "after")])
        assert got == [b"1", None, b"3"]
    finally:
        await db.close()


async def test_driver_errors_become_storage_errors_and_leaks_are_rolled_back(tmp_path):
    db = await make_profile(tmp_path)
    try:
        with pytest.raises(StorageError):
            await db.run(lambda c: c.execute("SELECT * FROM no_such_table"))

        def leaves_tx_open(conn):
            conn.execute("BEGIN")
            settings_repo.put(conn, "k", b"v")

        with pytest.raises(StorageError, match="left a transaction open"):
            await db.run(leaves_tx_open)
        assert await db.run(settings_repo.get, "k") is None
        assert await db.run(lambda c: c.in_transaction) is False
    finally:
        await db.close()


async def test_closed_database_refuses_work(tmp_path):
    db = await make_profile(tmp_path)
    async with db:
        pass
    assert db.closed
    await db.close()  # idempotent
    with pytest.raises(StorageError):
        await db.run(settings_repo.get, "x")
    with pytest.raises(StorageError):
        await db.change_passphrase(PW, NEW_PW)


# --- migrations ------------------------------------------------------------------------------


def _v2(conn):
    conn.execute("ALTER TABLE contacts ADD COLUMN nickname TEXT")
    conn.execute("UPDATE contacts SET nickname = 'nick-' || display_name")


NEXT = LATEST_VERSION + 1  # a migration this code does not have yet
V2 = (*MIGRATIONS, Migration(NEXT, "contact nicknames", _v2))


async def test_migration_from_v0(tmp_path):
    db = await make_profile(tmp_path, migrations=())
    assert db.schema_version == 0
    assert await db.run(lambda c: c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    await db.close()
    db = await Database.open(tmp_path, PW)
    try:
        assert db.schema_version == LATEST_VERSION
        await db.transaction(populate)  # the v1 schema is there and usable
    finally:
        await db.close()


async def test_migration_to_the_next_version_keeps_data(tmp_path):
    db = await make_profile(tmp_path)
    await db.transaction(populate)
    await db.close()
    db = await Database.open(tmp_path, PW, migrations=V2)
    try:
        assert db.schema_version == NEXT
        nick = await db.run(lambda c: c.execute("SELECT nickname FROM contacts").fetchall())
        assert nick == [("nick-Bob",)]
        version = await db.run(lambda c: c.execute("SELECT version FROM schema_version").fetchone())
        assert version == (NEXT,)
    finally:
        await db.close()


async def test_failing_migration_step_rolls_back_that_step(tmp_path):
    db = await make_profile(tmp_path)
    await db.close()

    def bad(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlcipher3.OperationalError("simulated failure inside a step")

    with pytest.raises(StorageError):
        await Database.open(tmp_path, PW, migrations=(*MIGRATIONS, Migration(NEXT, "bad", bad)))
    db = await Database.open(tmp_path, PW)
    try:
        assert db.schema_version == LATEST_VERSION
        tables = await db.run(
            lambda c: c.execute(
                "SELECT name FROM sqlite_master WHERE name = 'half_done'"
            ).fetchall()
        )
        assert tables == []
    finally:
        await db.close()


async def test_database_newer_than_code_is_refused(tmp_path):
    db = await make_profile(tmp_path, migrations=V2)
    await db.close()
    with pytest.raises(CorruptStore, match="newer"):
        await Database.open(tmp_path, PW)
    await (await Database.open(tmp_path, PW, migrations=V2)).close()


# --- passphrase change -----------------------------------------------------------------------


async def test_change_passphrase(tmp_path):
    db = await make_profile(tmp_path)
    await db.transaction(populate)
    before = await db.run(dump)
    old_header = (tmp_path / "profile.hdr").read_bytes()
    with pytest.raises(WrongPassphrase):
        await db.change_passphrase("not the passphrase", NEW_PW)
    assert (tmp_path / "profile.hdr").read_bytes() == old_header
    stronger = KdfParams(opslimit=2, memlimit=16 * 1024)
    await db.change_passphrase(PW, NEW_PW, kdf_params=stronger)
    assert db.kdf_params == stronger
    assert await db.run(dump) == before  # the open connection keeps working
    await db.close()

    new_header = Header.parse((tmp_path / "profile.hdr").read_bytes())
    assert new_header.salt != Header.parse(old_header).salt
    assert names(tmp_path) == {"profile.db", "profile.hdr", "profile.lock"}
    with pytest.raises(WrongPassphrase):
        await Database.open(tmp_path, PW)
    db = await Database.open(tmp_path, NEW_PW)
    try:
        assert await db.run(dump) == before
        await db.change_passphrase(NEW_PW, PW)  # and back, keeping the stronger cost
        assert db.kdf_params == stronger
    finally:
        await db.close()
    await (await Database.open(tmp_path, PW)).close()


async def test_old_key_no_longer_decrypts_any_page(tmp_path):
    db = await make_profile(tmp_path)
    await db.transaction(populate)
    old_key = derive_key(PW, Header.parse((tmp_path / "profile.hdr").read_bytes()))
    await db.change_passphrase(PW, NEW_PW)
    await db.close()
    conn = sqlcipher3.connect(str(tmp_path / "profile.db"))
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.set_key(b"x'" + old_key.hex().encode() + b"'")
    with pytest.raises(sqlcipher3.DatabaseError):
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.close()


async def test_failed_rekey_keeps_old_passphrase(tmp_path, monkeypatch):
    db = await make_profile(tmp_path)
    await db.transaction(populate)

    def failing_rekey(conn, key):
        raise sqlcipher3.OperationalError("simulated rekey failure")

    monkeypatch.setattr(database, "_rekey", failing_rekey)
    with pytest.raises(StorageError):
        await db.change_passphrase(PW, NEW_PW)
    assert not (tmp_path / "profile.hdr.next").exists()
    await db.close()
    await (await Database.open(tmp_path, PW)).close()


CRASH_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    from libra_gui.core.storage import INSECURE_TEST_KDF, Database, database, settings

    data_dir, point, old, new = sys.argv[1:5]
    real_rekey = database._rekey

    def crash(*_args):
        os._exit(17)

    def rekey_then_crash(conn, key):
        real_rekey(conn, key)
        crash()

    if point == "before_rekey":
        database._rekey = crash
    elif point == "after_rekey":
        database._rekey = rekey_then_crash
    elif point == "before_promote":
        database._promote_next_header = crash

    async def main():
        if point == "while_open":
            db = await Database.create(data_dir, old, kdf_params=INSECURE_TEST_KDF)
            await db.run(settings.put, "crash-marker", b"x" * 5000)
            crash()
        db = await Database.open(data_dir, old)
        await db.change_passphrase(old, new)
        sys.exit(3)  # the crash point was never reached

    asyncio.run(main())
    """
)


def run_crash(data_dir: Path, point: str, old: str = PW, new: str = NEW_PW) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(data_dir), point, old, new],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 17, proc.stderr


def crash_while_open(data_dir: Path) -> None:
    run_crash(data_dir, "while_open")


async def _profile_with_data(data_dir: Path) -> dict:
    db = await make_profile(data_dir)
    await db.transaction(populate)
    content = await db.run(dump)
    await db.close()
    return content


@pytest.mark.parametrize(
    ("point", "survivor", "loser"),
    [
        ("before_rekey", PW, NEW_PW),  # new header written, rekey never ran
        ("after_rekey", NEW_PW, PW),  # rekey committed in the WAL, no checkpoint, no promote
        ("before_promote", NEW_PW, PW),  # checkpointed, old header still in place
    ],
)
async def test_crash_during_passphrase_change_never_locks_out(tmp_path, point, survivor, loser):
    content = await _profile_with_data(tmp_path)
    run_crash(tmp_path, point)
    assert "profile.hdr.next" in names(tmp_path)

    before = snapshot(tmp_path)
    with pytest.raises(WrongPassphrase):
        await Database.open(tmp_path, loser)
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.endswith("-shm")} == {
        k: v for k, v in before.items() if not k.endswith("-shm")
    }

    db = await Database.open(tmp_path, survivor)
    try:
        assert await db.run(dump) == content
    finally:
        await db.close()
    assert names(tmp_path) == {
        "profile.db",
        "profile.hdr",
        "profile.lock",
    }  # the change was finished/abandoned
    await (await Database.open(tmp_path, survivor)).close()
    with pytest.raises(WrongPassphrase):
        await Database.open(tmp_path, loser)


async def test_torn_rekey_write_falls_back_to_old_passphrase(tmp_path):
    """Power loss while the rekey frames were being written: the WAL lacks its commit frame."""
    content = await _profile_with_data(tmp_path)
    run_crash(tmp_path, "after_rekey")
    wal = tmp_path / "profile.db-wal"
    frame = 24 + 4096
    frames = (wal.stat().st_size - 32) // frame
    assert frames >= 2
    with wal.open("r+b") as fh:  # drop the last (commit) frame
        fh.truncate(32 + (frames - 1) * frame)
    (tmp_path / "profile.db-shm").unlink(missing_ok=True)

    with pytest.raises(WrongPassphrase):
        await Database.open(tmp_path, NEW_PW)
    db = await Database.open(tmp_path, PW)
    try:
        assert await db.run(dump) == content
    finally:
        await db.close()
    assert names(tmp_path) == {"profile.db", "profile.hdr", "profile.lock"}


async def test_crash_during_create_leaves_no_profile(tmp_path, monkeypatch):
    real_replace = os.replace

    def crash_on_db_rename(src, dst):
        if str(src).endswith("profile.db.creating"):
            raise KeyboardInterrupt  # stands in for the process dying before the rename
        real_replace(src, dst)

    monkeypatch.setattr(database.os, "replace", crash_on_db_rename)
    with pytest.raises(KeyboardInterrupt):
        await make_profile(tmp_path)
    monkeypatch.undo()
    with pytest.raises(ProfileNotFound):
        await Database.open(tmp_path, PW)
    await (await make_profile(tmp_path)).close()
    assert names(tmp_path) == {"profile.db", "profile.hdr", "profile.lock"}


# --- leaks -----------------------------------------------------------------------------------


def needles_for(secrets: dict[str, bytes], texts: dict[str, str]) -> dict[str, bytes]:
    """Every byte form a secret could take on disk: raw, hex, base64."""
    out: dict[str, bytes] = {}
    for name, value in secrets.items():
        out[f"{name} raw"] = value
        out[f"{name} hex"] = value.hex().encode()
        out[f"{name} HEX"] = value.hex().upper().encode()
        out[f"{name} b64"] = base64.b64encode(value).rstrip(b"=")
        out[f"{name} b64url"] = base64.urlsafe_b64encode(value).rstrip(b"=")
    for name, text in texts.items():
        out[f"{name} utf8"] = text.encode()
        out[f"{name} utf16"] = text.encode("utf-16-le")
    return out


def find_leaks(directory: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        hits += [f"{path.name}: {name}" for name, needle in needles.items() if needle in data]
    return hits


def known_plaintext() -> tuple[dict[str, bytes], dict[str, str]]:
    keys = IdentityKeys.generate()
    secrets = {
        "identity seed": keys.identity_seed,
        "static secret": keys.static_secret,
        "ratchet pickle": b"RATCHET-PICKLE-" + os.urandom(24),
        "ratchet account": b"ACCOUNT-PICKLE-" + os.urandom(24),
    }
    texts = {
        "body": f"meet me at the old mill at {os.urandom(6).hex()}",
        "display name": f"Zebulon-{os.urandom(4).hex()}",
    }
    return secrets, texts


def store_known_plaintext(conn, secrets: dict[str, bytes], texts: dict[str, str]) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    identity.save(
        conn,
        identity.IdentityRecord(
            secrets["identity seed"],
            secrets["static secret"],
            texts["display name"],
            secrets["ratchet account"],
            now_ms(),
        ),
    )
    peer = contacts.add(conn, IdentityKeys.generate().identity_public, texts["display name"])
    conv = conversations.for_contact(conn, peer.id)
    messages.insert(conn, conv.id, os.urandom(16), "out", 1, texts["body"], "queued", sent_at=1)
    outbox.enqueue(conn, peer.id, os.urandom(16), 1, texts["body"].encode())
    ratchet.save(conn, peer.id, secrets["ratchet pickle"])


async def test_no_plaintext_or_key_material_on_disk(tmp_path):
    secrets, texts = known_plaintext()
    db = await make_profile(tmp_path)
    await db.transaction(store_known_plaintext, secrets, texts)
    header = Header.parse((tmp_path / "profile.hdr").read_bytes())
    secrets["database key"] = bytes(derive_key(PW, header))
    needles = needles_for(secrets, {**texts, "passphrase": PW})

    assert "profile.db-wal" in names(tmp_path)  # checked while open: WAL and shm too
    assert find_leaks(tmp_path, needles) == []
    await db.close()
    assert find_leaks(tmp_path, needles) == []

    crash_dir = tmp_path / "crashed"  # and what a crash leaves behind
    run_crash(crash_dir, "while_open")
    assert find_leaks(crash_dir, needles_for({}, {"marker": "x" * 64})) == []


def test_leak_detector_catches_plaintext(tmp_path):
    """Control: the same writes into a plain SQLite file must be found, or the test is blind."""
    secrets, texts = known_plaintext()
    conn = sqlite3.connect(tmp_path / "plain.db", isolation_level=None)
    for step in MIGRATIONS:
        step.apply(conn)  # type: ignore[arg-type]
    with transaction(conn):
        store_known_plaintext(conn, secrets, texts)
    conn.close()
    hits = find_leaks(tmp_path, needles_for(secrets, texts))
    for name in ("identity seed raw", "static secret raw", "ratchet pickle raw", "body utf8"):
        assert any(name in hit for hit in hits), (name, hits)
    assert any("display name utf8" in hit for hit in hits)
    # and each encoded form is detectable when present
    (tmp_path / "encoded.txt").write_bytes(
        secrets["identity seed"].hex().encode() + base64.b64encode(secrets["static secret"])
    )
    hits = find_leaks(tmp_path, needles_for(secrets, texts))
    assert any("identity seed hex" in hit for hit in hits)
    assert any("static secret b64" in hit for hit in hits)


async def test_key_never_appears_in_errors_or_logs(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    db = await make_profile(tmp_path)
    header = Header.parse((tmp_path / "profile.hdr").read_bytes())
    key_hex = bytes(derive_key(PW, header)).hex()
    await db.close()
    errors = []
    for attempt in ("wrong", PW):
        try:
            db = await Database.open(tmp_path, attempt)
        except WrongPassphrase as exc:
            errors.append(exc)
    try:
        await db.change_passphrase("wrong", NEW_PW)
    except WrongPassphrase as exc:
        errors.append(exc)
    await db.close()
    text = " ".join(f"{e!s} {e!r} {e.__cause__!r} {e.__context__!r}" for e in errors)
    out, err = capfd.readouterr()
    for haystack in (text, caplog.text, out, err):
        assert key_hex not in haystack.lower()
        assert PW not in haystack
    assert "hmac check failed" not in err  # SQLCipher's own logging is off


async def test_latest_uses_the_position_index(tmp_path):
    db = await make_profile(tmp_path)
    try:
        plan = await db.run(
            lambda c: c.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE conversation_id = 1"
                " AND position IS NOT NULL ORDER BY position DESC LIMIT 200"
            ).fetchall()
        )
    finally:
        await db.close()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "messages_by_position" in detail
    assert "TEMP B-TREE" not in detail  # no sort step


async def test_a_second_process_cannot_open_an_open_profile(tmp_path: Path):
    """Two writers would fork the ratchet state: the second gets ProfileInUse, nothing changes."""
    import subprocess
    import sys

    from libra_gui.core.errors import ProfileInUse

    db = await make_profile(tmp_path)
    code = (
        "import asyncio, sys\n"
        "from libra_gui.core.storage.database import Database\n"
        "from libra_gui.core.errors import ProfileInUse\n"
        "async def main():\n"
        f"    try: await Database.open({str(tmp_path)!r}, {PW!r})\n"
        "    except ProfileInUse: sys.exit(42)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 42, done.stderr
    with pytest.raises(ProfileInUse):  # the same process opening it twice is refused too
        await Database.open(tmp_path, PW)
    await db.close()
    again = await Database.open(tmp_path, PW)  # released on close
    await again.close()
