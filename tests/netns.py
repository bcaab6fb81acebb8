"""A NAT lab in Linux network namespaces: a public segment, NAT routers, LAN hosts, coturn.

The direct path (WebRTC/ICE) must be tested through real NATs, so this builds them from real
kernel parts: namespaces, veth pairs, bridges and iptables (nf_tables) MASQUERADE. Topology
(``X`` is a free second octet, chosen per lab; see docs/testing.md, "The NAT lab")::

    root namespace (pytest, the private Tor network)  10.X.0.254  veth "lbr<pid>x<n>"
        |
    <id>-pub: bridge "pub" 10.X.0.1 (coturn STUN :3478), the public segment
        |                                  |
    <id>-nat-a: wan 10.X.0.11            <id>-nat-b: wan 10.X.0.12        NAT routers
                lan 10.X.1.1 (bridge)                lan 10.X.2.1 (bridge)
        |              |                       |
    <id>-a1 10.X.1.2   <id>-a2 10.X.1.3      <id>-b1 10.X.2.2                LAN hosts

Safety: everything is on private addresses; routers have no default route, so nothing from
a namespace can go further than the public segment (the root namespace only *receives* on its
veth, it never forwards for us). Bridges live inside our namespaces, so the host's iptables
(docker's FORWARD DROP, br_netfilter) never see lab traffic, and no host rule or sysctl is
touched. Names carry the creating pid, so leftovers of a crashed run are recognised and
removed by the next one. Plain synchronous code, like tests/tornet.py.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

IP = shutil.which("ip") or "/usr/sbin/ip"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"

PREFIX = "lbr"  # every namespace and root interface we create starts with "lbr<pid>x<n>"
NAME_RE = re.compile(rf"^{PREFIX}(\d+)x\d+")
LOCK_FILE = Path("/run/lock/libra-netns.lock")
STUN_PORT = 3478
ROOT_HOST = 254  # the root namespace's address on the public segment: 10.X.0.254
SECOND_OCTETS = range(200, 255)  # the public segment is 10.X.0.0/24, LAN n is 10.X.n.0/24
CLONE_NEWNET = 0x40000000
STOP_GRACE_SECONDS = 5.0

Behaviour = Literal["cone", "symmetric", "udp_blocked"]
T = TypeVar("T")


class NetnsError(RuntimeError):
    """A namespace, link or rule could not be set up; the message has the command's stderr."""


# --- small helpers ---------------------------------------------------------------------------


def _run(*cmd: str, ns: str | None = None, stdin: str | None = None) -> str:
    """Run ``cmd`` (inside ``ns`` if given); raise NetnsError with stderr on failure."""
    full = [*exec_prefix(ns), *cmd] if ns else list(cmd)
    done = subprocess.run(full, input=stdin, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise NetnsError(f"{' '.join(full)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def exec_prefix(ns: str) -> list[str]:
    """The argv prefix that runs a command inside namespace ``ns``."""
    return [IP, "netns", "exec", ns]


def run_in(ns: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` on a fresh thread switched into ``ns``: sockets it opens live there.

    setns(CLONE_NEWNET) only moves the calling thread, so the test process stays in the root
    namespace; a socket keeps its namespace for life and may be used from any thread after.
    """
    result: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{ns}", "rb") as handle:
                if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)

    thread = threading.Thread(target=work, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


@cache
def unavailable_reason() -> str | None:
    """Why namespaces can't be used here (checked once), or None if they can.

    Only a lack of permission is a reason to skip; missing iptables or coturn on a machine
    that may create namespaces is a setup error and fails loudly later.
    """
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not Path(IP).exists():
        return "network namespaces need the ip command (iproute2)"
    probe = f"{PREFIX}{os.getpid()}x0-probe"
    try:
        _run(IP, "netns", "add", probe)
    except (NetnsError, OSError) as exc:
        return f"creating a network namespace is not permitted here: {exc}"
    with contextlib.suppress(NetnsError):
        _run(IP, "netns", "del", probe)
    return None


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (dead, not yet reaped) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_namespace(ns: str) -> None:
    """SIGKILL every process still inside ``ns``, then delete it (its veths go with it)."""
    with contextlib.suppress(NetnsError):
        for pid in _run(IP, "netns", "pids", ns).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        try:
            if not _run(IP, "netns", "pids", ns).split():
                break
        except NetnsError:
            break
        time.sleep(0.05)
    with contextlib.suppress(NetnsError):
        _run(IP, "netns", "del", ns)


def remove_leftovers() -> list[str]:
    """Delete namespaces and root interfaces of dead processes' labs; return their names.

    Only names of our own pattern whose creating pid is gone are touched.
    """
    removed: list[str] = []
    for ns in _run(IP, "netns", "list").split("\n"):
        name = ns.split(" ")[0]
        match = NAME_RE.match(name)
        if match and not pid_alive(int(match.group(1))):
            _kill_namespace(name)
            removed.append(name)
    for line in _run(IP, "-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        match = NAME_RE.match(name)
        if match and not pid_alive(int(match.group(1))):
            with contextlib.suppress(NetnsError):
                _run(IP, "link", "del", name)
            removed.append(name)
    return removed


def _taken_networks() -> list[ipaddress.IPv4Network]:
    """Networks the root namespace already uses (addresses and routes of /16 or narrower).

    A covering route such as 10.0.0.0/8 doesn't count: our /24 is more specific and wins.
    """
    taken: list[ipaddress.IPv4Network] = []
    for line in _run(IP, "-4", "-o", "addr", "show").splitlines():
        taken.append(ipaddress.ip_interface(line.split()[3]).network)
    for line in _run(IP, "-4", "route", "show", "table", "all").splitlines():
        words = line.split()
        destination = words[1] if words[0] in ("local", "broadcast", "unreachable") else words[0]
        with contextlib.suppress(ValueError):  # "default"
            net = ipaddress.ip_network(destination, strict=False)
            if net.prefixlen >= 16:
                taken.append(net)
    return taken


def stun_binding_ok(address: str, port: int = STUN_PORT, timeout: float = 0.5) -> bool:
    """Send one STUN Binding request; True if a Binding success response came back."""
    txn = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + txn
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (address, port))
            data = sock.recv(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == txn


# --- the lab ----------------------------------------------------------------------------------

# Router rules, as iptables-restore input. "cone": endpoint-independent mapping with
# address-and-port-dependent filtering (a port-restricted cone). Unsolicited inbound packets
# are dropped on the WAN side *before* conntrack confirms them: otherwise a peer's early
# hole-punch packet leaves a conntrack entry that makes MASQUERADE pick another port for our
# own outgoing packet to that peer, and ICE fails even between cone NATs (design.md §11).
_FILTER = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
{udp_drop}-A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -i wan -j DROP
-A FORWARD -i lan -o wan -j ACCEPT
-A FORWARD -i lan -o lan -j ACCEPT
-A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o wan -j MASQUERADE{random}
COMMIT
"""
UDP_DROP_RULE = ("FORWARD", "-p", "udp", "-j", "DROP")


def nat_rules(behaviour: Behaviour) -> str:
    """The router's whole filter + nat tables for ``behaviour``."""
    if behaviour not in ("cone", "symmetric", "udp_blocked"):
        raise ValueError(f"unknown NAT behaviour {behaviour!r}")
    return _FILTER.format(
        # "symmetric": a fresh random port per destination (endpoint-dependent mapping).
        random=" --random-fully" if behaviour == "symmetric" else "",
        udp_drop=f"-A {' '.join(UDP_DROP_RULE)}\n" if behaviour == "udp_blocked" else "",
    )


@dataclass
class NatRouter:
    """A NAT router namespace: ``wan`` on the public segment, bridge ``lan`` for its hosts."""

    name: str
    ns: str
    wan_address: str
    lan: ipaddress.IPv4Network
    behaviour: Behaviour = "cone"
    hosts: list[Host] = field(default_factory=list)

    @property
    def lan_address(self) -> str:
        return str(self.lan.network_address + 1)

    def set_behaviour(self, behaviour: Behaviour) -> None:
        """Replace the router's rules atomically (existing conntrack entries stay)."""
        _run(IPTABLES + "-restore", ns=self.ns, stdin=nat_rules(behaviour))
        self.behaviour = behaviour

    def drop_udp(self, drop: bool = True) -> None:
        """Insert (or remove) a rule dropping all forwarded UDP, e.g. to break a live path."""
        rule = UDP_DROP_RULE
        if drop:
            _run(IPTABLES, "-I", rule[0], "1", *rule[1:], ns=self.ns)
        else:
            _run(IPTABLES, "-D", *rule, ns=self.ns)

    def rules(self) -> str:
        """The live rules with packet counters (for debugging a failed test)."""
        return _run(IPTABLES + "-save", "-c", ns=self.ns)


@dataclass
class Host:
    """A LAN host namespace behind ``router`` (default route via it)."""

    name: str
    ns: str
    address: str
    router: NatRouter

    def exec_prefix(self) -> list[str]:
        return exec_prefix(self.ns)

    def udp_sockets(self) -> list[str]:
        """``ss -uanp`` lines of every UDP socket in this namespace (any process)."""
        return _run("ss", "-uanpH", ns=self.ns).splitlines()

    def udp_datagrams_sent(self) -> int:
        """The namespace's UDP OutDatagrams counter (/proc/net/snmp is per namespace)."""
        lines = [ln.split() for ln in _run("cat", "/proc/net/snmp", ns=self.ns).splitlines()]
        header, values = (ln for ln in lines if ln[0] == "Udp:")
        return int(values[header.index("OutDatagrams")])


@dataclass
class StunServer:
    """coturn answering STUN Binding requests on the public segment."""

    address: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        """``stun:host:port``, the form aiortc and Libra's ``--stun`` take."""
        return f"stun:{self.address}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_GRACE_SECONDS)


class Lab:
    """A public segment plus NAT routers and hosts, built in the constructor's order of calls.

    Use as a context manager (or call ``close()``): it removes every namespace it made, and
    on entry also removes what a crashed earlier run left behind.
    """

    _count = 0

    def __init__(self, base_dir: Path) -> None:
        Lab._count += 1
        self.id = f"{PREFIX}{os.getpid()}x{Lab._count}"
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.namespaces: list[str] = []
        self.routers: dict[str, NatRouter] = {}
        self.hosts: dict[str, Host] = {}
        self.stun: StunServer | None = None
        self.public_ns = f"{self.id}-pub"
        self.root_link = self.id  # <= 15 characters: "lbr" + pid (<= 7 digits) + "x" + n
        self._root_link_made = False
        self.public = ipaddress.ip_network("10.0.0.0/24")  # replaced in _build_public
        atexit.register(self.close)  # backstop if a fixture's teardown never runs
        try:
            self._build_public()
        except BaseException:
            self.close()
            raise

    # -- addresses --------------------------------------------------------------------------

    @property
    def public_address(self) -> str:
        """The public namespace's address on the segment (coturn listens here)."""
        return str(self.public.network_address + 1)

    @property
    def root_address(self) -> str:
        """The root namespace's address on the segment: run the Tor network here."""
        return str(self.public.network_address + ROOT_HOST)

    # -- building ---------------------------------------------------------------------------

    def _new_namespace(self, ns: str, *, forward: bool = False) -> None:
        """An empty namespace: lo up, no IPv6, loose rp_filter, bridges not hooked into
        iptables (br_netfilter's sysctls are per namespace; ``-e``: absent is fine)."""
        _run(IP, "netns", "add", ns)
        self.namespaces.append(ns)
        _run(
            "sysctl",
            "-qe",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            f"net.ipv4.ip_forward={int(forward)}",
            "net.bridge.bridge-nf-call-iptables=0",
            "net.bridge.bridge-nf-call-arptables=0",
            ns=ns,
        )
        _run(IP, "-n", ns, "link", "set", "lo", "up")

    def _bridge(self, ns: str, name: str, address: str, prefixlen: int) -> None:
        _run(IP, "-n", ns, "link", "add", name, "type", "bridge")
        _run(IP, "-n", ns, "addr", "add", f"{address}/{prefixlen}", "dev", name)
        _run(IP, "-n", ns, "link", "set", name, "up")

    def _veth(self, ns: str | None, name: str, bridge_ns: str, port: str, bridge: str) -> None:
        """A veth from ``ns`` (None: root) into a bridge port ``port`` in ``bridge_ns``."""
        where = ["-n", ns] if ns else []
        _run(
            IP,
            *where,
            "link",
            "add",
            name,
            "type",
            "veth",
            "peer",
            "name",
            port,
            "netns",
            bridge_ns,
        )
        _run(IP, "-n", bridge_ns, "link", "set", port, "master", bridge, "up")
        _run(IP, *where, "link", "set", name, "up")

    def _build_public(self) -> None:
        remove_leftovers()
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        with LOCK_FILE.open("a") as lock:
            # Serialise choosing a subnet against parallel runs (e.g. another pytest).
            fcntl.flock(lock, fcntl.LOCK_EX)
            taken = _taken_networks()
            for octet in SECOND_OCTETS:
                candidate = ipaddress.ip_network(f"10.{octet}.0.0/24")
                if not any(candidate.overlaps(net) for net in taken):
                    self.public = candidate
                    break
            else:
                raise NetnsError("no free 10.X.0.0/24 for the NAT lab")
            self._new_namespace(self.public_ns)
            self._bridge(self.public_ns, "pub", self.public_address, 24)
            self._veth(None, self.root_link, self.public_ns, "root", "pub")
            self._root_link_made = True
            _run(IP, "addr", "add", f"{self.root_address}/24", "dev", self.root_link)

    def add_router(self, name: str, behaviour: Behaviour = "cone") -> NatRouter:
        """A NAT router with its WAN on the public segment and an empty LAN bridge."""
        index = len(self.routers) + 1
        ns = f"{self.id}-nat-{name}"
        wan = str(self.public.network_address + 10 + index)
        lan = ipaddress.ip_network(f"{self.public.network_address + 256 * index}/24")
        router = NatRouter(name, ns, wan, lan)
        self._new_namespace(ns, forward=True)
        self._veth(ns, "wan", self.public_ns, f"r{index}", "pub")
        _run(IP, "-n", ns, "addr", "add", f"{wan}/24", "dev", "wan")
        self._bridge(ns, "lan", router.lan_address, 24)
        # No default route: packets for anything beyond the public segment die here.
        router.set_behaviour(behaviour)
        self.routers[name] = router
        return router

    def add_host(self, name: str, router: NatRouter) -> Host:
        """A host on ``router``'s LAN, default route via the router."""
        ns = f"{self.id}-{name}"
        address = str(router.lan.network_address + 2 + len(router.hosts))
        host = Host(name, ns, address, router)
        self._new_namespace(ns)
        self._veth(ns, "eth0", router.ns, f"h{len(router.hosts)}", "lan")
        _run(IP, "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _run(IP, "-n", ns, "route", "add", "default", "via", router.lan_address)
        router.hosts.append(host)
        self.hosts[name] = host
        return host

    def start_stun(self, timeout: float = 30) -> StunServer:
        """coturn (STUN only) in the public namespace; waits until it answers a Binding request."""
        if self.stun is not None:
            raise RuntimeError("this lab already runs coturn")
        log_path = self.base_dir / "coturn.log"
        stdout_path = self.base_dir / "coturn.stdout"
        cmd = [
            TURNSERVER,
            "-n",
            "--stun-only",
            f"--listening-ip={self.public_address}",
            f"--listening-port={STUN_PORT}",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--no-software-attribute",
            f"--pidfile={self.base_dir / 'coturn.pid'}",
            f"--userdb={self.base_dir / 'turndb'}",  # not /var/lib/turn
            f"--log-file={log_path}",
            "--simple-log",
        ]
        with stdout_path.open("wb") as stdout:
            proc = subprocess.Popen(
                [*exec_prefix(self.public_ns), *cmd],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.stun = StunServer(self.public_address, STUN_PORT, proc, log_path)
        deadline = time.monotonic() + timeout
        while not stun_binding_ok(self.public_address):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = stdout_path.read_text(errors="replace")[-2000:]
                raise NetnsError(f"coturn did not answer STUN (exit {proc.poll()}): {tail}")
            time.sleep(0.1)  # an ICMP "port unreachable" makes the probe return at once
        return self.stun

    # -- teardown ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop coturn, kill whatever still runs in our namespaces, delete them. Idempotent."""
        if self.stun is not None:
            self.stun.stop()
            self.stun = None
        for ns in reversed(self.namespaces):
            _kill_namespace(ns)
        self.namespaces.clear()
        if self._root_link_made:
            with contextlib.suppress(NetnsError):
                _run(IP, "link", "del", self.root_link)  # normally gone with the public ns
            self._root_link_made = False

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """Namespaces, addresses and router rules with counters, for failure messages."""
        parts = [f"lab {self.id}: public {self.public}, root {self.root_address}"]
        for router in self.routers.values():
            parts.append(f"router {router.name} ({router.behaviour}) wan {router.wan_address}")
            parts.append(router.rules())
        parts += [f"host {h.name} {h.address} behind {h.router.name}" for h in self.hosts.values()]
        return "\n".join(parts)


@contextlib.contextmanager
def standard_lab(base_dir: Path) -> Iterator[Lab]:
    """Routers ``a`` and ``b`` (cone until told otherwise), hosts ``a1``, ``a2`` behind ``a``
    and ``b1`` behind ``b``, and coturn (STUN) on the public segment."""
    with Lab(base_dir) as lab:
        a, b = lab.add_router("a"), lab.add_router("b")
        lab.add_host("a1", a)
        lab.add_host("a2", a)
        lab.add_host("b1", b)
        lab.start_stun()
        yield lab
