"""TorManager against real tor processes (``DisableNetwork 1`` or a dead bridge: no network).

Launch, control, ADD_ONION with our keys, client auth, kill -9 and restart, stop, typed errors
(missing binary, bad torrc line, stuck bootstrap, auth failures, giving up), attach mode, and
one end-to-end test on the private Tor network (the ``tor_network`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from libra_gui.core.crypto.onion import ClientAuthKey, OnionKeyError, OnionServiceKey
from libra_gui.core.net.tor import (
    ControlEndpoint,
    SocksError,
    TorBootstrap,
    TorBootstrapStuck,
    TorConfigError,
    TorControlAuthError,
    TorControlError,
    TorDied,
    TorError,
    TorEvent,
    TorFailed,
    TorManager,
    TorNotFound,
    TorNotRunning,
    TorRestarted,
    TorRestarting,
    TorSettings,
    TorStopped,
    open_stream,
)
from libra_gui.core.net.tor import binary as tor_binary
from libra_gui.core.net.tor.manager import _add_onion_command, parse_kwargs

pytestmark = pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")

TOR = shutil.which("tor") or "/usr/sbin/tor"
OFFLINE = ["DisableNetwork 1"]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Recorder:
    """Collects TorManager events and lets a test await one."""

    def __init__(self) -> None:
        self.events: list[TorEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: TorEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, kind: type[TorEvent], timeout: float = 20) -> TorEvent:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if isinstance(event, kind):
                        return event
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type[TorEvent]) -> list[TorEvent]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "tor"


@pytest.fixture
async def manager(data_dir: Path) -> AsyncIterator[tuple[TorManager, Recorder]]:
    rec = Recorder()
    m = TorManager(
        TorSettings(data_dir=data_dir, extra_torrc=OFFLINE, restart_backoff=0.1),
        on_event=rec,
    )
    await m.start(wait_bootstrap=False)
    try:
        yield m, rec
    finally:
        await m.stop()


def make_wrapper(path: Path, body: str) -> Path:
    """A shell script standing in for tor: saves the torrc from stdin to ``$cfg``, runs
    ``body`` (which may exit), then execs the real tor with the torrc on stdin again."""
    path.write_text(
        "#!/bin/sh\n"
        'cfg=$(mktemp); cat > "$cfg"\n'
        f"{body}\n"
        'exec 0<"$cfg"; rm -f "$cfg"\n'
        f'exec {TOR} "$@"\n'
    )
    path.chmod(0o755)
    return path


# --- finding tor ------------------------------------------------------------------------------


def test_configured_path_is_used_or_refused(tmp_path):
    assert tor_binary.find_tor(Path(TOR)) == Path(TOR)
    with pytest.raises(TorNotFound, match=r"Settings → Tor \(.*\) does not exist"):
        tor_binary.find_tor(tmp_path / "no-such-tor")
    (tmp_path / "plain").write_text("")
    with pytest.raises(TorNotFound, match="not an executable"):
        tor_binary.find_tor(tmp_path / "plain")


def test_search_order(tmp_path, monkeypatch):
    """Bundled (frozen app first, then next to the package), then PATH, then /usr/sbin."""

    def bundled(root: Path) -> Path:
        exe = root / "bundled_tor" / tor_binary.platform_dir() / "tor"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
        return exe

    frozen, beside = bundled(tmp_path / "meipass"), bundled(tmp_path / "checkout")
    monkeypatch.setattr(tor_binary, "_PACKAGE_PARENT", tmp_path / "checkout")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "meipass"), raising=False)
    assert tor_binary.find_tor() == frozen
    monkeypatch.delattr(sys, "_MEIPASS")
    assert tor_binary.find_tor() == beside
    monkeypatch.setattr(tor_binary, "_PACKAGE_PARENT", tmp_path / "nothing")
    monkeypatch.setenv("PATH", str(Path(TOR).parent))
    assert tor_binary.find_tor() == Path(TOR)
    monkeypatch.setenv("PATH", str(tmp_path))  # not on PATH: /usr/sbin is still searched
    assert tor_binary.find_tor() == Path("/usr/sbin/tor")
    monkeypatch.setattr(tor_binary, "_SYSTEM_DIRS", ())
    with pytest.raises(TorNotFound, match=r"Reinstall Libra.*apt install tor.*Settings → Tor"):
        tor_binary.find_tor()


async def test_missing_binary_is_a_typed_error(data_dir):
    m = TorManager(TorSettings(data_dir=data_dir, tor_path=data_dir / "tor.exe"))
    with pytest.raises(TorNotFound, match="Choose the tor program"):
        await m.start()
    assert not m.running and m.pid is None


# --- configuration errors ---------------------------------------------------------------------


async def test_bad_torrc_line_quotes_tor(data_dir):
    m = TorManager(TorSettings(data_dir=data_dir, extra_torrc=["UseBridges 1", "Bogus 1"]))
    with pytest.raises(TorConfigError, match="Unknown option 'Bogus'") as info:
        await m.start()
    assert "Settings → Tor" in str(info.value)
    assert "Bogus" in info.value.tor_message
    assert m.pid is None and not (data_dir / "control.sock").exists()


async def test_bad_option_value_quotes_tor(data_dir):
    m = TorManager(TorSettings(data_dir=data_dir, extra_torrc=["Bridge obfs4 not-an-address"]))
    with pytest.raises(TorConfigError, match="Bridge"):
        await m.start()


@pytest.mark.parametrize(
    "line, text",
    [
        ("ControlPort 9051", "changes ControlPort, which Libra manages"),
        ("  datadirectory /tmp/x", "changes datadirectory"),
        ("Sandbox 0", "Settings → Tor → Sandbox"),
        ("UseBridges 1\nControlPort 9051", "own line"),
    ],
)
async def test_managed_options_refused(data_dir, line, text):
    m = TorManager(TorSettings(data_dir=data_dir, extra_torrc=[line]))
    with pytest.raises(TorConfigError, match=text):
        await m.start()


async def test_comments_and_blank_lines_are_fine(data_dir):
    m = TorManager(TorSettings(data_dir=data_dir, extra_torrc=["# bridges", "", *OFFLINE]))
    await m.start(wait_bootstrap=False)
    await m.stop()


# --- the main lifecycle -----------------------------------------------------------------------


async def test_lifecycle_with_kill_9_restart(manager, data_dir):
    m, rec = manager
    pid = m.pid
    assert pid is not None and pid_alive(pid) and m.running
    assert m.sandboxed  # Sandbox 1 works on this Linux
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert (data_dir / "control.sock").exists()  # unix control socket on Linux
    assert not (data_dir / "torrc").exists()  # the torrc went in on stdin
    assert (await m.get_info("version")).startswith("0.4.")
    assert m.bootstrap.percent == 0

    seed = os.urandom(32)
    client = ClientAuthKey.generate()
    address = await m.add_onion(seed, 9878, 45678, client_auth_v3=[client.public_b32])
    assert address == OnionServiceKey.from_seed(seed).address
    assert m.pow_supported is True
    plain = await m.add_onion(None, 80, 45679)  # a random key we can read back
    assert OnionServiceKey.from_expanded(m.onion_key(plain)).address == plain
    other_service = OnionServiceKey.from_seed(os.urandom(32)).address
    await m.add_client_auth(other_service, ClientAuthKey.generate().private_b64)
    assert set((await m.get_info("onions/current")).split()) == {address, plain}

    os.kill(pid, signal.SIGKILL)
    restarted = await rec.wait_for(TorRestarted)
    assert restarted == TorRestarted(attempt=1, onion_services=2, client_auth_keys=1)
    restarting = rec.of(TorRestarting)[0]
    assert restarting.attempt == 1
    assert "exit" in restarting.reason or "closed" in restarting.reason
    new_pid = m.pid
    assert new_pid is not None and new_pid != pid and pid_alive(new_pid)
    assert set((await m.get_info("onions/current")).split()) == {address, plain}
    assert m._conn is not None
    view = await m._conn.request("ONION_CLIENT_AUTH_VIEW")
    assert any(other_service in text for _c, _d, text in view.lines)

    await m.remove_onion(plain)
    assert (await m.get_info("onions/current")).split() == [address]
    await m.stop()
    assert isinstance(rec.events[-1], TorStopped)
    assert not pid_alive(new_pid) and m.pid is None and not m.running
    with pytest.raises(TorNotRunning):
        await m.get_info("version")
    await m.stop()  # idempotent


async def test_client_list_update_and_errors(manager):
    m, _rec = manager
    a, b = ClientAuthKey.generate(), ClientAuthKey.generate()
    seed = os.urandom(32)
    address = await m.add_onion(seed, 1, 2, client_auth_v3=[a.public_b32])
    await m.set_onion_clients(address, [a.public_b32, b.public_b32.lower(), b.public_b32])
    assert m._onions[address].client_auth_v3 == (a.public_b32, b.public_b32)
    assert (await m.get_info("onions/current")).split() == [address]
    with pytest.raises(TorError, match="already running"):
        await m.add_onion(seed, 1, 2)
    with pytest.raises(TorError, match="client authorization key"):
        await m.add_onion(None, 1, 2, client_auth_v3=["A" * 52 + " Port=1,1.2.3.4:5"])
    with pytest.raises(TypeError):
        await m.add_onion(None, 1, 2, client_auth_v3=a.public_b32)
    with pytest.raises(ValueError):
        await m.add_onion(None, 0, 2)
    with pytest.raises(OnionKeyError):
        await m.add_client_auth("not-an-onion", a.private_b64)
    with pytest.raises(OnionKeyError):
        await m.add_client_auth(address, "bad key")
    with pytest.raises(TorNotRunning, match="no SOCKS listener"):
        await m.socks_endpoint()  # DisableNetwork: tor opens no SOCKS listener
    await m.new_identity()
    await m.remove_client_auth(address)  # nothing to remove: fine


async def test_require_client_auth_without_clients(manager):
    """An inbox with no contacts yet must still be closed: tor gets a throwaway key."""
    m, _rec = manager
    address = await m.add_onion(None, 1, 2, require_client_auth=True)
    spec = m._onions[address]
    command = _add_onion_command(spec, use_pow=False)
    assert "V3Auth" in command and command.count("ClientAuthV3=") == 1
    public = _add_onion_command(replace(spec, require_client_auth=False), False)
    assert "V3Auth" not in public and "ClientAuthV3" not in public
    key = ClientAuthKey.generate()
    await m.set_onion_clients(address, [key.public_b32])
    command = _add_onion_command(m._onions[address], use_pow=False)
    assert command.endswith(f"ClientAuthV3={key.public_b32}")
    assert (await m.get_info("onions/current")).split() == [address]


async def test_pow_options_reach_tor(manager):
    """tor 0.4.9 takes PoWDefensesEnabled/PoWQueueRate/PoWQueueBurst on ADD_ONION."""
    m, _rec = manager
    address = await m.add_onion(None, 1, 2, pow_queue_rate=50, pow_queue_burst=100)
    assert m.pow_supported is True
    assert address in await m.get_info("onions/current")
    # tor validates the values, so they are parsed, not ignored:
    assert m._conn is not None
    key = OnionServiceKey.from_seed(os.urandom(32))
    reply = await m._conn.request(f"ADD_ONION {key.blob} PoWDefensesEnabled=2 Port=1,127.0.0.1:2")
    assert reply.code == 512 and "PoWDefensesEnabled" in reply.message


async def test_bootstrap_stuck_with_network_disabled(data_dir):
    m = TorManager(TorSettings(data_dir=data_dir, extra_torrc=OFFLINE, bootstrap_timeout=1))
    try:
        with pytest.raises(TorBootstrapStuck, match="DisableNetwork 1 is set") as info:
            await m.start()
        assert info.value.percent == 0
        assert m.running  # tor keeps running: the caller decides
    finally:
        await m.stop()


async def test_bootstrap_stuck_reports_tor_warning(data_dir):
    """A dead bridge: tor warns "Connection refused"; the error quotes it and gives advice."""
    rec = Recorder()
    settings = TorSettings(
        data_dir=data_dir, extra_torrc=["UseBridges 1", "Bridge 127.0.0.1:1"], bootstrap_timeout=2
    )
    m = TorManager(settings, on_event=rec)
    try:
        with pytest.raises(TorBootstrapStuck) as info:
            await m.start()
        text = str(info.value)
        assert "bridges.torproject.org" in text and "Connection refused" in text
        progress = rec.of(TorBootstrap)
        assert progress and progress[-1].warning and info.value.warning
        # With the network on, tor has a SOCKS port and reports bad onion addresses (0xF6).
        host, port = await m.socks_endpoint()
        with pytest.raises(SocksError) as bad:
            await open_stream(host, port, "a" * 56 + ".onion", 80, isolation="t", timeout=10)
        assert bad.value.code == 0xF6 and not bad.value.retryable
    finally:
        await m.stop()


def test_parse_kwargs():
    line = 'PROGRESS=5 TAG=conn SUMMARY="Connecting to a \\"relay\\"" WARNING="x=y z" HOSTADDR='
    assert parse_kwargs(line) == {
        "PROGRESS": "5",
        "TAG": "conn",
        "SUMMARY": 'Connecting to a "relay"',
        "WARNING": "x=y z",
        "HOSTADDR": "",
    }


# --- supervision edge cases -------------------------------------------------------------------


async def test_sandbox_refused_falls_back(tmp_path, data_dir, caplog):
    """A tor that cannot start with Sandbox 1 is retried without it, and we say why."""
    fake = make_wrapper(
        tmp_path / "fake-tor",
        'case "$*" in *--verify-config*) ;; *)\n'
        '  if grep -q \'^Sandbox 1\' "$cfg"; then rm -f "$cfg"\n'
        '    echo "Nov 22 00:00:00.000 [err] Sandbox: seccomp is not available here"; exit 1\n'
        "  fi ;;\nesac",
    )
    m = TorManager(TorSettings(data_dir=data_dir, tor_path=fake, extra_torrc=OFFLINE))
    with caplog.at_level("WARNING"):
        await m.start(wait_bootstrap=False)
    try:
        assert m.running and not m.sandboxed
        assert "seccomp is not available" in caplog.text
    finally:
        await m.stop()


async def test_gives_up_after_max_restarts(tmp_path, data_dir):
    """tor dies and every restart fails: TorFailed event, then TorDied from every call."""
    flag = tmp_path / "broken"
    fake = make_wrapper(
        tmp_path / "fake-tor",
        f'case "$*" in *--verify-config*) ;; *) [ -e {flag} ] && '
        '{ rm -f "$cfg"; echo "[err] simulated crash"; exit 1; } ;; esac',
    )
    rec = Recorder()
    settings = TorSettings(
        data_dir=data_dir, tor_path=fake, extra_torrc=OFFLINE, max_restarts=2, restart_backoff=0.05
    )
    m = TorManager(settings, on_event=rec)
    await m.start(wait_bootstrap=False)
    try:
        pid = m.pid
        assert pid is not None
        flag.touch()
        os.kill(pid, signal.SIGKILL)
        failed = await rec.wait_for(TorFailed)
        assert "could not be restarted after 2 attempts" in failed.message
        assert "simulated crash" in failed.message
        assert [e.attempt for e in rec.of(TorRestarting)] == [1, 2]
        assert [e.delay for e in rec.of(TorRestarting)] == [0.05, 0.1]
        with pytest.raises(TorDied, match="Restart Libra"):
            await m.get_info("version")
        with pytest.raises(TorDied):
            await m.add_onion(None, 1, 2)
        with pytest.raises(TorDied):
            await m.wait_bootstrapped(1)
    finally:
        await m.stop()
    # After stop, a fresh start works again.
    flag.unlink()
    await m.start(wait_bootstrap=False)
    assert m.running
    await m.stop()


async def test_add_onion_during_restart_waits_and_survives(manager):
    m, rec = manager
    pid = m.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    seed = os.urandom(32)
    address = await m.add_onion(seed, 1, 2)  # races the restart; must end up added
    await rec.wait_for(TorRestarted)
    assert address in (await m.get_info("onions/current")).split()


async def test_hung_tor_is_replaced(data_dir):
    """A tor that stops answering (SIGSTOP) is killed and replaced; the call that noticed
    it waits for the new tor and succeeds."""
    rec = Recorder()
    settings = TorSettings(
        data_dir=data_dir, extra_torrc=OFFLINE, control_timeout=1, restart_backoff=0.05
    )
    m = TorManager(settings, on_event=rec)
    await m.start(wait_bootstrap=False)
    try:
        address = await m.add_onion(None, 1, 2)
        pid = m.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        assert (await m.get_info("onions/current")).split() == [address]
        assert "did not answer" in rec.of(TorRestarting)[0].reason
        assert m.pid != pid and not pid_alive(pid)
    finally:
        await m.stop()


async def test_halt_stops_a_tor_that_ignores_sigterm(tmp_path, data_dir):
    """stop() uses SIGNAL HALT first: a tor that ignores SIGTERM still stops at once."""
    fake = make_wrapper(tmp_path / "fake-tor", "trap '' TERM")
    m = TorManager(TorSettings(data_dir=data_dir, tor_path=fake, extra_torrc=OFFLINE))
    await m.start(wait_bootstrap=False)
    pid = m.pid
    assert pid is not None
    t0 = time.monotonic()
    await m.stop()
    assert time.monotonic() - t0 < 2.5 and not pid_alive(pid)


# --- attach mode ------------------------------------------------------------------------------


@contextlib.contextmanager
def own_tor(base: Path, *lines: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A tor we start ourselves (as a user would) with a TCP control port."""
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    port_file = base / "port"
    torrc = [
        f"DataDirectory {base / 'data'}",
        "ControlPort auto",
        f"ControlPortWriteToFile {port_file}",
        "SocksPort 0",
        "DisableNetwork 1",
        f"Log notice file {base / 'tor.log'}",
        # Our pid: plain stem would then take ownership on its own and the tor would exit
        # when we detach; the adapter must not (test_attach_with_cookie checks it survives).
        f"__OwningControllerProcess {os.getpid()}",
        *lines,
    ]
    proc = subprocess.Popen(
        [TOR, "--defaults-torrc", str(base / "none"), "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    proc.stdin.write("\n".join(torrc).encode())
    proc.stdin.close()
    try:
        deadline = time.monotonic() + 20
        while not (port_file.exists() and "PORT=" in port_file.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        port = int(port_file.read_text().strip().rsplit(":", 1)[1])
        yield proc, port
    finally:
        proc.kill()
        proc.wait()


async def test_attach_with_cookie(tmp_path):
    with own_tor(tmp_path / "own", "CookieAuthentication 1") as (proc, port):
        rec = Recorder()
        settings = TorSettings(
            data_dir=tmp_path / "unused",
            attach=ControlEndpoint(port=port),
            max_restarts=1,
            restart_backoff=0.05,
        )
        m = TorManager(settings, on_event=rec)
        await m.start(wait_bootstrap=False)
        assert m.attached and m.pid is None and m.running
        key = ClientAuthKey.generate()
        address = await m.add_onion(None, 1, 2, client_auth_v3=[key.public_b32])
        assert (await m.get_info("onions/current")).split() == [address]
        await m.add_client_auth(address, key.private_b64)
        await m.stop()
        assert proc.poll() is None  # we never stop a tor we did not start
        assert not (tmp_path / "unused").exists()

        # The attached tor dies: reconnecting fails, and the error says what to do.
        await m.start(wait_bootstrap=False)
        proc.kill()
        failed = await rec.wait_for(TorFailed)
        assert "Start that tor again" in failed.message
        with pytest.raises(TorDied):
            await m.get_info("version")
        await m.stop()


async def test_attach_with_password(tmp_path):
    hashed = subprocess.run(
        [TOR, "--quiet", "--hash-password", "correct horse"], capture_output=True, text=True
    ).stdout.strip()
    with own_tor(tmp_path / "own", f"HashedControlPassword {hashed}") as (_proc, port):

        def manager(password: str | None) -> TorManager:
            endpoint = ControlEndpoint(port=port, password=password)
            assert "correct" not in repr(endpoint)
            return TorManager(TorSettings(data_dir=tmp_path / "x", attach=endpoint))

        with pytest.raises(TorControlAuthError, match="rejected the control password"):
            await manager("wrong").start(wait_bootstrap=False)
        with pytest.raises(TorControlAuthError, match="requires a password"):
            await manager(None).start(wait_bootstrap=False)
        m = manager("correct horse")
        await m.start(wait_bootstrap=False)
        assert (await m.get_info("version")).startswith("0.4.")
        await m.stop()


async def test_attach_unreachable(tmp_path):
    endpoint = ControlEndpoint(socket_path=tmp_path / "nothing.sock")
    m = TorManager(TorSettings(data_dir=tmp_path, attach=endpoint))
    with pytest.raises(TorControlError, match="Is tor running") as info:
        await m.start()
    assert not isinstance(info.value, TorControlAuthError)
    with pytest.raises(ValueError):
        ControlEndpoint()


# --- end to end on the private Tor network ----------------------------------------------------


async def serve_echo() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def connect_with_retry(m: TorManager, address: str, port: int, isolation: str):
    """Connect through tor, retrying only what a fresh service legitimately answers (0xF0
    until the descriptor reaches the HSDirs, 0xF2/0xF3/0xF7 on a flaky first circuit)."""
    host, socks_port = await m.socks_endpoint()
    deadline = time.monotonic() + 30
    while True:
        try:
            return await open_stream(
                host, socks_port, address + ".onion", port, isolation=isolation, timeout=15
            )
        except SocksError as exc:
            if not exc.retryable or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_end_to_end_client_auth_on_private_network(tor_network, tmp_path):
    """Two managers on the private network (tests/conftest.py): alice's client-authorized
    service, bob without the key, with it, with a wrong one."""
    lines = tor_network.client_torrc_lines()
    alice_events = Recorder()
    alice = TorManager(
        TorSettings(data_dir=tmp_path / "alice", extra_torrc=lines, bootstrap_timeout=60),
        on_event=alice_events,
    )
    bob = TorManager(
        TorSettings(data_dir=tmp_path / "bob", extra_torrc=lines, bootstrap_timeout=60)
    )
    server, target = await serve_echo()
    try:
        await asyncio.gather(alice.start(), bob.start())
        assert alice.bootstrap.percent == 100 and alice_events.of(TorBootstrap)[-1].percent == 100
        bob_key = ClientAuthKey.generate()
        address = await alice.add_onion(
            os.urandom(32), 9878, target, client_auth_v3=[bob_key.public_b32]
        )
        closed = await alice.add_onion(None, 9878, target, require_client_auth=True)
        assert await alice.wait_published(address, 30)
        assert await alice.wait_published(closed, 30)

        # Without the key: tor says "missing client authorization" (0xF4), not retryable.
        with pytest.raises(SocksError) as missing:
            await connect_with_retry(bob, address, 9878, "alice")
        assert missing.value.code == 0xF4 and not missing.value.retryable
        # A closed service with nobody authorized yet looks the same to a stranger.
        with pytest.raises(SocksError) as stranger:
            await connect_with_retry(bob, closed, 9878, "closed")
        assert stranger.value.code == 0xF4

        await bob.add_client_auth(address, bob_key.private_b64)
        reader, writer = await connect_with_retry(bob, address, 9878, "alice")
        writer.write(b"hello over tor")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(14), 15) == b"hello over tor"
        writer.close()

        # NEWNYM makes tor forget non-permanent client-auth keys; the manager re-adds them.
        await bob.new_identity()
        reader, writer = await connect_with_retry(bob, address, 9878, "alice-newnym")
        writer.write(b"still allowed")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(13), 15) == b"still allowed"
        writer.close()

        # A key the service does not know (tor may keep an already-decrypted descriptor
        # after NEWNYM, so the wrong key is tried on the service bob never reached).
        await bob.add_client_auth(closed, ClientAuthKey.generate().private_b64)
        with pytest.raises(SocksError) as wrong:
            await connect_with_retry(bob, closed, 9878, "closed-2")
        assert wrong.value.code in (0xF4, 0xF5) and not wrong.value.retryable
    finally:
        server.close()
        await asyncio.gather(alice.stop(), bob.stop())


def test_a_bundled_tor_gets_its_geoip_files_from_its_manifest(tmp_path):
    """bundled_tor/fetch.py writes MANIFEST.json next to tor; the geoip databases it names
    become GeoIPFile lines (quoted when the path has spaces); other tors get none."""
    from libra_gui.core.net.tor.binary import geoip_lines

    bundle = tmp_path / "Program Files" / "linux-x86_64"
    bundle.mkdir(parents=True)
    tor = bundle / "tor"
    tor.write_bytes(b"")
    assert geoip_lines(tor) == []  # no manifest: a system tor finds its own
    (bundle / "geoip").write_text("x")
    (bundle / "MANIFEST.json").write_text(
        json.dumps({"geoip": "geoip", "geoip6": "geoip6", "tor": "tor"})
    )
    assert geoip_lines(tor) == [f'GeoIPFile "{bundle / "geoip"}"']  # geoip6 is missing
    (bundle / "geoip6").write_text("x")
    assert len(geoip_lines(tor)) == 2
    (bundle / "MANIFEST.json").write_text(json.dumps({"geoip": "../../etc/passwd"}))
    assert geoip_lines(tor) == []  # names only, never paths out of the bundle
    (bundle / "MANIFEST.json").write_text("{not json")
    assert geoip_lines(tor) == []
