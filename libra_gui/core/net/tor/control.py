"""Async adapter over stem's synchronous controller: the only module that imports stem.

stem blocks on sockets and is unmaintained, so every stem call runs on one dedicated thread
(never on the event loop), calls are serialized there, and stem's types never leave this
module: callers see :class:`ControlReply`, raw event lines and our typed errors. Replacing
stem later means rewriting this file only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import stem
import stem.connection
import stem.control
import stem.socket

from .errors import TorControlAuthError, TorControlError
from .settings import ControlEndpoint

log = logging.getLogger(__name__)
# stem logs every command at DEBUG and a burst of "peek of closed file" at INFO whenever a
# connection closes; none of it is actionable, and commands may carry key material.
logging.getLogger("stem").setLevel(logging.WARNING)
T = TypeVar("T")

# Event types we subscribe to: bootstrap progress/warnings and onion descriptor uploads.
EVENTS = ("STATUS_CLIENT", "HS_DESC")


class ConnectionLost(TorControlError):
    """The control connection closed while (or before) a command was in flight."""


@dataclass(frozen=True)
class ControlReply:
    """One reply: overall status code and its lines (``(code, divider, text)``)."""

    code: int
    lines: tuple[tuple[int, str, str], ...]

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def message(self) -> str:
        """The text of the final line (what tor says about success or failure)."""
        return self.lines[-1][2] if self.lines else ""

    def values(self) -> dict[str, str]:
        """``key=value`` lines as a dict (multi-line ``+`` values keep their newlines)."""
        out: dict[str, str] = {}
        for _code, _div, text in self.lines:
            key, sep, value = text.partition("=")
            if sep:
                out.setdefault(key, value)
        return out


class ControlConnection:
    """One authenticated control connection to tor.

    ``on_event`` receives raw event lines (e.g. ``STATUS_CLIENT NOTICE BOOTSTRAP ...``) and
    ``on_closed(reason)`` is called once when the connection drops, or tor stops answering,
    for any reason other than ``close()``; both run on the loop that opened the connection.
    """

    def __init__(
        self,
        controller: Any,
        executor: ThreadPoolExecutor,
        loop: asyncio.AbstractEventLoop,
        timeout: float,
    ) -> None:
        self._controller = controller
        self._executor = executor
        self._loop = loop
        self._timeout = timeout
        self._closing = False  # close() called or closure already reported
        self._closed = False  # no more commands
        self._shut = False  # controller closed and executor shut down
        self._on_event: Callable[[str], None] | None = None
        self._on_closed: Callable[[str], None] | None = None

    @classmethod
    async def open(
        cls,
        endpoint: ControlEndpoint,
        *,
        timeout: float = 30.0,
        on_event: Callable[[str], None] | None = None,
        on_closed: Callable[[str], None] | None = None,
    ) -> ControlConnection:
        """Connect, authenticate and subscribe to :data:`EVENTS`."""
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="libra-tor-control")
        try:
            controller = await _in(executor, timeout, _connect, endpoint)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        conn = cls(controller, executor, loop, timeout)
        try:
            await conn._call(_authenticate, controller, endpoint)
            conn._on_event = on_event
            conn._on_closed = on_closed
            controller.add_status_listener(conn._status_changed)
            if on_event is not None:
                await conn._call(controller.add_event_listener, conn._event, *EVENTS)
        except BaseException:
            await conn.close()
            raise
        return conn

    @property
    def alive(self) -> bool:
        return not self._closed and bool(self._controller.is_alive())

    async def request(self, command: str, *, timeout: float | None = None) -> ControlReply:
        """Send one raw command and return tor's reply, whatever its status."""
        if any(c in command for c in "\r\n\x00"):
            raise ValueError("control commands are single lines")  # a bug, not user input
        if self._closed:
            raise ConnectionLost("the control connection to tor is closed")
        try:
            msg = await self._call(self._controller.msg, command, timeout=timeout)
        except stem.SocketClosed:
            raise ConnectionLost("the control connection to tor closed") from None
        except stem.ControllerError as exc:
            raise ConnectionLost(f"the control connection to tor failed: {exc}") from None
        lines = tuple((int(code), div, text) for code, div, text in msg.content())
        return ControlReply(lines[-1][0] if lines else 0, lines)

    async def command(self, command: str, *, timeout: float | None = None) -> ControlReply:
        """Like :meth:`request`, but a non-2xx reply raises TorControlError with tor's text."""
        reply = await self.request(command, timeout=timeout)
        if not reply.ok:
            verb = command.split(None, 1)[0]
            raise TorControlError(f"tor refused {verb}: {reply.message}", code=reply.code)
        return reply

    async def get_info(self, key: str) -> str:
        reply = await self.command(f"GETINFO {key}")
        value = reply.values().get(key)
        if value is None:
            raise TorControlError(f"tor sent no value for GETINFO {key}")
        return value.removeprefix("\n")

    async def close(self) -> None:
        """Close the connection (idempotent); ``on_closed`` is not called for this."""
        if self._shut:
            return
        self._shut = self._closing = self._closed = True
        # A fresh thread, not our executor: its thread may be stuck in a call to a hung tor,
        # and closing the socket is what unblocks it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(self._controller.close), 5.0)
        self._executor.shutdown(wait=False)

    # --- internals --------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        try:
            return await _in(self._executor, timeout or self._timeout, fn, *args)
        except _Unresponsive as exc:
            # tor stopped answering (hung, stopped, overloaded): report the connection as
            # lost so the owner restarts tor instead of queueing more calls behind this one.
            self._deliver_closed(str(exc))
            raise

    def _event(self, event: Any) -> None:
        # stem's event thread: hand the raw line to the loop, drop it if the loop is gone.
        line = str(event)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._deliver_event, line)

    def _deliver_event(self, line: str) -> None:
        if self._on_event is not None and not self._closed:
            self._on_event(line)

    def _status_changed(self, _controller: Any, state: Any, _timestamp: float) -> None:
        if state == stem.control.State.CLOSED and not self._closing:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(
                    self._deliver_closed, "the control connection to tor closed"
                )

    def _deliver_closed(self, reason: str) -> None:
        if self._closing:
            return
        self._closed = self._closing = True
        if self._on_closed is not None:
            self._on_closed(reason)


class _Unresponsive(ConnectionLost):
    """A control call did not return in time."""


async def _in(executor: ThreadPoolExecutor, timeout: float, fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(executor, fn, *args)
    except RuntimeError:  # executor already shut down: the connection is gone
        raise ConnectionLost("the control connection to tor is closed") from None
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise _Unresponsive(
            f"tor did not answer on its control connection within {timeout:g} s"
        ) from None


class _Controller(stem.control.Controller):  # type: ignore[misc]
    """stem's Controller minus its implicit ``TAKEOWNERSHIP`` + ``RESETCONF
    __OwningControllerProcess`` after authentication (done whenever that option names our
    pid). Ownership is our decision (never in attach mode), and the RESETCONF reloads tor's
    options, which a sandboxed tor answers with spurious "Bug:" warnings in its log."""

    def _post_authentication(self) -> None:
        stem.control.BaseController._post_authentication(self)
        with self._event_listeners_lock:
            self._attach_listeners()


def _connect(endpoint: ControlEndpoint) -> Any:
    try:
        if endpoint.socket_path is not None:
            return _Controller(stem.socket.ControlSocketFile(str(endpoint.socket_path)))
        return _Controller(stem.socket.ControlPort(endpoint.host, endpoint.port))
    except stem.SocketError as exc:
        raise TorControlError(
            f"Cannot connect to tor's {endpoint.describe()} ({exc}). Is tor running, and is "
            "its ControlPort (or ControlSocket) set to that address?"
        ) from None


def _authenticate(controller: Any, endpoint: ControlEndpoint) -> None:
    try:
        if endpoint.password is None and endpoint.cookie_path is not None:
            try:
                stem.connection.authenticate_safecookie(controller, str(endpoint.cookie_path))
            except stem.connection.AuthenticationFailure:
                stem.connection.authenticate_cookie(controller, str(endpoint.cookie_path))
        else:
            controller.authenticate(password=endpoint.password)
    except stem.connection.MissingPassword:
        raise TorControlAuthError(
            f"Tor's {endpoint.describe()} requires a password. Enter the control password "
            "in Settings → Tor (attach to a running Tor)."
        ) from None
    except stem.connection.PasswordAuthFailed:
        raise TorControlAuthError(
            f"Tor's {endpoint.describe()} rejected the control password. Check the password "
            "in Settings → Tor; it must match tor's HashedControlPassword."
        ) from None
    except stem.connection.CookieAuthFailed as exc:
        raise TorControlAuthError(
            f"Could not authenticate to tor's {endpoint.describe()} with its cookie file "
            f"({_clean(exc)}). Libra must be able to read tor's control_auth_cookie (run both "
            "as the same user, or add your user to tor's group)."
        ) from None
    except stem.connection.AuthenticationFailure as exc:
        raise TorControlAuthError(
            f"Tor's {endpoint.describe()} refused authentication ({_clean(exc)}). Configure "
            "tor with CookieAuthentication 1 or a HashedControlPassword."
        ) from None
    except stem.SocketError as exc:
        raise TorControlError(
            f"Tor closed its {endpoint.describe()} while authenticating ({exc})."
        ) from None


def _clean(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip()[:300]
