"""Attacks on aliases and beacons, for real: the private Tor network and `libra-cli run` nodes.

* An impostor who knows Alice's words holds her public beacon's onion key (anyone can derive
  it), so it can answer for her words. Bob's lookup must refuse it (ImpostorBeacon) before
  anything about Bob leaves his node: the impostor only ever sees a throwaway identity.
* A flood of contact requests with bad proof of work / bad signatures (plus free lookups)
  against Alice's public beacon: her node keeps delivering her contact's messages and
  answering her, her memory stays bounded, and a real request still gets through after.
* A stranger holding the words and the public card still cannot reach Alice's inbox: tor
  refuses him for lack of client authorization (SOCKS 0xF4/0xF5).

Alice, Bob and Carol are `libra-cli run` processes with their own tors; the impostor and the
flooder are in-process (a TorManager, our Link, hand-made records).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from libra_gui import control
from libra_gui.core.crypto import alias as alias_crypto
from libra_gui.core.crypto import pow as pow_
from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.crypto.onion import ClientAuthKey
from libra_gui.core.net.link import Link, LinkConfig
from libra_gui.core.net.tor.errors import SocksError
from libra_gui.core.net.tor.manager import TorManager
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.net.tor.socks import open_stream
from libra_gui.core.protocol.card import ContactCard
from libra_gui.core.protocol.records import (
    CardReply,
    CardRequest,
    ContactRequestRecord,
    LinkRecord,
    RequestResult,
)
from libra_gui.core.protocol.requests import RequestStatus, sign_request
from libra_gui.core.services import contacts, lookup, profile
from libra_gui.core.services.beacon import BEACON_LINK, BEACON_PORT
from libra_gui.core.services.node import INBOX_PORT
from libra_gui.core.storage import INSECURE_TEST_KDF
from tests.libra_nodes import NodeProcess, wait_history

pytestmark = pytest.mark.slow

PASS = "alias attacks passphrase"
LOCAL = "127.0.0.1"


class World:
    """People (`libra-cli run` nodes, not started) and in-process tors on the network."""

    def __init__(self, network: Any, base: Path) -> None:
        self.network, self.base = network, base
        self.nodes: dict[str, NodeProcess] = {}
        self.cards: dict[str, ContactCard] = {}
        self.tors: list[TorManager] = []
        secret = base / "pass"
        secret.write_text(PASS + "\n")
        torrc = base / "torrc-extra"
        torrc.write_text("\n".join(network.client_torrc_lines()) + "\n")
        self.args = ["--passphrase-file", str(secret), "--torrc-extra", str(torrc)]

    async def person(self, name: str) -> NodeProcess:
        data = self.base / name
        # A fast store KDF: `run` unlocks with whatever KDF the profile was created with.
        self.cards[name] = await profile.create_profile(
            data, PASS, name, kdf_params=INSECURE_TEST_KDF
        )
        self.nodes[name] = NodeProcess(name, data, self.args)
        return self.nodes[name]

    async def introduce(self, a: str, b: str) -> None:
        """Make two (stopped) people contacts of each other, as by exchanging card files."""
        for me, other in ((a, b), (b, a)):
            async with profile.unlocked(self.base / me, PASS) as prof:
                await contacts.add_from_card(prof, self.cards[other].encode())

    async def tor(self, name: str) -> TorManager:
        """An in-process tor of our own (impostor, flooder) joined to the private network."""
        tor = TorManager(
            TorSettings(
                data_dir=self.base / name,
                extra_torrc=self.network.client_torrc_lines(),
                bootstrap_timeout=60,
            )
        )
        self.tors.append(tor)
        await tor.start()
        return tor

    async def close(self) -> None:
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                await node.stop()
        for tor in self.tors:
            with contextlib.suppress(Exception):
                await tor.stop()


@pytest.fixture
async def world(tor_network, tmp_path: Path) -> AsyncIterator[World]:
    w = World(tor_network, tmp_path)
    try:
        yield w
    finally:
        await w.close()


async def call(node: NodeProcess, **request: object) -> dict[str, Any]:
    return await control.call(node.data_dir, request)


async def cli_result(*args: str | Path) -> tuple[int, str, str]:
    """Run `libra-cli ARGS`; (exit code, stdout, stderr) without judging them."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "libra_gui.cli",
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def connect(
    socks: tuple[str, int], onion: str, port: int, isolation: str, seconds: float = 60
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """SOCKS CONNECT, retrying what a fresh descriptor or circuit answers; permanent codes
    (0xF4/0xF5: client authorization) are raised at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            return await open_stream(
                socks[0], socks[1], onion + ".onion", port, isolation=isolation, timeout=30
            )
        except SocksError as exc:
            if not exc.retryable or loop.time() > deadline:
                raise
        await asyncio.sleep(0.5)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


# --- 1. impostor beacon -----------------------------------------------------------------------


class FakeBeacon:
    """An impostor's beacon for someone else's words: the onion key anyone derives from the
    words, the impostor's OWN identity in the Noise handshake, and ``card``/``counter`` in the
    CardReply. It records everything a visitor reveals and, to lure a request out, would
    answer one as RECEIVED."""

    def __init__(self, tor: TorManager, keys: IdentityKeys, card: bytes, counter: int) -> None:
        self._tor, self._keys, self._card, self._counter = tor, keys, card, counter
        self.address = ""
        self.peers: list[tuple[bytes, bytes | None]] = []  # (peer identity, peer card)
        self.records: list[LinkRecord] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, words: str) -> str:
        key = await asyncio.to_thread(alias_crypto.beacon_service_key, words)
        self.address = key.address
        self._server = await asyncio.start_server(self._serve, LOCAL, 0)
        port = self._server.sockets[0].getsockname()[1]
        assert await self._tor.add_onion(key.expanded, BEACON_PORT, port) == self.address
        assert await self._tor.wait_published(self.address, 60), "impostor never published"
        return self.address

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            link = await Link.accept(
                reader,
                writer,
                self._keys,
                accept_peer=lambda _identity: True,
                context=b"beacon:" + self.address.encode(),
                config=BEACON_LINK,
            )
        except Exception:
            return
        self.peers.append((link.peer_identity, link.peer_card))

        async def on_records(records: list[LinkRecord]) -> None:
            for record in records:
                self.records.append(record)
                if isinstance(record, CardRequest):
                    reply = CardReply(card=self._card, counter=self._counter, pow_bits=0)
                    link.send([reply])
                elif isinstance(record, ContactRequestRecord):
                    link.send([RequestResult(RequestStatus.RECEIVED, 0)])

        link.deliver_to(on_records)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.closed.wait(), 60)
        link.abort()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(Exception):
            await self._tor.remove_onion(self.address)


def assert_learned_nothing(impostor: FakeBeacon, victim: ContactCard, visits: int) -> None:
    """Only throwaway identities and card requests reached the impostor."""
    assert len(impostor.peers) >= visits, f"expected {visits} visits, saw {len(impostor.peers)}"
    for identity, card in impostor.peers:
        assert identity != victim.identity_key, "the victim's identity reached the impostor"
        assert card is None, "a card was sent in the handshake"
    kinds = {type(r).__name__ for r in impostor.records}
    assert kinds == {"CardRequest"}, f"the impostor received {kinds}"


async def test_impostor_beacon_with_its_own_card_is_refused_and_learns_nothing(world):
    alice, bob = await world.person("alice"), await world.person("bob")
    await asyncio.gather(alice.start(), bob.start())
    mine = await call(alice, cmd="alias")  # Alice has her words but is not findable
    assert not mine["active"] and mine["beacon"] is None
    words, counter = mine["alias"], mine["counter"]

    # The impostor: own identity and own card, Alice's words and counter.
    keys = IdentityKeys.generate()
    card = ContactCard.create(keys, "alice", os.urandom(32), int(time.time())).encode()
    impostor = FakeBeacon(await world.tor("impostor"), keys, card, counter)
    address = await impostor.start(words)
    assert address == await asyncio.to_thread(alias_crypto.beacon_address, words)

    with pytest.raises(control.ControlError, match=r"not their owner \(impostor\)"):
        await call(bob, cmd="lookup", target=words, timeout=60)
    # A request goes through the same lookup first: refused before Bob says who he is.
    with pytest.raises(control.ControlError, match=r"impostor.*nothing was sent"):
        await call(bob, cmd="request", target=words, message="hi Alice, it's Bob")
    assert_learned_nothing(impostor, world.cards["bob"], visits=2)

    await bob.stop()  # Bob's store: the impostor was not added as a contact
    async with profile.unlocked(bob.data_dir, PASS) as prof:
        assert await contacts.list_contacts(prof) == []


async def test_impostor_relaying_alices_real_card_is_refused(world):
    alice, bob = await world.person("alice"), await world.person("bob")
    await asyncio.gather(alice.start(), bob.start())
    mine = await call(alice, cmd="alias", action="on")
    words = mine["alias"]
    tor = await world.tor("impostor")

    # The impostor fetches Alice's real public card from her beacon, like anyone can ...
    found = await lookup.find(tor, words, timeout=90)
    real_card, counter = found.card, found.counter
    await found.close()
    assert real_card.identity_key == world.cards["alice"].identity_key
    # ... waits until she is not findable, and answers for her words with that card.
    await call(alice, cmd="alias", action="off")
    impostor = FakeBeacon(tor, IdentityKeys.generate(), real_card.encode(), counter)
    await impostor.start(words)

    # The words and the card agree, but the Noise peer is not the card's identity.
    with pytest.raises(control.ControlError, match=r"someone else's card"):
        await call(bob, cmd="lookup", target=words, timeout=90)
    with pytest.raises(control.ControlError, match=r"someone else's card"):
        await call(bob, cmd="request", target=words, message="hi Alice, it's Bob")
    assert_learned_nothing(impostor, world.cards["bob"], visits=2)
    assert (await call(alice, cmd="requests"))["pending"] == []


# --- 2. flood ---------------------------------------------------------------------------------

FLOOD = 1000
LOOKUP_EVERY = 25  # one plain lookup (card request, hang up) among every 25 connections
WORKERS = 16  # concurrent tor streams: 4 per rendezvous circuit (tor allows 16 per circuit)
CIRCUITS = 4
BAD_KINDS = ("unsolved-stamp", "no-stamp", "bad-signature")


def bad_request(beacon: str, kind: str) -> ContactRequestRecord:
    """A request from a fresh throwaway identity that must not pass the gate."""
    keys = IdentityKeys.generate()
    card = ContactCard.create(keys, "spam", os.urandom(32), int(time.time())).encode()
    now = int(time.time() * 1000)
    minute = pow_.minute_of(now)
    if kind == "no-stamp":
        return sign_request(keys, beacon, card, "spam", bytes(pow_.STAMP_LEN), now)
    context = pow_.PowContext(beacon, keys.identity_public)
    while True:  # a random nonce; skip the 1 in 4096 that would really solve the puzzle
        nonce = secrets.randbits(64)
        digest = pow_.pow_hash(context, minute, nonce)
        if pow_.leading_zero_bits(digest) < pow_.DEFAULT_BITS:
            break
    record = sign_request(keys, beacon, card, "spam", pow_.encode_stamp(minute, nonce), now)
    if kind == "bad-signature":
        record = ContactRequestRecord(
            record.card, record.message, record.stamp, record.sent_at, os.urandom(64)
        )
    return record


async def beacon_exchange(
    socks: tuple[str, int], beacon: str, isolation: str, record: LinkRecord
) -> LinkRecord:
    """One link to the beacon under a throwaway identity: send ``record``, return the answer."""
    reader, writer = await connect(socks, beacon, BEACON_PORT, isolation)
    link = await Link.connect(
        reader,
        writer,
        IdentityKeys.generate(),
        expected_identity=None,
        context=b"beacon:" + beacon.encode(),
        config=LinkConfig(handshake_timeout=30),
    )
    answer: asyncio.Future[LinkRecord] = asyncio.get_running_loop().create_future()

    async def on_records(records: list[LinkRecord]) -> None:
        for r in records:
            if isinstance(r, CardReply | RequestResult) and not answer.done():
                answer.set_result(r)

    link.deliver_to(on_records)
    try:
        link.send([record])
        return await asyncio.wait_for(answer, 30)
    finally:
        if isinstance(record, CardRequest):
            await link.close("done")  # a polite lookup, exactly like lookup.find's
        else:
            link.abort()  # a spammer does not wait


async def flood(socks: tuple[str, int], beacon: str) -> Counter[str]:
    """FLOOD connections over WORKERS concurrent streams: bad requests, some lookups."""
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(FLOOD):
        jobs.put_nowait(i)
    outcomes: Counter[str] = Counter()

    async def worker(w: int) -> None:
        isolation = f"flood-{w % CIRCUITS}"
        while not jobs.empty():
            i = jobs.get_nowait()
            if i % LOOKUP_EVERY == 0:
                record: LinkRecord = CardRequest()
            else:
                record = await asyncio.to_thread(bad_request, beacon, BAD_KINDS[i % 3])
            try:
                got = await beacon_exchange(socks, beacon, isolation, record)
            except Exception as exc:  # counted, and asserted on below
                outcomes[f"failed: {type(exc).__name__}"] += 1
                continue
            if isinstance(got, CardReply):
                outcomes["card"] += 1
            else:
                assert isinstance(got, RequestResult)
                outcomes[RequestStatus(got.status).name] += 1

    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    return outcomes


async def while_running(
    task: asyncio.Task[Any], every: float, probe: Callable[[], Awaitable[None]]
) -> None:
    while not task.done():
        await probe()
        await asyncio.sleep(every)


async def test_flood_of_bad_requests_leaves_alice_responsive_and_open_to_real_ones(world):
    alice, bob, carol = [await world.person(n) for n in ("alice", "bob", "carol")]
    await world.introduce("alice", "bob")
    alice_up = alice.link_up()
    ready, *_ = await asyncio.gather(alice.start(), bob.start(), carol.start())
    flooder = await world.tor("flooder")
    await alice.wait_event(alice_up, 120)
    mine = await call(alice, cmd="alias", action="on")
    words, beacon = mine["alias"], mine["beacon"]
    socks = await flooder.socks_endpoint()
    # Warm up: the flooder's descriptor fetch and circuits, Alice's beacon code paths.
    assert isinstance(await beacon_exchange(socks, beacon, "flood-0", CardRequest()), CardReply)
    pid = alice.proc.pid if alice.proc is not None else 0
    rss_before = rss_kib(pid)

    started = time.monotonic()
    flooding = asyncio.create_task(flood(socks, beacon))
    latencies: list[float] = []
    sent: list[str] = []

    async def ask_status() -> None:
        t0 = time.monotonic()
        assert (await call(alice, cmd="status"))["ok"]
        latencies.append(time.monotonic() - t0)

    async def bob_writes() -> None:
        sent.append(f"during the flood {len(sent)}")
        assert (await bob.send("alice", sent[-1]))["ok"]

    await asyncio.gather(
        while_running(flooding, 0.5, ask_status), while_running(flooding, 3.0, bob_writes)
    )
    outcomes = flooding.result()
    flood_seconds = time.monotonic() - started
    await wait_history(alice, "bob", sent, 60)
    rss_after = rss_kib(pid)
    print(
        f"\n[flood] {FLOOD} connections in {flood_seconds:.1f} s: {dict(outcomes)}; Alice's "
        f"status answered in max {max(latencies) * 1000:.0f} ms ({len(latencies)} probes); "
        f"{len(sent)} messages from Bob delivered; RSS {rss_before // 1024} -> "
        f"{rss_after // 1024} MiB (her tor: {rss_kib(ready['tor_pid']) // 1024} MiB)"
    )

    # Nothing got in; (nearly) every connection was answered: a handful may fail in Tor, but
    # not a beacon refusing connections (lookups that hung up used to hold its 32 slots).
    refused = {"BAD_POW", "CLOCK_SKEW", "MALFORMED", "RATE_LIMITED"}
    failed = sum(n for kind, n in outcomes.items() if kind.startswith("failed"))
    assert set(outcomes) - {"card"} - refused == {k for k in outcomes if k.startswith("failed")}
    assert failed <= FLOOD // 100, outcomes
    assert outcomes["card"] >= len(range(0, FLOOD, LOOKUP_EVERY)) - failed, outcomes
    assert outcomes["BAD_POW"] > 0 and outcomes["MALFORMED"] > 0, outcomes
    assert max(latencies) < 3.0, latencies
    assert len(sent) >= 2
    assert rss_after - rss_before < 50 * 1024, (rss_before, rss_after)
    assert (await call(alice, cmd="requests"))["pending"] == []

    # Carol, with real proof of work, through `libra-cli request`: gets in (after waiting
    # out the rate limiter if it still says so).
    attempts = 0
    while True:
        attempts += 1
        rc, out, err = await cli_result(
            "request", "--data-dir", carol.data_dir, words, "--message", "hi Alice, Carol here"
        )
        if rc == 0 or attempts == 5:
            break
        wait = re.search(r"try again in (\d+) s", err)
        assert wait is not None, err
        await asyncio.sleep(int(wait.group(1)))
    assert rc == 0, err
    assert '"status": "sent"' in out
    print(f"[flood] Carol's request got through on attempt {attempts}")
    pending = (await call(alice, cmd="requests"))["pending"]
    assert [p["message"] for p in pending] == ["hi Alice, Carol here"]
    assert pending[0]["fingerprint"] == world.cards["carol"].identity_key.hex()
    assert not any(e["event"] == "tor_restarted" for e in alice.events)


# --- 3. stranger with the words ---------------------------------------------------------------


def tor_control(node: NodeProcess) -> Any:
    """A stem controller on a node's own tor (the test is the same user: cookie auth)."""
    from stem.control import Controller

    tor_dir = node.data_dir / "tor"
    if (tor_dir / "control.sock").exists():
        ctl = Controller.from_socket_file(str(tor_dir / "control.sock"))
    else:
        port = re.search(r":(\d+)\s*$", (tor_dir / "control.port").read_text())
        assert port is not None
        ctl = Controller.from_port(address=LOCAL, port=int(port.group(1)))
    ctl.authenticate()
    return ctl


def tor_commands(node: NodeProcess, *commands: str) -> list[str]:
    with tor_control(node) as ctl:
        out = []
        for command in commands:
            reply = ctl.msg(command)
            assert reply.is_ok(), f"{command.split()[0]}: {reply}"
            out.append(str(reply))
        return out


async def test_stranger_with_the_words_and_card_cannot_reach_the_inbox(world):
    alice, bob = await world.person("alice"), await world.person("bob")
    ready, _ = await asyncio.gather(alice.start(), bob.start())
    inbox = ready["inbox"]  # learned out of band: Bob is never told it
    words = (await call(alice, cmd="alias", action="on"))["alias"]
    found = await call(bob, cmd="lookup", target=words, timeout=90)
    assert found["card"]["identity_key"] == world.cards["alice"].identity_key.hex()
    assert found["card"]["inbox"] is None

    (listeners,) = await asyncio.to_thread(tor_commands, bob, "GETINFO net/listeners/socks")
    port = re.search(r'127\.0\.0\.1:(\d+)"?\s*$', listeners.splitlines()[0])
    assert port is not None, listeners
    socks = (LOCAL, int(port.group(1)))

    # Bob's own tor, no credential: the descriptor cannot even be decrypted.
    with pytest.raises(SocksError) as missing:
        await connect(socks, inbox, INBOX_PORT, "stranger-1", 90)
    assert missing.value.code == 0xF4, missing.value
    # With a credential of his own (not on Alice's list): still refused. (No NEWNYM here:
    # tor 0.4.9 drops every non-permanent client-auth credential on NEWNYM.)
    guess = ClientAuthKey.generate().private_b64
    await asyncio.to_thread(tor_commands, bob, f"ONION_CLIENT_AUTH_ADD {inbox} x25519:{guess}")
    with pytest.raises(SocksError) as wrong:
        await connect(socks, inbox, INBOX_PORT, "stranger-2", 90)
    assert wrong.value.code in (0xF4, 0xF5), wrong.value
    await asyncio.to_thread(tor_commands, bob, f"ONION_CLIENT_AUTH_REMOVE {inbox}")

    # Alice is unaffected, and acceptance (not the words) is what opens her inbox to Bob.
    assert (await call(alice, cmd="status"))["ok"]
    bob_up, alice_up = bob.link_up(), alice.link_up()
    assert (await call(bob, cmd="request", target=words, message="Bob, hello"))["status"] == "sent"
    (pending,) = (await call(alice, cmd="requests"))["pending"]
    await call(alice, cmd="requests", action="accept", id=pending["id"])
    await asyncio.gather(alice.wait_event(alice_up, 120), bob.wait_event(bob_up, 120))
    assert (await bob.send("alice", "now I can write"))["ok"]
    await wait_history(alice, "bob", ["now I can write"], 120)
