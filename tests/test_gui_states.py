"""The GUI's pure rules: error messages, status-dot and Tor-status folding, passphrase hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from libra_gui import ui as ui_package
from libra_gui.core import errors as core_errors
from libra_gui.core.net.tor import errors as tor_errors
from libra_gui.core.net.tor.control import ConnectionLost
from libra_gui.core.net.tor.events import (
    TorBootstrap,
    TorFailed,
    TorRestarted,
    TorRestarting,
    TorStopped,
)
from libra_gui.core.services.contacts import KeyChanged
from libra_gui.core.services.direct import PathChanged
from libra_gui.core.services.events import LinkStateChanged, MessageReceived
from libra_gui.ui.engine import NotOnline
from libra_gui.ui.errors import _MESSAGES, user_message
from libra_gui.ui.passphrase import MIN_PASSPHRASE_CHARS, strength
from libra_gui.ui.states import (
    ContactPaths,
    NodeStarted,
    NodeStartFailed,
    NodeStarting,
    TorStatus,
    next_tor_status,
    path_state,
)


@pytest.mark.parametrize(
    ("error", "title", "actions"),
    [
        (core_errors.WrongPassphrase("x"), "Wrong passphrase", ()),
        (core_errors.ProfileInUse("x"), "Libra is already open", ()),
        (core_errors.CorruptStore("x"), "The profile cannot be read", ()),
        (tor_errors.TorNotFound("x"), "Tor was not found", ("choose_tor", "retry")),
        (tor_errors.TorConfigError("x"), "Tor refused a setting", ("bridges", "retry")),
        (
            tor_errors.TorBootstrapStuck("x"),
            "Tor cannot reach the Tor network",
            ("bridges", "retry"),
        ),
        (ConnectionLost("x"), "Tor stopped working", ("retry", "choose_tor")),  # via TorError
        (KeyChanged("x"), "Safety warning: keys changed", ()),
        (NotOnline("x"), "Not connected yet", ()),
    ],
)
def test_typed_errors_become_messages_that_say_what_to_do(qapp, error, title, actions):
    message = user_message(error)
    assert message.title == title
    assert message.text.endswith(".") and len(message.text) > 20
    assert message.details == str(error)
    assert message.actions == actions


def test_an_unlisted_core_error_falls_back_to_its_parent_and_shows_its_details(qapp):
    class NewStorageProblem(core_errors.StorageError):
        pass

    message = user_message(NewStorageProblem("the disk said no"))
    assert message.title == "Libra could not save"
    assert message.details == "the disk said no"


def test_a_bug_shows_no_exception_text(qapp):
    """Anything that is not a LibraError may carry anything (paths, keys): type name only."""
    message = user_message(ValueError("secret-token-123"))
    assert message.title == "Something went wrong"
    assert "secret-token-123" not in f"{message.title}{message.text}{message.details}"
    assert message.details == "ValueError"


def test_every_table_entry_is_complete(qapp):
    for cls, (title, text, _actions) in _MESSAGES.items():
        assert title and text, cls


def test_link_events_give_the_status_dot_and_other_events_do_not():
    assert path_state(LinkStateChanged(3, "up", "tor")) == (3, "tor")
    assert path_state(LinkStateChanged(3, "up", "direct")) == (3, "direct")
    assert path_state(LinkStateChanged(3, "down", "tor")) == (3, "offline")
    assert path_state(PathChanged(3, "connecting-direct", None)) == (3, "connecting-direct")
    assert path_state(MessageReceived(3, b"\0" * 16, 1, 0, "hi")) is None


def test_path_events_rule_the_dot_once_a_contact_has_had_one():
    paths = ContactPaths()
    assert paths.apply(LinkStateChanged(1, "up", "tor")) == (1, "tor")
    assert paths.apply(LinkStateChanged(1, "up", "tor")) is None  # no change, no repaint
    assert paths.apply(PathChanged(1, "connecting-direct", None)) == (1, "connecting-direct")
    assert paths.apply(PathChanged(1, "direct", "srflx")) == (1, "direct")
    assert paths.apply(PathChanged(1, "fallback", None)) == (1, "fallback")
    # The service swaps in a fresh Tor link while still in fallback: the dot stays.
    assert paths.apply(LinkStateChanged(1, "up", "tor")) is None
    assert paths.apply(PathChanged(1, "offline", None)) == (1, "offline")
    assert paths.apply(LinkStateChanged(2, "down", "tor")) == (2, "offline")  # another contact
    assert paths.states == {1: "offline", 2: "offline"}


def test_tor_status_follows_start_bootstrap_restart_and_failure():
    status = TorStatus()
    steps = [
        (NodeStarting(), "starting", 0),
        (
            TorBootstrap(40, "loading_status", "Loading networkstatus consensus"),
            "bootstrapping",
            40,
        ),
        (TorBootstrap(100, "done", "Done"), "bootstrapping", 100),
        (NodeStarted(), "ready", 100),
        (TorRestarting("tor exited", 1, 0.5), "restarting", 100),
        (TorRestarted(1, 1, 2), "ready", 100),
    ]
    for event, phase, percent in steps:
        status = next_tor_status(status, event) or status
        assert (status.phase, status.percent) == (phase, percent), event
    assert status.online
    failed = next_tor_status(status, TorFailed("tor keeps crashing"))
    assert failed is not None and failed.phase == "failed"
    assert isinstance(failed.error, tor_errors.TorDied)
    after_stop = next_tor_status(failed, TorStopped())
    assert after_stop is not None and after_stop.phase == "failed"  # the reason stays visible
    not_found = next_tor_status(TorStatus(), NodeStartFailed(tor_errors.TorNotFound("no tor")))
    assert not_found is not None and isinstance(not_found.error, tor_errors.TorNotFound)
    stuck = next_tor_status(
        TorStatus("bootstrapping", 10), NodeStartFailed(tor_errors.TorBootstrapStuck("stuck"))
    )
    later = next_tor_status(stuck, TorBootstrap(20, "x", "y")) if stuck else None
    assert later is not None and later.phase == "failed" and later.percent == 20  # until a retry
    assert next_tor_status(status, LinkStateChanged(1, "up", "tor")) is None


def test_passphrase_hint_tells_weak_from_strong():
    assert strength("short") == 0
    assert len("password") >= MIN_PASSPHRASE_CHARS and strength("password") == 0
    assert strength("12345678") == 0
    assert strength("aaaaaaaaaaaa") == 0
    assert strength("maple river") <= 1  # two words: weak
    assert strength("maple river lantern orbit") >= 3  # four random words: strong
    assert strength("maple river lantern orbit quartz") == 4


def test_every_user_visible_string_is_found_by_lupdate(tmp_path):
    """Strings reach translators only if lupdate sees them: tr(), QCoreApplication.translate
    or QT_TRANSLATE_NOOP with a literal context (a helper or a variable context is invisible)."""
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    if not lupdate.exists():
        pytest.skip("pyside6-lupdate is not installed next to this Python")
    sources = sorted(str(p) for p in (Path(ui_package.__file__).parent).glob("*.py"))
    ts = tmp_path / "libra.ts"
    subprocess.run([str(lupdate), *sources, "-ts", str(ts)], check=True, capture_output=True)
    found = {el.text for el in ElementTree.parse(ts).iter("source")}
    for text in (
        "Wrong passphrase",  # errors.py, QT_TRANSLATE_NOOP
        "Connected through Tor",  # texts.py, QCoreApplication.translate
        "Write a message",  # chat.py, self.tr
        "Create my profile",
        "How to fix…",
    ):
        assert text in found, text
    assert len(found) > 150
