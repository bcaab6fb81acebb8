"""Sans-IO file transfer: chunk sealing and opening, sizes, and the accounting of both ends.

A file travels as chunks of ``chunk_size`` plaintext bytes (the last one shorter, an empty
file has one empty chunk). Each chunk is zstd-compressed when that saves space, then sealed
with XChaCha20-Poly1305 under the offer's random file key; the associated data binds the
file id, the chunk index and whether it is the last chunk, so chunks cannot be reordered,
moved between files, or a file cut short. Opening a chunk never inflates it beyond the
length the offer implies. Byte-exact rules: docs/protocol/files.md.

The state classes here only count and decide; services/files.py does the IO (links, disk,
executors) and feeds them the clock.
"""

from __future__ import annotations

import enum
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import zstandard

from ..errors import DecryptionError, ProtocolError
from .records import (
    CHUNK_NONCE_LEN,
    FILE_NAME_FORBIDDEN,
    KEY_LEN,
    MAX_CHUNK_DATA,
    MAX_CHUNK_INDEX,
    MAX_CHUNK_SIZE,
    MAX_FILE_NAME_BYTES,
    MAX_FILE_NAME_CHARS,
    MAX_FILE_SIZE,
    MIN_CHUNK_DATA,
    MIN_CHUNK_SIZE,
    MSG_ID_LEN,
    file_name,
)

CHUNK_SIZE = MAX_CHUNK_SIZE
"""Default plaintext bytes per chunk: a full chunk's FileChunk record fills a whole frame."""
SEAL_OVERHEAD = MIN_CHUNK_DATA
"""Nonce + tag + encoding byte: a sealed chunk is at most this much longer than its data."""
ENCODING_RAW = 0
ENCODING_ZSTD = 1
COMPRESS_LEVEL = 3
MAX_CHUNK_WINDOW = 1 << 20
"""Largest zstd window a chunk may ask for (our encoder needs 128 KiB for 64 KiB chunks)."""
AD_PREFIX = b"libra/v1/file-chunk"


# --- errors ---------------------------------------------------------------------------------


class BadChunk(ProtocolError):
    """A chunk that cannot belong to the file: index out of range, wrong length, unknown
    encoding, or compressed data that does not inflate to exactly the expected length."""


class ChunkDecryptionFailed(DecryptionError):
    """A chunk's AEAD tag did not verify (wrong key, file, index, position or tampering)."""


class HashMismatch(ProtocolError):
    """Every chunk opened, but the whole file's SHA-256 is not the one offered."""


class BadFileRecord(ProtocolError):
    """A FileRequest or FileAck that names chunks the file does not have."""


class CancelReason(enum.IntEnum):
    """FileCancel.reason codes (0..15); their names are the reasons shown to people."""

    CANCELLED = 0
    """The user cancelled (or declined) it."""
    UNKNOWN = 1
    """No such transfer (never offered to us, or deleted)."""
    TOO_LARGE = 2
    """Over the receiver's per-file limit."""
    NO_SPACE = 3
    """Not enough free disk space at the receiver."""
    BAD_DATA = 4
    """A chunk failed its checks (see BadChunk, ChunkDecryptionFailed)."""
    HASH_MISMATCH = 5
    """The received file's SHA-256 differs from the offer."""
    SOURCE_CHANGED = 6
    """The sender's file changed or vanished before the transfer finished."""
    FAILED = 7
    """A local failure (e.g. a disk write) ended the transfer."""

    @property
    def label(self) -> str:
        return self.name.lower()


def reason_label(code: int) -> str:
    """Name of a reason code from a peer (an unknown code still gets a stable label)."""
    try:
        return CancelReason(code).label
    except ValueError:
        return f"reason_{code}"


# --- sizes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilePlan:
    """How a file of ``size`` bytes splits into chunks of ``chunk_size``."""

    size: int
    chunk_size: int

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_FILE_SIZE:
            raise ValueError(f"file size must be 0..{MAX_FILE_SIZE}")
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE}")

    @property
    def chunks(self) -> int:
        """Number of chunks; an empty file has one (empty) chunk, so every file has a last."""
        count = max(1, math.ceil(self.size / self.chunk_size))
        assert count <= MAX_CHUNK_INDEX
        return count

    def chunk_len(self, index: int) -> int:
        """Plaintext length of chunk ``index`` (BadChunk if there is no such chunk)."""
        if not 0 <= index < self.chunks:
            raise BadChunk(f"chunk {index} is beyond the file's {self.chunks} chunks")
        return min(self.chunk_size, self.size - index * self.chunk_size)

    def is_last(self, index: int) -> bool:
        return index == self.chunks - 1

    def bytes_in(self, chunks: int) -> int:
        """Plaintext bytes covered by the first ``chunks`` chunks (for progress)."""
        return min(self.size, chunks * self.chunk_size)

    def max_sealed_bytes(self) -> int:
        """Upper bound of all sealed chunks together (what the receiver stores)."""
        return self.size + self.chunks * SEAL_OVERHEAD


# --- sealing --------------------------------------------------------------------------------


def _associated_data(file_id: bytes, index: int, last: bool) -> bytes:
    if len(file_id) != MSG_ID_LEN or not 0 <= index < MAX_CHUNK_INDEX:
        raise ValueError("bad file id or chunk index")
    return AD_PREFIX + file_id + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal_chunk(
    key: bytes,
    file_id: bytes,
    index: int,
    last: bool,
    data: bytes,
    *,
    compress: bool = True,
) -> bytes:
    """Seal one chunk: nonce || AEAD(encoding byte || data or its zstd frame)."""
    if len(key) != KEY_LEN or len(data) > MAX_CHUNK_SIZE:
        raise ValueError("bad file key or chunk too large")
    body = b"\x00" + data
    if compress and data:
        packed = zstandard.ZstdCompressor(
            level=COMPRESS_LEVEL,
            write_content_size=True,
            write_checksum=False,
            write_dict_id=False,
        ).compress(data)
        if len(packed) < len(data):
            body = b"\x01" + packed
    nonce = secrets.token_bytes(CHUNK_NONCE_LEN)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        body, _associated_data(file_id, index, last), nonce, key
    )
    return nonce + sealed


def open_chunk(
    key: bytes,
    file_id: bytes,
    index: int,
    last: bool,
    sealed: bytes,
    expected_len: int,
) -> bytes:
    """Verify and open one sealed chunk; its plaintext is exactly ``expected_len`` bytes.

    ChunkDecryptionFailed if the tag does not verify for this key/file/index/position;
    BadChunk for a size, encoding or compression that does not fit the plan.
    """
    if not MIN_CHUNK_DATA <= len(sealed) <= MAX_CHUNK_DATA:
        raise BadChunk(f"sealed chunk of {len(sealed)} bytes")
    if len(sealed) - SEAL_OVERHEAD > expected_len:
        raise BadChunk(f"chunk {index} carries more than its {expected_len} bytes")
    nonce, ciphertext = sealed[:CHUNK_NONCE_LEN], sealed[CHUNK_NONCE_LEN:]
    try:
        body = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, _associated_data(file_id, index, last), nonce, key
        )
    except nacl.exceptions.CryptoError:
        raise ChunkDecryptionFailed(f"chunk {index} does not verify") from None
    encoding, payload = body[0], body[1:]
    if encoding == ENCODING_RAW:
        data = payload
    elif encoding == ENCODING_ZSTD:
        data = _inflate(payload, expected_len)
    else:
        raise BadChunk(f"chunk {index} has unknown encoding {encoding}")
    if len(data) != expected_len:
        raise BadChunk(f"chunk {index} has {len(data)} bytes, expected {expected_len}")
    return data


def _inflate(frame: bytes, expected: int) -> bytes:
    """One zstd frame that must inflate to exactly ``expected`` bytes, never more in memory.

    The header must state that size; a first streaming pass reads at most expected + 1
    bytes whatever the header says, the strict pass then rejects trailing or missing data.
    """
    if expected == 0:
        raise BadChunk("an empty chunk is never compressed")
    try:
        params = zstandard.get_frame_parameters(frame)
        if params.dict_id or params.content_size != expected:
            raise BadChunk("compressed chunk does not declare its exact size")
        if params.window_size > MAX_CHUNK_WINDOW:
            raise BadChunk(f"compressed chunk wants a {params.window_size}-byte window")
        dctx = zstandard.ZstdDecompressor(max_window_size=MAX_CHUNK_WINDOW)
        seen = 0
        with dctx.stream_reader(frame) as reader:
            while seen <= expected:
                piece = reader.read(expected + 1 - seen)
                if not piece:
                    break
                seen += len(piece)
        if seen != expected:
            raise BadChunk(f"compressed chunk inflates to {seen}+ bytes, expected {expected}")
        return dctx.decompress(frame, max_output_size=expected, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise BadChunk(f"invalid compressed chunk: {exc}") from None


# --- names ----------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[/\\]")


def sanitize_file_name(name: str) -> str:
    """A local file name made safe to offer: last path component, NFC, no controls or
    separators, at most 255 characters (the extension kept when cutting), never empty."""
    name = _SEPARATORS.split(name)[-1]
    name = name.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    name = unicodedata.normalize("NFC", name)
    name = "".join("_" if c in FILE_NAME_FORBIDDEN else c for c in name)
    name = name.strip().rstrip(". ").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16 or not stem:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    while stem and (
        len(stem) + len(suffix) > MAX_FILE_NAME_CHARS
        or len((stem + suffix).encode("utf-8")) > MAX_FILE_NAME_BYTES
    ):
        stem = stem[:-1]
    name = (stem.rstrip(". ").strip() + suffix) if stem else ""
    if not name or name.startswith("."):
        name = "file" + (name if name.startswith(".") else "")
    return file_name(name, "file name")


# --- accounting -----------------------------------------------------------------------------


class Throttle:
    """At most one "yes" per ``interval`` seconds (e.g. progress events)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = -math.inf

    def ready(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next = now + self.interval
        return True


class Verdict(enum.Enum):
    """What to do with a chunk that belongs to the file."""

    STORE = "store"  # the next one: open, hash, append
    DUPLICATE = "duplicate"  # already stored (a resend after a link switch): ignore
    AHEAD = "ahead"  # beyond the next one (an old link's stream): ignore, it comes again


@dataclass(frozen=True, slots=True)
class ReceiveTiming:
    """Receiver pacing (seconds, chunks)."""

    stall_after: float = 30.0
    """No chunk for this long: the transfer shows as stalled and is requested again."""
    checkpoint_chunks: int = 64
    """Make stored chunks durable (fsync + store row) at least every this many chunks ..."""
    checkpoint_interval: float = 1.0
    """... or this often, whichever comes first; each checkpoint also acks the sender."""
    progress_interval: float = 0.25
    """At most 4 progress events per second per transfer."""


@dataclass(frozen=True, slots=True)
class AfterStore:
    """What the IO side must do after a chunk was appended."""

    checkpoint: bool
    progress: bool
    complete: bool


class ReceiveState:
    """The receiving end of one transfer: which chunk comes next, when to checkpoint, when
    to report progress, and whether the sender has gone quiet."""

    def __init__(
        self, plan: FilePlan, next_index: int, now: float, timing: ReceiveTiming | None = None
    ) -> None:
        if not 0 <= next_index <= plan.chunks:
            raise ValueError("next chunk index out of range")
        self.plan = plan
        self.timing = timing or ReceiveTiming()
        self.next_index = next_index
        self.checkpointed = next_index
        self.stalled = False
        self._last_data = now
        self._last_checkpoint = now
        self._progress = Throttle(self.timing.progress_interval)

    @property
    def complete(self) -> bool:
        """Every chunk is stored (the hash check is still to come)."""
        return self.next_index == self.plan.chunks

    def classify(self, index: int) -> Verdict:
        """BadChunk if the file has no such chunk; else whether to store it now."""
        if not 0 <= index < self.plan.chunks:
            raise BadChunk(f"chunk {index} is beyond the file's {self.plan.chunks} chunks")
        if index < self.next_index:
            return Verdict.DUPLICATE
        return Verdict.STORE if index == self.next_index else Verdict.AHEAD

    def stored(self, now: float) -> AfterStore:
        """The next chunk was appended."""
        if self.complete:
            raise ValueError("every chunk is already stored")
        self.next_index += 1
        self._last_data = now
        self.stalled = False
        complete = self.complete
        checkpoint = (
            complete
            or self.next_index - self.checkpointed >= self.timing.checkpoint_chunks
            or now - self._last_checkpoint >= self.timing.checkpoint_interval
        )
        return AfterStore(checkpoint, self._progress.ready(now) or complete, complete)

    def checkpoint_done(self, now: float) -> None:
        self.checkpointed = self.next_index
        self._last_checkpoint = now

    def restart_clock(self, now: float) -> None:
        """We just (re)requested the file: give the sender ``stall_after`` from now."""
        self._last_data = now

    def deadline(self) -> float | None:
        """When :meth:`poll` next has something to say (None: complete)."""
        return None if self.complete else self._last_data + self.timing.stall_after

    def poll(self, now: float) -> bool:
        """True when no chunk came for ``stall_after`` (the transfer is stalled)."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return False
        self.stalled = True
        return True


class SendState:
    """The sending end of one transfer: what a request asks for, how far the receiver got."""

    def __init__(self, plan: FilePlan, acked: int = 0) -> None:
        if not 0 <= acked <= plan.chunks:
            raise ValueError("acked chunk count out of range")
        self.plan = plan
        self.acked = acked

    @property
    def done(self) -> bool:
        """The receiver stored every chunk and the SHA-256 matched."""
        return self.acked == self.plan.chunks

    def request(self, from_index: int) -> range:
        """The chunks to stream for a FileRequest (BadFileRecord beyond the file)."""
        if not 0 <= from_index <= self.plan.chunks:
            raise BadFileRecord(f"request from chunk {from_index} of {self.plan.chunks}")
        return range(from_index, self.plan.chunks)

    def ack(self, chunks: int) -> bool:
        """A FileAck: True if it is news (acks never go backwards)."""
        if not 0 <= chunks <= self.plan.chunks:
            raise BadFileRecord(f"ack of {chunks} chunks of {self.plan.chunks}")
        if chunks <= self.acked:
            return False
        self.acked = chunks
        return True
