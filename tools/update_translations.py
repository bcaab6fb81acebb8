"""Re-extract the translatable strings into translations/*.ts and compile them to .qm.

    .venv-test/bin/python -m tools.update_translations           # lupdate, then lrelease
    .venv-test/bin/python -m tools.update_translations --check   # change nothing; exit 1 if a
                                                                 # catalogue is stale or unfinished
    .venv-test/bin/python -m tools.update_translations --new fr  # start translations/libra_fr.ts

After adding or changing user-visible text in ``libra_gui/ui`` or ``libra_gui/app.py``: run it,
translate the entries it reports as unfinished (Qt Linguist: ``pyside6-linguist
translations/libra_de.ts``, or any editor), run it again to compile, and commit the .ts and
.qm together. ``-locations none`` keeps the .ts free of line numbers, so editing code does not
rewrite it; ``-no-obsolete`` drops strings the code no longer has.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"


def sources() -> list[Path]:
    """Every file whose strings reach the user through tr()/translate()."""
    return [*sorted((ROOT / "libra_gui" / "ui").glob("*.py")), ROOT / "libra_gui" / "app.py"]


def tool(name: str) -> str:
    """A PySide6 tool next to this Python (the venv), else on PATH."""
    here = Path(sys.executable).with_name(name)
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install PySide6-Essentials in this environment")
    return found


def lupdate(ts: Path) -> None:
    args = [tool("pyside6-lupdate"), *map(str, sources()), "-locations", "none"]
    subprocess.run([*args, "-no-obsolete", "-ts", str(ts)], check=True, capture_output=True)


def lrelease(ts: Path) -> Path:
    qm = ts.with_suffix(".qm")
    subprocess.run(
        [tool("pyside6-lrelease"), str(ts), "-qm", str(qm)], check=True, capture_output=True
    )
    return qm


def messages(ts: Path) -> dict[tuple[str, str], ElementTree.Element]:
    """(context, source) -> <message> element."""
    out = {}
    for context in ElementTree.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            out[(name, message.findtext("source") or "")] = message
    return out


def unfinished(ts: Path) -> list[tuple[str, str]]:
    """Messages without a finished translation (every plural form filled, if numerus)."""
    missing = []
    for key, message in messages(ts).items():
        translation = message.find("translation")
        if translation is None or translation.get("type") in ("unfinished", "vanished", "obsolete"):
            missing.append(key)
            continue
        forms = translation.findall("numerusform")
        texts = [f.text for f in forms] if forms else [translation.text]
        if not all(t and t.strip() for t in texts):
            missing.append(key)
    return missing


def stale(ts: Path) -> bool:
    """Whether the code has strings the .ts lacks (or the other way round)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / ts.name
        shutil.copy(ts, fresh)
        lupdate(fresh)
        return set(messages(fresh)) != set(messages(ts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 on problems")
    parser.add_argument("--new", metavar="LANG", help="create translations/libra_LANG.ts")
    args = parser.parse_args(argv)
    if args.new:
        ts = TRANSLATIONS / f"libra_{args.new}.ts"
        if ts.exists():
            raise SystemExit(f"{ts} exists already")
        args_ = [tool("pyside6-lupdate"), *map(str, sources()), "-locations", "none"]
        subprocess.run(
            [*args_, "-target-language", args.new, "-ts", str(ts)], check=True, capture_output=True
        )
    status = 0
    for ts in sorted(TRANSLATIONS.glob("libra_*.ts")):
        rel = ts.relative_to(ROOT)
        if args.check:
            qm = ts.with_suffix(".qm")
            if stale(ts):
                print(f"{rel}: out of date, run python -m tools.update_translations")
                status = 1
            if not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
                print(f"{rel}: .qm missing or older than the .ts")
                status = 1
        else:
            lupdate(ts)
            print(f"{rel}: {len(messages(ts))} messages, compiled to {lrelease(ts).name}")
        todo = unfinished(ts)
        for context, source in todo:
            print(f"  unfinished [{context}] {source[:90]!r}")
        if todo:
            print(f"{rel}: {len(todo)} unfinished")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
