"""Backup and restore: real SQLCipher profiles, the files on disk, and the CLI as a process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from libra_gui import cli
from libra_gui.core.errors import ProfileExists, ProfileInUse, WrongPassphrase
from libra_gui.core.services import backup, contacts, profile
from libra_gui.core.services.events import EventBus
from libra_gui.core.services.messaging import MessagingService
from libra_gui.core.storage import INSECURE_TEST_KDF, Database
from tests.test_cli import run_cli
from tests.test_storage import find_leaks, needles_for

PW = "maple river lantern orbit"


async def make_profile(data_dir: Path, name: str) -> None:
    await profile.create_profile(data_dir, PW, name, kdf_params=INSECURE_TEST_KDF)


async def populated(tmp_path: Path) -> tuple[Path, str, bytes]:
    """Alice with one contact (Bob) and one queued message; returns (dir, body, seed)."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    await make_profile(alice, "Alice")
    await make_profile(bob, "Bob")
    async with profile.unlocked(bob, PW) as prof:
        bob_card = prof.card.encode()
    body = f"meet me at the old mill at {os.urandom(6).hex()}"
    async with profile.unlocked(alice, PW) as prof:
        contact = await contacts.add_from_card(prof, bob_card)
        messaging = MessagingService(prof, EventBus())
        await messaging.send_text(contact.id, body)
        await messaging.close()
        seed = prof.keys.identity_seed
    return alice, body, seed


async def assert_is_alice(data_dir: Path, body: str) -> None:
    async with profile.unlocked(data_dir, PW) as prof:
        assert prof.display_name == "Alice"
        (bob,) = await contacts.list_contacts(prof)
        assert bob.display_name == "Bob"
        rows = await MessagingService(prof, EventBus()).history(bob.id)
        assert [m.body for m in rows] == [body]


async def test_round_trip_of_an_open_profile_keeps_contacts_and_messages(tmp_path):
    alice, body, seed = await populated(tmp_path)
    out = tmp_path / "backup"
    async with profile.unlocked(alice, PW) as prof:  # Libra keeps running meanwhile
        assert await backup.backup(prof, out) == out
    assert sorted(p.name for p in out.iterdir()) == ["profile.db", "profile.hdr"]
    assert not any(p.name.startswith(backup.PARTIAL_PREFIX) for p in tmp_path.iterdir())
    if os.name == "posix":
        assert (out / "profile.db").stat().st_mode & 0o077 == 0

    # No plaintext in the backup: not the message, names, identity seed or passphrase.
    texts = {"body": body, "name": "Alice", "contact": "Bob", "passphrase": PW}
    assert find_leaks(out, needles_for({"identity seed": seed}, texts)) == []

    restored = tmp_path / "restored"
    await backup.restore(out, restored, PW)
    await assert_is_alice(restored, body)
    assert sorted(p.name for p in restored.iterdir() if not p.name.startswith(".")) == [
        "profile.db",
        "profile.hdr",
        "profile.lock",
    ]
    assert not list(restored.glob(backup.PARTIAL_PREFIX + "*"))


async def test_backup_of_a_closed_profile_and_one_open_elsewhere(tmp_path):
    alice, body, _ = await populated(tmp_path)
    await backup.backup(alice, tmp_path / "b1")
    await backup.restore(tmp_path / "b1", tmp_path / "r1", PW)
    await assert_is_alice(tmp_path / "r1", body)
    async with profile.unlocked(alice, PW):
        with pytest.raises(ProfileInUse):
            await backup.backup(alice, tmp_path / "b2")
    assert not (tmp_path / "b2").exists()


async def test_wrong_passphrase_leaves_nothing_behind(tmp_path):
    alice, _, _ = await populated(tmp_path)
    await backup.backup(alice, tmp_path / "b")
    target = tmp_path / "new"
    with pytest.raises(WrongPassphrase):
        await backup.restore(tmp_path / "b", target, "not the passphrase")
    assert not Database.exists(target)
    assert sorted(p.name for p in target.iterdir()) == ["profile.lock"]


async def test_a_folder_without_a_profile_is_not_a_backup(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "profile.db").write_bytes(b"hello")
    with pytest.raises(backup.NotABackup, match="no Libra profile"):
        await backup.restore(tmp_path / "junk", tmp_path / "new", PW)
    with pytest.raises(backup.NotABackup):
        await backup.restore(tmp_path / "missing", tmp_path / "new", PW)
    assert not Database.exists(tmp_path / "new")


async def test_an_existing_profile_is_never_overwritten(tmp_path):
    alice, _, _ = await populated(tmp_path)
    await backup.backup(alice, tmp_path / "b")
    other = tmp_path / "other"
    await make_profile(other, "Carol")
    before = (other / "profile.db").read_bytes()
    with pytest.raises(ProfileExists):
        await backup.restore(tmp_path / "b", other, PW)
    assert (other / "profile.db").read_bytes() == before


async def test_the_destination_must_be_new_or_empty(tmp_path):
    alice, body, _ = await populated(tmp_path)
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    with pytest.raises(backup.BackupDestinationNotEmpty, match="empty folder"):
        await backup.backup(alice, full)
    assert [p.name for p in full.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    await backup.backup(alice, empty)
    await backup.restore(empty, tmp_path / "r", PW)
    await assert_is_alice(tmp_path / "r", body)


# --- the CLI --------------------------------------------------------------------------------


def test_cli_backup_and_restore(tmp_path):
    alice, body, _ = asyncio.run(populated(tmp_path))
    secret = tmp_path / "pass.txt"
    secret.write_text(PW + "\n", encoding="utf-8")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    out = tmp_path / "bk"

    done = run_cli("backup", "--data-dir", alice, "--passphrase-file", secret, "--out", out)
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert (out / "profile.db").is_file()
    again = run_cli("backup", "--data-dir", alice, "--passphrase-file", secret, "--out", out)
    assert again.returncode == cli.EXIT_ERROR and "empty folder" in again.stderr

    target = tmp_path / "restored"
    bad = run_cli("restore", out, "--data-dir", target, "--passphrase-file", wrong)
    assert bad.returncode == cli.EXIT_WRONG_PASSPHRASE, bad.stderr
    assert not Database.exists(target)
    ok = run_cli("restore", out, "--data-dir", target, "--passphrase-file", secret)
    assert ok.returncode == cli.EXIT_OK, ok.stderr
    asyncio.run(assert_is_alice(target, body))
    twice = run_cli("restore", out, "--data-dir", target, "--passphrase-file", secret)
    assert twice.returncode == cli.EXIT_PROFILE_EXISTS
    nothing = run_cli(
        "restore", tmp_path, "--data-dir", tmp_path / "x", "--passphrase-file", secret
    )
    assert nothing.returncode == cli.EXIT_NO_PROFILE and "no Libra profile" in nothing.stderr
