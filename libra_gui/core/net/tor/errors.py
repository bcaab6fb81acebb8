"""Typed Tor failures. Each message tells a person what to do next; none carries a traceback."""

from __future__ import annotations

from ...errors import LibraError


class TorError(LibraError):
    """Base class of every failure of the Tor layer."""


class TorNotFound(TorError):
    """No usable ``tor`` program: not configured, not bundled, not installed."""


class TorConfigError(TorError):
    """Tor rejected its configuration (usually a bad line in the extra torrc settings)."""

    def __init__(self, message: str, tor_message: str = "") -> None:
        super().__init__(message)
        self.tor_message = tor_message


class TorStartFailed(TorError):
    """Tor exited or stayed silent while starting, for a reason other than its configuration."""


class TorControlError(TorError):
    """The control connection failed, or tor refused a control command."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TorControlAuthError(TorControlError):
    """Tor's control port refused our credentials (wrong password, unreadable cookie)."""


class TorBootstrapStuck(TorError):
    """Tor made no bootstrap progress within the timeout."""

    def __init__(self, message: str, percent: int = 0, tag: str = "", warning: str = "") -> None:
        super().__init__(message)
        self.percent = percent
        self.tag = tag
        self.warning = warning


class TorDied(TorError):
    """Tor stopped and could not be restarted (or reconnected, in attach mode)."""


class TorNotRunning(TorError):
    """A call that needs tor was made before ``start()`` or after ``stop()``."""


class SocksError(TorError):
    """A SOCKS5 connection through tor failed.

    ``code`` is the proxy's reply code (RFC 1928 0x01-0x08, Tor's extended 0xF0-0xF7), or
    None when there was no reply code (proxy unreachable, timeout, malformed reply).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def retryable(self) -> bool:
        """Whether trying again later can help (peer offline, flaky circuit) or cannot
        (missing/wrong client authorization, bad address, refused by policy)."""
        return self.code not in _PERMANENT_CODES


class SocksProtocolError(SocksError):
    """The proxy's reply was malformed, truncated or oversized."""


class SocksTimeout(SocksError):
    """The proxy did not finish the SOCKS handshake in time."""


class SocksProxyUnreachable(SocksError):
    """Could not connect to the SOCKS port at all (is tor running?)."""


# Not allowed by ruleset, command/address type unsupported, client auth missing/wrong,
# invalid onion address: the same request will fail the same way.
_PERMANENT_CODES = frozenset({0x02, 0x07, 0x08, 0xF4, 0xF5, 0xF6})
