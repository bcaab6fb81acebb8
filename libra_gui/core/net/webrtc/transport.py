"""A WebRTC data channel as an asyncio byte stream, so :class:`~..link.Link` runs on it
unchanged (docs/protocol/direct-channel.md §4).

The channel carries messages, the Link wants a stream: every message after the binding
starts with a tag byte, DATA (a slice of the byte stream) or CREDIT (flow control). Why our
own flow control: aiortc's SCTP sender ignores the receive window the peer advertises, and its
receiver hands every message to the application at once, so nothing between two aiortc peers
slows a sender down when the receiving Link stops reading. Here the receiver grants credit
only for bytes its StreamReader has taken, so a slow consumer stalls the sender (like TCP)
and inbound memory stays below :data:`WINDOW`; a peer that sends beyond its credit breaks
the rules and the stream fails with :class:`DirectStreamError`.

Outbound, bytes wait in our buffer and move to the channel while ``bufferedAmount`` is below
the high-water mark (``bufferedamountlow`` refills it); the writer is paused above high water
and resumed at low water, so ``await writer.drain()`` is real back-pressure.

:class:`FlowControl` is the pure accounting (no IO, tested alone); :class:`DataChannelTransport`
is the asyncio glue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ProtocolError

if TYPE_CHECKING:
    from aiortc import RTCDataChannel

log = logging.getLogger(__name__)

DATA = 0x00
CREDIT = 0x01
CREDIT_LEN = 5
"""Tag byte + u32 big-endian number of bytes credited."""
WINDOW = 4 << 20
"""Bytes a sender may have sent beyond what the receiver credited (protocol constant)."""
CREDIT_STEP = WINDOW // 4
"""A receiver credits consumed bytes once at least this many have accumulated."""
MAX_MESSAGE = 64 * 1024
"""Largest message we send (tag included): the size every WebRTC stack accepts."""


class DirectStreamError(ProtocolError):
    """The peer broke the direct-channel stream rules (text or unknown message, sending
    beyond its credit, impossible credit)."""


@dataclass(frozen=True)
class StreamTuning:
    """Send-side buffering of one direct stream (bytes, seconds)."""

    max_message: int = MAX_MESSAGE
    """Our largest data-channel message, tag byte included (never above the peer's limit)."""
    high_water: int = 1 << 20
    """Pause the writer (and stop filling the channel) above this many buffered bytes."""
    low_water: int = 256 << 10
    """Resume the writer at or below this; also the channel's bufferedAmountLowThreshold."""
    close_timeout: float = 5.0
    """close() waits this long for our buffered bytes to leave before cutting the channel."""

    def __post_init__(self) -> None:
        if not 1024 <= self.max_message <= 256 * 1024:
            raise ValueError("max_message must be 1 KiB to 256 KiB")
        if not 0 < self.low_water <= self.high_water:
            raise ValueError("need 0 < low_water <= high_water")
        if self.close_timeout <= 0:
            raise ValueError("close_timeout must be positive")


class FlowControl:
    """Credit accounting for both directions of one stream (sans-IO).

    Sending: we start with :data:`WINDOW` bytes of credit, spend it on DATA and get it back
    from the peer's CREDIT messages. Receiving: the peer's DATA may never exceed what we
    credited plus :data:`WINDOW`; we credit bytes back once our reader took them.
    """

    def __init__(self, window: int = WINDOW, step: int = CREDIT_STEP) -> None:
        self.window = window
        self.step = step
        self.send_credit = window
        self._unreturned = 0  # DATA bytes received and not yet credited back
        self._consumed = 0  # of those, bytes our reader took (credit not yet sent)

    # -- sending ---------------------------------------------------------------------------

    def take(self, available: int, max_payload: int) -> int:
        """How many of ``available`` bytes to send in the next DATA message (0: no credit)."""
        n = min(available, self.send_credit, max_payload)
        self.send_credit -= n
        return n

    # -- receiving -------------------------------------------------------------------------

    def parse(self, message: bytes | str) -> bytes | None:
        """A DATA message's payload, or None after applying a CREDIT; DirectStreamError for
        anything else."""
        if not isinstance(message, bytes):
            raise DirectStreamError("the peer sent a text message")
        if not message:
            raise DirectStreamError("the peer sent an empty message")
        tag = message[0]
        if tag == DATA:
            size = len(message) - 1
            if size == 0:
                raise DirectStreamError("the peer sent an empty DATA message")
            if self._unreturned + size > self.window:
                raise DirectStreamError("the peer sent beyond its credit")
            self._unreturned += size
            return message[1:]
        if tag == CREDIT:
            if len(message) != CREDIT_LEN:
                raise DirectStreamError("malformed CREDIT message")
            credit = int.from_bytes(message[1:], "big")
            if credit == 0 or self.send_credit + credit > self.window:
                raise DirectStreamError("the peer credited bytes we never sent")
            self.send_credit += credit
            return None
        raise DirectStreamError(f"unknown message tag {tag}")

    def consumed(self, size: int) -> bytes | None:
        """Our reader took ``size`` payload bytes: the CREDIT message to send, if one is due."""
        self._consumed += size
        if self._consumed < self.step:
            return None
        credit, self._consumed = self._consumed, 0
        self._unreturned -= credit
        return bytes([CREDIT]) + credit.to_bytes(4, "big")

    @property
    def unreturned(self) -> int:
        """Inbound bytes the peer still counts against its credit (our inbound memory)."""
        return self._unreturned


class DataChannelTransport(asyncio.Transport):
    """One open, bound data channel as an asyncio transport (see the module docstring).

    Ends exactly once, with ``connection_lost``: None after the peer closed the channel (EOF
    after everything it sent) or after our close()/abort(); DirectStreamError when the peer
    broke the stream rules; ConnectionResetError when the connection failed. ``on_end`` is
    then called once (the attempt closes its peer connection).
    """

    def __init__(
        self,
        channel: RTCDataChannel,
        protocol: asyncio.Protocol,
        *,
        peer_max_message: int,
        tuning: StreamTuning,
        on_end: Callable[[], None],
        early: Iterable[bytes | str] = (),
    ) -> None:
        super().__init__(extra={"datachannel": channel})
        self._loop = asyncio.get_running_loop()
        self._channel = channel
        self._protocol = protocol
        self._on_end = on_end
        self._tuning = tuning
        self._high_water = tuning.high_water
        self._low_water = tuning.low_water
        limit = tuning.max_message if peer_max_message == 0 else peer_max_message
        self._max_payload = min(tuning.max_message, limit) - 1
        self._flow = FlowControl()
        self._send_buffer = bytearray()
        self._inbound: deque[bytes] = deque()
        self._reading_paused = False
        self._writing_paused = False
        self._closing = False  # close() or abort() called, or the stream ended
        self._ended = False  # connection_lost scheduled
        self._channel_close_sent = False
        self._close_timer: asyncio.TimerHandle | None = None
        channel.bufferedAmountLowThreshold = self._low_water
        channel.on("message", self._on_message)
        channel.on("bufferedamountlow", self._pump)
        channel.on("close", self._on_channel_closed)
        protocol.connection_made(self)
        for message in early:
            self._on_message(message)
        if channel.readyState != "open":
            self._on_channel_closed()

    # -- asyncio.Transport: reading --------------------------------------------------------

    def is_reading(self) -> bool:
        return not self._reading_paused and not self._ended

    def pause_reading(self) -> None:
        """The StreamReader is full: keep messages here (credit stops with them)."""
        self._reading_paused = True

    def resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self._loop.call_soon(self._deliver)

    # -- asyncio.Transport: writing --------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return  # like a socket transport after close(): the bytes go nowhere
        if data:
            self._send_buffer += data
            self._pump()

    def can_write_eof(self) -> bool:
        return False  # a data channel closes both directions at once

    def write_eof(self) -> None:
        raise NotImplementedError("a data channel has no half-close")

    def get_write_buffer_size(self) -> int:
        """Our buffer plus what the channel still holds (its bufferedAmount)."""
        return len(self._send_buffer) + self._channel.bufferedAmount

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low_water, self._high_water

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        high = self._tuning.high_water if high is None else high
        low = min(self._tuning.low_water, high) if low is None else low
        if not 0 < low <= high:
            raise ValueError("need 0 < low <= high")
        self._high_water, self._low_water = high, low
        self._channel.bufferedAmountLowThreshold = low
        self._pump()

    # -- asyncio.BaseTransport -------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send what is buffered, then close the channel; cut it after ``close_timeout``."""
        if self._closing:
            return
        self._closing = True
        self._inbound.clear()  # like a socket transport: no data_received after close()
        self._close_timer = self._loop.call_later(self._tuning.close_timeout, self.abort)
        self._pump()

    def abort(self) -> None:
        """Drop everything now; the attempt closes the peer connection."""
        self._end(None)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    @property
    def writing_paused(self) -> bool:
        """True while the protocol is told to stop writing (drain() blocks)."""
        return self._writing_paused

    @property
    def flow(self) -> FlowControl:
        """Credit state (read-only use: tests, stats)."""
        return self._flow

    # -- events from the attempt -----------------------------------------------------------

    def connection_failed(self) -> None:
        """ICE or DTLS failed under the channel: the stream breaks (bytes in flight are lost)."""
        self._end(ConnectionResetError("the direct connection failed"))

    # -- internals -------------------------------------------------------------------------

    def _on_message(self, message: Any) -> None:
        if self._ended:
            return
        try:
            payload = self._flow.parse(message)
        except DirectStreamError as exc:
            log.info("direct stream: %s", exc)
            self._end(exc)
            return
        try:
            if payload is None:
                self._pump()  # new credit
            elif not self._closing:  # after close() inbound data has no reader any more
                self._inbound.append(payload)
                self._deliver()
        except Exception:  # a bug; raising into aiortc's receive loop would wedge it
            log.exception("direct stream: cannot handle a message")
            self._end(ConnectionResetError("direct stream failed"))

    def _deliver(self) -> None:
        """Hand buffered payloads to the protocol while it reads; credit what it took."""
        while self._inbound and not self._reading_paused and not self._ended:
            payload = self._inbound.popleft()
            self._protocol.data_received(payload)
            credit = self._flow.consumed(len(payload))
            if credit is not None:
                self._send_raw(credit)

    def _pump(self) -> None:
        """Move buffered bytes into the channel while it is below high water and we have
        credit; update the writer's pause state; finish a pending close()."""
        if self._ended:
            return
        channel = self._channel
        while (
            self._send_buffer
            and channel.readyState == "open"
            and channel.bufferedAmount < self._high_water
        ):
            size = self._flow.take(len(self._send_buffer), self._max_payload)
            if size == 0:
                break  # no credit: the peer's reader is behind
            channel.send(b"\x00" + self._send_buffer[:size])
            del self._send_buffer[:size]
        buffered = self.get_write_buffer_size()
        if not self._writing_paused and buffered > self._high_water:
            self._writing_paused = True
            self._protocol.pause_writing()
        elif self._writing_paused and buffered <= self._low_water:
            self._writing_paused = False
            self._protocol.resume_writing()
        if self._closing and not self._send_buffer and not self._channel_close_sent:
            self._channel_close_sent = True
            channel.close()  # aiortc sends queued messages before the stream reset

    def _send_raw(self, message: bytes) -> None:
        if self._channel.readyState == "open":
            self._channel.send(message)

    def _on_channel_closed(self) -> None:
        """Both directions of the channel are reset (by the peer, by our close(), or because
        the association ended): EOF after what the peer sent."""
        if self._ended:
            return
        if not self._closing:
            # Deliver everything even if the reader paused: it is bounded by WINDOW, and the
            # reader must see the EOF behind it rather than wait for bytes that cannot come.
            while self._inbound:
                self._protocol.data_received(self._inbound.popleft())
            with contextlib.suppress(Exception):
                self._protocol.eof_received()
        self._end(None)

    def _end(self, exc: Exception | None) -> None:
        """Stop for good: connection_lost(exc) once, then tell the attempt."""
        if self._ended:
            return
        self._ended = self._closing = True
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._send_buffer.clear()
        self._inbound.clear()
        for event, handler in (
            ("message", self._on_message),
            ("bufferedamountlow", self._pump),
            ("close", self._on_channel_closed),
        ):
            with contextlib.suppress(KeyError):  # aiortc drops all listeners once closed
                self._channel.remove_listener(event, handler)
        self._loop.call_soon(self._protocol.connection_lost, exc)
        self._loop.call_soon(self._on_end)


def open_stream(
    channel: RTCDataChannel,
    *,
    peer_max_message: int,
    tuning: StreamTuning,
    on_end: Callable[[], None],
    early: Iterable[bytes | str] = (),
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Wrap an open, bound channel as a (reader, writer) pair for Link.connect/accept.

    ``early`` holds messages that arrived after the peer's binding message, before this call.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=tuning.max_message, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport = DataChannelTransport(
        channel,
        protocol,
        peer_max_message=peer_max_message,
        tuning=tuning,
        on_end=on_end,
        early=early,
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer
