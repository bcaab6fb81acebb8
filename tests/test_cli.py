"""libra-cli as a script sees it: real processes, real SQLCipher profile, JSON and exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from libra_gui import cli
from libra_gui.core.protocol.card import ContactCard


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "libra_gui.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text("correct horse battery staple\n", encoding="utf-8")
    return path


@pytest.fixture
def profile_dir(tmp_path: Path, secret: Path) -> Path:
    data = tmp_path / "alice"
    done = run_cli("init", "--data-dir", data, "--passphrase-file", secret, "--name", "Alice")
    assert done.returncode == cli.EXIT_OK, done.stderr
    return data


def test_init_then_whoami_show_the_same_signed_card(profile_dir: Path, secret: Path):
    done = run_cli("whoami", "--data-dir", profile_dir, "--passphrase-file", secret)
    assert done.returncode == cli.EXIT_OK, done.stderr
    out = json.loads(done.stdout)
    card = ContactCard.decode(base64.b64decode(out["card"]["card"]))
    assert card.display_name == "Alice"
    assert out["fingerprint"] == card.fingerprint.hex()
    again = json.loads(
        run_cli("whoami", "--data-dir", profile_dir, "--passphrase-file", secret).stdout
    )
    assert again == out  # stable across unlocks: same keys, same deterministic signature


def test_wrong_passphrase_has_its_own_exit_code(profile_dir: Path, tmp_path: Path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    done = run_cli("whoami", "--data-dir", profile_dir, "--passphrase-file", wrong)
    assert done.returncode == cli.EXIT_WRONG_PASSPHRASE
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and "passphrase" in done.stderr.lower()


def test_missing_profile_and_double_init(profile_dir: Path, secret: Path, tmp_path: Path):
    done = run_cli("whoami", "--data-dir", tmp_path / "nobody", "--passphrase-file", secret)
    assert done.returncode == cli.EXIT_NO_PROFILE
    assert "Traceback" not in done.stderr
    done = run_cli("init", "--data-dir", profile_dir, "--passphrase-file", secret, "--name", "B")
    assert done.returncode == cli.EXIT_PROFILE_EXISTS


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path: Path, secret: Path):
    short = tmp_path / "short.txt"
    short.write_text("abc\n", encoding="utf-8")
    done = run_cli("init", "--data-dir", tmp_path / "p", "--passphrase-file", short, "--name", "A")
    assert done.returncode == cli.EXIT_USAGE and "at least" in done.stderr
    done = run_cli(
        "init", "--data-dir", tmp_path / "q", "--passphrase-file", secret, "--name", "\u202eevil"
    )
    assert done.returncode == cli.EXIT_INVALID_INPUT and "Traceback" not in done.stderr
    done = run_cli("whoami", "--data-dir", tmp_path / "q")  # no terminal, no passphrase file
    assert done.returncode == cli.EXIT_USAGE and "--passphrase-file" in done.stderr


def test_passwd_rekeys(profile_dir: Path, secret: Path, tmp_path: Path):
    new = tmp_path / "new.txt"
    new.write_text("a much better passphrase\n", encoding="utf-8")
    done = run_cli(
        "passwd",
        "--data-dir",
        profile_dir,
        "--passphrase-file",
        secret,
        "--new-passphrase-file",
        new,
    )
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert (
        run_cli("whoami", "--data-dir", profile_dir, "--passphrase-file", secret).returncode
        == cli.EXIT_WRONG_PASSPHRASE
    )
    assert (
        run_cli("whoami", "--data-dir", profile_dir, "--passphrase-file", new).returncode
        == cli.EXIT_OK
    )


def test_cards_contacts_and_offline_send(profile_dir: Path, secret: Path, tmp_path: Path):
    """Exchange card files, queue a message with no node running, read it back."""
    bob = tmp_path / "bob"
    assert (
        run_cli("init", "--data-dir", bob, "--passphrase-file", secret, "--name", "Bob").returncode
        == 0
    )
    card_file = tmp_path / "bob.card"
    done = run_cli(
        "export-card", "--data-dir", bob, "--passphrase-file", secret, "--out", card_file
    )
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert card_file.read_text().strip() == json.loads(done.stdout)["card_text"]
    assert card_file.stat().st_mode & 0o077 == 0
    done = run_cli("add-card", "--data-dir", profile_dir, "--passphrase-file", secret, card_file)
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert json.loads(done.stdout)["display_name"] == "Bob"
    listed = json.loads(
        run_cli("contacts", "--data-dir", profile_dir, "--passphrase-file", secret).stdout
    )
    assert [c["display_name"] for c in listed["contacts"]] == ["Bob"]
    done = run_cli("send", "--data-dir", profile_dir, "--passphrase-file", secret, "Bob", "hi")
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert json.loads(done.stdout)["queued_offline"] is True
    history = json.loads(
        run_cli("history", "--data-dir", profile_dir, "--passphrase-file", secret, "Bob").stdout
    )
    assert [(m["body"], m["state"]) for m in history["messages"]] == [("hi", "queued")]
    done = run_cli("send", "--data-dir", profile_dir, "--passphrase-file", secret, "Carol", "x")
    assert done.returncode == cli.EXIT_ERROR and "no contact matches" in done.stderr
    damaged = tmp_path / "damaged.card"
    damaged.write_text(card_file.read_text()[:-12] + "AAAAAAAAAAAA\n")
    done = run_cli("add-card", "--data-dir", profile_dir, "--passphrase-file", secret, damaged)
    assert done.returncode == cli.EXIT_INVALID_INPUT and "Traceback" not in done.stderr


def test_direct_policy_commands_say_what_they_reveal(
    profile_dir: Path, secret: Path, tmp_path: Path
):
    """direct on/off/default, the global default and STUN/TURN servers, without a node."""
    bob = tmp_path / "bob"
    run_cli("init", "--data-dir", bob, "--passphrase-file", secret, "--name", "Bob")
    card_file = tmp_path / "bob.card"
    run_cli("export-card", "--data-dir", bob, "--passphrase-file", secret, "--out", card_file)
    run_cli("add-card", "--data-dir", profile_dir, "--passphrase-file", secret, card_file)
    common = ("--data-dir", profile_dir, "--passphrase-file", secret)

    shown = json.loads(run_cli("direct", *common, "Bob").stdout)
    assert (shown["policy"], shown["default"], shown["allowed"]) == ("default", "verified", False)
    assert "warning" not in shown  # a card-only contact is not verified: Tor only
    done = run_cli("direct", *common, "Bob", "on")
    assert done.returncode == cli.EXIT_OK, done.stderr
    on = json.loads(done.stdout)
    assert (on["policy"], on["allowed"]) == ("allowed", True)
    assert "IP address" in on["warning"]
    off = json.loads(run_cli("direct", *common, "Bob", "off").stdout)
    assert (off["policy"], off["allowed"]) == ("off", False)

    assert json.loads(run_cli("direct-default", *common, "off").stdout)["default"] == "off"
    run_cli("direct", *common, "Bob", "default")
    assert json.loads(run_cli("direct", *common, "Bob").stdout)["allowed"] is False

    done = run_cli("ice-servers", *common, "stun:10.1.2.3:3478", "turn:u:p@10.1.2.4:3478")
    assert done.returncode == cli.EXIT_OK, done.stderr
    listed = json.loads(run_cli("ice-servers", *common).stdout)
    assert listed["servers"] == ["stun:10.1.2.3:3478", "turn:10.1.2.4:3478"]
    assert "p@" not in json.dumps(listed)  # credentials never printed
    done = run_cli("ice-servers", *common, "http://nope")
    assert done.returncode != cli.EXIT_OK and "Traceback" not in done.stderr
    done = run_cli("run", *common, "--stun", "stun:user:pw@host:1")
    assert done.returncode == cli.EXIT_ERROR and "STUN server takes no user" in done.stderr
