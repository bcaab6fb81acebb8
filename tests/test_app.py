"""The `libra` app: starts, renders, quits (a real Qt window, offscreen; no tor, no network)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.services import profile
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui.engine import EngineFacade
from libra_gui.ui.main_window import MainWindow


def test_main_window_renders(qtbot, tmp_path: Path):
    data_dir = tmp_path / "profile"
    settings = TorSettings(data_dir=data_dir / "tor", tor_path=tmp_path / "no-such-tor")
    facade = EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)
    try:
        facade.create_profile("Robin", "a passphrase for the test").result(timeout=60)
        window = MainWindow(facade)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(window.no_contacts.isVisible, timeout=30_000)
        image = window.grab().toImage()
        assert image.width() >= 600 and image.height() >= 400
        # Something was drawn: not a single flat colour.
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, 300, 7)}
        assert len(colours) > 2
        window.grab().save(str(tmp_path / "main_window.png"))
        assert (tmp_path / "main_window.png").stat().st_size > 1000
    finally:
        facade.shutdown()


@pytest.mark.parametrize("existing", [False, True], ids=["first-run", "unlock"])
def test_libra_command_starts_and_exits_cleanly(tmp_path: Path, existing: bool):
    """No profile shows onboarding, a profile shows unlock; neither needs tor."""
    data_dir = tmp_path / "profile"
    if existing:
        asyncio.run(
            profile.create_profile(data_dir, "pw pw pw pw", "Robin", kdf_params=INSECURE_TEST_KDF)
        )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "libra_gui", "--quit-after", "0.3", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert data_dir.exists() == existing  # starting never creates a profile by itself


def test_self_test_checks_tor_store_and_window_and_reports_json(tmp_path: Path):
    """`libra --self-test` (what installers run): every check passes from a source tree."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "libra_gui", "--self-test"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("SELFTEST ")]
    assert lines, done.stdout
    report = json.loads(lines[-1].removeprefix("SELFTEST "))
    assert report["ok"] is True, report
