"""`libra-cli`: the headless, scriptable face of the same services the GUI uses.

Output is JSON on stdout; errors are one line on stderr and a stable exit code (docs/cli.md).
Passphrases come from a prompt (never echoed) or ``--passphrase-file``; never from argv or the
environment, where other users' processes could read them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import __version__, control
from .core import errors
from .core.services import backup, contacts, profile
from .core.services.events import EventBus
from .core.services.messaging import MessagingService
from .core.services.paths import default_data_dir
from .jsonview import contact_json, history_json

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WRONG_PASSPHRASE = 3
EXIT_NO_PROFILE = 4
EXIT_PROFILE_EXISTS = 5
EXIT_CORRUPT = 6
EXIT_INVALID_INPUT = 7
EXIT_PROFILE_IN_USE = 8

_EXIT_CODES: list[tuple[type[errors.LibraError], int]] = [
    (errors.WrongPassphrase, EXIT_WRONG_PASSPHRASE),
    (errors.ProfileNotFound, EXIT_NO_PROFILE),
    (errors.ProfileExists, EXIT_PROFILE_EXISTS),
    (errors.CorruptStore, EXIT_CORRUPT),
    (errors.ProfileInUse, EXIT_PROFILE_IN_USE),
    (errors.ProtocolError, EXIT_INVALID_INPUT),
]

MIN_PASSPHRASE_CHARS = 8


class UsageError(errors.LibraError):
    """The command line is wrong in a way argparse cannot see (e.g. a weak passphrase)."""


def _read_passphrase(args: argparse.Namespace, *, confirm: bool) -> str:
    if args.passphrase_file is not None:
        try:
            text = Path(args.passphrase_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read passphrase file: {exc.strerror}") from None
        passphrase = text.splitlines()[0] if text else ""
    else:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to ask for the passphrase: use --passphrase-file")
        passphrase = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Repeat passphrase: ") != passphrase:
            raise UsageError("the two passphrases differ")
    if confirm and len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise UsageError(f"choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters")
    if not passphrase:
        raise UsageError("the passphrase is empty")
    return passphrase


async def _cmd_init(args: argparse.Namespace) -> dict[str, Any]:
    passphrase = _read_passphrase(args, confirm=True)
    card = await profile.create_profile(args.data_dir, passphrase, args.name)
    return {"created": str(args.data_dir), "card": card.to_json()}


async def _cmd_whoami(args: argparse.Namespace) -> dict[str, Any]:
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as session:
        card = session.card
    return {"fingerprint": card.fingerprint.hex(), "card": card.to_json()}


async def _cmd_passwd(args: argparse.Namespace) -> dict[str, Any]:
    old = _read_passphrase(args, confirm=False)
    if args.new_passphrase_file is None:
        raise UsageError("give the new passphrase with --new-passphrase-file")
    new_args = argparse.Namespace(passphrase_file=args.new_passphrase_file)
    new = _read_passphrase(new_args, confirm=True)
    await profile.change_passphrase(args.data_dir, old, new)
    return {"changed": True}


async def _cmd_export_card(args: argparse.Namespace) -> dict[str, Any]:
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        card = prof.card
    text = contacts.card_to_text(card)
    if args.out is not None:
        _write_private(args.out, text + "\n")
    return {"fingerprint": card.fingerprint.hex(), "card_text": text, "out": _opt_str(args.out)}


def _read_card_file(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.read(contacts.MAX_CARD_TEXT + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read card file {path}: {exc}") from None


async def _cmd_add_card(args: argparse.Namespace) -> dict[str, Any]:
    text = _read_card_file(args.file)
    card = contacts.card_from_text(text)  # verify before asking for anything else
    if (
        reply := await control.call_if_running(args.data_dir, {"cmd": "add-card", "card": text})
    ) is not None:
        return reply
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        contact = await contacts.add_from_card(prof, card.encode())
    return contact_json(contact)


async def _cmd_contacts(args: argparse.Namespace) -> dict[str, Any]:
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        everyone = await contacts.list_contacts(prof)
    return {"contacts": [contact_json(c) for c in everyone]}


async def _cmd_send(args: argparse.Namespace) -> dict[str, Any]:
    """Through the running node if there is one, else straight into the outbox."""
    request = {"cmd": "send", "contact": args.contact, "text": args.text}
    if (reply := await control.call_if_running(args.data_dir, request)) is not None:
        return reply
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        contact = await contacts.find(prof, args.contact)
        messaging = MessagingService(prof, EventBus())
        msg_id = await messaging.send_text(contact.id, args.text)
        await messaging.close()
    return {"ok": True, "msg_id": msg_id.hex(), "contact": contact.id, "queued_offline": True}


async def _cmd_history(args: argparse.Namespace) -> dict[str, Any]:
    """Newest messages with a contact (through the node if one runs, else from the store)."""
    request = {"cmd": "history", "contact": args.contact, "limit": args.limit}
    if (reply := await control.call_if_running(args.data_dir, request)) is not None:
        return reply
    passphrase = _read_passphrase(args, confirm=False)
    async with profile.unlocked(args.data_dir, passphrase) as prof:
        contact = await contacts.find(prof, args.contact)
        rows = await MessagingService(prof, EventBus()).history(contact.id, args.limit)
    return history_json(contact.id, rows)


async def _cmd_backup(args: argparse.Namespace) -> dict[str, Any]:
    """Unlock (proves the backup will open with this passphrase), then copy the files."""
    passphrase = _read_passphrase(args, confirm=False)
    try:
        async with profile.unlocked(args.data_dir, passphrase) as prof:
            out = await backup.backup(prof, args.out)
    except errors.ProfileInUse:
        raise errors.ProfileInUse(
            "the profile is open (libra-cli run or the Libra app): stop libra-cli run, or use "
            "Settings > Security > Make a backup in the app"
        ) from None
    return {"backup": str(out), "profile": str(args.data_dir)}


async def _cmd_restore(args: argparse.Namespace) -> dict[str, Any]:
    passphrase = _read_passphrase(args, confirm=False)
    await backup.restore(args.source, args.data_dir, passphrase)
    return {"restored": str(args.data_dir), "from": str(args.source)}


async def _cmd_listen(args: argparse.Namespace) -> None:
    async for event in control.request(args.data_dir, {"cmd": "listen"}):
        _print_line(event)


async def _cmd_run(args: argparse.Namespace) -> None:
    from .node_runner import run_node

    passphrase = _read_passphrase(args, confirm=False)
    await run_node(args, passphrase, _print_line)


def _print_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


Command = Callable[[argparse.Namespace], Awaitable[dict[str, Any] | None]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="libra-cli", description="Libra messenger, headless.")
    parser.add_argument("--version", action="version", version=f"libra-cli {__version__}")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="warning",
        help="diagnostics on stderr (never message contents or keys); default: warning",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help=f"profile directory (default: {default_data_dir()})",
    )
    common.add_argument(
        "--passphrase-file",
        type=Path,
        help="read the passphrase from the first line of this file instead of a prompt",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create a new profile")
    p.add_argument("--name", required=True, help="your display name, as contacts will see it")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("whoami", parents=[common], help="show your fingerprint and contact card")
    p.set_defaults(func=_cmd_whoami)

    p = sub.add_parser("passwd", parents=[common], help="change the profile passphrase")
    p.add_argument("--new-passphrase-file", type=Path, help="file with the new passphrase")
    p.set_defaults(func=_cmd_passwd)

    p = sub.add_parser("export-card", parents=[common], help="print (or save) your contact card")
    p.add_argument("--out", type=Path, help="also write the card text to this file")
    p.set_defaults(func=_cmd_export_card)

    p = sub.add_parser("add-card", parents=[common], help="add a contact from a card file")
    p.add_argument("file", type=Path, help="file with the contact's card text")
    p.set_defaults(func=_cmd_add_card)

    p = sub.add_parser("backup", parents=[common], help="copy the encrypted profile to a folder")
    p.add_argument("--out", type=Path, required=True, help="new or empty folder for the backup")
    p.set_defaults(func=_cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="restore a backup into --data-dir")
    p.add_argument("source", type=Path, help="the backup folder")
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser("contacts", parents=[common], help="list your contacts")
    p.set_defaults(func=_cmd_contacts)

    p = sub.add_parser("send", parents=[common], help="send a text message")
    p.add_argument("contact", help="contact id, display name or fingerprint prefix")
    p.add_argument("text", help="the message")
    p.set_defaults(func=_cmd_send)

    p = sub.add_parser("history", parents=[common], help="show messages with a contact")
    p.add_argument("contact", help="contact id, display name or fingerprint prefix")
    p.add_argument("--limit", type=int, default=200, help="newest N messages (default 200)")
    p.set_defaults(func=_cmd_history)

    p = sub.add_parser("listen", parents=[common], help="print incoming events as JSON lines")
    p.set_defaults(func=_cmd_listen)

    from .alias_commands import add_parsers as add_alias_parsers

    add_alias_parsers(sub, common, _read_passphrase)

    from .direct_commands import add_parsers as add_direct_parsers

    add_direct_parsers(sub, common, _read_passphrase)

    from .file_commands import add_parsers as add_file_parsers

    add_file_parsers(sub, common, _read_passphrase)

    p = sub.add_parser("run", parents=[common], help="run the node (tor, inbox, contacts)")
    p.add_argument("--tor-path", type=Path, help="tor binary to use instead of the bundled one")
    p.add_argument(
        "--tor-control",
        help="attach to a running tor instead of starting one: HOST:PORT or unix:/path",
    )
    p.add_argument(
        "--tor-control-password-file",
        type=Path,
        help="password for --tor-control (default: cookie authentication)",
    )
    p.add_argument(
        "--torrc-extra",
        type=Path,
        help="file of extra torrc lines (bridges, pluggable transports, test networks)",
    )
    p.add_argument(
        "--stun",
        action="append",
        metavar="URL",
        help="STUN server for direct connections, stun:HOST:PORT (repeatable; this run only; "
        "it learns your IP address)",
    )
    p.add_argument(
        "--turn",
        action="append",
        metavar="URL",
        help="TURN relay for direct connections, turn:USER:PASS@HOST:PORT (repeatable)",
    )
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    func: Command = args.func
    try:
        result = asyncio.run(func(args))
    except UsageError as exc:
        print(f"libra-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.LibraError as exc:
        print(f"libra-cli: {exc}", file=sys.stderr)
        return next((code for kind, code in _EXIT_CODES if isinstance(exc, kind)), EXIT_ERROR)
    except KeyboardInterrupt:
        print("libra-cli: interrupted", file=sys.stderr)
        return 130
    if result is not None:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
