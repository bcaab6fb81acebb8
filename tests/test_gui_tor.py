"""The Tor status bar against a real tor on the private Tor network (loopback only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui.engine import EngineFacade
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.states import TorStatus

pytestmark = pytest.mark.slow

WAIT = 180_000  # ms: a tor bootstrap on a loaded 2-core machine


def test_status_bar_follows_a_real_bootstrap_and_closing_stops_tor(qtbot, tor_network, tmp_path):
    data_dir = tmp_path / "profile"
    settings = TorSettings(data_dir=data_dir / "tor", extra_torrc=tor_network.client_torrc_lines())
    facade = EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)
    try:
        facade.create_profile("Robin", "real tor passphrase").result(timeout=60)
        window = MainWindow(facade)
        qtbot.addWidget(window)
        window.show()
        seen: list[TorStatus] = []
        facade.torStatusChanged.connect(seen.append)
        facade.start_node()
        qtbot.waitUntil(lambda: facade.tor_status.phase == "ready", timeout=WAIT)
        phases = [s.phase for s in seen]
        assert phases[0] == "starting" and "bootstrapping" in phases
        progress = [s.percent for s in seen if s.phase == "bootstrapping"]
        assert progress == sorted(progress) and progress[-1] == 100
        assert window.tor_item.label.text() == "Connected to Tor"
        assert not window.tor_item.progress.isVisible()
        pid = facade.engine.node.tor.pid if facade.engine.node else None
        assert pid is not None

        window.close()  # stops the node (tor gets HALT), closes the store, joins the thread
        assert not facade.engine.thread.is_alive()
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    finally:
        facade.shutdown()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


if os.name != "posix":  # pragma: no cover
    pytest.skip("uses /proc", allow_module_level=True)
