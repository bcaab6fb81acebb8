"""Shared fixtures. Kept small: the private Tor network, and the NAT lab with its own one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests import netns
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


@pytest.fixture(scope="session")
def nat_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[netns.Lab]:
    """tests/netns.py's standard lab (routers a, b; hosts a1, a2, b1; coturn), session-wide.

    Skipped only where namespaces can't be made (not root, no ``ip``). Tests set the routers'
    behaviour they need (``lab.routers["a"].set_behaviour(...)``); state is left as found.
    """
    reason = netns.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with netns.standard_lab(tmp_path_factory.mktemp("natlab")) as lab:
        print(f"\n[natlab] {lab.id}: public segment {lab.public} ({lab.base_dir})")
        yield lab


@pytest.fixture(scope="session")
def nat_tor_network(
    nat_lab: netns.Lab, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TorNetwork]:
    """A private Tor network on the NAT lab's public segment (the root namespace's address
    there), so tors behind the lab's NATs can join it; otherwise like ``tor_network``."""
    if not (shutil.which(TOR) and shutil.which(TOR_GENCERT)):
        pytest.skip("needs the tor and tor-gencert binaries")
    network = TorNetwork(tmp_path_factory.mktemp("nattornet"), address=nat_lab.root_address)
    try:
        network.start()
        print(f"\n[natlab] Tor network up in {network.startup_seconds:.1f} s ({network.base_dir})")
        yield network
    finally:
        network.stop()
