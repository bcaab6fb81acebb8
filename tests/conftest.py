"""Shared fixtures. Kept small: only the private Tor network lives here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.tornet import TOR, TOR_GENCERT, TorNetwork


@pytest.fixture(scope="session")
def tor_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TorNetwork]:
    """A private Tor network on 127.0.0.1, started on first use and shared by the session.

    Lazy like any fixture: runs that use no Tor test never start it. Logs stay in
    ``<pytest basetemp>/tornet0/`` (pytest keeps the last three runs).
    """
    if not (shutil.which(TOR) and shutil.which(TOR_GENCERT)):
        pytest.skip("needs the tor and tor-gencert binaries")
    network = TorNetwork(tmp_path_factory.mktemp("tornet"))
    try:
        network.start()
        print(f"\n[tornet] network up in {network.startup_seconds:.1f} s ({network.base_dir})")
        yield network
    finally:
        network.stop()
