"""What the PyInstaller spec leaves out of (or strips from) the bundle, and why.

PyInstaller's Qt hooks copy every plugin of every Qt module Libra imports, and then every
system library those plugins link: kiosk (eglfs, linuxfb, VNC) platforms, GTK's whole stack
for one theme plugin, TLS and network-information plugins Libra never loads. The size goal
(docs/benchmarks.md) needs them gone, and a plugin that is not shipped cannot misbehave on a
user's desktop. Kept: what a desktop session needs (X11, Wayland, input methods, portal
dialogs, native styles on Windows/macOS, common image formats) plus ``offscreen`` for the
self-test. Imported by installers/libra.spec; unit-tested in tests/test_packaging.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

# Plugin folder -> plugin names kept (name without lib prefix and .so/.dll/.dylib suffix).
# A folder that is not listed is dropped entirely; None keeps the whole folder.
QT_PLUGINS: dict[str, frozenset[str] | None] = {
    "platforms": frozenset({"qxcb", "qwayland", "qoffscreen", "qwindows", "qcocoa"}),
    "platformthemes": frozenset({"qxdgdesktopportal"}),  # portal file dialogs; gtk3 pulls GTK
    "platforminputcontexts": None,  # compose key, IBus (CJK input, dead keys)
    "styles": None,  # the native look on Windows and macOS
    "imageformats": frozenset({"qjpeg", "qgif", "qwebp", "qsvg", "qico"}),
    "iconengines": frozenset({"qsvgicon"}),
    "wayland-shell-integration": frozenset({"xdg-shell"}),  # what desktop compositors speak
    "wayland-decoration-client": None,  # window frames where the compositor draws none
}
# Qt's own catalogues (OK/Cancel in standard dialogs) are kept only for languages Libra
# itself is translated into: translations/libra_<lang>.qm.
_QT_CATALOGUE = re.compile(r"(qt|qtbase)_([a-zA-Z_]+)\.qm")


def _plugin_name(filename: str) -> str:
    stem = filename.split(".")[0]
    return stem[3:] if stem.startswith("lib") else stem


def keep_qt_plugin(dest: str) -> bool:
    """Whether a file under ``PySide6/.../plugins/<folder>/`` is kept (other files: True)."""
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    if "plugins" not in parts:
        return True
    at = parts.index("plugins")
    if "PySide6" not in parts[:at] or len(parts) < at + 3:
        return True
    folder, filename = parts[at + 1], parts[-1]
    if folder not in QT_PLUGINS:
        return False
    allowed = QT_PLUGINS[folder]
    return allowed is None or _plugin_name(filename) in allowed


def keep_qt_translation(dest: str, languages: Iterable[str]) -> bool:
    """Whether a Qt catalogue is kept: only for languages Libra ships (others: True)."""
    path = PurePosixPath(dest.replace("\\", "/"))
    if "translations" not in path.parts or "PySide6" not in path.parts:
        return True
    match = _QT_CATALOGUE.fullmatch(path.name)
    if not match:
        return False  # qtdeclarative_*, qtmultimedia_*, ...: modules Libra does not use
    lang = match.group(2)
    wanted = set(languages)
    return lang in wanted or lang.split("_")[0] in wanted


def app_languages(translations: Path) -> set[str]:
    """Languages Libra is translated into, from translations/libra_<lang>.qm."""
    return {p.stem.removeprefix("libra_") for p in translations.glob("libra_*.qm")}


def elf_needed(path: Path) -> set[str]:
    """DT_NEEDED names of an ELF file (``readelf -d``); empty for non-ELF files."""
    try:
        out = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def _is_shared_lib(dest: str) -> bool:
    name = PurePosixPath(dest).name
    return name.startswith("lib") and ".so" in name and "/plugins/" not in f"/{dest}"


def prune_unneeded_libs(
    binaries: list[tuple[str, str, str]],
    needed: Callable[[Path], set[str]] = elf_needed,
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Drop shared libraries no kept binary links, directly or through another library.

    Roots are everything that is not a plain ``lib*.so*`` (Python extensions, kept plugins,
    libpython, which the bootloader loads). Linux only: it reads DT_NEEDED.
    """
    by_name: dict[str, list[tuple[str, str, str]]] = {}
    for entry in binaries:
        by_name.setdefault(PurePosixPath(entry[0]).name, []).append(entry)
    roots = [e for e in binaries if not _is_shared_lib(e[0]) or "libpython" in e[0]]
    reached: set[str] = set()
    queue = [Path(e[1]) for e in roots]
    while queue:
        for name in needed(queue.pop()):
            if name not in reached and name in by_name:
                reached.add(name)
                queue.extend(Path(e[1]) for e in by_name[name])
    kept, dropped = [], []
    for entry in binaries:
        name = PurePosixPath(entry[0]).name
        if _is_shared_lib(entry[0]) and "libpython" not in name and name not in reached:
            dropped.append(entry[0])
        else:
            kept.append(entry)
    return kept, dropped


def strip_debug(folder: Path, skip: Iterable[Path] = ()) -> int:
    """``strip --strip-debug`` every ELF file under ``folder`` (not under ``skip``); returns
    the bytes saved. Only DWARF debug sections go: symbol tables and everything a loader or a
    patched RPATH needs stay, so this is safe even for auditwheel-patched libraries."""
    if shutil.which("strip") is None:
        return 0
    skipped = [p.resolve() for p in skip]
    saved = 0
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        before = path.stat().st_size
        result = subprocess.run(
            ["strip", "--strip-debug", str(path)], capture_output=True, timeout=120
        )
        if result.returncode == 0:
            saved += before - path.stat().st_size
    return saved
