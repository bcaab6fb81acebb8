"""The alias side of `libra-cli`: alias, qr, lookup, request, requests, safety-number.

Commands that need Tor (lookup, request, accepting requests) go through the running node
(`libra-cli run`); alias settings and the QR code also work without it.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from typing import Any

from . import control
from .core.crypto.identity import safety_number
from .core.protocol.uri import Invite, parse_invite
from .core.services import aliases as aliases_service
from .core.services import contact_requests, contacts, profile
from .core.services.node import Node
from .core.services.qr import find_invite, qr_png, qr_svg
from .jsonview import contact_json


def alias_json(state: aliases_service.AliasState, fingerprint: bytes) -> dict[str, Any]:
    c = state.config
    return {
        "ok": True,
        "alias": state.alias.text,
        "counter": state.alias.counter,
        "findable": c.findable,
        "active": state.active,
        "private": c.private,
        "one_time": c.one_time,
        "invite_used": c.invite_used,
        "expires": c.expires,
        "beacon": state.beacon_address if state.active else None,
        "invite": state.invite(fingerprint).to_uri(lowercase=True),
    }


def _findable_kwargs(req: dict[str, Any]) -> dict[str, Any]:
    expires = req.get("expires_in")
    return {
        "private": bool(req.get("private")),
        "one_time": bool(req.get("one_time")),
        "expires": None if not expires else int(time.time()) + int(expires),
    }


async def alias_request(
    svc: aliases_service.AliasService, fingerprint: bytes, req: dict[str, Any]
) -> dict[str, Any]:
    """Shared by the node and the offline path: show / regenerate / findable on|off."""
    action = req.get("action", "show")
    if action == "regenerate":
        state = await svc.regenerate()
    elif action in ("on", "off"):
        state = await svc.set_findable(action == "on", **_findable_kwargs(req))
    else:
        state = await svc.state()
    return alias_json(state, fingerprint)


def _target(req: dict[str, Any]) -> str | Invite:
    text = str(req.get("target", ""))
    return parse_invite(text) if text.lower().startswith("libra:") else text


async def node_command(node: Node, req: dict[str, Any]) -> dict[str, Any] | None:
    """Alias commands served by a running node; None if ``req`` is not one of them."""
    cmd = req.get("cmd")
    fp = node.profile.keys.fingerprint
    if cmd == "alias":
        result = await alias_request(node.aliases, fp, req)
        if req.get("action") in ("regenerate", "on", "off"):
            await node.refresh_beacon()
        return {**result, "beacon": node.beacon.address}
    if cmd == "lookup":
        timeout = req.get("timeout")
        limit = float(timeout) if isinstance(timeout, int | float) and 0 < timeout <= 600 else 90.0
        found = await node.lookup(_target(req), timeout=limit)
        await found.close()
        return {
            "ok": True,
            "alias": "-".join(found.words),
            "verified_by_invite": found.pinned,
            "card": found.card.to_json(),
        }
    if cmd == "request":
        contact = await node.request_contact(_target(req), str(req.get("message", "")))
        return {"ok": True, "contact": contact_json(contact), "status": "sent"}
    if cmd == "smp":
        contact = await contacts.find(node.profile, str(req.get("contact", "")))
        question, answer = req.get("question"), str(req.get("answer", ""))
        if question:
            run_id = await node.trust.start_verification(contact.id, str(question), answer)
            return {"ok": True, "contact": contact.id, "run": run_id.hex(), "asked": question}
        asked = node.trust.pending_question(contact.id)
        if asked is None:
            return {"ok": False, "error": "this contact has not asked you a question"}
        await node.trust.answer_verification(contact.id, answer)
        return {"ok": True, "contact": contact.id, "answered": asked}
    if cmd == "verify":
        contact = await contacts.find(node.profile, str(req.get("contact", "")))
        return {"ok": True, "contact": contact_json(await node.trust.mark_verified(contact.id))}
    if cmd == "requests":
        action = req.get("action", "list")
        if action == "accept":
            contact = await node.accept_request(int(req["id"]))
            return {"ok": True, "contact": contact_json(contact)}
        if action in ("decline", "block", "unblock"):
            await node.decide_request(int(req["id"]), action)
            return {"ok": True}
        return await requests_json(node.profile)
    return None


async def requests_json(prof: profile.Profile) -> dict[str, Any]:
    waiting = await contact_requests.pending(prof)
    blocked = await contact_requests.blocked(prof)
    return {
        "ok": True,
        "pending": [
            {
                "id": r.id,
                "fingerprint": r.identity_key.hex(),
                "message": r.message,
                "received_at": r.received_at,
            }
            for r in waiting
        ],
        "blocked": [b.identity_key.hex() for b in blocked],
    }


# --- CLI commands ---------------------------------------------------------------------------


async def cmd_alias(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req = {
        "cmd": "alias",
        "action": args.action or "show",
        "private": args.private,
        "one_time": args.one_time,
        "expires_in": args.expires,
    }
    if args.action == "findable":
        if args.state not in ("on", "off"):
            raise control.ControlError("say `alias findable on` or `alias findable off`")
        req["action"] = args.state
    if (reply := await control.call_if_running(args.data_dir, req)) is not None:
        return reply
    async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
        return await alias_request(aliases_service.AliasService(prof), prof.keys.fingerprint, req)


async def cmd_qr(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    info = await control.call_if_running(args.data_dir, {"cmd": "alias"})
    if info is None:
        async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
            info = await alias_request(
                aliases_service.AliasService(prof), prof.keys.fingerprint, {}
            )
    uri = info["invite"]
    invite = parse_invite(uri)
    out: Path = args.out
    if out.suffix.lower() == ".svg":
        out.write_text(qr_svg(invite), encoding="utf-8")
    else:
        qr_png(invite, out)
    return {"ok": True, "out": str(out), "invite": uri, "private": invite.private}


async def cmd_lookup(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    return await control.call(args.data_dir, {"cmd": "lookup", "target": _cli_target(args)})


async def cmd_request(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req = {"cmd": "request", "target": _cli_target(args), "message": args.message}
    return await control.call(args.data_dir, req)


async def cmd_requests(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"cmd": "requests", "action": args.action or "list"}
    if args.action not in (None, "list"):
        if args.id is None:
            raise control.ControlError(f"`requests {args.action}` needs a request id")
        req["id"] = args.id
    if req["action"] != "list":
        return await control.call(args.data_dir, req)  # deciding needs the running node
    if (reply := await control.call_if_running(args.data_dir, req)) is not None:
        return reply
    async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
        return await requests_json(prof)


async def cmd_safety_number(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
        contact = await contacts.find(prof, args.contact)
        number = safety_number(prof.keys.identity_public, contact.identity_key)
    return {"ok": True, "contact": contact_json(contact), "safety_number": number}


async def cmd_smp(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    """Ask (--question and --answer) or answer (--answer) a shared-secret question."""
    req = {"cmd": "smp", "contact": args.contact, "question": args.question, "answer": args.answer}
    return await control.call(args.data_dir, req)


async def cmd_verify(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    """Mark a contact verified after comparing safety numbers in person."""
    return await control.call(args.data_dir, {"cmd": "verify", "contact": args.contact})


def _cli_target(args: argparse.Namespace) -> str:
    if getattr(args, "qr", None) is not None:
        return find_invite(Path(args.qr)).to_uri()
    if not args.target:
        raise control.ControlError("give the three words, an invite link, or --qr IMAGE")
    return " ".join(args.target)


def add_parsers(sub: Any, common: argparse.ArgumentParser, read_passphrase: Any) -> None:
    """Register the alias commands; ``read_passphrase`` is the CLI's prompt/file reader."""

    def bind(cmd: Any) -> Any:
        return functools.partial(cmd, read_passphrase=read_passphrase)

    p = sub.add_parser("alias", parents=[common], help="show or change your three-word alias")
    p.add_argument("action", nargs="?", choices=["show", "regenerate", "findable"])
    p.add_argument("state", nargs="?", help="on or off (with findable)")
    p.add_argument("--private", action="store_true", help="findable only with the QR/link")
    p.add_argument("--one-time", action="store_true", help="the invite works once")
    p.add_argument("--expires", type=int, metavar="SECONDS", help="stop being findable after")
    p.set_defaults(func=bind(cmd_alias))

    p = sub.add_parser("qr", parents=[common], help="write your invite as a QR code")
    p.add_argument("--out", type=Path, required=True, help="PNG or SVG file")
    p.set_defaults(func=bind(cmd_qr))

    p = sub.add_parser("lookup", parents=[common], help="find someone by their words")
    p.add_argument("target", nargs="*", help="three words or a libra: invite link")
    p.add_argument("--qr", type=Path, help="read the invite from a QR image instead")
    p.set_defaults(func=bind(cmd_lookup))

    p = sub.add_parser("request", parents=[common], help="send a contact request")
    p.add_argument("target", nargs="*", help="three words or a libra: invite link")
    p.add_argument("--qr", type=Path, help="read the invite from a QR image instead")
    p.add_argument("--message", default="", help="a short note for them")
    p.set_defaults(func=bind(cmd_request))

    p = sub.add_parser("requests", parents=[common], help="contact requests you received")
    p.add_argument("action", nargs="?", choices=["list", "accept", "decline", "block", "unblock"])
    p.add_argument("id", nargs="?", type=int)
    p.set_defaults(func=bind(cmd_requests))

    p = sub.add_parser("safety-number", parents=[common], help="compare with your contact")
    p.add_argument("contact")
    p.set_defaults(func=bind(cmd_safety_number))

    p = sub.add_parser(
        "smp", parents=[common], help="verify a contact with a question only they can answer"
    )
    p.add_argument("contact")
    p.add_argument("--question", help="ask this (with --answer: the answer you expect)")
    p.add_argument("--answer", required=True, help="the answer (yours, or to their question)")
    p.set_defaults(func=bind(cmd_smp))

    p = sub.add_parser("verify", parents=[common], help="mark a contact verified (safety number)")
    p.add_argument("contact")
    p.set_defaults(func=bind(cmd_verify))
