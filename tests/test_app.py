"""The `libra` window: starts, renders, quits (a real Qt window, offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from libra_gui.ui.main_window import MainWindow


def test_main_window_renders(qtbot, tmp_path: Path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    image = window.grab().toImage()
    assert image.width() >= 600 and image.height() >= 400
    # Something was drawn: not a single flat colour.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, 300, 7)}
    assert len(colours) > 2
    window.grab().save(str(tmp_path / "main_window.png"))
    assert (tmp_path / "main_window.png").stat().st_size > 1000


def test_libra_command_self_test_starts_and_exits_cleanly():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "libra_gui", "--self-test"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
