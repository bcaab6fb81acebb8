"""Where a Libra profile lives on disk, per platform (overridable by --data-dir)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_data_dir() -> Path:
    """Per-user data directory: XDG on Linux, Application Support on macOS, APPDATA on Windows."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / "Libra"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Libra"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "libra"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` readable only by the user (0700); tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        path.chmod(0o700)
    return path
