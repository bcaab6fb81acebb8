"""An authenticated, multiplexed link to one peer over any asyncio byte stream.

One :class:`Link` = one stream (a Tor SOCKS stream today, a WebRTC data channel later) after
the sans-IO :class:`~libra_gui.core.protocol.handshake.Handshake` has authenticated both ends.
The byte format is wire.md / handshake.md; what this module adds (precise rules in
docs/protocol/link.md):

* a deadline on the whole setup (slow-loris defence) and key confirmation: both sides send a
  Ping as their first transport frame and neither reports the link up before the peer's first
  frame decrypted (an IK responder could otherwise be fooled by a replayed message 1);
* channels: every record type belongs to one channel (:data:`CHANNEL_OF`). CONTROL goes
  first, the others share the stream by deficit round robin over bytes, so a bulk backlog
  delays a chat record by about one frame, never by the backlog;
* bounded memory both ways: per-channel send queues with a high-water mark (:meth:`drain`)
  and a hard cap, one in-flight write, a bounded inbound buffer that stops reading (TCP
  back-pressure) while the consumer is slow;
* heartbeats: a Ping every ``heartbeat_interval``; no inbound byte for ``dead_after``, or a
  Ping unanswered that long, closes the link with :class:`LinkDead`;
* every failure ends as a typed error in :attr:`Link.error` and a log line, never as an
  exception escaping a background task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from ..crypto.identity import IdentityKeys
from ..errors import CryptoError, HandshakeError, LibraError, ProtocolError
from ..protocol.codec import pack
from ..protocol.handshake import Handshake, HandshakeResult, Mode, NoCommonVersion, Role
from ..protocol.records import (
    MAX_CLOSE_REASON,
    MAX_RECORD,
    Ack,
    CardReply,
    CardRequest,
    Close,
    ContactRequestRecord,
    DirectAnswer,
    DirectDecline,
    DirectHello,
    DirectOffer,
    Envelope,
    FileAck,
    FileCancel,
    FileChunk,
    FileQuery,
    FileRequest,
    LinkRecord,
    Nack,
    OneTimeKey,
    Ping,
    Pong,
    RequestResult,
)
from ..protocol.wire import (
    MAX_FRAME_BODY,
    RECORD_PREFIX_LEN,
    Batcher,
    MessageReader,
    decode_frame,
    encode_message,
)

log = logging.getLogger(__name__)

RecordHandler = Callable[[list[LinkRecord]], Awaitable[None]]
"""Consumer of inbound data records (everything except Ping/Pong/Close), one frame per call."""

READ_SIZE = 64 * 1024
"""Largest single read from the stream: bounds what one read can make us buffer."""
MAX_OUTSTANDING_PINGS = 64


# --- errors ---------------------------------------------------------------------------------


class LinkClosed(LibraError):
    """The link is closed (by us, by the peer, or because its stream ended)."""


class LinkDead(LinkClosed):
    """No data from the peer for ``dead_after`` seconds, or it stopped reading ours."""


class LinkOverloaded(LinkClosed):
    """A local producer queued more than ``max_queued`` bytes on one channel (ignored drain)."""


class HandshakeTimeout(HandshakeError):
    """The peer did not complete the handshake and key confirmation within the deadline."""


class HandshakeAborted(HandshakeError):
    """The stream ended or failed during the handshake (IK: the peer may have a new key)."""


class PeerRejected(HandshakeError):
    """The peer is not accepted: ours is not a contact (responder), or it closed on us
    right after the handshake (initiator; the peer never says why)."""


# --- channels -------------------------------------------------------------------------------


class Channel(IntEnum):
    """Independent send queues sharing one link. CONTROL has strict priority."""

    CONTROL = 0
    CHAT = 1
    SIGNALING = 2
    FILES = 3


CHANNEL_OF: dict[type[LinkRecord], Channel] = {
    Ping: Channel.CONTROL,
    Pong: Channel.CONTROL,
    Envelope: Channel.CHAT,
    Ack: Channel.CHAT,
    Nack: Channel.CHAT,
    OneTimeKey: Channel.CHAT,
    Close: Channel.CHAT,  # after queued chat records: acks go out before the link ends
    # beacon links (services/beacon.py, services/lookup.py)
    CardRequest: Channel.CHAT,
    CardReply: Channel.CHAT,
    ContactRequestRecord: Channel.CHAT,
    RequestResult: Channel.CHAT,
    # direct-path signaling (services/direct.py)
    DirectHello: Channel.SIGNALING,
    DirectOffer: Channel.SIGNALING,
    DirectAnswer: Channel.SIGNALING,
    DirectDecline: Channel.SIGNALING,
    # file transfer (services/files.py): bulk chunks, small control records
    FileChunk: Channel.FILES,
    FileRequest: Channel.SIGNALING,
    FileAck: Channel.SIGNALING,
    FileCancel: Channel.SIGNALING,
    FileQuery: Channel.SIGNALING,
}
"""The one table mapping record types to channels; a type missing here cannot be sent."""

_DATA_CHANNELS = (Channel.CHAT, Channel.SIGNALING, Channel.FILES)
_DROPPED_ON_CLOSE = (Channel.SIGNALING, Channel.FILES)


def channel_for(record: LinkRecord) -> Channel:
    """The channel a record travels on; TypeError for a type with no channel (a bug)."""
    channel = CHANNEL_OF.get(type(record))
    if channel is None:
        raise TypeError(f"{type(record).__name__} has no link channel")
    return channel


def record_size(record: LinkRecord) -> int:
    """Bytes the record takes in a frame body (u32 prefix + msgpack)."""
    size = RECORD_PREFIX_LEN + len(pack(record.to_wire()))
    if size > RECORD_PREFIX_LEN + MAX_RECORD:
        raise ValueError(f"record of {size} bytes exceeds {MAX_RECORD}")
    return size


# --- configuration --------------------------------------------------------------------------


def _default_quanta() -> dict[Channel, int]:
    # Chat and signaling may use a whole frame per round, bulk a quarter: under contention a
    # chat backlog gets ~4/5 of the bandwidth and never waits behind more than one file frame.
    return {
        Channel.CHAT: MAX_FRAME_BODY,
        Channel.SIGNALING: MAX_FRAME_BODY,
        Channel.FILES: MAX_FRAME_BODY // 4,
    }


@dataclass(frozen=True)
class LinkConfig:
    """Timeouts and bounds of one link; defaults suit Tor (seconds, bytes)."""

    handshake_timeout: float = 60.0
    """Whole setup: version negotiation, Noise, first frame each way (handshake.md §7)."""
    heartbeat_interval: float = 10.0
    dead_after: float = 35.0
    """No inbound byte, or no Pong to a Ping, for this long: the link is dead."""
    close_timeout: float = 5.0
    """How long close() tries to flush queued chat records and Close before cutting."""
    high_water: int = 1 << 20
    """Per channel: drain() blocks while more than this is queued, until <= low_water."""
    low_water: int = 256 << 10
    max_queued: int = 8 << 20
    """Per channel hard cap: a producer that ignores drain() gets LinkOverloaded."""
    inbound_frames: int = 16
    """Decoded frames buffered for a slow consumer before we stop reading the stream."""
    socket_send_buffer: int | None = 128 << 10
    """SO_SNDBUF for socket streams (None: OS default). The kernel sends its buffer in FIFO
    order, so a multi-megabyte buffer would put seconds of bulk data in front of a chat
    record on Tor; keeping it small leaves the ordering to our scheduler."""
    quanta: Mapping[Channel, int] = field(default_factory=_default_quanta)
    versions: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if not 0 < self.low_water <= self.high_water <= self.max_queued:
            raise ValueError("need 0 < low_water <= high_water <= max_queued")
        if min(self.handshake_timeout, self.heartbeat_interval, self.dead_after) <= 0:
            raise ValueError("timeouts must be positive")
        if any(self.quanta.get(ch, 0) <= 0 for ch in _DATA_CHANNELS):
            raise ValueError("every data channel needs a positive quantum")


@dataclass
class LinkStats:
    """Counters for tests, benchmarks and the UI's connection details."""

    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    records_in: int = 0
    records_out: dict[Channel, int] = field(default_factory=lambda: dict.fromkeys(Channel, 0))


class _State(Enum):
    SETUP = "setup"  # handshake done, waiting for the peer's first frame
    OPEN = "open"
    CLOSING = "closing"  # close() flushing chat records and Close
    CLOSED = "closed"


@dataclass
class _Queue:
    items: deque[tuple[LinkRecord, int]] = field(default_factory=deque)
    size: int = 0  # bytes queued
    deficit: int = 0  # DRR credit, bytes
    below_low: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.below_low.set()


# --- the link -------------------------------------------------------------------------------


class Link:
    """An open, authenticated link. Build with :meth:`connect` or :meth:`accept`.

    ``send`` never blocks (the Link protocol of ``services.messaging``); ``drain`` is the
    back-pressure point for bulk producers; inbound data records go to the handler given to
    :meth:`deliver_to` (until then they wait in a bounded buffer, then the stream stops being
    read).
    """

    def __init__(
        self,
        result: HandshakeResult,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        initiator: bool,
        config: LinkConfig,
    ) -> None:
        self._result = result
        self._reader = reader
        self._writer = writer
        self._initiator = initiator
        self.config = config
        self._transport = result.transport
        self._loop = asyncio.get_running_loop()
        self._state = _State.SETUP
        self.error: LibraError | None = None
        """Why the link closed, or None for a clean close (ours or the peer's Close)."""
        self.close_reason = ""
        self.closed_by_peer = False
        self.closed = asyncio.Event()
        """Set once the link is closed (stream closed or aborted, tasks stopped)."""
        self.stats = LinkStats()
        self.rtt: float | None = None
        """Round trip of the last Ping/Pong, seconds."""
        self.srtt: float | None = None
        """Smoothed round trip (EWMA, 1/8), seconds."""
        self.tag = result.handshake_hash[:4].hex()
        """Short random label for logs (reveals no identity)."""
        # send side
        self._queues = {ch: _Queue() for ch in Channel}
        self._active: deque[Channel] = deque()  # data channels with records, DRR order
        self._in_turn = False  # the channel at _active[0] already got its quantum this turn
        self._wake_writer = asyncio.Event()
        self._close_flushed = asyncio.Event()
        # receive side
        self._messages = MessageReader()
        self._inbox: deque[list[LinkRecord]] = deque()
        self._inbox_ready = asyncio.Event()
        self._inbox_space = asyncio.Event()
        self._inbox_space.set()
        self._rx_blocked = False
        self._last_rx = self._loop.time()
        self._confirmed: asyncio.Future[None] = self._loop.create_future()
        # heartbeats
        self._ping_nonces = itertools.count(secrets.randbits(63))
        self._pings: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumer: asyncio.Task[None] | None = None

    # -- construction --------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keys: IdentityKeys,
        *,
        expected_identity: bytes | None,
        remote_static: bytes | None = None,
        context: bytes = b"",
        card: bytes | None = None,
        config: LinkConfig | None = None,
        on_records: RecordHandler | None = None,
    ) -> Link:
        """Initiator: IK if ``remote_static`` is known, else XX; pin ``expected_identity``.

        Returns once the responder's first frame decrypted (so it accepted us). Raises
        HandshakeError subclasses (HandshakeTimeout, HandshakeAborted, PeerRejected),
        VersionMismatch or LinkClosed; the stream is closed on any failure.
        """
        config = config or LinkConfig()
        try:
            handshake = Handshake(
                Role.INITIATOR,
                keys,
                remote_static=remote_static,
                expected_identity=expected_identity,
                context=context,
                versions=config.versions,
                card=card,
            )
        except BaseException:
            _abort(writer)
            raise
        return await cls._establish(handshake, reader, writer, config, None, on_records)

    @classmethod
    async def accept(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keys: IdentityKeys,
        *,
        accept_peer: Callable[[bytes], bool],
        context: bytes = b"",
        card: bytes | None = None,
        config: LinkConfig | None = None,
        on_records: RecordHandler | None = None,
    ) -> Link:
        """Responder: run the handshake, ask ``accept_peer(identity)``, confirm keys.

        A rejected peer gets nothing more (not even the last IK message): the stream is
        closed and PeerRejected raised. Other failures as in :meth:`connect`.
        """
        config = config or LinkConfig()
        try:
            handshake = Handshake(
                Role.RESPONDER, keys, context=context, versions=config.versions, card=card
            )
        except BaseException:
            _abort(writer)
            raise
        return await cls._establish(handshake, reader, writer, config, accept_peer, on_records)

    @classmethod
    async def _establish(
        cls,
        handshake: Handshake,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        config: LinkConfig,
        accept_peer: Callable[[bytes], bool] | None,
        on_records: RecordHandler | None,
    ) -> Link:
        deadline = asyncio.get_running_loop().time() + config.handshake_timeout
        _limit_send_buffer(writer, config.socket_send_buffer)
        try:
            async with asyncio.timeout_at(deadline):
                result = await _drive_handshake(handshake, reader, writer, accept_peer)
        except TimeoutError:
            _abort(writer)
            raise HandshakeTimeout(
                f"handshake not complete after {config.handshake_timeout:g} s"
            ) from None
        except BaseException:
            _abort(writer)
            raise
        link = cls(result, reader, writer, initiator=accept_peer is None, config=config)
        link._start()
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(link._confirmed)
        except TimeoutError:
            error = HandshakeTimeout("the peer sent no frame after the handshake")
            link._fail(error)
            raise error from None
        except LibraError:
            raise
        except BaseException:  # cancelled: leave nothing running
            link._fail(LinkClosed("link setup cancelled"))
            raise
        if on_records is not None:
            link.deliver_to(on_records)
        return link

    def _start(self) -> None:
        """Run reader and writer; the first frame is a Ping (key confirmation, first RTT)."""
        self._spawn(self._read_loop(self._result.leftover))
        self._spawn(self._write_loop())
        self._send_ping()

    # -- public state --------------------------------------------------------------------

    @property
    def initiator(self) -> bool:
        """True if we opened the stream (and drove the handshake as initiator)."""
        return self._initiator

    @property
    def peer_identity(self) -> bytes:
        """The peer's Ed25519 identity key, authenticated by the handshake."""
        return self._result.peer_identity

    @property
    def peer_static(self) -> bytes:
        """The peer's current X25519 static key (store it to use IK next time)."""
        return self._result.peer_static

    @property
    def peer_card(self) -> bytes | None:
        return self._result.peer_card

    @property
    def handshake_hash(self) -> bytes:
        """Equal on both ends and unique per link: identifies the link to both peers."""
        return self._result.handshake_hash

    @property
    def mode(self) -> Mode:
        return self._result.mode

    @property
    def version(self) -> int:
        return self._result.version

    @property
    def is_open(self) -> bool:
        return self._state is _State.OPEN

    @property
    def is_closed(self) -> bool:
        return self._state is _State.CLOSED

    def queued_bytes(self, channel: Channel | None = None) -> int:
        """Bytes waiting in one channel's queue (or all of them)."""
        if channel is not None:
            return self._queues[channel].size
        return sum(q.size for q in self._queues.values())

    def __repr__(self) -> str:
        return f"<Link {self.tag} {'out' if self._initiator else 'in'} {self._state.value}>"

    # -- sending -------------------------------------------------------------------------

    def send(self, records: Iterable[LinkRecord]) -> None:
        """Queue records for the peer, each on its channel; never blocks.

        Silently dropped once the link is closing (delivery resends on the next link).
        TypeError/ValueError for records that could never be sent (a bug of the caller).
        """
        items = []
        for record in records:
            if isinstance(record, Close):
                raise ValueError("use Link.close() to end a link")
            items.append((channel_for(record), record, record_size(record)))
        if self._state in (_State.CLOSING, _State.CLOSED):
            return
        for channel, record, size in items:
            if self._queues[channel].size + size > self.config.max_queued:
                self._fail(LinkOverloaded(f"more than {self.config.max_queued} bytes queued"))
                return
            self._enqueue(channel, record, size)

    async def drain(self, channel: Channel | None = None) -> None:
        """Wait while a channel (or any) is above the high-water mark, until it is at or
        below the low-water mark. Raises LinkClosed if the link closes meanwhile."""
        channels = [channel] if channel is not None else list(Channel)
        for ch in channels:
            queue = self._queues[ch]
            if queue.size > self.config.high_water:
                await queue.below_low.wait()
        if self._state is _State.CLOSED or self._state is _State.CLOSING:
            raise LinkClosed(f"link closed: {self.error or self.close_reason or 'by us'}")

    def _enqueue(self, channel: Channel, record: LinkRecord, size: int) -> None:
        queue = self._queues[channel]
        queue.items.append((record, size))
        queue.size += size
        if queue.size > self.config.low_water:
            queue.below_low.clear()
        if channel is not Channel.CONTROL and channel not in self._active:
            self._active.append(channel)
        self._wake_writer.set()

    def _dequeued(self, channel: Channel, size: int) -> None:
        queue = self._queues[channel]
        queue.size -= size
        if queue.size <= self.config.low_water:
            queue.below_low.set()

    def _take_batch(self) -> list[LinkRecord]:
        """At most one frame body of records: CONTROL first, then deficit round robin.

        A channel's turn adds its quantum to its deficit and sends head records while they
        fit the deficit; a turn cut short by a full batch continues in the next batch without
        a new quantum. An emptied channel leaves the rotation and forgets its deficit.
        """
        batch: list[LinkRecord] = []
        budget = MAX_FRAME_BODY
        control = self._queues[Channel.CONTROL]
        while control.items and control.items[0][1] <= budget:
            record, size = control.items.popleft()
            self._take(batch, Channel.CONTROL, record, size)
            budget -= size
        while self._active:
            channel = self._active[0]
            queue = self._queues[channel]
            if not self._in_turn:
                queue.deficit += self.config.quanta[channel]
                self._in_turn = True
            while queue.items and queue.items[0][1] <= min(queue.deficit, budget):
                record, size = queue.items.popleft()
                queue.deficit -= size
                budget -= size
                self._take(batch, channel, record, size)
                if isinstance(record, Close):
                    return batch  # nothing may follow Close
            if not queue.items:
                queue.deficit = 0
                self._active.popleft()
                self._in_turn = False
            elif queue.items[0][1] > queue.deficit:
                self._active.rotate(-1)
                self._in_turn = False
            else:
                break  # the head fits the deficit but not this batch: next batch, same turn
        return batch

    def _take(self, batch: list[LinkRecord], channel: Channel, record: LinkRecord, n: int) -> None:
        batch.append(record)
        self._dequeued(channel, n)
        self.stats.records_out[channel] += 1

    async def _write_loop(self) -> None:
        try:
            while True:
                batch = self._take_batch()
                if not batch:
                    self._wake_writer.clear()
                    await self._wake_writer.wait()
                    continue
                batcher = Batcher()
                batcher.extend(batch)
                frames = batcher.flush()
                data = b"".join(encode_message(self._transport.encrypt(f)) for f in frames)
                self._writer.write(data)
                self.stats.frames_out += len(frames)
                self.stats.bytes_out += len(data)
                await self._writer.drain()
                if isinstance(batch[-1], Close):
                    self._close_flushed.set()
                    return
                # drain() does not yield while the socket takes everything: let senders and
                # readers run between batches, so a fast link never monopolises the loop.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except (ConnectionError, OSError) as exc:
            self._fail(LinkClosed(f"the stream failed while writing: {exc}"))
        except Exception as exc:  # a bug (or nonce exhaustion): log it, end the link typed
            log.exception("link %s: cannot send", self.tag)
            self._fail(exc if isinstance(exc, LibraError) else LinkClosed(f"send failed: {exc}"))

    # -- receiving -----------------------------------------------------------------------

    def deliver_to(self, on_records: RecordHandler) -> None:
        """Start handing inbound data records to ``on_records`` (once per link).

        Each call carries the data records of one frame, in order; the next call waits for
        the previous to return, and the stream is not read while the buffer is full.
        """
        if self._consumer is not None:
            raise RuntimeError("deliver_to() called twice")
        self._consumer = self._loop.create_task(self._consume(on_records))

    async def _consume(self, on_records: RecordHandler) -> None:
        """Deliver buffered frames, even after the link closed (they were authentic)."""
        while True:
            while not self._inbox:
                if self._state is _State.CLOSED:
                    return
                self._inbox_ready.clear()
                await self._inbox_ready.wait()
            records = self._inbox.popleft()
            self._inbox_space.set()
            try:
                await on_records(records)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("link %s: record consumer failed", self.tag)
                self._fail(exc if isinstance(exc, LibraError) else LinkClosed(f"consumer: {exc}"))
                return

    async def _read_loop(self, leftover: bytes) -> None:
        try:
            if leftover:
                await self._on_bytes(leftover)
            while True:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    self._messages.finish()  # MalformedRecord if it stopped mid-message
                    if self._state is _State.CLOSING:  # the peer saw our Close first
                        self._finish(None, self.close_reason, graceful=True)
                        return
                    if self._state is _State.SETUP:
                        raise (
                            PeerRejected("the peer closed the link before confirming it")
                            if self._initiator
                            else HandshakeAborted("the peer closed the link before confirming")
                        )
                    raise LinkClosed("the peer ended the stream without Close")
                self._last_rx = self._loop.time()
                self.stats.bytes_in += len(data)
                if not await self._on_bytes(data):
                    return
        except asyncio.CancelledError:
            raise
        except (ProtocolError, CryptoError, LinkClosed) as exc:
            self._fail(exc)
        except (ConnectionError, OSError) as exc:
            self._fail(LinkClosed(f"the stream failed while reading: {exc}"))
        except Exception as exc:  # a bug: log it, end the link typed
            log.exception("link %s: cannot receive", self.tag)
            self._fail(LinkClosed(f"receive failed: {exc}"))

    async def _on_bytes(self, data: bytes) -> bool:
        """Decrypt and dispatch every complete message; False once the peer sent Close."""
        for message in self._messages.feed(data):
            records = decode_frame(self._transport.decrypt(message))
            self.stats.frames_in += 1
            self.stats.records_in += len(records)
            if not self._confirmed.done():
                self._confirmed.set_result(None)
                if self._state is _State.SETUP:
                    self._state = _State.OPEN
                    self._spawn(self._watchdog())
            data_records: list[LinkRecord] = []
            peer_closed: Close | None = None
            for record in records:
                if isinstance(record, Ping):
                    self._queue_control(Pong(nonce=record.nonce))
                elif isinstance(record, Pong):
                    self._on_pong(record.nonce)
                elif isinstance(record, Close):
                    peer_closed = record
                    break
                else:
                    data_records.append(record)
            if data_records:
                await self._push_inbox(data_records)
            if peer_closed is not None:
                self.closed_by_peer = True
                self._finish(None, peer_closed.reason, graceful=True)
                return False
        return True

    async def _push_inbox(self, records: list[LinkRecord]) -> None:
        while len(self._inbox) >= self.config.inbound_frames:
            self._rx_blocked = True  # our consumer is slow: silence is not the peer's fault
            self._inbox_space.clear()
            await self._inbox_space.wait()
        if self._rx_blocked:
            self._rx_blocked = False
            self._last_rx = self._loop.time()
            self._pings.clear()  # their Pongs may be unread behind the data: start afresh
        self._inbox.append(records)
        self._inbox_ready.set()

    # -- heartbeats ----------------------------------------------------------------------

    def _send_ping(self) -> None:
        if len(self._pings) >= MAX_OUTSTANDING_PINGS:
            return  # the oldest one decides liveness; more prove nothing
        nonce = next(self._ping_nonces) % (1 << 64)
        self._pings[nonce] = self._loop.time()
        self._queue_control(Ping(nonce=nonce))

    def _queue_control(self, record: LinkRecord) -> None:
        """Queue a Ping/Pong; a peer flooding Pings while not reading overloads the link."""
        size = record_size(record)
        if self._queues[Channel.CONTROL].size + size > self.config.max_queued:
            self._fail(LinkOverloaded("too many unanswered control records queued"))
            return
        self._enqueue(Channel.CONTROL, record, size)

    def _on_pong(self, nonce: int) -> None:
        """Pongs come in Ping order (one ordered stream): this one answers all older Pings."""
        if nonce not in self._pings:
            return  # unsolicited, or forgotten while our reader was paused: harmless
        while True:
            n, sent = next(iter(self._pings.items()))
            del self._pings[n]
            if n == nonce:
                break
        rtt = self._loop.time() - sent
        self.rtt = rtt
        self.srtt = rtt if self.srtt is None else self.srtt + (rtt - self.srtt) / 8

    async def _watchdog(self) -> None:
        """Ping every heartbeat_interval. Dead after dead_after without an inbound byte (the
        peer stopped writing) or without the Pong to a Ping (it stopped reading).

        Neither rule applies while our own consumer is slow and we stopped reading: then
        silence is our fault, and unread Pongs may be waiting in the stream.
        """
        interval, dead_after = self.config.heartbeat_interval, self.config.dead_after
        next_ping = self._loop.time() + interval
        while self._state is _State.OPEN:
            now = self._loop.time()
            oldest = next(iter(self._pings.values()), None)
            if not self._rx_blocked:
                if now - self._last_rx >= dead_after:
                    silent = now - self._last_rx
                    self._fail(LinkDead(f"no data from the peer for {silent:.1f} s"))
                    return
                if oldest is not None and now - oldest >= dead_after:
                    waited = now - oldest
                    self._fail(LinkDead(f"the peer has not answered a Ping for {waited:.1f} s"))
                    return
            if now >= next_ping:
                self._send_ping()
                next_ping = now + interval
            wake = next_ping
            if not self._rx_blocked:
                wake = min(wake, self._last_rx + dead_after)
                if oldest is not None:
                    wake = min(wake, oldest + dead_after)
            await asyncio.sleep(max(0.0, wake - now) + 0.001)

    # -- closing -------------------------------------------------------------------------

    async def close(self, reason: str = "") -> None:
        """Send queued chat records and Close(reason), then close the stream.

        Queued SIGNALING/FILES records are dropped. Waits at most ``close_timeout`` for the
        peer to take the data, then cuts the stream. Idempotent.
        """
        if self._state in (_State.OPEN, _State.SETUP):
            self._state = _State.CLOSING
            reason = reason[:MAX_CLOSE_REASON]
            self.close_reason = reason
            for channel in _DROPPED_ON_CLOSE:
                queue = self._queues[channel]
                queue.items.clear()
                queue.size = queue.deficit = 0
                queue.below_low.set()
                with contextlib.suppress(ValueError):
                    self._active.remove(channel)
                    self._in_turn = False
            close = Close(reason=reason)
            self._enqueue(Channel.CHAT, close, record_size(close))
            try:
                async with asyncio.timeout(self.config.close_timeout):
                    await self._close_flushed.wait()
            except TimeoutError:
                pass  # the peer does not read: cut below
            finally:  # also when cancelled: never leave a link half closed
                if self._state is _State.CLOSING:
                    self._finish(None, reason, graceful=self._close_flushed.is_set())
        await self.closed.wait()

    def abort(self, error: LibraError | None = None) -> None:
        """Cut the stream now, without Close (e.g. the transport under it is gone)."""
        self._fail(error or LinkClosed("aborted locally"))

    async def wait_closed(self) -> None:
        """Wait until closed and the consumer delivered what had arrived (bounded)."""
        await self.closed.wait()
        consumer = self._consumer
        if consumer is not None and not consumer.done():
            try:
                async with asyncio.timeout(self.config.close_timeout):
                    await asyncio.shield(consumer)
            except TimeoutError:
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.config.close_timeout):
                await self._writer.wait_closed()

    def _fail(self, error: LibraError) -> None:
        """Close at once with ``error`` recorded (idempotent: the first reason wins)."""
        if self._state is _State.CLOSED:
            return
        log.info("link %s closed: %s: %s", self.tag, type(error).__name__, error)
        self._finish(error, str(error), graceful=False)

    def _finish(self, error: LibraError | None, reason: str, *, graceful: bool) -> None:
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        self.error = error
        self.close_reason = reason
        if error is None:
            by = "peer" if self.closed_by_peer else "us"
            log.info("link %s closed by %s: %s", self.tag, by, reason)
        if not self._confirmed.done():
            self._confirmed.set_exception(error or LinkClosed(reason or "closed during setup"))
            self._confirmed.exception()  # retrieved: no "never retrieved" warning
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for queue in self._queues.values():
            queue.items.clear()
            queue.size = 0
            queue.below_low.set()
        self._active.clear()
        self._inbox_ready.set()  # the consumer finishes what is buffered, then stops
        if graceful:
            with contextlib.suppress(Exception):
                self._writer.close()
        else:
            _abort(self._writer)
        self.closed.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# --- handshake driver -----------------------------------------------------------------------


async def _drive_handshake(
    handshake: Handshake,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    accept_peer: Callable[[bytes], bool] | None,
) -> HandshakeResult:
    """Move bytes between the stream and the sans-IO handshake until it completes.

    The responder asks ``accept_peer`` *before* writing its last message (IK message 2), so a
    rejected peer learns nothing more than a peer whose message failed to decrypt.
    """
    try:
        first = handshake.start()
        if first:
            writer.write(first)
        while not handshake.complete:
            await writer.drain()
            data = await reader.read(READ_SIZE)
            if not data:
                raise HandshakeAborted("the peer closed the stream during the handshake")
            try:
                out = handshake.receive(data)
            except NoCommonVersion as exc:
                writer.write(exc.reply)
                await writer.drain()
                raise
            if handshake.complete and accept_peer is not None:
                identity = handshake.result.peer_identity
                try:
                    accepted = accept_peer(identity)
                except Exception:
                    log.exception("accept_peer failed; rejecting the peer")
                    accepted = False
                if not accepted:
                    raise PeerRejected("the peer is not one of our contacts")
            for chunk in out:
                writer.write(chunk)
        await writer.drain()
    except (ConnectionError, OSError) as exc:
        raise HandshakeAborted(f"the stream failed during the handshake: {exc}") from None
    return handshake.result


def _limit_send_buffer(writer: asyncio.StreamWriter, size: int | None) -> None:
    """Best effort: only socket streams have a kernel buffer to shrink."""
    sock = writer.get_extra_info("socket")
    if size is None or sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Drop the stream without flushing: for errors and peers that stopped reading."""
    with contextlib.suppress(Exception):
        writer.transport.abort()
