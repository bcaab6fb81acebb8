"""Published Noise test vectors (cacophony + snow) against our wrapper and noiseprotocol.

Where the vectors come from: Debian ships the Rust ``snow`` crate's full source, including
``tests/vectors/cacophony.txt`` (the Haskell cacophony vectors) and ``tests/vectors/snow.txt``,
in the package ``librust-snow-dev`` (version 0.9.6-6, suite trixie). We do not copy the files
into this repository: on first run a session fixture fetches that exact ``.deb`` with
``apt-get download`` (a private apt state under the cache directory, pointed at the Debian
mirror this machine already uses), checks the pinned SHA-256 of the ``.deb`` and of both
files, and caches them under ``~/.cache/libra-test-vectors`` (override with
``LIBRA_TEST_VECTORS_DIR``). Dropping the ``.deb`` into that directory by hand works too.

Without network and cache the tests fail; set ``LIBRA_SKIP_VECTOR_DOWNLOAD=1`` to skip them
instead (never in CI).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey
from noise.connection import Keypair, NoiseConnection

from libra_gui.core.crypto.noise import SUPPORTED_PROTOCOLS, NoiseHandshake

DEB_PACKAGE = "librust-snow-dev"
DEB_VERSION = "0.9.6-6"
DEB_SUITE = "trixie"
DEB_FILE = f"{DEB_PACKAGE}_{DEB_VERSION}_all.deb"
DEB_SHA256 = "785948f34be99f699b2ee5f8aad6d364811474fe9c3048ed6b2eec7c51d337a8"
DEB_VECTOR_DIR = "./usr/share/cargo/registry/snow-0.9.6/tests/vectors/"
VECTOR_SHA256 = {
    "cacophony.txt": "3bde7c09a6f349ee11c825c50fcc02649f8f02a47c857a459206b357f9386cae",
    "snow.txt": "233c347e8c92560b30ba49835a2361e1bd6a74e7364741378b298f47602fc508",
}
# How many vectors each file holds, and how many use patterns noiseprotocol implements (the
# rest are deferred patterns such as "X1K1", which it does not). Pinned so that a library
# change that starts rejecting a pattern cannot silently shrink the check.
EXPECTED_COUNTS = {"cacophony.txt": (944, 576), "snow.txt": (408, 224)}
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


# --- fetching the pinned artifact --------------------------------------------------------


def _cache_dir() -> Path:
    configured = os.environ.get("LIBRA_TEST_VECTORS_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "libra-test-vectors"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _debian_mirror() -> str:
    """The Debian archive URI this machine's apt already uses (no host is hard-coded)."""
    if os.environ.get("LIBRA_DEBIAN_MIRROR"):
        return os.environ["LIBRA_DEBIAN_MIRROR"]
    listing = subprocess.run(
        ["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for line in listing.splitlines():
        uri, _, release = line.partition(" ")
        if re.fullmatch(r"[a-z]+", release) and "security" not in uri:
            return uri
    raise RuntimeError("no Debian archive found in this machine's apt sources")


def _apt_download(cache: Path) -> Path:
    """``apt-get download`` the pinned .deb from the trixie suite with a private apt state."""
    apt = cache / "apt"
    for sub in ("lists/partial", "archives/partial", "parts", "prefs"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    signed_by = f"[signed-by={DEBIAN_KEYRING}] " if DEBIAN_KEYRING.exists() else ""
    (apt / "sources.list").write_text(f"deb {signed_by}{_debian_mirror()} {DEB_SUITE} main\n")
    (apt / "status").touch()
    options = {
        "Dir::Etc::SourceList": apt / "sources.list",
        "Dir::Etc::SourceParts": apt / "parts",
        "Dir::Etc::PreferencesParts": apt / "prefs",
        "Dir::Etc::Preferences": apt / "prefs" / "none",
        "Dir::State::Lists": apt / "lists",
        "Dir::State::Status": apt / "status",
        "Dir::Cache": apt,
        "Dir::Cache::archives": apt / "archives",
        "Debug::NoLocking": "1",
        "Acquire::Languages": "none",
    }
    if os.geteuid() == 0:
        options["APT::Sandbox::User"] = "root"  # the private dirs are not _apt's
    args = [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]
    for command in (["update"], ["download", f"{DEB_PACKAGE}={DEB_VERSION}"]):
        subprocess.run(
            ["apt-get", "-q", *args, *command],
            cwd=cache,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    shutil.rmtree(apt, ignore_errors=True)  # ~50 MB of package lists, needed only once
    return cache / DEB_FILE


def _data_tar(deb: bytes) -> bytes:
    """The ``data.tar.xz`` member of a .deb (an ar archive)."""
    if not deb.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    offset = 8
    while offset + 60 <= len(deb):
        header = deb[offset : offset + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        body = deb[offset + 60 : offset + 60 + size]
        if name == "data.tar.xz":
            return body
        offset += 60 + size + (size % 2)
    raise ValueError("no data.tar.xz in the .deb")


def _extract_vectors(deb: bytes) -> dict[str, bytes]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(_data_tar(deb)), mode="r:xz") as tar:
        for name in VECTOR_SHA256:
            member = tar.extractfile(DEB_VECTOR_DIR + name)
            assert member is not None
            files[name] = member.read()
    return files


def _load_vector_files() -> dict[str, bytes]:
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    cached = {name: cache / name for name in VECTOR_SHA256}
    if all(p.exists() and _sha256(p.read_bytes()) == VECTOR_SHA256[n] for n, p in cached.items()):
        return {name: path.read_bytes() for name, path in cached.items()}
    deb_path = cache / DEB_FILE
    if not deb_path.exists() or _sha256(deb_path.read_bytes()) != DEB_SHA256:
        deb_path = _apt_download(cache)
    deb = deb_path.read_bytes()
    if _sha256(deb) != DEB_SHA256:
        raise RuntimeError(f"{DEB_FILE} has SHA-256 {_sha256(deb)}, expected {DEB_SHA256}")
    files = _extract_vectors(deb)
    for name, data in files.items():
        if _sha256(data) != VECTOR_SHA256[name]:
            raise RuntimeError(f"{name} has an unexpected SHA-256")
        tmp = cached[name].with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cached[name])
    return files


@pytest.fixture(scope="session")
def vectors() -> dict[str, list[dict[str, Any]]]:
    try:
        files = _load_vector_files()
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        message = (
            f"cannot obtain Noise test vectors ({DEB_FILE}, suite {DEB_SUITE}): {exc} "
            f"{detail[-500:]}\nPut the .deb into {_cache_dir()} or set "
            "LIBRA_SKIP_VECTOR_DOWNLOAD=1 to skip these tests."
        )
        if os.environ.get("LIBRA_SKIP_VECTOR_DOWNLOAD") == "1":
            pytest.skip(message)
        pytest.fail(message)
    return {name: json.loads(data)["vectors"] for name, data in files.items()}


# --- running vectors ---------------------------------------------------------------------


def _hex(vector: dict[str, Any], key: str) -> bytes | None:
    value = vector.get(key)
    return None if value is None else bytes.fromhex(value)


def _is_one_way(name: str) -> bool:
    return len(re.sub(r"psk\d", "", name.split("_")[1]).replace("+", "")) == 1


def _check_transport(vector: dict[str, Any], first: int, send_recv: Any) -> None:
    """Transport messages continue the alternation of the handshake (one-way: all I->R)."""
    one_way = _is_one_way(vector["protocol_name"])
    for index, message in enumerate(vector["messages"][first:], start=first):
        from_initiator = one_way or index % 2 == 0
        payload = bytes.fromhex(message["payload"])
        ciphertext, plaintext = send_recv(from_initiator, payload)
        assert ciphertext.hex() == message["ciphertext"], f"transport message {index}"
        assert plaintext == payload


def run_wrapper_vector(vector: dict[str, Any]) -> None:
    """Replay one XX/IK vector through NoiseHandshake/NoiseTransport, comparing every byte."""
    name = vector["protocol_name"]
    init = NoiseHandshake(
        name,
        initiator=True,
        static_private=_hex(vector, "init_static"),
        remote_static=_hex(vector, "init_remote_static"),
        prologue=_hex(vector, "init_prologue") or b"",
        insecure_fixed_ephemeral=_hex(vector, "init_ephemeral"),
    )
    resp = NoiseHandshake(
        name,
        initiator=False,
        static_private=_hex(vector, "resp_static"),
        remote_static=_hex(vector, "resp_remote_static"),
        prologue=_hex(vector, "resp_prologue") or b"",
        insecure_fixed_ephemeral=_hex(vector, "resp_ephemeral"),
    )
    messages = vector["messages"]
    index = 0
    while not (init.is_complete and resp.is_complete):
        sender, receiver = (init, resp) if index % 2 == 0 else (resp, init)
        payload = bytes.fromhex(messages[index]["payload"])
        ciphertext = sender.write_message(payload)
        assert ciphertext.hex() == messages[index]["ciphertext"], f"handshake message {index}"
        assert receiver.read_message(ciphertext) == payload
        index += 1
    if "handshake_hash" in vector:
        assert init.handshake_hash.hex() == vector["handshake_hash"]
    assert init.handshake_hash == resp.handshake_hash
    assert init.remote_static == bytes(PrivateKey(_hex(vector, "resp_static")).public_key)
    assert resp.remote_static == bytes(PrivateKey(_hex(vector, "init_static")).public_key)
    ti, tr = init.transport(), resp.transport()

    def send_recv(from_initiator: bool, payload: bytes) -> tuple[bytes, bytes]:
        sender, receiver = (ti, tr) if from_initiator else (tr, ti)
        ciphertext = sender.encrypt(payload)
        return ciphertext, receiver.decrypt(ciphertext)

    _check_transport(vector, index, send_recv)


def run_library_vector(vector: dict[str, Any]) -> bool:
    """Replay any vector directly through noiseprotocol; False if it lacks the pattern."""
    name = vector["protocol_name"].encode()
    try:
        init, resp = NoiseConnection.from_name(name), NoiseConnection.from_name(name)
    except Exception:  # noiseprotocol raises NoiseProtocolNameError or ValueError here
        return False
    init.set_as_initiator()
    resp.set_as_responder()
    for conn, side in ((init, "init"), (resp, "resp")):
        conn.set_prologue(_hex(vector, f"{side}_prologue") or b"")
        for key, keypair in (("static", Keypair.STATIC), ("ephemeral", Keypair.EPHEMERAL)):
            if vector.get(f"{side}_{key}"):
                conn.set_keypair_from_private_bytes(keypair, _hex(vector, f"{side}_{key}"))
        if vector.get(f"{side}_remote_static"):
            conn.set_keypair_from_public_bytes(
                Keypair.REMOTE_STATIC, _hex(vector, f"{side}_remote_static")
            )
        if vector.get(f"{side}_psks"):
            conn.set_psks(psks=[bytes.fromhex(p) for p in vector[f"{side}_psks"]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "fixed ephemeral keys": intended here
            conn.start_handshake()
    messages = vector["messages"]
    index = 0
    while not (init.handshake_finished and resp.handshake_finished):
        sender, receiver = (init, resp) if index % 2 == 0 else (resp, init)
        payload = bytes.fromhex(messages[index]["payload"])
        ciphertext = bytes(sender.write_message(payload))
        assert ciphertext.hex() == messages[index]["ciphertext"], f"handshake message {index}"
        assert bytes(receiver.read_message(ciphertext)) == payload
        index += 1
    if "handshake_hash" in vector:
        assert init.get_handshake_hash().hex() == vector["handshake_hash"]
        assert resp.get_handshake_hash().hex() == vector["handshake_hash"]

    def send_recv(from_initiator: bool, payload: bytes) -> tuple[bytes, bytes]:
        sender, receiver = (init, resp) if from_initiator else (resp, init)
        ciphertext = sender.encrypt(payload)
        return ciphertext, receiver.decrypt(ciphertext)

    _check_transport(vector, index, send_recv)
    return True


# --- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(VECTOR_SHA256))
@pytest.mark.parametrize("name", sorted(SUPPORTED_PROTOCOLS))
def test_wrapper_reproduces_published_vector(vectors, source, name):
    """XX and IK, 25519/ChaChaPoly, SHA256 and BLAKE2b: every handshake and transport byte."""
    matching = [v for v in vectors[source] if v["protocol_name"] == name]
    assert len(matching) == 1
    run_wrapper_vector(matching[0])


@pytest.mark.parametrize("source", sorted(VECTOR_SHA256))
def test_noiseprotocol_reproduces_every_vector_it_supports(vectors, source):
    total, supported_expected = EXPECTED_COUNTS[source]
    assert len(vectors[source]) == total
    supported = 0
    for vector in vectors[source]:
        if run_library_vector(vector):
            supported += 1
        else:  # only deferred patterns (X1K, I1K1, ...) may be missing
            assert "1" in vector["protocol_name"].split("_")[1], vector["protocol_name"]
    assert supported == supported_expected


def test_vectors_cover_our_handshakes_with_and_without_handshake_hash(vectors):
    ours = [v for f in vectors.values() for v in f if v["protocol_name"] in SUPPORTED_PROTOCOLS]
    assert len(ours) == 8
    assert sum("handshake_hash" in v for v in ours) == 4  # cacophony has them, snow does not
    assert {v["protocol_name"].split("_")[1] for v in ours} == {"XX", "IK"}


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda v: v["messages"][0].update(ciphertext=_flip(v["messages"][0]["ciphertext"])),
        lambda v: v["messages"][1].update(ciphertext=_flip(v["messages"][1]["ciphertext"])),
        lambda v: v["messages"][-1].update(ciphertext=_flip(v["messages"][-1]["ciphertext"])),
        lambda v: v.update(handshake_hash=_flip(v["handshake_hash"])),
        lambda v: v.update(init_prologue=v["init_prologue"] + "00"),
    ],
)
def test_vector_runner_detects_a_wrong_byte(vectors, corrupt):
    """The check is not vacuous: one changed byte anywhere makes it fail."""
    vector = next(
        v
        for v in vectors["cacophony.txt"]
        if v["protocol_name"] == "Noise_XX_25519_ChaChaPoly_SHA256"
    )
    broken = copy.deepcopy(vector)
    corrupt(broken)
    with pytest.raises(Exception) as excinfo:
        run_wrapper_vector(broken)
    assert excinfo.type.__name__ in ("AssertionError", "HandshakeError")


def _flip(hex_string: str) -> str:
    data = bytearray.fromhex(hex_string)
    data[len(data) // 2] ^= 0x01
    return data.hex()
