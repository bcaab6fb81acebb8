"""The app's settings, kept in the encrypted store: how Libra reaches Tor, privacy defaults,
appearance, and changing the passphrase.

Each group is one small JSON record in the store's settings table (``app.tor``,
``app.privacy``, ``app.appearance``). Reading is forgiving: a missing, damaged or unknown
value falls back to its default, so a preference can never stop a profile from opening.
Writing is strict: everything is validated first and refused with a typed
:class:`SettingsError` whose message says what is wrong.

Settings owned by other services stay there and are only gathered here for the settings
screen: the direct-path default and STUN/TURN servers (``direct_policy``), the file policy
(``files``) and whether my alias is findable (``aliases``).

Tor: :func:`tor_settings_from` turns :class:`TorPrefs` into the ``TorSettings`` the node
runs with. Bridges are pasted as the lines bridges.torproject.org hands out; they become
``Bridge`` lines plus ``UseBridges 1`` plus one ``ClientTransportPlugin`` line per
pluggable-transport program that is actually installed (the bundled one first).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import LibraError
from ..net.tor.binary import bundled_candidates
from ..net.tor.errors import TorConfigError
from ..net.tor.settings import ControlEndpoint, TorSettings
from ..net.tor.torrc import check_extra_lines
from ..net.webrtc.attempt import IceServer
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from . import direct_policy
from .aliases import AliasService
from .events import EventBus
from .files import MAX_FILE_SIZE, load_policy, save_policy
from .profile import Profile
from .trust import DIRECT_DEFAULTS

TOR_KEY = "app.tor"
PRIVACY_KEY = "app.privacy"
APPEARANCE_KEY = "app.appearance"

TOR_MODES = ("bundled", "system", "custom", "attach")
"""bundled: the Tor that comes with Libra (else the system's, as ``find_tor`` does);
system: only a Tor installed on this computer; custom: a program the user chose;
attach: a Tor someone else runs, reached through its control port or socket."""
THEMES = ("system", "light", "dark")
NOTIFICATION_MODES = ("name_only", "name_and_message", "hidden", "off")
"""What a desktop notification may show: the sender only (default: notifications appear on
lock screens and in screen shares), sender and text, nothing but "New message", or no
notifications at all."""

MIN_PASSPHRASE_CHARS = 8  # the CLI's rule (cli.MIN_PASSPHRASE_CHARS); a test keeps them equal
MAX_BRIDGES = 64
MAX_EXTRA_LINES = 200
MAX_LINE_CHARS = 2000
CIRCUIT_TIMEOUT_RANGE = (10, 300)  # seconds; tor's own default is to learn it (about 60)
BOOTSTRAP_TIMEOUT_RANGE = (30, 1800)  # seconds without progress before "stuck"
DEFAULT_BOOTSTRAP_TIMEOUT = 120

# Options an extra line may not set, beyond the ones tor/torrc.py reserves for Libra: they
# would turn this computer into a relay, publish a second onion service behind Libra's
# back, or read other files into the configuration.
FORBIDDEN_EXTRA = frozenset(
    name.lower()
    for name in (
        "%include",
        "ORPort",
        "DirPort",
        "BridgeRelay",
        "ExitRelay",
        "ClientOnly",
        "PublishServerDescriptor",
        "HiddenServiceDir",
        "HiddenServicePort",
    )
)

# Which program speaks which transport, when no MANIFEST.json says so (most preferred
# first). lyrebird is obfs4proxy's successor and also speaks webtunnel.
TRANSPORT_PROGRAMS: dict[str, tuple[str, ...]] = {
    "obfs4": ("lyrebird", "obfs4proxy"),
    "meek_lite": ("lyrebird", "obfs4proxy"),
    "webtunnel": ("lyrebird", "webtunnel-client"),
    "snowflake": ("snowflake-client",),
    "conjure": ("conjure-client",),
}
_PROGRAM_DIRS = (
    Path("/usr/bin"),
    Path("/usr/local/bin"),
    Path("/usr/sbin"),
    Path("/opt/homebrew/bin"),
)
_TOR_EXE = "tor.exe" if sys.platform == "win32" else "tor"


# --- errors ---------------------------------------------------------------------------------


class SettingsError(LibraError):
    """A setting that cannot be saved (the message says which and why)."""


class BridgeLineError(SettingsError):
    """A pasted bridge line that is not a valid bridge."""

    def __init__(self, message: str, line_number: int | None = None) -> None:
        super().__init__(message)
        self.line_number = line_number


class TransportMissing(SettingsError):
    """Bridges need a pluggable-transport program that is not installed."""

    def __init__(self, message: str, transport: str) -> None:
        super().__init__(message)
        self.transport = transport


class TorLineError(SettingsError):
    """An extra torrc line that Libra refuses (it would break Libra or is malformed)."""


class TorProgramError(SettingsError):
    """The chosen Tor program, or the running Tor to attach to, is not usable as given."""


class PassphraseTooShort(SettingsError):
    """The new passphrase is shorter than the minimum."""


# --- bridges --------------------------------------------------------------------------------

_TRANSPORT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FINGERPRINT = re.compile(r"\$?[0-9A-Fa-f]{40}")
_PARAM = re.compile(r"([A-Za-z0-9_.-]+)=(\S+)")
_SKIPPED = ("usebridges", "clienttransportplugin")  # Libra writes these itself


@dataclass(frozen=True)
class Bridge:
    """One bridge: ``[transport] address:port [fingerprint] [key=value ...]``."""

    transport: str | None
    address: str  # "192.0.2.1:443" or "[2001:db8::1]:443"
    fingerprint: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        """The bridge line as it is shared (what the settings screen shows)."""
        parts = [self.transport] if self.transport else []
        parts.append(self.address)
        if self.fingerprint:
            parts.append(self.fingerprint)
        parts.extend(f"{key}={value}" for key, value in self.params)
        return " ".join(parts)

    def torrc(self) -> str:
        return f"Bridge {self.line()}"


def _address(text: str) -> str | None:
    """``ip:port`` normalised, or None. Tor wants an IP address here, not a host name."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        return None
    if ip.version == 6 and not bracketed:
        return None
    return f"[{ip.compressed}]:{int(port)}" if ip.version == 6 else f"{ip}:{int(port)}"


def parse_bridge_line(text: str, line_number: int | None = None) -> Bridge:
    """Parse one bridge line (with or without a leading ``Bridge``); BridgeLineError if it
    is not one."""
    where = f"Line {line_number}: " if line_number is not None else ""
    if any(unicodedata.category(c) in ("Cc", "Cf") and c != "\t" for c in text):
        raise BridgeLineError(f"{where}the line holds invisible control characters", line_number)
    words = text.split()
    if words and words[0].lower() == "bridge":
        words = words[1:]
    if not words:
        raise BridgeLineError(f"{where}the line is empty after 'Bridge'", line_number)
    transport: str | None = None
    if _address(words[0]) is None:
        transport = words[0].lower()
        words = words[1:]
        if not _TRANSPORT_NAME.fullmatch(transport):
            raise BridgeLineError(
                f"{where}{text.strip()[:80]!r} does not start with a bridge type (like obfs4) "
                "or an address (like 192.0.2.10:443)",
                line_number,
            )
        if not words:
            raise BridgeLineError(f"{where}the {transport} bridge has no address", line_number)
    address = _address(words[0])
    if address is None:
        raise BridgeLineError(
            f"{where}{words[0][:60]!r} is not an IP address with a port (like 192.0.2.10:443)",
            line_number,
        )
    words = words[1:]
    fingerprint = None
    if words and _FINGERPRINT.fullmatch(words[0]):
        fingerprint = words[0].lstrip("$").upper()
        words = words[1:]
    params: list[tuple[str, str]] = []
    for word in words:
        match = _PARAM.fullmatch(word)
        if match is None:
            raise BridgeLineError(
                f"{where}{word[:60]!r} is neither a fingerprint (40 hex digits) nor a "
                "key=value setting; was the line cut or joined with another?",
                line_number,
            )
        params.append((match.group(1), match.group(2)))
    if transport is None and params:
        raise BridgeLineError(
            f"{where}a plain bridge (no type) takes no key=value settings", line_number
        )
    keys = {key for key, _value in params}
    if transport == "obfs4" and "cert" not in keys:
        raise BridgeLineError(
            f"{where}an obfs4 bridge needs its cert=… part; copy the whole line", line_number
        )
    if transport in ("webtunnel", "meek_lite") and "url" not in keys:
        raise BridgeLineError(
            f"{where}a {transport} bridge needs its url=… part; copy the whole line", line_number
        )
    return Bridge(transport, address, fingerprint, tuple(params))


def parse_bridges(text: str | Iterable[str]) -> list[Bridge]:
    """Every bridge in pasted text: one per line; blank lines, ``#`` comments and the
    ``UseBridges`` / ``ClientTransportPlugin`` lines of older instructions are skipped
    (Libra writes those itself); duplicates are dropped."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    bridges: list[Bridge] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.split(None, 1)[0].lower() in _SKIPPED:
            continue
        if len(line) > MAX_LINE_CHARS:
            raise BridgeLineError(f"Line {number}: the line is too long", number)
        bridge = parse_bridge_line(line, number)
        if bridge.line() not in seen:
            seen.add(bridge.line())
            bridges.append(bridge)
    if len(bridges) > MAX_BRIDGES:
        raise BridgeLineError(f"at most {MAX_BRIDGES} bridges; remove some")
    return bridges


def _clientplugin_transports(extra: Sequence[str]) -> set[str]:
    """Transports the user's own ClientTransportPlugin lines already provide."""
    found: set[str] = set()
    for line in extra:
        words = line.split()
        if len(words) >= 2 and words[0].lower() == "clienttransportplugin":
            found.update(t.strip().lower() for t in words[1].split(","))
    return found


def transport_program(
    transport: str, tor_path: Path | None = None, *, search_path: str | None = None
) -> Path | None:
    """The installed program that speaks ``transport``, or None.

    Looks next to the Tor that will run first (a bundle's MANIFEST.json, then its
    ``pluggable_transports/`` folder), then on PATH (``search_path`` replaces it), then in
    the usual system folders.
    """
    names = TRANSPORT_PROGRAMS.get(transport, ())
    for tor_dir in _tor_dirs(tor_path):
        manifest = tor_dir / "MANIFEST.json"
        if manifest.is_file():
            try:
                offered = json.loads(manifest.read_text(encoding="utf-8")).get("transports") or {}
            except (OSError, ValueError, AttributeError):
                offered = {}
            for rel, speaks in sorted(offered.items()):
                if transport in speaks and _usable(tor_dir / rel):
                    return tor_dir / rel
        for name in names:
            for candidate in (tor_dir / "pluggable_transports" / name, tor_dir / name):
                for path in (candidate, candidate.with_suffix(".exe")):
                    if _usable(path):
                        return path
    for name in names:
        found = shutil.which(name, path=search_path)
        if found:
            return Path(found)
    if search_path is None:
        for directory in _PROGRAM_DIRS:
            for name in names:
                if _usable(directory / name):
                    return directory / name
    return None


def _tor_dirs(tor_path: Path | None) -> list[Path]:
    if tor_path is not None:
        return [Path(tor_path).expanduser().parent]
    return [c.parent for c in bundled_candidates() if _usable(c)]


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def bridge_lines(
    bridges: Sequence[Bridge],
    tor_path: Path | None,
    extra: Sequence[str] = (),
    *,
    strict: bool = True,
    search_path: str | None = None,
) -> list[str]:
    """``UseBridges 1``, the ClientTransportPlugin lines and the ``Bridge`` lines.

    A transport without a program: TransportMissing if ``strict`` (saving), else its
    plugin line is left out (starting: tor then says it lacks the transport).
    """
    if not bridges:
        return []
    provided = _clientplugin_transports(extra)
    by_program: dict[Path, list[str]] = {}
    for transport in dict.fromkeys(b.transport for b in bridges if b.transport):
        if transport in provided:
            continue
        program = transport_program(transport, tor_path, search_path=search_path)
        if program is None or any(c.isspace() for c in str(program)):
            if not strict:
                continue
            if program is not None:
                raise TransportMissing(
                    f"The {transport} program is in a folder whose name has spaces "
                    f"({program}), which Tor cannot use. Add your own ClientTransportPlugin "
                    "line in the extra Tor settings.",
                    transport,
                )
            known = " or ".join(TRANSPORT_PROGRAMS.get(transport, ()))
            needs = f" ({known})" if known else ""
            raise TransportMissing(
                f"{transport} bridges need a program{needs} that was not found on this "
                "computer. Reinstall Libra (it includes obfs4 and snowflake), use another "
                "kind of bridge, or add a ClientTransportPlugin line in the extra Tor settings.",
                transport,
            )
        by_program.setdefault(program, []).append(transport)
    plugins = [
        f"ClientTransportPlugin {','.join(names)} exec {program}"
        for program, names in by_program.items()
    ]
    return ["UseBridges 1", *plugins, *(b.torrc() for b in bridges)]


# --- extra torrc lines ----------------------------------------------------------------------

_OPTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_extra_torrc(lines: Iterable[str]) -> list[str]:
    """The user's extra torrc lines, validated; blanks and comments dropped.

    Refused (TorLineError): a line Libra's own settings depend on (control port, SOCKS port,
    data directory, cookie authentication...), one that would make this computer a relay or
    publish an onion service, ``%include``, control characters, or something that is not
    ``Option value``.
    """
    lines = list(lines)
    try:
        kept = check_extra_lines(lines)
    except TorConfigError as exc:
        raise TorLineError(str(exc)) from None
    if len(kept) > MAX_EXTRA_LINES:
        raise TorLineError(f"at most {MAX_EXTRA_LINES} extra Tor settings")
    for line in kept:
        option = line.split(None, 1)[0]
        if option.lower() in FORBIDDEN_EXTRA:
            raise TorLineError(
                f"Extra Tor setting {line[:80]!r}: Libra does not allow {option} (it would "
                "make this computer serve others or load other files). Remove that line."
            )
        if not _OPTION.fullmatch(option) or len(line) > MAX_LINE_CHARS:
            raise TorLineError(
                f"Extra Tor setting {line[:80]!r} is not of the form 'Option value'. "
                "Correct or remove it."
            )
        if any(unicodedata.category(c) == "Cc" and c != "\t" for c in line):
            raise TorLineError(f"Extra Tor setting {line[:80]!r} holds control characters.")
    return kept


# --- Tor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorPrefs:
    """How Libra reaches Tor (the Tor page of the settings)."""

    mode: str = "bundled"
    tor_path: str | None = None  # mode "custom"
    attach_host: str = "127.0.0.1"  # mode "attach": a control port ...
    attach_port: int | None = None
    attach_socket: str | None = None  # ... or a control socket
    attach_password: str | None = field(default=None, repr=False)  # None: cookie auth
    use_bridges: bool = False
    bridges: tuple[str, ...] = ()  # bridge lines, normalised (Bridge.line())
    extra_torrc: tuple[str, ...] = ()
    circuit_build_timeout: int | None = None  # seconds; None: tor learns it
    bootstrap_timeout: int = DEFAULT_BOOTSTRAP_TIMEOUT

    def endpoint(self) -> ControlEndpoint | None:
        """The running Tor to attach to (mode "attach"), else None."""
        if self.mode != "attach":
            return None
        if self.attach_socket:
            return ControlEndpoint(
                socket_path=Path(self.attach_socket), password=self.attach_password or None
            )
        return ControlEndpoint(
            host=self.attach_host or "127.0.0.1",
            port=self.attach_port,
            password=self.attach_password or None,
        )


def parse_control_address(text: str) -> tuple[str, int | None, str | None]:
    """``HOST:PORT``, ``PORT`` or a socket path (``unix:/path`` or ``/path``) ->
    (host, port, socket path); TorProgramError if it is none of those."""
    text = text.strip()
    if text.startswith("unix:"):
        text = text[5:]
    if text.startswith(("/", "~")) or (sys.platform == "win32" and "\\" in text):
        return "127.0.0.1", None, str(Path(text).expanduser())
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
        raise TorProgramError(
            f"{text[:80]!r} is not a control port: use HOST:PORT (e.g. 127.0.0.1:9051) or the "
            "path of tor's control socket"
        )
    return host, int(port), None


def system_tor() -> Path | None:
    """A Tor installed on this computer (never the bundled one)."""
    found = shutil.which(_TOR_EXE)
    bundled = {c.resolve() for c in bundled_candidates()}
    if found and Path(found).resolve() not in bundled:
        return Path(found)
    for directory in (Path("/usr/sbin"), *_PROGRAM_DIRS):
        if _usable(directory / _TOR_EXE):
            return directory / _TOR_EXE
    return None


def tor_program(prefs: TorPrefs) -> Path | None:
    """The program setting for TorSettings.tor_path (None: bundled, else the system's)."""
    if prefs.mode == "custom" and prefs.tor_path:
        return Path(prefs.tor_path).expanduser()
    if prefs.mode == "system":
        # None installed: name where it usually is, so starting says "not found" plainly.
        return system_tor() or Path("/usr/bin") / _TOR_EXE
    return None


def validate_tor(prefs: TorPrefs, *, search_path: str | None = None) -> TorPrefs:
    """``prefs`` checked and normalised (bridge lines re-written, blanks dropped)."""
    if prefs.mode not in TOR_MODES:
        raise TorProgramError(f"unknown Tor mode {prefs.mode!r}")
    tor_path = (prefs.tor_path or "").strip() or None
    if prefs.mode == "custom":
        if tor_path is None:
            raise TorProgramError("choose the Tor program (the file called tor or tor.exe)")
        path = Path(tor_path).expanduser()
        if not _usable(path):
            why = "does not exist" if not path.exists() else "is not a program"
            raise TorProgramError(f"{path} {why}: choose the Tor program file")
    if prefs.mode == "attach":
        try:
            replace(prefs, mode="attach").endpoint()
        except ValueError as exc:
            raise TorProgramError(
                f"the running Tor needs a control port or socket: {exc}"
            ) from None
    bridges = parse_bridges(prefs.bridges)
    extra = check_extra_torrc(prefs.extra_torrc)
    if prefs.use_bridges and not bridges:
        raise BridgeLineError("'Use bridges' is on, but no bridge lines were given")
    if prefs.use_bridges and prefs.mode != "attach":
        bridge_lines(
            bridges,
            tor_program(replace(prefs, tor_path=tor_path)),
            extra,
            search_path=search_path,
        )
    low, high = CIRCUIT_TIMEOUT_RANGE
    timeout = prefs.circuit_build_timeout
    if timeout is not None and not low <= timeout <= high:
        raise SettingsError(f"the circuit build timeout must be {low}-{high} seconds")
    low, high = BOOTSTRAP_TIMEOUT_RANGE
    if not low <= prefs.bootstrap_timeout <= high:
        raise SettingsError(f"the connection timeout must be {low}-{high} seconds")
    return replace(
        prefs,
        tor_path=tor_path,
        bridges=tuple(b.line() for b in bridges),
        extra_torrc=tuple(extra),
    )


def tor_settings_from(
    prefs: TorPrefs, base: TorSettings, *, search_path: str | None = None
) -> TorSettings:
    """The TorSettings the node runs with: ``base`` (data dir, sandbox, restart policy) with
    the program, attach endpoint, bridges, extra lines and timeouts from ``prefs``.

    Never raises for stored prefs that worked when saved: a bridge transport whose program
    has gone since is left without a plugin line (tor then reports it), an invalid attach
    endpoint falls back to running Libra's own tor.
    """
    try:
        attach = prefs.endpoint()
    except ValueError:
        attach = None
    tor_path = tor_program(prefs)
    try:
        extra = check_extra_torrc(prefs.extra_torrc)
    except TorLineError:
        extra = []  # written by hand into the store, or an older rule: better none than all
    lines: list[str] = []
    if prefs.circuit_build_timeout is not None:
        lines += [
            "LearnCircuitBuildTimeout 0",
            f"CircuitBuildTimeout {prefs.circuit_build_timeout}",
        ]
    if prefs.use_bridges:
        try:
            bridges = parse_bridges(prefs.bridges)
        except BridgeLineError:
            bridges = []
        lines += bridge_lines(bridges, tor_path, extra, strict=False, search_path=search_path)
    lines += extra
    return replace(
        base,
        tor_path=tor_path,
        attach=attach,
        extra_torrc=tuple(lines),
        bootstrap_timeout=float(prefs.bootstrap_timeout),
    )


# --- privacy and appearance -----------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyPrefs:
    """Who may learn what: the Privacy page (findable lives in aliases.AliasService)."""

    direct_default: str = "verified"  # trust.DIRECT_DEFAULTS
    ice_servers: tuple[str, ...] = ()  # stun:/turn: URLs, credentials as user:pass@
    file_auto_accept: bool = False
    file_max_size: int = 4 << 30
    notifications: str = "name_only"  # NOTIFICATION_MODES

    def notification_flags(self) -> tuple[bool, bool, bool]:
        """(enabled, show sender, show text) for the notifier (ui/notify.py)."""
        return {
            "name_and_message": (True, True, True),
            "hidden": (True, False, False),
            "off": (False, False, False),
        }.get(self.notifications, (True, True, False))


@dataclass(frozen=True)
class AppearancePrefs:
    theme: str = "system"
    language: str = ""  # "" follows the system; else a code like "de"


_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")


def validate_appearance(prefs: AppearancePrefs) -> AppearancePrefs:
    if prefs.theme not in THEMES:
        raise SettingsError(f"the theme must be one of {', '.join(THEMES)}")
    if prefs.language and not _LANGUAGE.fullmatch(prefs.language):
        raise SettingsError(f"{prefs.language[:20]!r} is not a language code like 'de'")
    return prefs


def validate_privacy(prefs: PrivacyPrefs) -> PrivacyPrefs:
    if prefs.direct_default not in DIRECT_DEFAULTS:
        raise SettingsError(f"the direct default must be one of {', '.join(DIRECT_DEFAULTS)}")
    if prefs.notifications not in NOTIFICATION_MODES:
        raise SettingsError(f"unknown notification mode {prefs.notifications!r}")
    if not 0 <= prefs.file_max_size <= MAX_FILE_SIZE:
        raise SettingsError(f"the file size limit must be at most {MAX_FILE_SIZE >> 30} GiB")
    urls = tuple(u.strip() for u in prefs.ice_servers if u.strip())
    if len(urls) > direct_policy.MAX_ICE_SERVERS:
        raise direct_policy.PolicyError(
            f"at most {direct_policy.MAX_ICE_SERVERS} STUN/TURN servers"
        )
    for url in urls:
        direct_policy.parse_ice_url(url)
    return replace(prefs, ice_servers=urls)


_OPTIONAL_INT = frozenset({"attach_port", "circuit_build_timeout"})
_OPTIONAL_STR = frozenset({"tor_path", "attach_socket", "attach_password"})


def _accepts(name: str, default: object, value: object) -> bool:
    """Whether a stored value has the field's type (bool and int kept apart)."""
    if name in _OPTIONAL_INT:
        return value is None or type(value) is int
    if name in _OPTIONAL_STR:
        return value is None or isinstance(value, str)
    if isinstance(default, tuple):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return type(value) is type(default)


def _decode(cls: type[Any], raw: bytes | None) -> Any:
    """A prefs record from JSON: each field that is missing or of the wrong type keeps its
    default (a damaged or newer record never stops a profile from opening)."""
    default = cls()
    try:
        data = json.loads(raw) if raw is not None else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    values = {
        f.name: tuple(data[f.name]) if isinstance(data[f.name], list) else data[f.name]
        for f in fields(cls)
        if f.name in data and _accepts(f.name, getattr(default, f.name), data[f.name])
    }
    return replace(default, **values)


def _encode(prefs: Any) -> bytes:
    return json.dumps(asdict(prefs), sort_keys=True).encode()


def load_tor(conn: Connection) -> TorPrefs:
    prefs = _decode(TorPrefs, settings_repo.get(conn, TOR_KEY))
    return prefs if prefs.mode in TOR_MODES else replace(prefs, mode="bundled")


def load_appearance(conn: Connection) -> AppearancePrefs:
    prefs = _decode(AppearancePrefs, settings_repo.get(conn, APPEARANCE_KEY))
    try:
        return validate_appearance(prefs)
    except SettingsError:
        return AppearancePrefs()


def _load_privacy(conn: Connection) -> PrivacyPrefs:
    stored = _decode(PrivacyPrefs, settings_repo.get(conn, PRIVACY_KEY))
    raw = settings_repo.get(conn, direct_policy.DEFAULT_SETTING)
    default = raw.decode() if raw else "verified"
    policy = load_policy(conn)
    notifications = stored.notifications
    return PrivacyPrefs(
        direct_default=default if default in DIRECT_DEFAULTS else "verified",
        ice_servers=tuple(_ice_url(s) for s in _load_ice(conn)),
        file_auto_accept=policy.auto_accept,
        file_max_size=policy.max_file_size,
        notifications=notifications if notifications in NOTIFICATION_MODES else "name_only",
    )


def _load_ice(conn: Connection) -> list[IceServer]:
    raw = settings_repo.get(conn, direct_policy.ICE_SETTING)
    try:
        return [IceServer(**item) for item in json.loads(raw)] if raw else []
    except (ValueError, TypeError):
        return []


def _ice_url(server: IceServer) -> str:
    """An IceServer back into the URL the user typed (credentials as ``user:pass@``)."""
    if not server.username:
        return str(server.url)
    scheme, _, rest = str(server.url).partition(":")
    user = quote(server.username, safe="")
    secret = quote(server.credential or "", safe="")
    return f"{scheme}:{user}:{secret}@{rest}"


async def tor_prefs(profile: Profile) -> TorPrefs:
    return await profile.db.run(load_tor)


async def save_tor(profile: Profile, prefs: TorPrefs) -> TorPrefs:
    """Validate and store; returns what was stored (normalised)."""
    checked = validate_tor(prefs)
    data = _encode(checked)
    await profile.db.transaction(lambda conn: settings_repo.put(conn, TOR_KEY, data))
    return checked


async def stored_tor_settings(profile: Profile, data_dir: Path) -> TorSettings:
    """What ``libra-cli run`` and the app start tor with when nothing overrides it:
    the stored Tor settings on top of the defaults, tor's DataDirectory ``data_dir``."""
    return tor_settings_from(await tor_prefs(profile), TorSettings(data_dir=Path(data_dir)))


async def appearance(profile: Profile) -> AppearancePrefs:
    return await profile.db.run(load_appearance)


async def save_appearance(profile: Profile, prefs: AppearancePrefs) -> AppearancePrefs:
    checked = validate_appearance(prefs)
    data = _encode(checked)
    await profile.db.transaction(lambda conn: settings_repo.put(conn, APPEARANCE_KEY, data))
    return checked


async def privacy(profile: Profile) -> PrivacyPrefs:
    return await profile.db.run(_load_privacy)


async def save_privacy(
    profile: Profile, prefs: PrivacyPrefs, bus: EventBus | None = None
) -> PrivacyPrefs:
    """Validate everything, then store it in one transaction (the direct default, ICE
    servers and file policy where their services keep them)."""
    checked = validate_privacy(prefs)
    servers = [direct_policy.parse_ice_url(u) for u in checked.ice_servers]
    ice = json.dumps([asdict(s) for s in servers]).encode()
    own = json.dumps({"notifications": checked.notifications}).encode()

    def store(conn: Connection) -> bool:
        raw = settings_repo.get(conn, direct_policy.DEFAULT_SETTING)
        changed = (raw.decode() if raw else "verified") != checked.direct_default
        settings_repo.put(conn, direct_policy.DEFAULT_SETTING, checked.direct_default.encode())
        settings_repo.put(conn, direct_policy.ICE_SETTING, ice)
        policy = load_policy(conn)
        save_policy(
            conn,
            replace(
                policy,
                auto_accept=checked.file_auto_accept,
                max_file_size=checked.file_max_size,
            ),
        )
        settings_repo.put(conn, PRIVACY_KEY, own)
        return changed

    if await profile.db.transaction(store) and bus is not None:
        bus.publish(direct_policy.DirectPolicyChanged(None, checked.direct_default))
    return checked


@dataclass(frozen=True)
class Snapshot:
    """Everything the settings screen shows, read at once."""

    tor: TorPrefs
    privacy: PrivacyPrefs
    appearance: AppearancePrefs
    findable: bool
    beacon_private: bool = False
    beacon_one_time: bool = False
    beacon_expires: int | None = None


async def snapshot(profile: Profile, aliases: AliasService) -> Snapshot:
    """The settings of every group (cheap: no Argon2id, the alias words are not derived)."""

    def read(conn: Connection) -> tuple[TorPrefs, PrivacyPrefs, AppearancePrefs]:
        return load_tor(conn), _load_privacy(conn), load_appearance(conn)

    tor, priv, look = await profile.db.run(read)
    beacon = await aliases.config()
    return Snapshot(
        tor=tor,
        privacy=priv,
        appearance=look,
        findable=beacon.findable,
        beacon_private=beacon.private,
        beacon_one_time=beacon.one_time,
        beacon_expires=beacon.expires,
    )


# --- security -------------------------------------------------------------------------------


async def change_passphrase(profile: Profile, current: str, new: str) -> None:
    """Re-key the open profile (Argon2id twice, on the store's thread; crash-safe, see
    docs/storage.md). WrongPassphrase if ``current`` is wrong: nothing changes then."""
    if len(new) < MIN_PASSPHRASE_CHARS:
        raise PassphraseTooShort(
            f"the new passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
        )
    if new == current:
        raise SettingsError("the new passphrase is the same as the current one")
    await profile.db.change_passphrase(current, new)
