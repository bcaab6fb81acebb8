"""Local control API of a running headless node (`libra-cli run`), for `send` and `listen`.

Only one process may hold a profile open (storage/lock.py), so other `libra-cli` commands
talk to the running node instead: JSON lines over a loopback TCP socket. The port and a
random 256-bit token are written to ``<data_dir>/control.json`` (mode 0600), so only the
profile's owner can connect; the token is compared in constant time. Requests and replies
are single JSON objects per line, at most 64 KiB each.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core.errors import LibraError

CONTROL_FILE = "control.json"
MAX_LINE = 64 * 1024  # a request
MAX_REPLY_LINE = 64 * 1024 * 1024  # a reply (e.g. a long history); the node is trusted
AUTH_TIMEOUT = 5.0

Handler = Callable[[dict[str, Any], "Reply"], Awaitable[None]]


class ControlError(LibraError):
    """The control connection failed or the node refused the request."""


class NoRunningNode(ControlError):
    """No `libra-cli run` is serving this profile."""


class Reply:
    """Writes JSON lines back to one control client."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def send(self, obj: dict[str, Any]) -> None:
        self._writer.write(json.dumps(obj, sort_keys=True).encode() + b"\n")
        await self._writer.drain()


@dataclass
class ControlServer:
    """Serves requests until closed; ``handler(request, reply)`` does the work."""

    data_dir: Path
    handler: Handler
    _server: asyncio.Server | None = None
    _token: str = ""

    async def start(self) -> None:
        self._token = secrets.token_hex(32)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_LINE)
        port = self._server.sockets[0].getsockname()[1]
        path = self.data_dir / CONTROL_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"port": port, "token": self._token, "pid": os.getpid()}, fh)
        os.replace(tmp, path)

    async def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / CONTROL_FILE).unlink()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reply = Reply(writer)
        try:
            line = await asyncio.wait_for(reader.readline(), AUTH_TIMEOUT)
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("request must be an object")
            token = str(request.get("token", ""))
            if not hmac.compare_digest(token.encode(), self._token.encode()):
                await reply.send({"ok": False, "error": "bad control token"})
                return
            await self.handler(request, reply)
        except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            with contextlib.suppress(ConnectionError):
                await reply.send({"ok": False, "error": "malformed request"})
        except (TimeoutError, ConnectionError):
            pass
        except LibraError as exc:
            with contextlib.suppress(ConnectionError):
                await reply.send({"ok": False, "error": str(exc)})
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def request(data_dir: Path, obj: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Send one request to the running node and yield its reply lines until it hangs up."""
    try:
        info = json.loads((Path(data_dir) / CONTROL_FILE).read_text(encoding="utf-8"))
        port, token = int(info["port"]), str(info["token"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NoRunningNode("no running Libra node for this profile") from None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_REPLY_LINE)
    except OSError:
        raise NoRunningNode("no running Libra node for this profile") from None
    try:
        writer.write(json.dumps({**obj, "token": token}).encode() + b"\n")
        await writer.drain()
        while line := await reader.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                raise ControlError("the node sent a malformed reply") from None
            if isinstance(reply, dict) and reply.get("ok") is False:
                raise ControlError(str(reply.get("error", "request failed")))
            yield reply
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def call(data_dir: Path, obj: dict[str, Any]) -> dict[str, Any]:
    """One request, one reply (raises NoRunningNode / ControlError)."""
    async with contextlib.aclosing(request(data_dir, obj)) as replies:
        async for reply in replies:
            return reply
    raise ControlError("the node closed the connection without replying")


async def call_if_running(data_dir: Path, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The running node's reply, or None if no node holds this profile (go offline)."""
    try:
        return await call(data_dir, obj)
    except NoRunningNode:
        return None
