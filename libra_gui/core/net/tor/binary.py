"""Finding the ``tor`` program: user setting, then the bundled copy, then the system's."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path

from .errors import TorNotFound
from .torrc import quote_path

_EXE = "tor.exe" if sys.platform == "win32" else "tor"
# Debian/Ubuntu put tor in /usr/sbin, which is not on a normal user's PATH.
_SYSTEM_DIRS = (
    Path("/usr/sbin"),
    Path("/usr/bin"),
    Path("/usr/local/bin"),
    Path("/usr/local/sbin"),
    Path("/opt/homebrew/bin"),
)
# libra_gui/core/net/tor/binary.py -> repository (or install) root holding bundled_tor/.
_PACKAGE_PARENT = Path(__file__).resolve().parents[4]


def platform_dir() -> str:
    """Folder name under ``bundled_tor/`` for this platform, e.g. ``linux-x86_64``."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "win32":
        return f"windows-{machine}"
    if sys.platform == "darwin":
        return "macos-universal"
    return f"{sys.platform.rstrip('0123456789')}-{machine}"


def bundled_candidates() -> list[Path]:
    """Where a bundled tor may live: inside a frozen (PyInstaller) app, then next to the
    package (a source checkout or an unpacked release)."""
    roots: list[Path] = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        roots.append(Path(frozen_root))
    roots.append(_PACKAGE_PARENT)
    return [root / "bundled_tor" / platform_dir() / _EXE for root in roots]


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_tor(configured: Path | None = None) -> Path:
    """The tor program to run; raises TorNotFound with advice if there is none.

    A configured path is used or refused, never silently replaced: the user chose it.
    """
    if configured is not None:
        path = Path(configured).expanduser()
        if _usable(path):
            return path
        why = "does not exist" if not path.exists() else "is not an executable program"
        raise TorNotFound(
            f"The Tor program set in Settings → Tor ({path}) {why}. Choose the tor program "
            "there, or clear the setting to use the Tor that comes with Libra."
        )
    for candidate in bundled_candidates():
        if _usable(candidate):
            return candidate
    found = shutil.which(_EXE)
    if found:
        return Path(found)
    for directory in _SYSTEM_DIRS:
        if _usable(directory / _EXE):
            return directory / _EXE
    raise TorNotFound(
        "Libra could not find the Tor program. Reinstall Libra (its installer includes Tor), "
        "install Tor from your system's package manager (e.g. `apt install tor`), or set "
        "its location in Settings → Tor."
    )


def geoip_lines(tor: Path) -> list[str]:
    """GeoIPFile/GeoIPv6File lines for a bundled tor whose MANIFEST.json names its geoip
    databases (bundled_tor/fetch.py writes it); [] for any other tor, which finds its own.

    Without them a bundled tor logs a warning and cannot honour country options
    (ExcludeNodes {cc}); nothing else changes. A damaged manifest is ignored, not fatal.
    """
    manifest = tor.parent / "MANIFEST.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    lines = []
    if not isinstance(entries, dict):
        return []
    for option, key in (("GeoIPFile", "geoip"), ("GeoIPv6File", "geoip6")):
        name = entries.get(key)
        path = tor.parent / name if isinstance(name, str) and "/" not in name else None
        if path is not None and path.is_file():
            lines.append(f"{option} {quote_path(path)}")
    return lines
