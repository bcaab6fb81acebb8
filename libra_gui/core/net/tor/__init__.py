"""Tor for Libra: find/launch/attach, bootstrap, onion services, client auth, SOCKS.

Everything outside this package talks to tor through :class:`TorManager` and
:func:`open_stream`; stem is used only in ``control.py`` so it can be replaced.
"""

from __future__ import annotations

from .binary import find_tor
from .errors import (
    SocksError,
    SocksProtocolError,
    SocksProxyUnreachable,
    SocksTimeout,
    TorBootstrapStuck,
    TorConfigError,
    TorControlAuthError,
    TorControlError,
    TorDied,
    TorError,
    TorNotFound,
    TorNotRunning,
    TorStartFailed,
)
from .events import TorBootstrap, TorEvent, TorFailed, TorRestarted, TorRestarting, TorStopped
from .manager import TorManager
from .settings import ControlEndpoint, TorSettings
from .socks import open_stream

__all__ = [
    "ControlEndpoint",
    "SocksError",
    "SocksProtocolError",
    "SocksProxyUnreachable",
    "SocksTimeout",
    "TorBootstrap",
    "TorBootstrapStuck",
    "TorConfigError",
    "TorControlAuthError",
    "TorControlError",
    "TorDied",
    "TorError",
    "TorEvent",
    "TorFailed",
    "TorManager",
    "TorNotFound",
    "TorNotRunning",
    "TorRestarted",
    "TorRestarting",
    "TorSettings",
    "TorStartFailed",
    "TorStopped",
    "find_tor",
    "open_stream",
]
