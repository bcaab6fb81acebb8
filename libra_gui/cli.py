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
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import __version__
from .core import errors
from .core.services import profile
from .core.services.paths import default_data_dir

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


Command = Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="libra-cli", description="Libra messenger, headless.")
    parser.add_argument("--version", action="version", version=f"libra-cli {__version__}")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
