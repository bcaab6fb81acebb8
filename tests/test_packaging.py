"""Packaging: the tor pins, the fetch script's refusals, the bundle pruning rules, the self-test.

The real build (PyInstaller bundle, .deb, install, installed self-test) is too slow for pytest;
installers/ci_build.sh runs it in CI. These tests use synthetic packages and tarballs so that
every refusal path of bundled_tor/fetch.py runs offline.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from libra_gui import selftest
from libra_gui.core.net.tor import binary
from libra_gui.core.net.tor.errors import TorNotFound

ROOT = Path(__file__).resolve().parents[1]
TOR_VERSION = "0.4.9.11"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fetch = _load("libra_fetch", ROOT / "bundled_tor" / "fetch.py")
prune = _load("libra_bundle_prune", ROOT / "installers" / "bundle_prune.py")
deb_depends = _load("libra_deb_depends", ROOT / "installers" / "linux" / "deb_depends.py")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path


FAKE_TOR = f'echo "Tor version {TOR_VERSION}."\n'
FAKE_PT = (
    'echo "VERSION 1"\n'
    'echo "CMETHOD $TOR_PT_CLIENT_TRANSPORTS socks5 127.0.0.1:9"\n'
    'echo "CMETHODS DONE"\n'
    "cat >/dev/null\n"  # like a real transport: exit when tor closes stdin
)


# -- the real pins ---------------------------------------------------------------------------


def test_real_pins_are_exact_and_well_formed():
    pins = fetch.load_pins()
    targets = pins["targets"]
    assert {"debian-bookworm-amd64", "expert-windows-x86_64", "expert-macos-universal"} <= set(
        targets
    )
    for name, target in targets.items():
        if target["kind"] == "debian":
            for pkg in target["packages"]:
                assert len(pkg["sha256"]) == 64 and "*" not in pkg["version"], name
        elif target["kind"] == "expert":
            assert target["url"].startswith(
                "https://archive.torproject.org/tor-package-archive/torbrowser/"
                f"{target['bundle_version']}/"
            ), name
            assert len(target["sha256"]) == 64, f"{name}: expert bundle not pinned"
    debian = targets["debian-bookworm-amd64"]
    shipped = {dst for pkg in debian["packages"] for dst in pkg["files"].values()}
    assert {"tor", "geoip", "geoip6"} <= shipped
    transports = {
        n for pkg in debian["packages"] for ns in pkg.get("transports", {}).values() for n in ns
    }
    assert {"obfs4", "snowflake"} <= transports  # bridges work out of the box
    key = pins["keys"]["tor-browser-developers"]
    assert key["primary_fingerprint"] == "EF6E286DDA85EA2A4BA7DE684E2C6E8793298290"


def test_fetch_script_and_app_agree_on_the_platform_folder():
    assert fetch.host_platform() == binary.platform_dir()
    platforms = {t["platform"] for t in fetch.load_pins()["targets"].values()}
    assert {"linux-x86_64", "windows-x86_64", "macos-universal"} <= platforms


# -- pins that must be refused ---------------------------------------------------------------


def _pins_text(
    *,
    version: str = "0.4.9.11-0+deb12u1",
    sha: str = "a" * 64,
    files: str = '{ "usr/bin/tor" = "tor" }',
    url: str | None = None,
    expert_sha: str = "b" * 64,
) -> str:
    url = url or (
        "https://archive.torproject.org/tor-package-archive/torbrowser/15.0.24/"
        "tor-expert-bundle-linux-x86_64-15.0.24.tar.gz"
    )
    return f"""
schema = 1
[keys.k]
uid = "Test"
primary_fingerprint = "{"C" * 40}"
[targets.deb]
kind = "debian"
platform = "linux-x86_64"
tor_version = "{TOR_VERSION}"
[[targets.deb.packages]]
name = "tor"
version = "{version}"
arch = "amd64"
sha256 = "{sha}"
files = {files}
[targets.teb]
kind = "expert"
platform = "linux-x86_64"
tor_version = "{TOR_VERSION}"
bundle_version = "15.0.24"
url = "{url}"
sha256 = "{expert_sha}"
key = "k"
"""


def test_synthetic_pins_load(tmp_path: Path):
    path = tmp_path / "pins.toml"
    path.write_text(_pins_text())
    assert set(fetch.load_pins(path)["targets"]) == {"deb", "teb"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "latest"}, "not an exact Debian version"),
        ({"version": "0.4.9.*"}, "not an exact Debian version"),
        ({"version": ">= 0.4.9"}, "not an exact Debian version"),
        ({"sha": ""}, "sha256 must be"),
        ({"sha": "A" * 64}, "sha256 must be"),
        ({"sha": "a" * 63}, "sha256 must be"),
        ({"files": '{ "/usr/bin/tor" = "tor" }'}, "relative path"),
        ({"files": '{ "usr/bin/tor" = "../tor" }'}, "relative path"),
        ({"url": "http://archive.torproject.org/x/15.0.24/tor-15.0.24.tar.gz"}, "https"),
        (
            {"url": "https://dist.torproject.org/torbrowser/latest/tor-expert-bundle.tar.gz"},
            "bundle_version",
        ),
        ({"expert_sha": "xyz"}, "sha256 must be"),
    ],
)
def test_pins_without_an_exact_version_or_hash_are_refused(
    tmp_path: Path, change: dict[str, str], message: str
):
    path = tmp_path / "pins.toml"
    path.write_text(_pins_text(**change))
    with pytest.raises(fetch.PinError, match=message):
        fetch.load_pins(path)
    # and the command line says so with exit code 2, before touching anything
    assert fetch.main(["--pins", str(path), "fetch", "deb", "--dest", str(tmp_path / "d")]) == 2
    assert not (tmp_path / "d").exists()


# -- Debian target, offline, with a synthetic package -----------------------------------------


def _fake_deb(folder: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("needs dpkg-deb")
    root = folder / "pkgroot"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: tor\nVersion: 0.4.9.11-0+deb12u1\nArchitecture: amd64\n"
        "Maintainer: Test <t@example.org>\nDescription: test package\n"
    )
    _script(root / "usr" / "bin" / "tor", FAKE_TOR)
    (root / "usr/share/doc/tor").mkdir(parents=True)
    (root / "usr/share/doc/tor/copyright").write_text("test copyright\n")
    offline = folder / "offline"
    offline.mkdir()
    deb = offline / "tor_0.4.9.11-0+deb12u1_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def test_debian_fetch_refuses_a_package_whose_hash_differs_from_the_pin(tmp_path: Path):
    deb = _fake_deb(tmp_path)
    pins_file = tmp_path / "pins.toml"
    pins_file.write_text(_pins_text(sha="0" * 64))
    dest = tmp_path / "bundled"
    code = fetch.main(
        [
            "--pins",
            str(pins_file),
            "fetch",
            "deb",
            "--dest",
            str(dest),
            "--offline",
            str(deb.parent),
        ]
    )
    assert code == 1
    assert not (dest / "linux-x86_64").exists()  # nothing half-verified where the app looks
    with pytest.raises(fetch.VerifyError, match="sha256 mismatch"):
        fetch.fetch("deb", pins=fetch.load_pins(pins_file), dest_root=dest, offline=deb.parent)


def test_debian_fetch_installs_verified_files_and_verify_catches_tampering(tmp_path: Path):
    deb = _fake_deb(tmp_path)
    pins_file = tmp_path / "pins.toml"
    pins_file.write_text(_pins_text(sha=_sha(deb)))
    dest = tmp_path / "bundled"
    folder = fetch.fetch("deb", pins=fetch.load_pins(pins_file), dest_root=dest, offline=deb.parent)
    assert folder == dest / "linux-x86_64"
    assert os.access(folder / "tor", os.X_OK)
    assert (folder / "licenses" / "tor.copyright").is_file()
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["tor"] == "tor" and manifest["tor_version"] == TOR_VERSION
    assert manifest["sources"][0]["sha256"] == _sha(deb)
    assert fetch.verify(folder)["files"]["tor"] == _sha(folder / "tor")

    with (folder / "tor").open("a") as f:
        f.write("# tampered\n")
    with pytest.raises(fetch.VerifyError, match="changed tor"):
        fetch.verify(folder)
    (folder / "extra").write_text("x")
    assert fetch.main(["verify", str(folder)]) == 1
    (folder / "extra").unlink()

    # macOS codesign rewrites binaries on purpose: the new seal records that, and why.
    assert fetch.reseal(folder, "codesign (test)") == ["tor"]
    assert fetch.verify(folder)["resealed"] == [{"reason": "codesign (test)", "changed": ["tor"]}]


def test_debian_fetch_refuses_a_tor_of_another_version(tmp_path: Path):
    if fetch.host_platform() != "linux-x86_64":
        pytest.skip("the version is checked only where the binary runs")
    deb = _fake_deb(tmp_path)
    pins_file = tmp_path / "pins.toml"
    pins_file.write_text(
        _pins_text(sha=_sha(deb)).replace(
            f'tor_version = "{TOR_VERSION}"', 'tor_version = "0.4.8.1"', 1
        )
    )
    with pytest.raises(fetch.VerifyError, match=r"pins\.toml says 0\.4\.8\.1"):
        fetch.fetch(
            "deb", pins=fetch.load_pins(pins_file), dest_root=tmp_path / "d", offline=deb.parent
        )


def test_package_name_rule_matches_debian_policy():
    assert deb_depends.package_by_name_rule("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert deb_depends.package_by_name_rule("libwayland-cursor.so.0") == "libwayland-cursor0"
    assert deb_depends.package_by_name_rule("libfoo2.so.1") == "libfoo2-1"


# -- Tor Expert Bundle target, offline, with a synthetic tarball and a test key ----------------


def _expert_tarball(folder: Path, *, evil: bool = False) -> Path:
    src = folder / "src"
    _script(src / "tor" / "tor", FAKE_TOR)
    _script(src / "tor" / "pluggable_transports" / "lyrebird", FAKE_PT)
    (src / "tor" / "pluggable_transports" / "pt_config.json").write_text(
        json.dumps(
            {
                "pluggableTransports": {
                    "lyrebird": "ClientTransportPlugin meek_lite,obfs4,webtunnel "
                    "exec ${pt_path}lyrebird"
                },
                "bridges": {},
            }
        )
    )
    (src / "data").mkdir()
    (src / "data" / "geoip").write_text("16777216,16777471,AU\n")
    (src / "data" / "geoip6").write_text("2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n")
    offline = folder / "offline"
    offline.mkdir()
    tarball = offline / "tor-expert-bundle-linux-x86_64-15.0.24.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in ("tor", "data"):
            tar.add(src / name, arcname=name)
        if evil:
            info = tarfile.TarInfo("../escaped")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return tarball


class GpgKey:
    """A throw-away signing key in its own GnuPG home (stopped again by the fixture)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(mode=0o700)
        self._gpg(
            "--passphrase",
            "",
            "--quick-gen-key",
            "Libra Test <t@example.org>",
            "ed25519",
            "sign",
            "never",
        )
        listing = self._gpg("--with-colons", "--list-keys").stdout
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        self.public = home.parent / "test-key.asc"
        self.public.write_text(self._gpg("--armor", "--export", self.fingerprint).stdout)

    def _gpg(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def sign(self, path: Path) -> Path:
        sig = path.with_name(path.name + ".asc")
        self._gpg("--passphrase", "", "--armor", "--detach-sign", "-o", str(sig), str(path))
        return sig

    def stop(self) -> None:
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "all"],
            capture_output=True,
            check=False,
        )


@pytest.fixture
def gpg_key(tmp_path: Path):
    if shutil.which("gpg") is None:
        pytest.skip("needs GnuPG")
    key = GpgKey(tmp_path / "gnupg")
    try:
        yield key
    finally:
        key.stop()


def _expert_pins(tmp_path: Path, tarball: Path, fingerprint: str) -> dict:
    text = _pins_text(expert_sha=_sha(tarball)).replace("C" * 40, fingerprint)
    path = tmp_path / "pins.toml"
    path.write_text(text)
    return fetch.load_pins(path)


def test_expert_bundle_is_installed_only_with_pin_and_signature(tmp_path: Path, gpg_key):
    tarball = _expert_tarball(tmp_path)
    gpg_key.sign(tarball)
    pins = _expert_pins(tmp_path, tarball, gpg_key.fingerprint)
    dest = tmp_path / "bundled"

    with pytest.raises(fetch.FetchError, match="--keyring"):
        fetch.fetch("teb", pins=pins, dest_root=dest, offline=tarball.parent)

    folder = fetch.fetch(
        "teb", pins=pins, dest_root=dest, offline=tarball.parent, keyring=gpg_key.public
    )
    manifest = fetch.verify(folder)
    assert manifest["transports"] == {
        "pluggable_transports/lyrebird": ["meek_lite", "obfs4", "webtunnel"]
    }
    assert manifest["geoip"] == "geoip" and (folder / "geoip6").is_file()
    assert "OpenPGP signature" in manifest["sources"][0]["checks"][1]
    assert (
        selftest._pt_handshake(
            folder / "pluggable_transports" / "lyrebird", "obfs4", tmp_path / "pt"
        )
        == "obfs4 socks5"
    )


def test_expert_bundle_with_a_bad_signature_or_foreign_key_is_refused(tmp_path: Path, gpg_key):
    tarball = _expert_tarball(tmp_path)
    sig = gpg_key.sign(tarball)
    dest = tmp_path / "bundled"

    foreign = _expert_pins(tmp_path, tarball, "D" * 40)  # signed, but not by the pinned key
    with pytest.raises(fetch.VerifyError, match="not the pinned"):
        fetch.fetch(
            "teb", pins=foreign, dest_root=dest, offline=tarball.parent, keyring=gpg_key.public
        )

    pins = _expert_pins(tmp_path, tarball, gpg_key.fingerprint)
    sig.write_text(
        sig.read_text().replace(
            "BEGIN PGP SIGNATURE-----\n\n", "BEGIN PGP SIGNATURE-----\n\nAAAA", 1
        )
    )
    with pytest.raises(fetch.VerifyError, match="signature check FAILED"):
        fetch.fetch(
            "teb", pins=pins, dest_root=dest, offline=tarball.parent, keyring=gpg_key.public
        )
    assert not (dest / "linux-x86_64").exists()


def test_expert_bundle_with_unpinned_hash_or_unsafe_paths_is_refused(tmp_path: Path, gpg_key):
    tarball = _expert_tarball(tmp_path, evil=True)
    gpg_key.sign(tarball)
    pins = _expert_pins(tmp_path, tarball, gpg_key.fingerprint)
    with pytest.raises(fetch.VerifyError, match="unsafe or damaged"):
        fetch.fetch(
            "teb",
            pins=pins,
            dest_root=tmp_path / "d",
            offline=tarball.parent,
            keyring=gpg_key.public,
        )
    assert not (tmp_path / "escaped").exists()

    pins["targets"]["teb"]["sha256"] = ""
    with pytest.raises(fetch.PinError, match="no sha256 pinned"):
        fetch.fetch(
            "teb",
            pins=pins,
            dest_root=tmp_path / "d",
            offline=tarball.parent,
            keyring=gpg_key.public,
        )


# -- bundle pruning rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/plugins/styles/libqmacstyle.dylib", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
        ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", False),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("somepkg/plugins/thing/x.so", True),  # not Qt's
    ],
)
def test_qt_plugin_rules(dest: str, kept: bool):
    assert prune.keep_qt_plugin(dest) is kept


def test_qt_catalogues_only_for_languages_libra_ships():
    assert prune.keep_qt_translation("PySide6/Qt/translations/qtbase_de.qm", {"de"})
    assert prune.keep_qt_translation("PySide6/Qt/translations/qt_pt_BR.qm", {"pt"})
    assert not prune.keep_qt_translation("PySide6/Qt/translations/qtbase_fr.qm", {"de"})
    assert not prune.keep_qt_translation("PySide6/Qt/translations/qtmultimedia_de.qm", {"de"})
    assert prune.keep_qt_translation("translations/libra_fr.qm", set())


def test_unlinked_libraries_are_dropped_and_linked_ones_kept():
    graph = {
        "ext.so": {"libA.so.1"},
        "libA.so.1": {"libB.so.2"},
        "libB.so.2": set(),
        "libC.so.3": {"libB.so.2"},  # linked by nothing kept
        "PySide6/Qt/plugins/platforms/libqxcb.so": {"libD.so.4"},
        "libD.so.4": set(),
        "libpython3.11.so.1.0": set(),  # loaded by the bootloader, always kept
    }
    binaries = [(name, name, "BINARY") for name in graph]
    kept, dropped = prune.prune_unneeded_libs(binaries, lambda p: graph[str(p)])
    assert sorted(dropped) == ["libC.so.3"]
    assert {e[0] for e in kept} == set(graph) - {"libC.so.3"}


# -- the self-test ----------------------------------------------------------------------------


def test_self_test_passes_from_source():
    """The same checks the installed app runs (window, store, qr, webrtc, tor, ...)."""
    try:
        binary.find_tor()
    except TorNotFound:
        pytest.skip("needs a tor binary (the CI installs Debian's)")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from libra_gui.selftest import run_self_test; sys.exit(run_self_test())",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Libra self-test PASSED" in done.stdout
    summary = json.loads(done.stdout.rsplit("SELFTEST ", 1)[1])
    assert summary["ok"] and not summary["frozen"]
    for name in ("window", "store", "qr", "webrtc", "tor"):
        assert summary["checks"][name]["status"] == "ok", name
    assert summary["window_s"] > 0


def test_frozen_self_test_fails_unless_the_tor_is_the_bundled_one(tmp_path: Path, monkeypatch):
    fake = _script(tmp_path / "elsewhere" / "tor", FAKE_TOR)
    monkeypatch.setattr(binary, "find_tor", lambda configured=None: fake)
    test = selftest.SelfTest(tmp_path, io.StringIO())
    test.frozen = True
    test.run("tor", test.check_tor)
    assert test.results[-1].status == "FAIL"
    assert "not the tor inside this bundle" in test.results[-1].detail
    test.run("transports", test.check_transports)
    assert test.results[-1].status == "FAIL"  # frozen: no manifest is a failure, not a skip


def test_self_test_notices_a_changed_bundled_file(tmp_path: Path):
    folder = tmp_path / "bundle"
    _script(folder / "tor", FAKE_TOR)
    manifest = {"files": {"tor": _sha(folder / "tor")}}
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    assert selftest._verify_manifest(folder, folder / "MANIFEST.json") == manifest
    (folder / "tor").chmod(stat.S_IRWXU)
    (folder / "tor").write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(RuntimeError, match="changed tor"):
        selftest._verify_manifest(folder, folder / "MANIFEST.json")


def test_transport_that_does_not_finish_the_handshake_fails(tmp_path: Path, monkeypatch):
    broken = _script(tmp_path / "pt", 'echo "VERSION 1"\necho "CMETHOD-ERROR obfs4 nope"\n')
    with pytest.raises(RuntimeError, match="did not offer obfs4"):
        selftest._pt_handshake(broken, "obfs4", tmp_path / "state")
    silent = _script(tmp_path / "silent", 'echo "VERSION 1"\nexec sleep 60\n')
    monkeypatch.setattr(selftest, "PT_TIMEOUT", 0.5)
    monkeypatch.setattr(selftest, "PT_EXIT_GRACE", 0.2)
    with pytest.raises(RuntimeError, match="did not offer obfs4"):  # and does not hang
        selftest._pt_handshake(silent, "obfs4", tmp_path / "state")
