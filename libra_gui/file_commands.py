"""The file side of `libra-cli`: send-file, files (list/accept/cancel/save), file-policy.

Transfers run inside the node (`libra-cli run`); without one, `send-file` queues the offer
and `files list/accept/cancel/save` work on the store directly (data moves once a node runs).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from . import control
from .core.services import contacts, profile
from .core.services.events import EventBus
from .core.services.files import FileService, FileTransfer
from .core.services.messaging import MessagingService

MB = 1 << 20


def transfer_json(t: FileTransfer) -> dict[str, Any]:
    return {
        "id": t.id,
        "contact_id": t.contact_id,
        "direction": t.direction,
        "file_id": t.file_id.hex(),
        "name": t.name,
        "size": t.size,
        "state": t.state,
        "reason": t.reason,
        "done_bytes": t.done_bytes,
        "stalled": t.stalled,
        "created_at": t.created_at,
    }


async def files_request(
    svc: FileService, prof: profile.Profile, req: dict[str, Any]
) -> dict[str, Any]:
    """Shared by the node and the offline path."""
    cmd, action = req.get("cmd"), req.get("action", "list")
    if cmd == "send-file":
        contact = await contacts.find(prof, str(req.get("contact", "")))
        return {"ok": True, "transfer": transfer_json(await svc.send_file(contact.id, req["path"]))}
    if cmd == "file-policy":
        policy = await svc.get_policy()
        changes: dict[str, Any] = {}
        if isinstance(req.get("max_mb"), int):
            changes["max_file_size"] = req["max_mb"] * MB
        if isinstance(req.get("auto_accept"), bool):
            changes["auto_accept"] = req["auto_accept"]
        if changes:
            policy = dataclasses.replace(policy, **changes)
            await svc.set_policy(policy)
        return {
            "ok": True,
            "max_mb": policy.max_file_size // MB,
            "reserve_mb": policy.disk_reserve // MB,
            "auto_accept": policy.auto_accept,
        }
    if action == "list":
        contact_id = None
        if req.get("contact"):
            contact_id = (await contacts.find(prof, str(req["contact"]))).id
        return {"ok": True, "transfers": [transfer_json(t) for t in await svc.list(contact_id)]}
    transfer_id = int(req["id"])
    if action == "accept":
        transfer = await svc.accept(transfer_id)
    elif action == "cancel":
        transfer = await svc.cancel(transfer_id)
    elif action == "save":
        await svc.save(transfer_id, Path(str(req["out"])), overwrite=bool(req.get("overwrite")))
        return {"ok": True, "id": transfer_id, "saved": str(req["out"])}
    else:
        return {"ok": False, "error": f"unknown files action {action!r}"}
    return {"ok": True, "transfer": transfer_json(transfer)}


def is_files_command(req: dict[str, Any]) -> bool:
    return req.get("cmd") in ("send-file", "files", "file-policy")


@contextlib.asynccontextmanager
async def _offline(
    args: argparse.Namespace, read_passphrase: Any
) -> AsyncIterator[tuple[FileService, profile.Profile]]:
    async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
        bus = EventBus()
        messaging = MessagingService(prof, bus)
        svc = FileService(prof, bus, messaging)
        await svc.start()
        try:
            yield svc, prof
        finally:
            await svc.close()
            await messaging.close()


async def _call(args: argparse.Namespace, req: dict[str, Any], read_passphrase: Any) -> Any:
    if (reply := await control.call_if_running(args.data_dir, req)) is not None:
        return reply
    async with _offline(args, read_passphrase) as (svc, prof):
        out = await files_request(svc, prof, req)
    if req.get("cmd") == "send-file":
        out["queued_offline"] = True
    return out


async def cmd_send_file(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    # The node may run in another directory: give it an absolute path.
    req = {"cmd": "send-file", "contact": args.contact, "path": str(args.path.resolve())}
    return await _call(args, req, read_passphrase)


async def cmd_files(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    action = args.action or "list"
    req: dict[str, Any] = {"cmd": "files", "action": action}
    if action == "list":
        req["contact"] = args.contact
    else:
        if args.id is None:
            raise control.ControlError(f"`files {action}` needs a transfer id")
        req["id"] = args.id
    if action == "save":
        if args.out is None:
            raise control.ControlError("`files save ID` needs --out PATH")
        req["out"], req["overwrite"] = str(args.out.resolve()), args.overwrite
    return await _call(args, req, read_passphrase)


async def cmd_file_policy(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"cmd": "file-policy", "max_mb": args.max_mb}
    if args.auto_accept is not None:
        req["auto_accept"] = args.auto_accept == "on"
    return await _call(args, req, read_passphrase)


def add_parsers(sub: Any, common: argparse.ArgumentParser, read_passphrase: Any) -> None:
    """Register the file commands."""

    def bind(cmd: Any) -> Any:
        return functools.partial(cmd, read_passphrase=read_passphrase)

    p = sub.add_parser("send-file", parents=[common], help="offer a file to a contact")
    p.add_argument("contact", help="contact id, display name or fingerprint prefix")
    p.add_argument("path", type=Path, help="the file (kept in place until it is sent)")
    p.set_defaults(func=bind(cmd_send_file))

    p = sub.add_parser("files", parents=[common], help="file transfers: list/accept/cancel/save")
    p.add_argument("action", nargs="?", choices=["list", "accept", "cancel", "save"])
    p.add_argument("id", nargs="?", type=int, help="transfer id (from `files`)")
    p.add_argument("--contact", help="list only this contact's transfers")
    p.add_argument("--out", type=Path, help="with save: where to write the received file")
    p.add_argument("--overwrite", action="store_true", help="with save: replace --out")
    p.set_defaults(func=bind(cmd_files))

    p = sub.add_parser("file-policy", parents=[common], help="limits for incoming files")
    p.add_argument("--max-mb", type=int, help="decline offers larger than this (MiB)")
    p.add_argument("--auto-accept", choices=["on", "off"], help="accept offers without asking")
    p.set_defaults(func=bind(cmd_file_policy))
