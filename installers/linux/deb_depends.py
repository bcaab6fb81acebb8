#!/usr/bin/env python3
"""Print the Debian ``Depends:`` value for a PyInstaller bundle (what dpkg-shlibdeps does for a
normal package, which a prebuilt bundle cannot use).

Every ELF file in the bundle is run through ``ldd``; each library it gets from the system is
mapped to its package with ``dpkg -S``. A library the build machine lacks (Qt's X11/Wayland
plugins link a few that a headless builder has no reason to install) is mapped by Debian's
naming rule, libfoo-bar.so.4 -> libfoo-bar4, and that package must exist in apt's index.
Installing the .deb with apt and running ``libra --self-test`` (its qt-plugins check runs
ldd on the installed plugins) is what proves the list complete.

    python3 installers/linux/deb_depends.py dist/libra
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Renamed for the 64-bit time_t transition (Debian 13, Ubuntu 24.04): accept either name.
T64_RENAMED = {"libglib2.0-0", "libssl3", "libasound2", "libevent-2.1-7", "libgnutls30"}
# Provided by the loader/libc itself, never a package of their own.
_IGNORED = re.compile(r"linux-vdso\.so|ld-linux")


def elf_files(bundle: Path) -> list[Path]:
    """Regular ELF files in the bundle (symlinks are covered by their targets)."""
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def system_libraries(bundle: Path) -> dict[str, str | None]:
    """soname -> the system path ldd resolved it to (None: not found on this machine)."""
    inside = str(bundle.resolve())
    libs: dict[str, str | None] = {}

    def ldd(path: Path) -> str:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=60).stdout

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(ldd, elf_files(bundle)))
    for output in outputs:
        for line in output.splitlines():
            match = re.match(r"\s*(\S+) => (not found|(\S+))", line)
            if not match or _IGNORED.search(match.group(1)):
                continue
            soname, where = match.group(1), match.group(3)
            if where and str(Path(where).resolve()).startswith(inside):
                continue
            if where or soname not in libs:
                libs[soname] = where
    return libs


def owning_package(path: str) -> str | None:
    """The installed package that ships ``path`` (merged-/usr aware)."""
    real = str(Path(path).resolve())
    candidates = {path, real}
    for p in list(candidates):
        candidates.add(p.removeprefix("/usr") if p.startswith("/usr/") else "/usr" + p)
    for candidate in sorted(candidates):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def package_by_name_rule(soname: str) -> str:
    """Debian's library package name for a soname: libfoo.so.4 -> libfoo4, libfoo2.so.1 ->
    libfoo2-1 (Debian policy 8.1)."""
    match = re.fullmatch(r"(lib[^/]+?)\.so\.(\d+)(\..*)?", soname)
    if not match:
        raise SystemExit(f"deb_depends.py: cannot name the package for {soname}")
    name, major = match.group(1).lower(), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def apt_knows(package: str) -> bool:
    """True if apt's index has the package (so the .deb's Depends can be satisfied)."""
    result = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True
    )
    return result.returncode == 0 and bool(result.stdout.strip())


def depends(bundle: Path) -> str:
    """The Depends field value for the bundle."""
    packages: set[str] = set()
    for soname, where in sorted(system_libraries(bundle).items()):
        package = owning_package(where) if where else None
        if package is None:
            package = package_by_name_rule(soname)
            if not apt_knows(package):
                raise SystemExit(f"deb_depends.py: {soname} needs {package}, which apt lacks")
        packages.add(package)
    glibc = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout
    version = re.search(r"(\d+\.\d+)\s*$", glibc.splitlines()[0])
    packages.discard("libc6")
    fields = [f"libc6 (>= {version.group(1)})" if version else "libc6"]
    for package in sorted(packages):
        fields.append(f"{package} | {package}t64" if package in T64_RENAMED else package)
    return ", ".join(fields)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: deb_depends.py BUNDLE_DIR")
    print(depends(Path(sys.argv[1])))
