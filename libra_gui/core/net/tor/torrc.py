"""The torrc Libra gives its own tor, and checks on the user's extra lines.

Every option is explained in docs/tor.md ("What Libra configures and why"). The torrc is
passed on tor's stdin (``-f -``), so bridge lines never sit in a plaintext file on disk.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import TorConfigError

# Options Libra must own: changing them would break control, cookie auth or shutdown.
MANAGED_OPTIONS = frozenset(
    name.lower()
    for name in (
        "DataDirectory",
        "ControlPort",
        "ControlSocket",
        "ControlPortWriteToFile",
        "ControlPortFileGroupReadable",
        "CookieAuthentication",
        "CookieAuthFile",
        "CookieAuthFileGroupReadable",
        "HashedControlPassword",
        "__OwningControllerProcess",
        "RunAsDaemon",
        "SocksPort",
        "Sandbox",
        "User",
    )
)
# Unix socket paths are limited to ~104-108 bytes; leave a margin.
MAX_UNIX_SOCKET_PATH = 100
CONTROL_SOCKET_NAME = "control.sock"
PORT_FILE_NAME = "control.port"
LOG_FILE_NAME = "tor.log"
OUTPUT_FILE_NAME = "tor-output.log"
DEFAULTS_FILE_NAME = "torrc-defaults"

# Keep circuits to contacts warm for an hour after use instead of tor's 30 minutes, so a
# reply after a pause does not wait for new circuits; learn circuit-build timeouts
# adaptively (fast on good links, patient on slow ones); give onion-service streams tor's
# full two minutes in the SOCKS queue, since introduction + rendezvous can be slow.
CIRCUIT_OPTIONS = (
    "LearnCircuitBuildTimeout 1",
    "CircuitsAvailableTimeout 3600",
    "SocksTimeout 120",
)


@dataclass(frozen=True)
class ControlPlan:
    """Where our tor's control listener will be: a unix socket (Linux/macOS) or a port."""

    socket_path: Path | None
    port_file: Path


def plan_control(data_dir: Path) -> ControlPlan:
    """A unix socket in the (0700) data dir where possible, else ``ControlPort auto``.

    A socket in a private directory cannot be reached by other local users at all; a TCP
    port can (they would still need the cookie).
    """
    sock = data_dir / CONTROL_SOCKET_NAME
    use_socket = sys.platform != "win32" and len(str(sock)) <= MAX_UNIX_SOCKET_PATH
    return ControlPlan(sock if use_socket else None, data_dir / PORT_FILE_NAME)


def check_extra_lines(lines: Sequence[str]) -> list[str]:
    """Validate the user's torrc lines; returns them without blanks and comments.

    Raises TorConfigError for a line that would smuggle a second line (CR/LF/NUL) or
    override an option Libra relies on.
    """
    kept: list[str] = []
    for raw in lines:
        if any(c in raw for c in "\r\n\x00"):
            raise TorConfigError(
                f"Extra Tor setting {raw!r} spans several lines; put each setting on its own line."
            )
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        option = line.split(None, 1)[0]
        if option.lower() in MANAGED_OPTIONS:
            hint = " Use Settings → Tor → Sandbox instead." if option.lower() == "sandbox" else ""
            raise TorConfigError(
                f"Extra Tor setting {line!r} changes {option}, which Libra manages itself. "
                f"Remove that line.{hint}"
            )
        kept.append(line)
    return kept


def build_torrc(
    data_dir: Path,
    plan: ControlPlan,
    *,
    owner_pid: int,
    sandbox: bool,
    extra: Sequence[str] = (),
) -> str:
    """The complete torrc for a tor Libra owns (extra lines already checked)."""
    lines = [
        f"DataDirectory {quote_path(data_dir)}",
        f"ControlPort {'unix:' + quote_path(plan.socket_path) if plan.socket_path else 'auto'}",
        f"ControlPortWriteToFile {quote_path(plan.port_file)}",
        "ControlPortFileGroupReadable 0",
        "CookieAuthentication 1",
        "CookieAuthFileGroupReadable 0",
        "SocksPort auto ExtendedErrors IsolateSOCKSAuth KeepAliveIsolateSOCKSAuth",
        f"__OwningControllerProcess {owner_pid}",
        "AvoidDiskWrites 1",
        "SafeLogging 1",
        "ClientOnly 1",
        f"Log notice file {quote_path(data_dir / LOG_FILE_NAME)}",
        *CIRCUIT_OPTIONS,
    ]
    if sandbox:
        lines.append("Sandbox 1")
    lines.extend(extra)
    return "\n".join(lines) + "\n"


def quote_path(path: Path) -> str:
    """Quote a path for torrc when it has spaces (C-style escapes inside double quotes)."""
    text = str(path)
    if re.fullmatch(r"[^\s\"\\#]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TOR_LOG_LINE = re.compile(r"\[(warn|err)\]\s*(.*)")


def tor_complaint(output: str) -> str:
    """Tor's warnings/errors from its console output, most useful first, one string."""
    found = [m.group(2).strip() for m in _TOR_LOG_LINE.finditer(output)]
    useful = [
        text
        for text in found
        if "running Tor as root" not in text and not text.startswith("Reading config failed")
    ]
    return "; ".join(dict.fromkeys(useful or found))[:600]


def is_config_complaint(output: str) -> bool:
    """True if tor's output says its configuration is invalid (not a runtime failure)."""
    return "Failed to parse/validate config" in output or "Reading config failed" in output


def mentions_sandbox(output: str) -> bool:
    low = output.lower()
    return "sandbox" in low or "seccomp" in low
