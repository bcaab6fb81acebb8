"""The private Tor network really works: onion services, client auth, loopback only.

Everything here is real tor (see tests/tornet.py). Timings are printed (run with ``-s``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests.tornet import SocksError, TorClient, TorNetwork, connect_onion

pytestmark = [
    pytest.mark.slow,
    # stem 1.8.2 (unmaintained) calls Thread.setDaemon().
    pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning"),
]

PAYLOAD = os.urandom(64 * 1024)


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1 (the onion services' target)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(30)
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def peers(tor_network: TorNetwork) -> Iterator[dict[str, TorClient]]:
    """alice hosts onion services; bob has no client-auth key; carol gets one."""
    clients = tor_network.start_clients(["alice", "bob", "carol"])
    for c in clients:
        print(f"[tornet] client {c.name} bootstrapped in {c.bootstrap_seconds:.1f} s")
    yield {c.name: c for c in clients}
    for c in clients:
        c.stop()


def _echo_roundtrip(sock: socket.socket) -> None:
    with sock:
        sock.settimeout(30)
        sock.sendall(PAYLOAD)
        got = b""
        while len(got) < len(PAYLOAD):
            chunk = sock.recv(65536)
            assert chunk, "onion connection closed early"
            got += chunk
    assert got == PAYLOAD


def test_onion_service_echo(tor_network: TorNetwork, peers: dict[str, TorClient], echo_port: int):
    alice, bob = peers["alice"], peers["bob"]
    with alice.controller() as ctl:
        t0 = time.monotonic()
        service = ctl.create_ephemeral_hidden_service(
            {80: f"127.0.0.1:{echo_port}"},
            key_type="NEW",
            key_content="ED25519-V3",
            await_publication=True,
            timeout=60,
        )
        published = time.monotonic() - t0
        sock, retried = connect_onion(bob, service.service_id, 80)
        connected = time.monotonic() - t0 - published
        _echo_roundtrip(sock)
    print(
        f"\n[tornet] startup {tor_network.startup_seconds:.1f} s "
        f"(keys {tor_network.keys_seconds:.1f} s, consensus {tor_network.consensus_seconds:.1f} s)"
        f"; ADD_ONION published in {published:.2f} s; first connect {connected:.2f} s later"
        f" (SOCKS retries: {[hex(c) for c in retried]}); 64 KiB echoed"
    )


def test_client_auth_v3(peers: dict[str, TorClient], echo_port: int):
    alice, bob, carol = peers["alice"], peers["bob"], peers["carol"]
    key = X25519PrivateKey.generate()
    public_b32 = base64.b32encode(key.public_key().public_bytes_raw()).decode().rstrip("=")
    private_b64 = base64.b64encode(key.private_bytes_raw()).decode()
    with alice.controller() as ctl:
        t0 = time.monotonic()
        service = ctl.create_ephemeral_hidden_service(
            {80: f"127.0.0.1:{echo_port}"},
            key_type="NEW",
            key_content="ED25519-V3",
            await_publication=True,
            timeout=60,
            client_auth_v3=public_b32,
        )
        published = time.monotonic() - t0

        # Without the key: once the descriptor is found, tor can't decrypt it -> 0xF4.
        with pytest.raises(SocksError) as refused:
            connect_onion(bob, service.service_id, 80)
        assert refused.value.code == 0xF4, refused.value
        refused_after = time.monotonic() - t0 - published

        # With the key (stem has no helper for the client side: raw command).
        with carol.controller() as carol_ctl:
            reply = carol_ctl.msg(
                f"ONION_CLIENT_AUTH_ADD {service.service_id} x25519:{private_b64}"
            )
            assert reply.is_ok(), str(reply)
        t1 = time.monotonic()
        sock, _ = connect_onion(carol, service.service_id, 80)
        _echo_roundtrip(sock)
        connected = time.monotonic() - t1
    print(
        f"\n[tornet] client auth: published {published:.2f} s; keyless client refused (0xF4) "
        f"after {refused_after:.2f} s; keyed client connected in {connected:.2f} s"
    )


def test_only_loopback(tor_network: TorNetwork, peers: dict[str, TorClient]):
    """Every socket of every tor (routers and clients) is on 127.0.0.1; no fallback dirs."""
    lines = tor_network.client_torrc_lines()
    assert "UseDefaultFallbackDirs 0" in lines
    for addr in re.findall(r"\d+\.\d+\.\d+\.\d+", "\n".join(lines)):
        assert addr == "127.0.0.1"
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to list sockets")
    pids = {n.proc.pid for n in tor_network.nodes if n.proc} | {c.pid for c in peers.values()}
    out = subprocess.run(
        ["ss", "-Htuanp"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    seen = 0
    for line in out:
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if not owners & pids:
            continue
        seen += 1
        local, peer = line.split()[4:6]
        assert local.rsplit(":", 1)[0] == "127.0.0.1", line
        # A listening socket's peer is "0.0.0.0:*" / "*:*"; anything else must be loopback.
        assert peer.endswith(":*") or peer.rsplit(":", 1)[0] == "127.0.0.1", line
    assert seen >= len(pids), "ss shows fewer sockets than tor processes"
