"""``libra --self-test``: prove from inside an installed Libra that the bundle is whole.

Packaging breaks things that unit tests never see: a data file or Qt plugin left out, a native
library that does not load, a bundled tor that will not start or is not the one found. So this
runs the real code paths offline, in a throw-away folder, and exits 0 only if all pass:

* window: the real MainWindow renders offscreen on a real (throw-away) profile;
* store: an encrypted SQLCipher store opens, rejects a wrong passphrase, and is not plaintext;
* qr, webrtc: the native QR and WebRTC stacks (zxing-cpp, Pillow, aiortc/PyAV) work;
* tor: the tor Libra would use is found (in a frozen app: the bundled one, or FAIL), matches
  its MANIFEST.json, and really starts under TorManager with its geoip files (network off);
* transports: every bundled pluggable transport completes the managed-proxy handshake;
* qt-plugins: the platform plugins are there and their libraries resolve (Linux: ldd).

The last line starting with ``SELFTEST `` is JSON for scripts (installers/ci_build.sh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_STARTED = time.monotonic()  # fallback clock where the OS does not tell the process age
PASSPHRASE = "libra self-test passphrase"
PT_TIMEOUT = 15.0  # seconds for a transport's handshake; they answer in well under one
PT_EXIT_GRACE = 5.0  # seconds a transport gets to exit once its stdin is closed
TOR_START_TIMEOUT = 60.0
# A windowed app on Windows must not flash a console window for each helper it starts.
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


class Skipped(Exception):
    """A check that does not apply here (e.g. no bundled transports in a source checkout)."""


@dataclass
class Result:
    """One check's outcome, as printed and as reported in the JSON line."""

    name: str
    status: str  # "ok", "FAIL" or "skip"
    detail: str
    seconds: float


def process_age() -> tuple[float, str]:
    """Seconds since this process started, and what the clock measures.

    Linux reads the kernel's start time, so a frozen app's bootloader and imports count too
    (what a user waits for); elsewhere it is the time since this module was imported.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK"), "process start"
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _STARTED, "self-test start"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle, where everything must come from the bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


class SelfTest:
    """Runs the checks in order, prints one line each, and remembers the results."""

    def __init__(self, workdir: Path, out: IO[str]) -> None:
        self.workdir = workdir
        self.out = out
        self.frozen = is_frozen()
        self.results: list[Result] = []
        self.facts: dict[str, Any] = {"frozen": self.frozen}
        self.tor_path: Path | None = None
        self.manifest: dict[str, Any] | None = None

    def run(self, name: str, check: Callable[[], str]) -> None:
        """Run one check; an exception is a FAIL with its message, never a traceback."""
        began = time.monotonic()
        try:
            status, detail = "ok", check()
        except Skipped as exc:
            status, detail = "skip", str(exc)
        except Exception as exc:
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
        result = Result(name, status, detail, time.monotonic() - began)
        self.results.append(result)
        print(f"  {status:4} {name:11} {detail}", file=self.out, flush=True)

    # -- checks ------------------------------------------------------------------------------

    def check_window(self) -> str:
        """Create a profile through the real facade and render the real main window."""
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from .core.storage import INSECURE_TEST_KDF
        from .ui.engine import EngineFacade
        from .ui.main_window import MainWindow

        app = QApplication.instance() or QApplication([sys.argv[0] or "libra"])
        # Argon2 cost is not what is tested here; the store check uses the real code path.
        facade = EngineFacade(self.workdir / "window-profile", kdf_params=INSECURE_TEST_KDF)
        try:
            info = facade.create_profile("Self-test", PASSPHRASE).result(timeout=60)
            window = MainWindow(facade, info)
            window.show()
            deadline = time.monotonic() + 10
            while not window.isVisible() and time.monotonic() < deadline:
                app.processEvents()
            app.processEvents()
            image = window.grab().toImage()
            age, clock = process_age()
            self.facts["window_s"] = round(age, 3)
            self.facts["window_clock"] = clock
            if image.isNull() or image.width() < 100 or image.height() < 100:
                raise RuntimeError("the main window rendered no image")
            colours = {
                image.pixel(x, y)
                for x in range(0, image.width(), 37)
                for y in range(0, image.height(), 23)
            }
            if len(colours) < 3:
                raise RuntimeError("the main window rendered blank")
            platform_name = app.platformName()
            window.close()  # MainWindow shuts the engine down when it closes
            app.processEvents()
        finally:
            facade.shutdown()
        return (
            f"{type(window).__name__} {image.width()}x{image.height()} on '{platform_name}', "
            f"{len(colours)} colours; shown {age:.2f} s after {clock}"
        )

    def check_store(self) -> str:
        """Create, reopen and wrong-passphrase an encrypted store with the default KDF."""
        from .core.errors import WrongPassphrase
        from .core.services import profile as profile_service
        from .core.storage import Database

        data_dir = self.workdir / "store"

        async def exercise() -> str:
            card = await profile_service.create_profile(data_dir, PASSPHRASE, "Self-test")
            async with profile_service.unlocked(data_dir, PASSPHRASE) as prof:
                if prof.keys.fingerprint != card.fingerprint:
                    raise RuntimeError("the reopened profile has other keys")
            try:
                db = await Database.open(data_dir, PASSPHRASE + "x")
            except WrongPassphrase:
                pass
            else:
                await db.close()
                raise RuntimeError("a wrong passphrase opened the store")
            return card.display_name

        asyncio.run(exercise())
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        for path in files:
            with path.open("rb") as f:
                if f.read(16) == b"SQLite format 3\x00":
                    raise RuntimeError(f"{path.name} is a plaintext SQLite file")
        return f"created, reopened, wrong passphrase refused; {len(files)} files, none plaintext"

    def check_qr(self) -> str:
        """QR round trip: qrcode + Pillow draw it, zxing-cpp reads it back."""
        from .core.services.qr import decode_qr_image, qr_png

        text = "libra self-test"
        png = qr_png(text)
        decoded = decode_qr_image(png)
        if decoded != [text]:
            raise RuntimeError(f"decoded {decoded!r}")
        return f"{len(png)}-byte PNG decodes back"

    def check_webrtc(self) -> str:
        """aiortc (imported lazily by the app, so easy to lose) builds a data-channel offer."""
        import aiortc
        import av

        async def offer() -> str:
            pc = aiortc.RTCPeerConnection()
            try:
                pc.createDataChannel("self-test")
                description = await pc.createOffer()
            finally:
                await pc.close()
            return description.sdp

        sdp = asyncio.run(offer())
        if "webrtc-datachannel" not in sdp or "a=fingerprint:" not in sdp:
            raise RuntimeError("the offer has no data channel or DTLS fingerprint")
        return f"aiortc {aiortc.__version__}, PyAV {av.__version__}: data-channel offer built"

    def check_tor(self) -> str:
        """The tor Libra would run: found where expected, intact, and it starts."""
        from .core.net.tor.binary import bundled_candidates, find_tor

        tor = find_tor()
        self.tor_path = tor
        bundled = any(tor == candidate for candidate in bundled_candidates())
        self.facts["tor_path"] = str(tor)
        self.facts["tor_bundled"] = bundled
        if self.frozen and not bundled:
            raise RuntimeError(f"found {tor}, not the tor inside this bundle")
        detail = [str(tor), "(bundled)" if bundled else "(system; no bundled tor here)"]
        manifest_path = tor.parent / "MANIFEST.json"
        if manifest_path.is_file():
            self.manifest = _verify_manifest(tor.parent, manifest_path)
            detail.append(f"{len(self.manifest['files'])} files match MANIFEST.json")
        elif bundled or self.frozen:
            raise RuntimeError(f"{manifest_path} is missing: the bundled tor was not verified")
        version = asyncio.run(self._start_tor(tor))
        self.facts["tor_version"] = version
        detail.insert(0, f"Tor {version}")
        return ", ".join(detail)

    async def _start_tor(self, tor: Path) -> str:
        """Start tor with the network off under TorManager (the app's own launch path)."""
        from .core.net.tor.manager import TorManager
        from .core.net.tor.settings import TorSettings

        extra = ["DisableNetwork 1"]
        geo = []
        if self.manifest:
            for option, key in (("GeoIPFile", "geoip"), ("GeoIPv6File", "geoip6")):
                if self.manifest.get(key):
                    extra.append(f'{option} "{tor.parent / self.manifest[key]}"')
                    geo.append(key)
        settings = TorSettings(
            data_dir=self.workdir / "tor",
            tor_path=tor,
            extra_torrc=extra,
            start_timeout=TOR_START_TIMEOUT,
            max_restarts=0,
        )
        manager = TorManager(settings)
        await manager.start(wait_bootstrap=False)
        try:
            version = (await manager.get_info("version")).split()[0]
            if "geoip" in geo and await manager.get_info("ip-to-country/ipv4-available") != "1":
                raise RuntimeError("tor did not load the bundled geoip file")
            if "geoip6" in geo and await manager.get_info("ip-to-country/ipv6-available") != "1":
                raise RuntimeError("tor did not load the bundled geoip6 file")
            self.facts["tor_sandbox"] = manager.sandboxed
        finally:
            await manager.stop()
        return version

    def check_transports(self) -> str:
        """Each bundled pluggable transport speaks the managed-proxy protocol to a 'tor'."""
        if not self.manifest:
            if self.frozen:
                raise RuntimeError("no MANIFEST.json for the bundled tor")
            raise Skipped("no bundled tor here (source checkout using the system's tor)")
        transports: dict[str, list[str]] = self.manifest.get("transports") or {}
        if not transports:
            raise RuntimeError("the bundled tor has no pluggable transports (bridges would fail)")
        assert self.tor_path is not None
        done = []
        for rel, names in sorted(transports.items()):
            method = _pt_handshake(self.tor_path.parent / rel, names[0], self.workdir / "pt")
            done.append(f"{Path(rel).name}: {method}")
        self.facts["transports"] = sorted(n for names in transports.values() for n in names)
        return "; ".join(done)

    def check_qt_plugins(self) -> str:
        """The platform plugins a desktop needs are bundled and (Linux) their libraries load."""
        from PySide6.QtCore import QLibraryInfo

        folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
        wanted = {
            "linux": ["libqxcb.so", "libqwayland.so"],
            "win32": ["qwindows.dll"],
            "darwin": ["libqcocoa.dylib"],
        }.get(sys.platform, [])
        missing = [name for name in wanted if not (folder / name).is_file()]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not in {folder}")
        unresolved = []
        if sys.platform == "linux" and shutil.which("ldd"):
            for name in wanted:
                out = subprocess.run(
                    ["ldd", str(folder / name)], capture_output=True, text=True, timeout=30
                ).stdout
                unresolved += [ln.split()[0] for ln in out.splitlines() if "not found" in ln]
        if unresolved:
            libs = ", ".join(sorted(set(unresolved)))
            if not self.frozen:  # PySide6's wheel is not ours to package; the .deb's Depends are
                raise Skipped(f"source run; this system lacks {libs} (the .deb depends on them)")
            raise RuntimeError(f"system libraries missing: {libs} (incomplete package Depends)")
        return f"{', '.join(wanted)} present" + (", libraries resolve" if wanted else "")


def _verify_manifest(folder: Path, manifest_path: Path) -> dict[str, Any]:
    """Every file the fetch script verified is still there and unchanged."""
    import hashlib

    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    bad = []
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.is_file():
            bad.append(f"missing {rel}")
            continue
        with path.open("rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != digest:
                bad.append(f"changed {rel}")
    if bad:
        raise RuntimeError("bundled tor damaged: " + "; ".join(bad))
    return manifest


def _pt_handshake(binary: Path, transport: str, state: Path) -> str:
    """Start ``binary`` as tor would (managed mode) and wait for its CMETHOD line."""
    state.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        TOR_PT_MANAGED_TRANSPORT_VER="1",
        TOR_PT_CLIENT_TRANSPORTS=transport,
        TOR_PT_STATE_LOCATION=str(state),
        TOR_PT_EXIT_ON_STDIN_CLOSE="1",
    )
    proc = subprocess.Popen(
        [str(binary)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
        creationflags=_NO_WINDOW,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    received: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # a thread, so a transport that hangs silently cannot hang us
        for text in stdout:
            received.put(text)
        received.put(None)

    threading.Thread(target=pump, daemon=True).start()
    lines: list[str] = []
    try:
        deadline = time.monotonic() + PT_TIMEOUT
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = received.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            lines.append(line.strip())
            if line.startswith(("CMETHODS DONE", "ENV-ERROR", "CMETHOD-ERROR", "VERSION-ERROR")):
                break
    finally:
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()  # TOR_PT_EXIT_ON_STDIN_CLOSE: a clean exit
        try:
            proc.wait(timeout=PT_EXIT_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    method = next((ln for ln in lines if ln.startswith(f"CMETHOD {transport} ")), None)
    if method is None or "CMETHODS DONE" not in lines:
        raise RuntimeError(f"{binary.name} did not offer {transport}: {lines[-3:]}")
    return " ".join(method.split()[1:3])  # e.g. "obfs4 socks5"


def run_self_test(out: IO[str] | None = None) -> int:
    """Run every check in a temporary folder; 0 if all passed, 1 otherwise.

    A windowed app on Windows has no stdout, so the report then goes to
    ``%TEMP%/libra-self-test.txt``.
    """
    report_file = None
    if out is None:
        if sys.stdout is None:
            report_file = open(  # noqa: SIM115 - closed below
                Path(tempfile.gettempdir()) / "libra-self-test.txt", "w", encoding="utf-8"
            )
            out = report_file
        else:
            out = sys.stdout
    from . import __version__

    print(
        f"Libra {__version__} self-test ({'frozen bundle' if is_frozen() else 'source'})",
        file=out,
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="libra-selftest-") as tmp:
            test = SelfTest(Path(tmp), out)
            test.run("window", test.check_window)
            test.run("store", test.check_store)
            test.run("qr", test.check_qr)
            test.run("webrtc", test.check_webrtc)
            test.run("tor", test.check_tor)
            test.run("transports", test.check_transports)
            test.run("qt-plugins", test.check_qt_plugins)
        failed = [r.name for r in test.results if r.status == "FAIL"]
        passed = sum(r.status == "ok" for r in test.results)
        skipped = sum(r.status == "skip" for r in test.results)
        verdict = "PASSED" if not failed else "FAILED (" + ", ".join(failed) + ")"
        print(f"Libra self-test {verdict}: {passed} ok, {skipped} skipped", file=out)
        summary = {
            "ok": not failed,
            "version": __version__,
            **test.facts,
            "checks": {
                r.name: {"status": r.status, "seconds": round(r.seconds, 3)} for r in test.results
            },
        }
        print("SELFTEST " + json.dumps(summary, sort_keys=True), file=out, flush=True)
        return 0 if not failed else 1
    finally:
        if report_file is not None:
            report_file.close()
