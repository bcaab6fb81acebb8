"""The direct path: race a WebRTC data channel against Tor and fail over without loss.

:class:`DirectService` sits between :class:`~libra_gui.core.net.peers.PeerLinks` and the real
link sink (messaging, later files)::

    PeerLinks --(Tor links, records)--> DirectService --(the active link)--> sink

It is itself a ``LinkSink``. Tor links come in; DirectHello/Offer/Answer/Decline records are
taken out of their stream (never forwarded); everything else is forwarded. Per contact a pure
:class:`~libra_gui.core.protocol.direct.DirectPath` decides when to offer, answer, give up and
retry; this module only carries out its actions: it builds WebRTC attempts, turns an opened
data channel into an authenticated :class:`~libra_gui.core.net.link.Link` (Noise, bound to the
contact's identity from the Tor link), and tells the sink which link is *active*: the direct
link while it is up, else the Tor link. Every switch is a ``sink.link_up(contact, link)``,
which makes messaging resend everything unacked over the new link (the receiver drops
duplicates by message id), so a path switch loses nothing. ``sink.link_down`` comes only when
no link is left. Records arriving on either link reach ``sink.receive``.

Privacy: with the policy off on either side the attempt factory is never called, so no
aiortc code runs and no UDP socket is opened (aiortc is imported only when a
``DirectAttempt`` is created). Nothing here logs SDP or addresses at INFO.

Rules and wire format: docs/protocol/direct.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..crypto.identity import IdentityKeys, fingerprint
from ..errors import LibraError
from ..events import Event
from ..net.link import Link, LinkConfig
from ..net.peers import LinkSink
from ..net.webrtc.attempt import DirectAttempt, DirectConfig
from ..protocol.direct import (
    AbortAttempt,
    AcceptOffer,
    Action,
    CloseDirect,
    DirectPath,
    PathConfig,
    PathState,
    SendDecline,
    SendHello,
    StartOffer,
    is_offerer,
)
from ..protocol.records import (
    BIND_KEY_LEN,
    DECLINE_BAD_OFFER,
    DECLINE_FAILED,
    DirectAnswer,
    DirectDecline,
    DirectHello,
    DirectOffer,
    LinkRecord,
)
from ..protocol.sdp import BadSdp
from .events import EventBus

log = logging.getLogger(__name__)

SIGNALING = (DirectHello, DirectOffer, DirectAnswer, DirectDecline)


class DirectUnavailable(LibraError):
    """An attempt cannot go on: the Tor link it signals on is gone."""


@dataclass(frozen=True)
class PathChanged(Event):
    """A contact's path state changed (``state``: a PathState value); ``candidate`` is the
    selected ICE candidate type ("host", "srflx", "prflx", "relay") while direct."""

    contact_id: int
    state: str
    candidate: str | None


@dataclass(frozen=True)
class DirectStats:
    """What the CLI/GUI shows about one contact's path."""

    state: PathState
    path: str | None
    """"direct", "tor" or None (no link)."""
    candidate: str | None
    last_failure: str | None
    failures: int
    """Consecutive failures (the back-off grows with them)."""
    attempts: int
    """Attempts made or answered since the service started."""
    peer_allowed: bool | None
    """The contact's last DirectHello on the current Tor link (None: none yet)."""


# --- attempts -------------------------------------------------------------------------------


class Attempt(Protocol):
    """One WebRTC peer connection (``net.webrtc.attempt.DirectAttempt``)."""

    @property
    def selected_candidate_type(self) -> str | None: ...

    async def create_offer(self) -> bytes: ...

    async def create_answer(self, offer_sdp: bytes) -> bytes: ...

    async def accept_answer(self, sdp: bytes) -> None: ...

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]: ...

    async def close(self) -> None: ...


AttemptFactory = Callable[[bool, bytes], Attempt]
"""``factory(offerer, bind_key)`` -> a new attempt; called only when an attempt is made."""


def webrtc_attempts(config: DirectConfig | None = None) -> AttemptFactory:
    """The real factory: aiortc peer connections with exactly ``config.ice_servers`` (none:
    host candidates only, never a public default). aiortc is imported and a UDP socket
    opened only when the factory is called, i.e. when an attempt is really made."""
    config = config or DirectConfig()

    def make(offerer: bool, bind_key: bytes) -> Attempt:
        if offerer:
            return DirectAttempt.offerer(config, bind_key)
        return DirectAttempt.answerer(config, bind_key)

    return make


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectServiceConfig:
    """Path-selection timings plus the direct link's own (seconds)."""

    path: PathConfig = field(default_factory=PathConfig)
    heartbeat_interval: float = 2.0
    dead_after: float = 6.0
    """A silent direct link is dead after this long (5-10 s): then traffic moves to Tor."""
    close_timeout: float = 2.0
    """Bound on closing a link or releasing a peer connection."""

    def link_config(self) -> LinkConfig:
        return LinkConfig(
            handshake_timeout=self.path.attempt_timeout,
            heartbeat_interval=self.heartbeat_interval,
            dead_after=self.dead_after,
            close_timeout=self.close_timeout,
            socket_send_buffer=None,
        )


Policy = Callable[[int], Awaitable[bool]]
"""``allowed(contact_id)``: may we use a direct path with this contact now (our side)?"""


# --- per-contact state ----------------------------------------------------------------------


@dataclass(eq=False)
class _Run:
    """One attempt and, if it succeeded, the direct link it produced."""

    id: bytes
    offerer: bool
    offer: DirectOffer | None = None
    attempt: Attempt | None = None
    link: Link | None = None
    candidate: str | None = None
    answer: asyncio.Future[bytes] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    task: asyncio.Task[None] | None = None
    released: bool = False


@dataclass(eq=False)
class _Contact:
    contact_id: int
    machine: DirectPath
    identity: bytes
    static: bytes
    tor: Link | None = None
    running: _Run | None = None
    direct: _Run | None = None
    active: Link | None = None
    """The link the sink was last given (None: it was told link_down, or nothing yet)."""
    shown: tuple[PathState, str | None] = (PathState.OFFLINE, None)
    attempts: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.Task[None] | None = None


# --- the service ----------------------------------------------------------------------------


class DirectService:
    """Per contact: one Tor link from PeerLinks, at most one direct link, one active."""

    def __init__(
        self,
        keys: IdentityKeys,
        *,
        sink: LinkSink,
        bus: EventBus,
        allowed: Policy,
        attempts: AttemptFactory | None = None,
        config: DirectServiceConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._keys = keys
        self._sink = sink
        self._bus = bus
        self._allowed = allowed
        self.config = config or DirectServiceConfig()
        self._attempts = attempts or webrtc_attempts(
            DirectConfig(connect_timeout=self.config.path.attempt_timeout)
        )
        self._link_config = self.config.link_config()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._contacts: dict[int, _Contact] = {}
        self._direct_links: weakref.WeakSet[Link] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- queries -------------------------------------------------------------------------

    def state(self, contact_id: int) -> PathState:
        c = self._contacts.get(contact_id)
        return PathState.OFFLINE if c is None else c.machine.state

    def active_link(self, contact_id: int) -> Link | None:
        """The link traffic to the contact uses now (direct or Tor), if any."""
        c = self._contacts.get(contact_id)
        return None if c is None else c.active

    def is_direct(self, link: Link) -> bool:
        """True for a direct (WebRTC) link made here, also after it closed."""
        return link in self._direct_links

    def stats(self, contact_id: int) -> DirectStats:
        c = self._contacts.get(contact_id)
        if c is None:
            return DirectStats(PathState.OFFLINE, None, None, None, 0, 0, None)
        state = c.machine.state
        direct = c.direct is not None and c.active is c.direct.link
        return DirectStats(
            state=state,
            path="direct" if direct else "tor" if c.active is not None else None,
            candidate=c.direct.candidate if c.direct is not None else None,
            last_failure=c.machine.last_failure,
            failures=c.machine.failures,
            attempts=c.attempts,
            peer_allowed=c.machine.peer_allowed,
        )

    # -- LinkSink: what PeerLinks tells us about Tor links -------------------------------

    async def link_up(self, contact_id: int, link: Link) -> None:
        """A Tor link is up: say hello, and make it active unless direct is."""
        if self._closing:
            await self._sink.link_up(contact_id, link)
            return
        allowed = await self._policy(contact_id)
        c = self._contact(contact_id, link)
        async with c.lock:
            if c.identity != link.peer_identity:  # the contact's keys changed: start afresh
                await self._apply(c, c.machine.on_policy(False, self._clock()))
                c.machine = self._new_machine(link.peer_identity)
                c.identity = link.peer_identity
            c.static = link.peer_static
            c.tor = link
            await self._apply(c, c.machine.on_tor_up(self._clock(), allowed))

    async def link_down(self, contact_id: int, link: Link | None = None) -> None:
        """A Tor link is gone; the direct link (if any) carries on alone."""
        c = self._contacts.get(contact_id)
        if c is None:
            await self._sink.link_down(contact_id, link)
            return
        async with c.lock:
            if link is not None and c.tor is not link:
                return  # an older, replaced Tor link
            c.tor = None
            if self._closing:
                await self._sync(c)
                return
            await self._apply(c, c.machine.on_tor_down(self._clock()))

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        """Records from a Tor link: signaling is ours, the rest goes to the sink."""
        signaling = [r for r in records if isinstance(r, SIGNALING)]
        rest = [r for r in records if not isinstance(r, SIGNALING)]
        if signaling:
            await self._on_signaling(contact_id, signaling)
        if rest:
            await self._sink.receive(contact_id, rest)

    # -- policy and shutdown -------------------------------------------------------------

    async def policy_changed(self, contact_id: int | None = None) -> None:
        """Re-evaluate our policy for one contact (None: all of them); the peer hears of a
        change at once, and "off" tears down any attempt or direct link at once."""
        targets = [
            c for c in self._contacts.values() if contact_id is None or c.contact_id == contact_id
        ]
        for c in targets:
            allowed = await self._policy(c.contact_id)
            async with c.lock:
                if not self._closing:
                    await self._apply(c, c.machine.on_policy(allowed, self._clock()))

    async def close(self) -> None:
        """Stop attempts and close direct links; traffic stays on Tor (PeerLinks is closed
        by its owner). Later link events are passed straight through to the sink."""
        for c in list(self._contacts.values()):
            async with c.lock:
                if c.timer is not None:
                    c.timer.cancel()
                # as if turned off: the peer hears it, the attempt stops, direct closes
                await self._apply(c, c.machine.on_policy(False, self._clock()))
        self._closing = True
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- driving the machine -------------------------------------------------------------

    async def _apply(
        self, c: _Contact, actions: list[Action], offer: DirectOffer | None = None
    ) -> None:
        """Carry out the machine's actions (under ``c.lock``), then sync the sink.

        ``offer``: the peer's DirectOffer the actions answer (for AcceptOffer).
        """
        for action in actions:
            if isinstance(action, SendHello):
                self._signal(c, DirectHello(allowed=action.allowed))
            elif isinstance(action, SendDecline):
                self._signal(c, DirectDecline(attempt=action.attempt, reason=action.reason))
            elif isinstance(action, StartOffer):
                self._start(c, _Run(action.attempt, offerer=True))
            elif isinstance(action, AcceptOffer):
                assert offer is not None and offer.attempt == action.attempt
                self._start(c, _Run(action.attempt, offerer=False, offer=offer))
            elif isinstance(action, AbortAttempt):
                run = c.running
                if run is not None and run.id == action.attempt:
                    c.running = None
                    if run.task is not None:
                        run.task.cancel()  # its cleanup releases the peer connection
            elif isinstance(action, CloseDirect):
                run = c.direct
                if run is not None and run.id == action.attempt:
                    c.direct = None
                    log.info("contact %d: closing the direct link: %s", c.contact_id, action.reason)
                    self._spawn(self._close_run(run, action.reason))
        await self._sync(c)

    async def _sync(self, c: _Contact) -> None:
        """Give the sink the link that should be active; publish the state if it changed."""
        state = c.machine.state
        direct = c.direct.link if c.direct is not None else None
        want = direct if state is PathState.DIRECT and direct is not None else c.tor
        if want is not c.active:
            old, c.active = c.active, want
            try:
                if want is None:
                    await self._sink.link_down(c.contact_id, old)
                else:
                    await self._sink.link_up(c.contact_id, want)
            except Exception:
                log.exception("the link sink failed for contact %d", c.contact_id)
        shown = (state, c.direct.candidate if state is PathState.DIRECT and c.direct else None)
        if shown != c.shown:
            c.shown = shown
            log.info("contact %d: path %s", c.contact_id, state.value)
            self._bus.publish(PathChanged(c.contact_id, state.value, shown[1]))
        c.wake.set()

    def _signal(self, c: _Contact, record: LinkRecord) -> None:
        if c.tor is not None and not c.tor.is_closed:
            c.tor.send([record])

    async def _on_signaling(self, contact_id: int, records: list[LinkRecord]) -> None:
        c = self._contacts.get(contact_id)
        if c is None or self._closing:
            return
        async with c.lock:
            for record in records:
                now = self._clock()
                if isinstance(record, DirectHello):
                    await self._apply(c, c.machine.on_hello(record.allowed, now))
                elif isinstance(record, DirectOffer):
                    await self._apply(c, c.machine.on_offer(record.attempt, now), record)
                elif isinstance(record, DirectAnswer):
                    run = c.running
                    if run is not None and run.offerer and run.id == record.attempt:
                        if not run.answer.done():
                            run.answer.set_result(record.sdp)
                    else:
                        log.debug("contact %d: an answer for no attempt of ours", contact_id)
                elif isinstance(record, DirectDecline):
                    await self._apply(c, c.machine.on_decline(record.attempt, record.reason, now))

    # -- attempts ------------------------------------------------------------------------

    def _start(self, c: _Contact, run: _Run) -> None:
        c.running = run
        c.attempts += 1
        run.task = self._spawn(self._run_attempt(c, run))

    async def _run_attempt(self, c: _Contact, run: _Run) -> None:
        """Make the attempt; on success hand the link to the machine, on failure report.

        Whatever happens (failure, abort, shutdown), a peer connection that did not become
        the contact's direct link is released.
        """
        link: Link | None = None
        try:
            try:
                link = await self._connect(c, run)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = _describe(exc)
                log.info("contact %d: direct attempt failed: %s", c.contact_id, reason)
                log.debug("direct attempt failure", exc_info=True)
                bad_offer = isinstance(exc, BadSdp) and not run.offerer
                code = DECLINE_BAD_OFFER if bad_offer else DECLINE_FAILED
                async with c.lock:
                    if c.running is run:
                        c.running = None
                    actions = c.machine.on_attempt_failed(run.id, self._clock(), reason, code)
                    await self._apply(c, actions)
                return
            run.candidate = _candidate(run.attempt)
            async with c.lock:
                actions = c.machine.on_attempt_succeeded(run.id, self._clock())
                if c.machine.direct == run.id:
                    c.running = None
                    c.direct, run.link = run, link
                    self._direct_links.add(link)
                    log.info(
                        "contact %d: direct link up (%s candidate)", c.contact_id, run.candidate
                    )
                    link.deliver_to(functools.partial(self._on_direct_records, c))
                    self._spawn(self._watch_direct(c, run))
                await self._apply(c, actions)
        finally:
            if c.direct is not run:
                if link is not None:
                    link.abort()
                self._spawn(self._release(run))

    async def _connect(self, c: _Contact, run: _Run) -> Link:
        """Offer or answer, open the data channel, run the link handshake over it."""
        identity, static = c.identity, c.static
        if run.offerer:
            bind_key = secrets.token_bytes(BIND_KEY_LEN)
            run.attempt = attempt = self._attempts(True, bind_key)
            sdp = await attempt.create_offer()
            self._require_tor(c).send([DirectOffer(attempt=run.id, sdp=sdp, bind_key=bind_key)])
            await attempt.accept_answer(await run.answer)
        else:
            assert run.offer is not None
            run.attempt = attempt = self._attempts(False, run.offer.bind_key)
            answer = await attempt.create_answer(run.offer.sdp)
            self._require_tor(c).send([DirectAnswer(attempt=run.id, sdp=answer)])
        reader, writer, context = await attempt.open()
        if run.offerer:
            return await Link.connect(
                reader,
                writer,
                self._keys,
                expected_identity=identity,
                remote_static=static,
                context=context,
                config=self._link_config,
            )
        return await Link.accept(
            reader,
            writer,
            self._keys,
            accept_peer=lambda peer: peer == identity,
            context=context,
            config=self._link_config,
        )

    @staticmethod
    def _require_tor(c: _Contact) -> Link:
        if c.tor is None or c.tor.is_closed:
            raise DirectUnavailable("no Tor link to signal on")
        return c.tor

    async def _on_direct_records(self, c: _Contact, records: list[LinkRecord]) -> None:
        """Records from the direct link: signaling belongs on Tor, the rest to the sink."""
        rest = [r for r in records if not isinstance(r, SIGNALING)]
        if len(rest) != len(records):
            log.debug("contact %d: signaling on the direct link ignored", c.contact_id)
        if rest:
            await self._sink.receive(c.contact_id, rest)

    async def _watch_direct(self, c: _Contact, run: _Run) -> None:
        """When the direct link closes: release its peer connection, tell the machine."""
        assert run.link is not None
        await run.link.closed.wait()
        error = run.link.error
        reason = _describe(error) if error is not None else run.link.close_reason or "closed"
        self._spawn(self._release(run))
        async with c.lock:
            if c.direct is run:
                c.direct = None
                log.info("contact %d: direct link down: %s", c.contact_id, reason)
            if self._closing:
                await self._sync(c)
                return
            await self._apply(c, c.machine.on_direct_down(run.id, self._clock(), reason))

    async def _close_run(self, run: _Run, reason: str) -> None:
        if run.link is not None:
            await run.link.close(reason[:200])
        await self._release(run)

    async def _release(self, run: _Run) -> None:
        """Close the peer connection (bounded; once)."""
        if run.released or run.attempt is None:
            return
        run.released = True
        try:
            async with asyncio.timeout(self.config.close_timeout):
                await run.attempt.close()
        except Exception as exc:
            log.info("closing a peer connection failed: %s", type(exc).__name__)

    # -- plumbing ------------------------------------------------------------------------

    def _new_machine(self, identity: bytes) -> DirectPath:
        return DirectPath(
            offerer=is_offerer(self._keys.fingerprint, fingerprint(identity)),
            config=self.config.path,
            rng=self._rng,
        )

    def _contact(self, contact_id: int, link: Link) -> _Contact:
        c = self._contacts.get(contact_id)
        if c is None:
            c = _Contact(
                contact_id,
                self._new_machine(link.peer_identity),
                identity=link.peer_identity,
                static=link.peer_static,
            )
            self._contacts[contact_id] = c
            c.timer = self._spawn(self._timer(c))
        return c

    async def _policy(self, contact_id: int) -> bool:
        try:
            return bool(await self._allowed(contact_id))
        except Exception:
            log.exception("direct policy check failed for contact %d: treated as off", contact_id)
            return False

    async def _timer(self, c: _Contact) -> None:
        """Feed the machine a tick at each of its deadlines (woken when they change)."""
        while True:
            c.wake.clear()
            deadline = c.machine.next_deadline
            if deadline is None:
                await c.wake.wait()
                continue
            delay = deadline - self._clock()
            if delay > 0:
                await self._sleep_or_wake(c.wake, delay)
                continue
            async with c.lock:
                if self._closing:
                    return
                await self._apply(c, c.machine.on_tick(self._clock()))

    async def _sleep_or_wake(self, wake: asyncio.Event, delay: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, waker):
                fut.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(_logged(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _logged(coro: Coroutine[Any, Any, None]) -> None:
    """No exception escapes a background task: a bug is logged, never lost."""
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("direct path task failed")


def _candidate(attempt: Attempt | None) -> str | None:
    with contextlib.suppress(Exception):
        return None if attempt is None else attempt.selected_candidate_type
    return None


def _describe(exc: BaseException) -> str:
    """A failure for logs and stats: our typed errors say what happened (they carry no
    addresses); anything else only by its type."""
    if isinstance(exc, LibraError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__
