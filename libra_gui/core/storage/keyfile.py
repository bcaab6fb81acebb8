"""Profile header: the non-secret parameters that turn a passphrase into the database key.

The header sits next to the database (``profile.hdr``) and holds only the KDF parameters and
salt; no key, no key check value (a wrong passphrase is detected by SQLCipher's page HMAC, so
the header gives an attacker nothing to test guesses against offline that the database itself
does not). A short SHA-256 checksum over the header lets us tell bit rot (``CorruptStore``)
from a wrong passphrase, which would otherwise look identical.

Layout (48 bytes, big-endian)::

    0   8  magic  b"LIBRAHDR"
    8   2  format version (1)
    10  1  KDF id (1 = Argon2id v1.3, libsodium crypto_pwhash_argon2id)
    11  1  reserved, must be 0
    12  4  opslimit (u32)
    16  8  memlimit in bytes (u64, multiple of 1024)
    24 16  salt
    40  8  SHA-256(bytes 0..40)[:8]
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

from ..errors import CorruptStore, StorageError

MAGIC = b"LIBRAHDR"
FORMAT_VERSION = 1
KDF_ARGON2ID = 1
SALT_LEN = 16
KEY_LEN = 32
_BODY = struct.Struct(">8sHBBIQ16s")
_CHECK_LEN = 8
HEADER_LEN = _BODY.size + _CHECK_LEN  # 48

# Bounds a header may claim. The upper bounds stop a damaged or hostile header from making
# unlock allocate gigabytes or spin for minutes before failing.
OPSLIMIT_MIN = argon2id.OPSLIMIT_MIN  # 1
OPSLIMIT_MAX = 64
MEMLIMIT_MIN = argon2id.MEMLIMIT_MIN  # 8 KiB
MEMLIMIT_MAX = 4 * 1024**3


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost. memlimit is in bytes (libsodium rounds it to KiB, so we require that)."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not _params_ok(self.opslimit, self.memlimit):
            raise ValueError(f"Argon2id parameters out of range: {self}")


def _params_ok(opslimit: int, memlimit: int) -> bool:
    return (
        OPSLIMIT_MIN <= opslimit <= OPSLIMIT_MAX
        and MEMLIMIT_MIN <= memlimit <= MEMLIMIT_MAX
        and memlimit % 1024 == 0
    )


# ~0.6 s and 256 MiB on the reference 2-core EPYC (docs/storage.md): slow enough to make
# guessing expensive, fast enough that nobody dreads unlocking. libsodium's "moderate" preset
# is (3, 256 MiB) ~0.5 s; one extra pass costs little and buys ~30 %.
DEFAULT_KDF = KdfParams(opslimit=4, memlimit=256 * 1024**2)
# For tests and benchmarks only: the libsodium minimum, about 0.1 ms. Never for a real profile.
INSECURE_TEST_KDF = KdfParams(opslimit=OPSLIMIT_MIN, memlimit=MEMLIMIT_MIN)


@dataclass(frozen=True, slots=True)
class Header:
    """Parsed profile header: which KDF cost and salt produce this profile's key."""

    params: KdfParams
    salt: bytes

    @classmethod
    def new(cls, params: KdfParams) -> Header:
        """A header with a fresh random salt (every create and every passphrase change)."""
        return cls(params, secrets.token_bytes(SALT_LEN))

    def encode(self) -> bytes:
        body = _BODY.pack(
            MAGIC,
            FORMAT_VERSION,
            KDF_ARGON2ID,
            0,
            self.params.opslimit,
            self.params.memlimit,
            self.salt,
        )
        return body + _checksum(body)

    @classmethod
    def parse(cls, data: bytes) -> Header:
        """Strict parse: any deviation from the layout above is ``CorruptStore``."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise CorruptStore("profile header is not bytes")
        data = bytes(data)
        if len(data) != HEADER_LEN:
            raise CorruptStore(f"profile header has {len(data)} bytes, expected {HEADER_LEN}")
        body, check = data[: _BODY.size], data[_BODY.size :]
        magic, version, kdf, reserved, opslimit, memlimit, salt = _BODY.unpack(body)
        if magic != MAGIC:
            raise CorruptStore("not a Libra profile header (bad magic)")
        if version != FORMAT_VERSION:
            raise CorruptStore(f"unsupported profile header version {version}")
        if kdf != KDF_ARGON2ID or reserved != 0:
            raise CorruptStore("unsupported key derivation in profile header")
        if not secrets.compare_digest(check, _checksum(body)):
            raise CorruptStore("profile header is damaged (checksum mismatch)")
        if not _params_ok(opslimit, memlimit):
            raise CorruptStore("profile header has out-of-range key derivation parameters")
        return cls(KdfParams(opslimit, memlimit), salt)


def _checksum(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()[:_CHECK_LEN]


def normalize_passphrase(passphrase: str | bytes) -> bytes:
    """NFC-normalised UTF-8, so the same passphrase typed via another input method still works."""
    if isinstance(passphrase, bytes | bytearray):
        return bytes(passphrase)
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_key(passphrase: str | bytes, header: Header) -> bytearray:
    """Raw 256-bit SQLCipher key = Argon2id(passphrase, salt). Slow by design; not on the loop.

    Returned as a bytearray so callers can wipe it; libsodium's result passes through an
    immutable ``bytes`` first, so this is best effort (as is everything in Python).
    """
    try:
        raw = argon2id.kdf(
            KEY_LEN,
            normalize_passphrase(passphrase),
            header.salt,
            opslimit=header.params.opslimit,
            memlimit=header.params.memlimit,
        )
    except (nacl.exceptions.CryptoError, MemoryError) as exc:
        raise StorageError(f"key derivation failed: {type(exc).__name__}") from None
    return bytearray(raw)


def read_header(path: Path) -> Header:
    """Read and parse a header file; a missing file is the caller's decision (FileNotFoundError)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(HEADER_LEN + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot read profile header {path.name}: {exc.strerror}") from None
    return Header.parse(data)


def write_header(path: Path, header: Header) -> None:
    """Atomically replace ``path``: temp file, fsync, rename, fsync directory.

    After a crash the file is either the old header or the new one, never a torn mix.
    """
    tmp = path.with_name(path.name + ".tmp")
    data = header.encode()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write profile header {path.name}: {exc.strerror}") from None


def fsync_dir(directory: Path) -> None:
    """Make renames/unlinks in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows: directory entries are durable with the rename itself
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
