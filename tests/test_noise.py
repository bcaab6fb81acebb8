"""NoiseHandshake / NoiseTransport: behaviour and error mapping (offline).

The byte-exact check against published vectors is in test_noise_vectors.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from libra_gui.core.crypto.noise import (
    MAX_MESSAGE_LEN,
    MAX_TRANSPORT_PLAINTEXT,
    SUPPORTED_PROTOCOLS,
    NoiseHandshake,
    NoiseTransport,
    protocol_name,
)
from libra_gui.core.errors import DecryptionError, HandshakeError

XX = protocol_name("XX")
IK = protocol_name("IK")


def _keypair() -> tuple[bytes, bytes]:
    key = PrivateKey.generate()
    return bytes(key), bytes(key.public_key)


def _pair(name: str, prologue: bytes = b"p") -> tuple[NoiseHandshake, NoiseHandshake, bytes, bytes]:
    i_priv, i_pub = _keypair()
    r_priv, r_pub = _keypair()
    remote = r_pub if name.split("_")[1] == "IK" else None
    init = NoiseHandshake(
        name, initiator=True, static_private=i_priv, remote_static=remote, prologue=prologue
    )
    resp = NoiseHandshake(name, initiator=False, static_private=r_priv, prologue=prologue)
    return init, resp, i_pub, r_pub


def _run(init: NoiseHandshake, resp: NoiseHandshake) -> list[bytes]:
    """Drive both sides to completion; return the messages exchanged."""
    messages = []
    sender, receiver = init, resp
    while not (init.is_complete and resp.is_complete):
        payload = b"payload %d" % len(messages)
        message = sender.write_message(payload)
        assert receiver.read_message(message) == payload
        messages.append(message)
        sender, receiver = receiver, sender
    return messages


def test_supported_protocol_names():
    assert protocol_name("XX") == "Noise_XX_25519_ChaChaPoly_SHA256"
    assert protocol_name("IK", "BLAKE2b") == "Noise_IK_25519_ChaChaPoly_BLAKE2b"
    assert len(SUPPORTED_PROTOCOLS) == 4
    with pytest.raises(ValueError):
        protocol_name("NN")
    with pytest.raises(ValueError):
        protocol_name("XX", "SHA512")
    with pytest.raises(ValueError):
        NoiseHandshake("Noise_NN_25519_ChaChaPoly_SHA256", initiator=True, static_private=bytes(32))


@pytest.mark.parametrize("name", sorted(SUPPORTED_PROTOCOLS))
def test_handshake_completes_and_transport_works_both_ways(name):
    init, resp, i_pub, r_pub = _pair(name)
    messages = _run(init, resp)
    assert len(messages) == (3 if "_XX_" in name else 2)
    assert init.remote_static == r_pub
    assert resp.remote_static == i_pub
    assert init.handshake_hash == resp.handshake_hash
    assert len(init.handshake_hash) == (64 if name.endswith("BLAKE2b") else 32)
    ti, tr = init.transport(), resp.transport()
    assert ti.handshake_hash == tr.handshake_hash == init.handshake_hash
    for n in range(5):
        assert tr.decrypt(ti.encrypt(b"to responder %d" % n)) == b"to responder %d" % n
        assert ti.decrypt(tr.encrypt(b"to initiator %d" % n)) == b"to initiator %d" % n


def test_ephemeral_keys_are_fresh_each_time():
    priv, _ = _keypair()
    a = NoiseHandshake(XX, initiator=True, static_private=priv)
    b = NoiseHandshake(XX, initiator=True, static_private=priv)
    assert a.write_message() != b.write_message()


def test_fixed_ephemeral_is_deterministic():
    priv, _ = _keypair()
    eph = bytes(range(32))
    a = NoiseHandshake(XX, initiator=True, static_private=priv, insecure_fixed_ephemeral=eph)
    b = NoiseHandshake(XX, initiator=True, static_private=priv, insecure_fixed_ephemeral=eph)
    assert a.write_message() == b.write_message() == bytes(PrivateKey(eph).public_key)


def test_prologue_mismatch_fails():
    i_priv, _ = _keypair()
    r_priv, _ = _keypair()
    init = NoiseHandshake(XX, initiator=True, static_private=i_priv, prologue=b"one")
    resp = NoiseHandshake(XX, initiator=False, static_private=r_priv, prologue=b"two")
    resp.read_message(init.write_message())  # XX message 1 is not authenticated yet...
    with pytest.raises(HandshakeError):
        init.read_message(resp.write_message())  # ...message 2 is


def test_ik_with_wrong_remote_static_fails_cleanly():
    i_priv, _ = _keypair()
    r_priv, _ = _keypair()
    _, old_pub = _keypair()  # the responder rotated away from this key
    init = NoiseHandshake(IK, initiator=True, static_private=i_priv, remote_static=old_pub)
    resp = NoiseHandshake(IK, initiator=False, static_private=r_priv)
    message = init.write_message(b"hello")
    with pytest.raises(HandshakeError):
        resp.read_message(message)
    with pytest.raises(HandshakeError, match="already failed"):
        resp.write_message(b"")


@pytest.mark.parametrize("name", [XX, IK])
def test_every_tampered_byte_of_the_second_message_is_rejected(name):
    for position in range(200):
        init, resp, _, _ = _pair(name)
        resp.read_message(init.write_message(b"hi"))
        message = bytearray(resp.write_message(b"there"))
        if position >= len(message):
            break
        message[position] ^= 0x01
        with pytest.raises(HandshakeError):
            init.read_message(bytes(message))


@pytest.mark.parametrize("name", [XX, IK])
def test_truncated_and_extended_messages_are_rejected(name):
    for cut in (1, 16, 31):
        init, resp, _, _ = _pair(name)
        resp.read_message(init.write_message(b""))
        message = resp.write_message(b"payload")
        with pytest.raises(HandshakeError):
            init.read_message(message[:-cut])
    init, resp, _, _ = _pair(name)
    resp.read_message(init.write_message(b""))
    with pytest.raises(HandshakeError):
        init.read_message(resp.write_message(b"payload") + b"\x00")


def test_empty_and_oversized_handshake_messages_are_rejected():
    for data in (b"", bytes(MAX_MESSAGE_LEN + 1)):
        _, resp, _, _ = _pair(XX)
        with pytest.raises(HandshakeError):
            resp.read_message(data)


def test_low_order_ephemeral_is_a_handshake_error():
    """An all-zero X25519 key makes the DH output zero; cryptography raises ValueError."""
    _, resp, _, _ = _pair(XX)
    resp.read_message(bytes(32))
    with pytest.raises(HandshakeError):
        resp.write_message(b"")


def test_messages_out_of_order_are_rejected():
    init, resp, _, _ = _pair(XX)
    with pytest.raises(HandshakeError, match="out of order"):
        init.read_message(b"x" * 32)
    with pytest.raises(HandshakeError, match="out of order"):
        resp.write_message(b"")
    init.write_message(b"")
    with pytest.raises(HandshakeError, match="out of order"):
        init.write_message(b"")


def test_handshake_hash_and_transport_only_after_completion():
    init, resp, _, _ = _pair(IK)
    with pytest.raises(HandshakeError):
        init.handshake_hash  # noqa: B018
    with pytest.raises(HandshakeError):
        init.transport()
    _run(init, resp)
    init.transport()
    with pytest.raises(HandshakeError, match="already taken"):
        init.transport()
    with pytest.raises(HandshakeError, match="already complete"):
        init.write_message(b"")


def test_bad_keys_and_arguments():
    with pytest.raises(HandshakeError):
        NoiseHandshake(XX, initiator=True, static_private=b"short")
    with pytest.raises(ValueError):
        NoiseHandshake(IK, initiator=True, static_private=bytes(32))  # no remote static
    with pytest.raises(ValueError):
        NoiseHandshake(XX, initiator=True, static_private=bytes(32), remote_static=bytes(32))
    with pytest.raises(ValueError):
        NoiseHandshake(IK, initiator=False, static_private=bytes(32), remote_static=bytes(32))
    init, _, _, _ = _pair(XX)
    with pytest.raises(ValueError):
        init.write_message(bytes(MAX_MESSAGE_LEN))


def _transports(name: str = XX) -> tuple[NoiseTransport, NoiseTransport]:
    init, resp, _, _ = _pair(name)
    _run(init, resp)
    return init.transport(), resp.transport()


def test_replayed_transport_ciphertext_is_rejected():
    ti, tr = _transports()
    first = ti.encrypt(b"pay alice 5")
    assert tr.decrypt(first) == b"pay alice 5"
    with pytest.raises(DecryptionError):
        tr.decrypt(first)


def test_reordered_transport_ciphertexts_are_rejected():
    ti, tr = _transports()
    first, second = ti.encrypt(b"one"), ti.encrypt(b"two")
    with pytest.raises(DecryptionError):
        tr.decrypt(second)
    # The receiving direction is dead after a failure: no decryption oracle.
    with pytest.raises(DecryptionError, match="earlier message"):
        tr.decrypt(first)
    # The other direction is independent.
    assert ti.decrypt(tr.encrypt(b"still here")) == b"still here"


def test_tampered_and_malformed_transport_messages_are_rejected():
    for mutate in (
        lambda c: c[:-1] + bytes([c[-1] ^ 1]),
        lambda c: bytes([c[0] ^ 0x80]) + c[1:],
        lambda c: c[:-1],
        lambda c: c + b"\x00",
        lambda c: c[:15],
        lambda c: b"",
        lambda c: bytes(MAX_MESSAGE_LEN + 1),
    ):
        ti, tr = _transports()
        with pytest.raises(DecryptionError):
            tr.decrypt(mutate(ti.encrypt(b"message")))


def test_cross_session_ciphertext_is_rejected():
    ti, _ = _transports()
    _, tr2 = _transports()
    with pytest.raises(DecryptionError):
        tr2.decrypt(ti.encrypt(b"wrong session"))


def test_transport_respects_the_noise_message_limit():
    ti, tr = _transports()
    big = bytes(MAX_TRANSPORT_PLAINTEXT)
    ciphertext = ti.encrypt(big)
    assert len(ciphertext) == MAX_MESSAGE_LEN
    assert tr.decrypt(ciphertext) == big
    with pytest.raises(ValueError):
        ti.encrypt(bytes(MAX_TRANSPORT_PLAINTEXT + 1))
    assert tr.decrypt(ti.encrypt(b"")) == b""


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from([XX, IK]), data=st.binary(max_size=300))
def test_arbitrary_first_message_only_raises_handshake_error(name, data):
    _, resp, _, _ = _pair(name)
    try:
        resp.read_message(data)
        resp.write_message(b"")
    except HandshakeError:
        pass


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from([XX, IK]), data=st.binary(max_size=300))
def test_arbitrary_second_message_only_raises_handshake_error(name, data):
    init, _, _, _ = _pair(name)
    init.write_message(b"")
    with pytest.raises(HandshakeError):
        init.read_message(data)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_transport_bytes_only_raise_decryption_error(data):
    _, tr = _transports()
    with pytest.raises(DecryptionError):
        tr.decrypt(data)
