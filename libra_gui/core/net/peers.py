"""One live link per contact: dialling with back-off, accepting, duplicate resolution.

Independent of Tor: streams come from a ``dial(peer)`` coroutine (a SOCKS connection to the
contact's onion service today) and from :meth:`PeerLinks.handle_inbound` (our onion
service's connections, or ``asyncio.start_server`` in tests). Policy stays outside: who is a
contact (``contact_for``) and what to do with records and link changes (the ``sink``, e.g.
:class:`~libra_gui.core.services.messaging.MessagingService`).

Rules (precise version in docs/protocol/link.md):

* while a contact we dial has no link, we dial: first at once, then with exponential back-off
  and jitter; a link that lived ``stable_after`` resets the back-off; :meth:`kick` retries now
  (e.g. after Tor restarted);
* IK when we know the contact's static key; if the stream ends (or times out) before IK
  message 2, one immediate XX retry (handshake.md §8);
* two links with the same contact: keep the one whose initiator has the lower identity
  fingerprint (if both were opened by the same side, the newer). Both sides apply the same
  rule to the same pair, so simultaneous dials converge on one link, and the loser is closed
  with ``Close("duplicate link")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..crypto.identity import IdentityKeys, fingerprint
from ..errors import LibraError
from ..protocol.backoff import Backoff
from ..protocol.records import LinkRecord
from .link import HandshakeAborted, HandshakeTimeout, Link, LinkConfig

log = logging.getLogger(__name__)

DUPLICATE = "duplicate link"


@dataclass(frozen=True)
class PeerInfo:
    """How to reach and authenticate one contact."""

    contact_id: int
    identity: bytes
    """Ed25519 identity key the handshake must prove (``expected_identity``)."""
    static_key: bytes | None = None
    """X25519 static key from the contact's card, for IK (None: XX)."""
    context: bytes = b""
    """Handshake context; on Tor ``b"onion:" + their onion address`` (handshake.md §4)."""


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Dialer = Callable[[PeerInfo], Awaitable[Stream]]
Sleep = Callable[[float], Awaitable[None]]


class LinkSink(Protocol):
    """Where link events go; ``MessagingService`` has exactly this shape."""

    async def link_up(self, contact_id: int, link: Link) -> None: ...

    async def link_down(self, contact_id: int, link: Link | None = None) -> None: ...

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None: ...


@dataclass(frozen=True)
class PeerConfig:
    backoff: Backoff = field(default_factory=Backoff)
    dial_timeout: float = 120.0
    """For ``dial()`` alone (a Tor circuit to an onion service can take a minute)."""
    stable_after: float = 30.0
    """A link that lived this long resets the back-off when it ends."""
    max_pending_handshakes: int = 16
    """Inbound streams still in the handshake; more are cut at once (handshake.md §7)."""
    link: LinkConfig = field(default_factory=LinkConfig)


@dataclass
class _Contact:
    """Per-contact state; every change of ``current`` happens under ``lock``."""

    contact_id: int
    info: PeerInfo | None = None  # None: we do not dial, only accept
    current: Link | None = None
    up_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    no_link: asyncio.Event = field(default_factory=asyncio.Event)
    kick: asyncio.Event = field(default_factory=asyncio.Event)
    reset_backoff: bool = False
    dialer: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.no_link.set()


class PeerLinks:
    """Keep one authenticated link per contact and report it to ``sink``."""

    def __init__(
        self,
        keys: IdentityKeys,
        *,
        sink: LinkSink,
        contact_for: Callable[[bytes], int | None],
        dial: Dialer | None = None,
        accept_context: bytes = b"",
        card: bytes | None = None,
        config: PeerConfig | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        on_peer_static: Callable[[int, bytes], None] | None = None,
    ) -> None:
        """``contact_for(identity)`` -> contact id or None (not accepted).

        ``on_peer_static(contact_id, key)`` reports a peer's static key that differs from
        what we knew (first contact over XX, or a rotation), so the caller can store it.
        """
        self._keys = keys
        self._fingerprint = keys.fingerprint
        self._sink = sink
        self._contact_for = contact_for
        self._dial = dial
        self._accept_context = accept_context
        self._card = card
        self.config = config or PeerConfig()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._on_peer_static = on_peer_static
        self._contacts: dict[int, _Contact] = {}
        self._statics: dict[int, bytes] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handshakes: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._closing = False

    # -- public API ----------------------------------------------------------------------

    def add(self, peer: PeerInfo) -> None:
        """Keep a link to this contact (dial whenever there is none). Updates ``peer``."""
        state = self._contact(peer.contact_id)
        state.info = peer
        if self._dial is not None and state.dialer is None and not self._closing:
            state.dialer = asyncio.get_running_loop().create_task(self._dial_loop(state))

    async def remove(self, contact_id: int) -> None:
        """Stop dialling the contact and close its link (whether it may still connect to us
        is up to ``contact_for``)."""
        state = self._contacts.get(contact_id)
        if state is None:
            return
        state.info = None
        if state.dialer is not None:
            state.dialer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.dialer
            state.dialer = None
        link = state.current
        if link is not None:
            await link.close("contact removed")

    def kick(self, contact_id: int | None = None) -> None:
        """Retry now (all contacts if None), forgetting the back-off: the network is back."""
        for state in self._contacts.values():
            if contact_id is None or state.contact_id == contact_id:
                state.reset_backoff = True
                state.kick.set()

    def link(self, contact_id: int) -> Link | None:
        """The contact's current link, if any."""
        state = self._contacts.get(contact_id)
        return None if state is None else state.current

    def links(self) -> dict[int, Link]:
        return {c: s.current for c, s in self._contacts.items() if s.current is not None}

    async def handle_inbound(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one inbound stream (usable as an ``asyncio.start_server`` callback).

        Never raises: failures are logged and the stream closed.
        """
        if self._closing or len(self._handshakes) >= self.config.max_pending_handshakes:
            with contextlib.suppress(Exception):
                writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handshakes[task] = writer
        try:
            link = await Link.accept(
                reader,
                writer,
                self._keys,
                accept_peer=lambda identity: self._contact_for(identity) is not None,
                context=self._accept_context,
                card=self._card,
                config=self.config.link,
            )
        except LibraError as exc:
            log.info("inbound link failed: %s: %s", type(exc).__name__, exc)
            return
        except Exception:
            log.exception("inbound link failed")
            with contextlib.suppress(Exception):
                writer.transport.abort()
            return
        finally:
            self._handshakes.pop(task, None)
        contact_id = self._contact_for(link.peer_identity)
        if contact_id is None:  # removed while we were confirming the link
            await link.close()
            return
        await self._register(contact_id, link)

    async def close(self) -> None:
        """Stop dialling and accepting; close every link politely (bounded by close_timeout)."""
        self._closing = True
        dialers = [s.dialer for s in self._contacts.values() if s.dialer is not None]
        for task in dialers:
            task.cancel()
        for task in dialers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Inbound handshakes run in the listener's tasks: cut their streams (they then end
        # with HandshakeAborted) rather than cancel tasks that are not ours.
        pending = list(self._handshakes.items())
        for _task, writer in pending:
            with contextlib.suppress(Exception):
                writer.transport.abort()
        if pending:
            await asyncio.wait(
                [task for task, _ in pending], timeout=self.config.link.close_timeout
            )
        links = [s.current for s in self._contacts.values() if s.current is not None]
        await asyncio.gather(*(link.close("shutting down") for link in links))
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for link in links:
            await link.wait_closed()

    # -- links ---------------------------------------------------------------------------

    def _contact(self, contact_id: int) -> _Contact:
        state = self._contacts.get(contact_id)
        if state is None:
            state = self._contacts[contact_id] = _Contact(contact_id)
        return state

    def _initiator_fingerprint(self, link: Link) -> bytes:
        return self._fingerprint if link.initiator else fingerprint(link.peer_identity)

    def _prefer(self, new: Link, current: Link) -> bool:
        """True if ``new`` should replace ``current`` (the same answer on both peers)."""
        a, b = self._initiator_fingerprint(new), self._initiator_fingerprint(current)
        if a != b:
            return a < b
        return True  # the same side opened both: it only does so once the old one died

    async def _register(self, contact_id: int, link: Link) -> None:
        """Make ``link`` the contact's link unless the current one wins; tell the sink."""
        state = self._contact(contact_id)
        try:
            async with state.lock:
                current = state.current
                if self._closing or link.is_closed:
                    self._spawn(link.close("shutting down"))
                    return
                if (
                    current is not None
                    and not current.is_closed
                    and not self._prefer(link, current)
                ):
                    log.info("link %s: keeping %s, closing the duplicate", link.tag, current.tag)
                    self._spawn(link.close(DUPLICATE))
                    return
                state.current = link
                state.up_at = asyncio.get_running_loop().time()
                state.no_link.clear()
                self._spawn(self._watch(state, link))
                if current is not None:
                    log.info("link %s replaces %s", link.tag, current.tag)
                    self._spawn(current.close(DUPLICATE))
                self._learn_static(contact_id, link.peer_static)
                try:
                    await self._sink.link_up(contact_id, link)
                except Exception:
                    log.exception("link_up failed for contact %d", contact_id)
                link.deliver_to(functools.partial(self._sink.receive, contact_id))
        except asyncio.CancelledError:
            link.abort()  # never leave a link running that nobody tracks
            raise

    async def _watch(self, state: _Contact, link: Link) -> None:
        """When the link closes: forget it, tell the sink, let the dialer run."""
        await link.closed.wait()
        async with state.lock:
            if state.current is link:
                state.current = None
                lived = asyncio.get_running_loop().time() - state.up_at
                if lived >= self.config.stable_after:
                    state.reset_backoff = True
                state.no_link.set()
            try:
                await self._sink.link_down(state.contact_id, link)
            except Exception:
                log.exception("link_down failed for contact %d", state.contact_id)

    def _learn_static(self, contact_id: int, static: bytes) -> None:
        known = self._statics.get(contact_id)
        if known is None:
            state = self._contacts.get(contact_id)
            known = state.info.static_key if state and state.info else None
        self._statics[contact_id] = static
        if static != known and self._on_peer_static is not None:
            try:
                self._on_peer_static(contact_id, static)
            except Exception:
                log.exception("on_peer_static failed")

    # -- dialling ------------------------------------------------------------------------

    async def _dial_loop(self, state: _Contact) -> None:
        """Dial while the contact has no link; back off on attempts that gave no stable link."""
        failures = 0
        while True:
            await state.no_link.wait()
            if state.reset_backoff:
                state.reset_backoff = False
                failures = 0
            delay = self.config.backoff.delay(failures, self._rng.random()) if failures else 0.0
            if delay > 0:
                await self._wait(state, delay)
                if state.reset_backoff:
                    continue  # kicked: recompute (no delay) and dial at once
            state.kick.clear()
            info = state.info
            if info is None:
                return  # removed
            if state.current is not None:
                continue
            failures += 1  # reset only when a link turns out stable
            try:
                link = await self._connect(info)
            except (LibraError, OSError) as exc:
                log.info(
                    "dial contact %d failed (attempt %d): %s: %s",
                    info.contact_id,
                    failures,
                    type(exc).__name__,
                    exc,
                )
                continue
            except Exception:  # a dialer bug must not end the loop for good
                log.exception("dial contact %d failed", info.contact_id)
                continue
            await self._register(info.contact_id, link)

    async def _wait(self, state: _Contact, delay: float) -> None:
        """Sleep ``delay`` (injectable sleep) unless kicked first."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        kicked = asyncio.ensure_future(state.kick.wait())
        try:
            await asyncio.wait({sleeper, kicked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, kicked):
                fut.cancel()
            await asyncio.gather(sleeper, kicked, return_exceptions=True)

    async def _connect(self, info: PeerInfo) -> Link:
        """IK with the best static key we know, one XX retry if IK broke off early."""
        static = self._statics.get(info.contact_id) or info.static_key
        if static is not None:
            try:
                return await self._connect_once(info, static)
            except (HandshakeAborted, HandshakeTimeout) as exc:
                log.info("IK to contact %d failed (%s); retrying with XX", info.contact_id, exc)
        return await self._connect_once(info, None)

    async def _connect_once(self, info: PeerInfo, static: bytes | None) -> Link:
        assert self._dial is not None
        async with asyncio.timeout(self.config.dial_timeout):  # TimeoutError is an OSError
            reader, writer = await self._dial(info)
        return await Link.connect(
            reader,
            writer,
            self._keys,
            expected_identity=info.identity,
            remote_static=static,
            context=info.context,
            card=self._card,
            config=self.config.link,
        )

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
