"""Onion keys in Tor's encodings, checked against known answers and against tor itself.

The tor checks start a real ``tor`` with ``DisableNetwork 1`` (no network needed) and talk to
it with stem directly, not through Libra's adapter, so a bug there cannot hide one here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import nacl.bindings
import pytest
import stem.control
from hypothesis import given
from hypothesis import strategies as st

from libra_gui.core.crypto.onion import (
    ClientAuthKey,
    OnionKeyError,
    OnionServiceKey,
    client_auth_private_b64,
    client_auth_public_b32,
    expanded_secret_key,
    is_onion_address,
    key_blob,
    normalize_onion_address,
    onion_address,
    onion_address_from_seed,
    parse_client_auth_private_b64,
    parse_client_auth_public_b32,
    parse_key_blob,
    public_key_from_expanded,
    public_key_from_onion_address,
    public_key_from_seed,
)

TOR = shutil.which("tor") or "/usr/sbin/tor"
pytestmark = pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")

# RFC 8032 test 1 key; tor's own unit test (test_hs_common.c, test_build_address) gives the
# address of this public key.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
TOR_TEST_ADDRESS = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"

seeds = st.binary(min_size=32, max_size=32)


# --- pure ---------------------------------------------------------------------------------


def test_known_address():
    assert public_key_from_seed(RFC8032_SEED) == RFC8032_PUBLIC
    assert onion_address(RFC8032_PUBLIC) == TOR_TEST_ADDRESS
    assert onion_address_from_seed(RFC8032_SEED) == TOR_TEST_ADDRESS
    assert public_key_from_onion_address(TOR_TEST_ADDRESS + ".onion") == RFC8032_PUBLIC


def test_expanded_key_is_rfc8032_clamped_hash():
    expanded = expanded_secret_key(RFC8032_SEED)
    digest = hashlib.sha512(RFC8032_SEED).digest()
    assert expanded[32:] == digest[32:]
    # libsodium clamps the same way when it converts an Ed25519 secret key to X25519.
    sk = RFC8032_SEED + RFC8032_PUBLIC
    assert expanded[:32] == nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(sk)
    assert public_key_from_expanded(expanded) == RFC8032_PUBLIC


@given(seeds)
def test_expanded_and_seed_agree(seed):
    key = OnionServiceKey.from_seed(seed)
    assert OnionServiceKey.from_expanded(key.expanded) == key
    assert OnionServiceKey.from_bytes(seed) == key
    assert OnionServiceKey.from_bytes(key.expanded) == key
    assert parse_key_blob(key.blob) == key.expanded
    assert key.blob.startswith("ED25519-V3:") and len(key.blob) == 11 + 88
    assert public_key_from_onion_address(key.address) == public_key_from_seed(seed)
    assert "expanded" not in repr(key)


@given(seeds)
def test_address_roundtrip_and_checksum(seed):
    address = onion_address_from_seed(seed)
    assert len(address) == 56 and address.endswith("d")  # version byte 3 -> ...d
    assert is_onion_address(address) and is_onion_address(address.upper() + ".onion")
    assert normalize_onion_address(f"  {address.upper()}.ONION ") == address
    # Any single-character change breaks the checksum (or the key, or the version).
    for i in (0, 20, 52, 53, 55):
        c = "a" if address[i] != "a" else "b"
        assert not is_onion_address(address[:i] + c + address[i + 1 :])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "zzzz.onion",
        TOR_TEST_ADDRESS[:-1],
        TOR_TEST_ADDRESS + "a",
        TOR_TEST_ADDRESS[:-1] + "1",  # '1' is not base32
        TOR_TEST_ADDRESS.replace("25nj", "25nk"),  # checksum
        f"{TOR_TEST_ADDRESS} \r\nSIGNAL HALT",  # control-command injection
        "expyuzz4wqqyqhjn",  # v2
    ],
)
def test_bad_addresses_rejected(bad):
    assert not is_onion_address(bad)
    with pytest.raises(OnionKeyError):
        normalize_onion_address(bad)


def test_wrong_version_and_small_order_key_rejected():
    raw = RFC8032_PUBLIC + b"\x00\x00" + b"\x02"
    v2ish = base64.b32encode(raw).decode().lower()
    with pytest.raises(OnionKeyError, match="version"):
        public_key_from_onion_address(v2ish)
    identity = bytes([1]) + bytes(31)  # the neutral element: small order, tor refuses it
    with pytest.raises(OnionKeyError, match="valid Ed25519"):
        public_key_from_onion_address(onion_address(identity))


def test_bad_key_material_rejected():
    with pytest.raises(OnionKeyError):
        expanded_secret_key(b"short")
    with pytest.raises(OnionKeyError):
        OnionServiceKey.from_bytes(bytes(48))
    with pytest.raises(OnionKeyError, match="clamped"):
        public_key_from_expanded(bytes(64))
    with pytest.raises(OnionKeyError):
        parse_key_blob("RSA1024:AAAA")
    with pytest.raises(OnionKeyError):
        parse_key_blob("ED25519-V3:not base64!")
    with pytest.raises(OnionKeyError):
        key_blob(bytes(32))


@given(st.binary(min_size=32, max_size=32))
def test_client_auth_encodings(private):
    key = ClientAuthKey.from_private(private)
    assert len(key.public_b32) == 52 and "=" not in key.public_b32
    assert len(key.private_b64) == 44
    assert parse_client_auth_public_b32(key.public_b32) == key.public
    assert parse_client_auth_public_b32(key.public_b32.lower()) == key.public
    assert parse_client_auth_private_b64(key.private_b64) == private
    assert key.public == nacl.bindings.crypto_scalarmult_base(private)
    assert client_auth_public_b32(key.public) == key.public_b32
    assert client_auth_private_b64(private) == key.private_b64
    assert "private" not in repr(key).replace("private_b64", "")


@pytest.mark.parametrize(
    "bad",
    ["", "A" * 51, "A" * 53, "1" * 52, "A" * 51 + "B", "A" * 52 + " ClientAuthV3=X"],
)
def test_bad_client_auth_public_rejected(bad):
    with pytest.raises(OnionKeyError):
        parse_client_auth_public_b32(bad)


@pytest.mark.parametrize(
    "bad", ["", "A" * 42 + "==", "A" * 43 + "B", "A" * 42 + "B=", "*" * 44, "A" * 44]
)
def test_bad_client_auth_private_rejected(bad):
    with pytest.raises(OnionKeyError):
        parse_client_auth_private_b64(bad)


# --- against tor ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tor_controller(tmp_path_factory) -> Iterator[stem.control.Controller]:
    """A bare tor (no network) and an authenticated stem controller for it."""
    base = tmp_path_factory.mktemp("onion-keys-tor")
    base.chmod(0o700)
    sock = base / "control.sock"
    torrc = "\n".join(
        [
            f"DataDirectory {base / 'data'}",
            f"ControlPort unix:{sock}",
            "CookieAuthentication 1",
            "DisableNetwork 1",
            "SocksPort 0",
            f"Log notice file {base / 'tor.log'}",
            f"__OwningControllerProcess {os.getpid()}",
        ]
    )
    proc = subprocess.Popen(
        [TOR, "--defaults-torrc", str(base / "none"), "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    proc.stdin.write(torrc.encode())
    proc.stdin.close()
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert proc.poll() is None, (base / "tor.log").read_text()
            assert time.monotonic() < deadline, "tor did not open its control socket"
            time.sleep(0.05)
        with stem.control.Controller.from_socket_file(str(sock)) as controller:
            controller.authenticate()
            yield controller
    finally:
        proc.kill()
        proc.wait()


def _ok_lines(reply: stem.response.ControlMessage) -> dict[str, str]:
    assert reply.is_ok(), str(reply)
    out = {}
    for _code, _div, text in reply.content():
        key, _, value = text.partition("=")
        out[key] = value
    return out


def test_tor_accepts_our_expanded_key_and_computes_our_address(tor_controller):
    """ADD_ONION with our expanded key must yield exactly the address we computed."""
    for seed in [RFC8032_SEED] + [os.urandom(32) for _ in range(15)]:
        key = OnionServiceKey.from_seed(seed)
        reply = tor_controller.msg(f"ADD_ONION {key.blob} Flags=DiscardPK Port=80,127.0.0.1:9")
        assert _ok_lines(reply)["ServiceID"] == key.address
        assert _ok_lines(tor_controller.msg(f"DEL_ONION {key.address}"))


def test_we_read_tor_generated_keys(tor_controller):
    """Keys tor makes (ADD_ONION NEW) parse, and give the address tor reports."""
    for _ in range(5):
        values = _ok_lines(tor_controller.msg("ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:9"))
        key = OnionServiceKey.from_expanded(parse_key_blob(values["PrivateKey"]))
        assert key.address == values["ServiceID"]
        tor_controller.msg(f"DEL_ONION {key.address}")


def test_tor_accepts_our_client_auth_encodings(tor_controller):
    client = ClientAuthKey.generate()
    other = ClientAuthKey.generate()
    service = OnionServiceKey.from_seed(os.urandom(32))
    reply = tor_controller.msg(
        f"ADD_ONION {service.blob} Flags=DiscardPK,V3Auth Port=80,127.0.0.1:9 "
        f"ClientAuthV3={client.public_b32} ClientAuthV3={other.public_b32}"
    )
    assert _ok_lines(reply)["ServiceID"] == service.address
    reply = tor_controller.msg(
        f"ONION_CLIENT_AUTH_ADD {service.address} x25519:{client.private_b64}"
    )
    assert reply.is_ok(), str(reply)
    view = str(tor_controller.msg(f"ONION_CLIENT_AUTH_VIEW {service.address}"))
    assert f"CLIENT {service.address} x25519:{client.private_b64}" in view
    tor_controller.msg(f"ONION_CLIENT_AUTH_REMOVE {service.address}")
    # tor refuses what we refuse
    assert not tor_controller.msg(
        f"ADD_ONION {service.blob} Port=81,127.0.0.1:9 ClientAuthV3={'A' * 51}"
    ).is_ok()
