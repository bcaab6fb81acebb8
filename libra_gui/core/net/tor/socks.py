"""Async SOCKS5 client for streams through tor (RFC 1928 + RFC 1929, Tor's extended errors).

The username/password pair is tor's stream-isolation token (``IsolateSOCKSAuth``): streams with
different credentials never share a circuit, so each contact gets its own circuits and one
contact cannot correlate our traffic with another's. Replies are parsed strictly with a hard
upper bound, because a confused proxy must not make us read without limit or misframe the
first bytes of the peer's stream.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from .errors import (
    SocksError,
    SocksProtocolError,
    SocksProxyUnreachable,
    SocksTimeout,
)

__all__ = [
    "MAX_REPLY_LEN",
    "REPLY_MESSAGES",
    "SocksError",
    "SocksProtocolError",
    "SocksProxyUnreachable",
    "SocksReply",
    "SocksTimeout",
    "connect_request",
    "open_stream",
    "parse_reply",
    "socks_error",
]

SOCKS_VERSION = 5
AUTH_VERSION = 1
METHOD_NO_AUTH = 0x00
METHOD_USERPASS = 0x02
METHOD_NONE_ACCEPTABLE = 0xFF
CMD_CONNECT = 0x01
ATYP_IPV4 = 0x01
ATYP_DOMAIN = 0x03
ATYP_IPV6 = 0x04
# 4-byte header + 1 length byte + 255-byte domain + 2-byte port: nothing valid is longer.
MAX_REPLY_LEN = 4 + 1 + 255 + 2
# Prop 351 reserves usernames starting with this for tor's own extended SOCKS parameters.
_RESERVED_USERNAME_PREFIX = b"<torS0"
_PASSWORD = b"libra"

REPLY_MESSAGES: dict[int, str] = {
    0x01: "tor could not open the connection (general failure); it will be retried",
    0x02: "the connection is not allowed by tor's exit policy or configuration",
    0x03: "the network is unreachable; check your internet connection",
    0x04: "the destination is unreachable right now",
    0x05: "the destination refused the connection (the contact's Libra is not listening)",
    0x06: "the connection timed out inside the Tor network",
    0x07: "tor does not support this kind of request",
    0x08: "tor does not support this kind of address",
    0xF0: "the contact's onion service was not found: they are probably offline "
    "(or just came online and are not published yet)",
    0xF1: "the contact's onion service descriptor is invalid",
    0xF2: "could not reach the contact's onion service (introduction failed); "
    "they are probably offline",
    0xF3: "could not complete a connection with the contact's onion service "
    "(rendezvous failed); it will be retried",
    0xF4: "this onion service requires client authorization and our key does not open it "
    "(the contact has not authorized us yet, or replaced or removed our key)",
    0xF5: "the contact's onion service rejected our client authorization key "
    "(the contact may have removed or replaced our key)",
    0xF6: "the onion address is not valid",
    0xF7: "the contact's onion service did not answer in time (introduction timed out); "
    "they are probably offline",
}


@dataclass(frozen=True)
class SocksReply:
    """A parsed CONNECT reply: the code and the address the proxy bound."""

    code: int
    bound_host: str
    bound_port: int


def socks_error(code: int) -> SocksError:
    """The typed error for a non-zero reply code, with a message a user can understand."""
    text = REPLY_MESSAGES.get(code, f"the proxy refused the connection (unknown code 0x{code:02X})")
    return SocksError(f"{text} [SOCKS 0x{code:02X}]", code=code)


def reply_length(header: bytes) -> int | None:
    """Total length of a successful reply given its first 5 bytes (or 4 for fixed-size
    address types), or None if more bytes are needed to tell. Raises SocksProtocolError."""
    if len(header) < 4:
        return None
    ver, rep, rsv, atyp = header[0], header[1], header[2], header[3]
    if ver != SOCKS_VERSION:
        raise SocksProtocolError(f"proxy answered with SOCKS version {ver}, not 5")
    if rsv != 0:
        raise SocksProtocolError("proxy reply has a non-zero reserved byte")
    if rep != 0:
        return 4  # an error reply: the code is all that matters
    if atyp == ATYP_IPV4:
        return 4 + 4 + 2
    if atyp == ATYP_IPV6:
        return 4 + 16 + 2
    if atyp == ATYP_DOMAIN:
        if len(header) < 5:
            return None
        if header[4] == 0:
            raise SocksProtocolError("proxy reply has an empty bound domain name")
        return 4 + 1 + header[4] + 2
    raise SocksProtocolError(f"proxy reply has unknown address type {atyp}")


def parse_reply(data: bytes) -> SocksReply | None:
    """Parse a CONNECT reply from the start of ``data``; None means "need more bytes".

    An error code raises SocksError as soon as the 4-byte header is known; bytes after a
    complete reply belong to the stream and are ignored here.
    """
    need = reply_length(data[:5])
    if need is None or len(data) < need:
        return None
    rep, atyp = data[1], data[3]
    if rep != 0:
        raise socks_error(rep)
    body = data[4:need]
    if atyp == ATYP_IPV4:
        host = str(ipaddress.IPv4Address(body[:4]))
    elif atyp == ATYP_IPV6:
        host = str(ipaddress.IPv6Address(body[:16]))
    else:
        try:
            host = body[1:-2].decode("ascii")
        except UnicodeDecodeError:
            raise SocksProtocolError("proxy reply has a non-ASCII bound domain name") from None
    port = int.from_bytes(body[-2:], "big")
    return SocksReply(0, host, port)


def connect_request(host: str, port: int) -> bytes:
    """The CONNECT request; hostnames (onion addresses) go to tor unresolved (ATYP 3)."""
    if not 0 < port < 65536:
        raise SocksError(f"port {port} is out of range")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if isinstance(ip, ipaddress.IPv4Address):
        addr = bytes([ATYP_IPV4]) + ip.packed
    elif isinstance(ip, ipaddress.IPv6Address):
        addr = bytes([ATYP_IPV6]) + ip.packed
    else:
        try:
            name = host.encode("ascii")
        except UnicodeEncodeError:
            raise SocksError("host name must be ASCII") from None
        if not 0 < len(name) < 256:
            raise SocksError("host name must be 1-255 characters")
        addr = bytes([ATYP_DOMAIN, len(name)]) + name
    return bytes([SOCKS_VERSION, CMD_CONNECT, 0]) + addr + port.to_bytes(2, "big")


def _isolation_credentials(isolation: str) -> bytes:
    user = isolation.encode("utf-8")
    if not 0 < len(user) < 256:
        raise SocksError("isolation token must be 1-255 bytes")
    if user.startswith(_RESERVED_USERNAME_PREFIX):
        raise SocksError("isolation token must not start with <torS0 (reserved by tor)")
    return bytes([AUTH_VERSION, len(user)]) + user + bytes([len(_PASSWORD)]) + _PASSWORD


async def open_stream(
    socks_host: str,
    socks_port: int,
    host: str,
    port: int,
    *,
    isolation: str,
    timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``host:port`` through the SOCKS5 proxy; the stream is ready for data.

    ``isolation`` is the stream-isolation token (e.g. one per contact); streams with the same
    token may share circuits, streams with different tokens never do. Raises SocksError (or
    a subclass) with the proxy's code and a readable message; never leaks the socket.
    """
    auth = _isolation_credentials(isolation)
    request = connect_request(host, port)
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(socks_host, socks_port)
            except OSError as exc:
                raise SocksProxyUnreachable(
                    f"cannot reach tor's SOCKS port at {socks_host}:{socks_port} "
                    f"({exc.strerror or exc}); is tor running?"
                ) from None
            try:
                await _handshake(reader, writer, auth, request)
            except BaseException:
                writer.close()
                raise
    except TimeoutError:
        raise SocksTimeout(
            f"tor did not open the connection within {timeout:g} s; it will be retried"
        ) from None
    return reader, writer


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, auth: bytes, request: bytes
) -> None:
    writer.write(bytes([SOCKS_VERSION, 1, METHOD_USERPASS]))
    await writer.drain()
    ver, method = await _read(reader, 2)
    if ver != SOCKS_VERSION:
        raise SocksProtocolError(f"proxy answered with SOCKS version {ver}, not 5")
    if method == METHOD_NONE_ACCEPTABLE:
        raise SocksError(
            "the SOCKS proxy does not accept username/password authentication, which Libra "
            "needs for stream isolation"
        )
    if method != METHOD_USERPASS:
        raise SocksProtocolError(
            f"proxy chose authentication method {method}, which we did not offer"
        )
    writer.write(auth)
    await writer.drain()
    ver, status = await _read(reader, 2)
    if ver != AUTH_VERSION:
        raise SocksProtocolError(f"proxy answered authentication with version {ver}, not 1")
    if status != 0:
        raise SocksError("the SOCKS proxy rejected our stream-isolation credentials")
    writer.write(request)
    await writer.drain()
    data = await _read(reader, 4)
    while (need := reply_length(data)) is None or len(data) < need:
        # One more byte decides a domain reply's length; after that, read exactly the rest.
        # reply_length() bounds ``need`` by MAX_REPLY_LEN, so this never reads without limit.
        data += await _read(reader, (need or len(data) + 1) - len(data))
    parse_reply(data)


async def _read(reader: asyncio.StreamReader, n: int) -> bytes:
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError as exc:
        got = len(exc.partial)
        raise SocksProtocolError(
            f"the SOCKS proxy closed the connection mid-reply ({got} of {n} bytes)"
        ) from None
    except ConnectionError as exc:
        raise SocksProtocolError(f"the SOCKS connection broke: {exc}") from None
