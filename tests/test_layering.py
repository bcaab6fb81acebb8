"""Architecture rules that must never silently break."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "libra_gui"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qasync")
IO_MODULES = ("socket", "asyncio", "subprocess", "sqlite3", "sqlcipher3", "os", "pathlib")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_source_imports_no_qt():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "core").rglob("*.py")
        if _imports(path) & set(QT_MODULES)
    ]
    assert offenders == []


def test_importing_all_of_core_loads_no_qt():
    """Even transitively: a fresh interpreter imports every core module and checks sys.modules."""
    modules = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for path in (PACKAGE / "core").rglob("*.py")
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_pure_layers_do_no_io():
    """crypto/ and protocol/ are sans-IO: bytes in, events out, time as a parameter."""
    offenders = [
        f"{path.relative_to(PACKAGE)}: {sorted(_imports(path) & set(IO_MODULES))}"
        for layer in ("crypto", "protocol")
        for path in (PACKAGE / "core" / layer).rglob("*.py")
        if _imports(path) & set(IO_MODULES)
    ]
    assert offenders == []
