"""A real private Tor network on 127.0.0.1 (or another local address), for tests and benchmarks.

Three directory authorities and a few relays from the system ``tor`` binary, configured like the
Tor Project's chutney (``TestingTorNetwork 1``, short voting intervals, forced flags), so onion
services, client authorization and reconnects are exercised against real tor, not a mock.
See docs/testing.md for why each option is there, timings and how to debug a failed start.

Plain synchronous subprocess management on purpose: it is used from pytest fixtures and from
``bench/`` alike, and must not depend on an event loop. Nothing leaves the chosen address:
routers listen and publish only there (127.0.0.1 unless ``TorNetwork(address=...)`` says
otherwise, e.g. a NAT lab's public segment, tests/netns.py); control and SOCKS ports always stay
on 127.0.0.1; no IPv6, no DNS, no public fallback directories, no exit relays.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import stem.control

TOR = shutil.which("tor") or "/usr/sbin/tor"
TOR_GENCERT = shutil.which("tor-gencert") or "/usr/bin/tor-gencert"

LOOPBACK = "127.0.0.1"
# Flags every router needs in the consensus before the network is usable for onion services:
# Stable matters most (intro/HSDir circuits want it; design.md §11), HSDir to store descriptors.
REQUIRED_FLAGS = frozenset({"Running", "Valid", "Fast", "Stable", "Guard", "HSDir"})
# Seconds from launching the routers to the first consensus's valid-after time. Each router
# takes ~2 s (2 busy cores) to start and upload its descriptor; authorities vote 2 s before
# valid-after. Too short only costs one more 5 s round.
FIRST_CONSENSUS_AFTER = 5.0
STOP_GRACE_SECONDS = 5.0
PORT_RANGE_START = 20000
HUP_INTERVAL = 1.0
MD_CONSENSUS = "dir/status-vote/current/consensus-microdesc"
LOG_TAIL_LINES = 15


class TorNetworkError(RuntimeError):
    """The private network (or a client of it) failed; the message carries the log tails."""


class TorControlError(RuntimeError):
    """A control-port command was answered with an error status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


# --- process bookkeeping ------------------------------------------------------------------------

_live: dict[int, subprocess.Popen[bytes]] = {}
_live_lock = threading.Lock()


def _kill_leftovers() -> None:
    """atexit backstop: no tor we started may outlive this interpreter."""
    with _live_lock:
        procs = list(_live.values())
        _live.clear()
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)


atexit.register(_kill_leftovers)


def _free_ports(count: int, addresses: Iterable[str] = (LOOPBACK,)) -> list[int]:
    """Distinct ports free on every one of ``addresses`` now, from *below* the ephemeral range.

    Ports are chosen before tor binds them (authority ports go into every torrc). Outgoing
    connections (ours, or a parallel test run's) never take a port below the ephemeral range,
    so nothing grabs it in between; a bind test skips ports a server already listens on.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(PORT_RANGE_START, max(low, PORT_RANGE_START + 4 * count)))
    random.SystemRandom().shuffle(candidates)
    ports: list[int] = []
    for port in candidates:
        if all(_bindable(address, port) for address in addresses):
            ports.append(port)
        if len(ports) == count:
            return ports
    raise TorNetworkError("no free ports")


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a tor log, without our own control-connection chatter."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "    (no file)"
    text = [line for line in text if line and "New control connection opened" not in line]
    return "\n".join("    " + line for line in text[-lines:]) or "    (empty)"


def _launch(torrc: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start tor on ``torrc``; own session so a Ctrl-C to pytest doesn't half-stop the network."""
    stdout = (data_dir / "stdout.log").open("wb")
    try:
        proc = subprocess.Popen(
            [TOR, "-f", str(torrc), "--defaults-torrc", str(data_dir / "no-defaults")],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        stdout.close()
    with _live_lock:
        _live[proc.pid] = proc
    return proc


def _halt(
    proc: subprocess.Popen[bytes] | None, control_port: int | None, cookie_path: Path | None
) -> None:
    """Ask tor to stop: ``SIGNAL HALT`` (works even with ``Sandbox 1``), then SIGTERM."""
    if proc is None or proc.poll() is not None:
        return
    halted = False
    if control_port and cookie_path is not None:
        try:
            with _Control(control_port, cookie_path, timeout=2) as ctl:
                ctl.command("SIGNAL HALT")
            halted = True
        except (OSError, TorControlError):
            pass
    if not halted:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()


def _reap(proc: subprocess.Popen[bytes] | None, deadline: float) -> None:
    """Wait for ``proc`` until ``deadline``, then SIGKILL it; forget it either way."""
    if proc is None:
        return
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=5)
    with _live_lock:
        _live.pop(proc.pid, None)


# --- a minimal control-port client ----------------------------------------------------------------


class _Control:
    """Just enough of the control protocol for polling and signals; no threads, unlike stem."""

    def __init__(self, port: int, cookie_path: Path, timeout: float = 10) -> None:
        self._sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self._rfile = self._sock.makefile("rb")
        try:
            self.command("AUTHENTICATE " + cookie_path.read_bytes().hex())
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> _Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._rfile.close()
            self._sock.close()

    def _line(self) -> str:
        raw = self._rfile.readline()
        if not raw:
            raise ConnectionError("control connection closed")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def command(self, line: str) -> list[str]:
        """Send one command; return the reply lines (data blocks joined with newlines)."""
        self._sock.sendall(line.encode() + b"\r\n")
        out: list[str] = []
        while True:
            text = self._line()
            code, sep, rest = text[:3], text[3:4], text[4:]
            if sep == "+":
                data: list[str] = []
                while (item := self._line()) != ".":
                    data.append(item[1:] if item.startswith("..") else item)
                out.append(rest + "\n" + "\n".join(data))
            elif sep == "-":
                out.append(rest)
            else:
                if not code.startswith("2"):
                    raise TorControlError(code, rest)
                out.append(rest)
                return out

    def getinfo(self, key: str) -> str:
        first = self.command(f"GETINFO {key}")[0]
        value = first.removeprefix(f"{key}=")
        return value.removeprefix("\n")


class _Connections:
    """One lasting control connection per tor while polling (one per poll floods the logs)."""

    def __init__(self) -> None:
        self._open: dict[int, _Control] = {}

    def getinfo(self, port: int, cookie_path: Path, key: str) -> str | None:
        """The value, or None if tor isn't up yet or can't answer yet (e.g. 552, no consensus)."""
        ctl = self._open.get(port)
        try:
            if ctl is None:
                if not port or not cookie_path.exists():
                    return None
                ctl = self._open[port] = _Control(port, cookie_path, timeout=5)
            return ctl.getinfo(key)
        except TorControlError:
            return None
        except OSError:
            dead = self._open.pop(port, None)
            if dead is not None:
                dead.close()
            return None

    def close(self) -> None:
        for ctl in self._open.values():
            ctl.close()
        self._open.clear()


# --- the network ---------------------------------------------------------------------------------


@dataclass
class _Node:
    """One authority or relay of the network."""

    name: str
    authority: bool
    data_dir: Path
    or_port: int
    dir_port: int
    control_port: int
    fingerprint: str = ""
    v3ident: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def cookie_path(self) -> Path:
        return self.data_dir / "control_auth_cookie"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "notice.log"


@dataclass
class TorClient:
    """A plain client tor joined to the private network (baselines, strangers, test peers)."""

    name: str
    data_dir: Path
    socks_port: int = 0
    control_port: int = 0
    bootstrap_seconds: float = 0.0
    owner_pid: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def cookie_path(self) -> Path:
        return self.data_dir / "control_auth_cookie"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "notice.log"

    def controller(self) -> stem.control.Controller:
        """An authenticated stem controller (the caller closes it; use it as a context manager).

        stem sends TAKEOWNERSHIP when ``__OwningControllerProcess`` is its own pid, so closing
        the controller would stop this tor; hand ownership back to the pid watch instead.
        """
        from stem.control import Controller

        ctl = Controller.from_port(address=LOOPBACK, port=self.control_port)
        try:
            ctl.authenticate()  # cookie: stem finds its path via PROTOCOLINFO
            if self.owner_pid and not ctl.get_conf("__OwningControllerProcess", None):
                ctl.msg("DROPOWNERSHIP")
                ctl.set_conf("__OwningControllerProcess", str(self.owner_pid))
        except BaseException:
            ctl.close()
            raise
        return ctl

    def stop(self) -> None:
        """Stop this tor (``SIGNAL HALT``, then SIGKILL after a grace period). Idempotent."""
        _halt(self.proc, self.control_port, self.cookie_path)
        _reap(self.proc, time.monotonic() + STOP_GRACE_SECONDS)


class TorNetwork:
    """Directory authorities + relays on one local address, plus clients started on demand."""

    # Voting: a consensus every 5 s until there is one, then every 10 s. These are the lowest
    # values tor 0.4.9 accepts (delays >= 2 s; vote + dist delay < interval / 2).
    INITIAL_INTERVAL = 5
    VOTING = (
        "TestingV3AuthInitialVoteDelay 2",
        "TestingV3AuthInitialDistDelay 2",
        "V3AuthVotingInterval 10",
        "V3AuthVoteDelay 2",
        "V3AuthDistDelay 2",
        "V3AuthNIntervalsValid 2",
    )

    def __init__(
        self, base_dir: Path, *, authorities: int = 3, relays: int = 3, address: str = LOOPBACK
    ) -> None:
        """``address``: a local IPv4 address the routers listen on and publish (ORPort, DirPort,
        ``Address``, ``DirAuthority``). Another address than loopback lets tors in other network
        namespaces join (tests/netns.py); they reach nothing else of this host."""
        if authorities < 1 or relays < 3:
            # Authorities get no path weight, so the relays alone must make 3-hop paths.
            raise ValueError("need at least one authority and three relays")
        self.base_dir = Path(base_dir).resolve()
        self.n_authorities = authorities
        self.n_relays = relays
        self.address = address
        self.nodes: list[_Node] = []
        self.clients: list[TorClient] = []
        self.startup_seconds = 0.0
        self.keys_seconds = 0.0
        self.consensus_seconds = 0.0
        self._owner_pid = os.getpid()
        self._started = False

    # -- public API ---------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Create keys, start every authority and relay, wait until circuits can be built."""
        if self._started:
            raise RuntimeError("network already started")
        self._started = True
        t0 = time.monotonic()
        deadline = t0 + timeout
        try:
            self._prepare()
            self.keys_seconds = time.monotonic() - t0
            # Line the authorities' voting schedule up with *now*: the first vote falls just after
            # every relay has uploaded its descriptor, instead of 0-5 s later at a wall-clock
            # multiple of 5 s (tor's schedule is midnight + k * interval + offset).
            first_valid_after = math.ceil(time.time() + FIRST_CONSENSUS_AFTER)
            offset = first_valid_after % self.INITIAL_INTERVAL
            for node in self.nodes:
                torrc = node.data_dir / "torrc"
                torrc.write_text("\n".join(self._router_torrc(node, offset)) + "\n")
                node.proc = _launch(torrc, node.data_dir)
            with contextlib.closing(_Connections()) as conns:
                self._wait_consensus(conns, deadline)
                self.consensus_seconds = time.monotonic() - t0
                # The consensus exists; relays may sit in a fetch back-off after early 404s.
                # A HUP resets it (design.md §11).
                self._wait_dir_info(conns, deadline)
        except Exception as exc:
            detail = self._diagnose(self.nodes)
            self.stop()
            raise TorNetworkError(f"private Tor network failed to start: {exc}\n{detail}") from exc
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def client_torrc_lines(self) -> list[str]:
        """The torrc lines a client tor needs to join this network (Libra's extra torrc lines)."""
        if not self.nodes:
            raise RuntimeError("start() the network first")
        lines = ["TestingTorNetwork 1"]
        lines += [
            f"DirAuthority {n.name} orport={n.or_port} v3ident={n.v3ident} "
            f"{self.address}:{n.dir_port} {n.fingerprint}"
            for n in self.nodes
            if n.authority
        ]
        lines += [
            # Belt and braces: a custom DirAuthority already drops tor's built-in fallbacks.
            "UseDefaultFallbackDirs 0",
            # Ready only with > 2/3 of the path weight: all 3 relays' descriptors, not the
            # default 60 % (2 of 3, with which 3-hop paths can't be built).
            "PathsNeededToBuildCircuits 0.67",
            "ClientUseIPv6 0",
        ]
        return lines

    def start_client(self, name: str, timeout: float = 60) -> TorClient:
        """Start a client tor on this network and wait for bootstrap 100 %."""
        return self.start_clients([name], timeout=timeout)[0]

    def start_clients(self, names: Iterable[str], timeout: float = 60) -> list[TorClient]:
        """Start several clients at once (they bootstrap in parallel) and wait for all."""
        t0 = time.monotonic()
        clients = [self._launch_client(name) for name in names]
        self.clients += clients
        deadline = t0 + timeout
        try:
            with contextlib.closing(_Connections()) as conns:
                for client in clients:
                    self._wait_client(conns, client, t0, deadline)
        except Exception as exc:
            detail = self._diagnose([], clients)
            for client in clients:
                client.stop()
            raise TorNetworkError(f"client tor failed to bootstrap: {exc}\n{detail}") from exc
        except BaseException:
            for client in clients:
                client.stop()
            raise
        return clients

    def stop(self) -> None:
        """Stop every client and router (in parallel: HALT all, then reap). Idempotent."""
        everyone: list[tuple[subprocess.Popen[bytes] | None, int, Path]] = [
            (c.proc, c.control_port, c.cookie_path) for c in self.clients
        ] + [(n.proc, n.control_port, n.cookie_path) for n in self.nodes]
        for proc, port, cookie in everyone:
            _halt(proc, port, cookie)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc, _, _ in everyone:
            _reap(proc, deadline)

    def __enter__(self) -> TorNetwork:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_paths(self) -> Iterator[Path]:
        """Every tor's notice log (routers then clients), for diagnosis."""
        for node in self.nodes:
            yield node.log_path
        for client in self.clients:
            yield client.log_path

    # -- setup ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Keys, fingerprints, bandwidth file and torrcs; gencert/list-fingerprint in parallel."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        total = self.n_authorities + self.n_relays
        ports = _free_ports(3 * total, {LOOPBACK, self.address})
        for i in range(total):
            authority = i < self.n_authorities
            name = f"auth{i}" if authority else f"relay{i - self.n_authorities}"
            data_dir = self.base_dir / name
            (data_dir / "keys").mkdir(mode=0o700, parents=True, exist_ok=True)
            data_dir.chmod(0o700)
            (data_dir / "no-defaults").touch()
            self.nodes.append(_Node(name, authority, data_dir, *ports[3 * i : 3 * i + 3]))
        # Relays here are not exits and so resolve nothing; an empty resolv.conf makes sure tor
        # never even learns a real (possibly public) nameserver (it falls back to 127.0.0.1).
        (self.base_dir / "resolv.conf").write_text("")

        passphrase = secrets.token_hex(16)
        jobs: list[tuple[_Node, str, subprocess.Popen[bytes]]] = []
        for node in self.nodes:
            if node.authority:
                keys = node.data_dir / "keys"
                gencert = subprocess.Popen(
                    [
                        TOR_GENCERT,
                        "--create-identity-key",
                        "--passphrase-fd",
                        "0",
                        "-i",
                        str(keys / "authority_identity_key"),
                        "-s",
                        str(keys / "authority_signing_key"),
                        "-c",
                        str(keys / "authority_certificate"),
                        "-m",
                        "12",
                        "-a",
                        f"{self.address}:{node.dir_port}",
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                assert gencert.stdin is not None
                gencert.stdin.write(passphrase.encode() + b"\n")
                gencert.stdin.close()
                jobs.append((node, "tor-gencert", gencert))
            fingerprint = subprocess.Popen(
                [
                    TOR,
                    "--ignore-missing-torrc",
                    "-f",
                    str(node.data_dir / "no-torrc"),
                    "--defaults-torrc",
                    str(node.data_dir / "no-defaults"),
                    "--DataDirectory",
                    str(node.data_dir),
                    "--Nickname",
                    node.name,
                    "--ORPort",
                    "1",
                    "--Log",
                    "err stdout",
                    "--list-fingerprint",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            jobs.append((node, "tor --list-fingerprint", fingerprint))
        for node, what, proc in jobs:
            assert proc.stdout is not None
            output = proc.stdout.read()
            proc.stdout.close()
            proc.wait(timeout=60)
            if proc.returncode != 0:
                raise TorNetworkError(f"{what} for {node.name} failed: {output.decode()[-2000:]}")

        for node in self.nodes:
            # data_dir/fingerprint holds "<nickname> <FINGERPRINT>".
            node.fingerprint = (node.data_dir / "fingerprint").read_text().split()[1]
            if node.authority:
                cert = (node.data_dir / "keys" / "authority_certificate").read_text()
                match = re.search(r"^fingerprint ([0-9A-F]{40})$", cert, re.MULTILINE)
                if match is None:
                    raise TorNetworkError(f"no fingerprint in {node.name}'s authority certificate")
                node.v3ident = match.group(1)

        # Equal measured weights: without them one relay ends up carrying every hop. (tor
        # ignores them for authorities, "MeasuredButAuthority": authorities get weight 0 and
        # carry no circuits; paths use the relays, authorities still serve as HSDirs.)
        bw = self.base_dir / "bandwidth"
        bw_lines = [str(int(time.time()))]
        bw_lines += [f"node_id=${n.fingerprint} bw=1000 nick={n.name}" for n in self.nodes]
        bw.write_text("\n".join(bw_lines) + "\n")

    def _common_lines(self, data_dir: Path, name: str) -> list[str]:
        """Lines every tor of ours gets: paths, logging, control, lifetime tied to our process."""
        return [
            f"DataDirectory {data_dir}",
            f"Nickname {name}",
            f"Log notice file {data_dir / 'notice.log'}",
            "SafeLogging 0",
            "LogTimeGranularity 1",
            "CookieAuthentication 1",
            # Exit when the process that started us dies (tor polls it), whatever way it dies.
            f"__OwningControllerProcess {self._owner_pid}",
            "ShutdownWaitLength 0",
        ]

    def _router_torrc(self, node: _Node, vote_offset: int) -> list[str]:
        lines = self.client_torrc_lines() + self._common_lines(node.data_dir, node.name)
        lines += [
            "SocksPort 0",
            f"ControlPort {LOOPBACK}:{node.control_port}",
            f"Address {self.address}",
            f"ORPort {self.address}:{node.or_port} IPv4Only",
            f"DirPort {self.address}:{node.dir_port}",
            # Publish at once instead of first testing our own reachability through the network.
            "AssumeReachable 1",
            f"ContactInfo {node.name}@test.invalid",
            # No DNS anywhere: no real nameserver, no hijack probes.
            f"ServerDNSResolvConfFile {self.base_dir / 'resolv.conf'}",
            "ServerDNSDetectHijacking 0",
            "ServerDNSAllowBrokenConfig 1",
            # No exit traffic at all: Libra only needs onion services. (The Exit flag is still
            # forced by the authorities; clients log "no exits in consensus", which is fine.)
            "ExitRelay 0",
            "ExitPolicy reject *:*",
        ]
        if node.authority:
            lines += [
                "AuthoritativeDirectory 1",
                "V3AuthoritativeDirectory 1",
                f"TestingV3AuthInitialVotingInterval {self.INITIAL_INTERVAL}",
                *self.VOTING,
                f"TestingV3AuthVotingStartOffset {vote_offset}",
                # Give every router the flags a real network would after days of uptime.
                "TestingDirAuthVoteExit *",
                "TestingDirAuthVoteGuard *",
                "TestingDirAuthVoteHSDir *",
                "TestingMinExitFlagThreshold 0",
                "AuthDirVoteStableGuaranteeMinUptime 0",
                "AuthDirVoteStableGuaranteeMTBF 0",
                f"V3BandwidthsFile {self.base_dir / 'bandwidth'}",
            ]
        return lines

    # -- waiting ---------------------------------------------------------------------------------

    def _check_alive(self, procs: Iterable[tuple[str, subprocess.Popen[bytes] | None]]) -> None:
        for name, proc in procs:
            if proc is not None and proc.poll() is not None:
                raise TorNetworkError(f"{name} exited with status {proc.returncode}")

    def _wait_consensus(self, conns: _Connections, deadline: float) -> None:
        """Until *every* authority serves a consensus listing every router with the needed flags.

        Each authority publishes on its own one-second tick; a relay HUPped before the last one
        has published gets a 404 from it and backs off again.
        """
        wanted = {n.name for n in self.nodes}
        pending = [n for n in self.nodes if n.authority]
        last = "no consensus yet"
        while True:
            self._check_alive((n.name, n.proc) for n in self.nodes)
            still: list[_Node] = []
            for auth in pending:
                text = conns.getinfo(
                    auth.control_port, auth.cookie_path, "dir/status-vote/current/consensus"
                )
                if text is None:
                    still.append(auth)
                    continue
                flags = _consensus_flags(text)
                missing = {name: sorted(REQUIRED_FLAGS - flags.get(name, set())) for name in wanted}
                missing = {k: v for k, v in missing.items() if v}
                if missing:
                    last = f"{auth.name}'s consensus lacks {missing}"
                    still.append(auth)
                elif conns.getinfo(auth.control_port, auth.cookie_path, MD_CONSENSUS) is None:
                    still.append(auth)  # published a moment after the ns flavour
            pending = still
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(last)
            time.sleep(0.1)

    def _wait_dir_info(self, conns: _Connections, deadline: float) -> None:
        """Until every router holds the consensus and enough descriptors to build circuits.

        Relays get a HUP first, and again every second while they lag: a fetch that was already
        in flight can still come back 404 after the first one and re-arm the back-off.
        """
        pending = list(self.nodes)
        next_hup = 0.0
        while True:
            self._check_alive((n.name, n.proc) for n in self.nodes)
            pending = [
                n
                for n in pending
                if conns.getinfo(n.control_port, n.cookie_path, "status/enough-dir-info") != "1"
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(n.name for n in pending)
                raise TimeoutError(f"not enough directory info on {names}")
            if time.monotonic() >= next_hup:
                for node in pending:
                    if not node.authority:
                        with _Control(node.control_port, node.cookie_path) as ctl:
                            ctl.command("SIGNAL RELOAD")
                next_hup = time.monotonic() + HUP_INTERVAL
            time.sleep(0.1)

    def _launch_client(self, name: str) -> TorClient:
        if not self.nodes:
            raise RuntimeError("start() the network first")
        if not re.fullmatch(r"[A-Za-z0-9]{1,16}", name):
            raise ValueError("client name must be 1-16 letters/digits (it becomes a nickname)")
        # The network lives for the whole session: a name used before gets a number.
        for n in range(1, 1000):
            unique = name if n == 1 else f"{name}{n}"
            data_dir = self.base_dir / f"client-{unique}"
            try:
                data_dir.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        else:
            raise ValueError(f"too many clients named {name!r}")
        name = unique
        (data_dir / "no-defaults").touch()
        lines = self.client_torrc_lines() + self._common_lines(data_dir, name)
        lines += [
            f"SocksPort {LOOPBACK}:auto ExtendedErrors",
            f"ControlPort {LOOPBACK}:auto",
            f"ControlPortWriteToFile {data_dir / 'control-port'}",
        ]
        torrc = data_dir / "torrc"
        torrc.write_text("\n".join(lines) + "\n")
        proc = _launch(torrc, data_dir)
        return TorClient(name=name, data_dir=data_dir, owner_pid=self._owner_pid, proc=proc)

    def _wait_client(
        self, conns: _Connections, client: TorClient, t0: float, deadline: float
    ) -> None:
        port_file = client.data_dir / "control-port"
        while True:
            self._check_alive([(client.name, client.proc)])
            if not client.control_port and port_file.exists():
                # ControlPortWriteToFile: "PORT=127.0.0.1:NNNN"
                match = re.search(r":(\d+)\s*$", port_file.read_text())
                client.control_port = int(match.group(1)) if match else 0
            phase = conns.getinfo(client.control_port, client.cookie_path, "status/bootstrap-phase")
            if phase is not None and "PROGRESS=100" in phase:
                socks = conns.getinfo(
                    client.control_port, client.cookie_path, "net/listeners/socks"
                )
                if socks:
                    client.socks_port = int(socks.strip('"').rsplit(":", 1)[1])
                    client.bootstrap_seconds = time.monotonic() - t0
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"client {client.name} did not reach bootstrap 100 %: {phase}")
            time.sleep(0.1)

    def _diagnose(self, nodes: Iterable[_Node], clients: Iterable[TorClient] = ()) -> str:
        """The tail of each tor's notice log (and of its stdout if it died or never logged)."""
        parts = []
        procs = [(n.name, n.data_dir, n.proc) for n in nodes]
        procs += [(c.name, c.data_dir, c.proc) for c in clients]
        procs.sort(key=lambda p: p[2] is None or p[2].poll() is None)  # dead ones first
        for name, data_dir, proc in procs:
            notice = data_dir / "notice.log"
            status = "" if proc is None or proc.poll() is None else f" (exited {proc.returncode})"
            parts.append(f"--- {name}{status}: {notice}\n{_tail(notice)}")
            if status or not notice.exists():
                stdout = data_dir / "stdout.log"
                parts.append(f"--- {name}: {stdout}\n{_tail(stdout)}")
        return "\n".join(parts)


def _consensus_flags(consensus: str) -> dict[str, set[str]]:
    """Nickname -> flags from a network-status document ("r" line, then its "s" line)."""
    flags: dict[str, set[str]] = {}
    current = None
    for line in consensus.splitlines():
        if line.startswith("r "):
            current = line.split()[1]
        elif line.startswith("s ") and current is not None:
            flags[current] = set(line.split()[1:])
            current = None
    return flags


# --- SOCKS5 (for raw baselines and tests) -------------------------------------------------------

# tor's SOCKS5 reply codes; 0xF0-0xF7 need ``SocksPort ... ExtendedErrors``.
SOCKS_ERRORS = {
    0x01: "general failure",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired (circuit timed out)",
    0xF0: "onion service descriptor not found",
    0xF1: "onion service descriptor invalid",
    0xF2: "onion service introduction failed",
    0xF3: "onion service rendezvous failed",
    0xF4: "onion service missing client authorization",
    0xF5: "onion service wrong client authorization",
    0xF6: "invalid onion service address",
    0xF7: "onion service introduction timed out",
}
# Worth retrying while a fresh descriptor propagates to the HSDirs or circuits settle.
SOCKS_TRANSIENT = frozenset({0x01, 0x04, 0x06, 0xF0, 0xF2, 0xF3, 0xF7})


class SocksError(OSError):
    """tor refused a SOCKS5 CONNECT; ``code`` is the reply byte (see SOCKS_ERRORS)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"SOCKS5 error 0x{code:02X}: {SOCKS_ERRORS.get(code, 'unknown')}")
        self.code = code


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("SOCKS proxy closed the connection")
        buf += chunk
    return buf


def socks_connect(socks_port: int, host: str, port: int, timeout: float = 120) -> socket.socket:
    """One SOCKS5 CONNECT through tor (hostname sent to tor, never resolved locally)."""
    sock = socket.create_connection((LOOPBACK, socks_port), timeout=timeout)
    try:
        sock.sendall(b"\x05\x01\x00")
        if _recv_exact(sock, 2) != b"\x05\x00":
            raise ConnectionError("SOCKS proxy wants authentication")
        name = host.encode("ascii")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + port.to_bytes(2, "big"))
        reply = _recv_exact(sock, 4)
        if reply[1] != 0:
            raise SocksError(reply[1])
        skip = {1: 4, 4: 16}.get(reply[3])
        if skip is None:
            skip = _recv_exact(sock, 1)[0]
        _recv_exact(sock, skip + 2)
        return sock
    except BaseException:
        sock.close()
        raise


def connect_onion(
    client: TorClient, onion: str, port: int, timeout: float = 60
) -> tuple[socket.socket, list[int]]:
    """Connect to ``onion`` through ``client``, retrying transient errors until ``timeout``.

    Returns the socket and the SOCKS error codes seen on the way (for timing reports).
    Non-transient errors (e.g. 0xF4 missing client auth) are raised at once.
    """
    host = onion if onion.endswith(".onion") else onion + ".onion"
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while True:
        try:
            return socks_connect(client.socks_port, host, port, timeout=timeout), seen
        except SocksError as exc:
            if exc.code not in SOCKS_TRANSIENT or time.monotonic() > deadline:
                raise
            seen.append(exc.code)
        time.sleep(0.25)
