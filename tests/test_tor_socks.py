"""SOCKS5 client: every reply code, hostile/malformed replies, and the parser under hypothesis.

A tiny fake SOCKS server on loopback injects the faults (a real tor cannot be made to send a
truncated or oversized reply); the manager tests and the end-to-end test use real tor.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libra_gui.core.net.tor.errors import (
    SocksError,
    SocksProtocolError,
    SocksProxyUnreachable,
    SocksTimeout,
)
from libra_gui.core.net.tor.socks import (
    MAX_REPLY_LEN,
    REPLY_MESSAGES,
    SocksReply,
    connect_request,
    open_stream,
    parse_reply,
)

ONION = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion"
OK_V4 = bytes([5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90])

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class FakeSocks:
    """Accepts connections and runs ``script`` on each; records what the client sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, object]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> FakeSocks:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def open(self, host: str = ONION, port: int = 80, **kw: object):
        kw.setdefault("isolation", "contact-1")
        kw.setdefault("timeout", 5)
        return await open_stream("127.0.0.1", self.port, host, port, **kw)


async def read_greeting_and_auth(reader, writer, rec: dict, method: int = 2) -> None:
    _ver, n = await reader.readexactly(2)
    rec["methods"] = list(await reader.readexactly(n))
    writer.write(bytes([5, method]))
    if method != 2:
        return
    _ver, ulen = await reader.readexactly(2)
    rec["user"] = (await reader.readexactly(ulen)).decode()
    (plen,) = await reader.readexactly(1)
    rec["password"] = (await reader.readexactly(plen)).decode()


async def read_request(reader, rec: dict) -> None:
    _ver, cmd, _rsv, atyp = await reader.readexactly(4)
    rec["cmd"], rec["atyp"] = cmd, atyp
    if atyp == 3:
        (n,) = await reader.readexactly(1)
        rec["host"] = (await reader.readexactly(n)).decode()
    else:
        raw = await reader.readexactly(4 if atyp == 1 else 16)
        rec["host"] = str(ipaddress.ip_address(raw))
    rec["port"] = int.from_bytes(await reader.readexactly(2), "big")


def replying(
    reply: bytes, *, then: bytes = b"", echo: bool = False
) -> Callable[[FakeSocks], Script]:
    """A well-behaved proxy that answers the CONNECT with ``reply``."""

    def make(fake: FakeSocks) -> Script:
        async def script(reader, writer) -> None:
            rec: dict[str, object] = {}
            fake.requests.append(rec)
            await read_greeting_and_auth(reader, writer, rec)
            writer.write(bytes([1, 0]))
            await read_request(reader, rec)
            writer.write(reply + then)
            await writer.drain()
            if echo:
                while data := await reader.read(4096):
                    writer.write(data)
                    await writer.drain()
            else:
                await reader.read()

        return script

    return make


async def fake(make: Callable[[FakeSocks], Script]) -> FakeSocks:
    f = FakeSocks(lambda r, w: asyncio.sleep(0))
    f.script = make(f)
    return f


# --- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, host, port",
    [
        (OK_V4, "127.0.0.1", 8080),
        (bytes([5, 0, 0, 4]) + ipaddress.IPv6Address("::1").packed + b"\x00\x50", "::1", 80),
        (bytes([5, 0, 0, 3, 9]) + b"localhost" + b"\x01\xbb", "localhost", 443),
    ],
)
async def test_success_then_data_flows(reply, host, port):
    async with await fake(replying(reply, echo=True)) as proxy:
        reader, writer = await proxy.open(ONION, 9878, isolation="contact-42")
        writer.write(b"ping")
        await writer.drain()
        assert await reader.readexactly(4) == b"ping"
        writer.close()
        await writer.wait_closed()
    rec = proxy.requests[0]
    assert rec["methods"] == [2]  # only username/password: isolation is not optional
    assert rec["user"] == "contact-42" and rec["password"]
    assert rec["cmd"] == 1 and rec["atyp"] == 3  # onion names go unresolved to tor
    assert rec["host"] == ONION and rec["port"] == 9878
    assert parse_reply(reply) == SocksReply(0, host, port)


async def test_bytes_after_reply_belong_to_the_stream():
    """Exactly the reply is consumed, even if the peer's data follows in the same packet."""
    payload = b"\x00" * 300_000
    async with await fake(replying(OK_V4, then=payload)) as proxy:
        reader, writer = await proxy.open()
        assert await reader.readexactly(len(payload)) == payload
        writer.close()


async def test_ip_destinations_use_ip_address_types():
    async with await fake(replying(OK_V4)) as proxy:
        for host in ("10.1.2.3", "2001:db8::1"):
            _r, w = await proxy.open(host, 1)
            w.close()
    assert [r["atyp"] for r in proxy.requests] == [1, 4]
    assert [r["host"] for r in proxy.requests] == ["10.1.2.3", "2001:db8::1"]


# --- reply codes -----------------------------------------------------------------------------

ALL_CODES = [*range(1, 9), *range(0xF0, 0xF8)]


@pytest.mark.parametrize("code", ALL_CODES)
async def test_every_reply_code_is_typed(code):
    async with await fake(replying(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))) as proxy:
        with pytest.raises(SocksError) as info:
            await proxy.open()
    err = info.value
    assert type(err) is SocksError and err.code == code
    assert REPLY_MESSAGES[code] in str(err) and f"0x{code:02X}" in str(err)
    assert err.retryable == (code not in (0x02, 0x07, 0x08, 0xF4, 0xF5, 0xF6))


def test_extended_messages_say_what_happened():
    assert "offline" in REPLY_MESSAGES[0xF0]
    assert "introduction failed" in REPLY_MESSAGES[0xF2]
    assert "rendezvous failed" in REPLY_MESSAGES[0xF3]
    assert "client authorization" in REPLY_MESSAGES[0xF4]
    assert "rejected our client authorization" in REPLY_MESSAGES[0xF5]
    assert "not valid" in REPLY_MESSAGES[0xF6]
    assert "timed out" in REPLY_MESSAGES[0xF7]


async def test_unknown_code_and_short_error_reply():
    # Some proxies send only the 4-byte header before closing on error: enough for us.
    async with await fake(replying(bytes([5, 0x42, 0, 1]))) as proxy:
        with pytest.raises(SocksError, match="unknown code 0x42") as info:
            await proxy.open()
    assert info.value.code == 0x42


# --- hostile or broken proxies ------------------------------------------------------------------


def scripted(*chunks: bytes, method: int | None = None, auth: bytes | None = None):
    """A proxy that answers the greeting with ``method`` (or the first chunk verbatim), the
    auth with ``auth`` and the request with the remaining chunks, then closes."""

    def make(f: FakeSocks) -> Script:
        async def script(reader, writer) -> None:
            rec: dict[str, object] = {}
            await reader.readexactly(3)
            if method is None:
                writer.write(chunks[0])
                await writer.drain()
                return
            writer.write(bytes([5, method]))
            if method == 2:
                await reader.readexactly(2 + len("contact-1") + 1 + 5)
                writer.write(auth if auth is not None else bytes([1, 0]))
                if auth is not None and auth != bytes([1, 0]):
                    await writer.drain()
                    return
                await read_request(reader, rec)
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.01)

        return script

    return make


@pytest.mark.parametrize(
    "make, error, text",
    [
        (scripted(b""), SocksProtocolError, "closed the connection mid-reply"),
        (scripted(b"\x05"), SocksProtocolError, "1 of 2 bytes"),
        (scripted(b"\x04\x5a"), SocksProtocolError, "version 4"),
        (scripted(b"\x05\xff"), SocksError, "does not accept username/password"),
        (scripted(method=0), SocksProtocolError, "did not offer"),
        (scripted(method=1), SocksProtocolError, "did not offer"),
        (scripted(method=2, auth=b"\x01\x01"), SocksError, "rejected our stream-isolation"),
        (scripted(method=2, auth=b"\x05\x00"), SocksProtocolError, "version 5, not 1"),
        (scripted(method=2, auth=b"\x01"), SocksProtocolError, "mid-reply"),
        (scripted(b"\x05\x00\x00", method=2), SocksProtocolError, "3 of 4 bytes"),
        (scripted(b"\x05\x00\x00\x01\x7f\x00", method=2), SocksProtocolError, "mid-reply"),
        (scripted(b"\x04\x00\x00\x01" + bytes(6), method=2), SocksProtocolError, "version 4"),
        (scripted(b"\x05\x00\x01\x01" + bytes(6), method=2), SocksProtocolError, "reserved"),
        (scripted(b"\x05\x00\x00\x07" + bytes(6), method=2), SocksProtocolError, "address type 7"),
        (scripted(b"\x05\x00\x00\x03\x00\x00\x50", method=2), SocksProtocolError, "empty"),
        (scripted(b"\x05\x00\x00\x03\x05ab", method=2), SocksProtocolError, "mid-reply"),
        (
            scripted(b"\x05\x00\x00\x03\x02\xff\xfe\x00\x50", method=2),
            SocksProtocolError,
            "non-ASCII",
        ),
    ],
)
async def test_malformed_replies(make, error, text):
    async with await fake(make) as proxy:
        with pytest.raises(error, match=text) as info:
            await proxy.open()
    assert info.value.code is None


async def test_oversized_domain_reply_is_bounded():
    """A proxy streaming garbage after a maximal domain reply: we read the reply only."""
    reply = bytes([5, 0, 0, 3, 255]) + b"a" * 255 + b"\x00\x50"
    assert len(reply) == MAX_REPLY_LEN
    async with await fake(replying(reply, then=b"\xff" * 1_000_000)) as proxy:
        reader, writer = await proxy.open()
        # Whatever follows is the stream's, untouched.
        assert await reader.readexactly(10) == b"\xff" * 10
        writer.close()


async def test_silent_proxy_times_out():
    async def silent(reader, writer) -> None:
        await reader.read()

    async with FakeSocks(silent) as proxy:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(SocksTimeout, match=r"within 0\.3 s") as info:
            await proxy.open(timeout=0.3)
        assert loop.time() - t0 < 2
    assert info.value.retryable


async def test_trickling_proxy_times_out_overall():
    """The timeout covers the whole handshake, not each read."""

    async def trickle(reader, writer) -> None:
        await reader.readexactly(3)
        writer.write(b"\x05")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b"\x02")
        await reader.readexactly(17)
        for byte in bytes([1, 0, 5, 0, 0, 1]):
            await asyncio.sleep(0.2)
            writer.write(bytes([byte]))
            await writer.drain()
        await reader.read()

    async with FakeSocks(trickle) as proxy:
        with pytest.raises(SocksTimeout):
            await proxy.open(timeout=0.5)


async def test_unreachable_proxy():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(SocksProxyUnreachable, match="is tor running"):
            await open_stream("127.0.0.1", port, ONION, 80, isolation="x", timeout=2)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"isolation": ""}, "1-255 bytes"),
        ({"isolation": "x" * 256}, "1-255 bytes"),
        ({"isolation": "<torS0X>0"}, "reserved"),
        ({"host": "exämple.onion"}, "ASCII"),
        ({"host": "a" * 256}, "1-255"),
        ({"port": 0}, "out of range"),
        ({"port": 65536}, "out of range"),
    ],
)
async def test_bad_arguments_fail_before_connecting(kwargs, text):
    args = {"host": ONION, "port": 80, "isolation": "x", "timeout": 1} | kwargs
    with pytest.raises(SocksError, match=text):
        # Port 9 on loopback: nothing must even be attempted.
        await open_stream("127.0.0.1", 9, **args)


async def test_random_garbage_proxies_only_raise_socks_errors():
    """200 proxies answering each step with random bytes: a typed error or success, never
    anything else, and never a hang."""
    rng = random.Random(1234)
    cases = [[rng.randbytes(rng.randrange(0, 12)) for _ in range(3)] for _ in range(200)]
    cases += [[b"\x05\x02", b"\x01\x00", rng.randbytes(rng.randrange(0, 300))] for _ in range(50)]
    queue = list(cases)

    async def garbage(reader, writer) -> None:
        steps = queue.pop(0)
        await reader.read(3)
        for step in steps:
            writer.write(step)
            await writer.drain()
            await asyncio.sleep(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(300), 0.05)

    outcomes: dict[str, int] = {}
    async with FakeSocks(garbage) as proxy:
        for _ in cases:
            try:
                _r, w = await proxy.open(timeout=1)
                w.close()
                name = "ok"
            except SocksError as exc:
                name = type(exc).__name__
            outcomes[name] = outcomes.get(name, 0) + 1
    assert sum(outcomes.values()) == len(cases)
    assert outcomes.get("SocksProtocolError", 0) > 100


# --- the parser, under hypothesis -----------------------------------------------------------------


def encode_reply(code: int, atyp: int, addr: bytes, port: int) -> bytes:
    body = addr if atyp != 3 else bytes([len(addr)]) + addr
    return bytes([5, code, 0, atyp]) + body + port.to_bytes(2, "big")


replies = st.one_of(
    st.tuples(st.just(1), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(4), st.binary(min_size=16, max_size=16)),
    st.tuples(
        st.just(3),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=255).map(
            str.encode
        ),
    ),
)


@given(replies, st.integers(0, 65535), st.binary(max_size=20))
def test_parse_valid_replies(reply, port, trailing):
    atyp, addr = reply
    data = encode_reply(0, atyp, addr, port)
    parsed = parse_reply(data + trailing)
    assert parsed is not None and parsed.code == 0 and parsed.bound_port == port
    if atyp == 3:
        assert parsed.bound_host == addr.decode()
    else:
        assert ipaddress.ip_address(parsed.bound_host).packed == addr
    for cut in range(len(data)):
        assert parse_reply(data[:cut]) is None


@given(st.integers(1, 255), replies)
def test_parse_error_codes(code, reply):
    data = encode_reply(code, *reply, 80)
    for cut in range(4):
        assert parse_reply(data[:cut]) is None
    with pytest.raises(SocksError) as info:
        parse_reply(data[:4])
    assert info.value.code == code and type(info.value) is SocksError


@given(st.binary(max_size=300))
def test_parse_arbitrary_bytes(data):
    try:
        result = parse_reply(data)
    except SocksError:
        return
    if result is not None:
        assert len(data) >= 10 and data[:3] == b"\x05\x00\x00"
    else:
        assert len(data) < MAX_REPLY_LEN


@given(
    st.text(min_size=1, max_size=255, alphabet=st.characters(min_codepoint=33, max_codepoint=126)),
    st.integers(1, 65535),
)
def test_connect_request_shape(host, port):
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    req = connect_request(host, port)
    assert req[:5] == bytes([5, 1, 0, 3, len(host)])
    assert req[5:-2].decode() == host and int.from_bytes(req[-2:], "big") == port
