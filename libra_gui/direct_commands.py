"""The direct-path side of `libra-cli`: direct (per-contact policy), direct-default, ice-servers.

A direct connection reveals your IP address to the contact; every command that can turn one
on says so (``direct_policy.IP_WARNING``). Settings live in the encrypted store, so they work
without a running node; with one, the node applies them at once.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

from . import control
from .core.services import contacts, profile
from .core.services import direct_policy as dp
from .core.services.node import Node
from .core.services.profile import Profile
from .jsonview import contact_json

POLICY_WORDS = {"on": "allowed", "off": "off", "default": "default"}


async def _direct_json(prof: Profile, contact_id: int, node: Node | None) -> dict[str, Any]:
    contact = await contacts.find(prof, str(contact_id))
    allowed = await dp.allowed(prof, contact.id)
    out: dict[str, Any] = {
        "ok": True,
        "contact": contact_json(contact),
        "policy": contact.direct_policy,
        "default": await dp.global_default(prof),
        "allowed": allowed,
    }
    if allowed:
        out["warning"] = dp.IP_WARNING
    if node is not None and node.direct is not None:
        stats = node.direct.stats(contact.id)
        out["path"] = {
            "state": str(stats.state),
            "candidate": stats.candidate,
            "last_failure": stats.last_failure,
            "peer_allowed": stats.peer_allowed,
        }
    return out


async def direct_request(prof: Profile, req: dict[str, Any], node: Node | None) -> dict[str, Any]:
    """Shared by the node and the offline path: show or set policies and ICE servers."""
    cmd = req.get("cmd")
    if cmd == "direct":
        contact = await contacts.find(prof, str(req.get("contact", "")))
        state = req.get("state")
        if state is not None:
            policy = POLICY_WORDS.get(str(state))
            if policy is None:
                raise dp.PolicyError("say on, off or default")
            if node is not None:
                await node.set_direct_policy(contact.id, policy)
            else:
                await dp.set_contact_policy(prof, contact.id, policy)
        return await _direct_json(prof, contact.id, node)
    if cmd == "direct-default":
        level = req.get("level")
        if level is not None:
            await dp.set_global_default(prof, str(level), None if node is None else node.bus)
        value = await dp.global_default(prof)
        out = {"ok": True, "default": value}
        if value != "off":
            out["warning"] = dp.IP_WARNING
        return out
    # ice-servers
    urls = req.get("urls")
    if req.get("clear"):
        urls = []
    if isinstance(urls, list):
        await dp.set_ice_servers(prof, [str(u) for u in urls])
    servers = await dp.ice_servers(prof)
    return {
        "ok": True,
        "servers": [s.url for s in servers],  # credentials are never printed
        "note": "used from the next start of the node",
    }


async def node_command(node: Node, req: dict[str, Any]) -> dict[str, Any] | None:
    """Direct-path commands served by a running node; None if ``req`` is not one of them."""
    if req.get("cmd") not in ("direct", "direct-default", "ice-servers"):
        return None
    return await direct_request(node.profile, req, node)


async def _call(args: argparse.Namespace, req: dict[str, Any], read_passphrase: Any) -> Any:
    if (reply := await control.call_if_running(args.data_dir, req)) is not None:
        return reply
    async with profile.unlocked(args.data_dir, read_passphrase(args, confirm=False)) as prof:
        return await direct_request(prof, req, None)


async def cmd_direct(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req = {"cmd": "direct", "contact": args.contact, "state": args.state}
    return await _call(args, req, read_passphrase)


async def cmd_direct_default(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    return await _call(args, {"cmd": "direct-default", "level": args.level}, read_passphrase)


async def cmd_ice_servers(args: argparse.Namespace, *, read_passphrase: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"cmd": "ice-servers", "clear": args.clear}
    if args.urls:
        req["urls"] = args.urls
    return await _call(args, req, read_passphrase)


def add_parsers(sub: Any, common: argparse.ArgumentParser, read_passphrase: Any) -> None:
    """Register the direct-path commands."""

    def bind(cmd: Any) -> Any:
        return functools.partial(cmd, read_passphrase=read_passphrase)

    p = sub.add_parser(
        "direct",
        parents=[common],
        help="direct connection with a contact: on, off or default (reveals your IP to them)",
    )
    p.add_argument("contact", help="contact id, display name or fingerprint prefix")
    p.add_argument("state", nargs="?", choices=list(POLICY_WORDS), help="omit to show")
    p.set_defaults(func=bind(cmd_direct))

    p = sub.add_parser(
        "direct-default",
        parents=[common],
        help="which contacts get a direct connection by default: verified, known or off",
    )
    p.add_argument("level", nargs="?", choices=["verified", "known", "off"], help="omit to show")
    p.set_defaults(func=bind(cmd_direct_default))

    p = sub.add_parser(
        "ice-servers",
        parents=[common],
        help="STUN/TURN servers for direct connections (they learn your IP address)",
    )
    p.add_argument("urls", nargs="*", help="stun:HOST:PORT or turn:USER:PASS@HOST:PORT")
    p.add_argument("--clear", action="store_true", help="use none (same-network only)")
    p.set_defaults(func=bind(cmd_ice_servers))
