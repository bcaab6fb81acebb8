"""Fixtures and helpers for tests with real aiortc peers in one process (no tests here).

Import the fixture into a test module with ``from webrtc_support import loopback_ice``
(pytest finds fixtures imported into the module's namespace).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest

from libra_gui.core.net.webrtc import DirectAttempt, DirectConfig

LOOPBACK = "127.0.0.1"


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ICE gather exactly one host candidate, on 127.0.0.1.

    aioice's ``get_host_addresses`` lists every interface address *except* 127.0.0.1, so two
    peers in one test process would pair over the machine's real interfaces (and differ from
    machine to machine). Returning only the loopback address keeps every ICE, DTLS and SCTP
    packet on loopback and gives the same single candidate pair everywhere.
    """
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [LOOPBACK])
    yield


def bind_key() -> bytes:
    return secrets.token_bytes(32)


async def signal(offerer: DirectAttempt, answerer: DirectAttempt) -> None:
    """Run offer/answer between two attempts in this process (the Tor link's job in Libra)."""
    offer = await offerer.create_offer()
    answer = await answerer.create_answer(offer)
    await offerer.accept_answer(answer)


async def connected_pair(
    config: DirectConfig | None = None,
    key: bytes | None = None,
    answerer_key: bytes | None = None,
) -> tuple[DirectAttempt, DirectAttempt, list[object]]:
    """Two attempts after signaling and open(): (offerer, answerer, [open() results or errors])."""
    config = config or DirectConfig()
    key = key or bind_key()
    offerer = DirectAttempt.offerer(config, key)
    answerer = DirectAttempt.answerer(config, answerer_key or key)
    await signal(offerer, answerer)
    results = await asyncio.gather(offerer.open(), answerer.open(), return_exceptions=True)
    return offerer, answerer, list(results)


def udp_socket_inodes() -> set[int]:
    """Inodes of the UDP sockets this process holds (IPv4 and IPv6), from /proc."""
    ours: set[int] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            ours.add(int(target[8:-1]))
    udp: set[int] = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        try:
            with open(table) as lines:
                next(lines)
                udp.update(int(line.split()[9]) for line in lines)
        except FileNotFoundError:
            continue
    return ours & udp
