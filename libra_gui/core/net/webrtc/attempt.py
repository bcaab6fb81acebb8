"""One direct-connection attempt: one aiortc peer connection, one pre-negotiated data
channel, the channel binding, then a byte stream for the Link (docs/protocol/direct-channel.md).

The direct service (services/direct.py) carries the SDP inside the authenticated Tor link and
decides when to try; this module only does WebRTC, with these rules:

* explicit ICE servers, always: aiortc falls back to a public STUN server when given None;
  an empty list means host candidates only;
* a peer's SDP passes :func:`~...protocol.sdp.check_sdp` before aiortc parses it, and ours
  is sent with its sha-256 fingerprint only;
* one deadline, ``connect_timeout`` from creation, covers gathering, ICE, DTLS, SCTP and the
  binding; an attempt is never reused (aiortc has no ICE restart): a retry is a new attempt;
* every failure is :class:`DirectFailed` (or :class:`BadSdp` for a refused SDP), and the
  peer connection is closed with it, so no socket outlives a failed attempt.

aiortc is imported on first use (it costs ~0.2 s and is only needed when direct connections
are allowed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ...errors import LibraError
from ...protocol.records import BIND_KEY_LEN
from ...protocol.sdp import (
    BadSdp,
    SdpInfo,
    binding_context,
    binding_mac,
    check_sdp,
    keep_sha256_fingerprint,
)
from .transport import WINDOW, DataChannelTransport, StreamTuning, open_stream

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

log = logging.getLogger(__name__)

Role = Literal["offerer", "answerer"]

CHANNEL_LABEL = "libra"
CHANNEL_ID = 0
BINDING_LEN = 32
MAX_EARLY_BYTES = 2 * WINDOW
"""Bound on what the peer may send between its binding message and our check of it."""

_ICE_URL = re.compile(r"(stun|turn|turns):[^\s?]{1,253}(\?transport=(udp|tcp))?")


def _quiet_address_logs() -> None:
    """aioice logs candidate pairs (IP addresses) at INFO and aiortc whole SDPs at DEBUG;
    addresses are sensitive, so both libraries log only warnings and errors."""
    for name in ("aioice", "aiortc"):
        logging.getLogger(name).setLevel(logging.WARNING)


class DirectFailed(LibraError):
    """No direct stream: ICE/DTLS failed, the deadline passed, the binding did not match, or
    the attempt was closed. The attempt is closed; try again with a new one (or stay on Tor)."""


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server the user configured ("stun:host:port", "turn:host:port").

    aiortc uses at most one STUN and one TURN server (the first of each). A hostname here is
    resolved by the system resolver, outside Tor.
    """

    url: str
    username: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        if not _ICE_URL.fullmatch(self.url):
            raise ValueError("ICE server URL must look like stun:host:port or turn:host:port")


@dataclass(frozen=True)
class DirectConfig:
    """Servers, deadline and stream tuning of direct attempts."""

    ice_servers: tuple[IceServer, ...] = ()
    """None by default: host candidates only (works on a LAN or with open ports)."""
    connect_timeout: float = 10.0
    """Seconds from creating an attempt to a bound, open channel (design.md §6: 5-10 s)."""
    stream: StreamTuning = field(default_factory=StreamTuning)

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")


class DirectAttempt:
    """One RTCPeerConnection for one attempt; never reused (aiortc has no ICE restart).

    Offerer: :meth:`create_offer`, send it, :meth:`accept_answer` when the answer comes,
    :meth:`open`. Answerer: :meth:`create_answer` from the offer, send it, :meth:`open`.
    :meth:`open` may run concurrently with the signaling. Create it inside the event loop.
    """

    def __init__(self, config: DirectConfig, bind_key: bytes, role: Role) -> None:
        if type(bind_key) is not bytes or len(bind_key) != BIND_KEY_LEN:
            raise ValueError(f"bind_key must be {BIND_KEY_LEN} bytes")
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        _quiet_address_logs()
        self.config = config
        self.role: Role = role
        self.tag = secrets.token_hex(2)
        """Short random label for logs."""
        self._bind_key = bind_key
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + config.connect_timeout
        servers = [
            RTCIceServer(urls=s.url, username=s.username, credential=s.credential)
            for s in config.ice_servers
        ]
        # Never None: aiortc would then use stun.l.google.com.
        self._pc: RTCPeerConnection = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self._channel = self._pc.createDataChannel(
            CHANNEL_LABEL, negotiated=True, id=CHANNEL_ID, ordered=True
        )
        self._local: SdpInfo | None = None
        self._remote: SdpInfo | None = None
        self._step = "new"  # offer/answer progress, for misuse checks
        self._opening = False
        self._peer_binding: bytes | None = None
        self._early: list[bytes | str] = []
        self._early_bytes = 0
        self._transport: DataChannelTransport | None = None
        self._failure: DirectFailed | None = None
        self._changed = asyncio.Event()
        self._candidate_type: str | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._channel.on("open", self._changed.set)
        self._channel.on("message", self._on_early_message)
        self._channel.on("close", self._on_early_close)
        self._pc.on("connectionstatechange", self._on_connection_state)

    @classmethod
    def offerer(cls, config: DirectConfig, bind_key: bytes) -> DirectAttempt:
        return cls(config, bind_key, "offerer")

    @classmethod
    def answerer(cls, config: DirectConfig, bind_key: bytes) -> DirectAttempt:
        return cls(config, bind_key, "answerer")

    # -- signaling -------------------------------------------------------------------------

    async def create_offer(self) -> bytes:
        """Offerer: our SDP after gathering every candidate (no trickle)."""
        self._advance("offerer", "new", "offered")
        async with self._guard("creating the offer"):
            await self._pc.setLocalDescription(await self._pc.createOffer())
            return self._local_sdp()

    async def create_answer(self, offer_sdp: bytes) -> bytes:
        """Answerer: check the peer's offer (BadSdp), apply it, return our answer."""
        self._advance("answerer", "new", "answered")
        async with self._guard("answering"):
            self._remote = await self._apply_remote(offer_sdp, "offer")
            await self._pc.setLocalDescription(await self._pc.createAnswer())
            return self._local_sdp()

    async def accept_answer(self, answer_sdp: bytes) -> None:
        """Offerer: check the peer's answer (BadSdp) and apply it; ICE starts."""
        self._advance("offerer", "offered", "answered")
        async with self._guard("applying the answer"):
            self._remote = await self._apply_remote(answer_sdp, "answer")

    # -- the channel -----------------------------------------------------------------------

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        """Wait for the channel, run the binding, return (reader, writer, handshake context).

        Both sides send ``binding_mac(bind_key, own role, offer_fp, answer_fp)`` as their
        first message and check the peer's. Raises DirectFailed (attempt closed) on a
        mismatch, ICE/DTLS failure, close, or when ``connect_timeout`` since creation passed.
        """
        if self._opening:
            raise RuntimeError("open() called twice")
        self._opening = True
        async with self._guard("connecting"):
            await self._wait_for(
                lambda: (
                    self._channel.readyState == "open"
                    and self._local is not None
                    and self._remote is not None
                )
            )
            assert self._local is not None and self._remote is not None
            offer, answer = (
                (self._local, self._remote)
                if self.role == "offerer"
                else (self._remote, self._local)
            )
            peer_role = "answerer" if self.role == "offerer" else "offerer"
            mac = binding_mac(self._bind_key, self.role, offer.fingerprint, answer.fingerprint)
            expected = binding_mac(self._bind_key, peer_role, offer.fingerprint, answer.fingerprint)
            self._channel.send(mac)
            await self._wait_for(lambda: self._peer_binding is not None)
            assert self._peer_binding is not None
            if not hmac.compare_digest(self._peer_binding, expected):
                raise DirectFailed("the peer failed the channel binding")
            self._candidate_type = self.selected_candidate_type
            self._channel.remove_listener("message", self._on_early_message)
            self._channel.remove_listener("close", self._on_early_close)
            reader, writer = open_stream(
                self._channel,
                peer_max_message=self._remote.max_message_size,
                tuning=self.config.stream,
                on_end=self._begin_close,
                early=self._early,
            )
            self._transport = writer.transport  # type: ignore[assignment]
            self._early = []
            log.info(
                "direct %s: channel bound (%s, local candidate %s)",
                self.tag,
                self.role,
                self._candidate_type or "unknown",
            )
            return reader, writer, binding_context(offer.fingerprint, answer.fingerprint)

    @property
    def selected_candidate_type(self) -> str | None:
        """How the selected ICE pair reaches the peer: "relay" if either side is a TURN
        relay, else the peer's candidate type — "host" (same network or an open address),
        "srflx"/"prflx" (through the peer's NAT). Our own side is no help: aioice pairs
        the base of a server-reflexive candidate, so it always says "host". None before
        ICE chose a pair. aiortc has no public accessor: this reads aioice's state."""
        try:
            sctp = self._pc.sctp
            connection = sctp.transport.transport._connection  # type: ignore[union-attr]
            pair = connection._nominated.get(1)
            if pair is None:
                return self._candidate_type
            types = {str(pair.local_candidate.type), str(pair.remote_candidate.type)}
            return "relay" if "relay" in types else str(pair.remote_candidate.type)
        except AttributeError:
            return self._candidate_type

    @property
    def closed(self) -> bool:
        return self._close_task is not None

    async def close(self) -> None:
        """Close the peer connection (and the stream, if open). Idempotent; when it returns,
        no UDP socket of this attempt remains."""
        self._begin_close()
        assert self._close_task is not None
        await asyncio.shield(self._close_task)

    # -- internals -------------------------------------------------------------------------

    def _advance(self, role: Role, before: str, after: str) -> None:
        if self.role != role or self._step != before:
            raise RuntimeError(f"{self.role}: wrong call in state {self._step!r}")
        self._step = after

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        """The attempt's deadline and error mapping: any failure closes the attempt and ends
        as DirectFailed (BadSdp stays BadSdp: the peer sent something we refuse)."""
        if self._failure is not None:
            raise self._failure
        try:
            async with asyncio.timeout_at(self._deadline):
                yield
        except BadSdp as exc:
            log.info("direct %s: refused the peer's SDP: %s", self.tag, exc)
            await self.close()
            raise
        except DirectFailed as exc:
            log.info("direct %s: failed while %s: %s", self.tag, what, exc)
            await self.close()
            raise
        except TimeoutError:
            error = DirectFailed(
                f"no direct connection within {self.config.connect_timeout:g} s ({what})"
            )
            log.info("direct %s: %s", self.tag, error)
            await self.close()
            raise error from None
        except asyncio.CancelledError:
            self._begin_close()
            raise
        except Exception as exc:  # aiortc/aioice errors: OSError, InvalidStateError, ...
            log.info("direct %s: failed while %s: %s", self.tag, what, type(exc).__name__)
            await self.close()
            raise DirectFailed(f"direct connection failed while {what}") from exc

    async def _wait_for(self, condition: Callable[[], bool]) -> None:
        while not condition():
            if self._failure is not None:
                raise self._failure
            self._changed.clear()
            await self._changed.wait()

    async def _apply_remote(self, sdp: bytes, kind: Literal["offer", "answer"]) -> SdpInfo:
        from aiortc import RTCSessionDescription

        info = check_sdp(sdp)
        if kind == "offer" and info.setup != "actpass":
            raise BadSdp("an offer must say a=setup:actpass")
        if kind == "answer" and info.setup == "actpass":
            raise BadSdp("an answer must say a=setup:active or passive")
        log.debug("direct %s: peer candidate types %s", self.tag, ",".join(info.candidate_types))
        try:
            await self._pc.setRemoteDescription(
                RTCSessionDescription(sdp=sdp.decode("ascii"), type=kind)
            )
        except (ValueError, AssertionError, KeyError, IndexError, StopIteration) as exc:
            # check_sdp's grammar should leave aiortc nothing to trip over; if it still does
            # (e.g. an answer whose mid differs from our offer's), it is the peer's SDP.
            raise BadSdp(f"aiortc refused the SDP ({type(exc).__name__})") from None
        return info

    def _local_sdp(self) -> bytes:
        description = self._pc.localDescription
        sdp = keep_sha256_fingerprint(description.sdp).encode("ascii")
        try:
            self._local = check_sdp(sdp)
        except BadSdp as exc:  # e.g. more than 32 local addresses: the peer would refuse it
            raise DirectFailed(f"our own SDP breaks the rules: {exc}") from None
        log.debug(
            "direct %s: local candidate types %s", self.tag, ",".join(self._local.candidate_types)
        )
        return sdp

    def _on_early_message(self, message: Any) -> None:
        """Before the stream exists: the peer's binding, then whatever follows it."""
        if self._peer_binding is None:
            ok = isinstance(message, bytes) and len(message) == BINDING_LEN
            self._peer_binding = message if ok else b""
            self._changed.set()
            return
        self._early.append(message)
        self._early_bytes += len(message)
        if self._early_bytes > MAX_EARLY_BYTES:
            self._fail(DirectFailed("the peer sent too much before the binding completed"))

    def _on_early_close(self) -> None:
        self._fail(DirectFailed("the data channel closed before it was bound"))

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        log.debug("direct %s: connection %s", self.tag, state)
        if state == "failed":
            if self._transport is not None:
                self._transport.connection_failed()
            self._fail(DirectFailed("ICE or DTLS failed"))
        elif state == "closed" and self._transport is None:
            self._fail(DirectFailed("the peer connection closed"))

    def _fail(self, error: DirectFailed) -> None:
        if self._failure is None:
            self._failure = error
        self._changed.set()
        if self._transport is None:  # with a stream, the stream's end closes the attempt
            self._begin_close()

    def _begin_close(self) -> None:
        if self._close_task is None:
            self._close_task = self._loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        if self._failure is None:
            self._failure = DirectFailed("the attempt was closed")
        self._changed.set()
        if self._transport is not None:
            self._transport.abort()
        try:
            await self._pc.close()
        except Exception:  # closing must not fail; aiortc's teardown is best effort
            log.debug("direct %s: error while closing", self.tag, exc_info=True)
        # aioice closed its datagram transports; their sockets close in callbacks already
        # scheduled, which run before this task resumes.
        await asyncio.sleep(0)
