"""TorManager: run (or attach to) tor, track bootstrap, own onion services, keep tor alive.

One object per profile. It launches tor with Libra's torrc (or attaches to a running tor),
reports bootstrap progress, adds ephemeral onion services from keys we keep, adds client
authorization keys for our contacts' services, and supervises tor: if tor dies or its control
connection breaks, it restarts it with exponential backoff and re-adds everything it had,
because ephemeral state lives only as long as the control connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import nacl.utils
from nacl.public import PrivateKey

from ...crypto.onion import (
    OnionKeyError,
    OnionServiceKey,
    client_auth_public_b32,
    normalize_onion_address,
    parse_client_auth_private_b64,
    parse_client_auth_public_b32,
)
from .binary import find_tor, geoip_lines
from .control import ConnectionLost, ControlConnection
from .errors import (
    TorBootstrapStuck,
    TorConfigError,
    TorControlError,
    TorDied,
    TorError,
    TorNotRunning,
    TorStartFailed,
)
from .events import TorBootstrap, TorEvent, TorFailed, TorRestarted, TorRestarting, TorStopped
from .settings import ControlEndpoint, TorSettings
from .torrc import (
    DEFAULTS_FILE_NAME,
    LOG_FILE_NAME,
    OUTPUT_FILE_NAME,
    ControlPlan,
    build_torrc,
    check_extra_lines,
    is_config_complaint,
    mentions_sandbox,
    plan_control,
    tor_complaint,
)

log = logging.getLogger(__name__)

# A tor that ran this long before dying was healthy: its death starts a fresh backoff series.
STABLE_UPTIME = 60.0
HALT_GRACE = 5.0
KILL_GRACE = 3.0
_KWARG = re.compile(r'([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


@dataclass(frozen=True)
class _OnionSpec:
    """Everything needed to (re-)add one ephemeral onion service."""

    key: OnionServiceKey = field(repr=False)
    virtual_port: int
    target_port: int
    client_auth_v3: tuple[str, ...]
    require_client_auth: bool
    max_streams: int | None
    max_streams_close_circuit: bool
    pow_defenses: bool
    pow_queue_rate: int | None
    pow_queue_burst: int | None


def parse_kwargs(text: str) -> dict[str, str]:
    """``KEY=value KEY="quoted \\"value\\""`` pairs of a control-protocol line."""
    out: dict[str, str] = {}
    for key, value in _KWARG.findall(text):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key] = value
    return out


class TorManager:
    """Async owner of one tor (launched or attached). See the module docstring.

    ``on_event`` receives :class:`TorEvent` objects on the event loop (bootstrap progress,
    restarts, failure, stop); the composition root forwards them to the EventBus.
    """

    def __init__(
        self, settings: TorSettings, *, on_event: Callable[[TorEvent], None] | None = None
    ) -> None:
        self._settings = settings
        self._on_event = on_event
        self._state = "new"  # new, starting, running, restarting, failed, stopping, stopped
        self._proc: subprocess.Popen[bytes] | None = None
        self._exit: asyncio.Future[int] | None = None
        self._conn: ControlConnection | None = None
        self._started_at = 0.0
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._failure: TorError | None = None
        self._failures = 0
        self._recovery: asyncio.Task[None] | None = None
        self._onions: dict[str, _OnionSpec] = {}
        self._client_auth: dict[str, str] = {}
        self._published: set[str] = set()
        self._publish_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._bootstrap = TorBootstrap(0, "starting", "Starting")
        self._bootstrap_pulse = asyncio.Event()
        self._socks: tuple[str, int] | None = None
        self._sandbox_ok: bool | None = None  # None: not tried yet
        self._sandboxed = False
        self._verified = False
        self._pow_supported: bool | None = None
        self._tor_path: Path | None = None

    # --- properties -----------------------------------------------------------------------

    @property
    def settings(self) -> TorSettings:
        return self._settings

    @property
    def running(self) -> bool:
        """True while tor is up and the control connection works (not while restarting)."""
        return self._state == "running" and self._ready.is_set()

    @property
    def attached(self) -> bool:
        return self._settings.attach is not None

    @property
    def pid(self) -> int | None:
        """Process id of the tor we launched (None in attach mode or when not running)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def sandboxed(self) -> bool:
        """Whether our tor runs with ``Sandbox 1`` (seccomp)."""
        return self._sandboxed

    @property
    def pow_supported(self) -> bool | None:
        """Whether tor accepted PoW options on ADD_ONION (None until the first service)."""
        return self._pow_supported

    @property
    def bootstrap(self) -> TorBootstrap:
        """The latest bootstrap state."""
        return self._bootstrap

    @property
    def log_path(self) -> Path:
        return self._settings.data_dir / LOG_FILE_NAME

    @property
    def onion_addresses(self) -> list[str]:
        """Addresses of the onion services we keep alive (re-added after every restart)."""
        return list(self._onions)

    def onion_key(self, address: str) -> bytes:
        """The 64-byte expanded key of one of our services (to store a generated key)."""
        return self._onions[normalize_onion_address(address)].key.expanded

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, *, wait_bootstrap: bool = True) -> None:
        """Launch (or attach to) tor and authenticate; then, by default, wait for bootstrap.

        Raises TorNotFound, TorConfigError, TorStartFailed, TorControlError,
        TorControlAuthError, or TorBootstrapStuck (tor keeps running then: wait again, or
        ``stop()``). Any other failure leaves nothing running.
        """
        if self._state not in ("new", "stopped"):
            raise TorError("tor is already started")
        self._state = "starting"
        self._ready.clear()
        self._failure = None
        self._failures = 0
        try:
            await self._bring_up()
        except BaseException:
            await self._teardown()
            self._state = "stopped"
            raise
        self._state = "running"
        self._ready.set()
        self._recheck()
        if wait_bootstrap:
            await self.wait_bootstrapped()

    async def wait_bootstrapped(self, timeout: float | None = None) -> None:
        """Return once bootstrap reaches 100 %; TorBootstrapStuck if ``timeout`` (default:
        the settings' ``bootstrap_timeout``) passes without any progress."""
        limit = self._settings.bootstrap_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        seen = self._bootstrap
        while True:
            self._raise_if_unusable()
            if self._bootstrap.percent >= 100:
                return
            if self._bootstrap != seen:
                if (self._bootstrap.percent, self._bootstrap.tag) != (seen.percent, seen.tag):
                    deadline = loop.time() + limit
                seen = self._bootstrap
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._stuck_error(limit)
            pulse = self._bootstrap_pulse
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)

    async def stop(self) -> None:
        """Stop cleanly: HALT over the control port (Sandbox may ignore SIGTERM), then
        terminate, then kill. In attach mode, remove what we added and disconnect only."""
        if self._state in ("new", "stopped"):
            self._state = "stopped"
            return
        self._state = "stopping"
        self._ready.clear()
        if self._recovery is not None and self._recovery is not asyncio.current_task():
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery
        self._recovery = None
        conn = self._conn
        if conn is not None and conn.alive:
            if self.attached:
                for onion in list(self._client_auth):
                    with contextlib.suppress(TorError):
                        await conn.request(f"ONION_CLIENT_AUTH_REMOVE {onion}", timeout=3)
                for address in list(self._onions):
                    with contextlib.suppress(TorError):
                        await conn.request(f"DEL_ONION {address}", timeout=3)
            else:
                with contextlib.suppress(TorError):
                    await conn.request("SIGNAL HALT", timeout=3)
        await self._teardown(grace=HALT_GRACE)
        self._fail_publish_waiters()
        # A later start() is a fresh start: nothing is re-added from before.
        self._onions.clear()
        self._client_auth.clear()
        self._published.clear()
        self._failure = None
        self._state = "stopped"
        self._ready.set()  # wake callers still waiting for a restart: they get TorNotRunning
        self._bootstrap = TorBootstrap(0, "starting", "Starting")
        self._pulse()
        self._emit(TorStopped())

    async def __aenter__(self) -> TorManager:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- queries and simple commands ---------------------------------------------------------

    async def get_info(self, key: str) -> str:
        """``GETINFO key`` (diagnostics and tests, e.g. ``onions/current``)."""
        if not re.fullmatch(r"[A-Za-z0-9/_.\-]+", key):
            raise ValueError(f"bad GETINFO key {key!r}")
        for _attempt in range(2):
            conn = await self._live_connection()
            try:
                return await conn.get_info(key)
            except ConnectionLost:
                continue
        raise self._failure or TorNotRunning("tor is restarting; try again")

    async def socks_endpoint(self) -> tuple[str, int]:
        """Host and port of tor's SOCKS listener (changes when tor restarts: ask each time)."""
        if self._socks is not None and self.running:
            return self._socks
        value = await self.get_info("net/listeners/socks")
        for item in value.split():
            host, _, port = item.strip('"').rpartition(":")
            if host and port.isdigit() and not host.startswith("unix"):
                self._socks = (host.strip("[]"), int(port))
                return self._socks
        raise TorNotRunning(
            "tor has no SOCKS listener yet (its network is disabled or it is still starting)"
        )

    async def new_identity(self) -> None:
        """``SIGNAL NEWNYM``: new circuits for new streams and a cleared onion descriptor
        cache, so a contact whose tor restarted is reachable at once, not after ~40 s.

        NEWNYM also forgets every non-permanent client-auth key (seen on tor 0.4.9), so the
        keys for contacts' inboxes are given back to tor right after it.
        """
        await self._run_once("SIGNAL NEWNYM")
        for onion, key in list(self._client_auth.items()):
            await self._run_once(f"ONION_CLIENT_AUTH_ADD {onion} x25519:{key}")

    # --- onion services ---------------------------------------------------------------------

    async def add_onion(
        self,
        key: bytes | None,
        virtual_port: int,
        target_port: int,
        *,
        client_auth_v3: Sequence[str] = (),
        require_client_auth: bool = False,
        max_streams: int | None = 16,
        max_streams_close_circuit: bool = True,
        pow_defenses: bool = True,
        pow_queue_rate: int | None = None,
        pow_queue_burst: int | None = None,
    ) -> str:
        """Add an ephemeral v3 onion service forwarding ``virtual_port`` to
        ``127.0.0.1:target_port``; returns its address (56 chars, no ``.onion``).

        ``key`` is a 32-byte seed (from our encrypted store) or a 64-byte expanded key;
        None makes a random one (read it back with :meth:`onion_key`). ``client_auth_v3``
        lists base32 X25519 public keys of authorized clients; empty means anyone who knows
        the address may connect, unless ``require_client_auth`` (then, while the list is
        empty, an unusable random key keeps the descriptor encrypted: nobody gets in, and
        nobody can tell whether the service is online). The service survives tor restarts
        until removed.
        """
        for port in (virtual_port, target_port):
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is out of range")
        for value in (max_streams, pow_queue_rate, pow_queue_burst):
            if value is not None and value < 0:
                raise ValueError("stream and PoW limits must not be negative")
        service_key = OnionServiceKey.from_bytes(key if key is not None else nacl.utils.random(32))
        spec = _OnionSpec(
            key=service_key,
            virtual_port=virtual_port,
            target_port=target_port,
            client_auth_v3=_canonical_clients(client_auth_v3),
            require_client_auth=require_client_auth,
            max_streams=max_streams,
            max_streams_close_circuit=max_streams_close_circuit,
            pow_defenses=pow_defenses,
            pow_queue_rate=pow_queue_rate,
            pow_queue_burst=pow_queue_burst,
        )
        address = service_key.address
        if address in self._onions:
            raise TorError(f"onion service {address} is already running")
        await self._apply_and_remember(address, spec)
        return address

    async def set_onion_clients(self, address: str, client_auth_v3: Sequence[str]) -> None:
        """Replace the authorized clients of one of our services (tor has no command to
        edit them in place, so the service is removed and re-added with the same key)."""
        address = normalize_onion_address(address)
        old = self._onions.get(address)
        if old is None:
            raise TorError(f"no onion service {address} to update")
        new = replace(old, client_auth_v3=_canonical_clients(client_auth_v3))
        await self.remove_onion(address)
        await self._apply_and_remember(address, new)

    async def remove_onion(self, address: str) -> None:
        """Remove one of our onion services (``DEL_ONION``); it is not re-added later."""
        address = normalize_onion_address(address)
        if self._onions.pop(address, None) is None:
            return
        self._published.discard(address)
        await self._run_once(f"DEL_ONION {address}", ignore_codes=(552,))

    async def wait_published(self, address: str, timeout: float) -> bool:
        """Wait until tor uploaded the service's descriptor to at least one HSDir (HS_DESC
        UPLOADED); False on timeout. Before that, clients get SOCKS 0xF0."""
        address = normalize_onion_address(address)
        if address in self._published:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._publish_waiters.setdefault(address, []).append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        finally:
            waiters = self._publish_waiters.get(address, [])
            if fut in waiters:
                waiters.remove(fut)
        return True

    # --- client authorization (we are the client) --------------------------------------------

    async def add_client_auth(self, onion: str, x25519_private_b64: str) -> None:
        """Give tor our private key for a contact's client-authorized service (raw
        ``ONION_CLIENT_AUTH_ADD``; stem has no helper). Kept across tor restarts."""
        onion = normalize_onion_address(onion)
        parse_client_auth_private_b64(x25519_private_b64)
        while True:
            conn = await self._live_connection()
            async with self._lock:
                if conn is not self._conn:
                    continue
                try:
                    await conn.command(f"ONION_CLIENT_AUTH_ADD {onion} x25519:{x25519_private_b64}")
                except ConnectionLost:
                    self._client_auth[onion] = x25519_private_b64
                    break
                self._client_auth[onion] = x25519_private_b64
                return
        await self._wait_ready()

    async def remove_client_auth(self, onion: str) -> None:
        """Forget our key for a contact's service (``ONION_CLIENT_AUTH_REMOVE``)."""
        onion = normalize_onion_address(onion)
        self._client_auth.pop(onion, None)
        await self._run_once(f"ONION_CLIENT_AUTH_REMOVE {onion}")

    # --- internals: bringing tor up -----------------------------------------------------------

    async def _bring_up(self) -> None:
        """Launch our tor (or reach the attached one) and open the control connection."""
        self._socks = None
        self._bootstrap = TorBootstrap(0, "starting", "Starting")
        self._pulse()
        if self._settings.attach is not None:
            endpoint = self._settings.attach
        else:
            endpoint = await self._launch()
        self._conn = await ControlConnection.open(
            endpoint,
            timeout=self._settings.control_timeout,
            on_event=self._control_event,
            on_closed=self._control_closed,
        )
        if self._settings.attach is None:
            # Tor exits as soon as this connection closes (we crashed or quit) ...
            await self._conn.command("TAKEOWNERSHIP")
        self._started_at = time.monotonic()
        phase = await self._conn.get_info("status/bootstrap-phase")
        self._control_event("STATUS_CLIENT " + phase)

    async def _launch(self) -> ControlEndpoint:
        s = self._settings
        if self._tor_path is None:
            self._tor_path = await asyncio.to_thread(find_tor, s.tor_path)
        tor = self._tor_path
        extra = [*await asyncio.to_thread(geoip_lines, tor), *check_extra_lines(s.extra_torrc)]
        data_dir = await asyncio.to_thread(_private_dir, s.data_dir)
        await asyncio.to_thread((data_dir / DEFAULTS_FILE_NAME).write_bytes, b"")
        plan = plan_control(data_dir)
        want_sandbox = (
            s.sandbox and sys.platform.startswith("linux") and self._sandbox_ok is not False
        )

        def torrc(sandbox: bool) -> str:
            return build_torrc(data_dir, plan, owner_pid=os.getpid(), sandbox=sandbox, extra=extra)

        if not self._verified:
            await self._verify(tor, data_dir, torrc(want_sandbox))
            self._verified = True
        try:
            endpoint = await self._spawn(tor, data_dir, plan, torrc(want_sandbox))
        except _EarlyExit as exc:
            if not want_sandbox or is_config_complaint(exc.output):
                raise self._start_error(exc.output) from None
            why = tor_complaint(exc.output) or f"exit code {exc.returncode}"
            log.warning("tor refused to start with Sandbox 1 (%s); retrying without it", why)
            try:
                endpoint = await self._spawn(tor, data_dir, plan, torrc(False))
            except _EarlyExit as exc2:
                raise self._start_error(exc2.output) from None
            self._sandbox_ok = False
            self._sandboxed = False
            return endpoint
        if want_sandbox:
            self._sandbox_ok = True
        self._sandboxed = want_sandbox
        return endpoint

    async def _verify(self, tor: Path, data_dir: Path, torrc: str) -> None:
        """``tor --verify-config`` first, so a bad extra line is reported with tor's words."""
        cmd = [
            str(tor),
            "--verify-config",
            "--defaults-torrc",
            str(data_dir / DEFAULTS_FILE_NAME),
            "-f",
            "-",
        ]
        try:
            result = await asyncio.to_thread(
                subprocess.run,
                cmd,
                input=torrc.encode(),
                capture_output=True,
                timeout=self._settings.start_timeout,
                start_new_session=_NEW_SESSION,
                creationflags=_CREATIONFLAGS,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise TorStartFailed(
                f"Could not run {tor} ({exc}). Check that it is a working tor program, or "
                "choose another in Settings → Tor."
            ) from None
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise self._start_error(output)

    async def _spawn(
        self, tor: Path, data_dir: Path, plan: ControlPlan, torrc: str
    ) -> ControlEndpoint:
        """Start tor with ``torrc`` on stdin and wait for its control-port file."""
        for stale in (plan.port_file, plan.socket_path):
            if stale is not None:
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        output_path = data_dir / OUTPUT_FILE_NAME
        cmd = [str(tor), "--defaults-torrc", str(data_dir / DEFAULTS_FILE_NAME), "-f", "-"]

        def popen() -> subprocess.Popen[bytes]:
            with open(output_path, "wb") as out:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=_NEW_SESSION,
                    creationflags=_CREATIONFLAGS,
                )
            assert proc.stdin is not None
            try:
                proc.stdin.write(torrc.encode())
                proc.stdin.close()
            except OSError:
                pass  # tor exited at once; the wait below reports why
            return proc

        try:
            proc = await asyncio.to_thread(popen)
        except OSError as exc:
            raise TorStartFailed(
                f"Could not start {tor} ({exc.strerror or exc}). Check that it is a working "
                "tor program, or choose another in Settings → Tor."
            ) from None
        self._proc = proc
        self._exit = self._watch_exit(proc)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.start_timeout
        while loop.time() < deadline:
            if self._exit.done():
                output = await asyncio.to_thread(_read_text, output_path)
                self._proc = None
                raise _EarlyExit(proc.returncode or 0, output)
            endpoint = await asyncio.to_thread(_read_port_file, plan)
            if endpoint is not None:
                return endpoint
            await asyncio.sleep(0.05)
        await self._kill(proc)
        self._proc = None
        raise TorStartFailed(
            f"Tor did not open its control port within {self._settings.start_timeout:g} s. "
            f"See {data_dir / LOG_FILE_NAME}; try again, or restart the computer if this persists."
        )

    def _start_error(self, output: str) -> TorError:
        complaint = tor_complaint(output) or "no message"
        if is_config_complaint(output):
            return TorConfigError(
                f"Tor rejected its settings: {complaint}. Check the extra Tor settings "
                "(bridges, transports) in Settings → Tor and remove or fix that line.",
                tor_message=complaint,
            )
        if "another Tor process" in output or "same data directory" in output:
            return TorStartFailed(
                f"Another tor is already using {self._settings.data_dir}. Quit the other "
                "Libra (or tor) that uses this profile, then try again."
            )
        sandbox = " (Sandbox)" if mentions_sandbox(output) else ""
        return TorStartFailed(
            f"Tor stopped while starting{sandbox}: {complaint}. See "
            f"{self._settings.data_dir / OUTPUT_FILE_NAME}; if it persists, choose another tor "
            "program in Settings → Tor."
        )

    def _watch_exit(self, proc: subprocess.Popen[bytes]) -> asyncio.Future[int]:
        """A future for the process's exit, fed by a small waiter thread (works on any loop
        and platform, unlike asyncio's child watchers)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()

        def settle(rc: int) -> None:
            if not fut.done():
                fut.set_result(rc)

        def wait() -> None:
            rc = proc.wait()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, rc)

        threading.Thread(target=wait, name=f"libra-tor-wait-{proc.pid}", daemon=True).start()
        fut.add_done_callback(lambda f: self._process_exited(proc, f.result()))
        return fut

    async def _kill(
        self, proc: subprocess.Popen[bytes], grace: float = 0.0, *, hard: bool = False
    ) -> None:
        """Wait ``grace`` for a voluntary exit, then SIGTERM (unless ``hard``), then SIGKILL;
        always reaps."""
        exit_fut = self._exit if proc is self._proc else None

        async def exited(timeout: float) -> bool:
            if proc.poll() is not None:
                return True
            if exit_fut is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exit_fut), timeout)
                return exit_fut.done() or proc.poll() is not None
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                return False
            return True

        if grace > 0 and await exited(grace):
            return
        if not hard:
            with contextlib.suppress(OSError):
                proc.terminate()
            if await exited(KILL_GRACE):
                return
        with contextlib.suppress(OSError):
            proc.kill()
        await exited(KILL_GRACE)

    async def _teardown(self, grace: float = 0.0, *, hard: bool = False) -> None:
        """Close the control connection and end our tor process (if any); ``hard`` kills at
        once (a tor being replaced after it misbehaved gets no second chance)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        proc = self._proc
        if proc is not None:
            await self._kill(proc, grace, hard=hard)
            self._proc = None
            self._exit = None
        self._socks = None

    # --- internals: supervision ---------------------------------------------------------------

    def _recheck(self) -> None:
        """Catch a death that happened while we were not watching (during a (re)start)."""
        if self._exit is not None and self._exit.done():
            self._begin_recovery(f"tor exited unexpectedly (exit code {self._exit.result()})")
        elif self._conn is not None and not self._conn.alive:
            self._begin_recovery("the control connection to tor closed")

    def _process_exited(self, proc: subprocess.Popen[bytes], rc: int) -> None:
        if proc is self._proc and self._state == "running":
            self._begin_recovery(f"tor exited unexpectedly (exit code {rc})")

    def _control_closed(self, reason: str) -> None:
        if self._state == "running":
            self._begin_recovery(reason)

    def _begin_recovery(self, reason: str) -> None:
        if self._recovery is not None and not self._recovery.done():
            return
        log.warning("%s; restarting", reason)
        self._state = "restarting"
        self._ready.clear()
        self._recovery = asyncio.get_running_loop().create_task(self._recover(reason))

    async def _recover(self, reason: str) -> None:
        s = self._settings
        async with self._lock:
            if time.monotonic() - self._started_at >= STABLE_UPTIME:
                self._failures = 0
            await self._teardown(hard=True)
            while True:
                self._failures += 1
                if self._failures > s.max_restarts:
                    self._give_up(reason)
                    return
                delay = min(s.restart_backoff * 2 ** (self._failures - 1), s.restart_backoff_max)
                self._emit(TorRestarting(reason, self._failures, delay))
                await asyncio.sleep(delay)
                try:
                    await self._bring_up()
                    await self._reapply()
                except Exception as exc:  # any failure here is one more failed attempt
                    reason = str(exc) if isinstance(exc, TorError) else repr(exc)
                    log.warning("tor restart attempt %d failed: %s", self._failures, reason)
                    await self._teardown(hard=True)
                    continue
                break
            self._state = "running"
            self._ready.set()
        log.info("tor is back (attempt %d)", self._failures)
        self._emit(TorRestarted(self._failures, len(self._onions), len(self._client_auth)))
        self._recheck()

    def _give_up(self, reason: str) -> None:
        tries = self._settings.max_restarts
        if self.attached:
            assert self._settings.attach is not None
            message = (
                f"The tor Libra was attached to ({self._settings.attach.describe()}) stopped, "
                f"and Libra could not reconnect after {tries} attempts ({reason}). Start that "
                "tor again, or switch Settings → Tor to the Tor that comes with Libra."
            )
        else:
            message = (
                f"Tor stopped and could not be restarted after {tries} attempts ({reason}). "
                f"Restart Libra; if this keeps happening, see {self.log_path} or choose "
                "another tor program in Settings → Tor."
            )
        self._failure = TorDied(message)
        self._state = "failed"
        self._ready.set()  # wake waiters so they see the failure
        self._pulse()
        self._fail_publish_waiters()
        self._emit(TorFailed(message))

    async def _reapply(self) -> None:
        """Re-add every onion service and client-auth key after a restart (lock held)."""
        assert self._conn is not None
        self._published.clear()
        for address, spec in list(self._onions.items()):
            try:
                await self._send_add_onion(self._conn, address, spec)
            except ConnectionLost:
                raise
            except TorControlError as exc:
                log.error("could not re-add onion service after restart: %s", exc)
        for onion, key in list(self._client_auth.items()):
            try:
                await self._conn.command(f"ONION_CLIENT_AUTH_ADD {onion} x25519:{key}")
            except ConnectionLost:
                raise
            except TorControlError as exc:
                log.error("could not re-add a client-auth key after restart: %s", exc)

    # --- internals: commands ------------------------------------------------------------------

    def _raise_if_unusable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._state in ("new", "stopped", "stopping"):
            raise TorNotRunning("tor is not running (start it first)")

    async def _wait_ready(self) -> None:
        while True:
            self._raise_if_unusable()
            if self._ready.is_set():
                return
            await self._ready.wait()

    async def _live_connection(self) -> ControlConnection:
        await self._wait_ready()
        if self._conn is None:  # ready without a connection only while stopping
            raise TorNotRunning("tor is not running (start it first)")
        return self._conn

    async def _run_once(self, command: str, ignore_codes: tuple[int, ...] = ()) -> None:
        """Send a command whose effect a restart makes moot (the new tor starts clean)."""
        conn = await self._live_connection()
        try:
            reply = await conn.request(command)
        except ConnectionLost:
            await self._wait_ready()
            return
        if not reply.ok and reply.code not in ignore_codes:
            verb = command.split(None, 1)[0]
            raise TorControlError(f"tor refused {verb}: {reply.message}", code=reply.code)

    async def _apply_and_remember(self, address: str, spec: _OnionSpec) -> None:
        while True:
            conn = await self._live_connection()
            async with self._lock:
                if conn is not self._conn:
                    continue
                if address in self._onions:
                    raise TorError(f"onion service {address} is already running")
                self._published.discard(address)
                try:
                    await self._send_add_onion(conn, address, spec)
                except ConnectionLost:
                    self._onions[address] = spec  # the restart will add it
                    break
                self._onions[address] = spec
                return
        await self._wait_ready()

    async def _send_add_onion(
        self, conn: ControlConnection, address: str, spec: _OnionSpec
    ) -> None:
        use_pow = spec.pow_defenses and self._pow_supported is not False
        reply = await conn.request(_add_onion_command(spec, use_pow))
        if use_pow and reply.code == 512 and "PoW" in reply.message:
            log.info("this tor has no PoW options on ADD_ONION (%s); adding without", reply.message)
            self._pow_supported = False
            reply = await conn.request(_add_onion_command(spec, False))
        elif use_pow and reply.ok:
            self._pow_supported = True
        if not reply.ok:
            raise TorControlError(f"tor refused ADD_ONION: {reply.message}", code=reply.code)
        service_id = reply.values().get("ServiceID", "")
        if service_id != address:
            raise TorControlError(
                f"tor created onion service {service_id!r}, expected {address} (tor bug?)"
            )

    # --- internals: events --------------------------------------------------------------------

    def _control_event(self, line: str) -> None:
        words = line.split(None, 3)
        if len(words) >= 3 and words[0] == "STATUS_CLIENT" and words[2] == "BOOTSTRAP":
            args = parse_kwargs(words[3] if len(words) > 3 else "")
            try:
                percent = max(0, min(100, int(args.get("PROGRESS", "0"))))
            except ValueError:
                return
            warning = args.get("WARNING", "") if words[1] == "WARN" else ""
            if warning:
                reason = args.get("REASON", "")
                warning = f"{warning} ({reason})" if reason else warning
            else:
                warning = self._bootstrap.warning if percent == self._bootstrap.percent else ""
            state = TorBootstrap(percent, args.get("TAG", ""), args.get("SUMMARY", ""), warning)
            if state != self._bootstrap:
                self._bootstrap = state
                self._pulse()
                self._emit(state)
        elif len(words) >= 3 and words[0] == "HS_DESC" and words[1] == "UPLOADED":
            address = words[2].lower()
            if address in self._onions:
                self._published.add(address)
                for fut in self._publish_waiters.pop(address, []):
                    if not fut.done():
                        fut.set_result(None)

    def _pulse(self) -> None:
        pulse, self._bootstrap_pulse = self._bootstrap_pulse, asyncio.Event()
        pulse.set()

    def _fail_publish_waiters(self) -> None:
        waiters, self._publish_waiters = self._publish_waiters, {}
        for futs in waiters.values():
            for fut in futs:
                if not fut.done():
                    fut.cancel()

    def _emit(self, event: TorEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("a Tor event listener failed")

    def _stuck_error(self, waited: float) -> TorBootstrapStuck:
        b = self._bootstrap
        where = f"stuck at {b.percent}%: {b.summary or b.tag}"
        options = {line.split()[0].lower() for line in self._settings.extra_torrc if line.split()}
        if any(line.split()[:2] == ["DisableNetwork", "1"] for line in self._settings.extra_torrc):
            advice = "DisableNetwork 1 is set in the extra Tor settings; remove it."
        elif "usebridges" in options or "bridge" in options:
            advice = (
                "Check that this computer is online and its clock is right. Your bridges may "
                "be blocked or gone: get new ones at https://bridges.torproject.org (or try "
                "snowflake) and update them in Settings → Tor."
            )
        else:
            advice = (
                "Check that this computer is online and its clock and time zone are right. "
                "If Tor is blocked where you are, add bridges in Settings → Tor (obfs4 or "
                "snowflake)."
            )
        said = f" Tor says: {b.warning}." if b.warning else ""
        return TorBootstrapStuck(
            f"Tor made no progress connecting for {waited:g} s ({where}). {advice}{said}",
            percent=b.percent,
            tag=b.tag,
            warning=b.warning,
        )


class _EarlyExit(Exception):
    """Tor exited before opening its control port."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(f"tor exited with {returncode}")
        self.returncode = returncode
        self.output = output


def _add_onion_command(spec: _OnionSpec, use_pow: bool) -> str:
    clients = spec.client_auth_v3
    if spec.require_client_auth and not clients:
        # tor cannot express "auth required, nobody authorized yet": a fresh key whose
        # private half is thrown away encrypts the descriptor for no one.
        clients = (client_auth_public_b32(bytes(PrivateKey.generate().public_key)),)
    flags = ["DiscardPK"]
    if spec.max_streams_close_circuit and spec.max_streams:
        flags.append("MaxStreamsCloseCircuit")
    if clients:
        flags.append("V3Auth")
    parts = ["ADD_ONION", spec.key.blob, "Flags=" + ",".join(flags)]
    if spec.max_streams is not None:
        parts.append(f"MaxStreams={int(spec.max_streams)}")
    if use_pow:
        parts.append("PoWDefensesEnabled=1")
        if spec.pow_queue_rate is not None:
            parts.append(f"PoWQueueRate={int(spec.pow_queue_rate)}")
        if spec.pow_queue_burst is not None:
            parts.append(f"PoWQueueBurst={int(spec.pow_queue_burst)}")
    parts.append(f"Port={int(spec.virtual_port)},127.0.0.1:{int(spec.target_port)}")
    parts.extend(f"ClientAuthV3={key}" for key in clients)
    return " ".join(parts)


def _canonical_clients(keys: Sequence[str]) -> tuple[str, ...]:
    """Validate base32 client keys (no control-command injection) and de-duplicate."""
    if isinstance(keys, str):
        raise TypeError("client_auth_v3 is a list of keys, not one string")
    try:
        return tuple(
            dict.fromkeys(client_auth_public_b32(parse_client_auth_public_b32(k)) for k in keys)
        )
    except OnionKeyError as exc:
        raise TorError(f"bad client authorization key: {exc}") from None


def _read_port_file(plan: ControlPlan) -> ControlEndpoint | None:
    """The endpoint tor wrote to ControlPortWriteToFile, once it is complete."""
    try:
        text = plan.port_file.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        kind, _, value = line.partition("=")
        if kind == "UNIX_PORT" and value:
            return ControlEndpoint(socket_path=Path(value))
        if kind == "PORT" and ":" in value:
            host, _, port = value.rpartition(":")
            if port.isdigit():
                return ControlEndpoint(host=host.strip("[]"), port=int(port))
    return None


def _private_dir(path: Path) -> Path:
    """Create tor's DataDirectory readable only by us (tor itself insists on 0700)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        path.chmod(0o700)
    return path


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-20000:]
    except OSError:
        return ""


# Keep tor out of our terminal's process group (Ctrl-C goes to Libra, which stops tor with
# HALT) and, on Windows, from opening a console window.
_NEW_SESSION = sys.platform != "win32"
_CREATIONFLAGS: int = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
