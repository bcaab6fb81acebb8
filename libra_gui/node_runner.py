"""`libra-cli run`: a headless node in the foreground, status as JSON lines on stdout.

Also serves the local control API (control.py) so `send`, `add-card` and `listen` work while
the node holds the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import control, direct_commands, file_commands
from .alias_commands import node_command
from .cli import UsageError
from .core.errors import LibraError
from .core.net.tor.settings import ControlEndpoint, TorSettings
from .core.net.webrtc.attempt import IceServer
from .core.services import app_settings, contacts, profile
from .core.services.direct import PathChanged
from .core.services.direct_policy import PolicyError, parse_ice_url
from .core.services.events import Event, EventBus
from .core.services.node import Node
from .jsonview import event_json, history_json

Printer = Callable[[dict[str, Any]], None]


def tor_settings(args: argparse.Namespace) -> TorSettings:
    extra: list[str] = []
    if args.torrc_extra is not None:
        try:
            text = args.torrc_extra.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {args.torrc_extra}: {exc.strerror}") from None
        extra = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    attach = None
    if args.tor_control:
        password = None
        if args.tor_control_password_file is not None:
            password = args.tor_control_password_file.read_text(encoding="utf-8").strip()
        attach = _control_endpoint(args.tor_control, password)
    return TorSettings(
        data_dir=Path(args.data_dir) / "tor",
        tor_path=args.tor_path,
        extra_torrc=extra,
        attach=attach,
    )


def _control_endpoint(spec: str, password: str | None) -> ControlEndpoint:
    if spec.startswith("unix:"):
        return ControlEndpoint(socket_path=Path(spec[5:]), password=password)
    host, _, port = spec.rpartition(":")
    if not port.isdigit():
        raise UsageError("--tor-control must be HOST:PORT or unix:/path/to/socket")
    try:
        return ControlEndpoint(host=host or "127.0.0.1", port=int(port), password=password)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


async def run_node(args: argparse.Namespace, passphrase: str, emit: Printer) -> None:
    """Run until SIGINT/SIGTERM; every bus event is printed as one JSON line."""
    settings = tor_settings(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still raises
            loop.add_signal_handler(sig, stop.set)
    ice = ice_servers(args)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        if not (args.tor_path or args.tor_control or args.torrc_extra):
            # No Tor flags: the settings the GUI saved (bridges, tor program, timeouts).
            settings = await app_settings.stored_tor_settings(prof, settings.data_dir)
        bus = EventBus()
        printer = _EventPrinter(prof, emit)
        bus.add_listener(printer.publish)
        node = Node(prof, settings, bus, ice_servers=ice)
        server = control.ControlServer(Path(args.data_dir), _handler(node, bus))
        try:
            await node.start()
            await server.start()
            emit(
                {
                    "event": "ready",
                    "inbox": node.address,
                    "inbox_target_port": node.inbox_target_port,
                    "fingerprint": prof.card.fingerprint.hex(),
                    "tor_pid": node.tor.pid,
                }
            )
            await stop.wait()
        finally:
            await server.close()
            await node.stop()
            await printer.close()
    emit({"event": "stopped"})


def ice_servers(args: argparse.Namespace) -> list[IceServer] | None:
    """--stun/--turn for this run (None: the servers stored in the profile)."""
    urls = [*(args.stun or []), *(args.turn or [])]
    if not urls:
        return None
    try:
        return [parse_ice_url(u) for u in urls]
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


class _EventPrinter:
    """Prints every bus event as a JSON line, in order; path changes as ``path`` lines that
    name the contact (a store lookup, hence one queue and one task)."""

    def __init__(self, prof: profile.Profile, emit: Printer) -> None:
        self._prof, self._emit = prof, emit
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def publish(self, event: Event) -> None:
        self._queue.put_nowait(event)

    async def _run(self) -> None:
        while (event := await self._queue.get()) is not None:
            line = event_json(event)
            if isinstance(event, PathChanged):
                line = {**line, "event": "path", "contact": await self._name(event.contact_id)}
            self._emit(line)

    async def _name(self, contact_id: int) -> str | None:
        try:
            return (await contacts.find(self._prof, str(contact_id))).display_name
        except LibraError:
            return None

    async def close(self) -> None:
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._task


def _handler(node: Node, bus: EventBus) -> control.Handler:
    async def handle(req: dict[str, Any], reply: control.Reply) -> None:
        cmd = req.get("cmd")
        handled = await node_command(node, req)
        if handled is None:
            handled = await direct_commands.node_command(node, req)
        if handled is None and file_commands.is_files_command(req):
            handled = await file_commands.files_request(node.files, node.profile, req)
        if handled is not None:
            await reply.send(handled)
        elif cmd == "send":
            contact = await contacts.find(node.profile, str(req.get("contact", "")))
            msg_id = await node.messaging.send_text(contact.id, str(req.get("text", "")))
            await reply.send({"ok": True, "msg_id": msg_id.hex(), "contact": contact.id})
        elif cmd == "add-card":
            card = contacts.card_from_text(str(req.get("card", "")))
            contact = await node.add_contact(card.encode())
            await reply.send({"ok": True, "id": contact.id, "display_name": contact.display_name})
        elif cmd == "history":
            contact = await contacts.find(node.profile, str(req.get("contact", "")))
            limit = req.get("limit", 200)
            limit = limit if type(limit) is int and 0 < limit <= 100_000 else 200
            rows = await node.messaging.history(contact.id, limit)
            await reply.send(history_json(contact.id, rows))
        elif cmd == "listen":
            queue = bus.queue(maxsize=10_000)
            try:
                await reply.send({"event": "listening"})
                while True:
                    await reply.send(event_json(await queue.get()))
            finally:
                bus.discard(queue)
        elif cmd == "status":
            links = {} if node.peers is None else node.peers.links()
            await reply.send(
                {
                    "ok": True,
                    "inbox": node.address,
                    "tor": event_json(node.tor.bootstrap),
                    "links": sorted(links),
                    "paths": _paths(node),
                }
            )
        else:
            await reply.send({"ok": False, "error": f"unknown command {cmd!r}"})

    return handle


def _paths(node: Node) -> dict[str, Any]:
    """contact id -> path state and selected candidate type (for `status`)."""
    if node.direct is None or node.peers is None:
        return {}
    out = {}
    for contact_id in sorted(node.peers.links()):
        stats = node.direct.stats(contact_id)
        out[str(contact_id)] = {"state": str(stats.state), "candidate": stats.candidate}
    return out
