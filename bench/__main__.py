"""Run every benchmark and record the results in docs/benchmarks.md.

    python -m bench            # full run, rewrites docs/benchmarks.md
    python -m bench --quick    # smaller sizes, prints only (a smoke test)
    python -m bench ratchet    # only bench/bench_ratchet.py

Each ``bench/bench_<name>.py`` exposes ``run(quick) -> list[dict]`` with keys name, unit, libra,
baseline, baseline_name, goal. Libra and its raw baseline are measured in the same run, so the
ratio is meaningful even on a noisy machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
MARK_BEGIN = "<!-- bench:results -->"
MARK_END = "<!-- /bench:results -->"


def discover() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(rows: list[dict]) -> str:
    lines = [
        "| benchmark | Libra | baseline | ratio (Libra/baseline) | unit | goal |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        ratio = r["libra"] / r["baseline"] if r["baseline"] else float("nan")
        lines.append(
            f"| {r['name']} | {fmt(r['libra'])} | {fmt(r['baseline'])} ({r['baseline_name']}) "
            f"| {ratio:.2f} | {r['unit']} | {r.get('goal') or ''} |"
        )
    return "\n".join(lines)


def write_doc(rows: list[dict], command: str) -> None:
    section = (
        f"{MARK_BEGIN}\n"
        f"Last full run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, command `{command}`, "
        f"on {machine()}.\n\n{table(rows)}\n{MARK_END}"
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes; do not write docs")
    args = parser.parse_args(argv)
    names = args.only or discover()
    rows: list[dict] = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        rows.extend(module.run(quick=args.quick))
    print(table(rows))
    if not args.quick and not args.only:
        write_doc(rows, "python -m bench")
        print(f"\nwritten to {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
