#!/usr/bin/env python3
"""Put a pinned, verified tor (with geoip and pluggable transports) in bundled_tor/<platform>/.

Libra's bundles carry their own tor so that a user never has to install one, which makes this
script part of Libra's supply chain: it accepts only what ``pins.toml`` names (exact version
and sha256, never "latest"), checks the upstream signature chain where one exists, and writes
``MANIFEST.json`` so the bundle can be re-verified later (``verify``) and the app knows which
transports it ships. Standard library only, so it runs before any venv exists.

    python3 bundled_tor/fetch.py list
    python3 bundled_tor/fetch.py fetch debian-bookworm-amd64          # Debian/Ubuntu builders
    python3 bundled_tor/fetch.py fetch expert-windows-x86_64 --keyring tor-browser-devs.asc
    python3 bundled_tor/fetch.py verify linux-x86_64
    python3 bundled_tor/fetch.py repin-debian debian-bookworm-amd64    # after a Debian update
    python3 bundled_tor/fetch.py reseal FOLDER --reason "codesign ..."  # macOS, after signing

Details and the pin-renewal procedure: bundled_tor/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PINS_FILE = HERE / "pins.toml"
MANIFEST = "MANIFEST.json"
SCHEMA = 1
DOWNLOAD_TIMEOUT = 120  # seconds per HTTP request
RUN_TIMEOUT = 300  # seconds for apt-get / gpg / lipo

_SHA256 = re.compile(r"[0-9a-f]{64}")
_FPR = re.compile(r"[0-9A-F]{40}")
# Debian version: [epoch:]upstream[-revision]; no wildcards, no relations.
_DEB_VERSION = re.compile(r"(\d+:)?[0-9][A-Za-z0-9.+~-]*")
_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9.+-]+")
_TOR_VERSION = re.compile(r"\d+\.\d+\.\d+\.\d+")
_BUNDLE_VERSION = re.compile(r"\d+\.\d+(\.\d+)?")
_FLOATING = ("latest", "current", "stable", "*")
KINDS = ("debian", "expert", "universal")


class FetchError(Exception):
    """Something this script refuses to do; the message says why and what to do."""


class PinError(FetchError):
    """pins.toml is malformed or pins nothing exact."""


class VerifyError(FetchError):
    """A file does not match its pin or its signature."""


# -- pins ------------------------------------------------------------------------------------


def load_pins(path: Path = PINS_FILE) -> dict[str, Any]:
    """Read and validate pins.toml; PinError names the first problem."""
    try:
        pins = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PinError(f"cannot read {path}: {exc}") from None
    if pins.get("schema") != SCHEMA:
        raise PinError(f"{path}: schema must be {SCHEMA}")
    keys = pins.get("keys", {})
    for name, key in keys.items():
        if not _FPR.fullmatch(str(key.get("primary_fingerprint", ""))):
            raise PinError(f"key {name}: primary_fingerprint must be 40 upper-case hex digits")
    targets = pins.get("targets")
    if not targets:
        raise PinError(f"{path}: no [targets.*]")
    for name, target in targets.items():
        _check_target(name, target, keys, targets)
    return pins


def _check_target(
    name: str, target: dict[str, Any], keys: dict[str, Any], targets: dict[str, Any]
) -> None:
    where = f"target {name}"
    kind = target.get("kind")
    if kind not in KINDS:
        raise PinError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not re.fullmatch(r"[a-z]+-[a-z0-9_]+", str(target.get("platform", ""))):
        raise PinError(f"{where}: platform must look like linux-x86_64")
    if not _TOR_VERSION.fullmatch(str(target.get("tor_version", ""))):
        raise PinError(f"{where}: tor_version must be exact, e.g. 0.4.9.11")
    if kind == "debian":
        packages = target.get("packages") or []
        if not packages:
            raise PinError(f"{where}: no packages")
        for pkg in packages:
            _check_package(where, pkg)
    elif kind == "expert":
        _check_expert(where, target, keys)
    else:
        parts = target.get("parts") or []
        if len(parts) < 2 or any(targets.get(p, {}).get("kind") != "expert" for p in parts):
            raise PinError(f"{where}: parts must name two or more expert targets")


def _check_package(where: str, pkg: dict[str, Any]) -> None:
    name, version = str(pkg.get("name", "")), str(pkg.get("version", ""))
    what = f"{where} package {name or '?'}"
    if not _DEB_NAME.fullmatch(name):
        raise PinError(f"{what}: bad package name")
    if version.lower() in _FLOATING or not _DEB_VERSION.fullmatch(version):
        raise PinError(f"{what}: version {version!r} is not an exact Debian version")
    if not re.fullmatch(r"[a-z0-9]+", str(pkg.get("arch", ""))):
        raise PinError(f"{what}: arch missing")
    if not _SHA256.fullmatch(str(pkg.get("sha256", ""))):
        raise PinError(f"{what}: sha256 must be 64 lower-case hex digits")
    files = pkg.get("files") or {}
    if not files:
        raise PinError(f"{what}: files maps nothing into the bundle")
    for src, dst in files.items():
        _check_relative(what, src)
        _check_relative(what, dst)
    for binary in pkg.get("transports", {}):
        if binary not in files.values():
            raise PinError(f"{what}: transport binary {binary} is not one of its files")


def _check_expert(where: str, target: dict[str, Any], keys: dict[str, Any]) -> None:
    version = str(target.get("bundle_version", ""))
    url = str(target.get("url", ""))
    if not _BUNDLE_VERSION.fullmatch(version):
        raise PinError(f"{where}: bundle_version must be exact, e.g. 15.0.24")
    parsed = urllib.parse.urlparse(url)
    filename = parsed.path.rsplit("/", 1)[-1]
    if parsed.scheme != "https" or not filename.endswith(".tar.gz"):
        raise PinError(f"{where}: url must be an https:// link to a .tar.gz")
    if f"/{version}/" not in parsed.path or version not in filename:
        raise PinError(f"{where}: url must name bundle_version {version} (no floating links)")
    if any(word in url.lower() for word in _FLOATING[:3]):
        raise PinError(f"{where}: url must not point at a floating release")
    sha = str(target.get("sha256", ""))
    if sha and not _SHA256.fullmatch(sha):
        raise PinError(f"{where}: sha256 must be 64 lower-case hex digits (or empty = unpinned)")
    if target.get("key") not in keys:
        raise PinError(f"{where}: key must name a [keys.*] entry")


def _check_relative(what: str, path: str) -> None:
    p = Path(path)
    if p.is_absolute() or ".." in p.parts or not path:
        raise PinError(f"{what}: {path!r} must be a relative path inside the package/bundle")


# -- small helpers ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed (tarballs are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, what: str) -> None:
    """VerifyError unless ``path`` hashes to the pinned value."""
    actual = sha256_file(path)
    if actual != expected:
        raise VerifyError(
            f"{what}: sha256 mismatch for {path.name}\n  pinned: {expected}\n  got:    {actual}\n"
            "Refusing to use it. Delete the file and fetch again; if it persists, the upstream "
            "file changed: do NOT edit the pin without verifying the new file's signature."
        )


def _run(cmd: Sequence[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise FetchError(f"{cmd[0]} is not installed; it is needed for this step") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{' '.join(cmd)} did not finish in {RUN_TIMEOUT} s") from None


def host_platform() -> str:
    """This machine's bundled_tor/ folder name; mirrors libra_gui.core.net.tor.binary."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "win32":
        return f"windows-{machine}"
    if sys.platform == "darwin":
        return "macos-universal"
    return f"{sys.platform.rstrip('0123456789')}-{machine}"


def _say(text: str) -> None:
    print(f"fetch.py: {text}", flush=True)


# -- Debian ----------------------------------------------------------------------------------


def _deb_filename(pkg: dict[str, Any]) -> str:
    """The name ``apt-get download`` gives the file (an epoch's ':' becomes %3a)."""
    version = pkg["version"].replace(":", "%3a")
    return f"{pkg['name']}_{version}_{pkg['arch']}.deb"


def apt_index_sha256(name: str, version: str) -> str:
    """SHA256 that apt's signed Packages index lists for ``name=version``."""
    result = _run(["apt-cache", "show", "--no-all-versions", f"{name}={version}"])
    found = re.findall(r"^SHA256: ([0-9a-f]{64})$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not found:
        raise VerifyError(
            f"apt's index has no {name}={version} (run `apt-get update`; if Debian has replaced "
            "that version, renew the pins with `fetch.py repin-debian`)"
        )
    return found[0]


def _get_deb(pkg: dict[str, Any], cache: Path, offline: Path | None) -> tuple[Path, list[str]]:
    """The verified .deb for one pin and the checks it passed."""
    filename = _deb_filename(pkg)
    what = f"{pkg['name']}={pkg['version']}"
    checks = ["sha256 pin"]
    if offline is not None:
        path = offline / filename
        if not path.is_file():
            raise FetchError(f"{what}: {path} not found (--offline)")
    else:
        path = cache / filename
        if not path.is_file():
            _say(f"apt-get download {what}")
            result = _run(["apt-get", "download", what], cwd=cache)
            if result.returncode != 0 or not path.is_file():
                raise FetchError(
                    f"apt-get download {what} failed: {result.stderr.strip()[-400:]}\n"
                    "Debian mirrors keep only the current version of a package. Run "
                    "`python3 bundled_tor/fetch.py repin-debian debian-bookworm-amd64`, review "
                    "the new versions, and update pins.toml."
                )
        index = apt_index_sha256(pkg["name"], pkg["version"])
        if index != pkg["sha256"]:
            raise VerifyError(
                f"{what}: apt's signed index says sha256 {index}, pins.toml says "
                f"{pkg['sha256']}; refusing"
            )
        checks.append("apt index (InRelease signed by the Debian archive key)")
    check_sha256(path, pkg["sha256"], what)
    return path, checks


def _stage_debian(
    target: dict[str, Any], stage: Path, cache: Path, offline: Path | None
) -> dict[str, Any]:
    transports: dict[str, list[str]] = {}
    sources = []
    with tempfile.TemporaryDirectory(prefix="libra-deb-") as tmp:
        for pkg in target["packages"]:
            deb, checks = _get_deb(pkg, cache, offline)
            root = Path(tmp) / pkg["name"]
            result = _run(["dpkg-deb", "-x", str(deb), str(root)])
            if result.returncode != 0:
                raise FetchError(f"dpkg-deb -x {deb.name} failed: {result.stderr.strip()}")
            for src, dst in pkg["files"].items():
                source = root / src
                if not source.is_file():
                    raise FetchError(f"{pkg['name']}: {src} is not in the package")
                (stage / dst).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, stage / dst)  # follows symlinks: a real file
            copyright_file = root / "usr/share/doc" / pkg["name"] / "copyright"
            if copyright_file.is_file():
                (stage / "licenses").mkdir(exist_ok=True)
                shutil.copy2(copyright_file, stage / "licenses" / f"{pkg['name']}.copyright")
            transports.update(pkg.get("transports", {}))
            sources.append(
                {
                    "name": pkg["name"],
                    "version": pkg["version"],
                    "sha256": pkg["sha256"],
                    "checks": checks,
                }
            )
    return {"transports": transports, "sources": sources}


# -- Tor Expert Bundle -----------------------------------------------------------------------


def _download(url: str, path: Path) -> None:
    _say(f"downloading {url}")
    part = path.with_name(path.name + ".part")
    try:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
            part.open("wb") as f,
        ):
            shutil.copyfileobj(response, f)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise FetchError(f"could not download {url}: {exc}") from None
    part.replace(path)


def verify_signature(data: Path, signature: Path, keyring: Path, primary: str) -> str:
    """Check a detached OpenPGP signature with GnuPG in a throw-away home; returns the signing
    (sub)key fingerprint. The signer's PRIMARY key must be ``primary``: a key file holding some
    other key, however it is named, does not count."""
    with tempfile.TemporaryDirectory(prefix="libra-gpg-") as home:
        base = ["gpg", "--homedir", home, "--batch", "--no-options", "--no-auto-key-retrieve"]
        imported = _run([*base, "--import", str(keyring)])
        if imported.returncode != 0:
            raise VerifyError(f"gpg could not import {keyring}: {imported.stderr.strip()}")
        result = _run([*base, "--status-fd", "1", "--verify", str(signature), str(data)])
    valid = [
        line.split() for line in result.stdout.splitlines() if line.startswith("[GNUPG:] VALIDSIG ")
    ]
    if result.returncode != 0 or not valid:
        raise VerifyError(
            f"{data.name}: signature check FAILED ({result.stderr.strip()[-300:]}); refusing"
        )
    fields = valid[0]
    signer, signer_primary = fields[2], fields[-1]
    if signer_primary != primary:
        raise VerifyError(
            f"{data.name}: signed by key {signer_primary}, not the pinned {primary}; refusing"
        )
    return signer


def _safe_extract(archive: Path, into: Path) -> None:
    """Unpack a tarball refusing absolute paths, '..', device files and links that leave it."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise VerifyError(f"{archive.name}: unsafe or damaged archive ({exc})") from None


def expert_transports(pt_config: Path, stage: Path) -> dict[str, list[str]]:
    """Which transports each pluggable-transport binary provides, from Tor's pt_config.json
    (``ClientTransportPlugin obfs4,... exec ${pt_path}lyrebird``)."""
    try:
        config = json.loads(pt_config.read_text(encoding="utf-8"))
        lines = list(config["pluggableTransports"].values())
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise FetchError(f"cannot read {pt_config}: {exc}") from None
    found: dict[str, list[str]] = {}
    for line in lines:
        match = re.fullmatch(r"ClientTransportPlugin (\S+) exec \$\{pt_path\}(\S+)", line.strip())
        if not match:
            raise FetchError(f"{pt_config}: unexpected line {line!r}; update expert_transports()")
        names, binary = match.group(1).split(","), match.group(2)
        for candidate in (binary, binary + ".exe"):
            rel = f"pluggable_transports/{candidate}"
            if (stage / rel).is_file():
                found.setdefault(rel, []).extend(names)
                break
        else:
            raise FetchError(f"{pt_config} names {binary}, which the bundle does not contain")
    return found


def _stage_expert(
    name: str,
    target: dict[str, Any],
    pins: dict[str, Any],
    stage: Path,
    cache: Path,
    offline: Path | None,
    keyring: Path | None,
) -> dict[str, Any]:
    if not target.get("sha256"):
        raise PinError(
            f"{name}: no sha256 pinned yet. Fill it from the release's signed "
            "sha256sums-signed-build.txt (bundled_tor/README.md, 'Renewing the pins')."
        )
    key = pins["keys"][target["key"]]
    if keyring is None:
        raise FetchError(
            f"{name}: the Tor Expert Bundle is signed; pass --keyring FILE with the "
            f"{key['uid']} public key (primary {key['primary_fingerprint']}). "
            "bundled_tor/README.md says how to get it."
        )
    url = target["url"]
    filename = urllib.parse.urlparse(url).path.rsplit("/", 1)[-1]
    folder = offline if offline is not None else cache
    tarball, signature = folder / filename, folder / (filename + ".asc")
    if offline is None:
        if not tarball.is_file():
            _download(url, tarball)
        if not signature.is_file():
            _download(url + ".asc", signature)
    for needed in (tarball, signature):
        if not needed.is_file():
            raise FetchError(f"{name}: {needed} not found")
    check_sha256(tarball, target["sha256"], name)
    signer = verify_signature(tarball, signature, keyring, key["primary_fingerprint"])
    _say(f"{filename}: sha256 pin OK, good signature by {signer}")
    with tempfile.TemporaryDirectory(prefix="libra-teb-") as tmp:
        root = Path(tmp)
        _safe_extract(tarball, root)
        if not (root / "tor").is_dir():
            raise FetchError(f"{filename}: no tor/ folder inside")
        shutil.copytree(root / "tor", stage, dirs_exist_ok=True)
        for geo in ("geoip", "geoip6"):
            if not (root / "data" / geo).is_file():
                raise FetchError(f"{filename}: data/{geo} missing")
            shutil.copy2(root / "data" / geo, stage / geo)
        if (root / "docs").is_dir():
            shutil.copytree(root / "docs", stage / "licenses", dirs_exist_ok=True)
    pt_config = stage / "pluggable_transports" / "pt_config.json"
    transports = expert_transports(pt_config, stage) if pt_config.is_file() else {}
    source = {
        "name": filename,
        "version": target["bundle_version"],
        "sha256": target["sha256"],
        "checks": ["sha256 pin", f"OpenPGP signature by {signer}"],
    }
    return {"transports": transports, "sources": [source]}


def _stage_universal(
    target: dict[str, Any],
    pins: dict[str, Any],
    stage: Path,
    cache: Path,
    offline: Path | None,
    keyring: Path | None,
) -> dict[str, Any]:
    if shutil.which("lipo") is None:
        raise FetchError("expert-macos-universal merges two builds with `lipo`: run it on a Mac")
    info: dict[str, Any] = {"transports": {}, "sources": []}
    with tempfile.TemporaryDirectory(prefix="libra-uni-") as tmp:
        parts = []
        for part in target["parts"]:
            part_stage = Path(tmp) / part
            part_stage.mkdir()
            got = _stage_expert(
                part, pins["targets"][part], pins, part_stage, cache, offline, keyring
            )
            info["sources"].extend(got["sources"])
            info["transports"] = got["transports"]
            parts.append(part_stage)
        first = parts[0]
        for path in sorted(p for p in first.rglob("*") if p.is_file()):
            rel = path.relative_to(first)
            others = [p / rel for p in parts[1:]]
            out = stage / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if path.read_bytes()[:4] in _MACHO_MAGIC:
                result = _run(
                    ["lipo", "-create", str(path), *map(str, others), "-output", str(out)]
                )
                if result.returncode != 0:
                    raise FetchError(f"lipo failed for {rel}: {result.stderr.strip()}")
                out.chmod(path.stat().st_mode)
            elif all(o.is_file() and o.read_bytes() == path.read_bytes() for o in others):
                shutil.copy2(path, out)
            else:
                raise FetchError(f"{rel} differs between the macOS builds and is not a binary")
    return info


_MACHO_MAGIC = {
    bytes.fromhex(m) for m in ("cffaedfe", "feedfacf", "cefaedfe", "feedface", "cafebabe")
}


# -- fetch / verify --------------------------------------------------------------------------


def _tor_exe(stage: Path) -> str:
    return "tor.exe" if (stage / "tor.exe").is_file() else "tor"


def _relink_linux(stage: Path, tor: str) -> None:
    """Make the bundled tor load the libraries beside it (libevent, and the Expert Bundle's
    OpenSSL) before the system's: DT_RPATH=$ORIGIN, which unlike RUNPATH also wins over an
    inherited LD_LIBRARY_PATH (a frozen app sets one for itself)."""
    if not any(p.name.startswith("lib") and ".so" in p.name for p in stage.iterdir()):
        return
    result = _run(["patchelf", "--force-rpath", "--set-rpath", "$ORIGIN", str(stage / tor)])
    if result.returncode != 0:
        raise FetchError(f"patchelf failed: {result.stderr.strip()} (apt-get install patchelf)")


def _check_tor_runs(stage: Path, tor: str, expected: str) -> str:
    """Run the staged tor's --version on a host that can; VerifyError on a wrong version."""
    try:
        result = subprocess.run(
            [str(stage / tor), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VerifyError(f"the fetched tor does not run here: {exc}") from None
    match = re.search(r"Tor version (\d+\.\d+\.\d+\.\d+)", result.stdout)
    if result.returncode != 0 or not match:
        raise VerifyError(f"the fetched tor does not run here: {result.stderr.strip()[:300]}")
    if match.group(1) != expected:
        raise VerifyError(f"the fetched tor is {match.group(1)}, pins.toml says {expected}")
    return match.group(1)


def fetch(
    name: str,
    *,
    pins: dict[str, Any],
    dest_root: Path = HERE,
    cache: Path | None = None,
    offline: Path | None = None,
    keyring: Path | None = None,
) -> Path:
    """Fetch, verify and install one target into ``dest_root/<platform>``; returns that dir.

    The old folder is replaced only after everything checked out, so a failed fetch never
    leaves a half-verified tor where the app would find it.
    """
    target = pins["targets"].get(name)
    if target is None:
        raise PinError(f"no target {name!r} in pins.toml (see `fetch.py list`)")
    cache = cache or dest_root / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    dest_root.mkdir(parents=True, exist_ok=True)
    final = dest_root / target["platform"]
    stage = Path(tempfile.mkdtemp(prefix=f".{target['platform']}-", dir=dest_root))
    stage.chmod(0o755)  # mkdtemp makes it 0700; the installed bundle must be readable by all
    try:
        if target["kind"] == "debian":
            info = _stage_debian(target, stage, cache, offline)
        elif target["kind"] == "expert":
            info = _stage_expert(name, target, pins, stage, cache, offline, keyring)
        else:
            info = _stage_universal(target, pins, stage, cache, offline, keyring)
        tor = _tor_exe(stage)
        if not (stage / tor).is_file():
            raise FetchError(f"{name}: no tor program in the result")
        for rel in (tor, *info["transports"]):
            (stage / rel).chmod(0o755)
        if target["platform"].startswith("linux-"):
            _relink_linux(stage, tor)
        if target["platform"] == host_platform():
            version = _check_tor_runs(stage, tor, target["tor_version"])
            _say(f"tor --version: {version}")
        write_manifest(stage, name, target, tor, info)
        if final.exists():
            shutil.rmtree(final)
        stage.rename(final)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    _say(f"{name}: verified tor {target['tor_version']} in {final}")
    return final


def write_manifest(
    stage: Path, name: str, target: dict[str, Any], tor: str, info: dict[str, Any]
) -> None:
    """MANIFEST.json: where things are (tor, geoip, transports) and every file's sha256."""
    files = {
        p.relative_to(stage).as_posix(): sha256_file(p)
        for p in sorted(stage.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {
        "schema": SCHEMA,
        "target": name,
        "platform": target["platform"],
        "kind": target["kind"],
        "tor_version": target["tor_version"],
        "tor": tor,
        "geoip": "geoip" if "geoip" in files else None,
        "geoip6": "geoip6" if "geoip6" in files else None,
        "transports": info["transports"],
        "sources": info["sources"],
        "files": files,
    }
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def verify(folder: Path) -> dict[str, Any]:
    """Re-check a fetched folder against its MANIFEST.json; VerifyError lists every problem."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerifyError(f"{folder}: no readable {MANIFEST} ({exc}); run fetch.py fetch") from None
    problems = []
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"missing {rel}")
        elif sha256_file(path) != digest:
            problems.append(f"changed {rel}")
    listed = set(manifest["files"]) | {MANIFEST}
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in listed
    )
    problems.extend(f"unexpected {rel}" for rel in extra)
    if problems:
        raise VerifyError(f"{folder}: " + "; ".join(problems))
    return manifest


def reseal(folder: Path, reason: str) -> list[str]:
    """Re-record file hashes after a deliberate change (macOS codesign rewrites every Mach-O
    it signs). Run ``verify`` first: this only moves the seal, it checks nothing itself.
    The change is recorded in the manifest with its reason; returns the changed files."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    changed = [
        rel
        for rel, digest in manifest["files"].items()
        if (folder / rel).is_file() and sha256_file(folder / rel) != digest
    ]
    missing = [rel for rel in manifest["files"] if not (folder / rel).is_file()]
    if missing:
        raise VerifyError(f"{folder}: files missing, refusing to reseal: {', '.join(missing)}")
    manifest["files"] = {rel: sha256_file(folder / rel) for rel in manifest["files"]}
    manifest.setdefault("resealed", []).append({"reason": reason, "changed": changed})
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return changed


def repin_debian(name: str, pins: dict[str, Any]) -> str:
    """TOML lines with the versions and index sha256 apt offers now, for a reviewed update."""
    target = pins["targets"][name]
    out = []
    for pkg in target["packages"]:
        policy = _run(["apt-cache", "policy", pkg["name"]]).stdout
        match = re.search(r"Candidate: (\S+)", policy)
        if not match or match.group(1) == "(none)":
            raise FetchError(f"apt offers no {pkg['name']}; check /etc/apt/sources.list")
        version = match.group(1)
        sha = apt_index_sha256(pkg["name"], version)
        note = "" if version != pkg["version"] else "   # unchanged"
        out.append(f'# {pkg["name"]}\nversion = "{version}"{note}\nsha256 = "{sha}"')
    return "\n".join(out)


# -- command line ----------------------------------------------------------------------------


def _list(pins: dict[str, Any]) -> Iterable[str]:
    for name, target in pins["targets"].items():
        ready = target["kind"] != "expert" or bool(target.get("sha256"))
        state = "pinned" if ready else "NOT PINNED (refuses until filled)"
        here = "  <- this machine" if target["platform"] == host_platform() else ""
        yield f"{name:28} {target['platform']:18} tor {target['tor_version']:10} {state}{here}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit 0 on success, 1 on a verification failure, 2 on other refusals."""
    parser = argparse.ArgumentParser(prog="fetch.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pins", type=Path, default=PINS_FILE, help="pins file (tests)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="targets in pins.toml")
    get = sub.add_parser("fetch", help="fetch + verify a target into bundled_tor/<platform>/")
    get.add_argument("target")
    get.add_argument("--dest", type=Path, default=HERE, help="root for <platform>/ folders")
    get.add_argument("--cache", type=Path, default=None, help="download cache (default .cache/)")
    get.add_argument("--offline", type=Path, default=None, help="take files from this folder")
    get.add_argument(
        "--keyring",
        type=Path,
        default=os.environ.get("LIBRA_TOR_KEYRING") or None,
        help="OpenPGP public key file for signed targets (or $LIBRA_TOR_KEYRING)",
    )
    check = sub.add_parser("verify", help="re-check a fetched folder against its MANIFEST.json")
    check.add_argument("folder", help="a platform name (linux-x86_64) or a folder path")
    seal = sub.add_parser("reseal", help="record hashes after signing (macOS codesign)")
    seal.add_argument("folder")
    seal.add_argument("--reason", required=True, help="e.g. 'codesign by Developer ID ...'")
    repin = sub.add_parser("repin-debian", help="print new pins for what apt offers now")
    repin.add_argument("target")
    args = parser.parse_args(argv)
    try:
        pins = load_pins(args.pins)
        if args.command == "list":
            print("\n".join(_list(pins)))
        elif args.command == "fetch":
            fetch(
                args.target,
                pins=pins,
                dest_root=args.dest,
                cache=args.cache,
                offline=args.offline,
                keyring=args.keyring,
            )
        elif args.command == "verify":
            folder = Path(args.folder)
            folder = folder if folder.is_dir() else HERE / args.folder
            manifest = verify(folder)
            _say(f"{folder}: {len(manifest['files'])} files match {MANIFEST}")
        elif args.command == "reseal":
            changed = reseal(Path(args.folder), args.reason)
            _say(f"{args.folder}: resealed ({len(changed)} changed: {', '.join(changed)})")
        else:
            print(repin_debian(args.target, pins))
    except VerifyError as exc:
        print(f"fetch.py: REFUSED: {exc}", file=sys.stderr)
        return 1
    except FetchError as exc:
        print(f"fetch.py: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fetch.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
