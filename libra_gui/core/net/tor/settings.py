"""What the user (or a test) configures about tor; plain data, validated on construction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ControlEndpoint:
    """Where a tor that someone else started listens for controllers (attach mode).

    Exactly one of ``port`` and ``socket_path``. Authentication: ``password`` if given, else
    whatever tor offers (cookie/safe-cookie read from the path tor reports, or ``cookie_path``
    when tor runs where its path means something else, e.g. in a container).
    """

    host: str = "127.0.0.1"
    port: int | None = None
    socket_path: Path | None = None
    password: str | None = field(default=None, repr=False)
    cookie_path: Path | None = None

    def __post_init__(self) -> None:
        if (self.port is None) == (self.socket_path is None):
            raise ValueError("ControlEndpoint needs exactly one of port and socket_path")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"control port {self.port} is out of range")

    def describe(self) -> str:
        """Human-readable location for error messages (never includes the password)."""
        if self.socket_path is not None:
            return f"control socket {self.socket_path}"
        return f"control port {self.host}:{self.port}"


@dataclass(frozen=True)
class TorSettings:
    """How to run (or find) tor.

    ``data_dir`` is tor's own DataDirectory (created 0700). ``extra_torrc`` lines come from
    the user's settings: bridges, ``ClientTransportPlugin``, ``UseBridges 1``, private test
    networks. ``bootstrap_timeout`` is how long bootstrap may go without any progress before
    we call it stuck. With ``attach`` set, Libra starts no tor and uses that one instead.
    """

    data_dir: Path
    tor_path: Path | None = None
    extra_torrc: Sequence[str] = ()
    attach: ControlEndpoint | None = None
    bootstrap_timeout: float = 120.0
    sandbox: bool = True
    start_timeout: float = 30.0
    control_timeout: float = 30.0
    max_restarts: int = 5
    restart_backoff: float = 0.5
    restart_backoff_max: float = 30.0
