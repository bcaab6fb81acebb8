"""NAT scenarios for the direct path, for real: network namespaces, iptables NAT, coturn, tor.

Part 1 proves the lab itself (tests/netns.py) with raw aiortc peers (tests/nat_probe.py),
independent of Libra: cone NATs + STUN connect through server-reflexive candidates, symmetric
NATs and blocked UDP never connect (and the probe gives up on time), a LAN connects through
host candidates, and the namespaces reach the lab's Tor network but nothing of the host.

Part 2 runs two real `libra-cli run` nodes behind the lab's NATs, with their own tor on a
private Tor network on the public segment, and checks the direct path's user-visible contract:
the ``path`` events, exactly-once in-order delivery, no UDP at all when direct is off, and a
real failover (UDP dropped at a NAT mid-conversation) to Tor and back.
See docs/testing.md, "The NAT lab".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.libra_nodes import NodeProcess, cli
from tests.netns import Behaviour, Host, Lab, pid_alive, remove_leftovers, run_in
from tests.tornet import TorNetwork

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CONNECT_TIMEOUT = 30.0  # a probe that should connect (it takes < 1 s unloaded)
GIVE_UP_TIMEOUT = 6.0  # a probe that must not connect: how long it tries (cone: 0.6 s)
PASSPHRASE = "nat lab passphrase"
SYMMETRIC_WINDOW = 30.0  # seconds a symmetric pair must stay on Tor
ONE_SIDED_WINDOW = 10.0  # direct on one side only: watched this long (cone goes direct in ~2 s)
FALLBACK_TIMEOUT = 30.0  # expected ~10 s; generous for a loaded 2-core machine
PATH_EVENTS = frozenset({"path"})


@pytest.fixture
def lab(nat_lab: Lab) -> Iterator[Lab]:
    """The session's lab; every router back to a cone afterwards (tests pick their own)."""
    yield nat_lab
    for router in nat_lab.routers.values():
        router.set_behaviour("cone")


def nat(lab: Lab, a: Behaviour, b: Behaviour) -> None:
    lab.routers["a"].set_behaviour(a)
    lab.routers["b"].set_behaviour(b)


# --- part 1: the topology, with raw aiortc peers ------------------------------------------------


def run_probe(
    lab: Lab, tmp_path: Path, offer: str, answer: str, ice: list[str], timeout: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run nat_probe's two roles in their hosts' namespaces; both JSON reports."""
    exchange = tmp_path / f"probe-{offer}-{answer}"
    exchange.mkdir()
    ice_args = [arg for url in ice for arg in ("--ice", url)]
    procs = [
        subprocess.Popen(
            [
                *lab.hosts[host].exec_prefix(),
                sys.executable,
                "-m",
                "tests.nat_probe",
                "--role",
                role,
                "--exchange",
                str(exchange),
                "--timeout",
                str(timeout),
                *ice_args,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host, role in ((offer, "offer"), (answer, "answer"))
    ]
    reports = []
    try:
        for proc in procs:
            # The probe bounds itself; this bound only catches a probe that hangs anyway.
            out, err = proc.communicate(timeout=timeout + 60)
            assert proc.returncode == 0, err
            reports.append(json.loads(out.splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"\n[natlab] probe {offer} -> {answer} {ice}: {reports}")
    return reports[0], reports[1]


def test_cone_nats_with_stun_connect_via_server_reflexive_candidates(
    lab: Lab, tmp_path: Path
) -> None:
    nat(lab, "cone", "cone")
    assert lab.stun is not None
    offer, answer = run_probe(lab, tmp_path, "a1", "b1", [lab.stun.url], CONNECT_TIMEOUT)
    assert offer["connected"] and answer["connected"], lab.describe()
    assert "srflx" in offer["gathered"] and "srflx" in answer["gathered"]
    # The other side is seen at its NAT's public address (its own LAN address is unreachable).
    assert offer["remote_candidate"] in ("srflx", "prflx")
    assert offer["remote_address"].startswith(lab.routers["b"].wan_address + ":")
    assert answer["remote_address"].startswith(lab.routers["a"].wan_address + ":")


def test_cone_nats_without_stun_cannot_connect(lab: Lab, tmp_path: Path) -> None:
    """Host candidates alone don't cross NATs: STUN is what makes the cone case work."""
    nat(lab, "cone", "cone")
    offer, answer = run_probe(lab, tmp_path, "a1", "b1", [], GIVE_UP_TIMEOUT)
    assert offer["gathered"] == ["host"]
    assert not offer["connected"] and not answer["connected"]


def test_symmetric_nats_never_connect_and_the_probe_gives_up_in_time(
    lab: Lab, tmp_path: Path
) -> None:
    nat(lab, "symmetric", "symmetric")
    assert lab.stun is not None
    offer, answer = run_probe(lab, tmp_path, "a1", "b1", [lab.stun.url], GIVE_UP_TIMEOUT)
    assert "srflx" in offer["gathered"]  # STUN works; the mapping just differs per destination
    assert not offer["connected"] and not answer["connected"], lab.describe()
    assert offer["seconds"] < GIVE_UP_TIMEOUT + 10


def test_blocked_udp_never_connects(lab: Lab, tmp_path: Path) -> None:
    nat(lab, "udp_blocked", "cone")
    assert lab.stun is not None
    offer, answer = run_probe(lab, tmp_path, "a1", "b1", [lab.stun.url], GIVE_UP_TIMEOUT)
    assert offer["gathered"] == ["host"]  # not even STUN gets through
    assert not offer["connected"] and not answer["connected"]


def test_same_lan_connects_via_host_candidates_without_stun(lab: Lab, tmp_path: Path) -> None:
    offer, answer = run_probe(lab, tmp_path, "a1", "a2", [], CONNECT_TIMEOUT)
    assert offer["connected"] and answer["connected"], lab.describe()
    assert (offer["local_candidate"], offer["remote_candidate"]) == ("host", "host")
    assert offer["remote_address"].startswith(lab.hosts["a2"].address + ":")


def test_a_crashed_runs_lab_is_removed_by_the_next_one(tmp_path: Path, nat_lab: Lab) -> None:
    """kill -9 a process that built a lab with coturn: its namespaces, root veth and coturn
    are gone after ``remove_leftovers()`` (which every new Lab runs first)."""
    script = (
        "import sys, time; from pathlib import Path; from tests import netns\n"
        "lab = netns.Lab(Path(sys.argv[1])); lab.add_host('h', lab.add_router('r'))\n"
        "stun = lab.start_stun(); print(lab.id, stun.proc.pid, flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        lab_id, coturn_pid = proc.stdout.readline().split()
    finally:
        proc.kill()
        proc.wait()
    assert any(name.startswith(lab_id) for name in netns_names())
    removed = remove_leftovers()
    assert f"{lab_id}-pub" in removed and f"{lab_id}-nat-r" in removed and f"{lab_id}-h" in removed
    assert not any(name.startswith(lab_id) for name in netns_names())
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert lab_id not in links
    assert not pid_alive(int(coturn_pid))
    assert not any(name.startswith(nat_lab.id) for name in removed)  # live labs stay


def netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _tcp_connect(host: Host, address: str, port: int) -> str:
    """Connect from inside ``host``'s namespace: "ok" or the error's name."""

    def attempt() -> str:
        with socket.socket() as sock:
            sock.settimeout(10)
            try:
                sock.connect((address, port))
            except OSError as exc:
                return type(exc).__name__
            return "ok"

    return run_in(host.ns, attempt)


def test_namespaces_reach_the_tor_network_through_their_nat_and_not_the_host(
    lab: Lab, nat_tor_network: TorNetwork
) -> None:
    nat(lab, "symmetric", "udp_blocked")  # TCP must pass whatever the NAT does to UDP
    routers = nat_tor_network.nodes
    with socket.create_server(("127.0.0.1", 0)) as host_loopback:
        loopback_port = host_loopback.getsockname()[1]
        for host in lab.hosts.values():
            for router in routers:
                assert _tcp_connect(host, lab.root_address, router.or_port) == "ok"
                assert _tcp_connect(host, lab.root_address, router.dir_port) == "ok"
            # 127.0.0.1 in a namespace is its own loopback: the host's listeners (our test
            # server, every tor's control port) are out of reach.
            assert _tcp_connect(host, "127.0.0.1", loopback_port) == "ConnectionRefusedError"
            assert _tcp_connect(host, "127.0.0.1", routers[0].control_port) != "ok"
    # Nothing is routed beyond the public segment (asked of the routing table: no packet).
    for router in lab.routers.values():
        done = subprocess.run(
            ["ip", "-n", router.ns, "route", "get", "198.51.100.1"], capture_output=True
        )
        assert done.returncode != 0, done.stdout


def test_the_root_namespace_sees_lab_traffic_as_coming_from_the_nat(lab: Lab) -> None:
    """MASQUERADE really rewrites: the public side sees the router's WAN address."""
    nat(lab, "cone", "symmetric")
    with socket.create_server((lab.root_address, 0)) as server:
        server.settimeout(30)
        port = server.getsockname()[1]
        for host in (lab.hosts["a1"], lab.hosts["b1"]):
            assert _tcp_connect(host, lab.root_address, port) == "ok"
            conn, (peer, _) = server.accept()
            conn.close()
            assert peer == host.router.wan_address


# --- part 2: Libra nodes behind the NATs --------------------------------------------------------


async def make_pair(
    lab: Lab,
    tor: TorNetwork,
    tmp_path: Path,
    hosts: tuple[str, str],
    *,
    direct: tuple[str, str] | None,
    stun: bool = True,
) -> tuple[NodeProcess, NodeProcess]:
    """alice on ``hosts[0]``, bob on ``hosts[1]``, contacts of each other, not started.

    ``direct``: each side's `libra-cli direct <other> ...` policy (None: leave the default).
    """
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE + "\n")
    torrc = tmp_path / "torrc-extra"
    torrc.write_text("\n".join(tor.client_torrc_lines()) + "\n")
    names = ("alice", "bob")
    for name in names:
        data = tmp_path / name
        await cli("init", "--data-dir", data, "--passphrase-file", secret, "--name", name)
        card = tmp_path / f"{name}.card"
        await cli("export-card", "--data-dir", data, "--passphrase-file", secret, "--out", card)
    for name, other in (names, names[::-1]):
        card = tmp_path / f"{other}.card"
        await cli("add-card", "--data-dir", tmp_path / name, "--passphrase-file", secret, card)
    nodes = []
    for i, (name, other) in enumerate((names, names[::-1])):
        data = tmp_path / name
        if direct is not None:
            reply = await cli(
                "direct", other, direct[i], "--data-dir", data, "--passphrase-file", secret
            )
            assert reply["ok"], reply
            if direct[i] == "on":
                assert "warning" in json.dumps(reply).lower(), reply  # the IP-address warning
        args = ["--passphrase-file", str(secret), "--torrc-extra", str(torrc)]
        if stun:
            assert lab.stun is not None
            args += ["--stun", lab.stun.url]
        nodes.append(NodeProcess(name, data, args, netns=lab.hosts[hosts[i]].ns))
    return nodes[0], nodes[1]


@contextlib.asynccontextmanager
async def running(*nodes: NodeProcess) -> AsyncIterator[None]:
    """Start the nodes, wait until their Tor link is up, stop them afterwards."""
    ups = [node.link_up() for node in nodes]
    try:
        await asyncio.gather(*(node.start() for node in nodes))
        await asyncio.gather(
            *(node.wait_event(up, 180) for node, up in zip(nodes, ups, strict=True))
        )
        yield
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                await node.stop()


def path_events(node: NodeProcess, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in node.events[since:] if e["event"] in PATH_EVENTS]


async def wait_path(
    node: NodeProcess, states: set[str], timeout: float, since: int = 0
) -> dict[str, Any]:
    """The first ``path`` event in one of ``states`` printed after event number ``since``."""

    def match(event: dict[str, Any]) -> bool:
        return (
            event["event"] in PATH_EVENTS
            and event["state"] in states
            and any(e is event for e in node.events[since:])
        )

    return await node.wait_event(match, timeout)


async def exchange(
    a: NodeProcess, b: NodeProcess, count: int, tag: str, timeout: float = 180
) -> None:
    """``count`` messages each way, concurrently; each side gets them exactly once, in order."""
    to_b = [f"{tag} a->b {i}" for i in range(count)]
    to_a = [f"{tag} b->a {i}" for i in range(count)]

    async def send_all(node: NodeProcess, contact: str, texts: list[str]) -> None:
        for text in texts:
            assert (await node.send(contact, text))["ok"]

    await asyncio.gather(send_all(a, "bob", to_b), send_all(b, "alice", to_a))
    await asyncio.gather(
        wait_inbound(b, "alice", to_b, timeout), wait_inbound(a, "bob", to_a, timeout)
    )


async def wait_inbound(
    node: NodeProcess, contact: str, expected: list[str], timeout: float = 180
) -> None:
    """Until ``node`` holds exactly ``expected`` (once each, in order) among the inbound
    messages with their tag; other batches may interleave."""
    tag = expected[0].rsplit(" ", 1)[0] + " "
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[str] = []
    while loop.time() < deadline:
        history = await node.history(contact)
        got = [m["body"] for m in history if m["direction"] == "in"]
        got = [body for body in got if body.startswith(tag)]
        if len(got) >= len(expected):
            break
        await asyncio.sleep(0.5)
    assert got == expected, (
        f"{node.name}: {len(got)} of {len(expected)} {tag!r} messages: {got[-3:]}"
    )


async def test_cone_nats_with_stun_go_direct_and_deliver_exactly_once(
    lab: Lab, nat_tor_network: TorNetwork, tmp_path: Path
) -> None:
    nat(lab, "cone", "cone")
    alice, bob = await make_pair(lab, nat_tor_network, tmp_path, ("a1", "b1"), direct=("on", "on"))
    async with running(alice, bob):
        for node in (alice, bob):
            event = await wait_path(node, {"direct"}, 120)
            # Through NATs: the pair's local side is a host candidate (aioice pairs the
            # server-reflexive candidate's base), its remote side srflx or prflx.
            assert event["candidate"] in ("srflx", "prflx"), event
        marks = len(alice.events), len(bob.events)
        await exchange(alice, bob, 50, "direct")
        # Stayed direct the whole time.
        assert path_events(alice, marks[0]) == [] and path_events(bob, marks[1]) == []


async def test_symmetric_nats_stay_on_tor_and_never_hang(
    lab: Lab, nat_tor_network: TorNetwork, tmp_path: Path
) -> None:
    nat(lab, "symmetric", "symmetric")
    alice, bob = await make_pair(lab, nat_tor_network, tmp_path, ("a1", "b1"), direct=("on", "on"))
    async with running(alice, bob):
        # Messages flow over Tor the whole time ICE is (hopelessly) trying.
        loop = asyncio.get_running_loop()
        end = loop.time() + SYMMETRIC_WINDOW
        round_ = 0
        while loop.time() < end:
            round_ += 1
            await exchange(alice, bob, 3, f"sym{round_}", timeout=60)
        for node in (alice, bob):
            states = [e["state"] for e in path_events(node)]
            assert "direct" not in states, states
            assert node.proc is not None and node.proc.returncode is None


async def test_same_lan_goes_direct_via_host_candidates(
    lab: Lab, nat_tor_network: TorNetwork, tmp_path: Path
) -> None:
    alice, bob = await make_pair(
        lab, nat_tor_network, tmp_path, ("a1", "a2"), direct=("on", "on"), stun=False
    )
    async with running(alice, bob):
        for node in (alice, bob):
            event = await wait_path(node, {"direct"}, 120)
            assert event["candidate"] == "host", event
        await exchange(alice, bob, 10, "lan")


async def test_direct_allowed_on_one_side_only_stays_on_tor_without_any_udp(
    lab: Lab, nat_tor_network: TorNetwork, tmp_path: Path
) -> None:
    nat(lab, "cone", "cone")
    alice, bob = await make_pair(lab, nat_tor_network, tmp_path, ("a1", "b1"), direct=("on", "off"))
    bob_host = lab.hosts["b1"]
    sent_before = bob_host.udp_datagrams_sent()
    async with running(alice, bob):
        # Long enough for a direct attempt to have started if it were going to.
        loop = asyncio.get_running_loop()
        end = loop.time() + ONE_SIDED_WINDOW
        round_ = 0
        while loop.time() < end:
            round_ += 1
            await exchange(alice, bob, 2, f"half{round_}", timeout=60)
            # No UDP socket at all in bob's namespace (bob's node, and its tor, which uses none).
            assert bob_host.udp_sockets() == [], bob_host.udp_sockets()
        for node in (alice, bob):
            states = {e["state"] for e in path_events(node)}
            assert not states & {"connecting-direct", "direct", "fallback"}, states
    assert bob_host.udp_datagrams_sent() == sent_before


async def test_failover_to_tor_when_udp_dies_and_back_to_direct(
    lab: Lab, nat_tor_network: TorNetwork, tmp_path: Path
) -> None:
    nat(lab, "cone", "cone")
    router = lab.routers["a"]
    alice, bob = await make_pair(lab, nat_tor_network, tmp_path, ("a1", "b1"), direct=("on", "on"))
    to_b: list[str] = []
    to_a: list[str] = []
    stop_sending = asyncio.Event()

    async def keep_sending() -> None:
        """Both ways, one message each per round, until told to stop."""
        i = 0
        while not stop_sending.is_set():
            to_b.append(f"flow a->b {i}")
            to_a.append(f"flow b->a {i}")
            results = await asyncio.gather(alice.send("bob", to_b[-1]), bob.send("alice", to_a[-1]))
            assert all(r["ok"] for r in results)
            i += 1
            await asyncio.sleep(0.1)  # pacing only: correctness never depends on it

    async with running(alice, bob):
        await asyncio.gather(*(wait_path(n, {"direct"}, 120) for n in (alice, bob)))
        sender = asyncio.create_task(keep_sending())
        try:
            await exchange(alice, bob, 5, "warmup")
            marks = len(alice.events), len(bob.events)
            router.drop_udp()
            t0 = time.monotonic()
            try:
                await asyncio.gather(
                    wait_path(alice, {"fallback", "tor"}, FALLBACK_TIMEOUT, marks[0]),
                    wait_path(bob, {"fallback", "tor"}, FALLBACK_TIMEOUT, marks[1]),
                )
                print(f"\n[natlab] fell back to Tor {time.monotonic() - t0:.1f} s after UDP died")
                await exchange(alice, bob, 5, "over tor")
            finally:
                marks = len(alice.events), len(bob.events)
                router.drop_udp(False)
            await asyncio.gather(
                wait_path(alice, {"direct"}, 180, marks[0]),
                wait_path(bob, {"direct"}, 180, marks[1]),
            )
            await exchange(alice, bob, 5, "direct again")
        finally:
            stop_sending.set()
            await sender
        await asyncio.gather(wait_inbound(bob, "alice", to_b), wait_inbound(alice, "bob", to_a))
