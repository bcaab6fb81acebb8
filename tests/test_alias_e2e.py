"""Finding each other by three words, for real: beacons on the private Tor network.

Three `libra-cli run` processes (Alice, Bob, Carol), each with its own tor. Nothing is
exchanged out of band except the words (or a QR image file).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from libra_gui import control
from tests.libra_nodes import NodeProcess, cli, wait_history

pytestmark = pytest.mark.slow

PASSPHRASE = "alias e2e passphrase"


@pytest.fixture
async def people(tor_network, tmp_path: Path) -> AsyncIterator[dict[str, NodeProcess]]:
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE + "\n")
    torrc = tmp_path / "torrc-extra"
    torrc.write_text("\n".join(tor_network.client_torrc_lines()) + "\n")
    nodes = {}
    for name in ("alice", "bob", "carol"):
        data = tmp_path / name
        await cli("init", "--data-dir", data, "--passphrase-file", secret, "--name", name)
        nodes[name] = NodeProcess(
            name, data, ["--passphrase-file", str(secret), "--torrc-extra", str(torrc)]
        )
    try:
        yield nodes
    finally:
        for node in nodes.values():
            with contextlib.suppress(Exception):
                await node.stop()


async def call(node: NodeProcess, **request: object) -> dict:
    return await control.call(node.data_dir, request)


async def test_add_by_three_words_then_chat_without_the_beacon(people):
    alice, bob = people["alice"], people["bob"]
    await asyncio.gather(alice.start(), bob.start())
    mine = await call(alice, cmd="alias", action="on")
    assert mine["active"] and mine["beacon"]
    words = mine["alias"]

    # A typo is caught before any network traffic, with a suggestion.
    typo = words[:-1] + ("a" if words[-1] != "a" else "e")
    with pytest.raises(control.ControlError, match=r"did you mean|not in the word list|not a"):
        await call(bob, cmd="lookup", target=typo)

    found = await call(bob, cmd="lookup", target=words.replace("-", " ").upper())
    assert found["card"]["display_name"] == "alice"
    assert found["card"]["inbox"] is None  # the beacon never shows the inbox
    assert found["verified_by_invite"] is False

    bob_up, alice_up = bob.link_up(), alice.link_up()
    sent = await call(bob, cmd="request", target=words, message="hi, it's Bob")
    assert sent["status"] == "sent" and sent["contact"]["trust"] == "known"
    pending = (await call(alice, cmd="requests"))["pending"]
    assert [p["message"] for p in pending] == ["hi, it's Bob"]
    accepted = await call(alice, cmd="requests", action="accept", id=pending[0]["id"])
    assert accepted["contact"]["display_name"] == "bob"
    await asyncio.gather(alice.wait_event(alice_up, 120), bob.wait_event(bob_up, 120))

    await call(alice, cmd="alias", action="off")  # the beacon goes away; the inboxes stay
    assert (await call(bob, cmd="send", contact="alice", text="hello Alice"))["ok"]
    assert (await call(alice, cmd="send", contact="bob", text="hello Bob"))["ok"]
    await wait_history(alice, "bob", ["hello Alice"], 120)
    await wait_history(bob, "alice", ["hello Bob"], 120)
    assert (await call(alice, cmd="requests"))["pending"] == []

    # Added by words alone they are unverified; a shared-secret question fixes that.
    await call(alice, cmd="smp", contact="bob", question="Our first pet?", answer="Rex")
    await bob.wait_event(lambda e: e["event"] == "verification_requested", 60)
    await call(bob, cmd="smp", contact="alice", answer="  rex ")
    for node in (alice, bob):
        done = await node.wait_event(lambda e: e["event"] == "verification_finished", 60)
        assert done["outcome"] == "equal" and done["trust"] == "verified"


async def test_private_one_time_invite_by_qr_works_once(people, tmp_path: Path):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    await asyncio.gather(alice.start(), bob.start(), carol.start())
    state = await call(alice, cmd="alias", action="on", private=True, one_time=True)
    assert state["private"] and state["one_time"]
    qr = tmp_path / "alice-invite.png"
    await cli("qr", "--data-dir", alice.data_dir, "--out", qr)
    assert qr.stat().st_size > 200

    # Words alone are not enough for a private beacon.
    with pytest.raises(control.ControlError, match=r"private|findable"):
        await call(bob, cmd="lookup", target=state["alias"], timeout=20)

    done = await cli("request", "--data-dir", bob.data_dir, "--qr", qr, "--message", "Bob here")
    assert done["contact"]["trust"] == "verified"  # the QR pinned Alice's fingerprint
    with pytest.raises(AssertionError, match=r"used|expired|findable"):
        await cli("request", "--data-dir", carol.data_dir, "--qr", qr, "--message", "Carol")
    pending = (await call(alice, cmd="requests"))["pending"]
    assert [p["message"] for p in pending] == ["Bob here"]


async def test_unknown_words_are_not_found_in_bounded_time(people):
    bob = people["bob"]
    await bob.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(control.ControlError, match="nobody is findable"):
        await call(bob, cmd="lookup", target="amber falcon raven", timeout=20)
    assert loop.time() - started < 60
