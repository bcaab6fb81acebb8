"""Messaging: chat items to and from contacts over whatever link each contact has.

An item is a text or a file offer (``FileOffer``; services/files.py moves the file itself):
both are ordered, shown exactly once and kept in history, through the same outbox.

This is the IO driver around the pure pieces: ``protocol.delivery`` decides what to send and
what may be shown, ``crypto.ratchet`` encrypts, ``storage`` makes every step durable. A link is
anything with ``send(records)`` (a Tor stream, a WebRTC channel, an in-memory pipe in tests);
several can come and go per contact, the newest one is used.

Durability rules (each a single store transaction, done *before* the bytes leave or the ack
goes out): an item is in the outbox before ``send_text`` / ``send_item`` returns; the
ratchet step that produced a ciphertext is saved together with that ciphertext; a received
message, the ratchet step that decrypted it and the in-order state are saved together (with
whatever the item's hook writes), then acked. So a crash at any point loses nothing and
never shows a message twice.

Ratchet bootstrap (docs/protocol/delivery.md): the contact with the higher fingerprint offers
a one-time key on every new link while it has no session; the lower one starts an Olm session
with it and sends a ``SessionStart`` pre-key message. A receiver that cannot decrypt an
envelope answers ``Nack``; the sender then re-encrypts that message with its current session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..crypto.ratchet import MessageKind, RatchetMessage, RatchetSession
from ..errors import DecryptionError, LibraError, ProtocolError, SessionError
from ..protocol import delivery
from ..protocol.card import ContactCard
from ..protocol.records import (
    MAX_ACK_IDS,
    Ack,
    ContentRecord,
    Envelope,
    FileOffer,
    LinkRecord,
    Nack,
    OneTimeKey,
    SessionStart,
    TextMessage,
    decode_content,
    encode_content,
)
from ..storage import contacts as contacts_repo
from ..storage import conversations as conversations_repo
from ..storage import messages as messages_repo
from ..storage import outbox as outbox_repo
from ..storage import ratchet as ratchet_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from .events import EventBus, MessageReceived, MessageStateChanged, SessionEstablished
from .profile import Profile

log = logging.getLogger(__name__)

USED_OTKS_KEEP = 32  # one-time keys we already built a session from (stale offers are ignored)


class Link(Protocol):
    """What messaging needs from a link: queue records for the peer, never block."""

    def send(self, records: Sequence[LinkRecord]) -> None: ...


class UnknownContact(LibraError):
    """No contact with that id exists (or it has no usable card)."""


class NotConnected(LibraError):
    """No link or no ratchet session with the contact right now (for unqueued records)."""


ContentHandler = Callable[[int, ContentRecord], Awaitable[None]]
"""Called with (contact_id, record) for registered content types, after they are stored."""

Item = TextMessage | FileOffer
"""Content shown in the chat: ordered, exactly once, one ``messages`` row each."""
ItemBuilder = Callable[[bytes, int, int], Item]
"""(msg_id, seq, sent_at) -> the item to queue (seq is only known inside the transaction)."""
OutgoingItemHook = Callable[[Connection, Item], None]
"""Runs inside the transaction that queues an item we send (e.g. its file transfer row)."""
AfterCommit = Callable[[], Awaitable[None]]
IncomingItemHook = Callable[[Connection, int, Item], AfterCommit | None]
"""Runs with (conn, contact_id, item) inside the transaction that stores a received item, so
whatever it writes exists iff the message does; the returned callable (if any) is awaited
after the commit. It must not raise for anything the peer controls: a raise rolls the batch
back unacked, and the peer would resend it forever."""

_KIND_OF: dict[type[ContentRecord], messages_repo.Kind] = {TextMessage: "text", FileOffer: "file"}


def _shown_body(item: Item) -> str:
    """What the messages row shows: the text, or the file name."""
    return item.body if isinstance(item, TextMessage) else item.name


@dataclass
class _Peer:
    """Everything held in memory for one contact; rebuilt from the store after a restart."""

    contact_id: int
    conversation_id: int
    ratchet_key: bytes
    initiator: bool
    outbound: delivery.Outbound
    inbound: delivery.Inbound
    session: RatchetSession | None
    used_otks: list[bytes]
    link: Link | None = None
    offered_otk: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.TimerHandle | None = None


@dataclass
class _InboundResult:
    """What one batch of received envelopes led to (applied after the transaction)."""

    acks: list[bytes] = field(default_factory=list)
    nacks: list[bytes] = field(default_factory=list)
    shown: list[messages_repo.Message] = field(default_factory=list)
    session_started: bool = False
    need_offer: bool = False
    handled: list[ContentRecord] = field(default_factory=list)
    after: list[AfterCommit] = field(default_factory=list)


def _chunks(items: Sequence[bytes], size: int) -> Iterable[tuple[bytes, ...]]:
    for i in range(0, len(items), size):
        yield tuple(items[i : i + size])


class MessagingService:
    """Send and receive chat messages; publishes MessageReceived / MessageStateChanged."""

    def __init__(
        self,
        profile: Profile,
        bus: EventBus,
        *,
        window: int = delivery.DEFAULT_WINDOW,
        rto: float = delivery.DEFAULT_RTO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._profile = profile
        self._db = profile.db
        self._bus = bus
        self._window = window
        self._rto = rto
        self._clock = clock
        self._peers: dict[int, _Peer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._handlers: dict[type[ContentRecord], ContentHandler] = {}
        self._item_hooks: dict[type[ContentRecord], IncomingItemHook] = {}

    # -- public API --------------------------------------------------------------------------

    async def send_text(self, contact_id: int, body: str) -> bytes:
        """Queue a text message durably and send it as soon as a link allows; return its id."""

        def build(msg_id: bytes, seq: int, sent_at: int) -> Item:
            return TextMessage(msg_id=msg_id, seq=seq, sent_at=sent_at, body=body)

        return await self.send_item(contact_id, build)

    async def send_item(
        self, contact_id: int, build: ItemBuilder, *, on_store: OutgoingItemHook | None = None
    ) -> bytes:
        """Queue a chat item (text or file offer) durably, send it as soon as a link allows,
        and return its id. ``on_store`` joins the transaction that queues it."""
        peer = await self._peer(contact_id)
        msg_id = secrets.token_bytes(16)
        sent_at = int(time.time() * 1000)

        def store(conn: Connection) -> int:
            seq = conversations_repo.bump_out_seq(conn, peer.conversation_id)
            item = build(msg_id, seq, sent_at)
            payload = encode_content(item)
            messages_repo.insert(
                conn,
                peer.conversation_id,
                msg_id,
                "out",
                seq,
                _shown_body(item),
                "queued",
                sent_at=sent_at,
                kind=_KIND_OF[type(item)],
            )
            outbox_repo.enqueue(conn, contact_id, msg_id, seq, payload)
            conversations_repo.touch(conn, peer.conversation_id, sent_at)
            if on_store is not None:
                on_store(conn, item)
            return seq

        # Validate before touching the store: a bad item is the caller's typed error.
        build(msg_id, 1, sent_at)
        async with peer.lock:
            seq = await self._db.transaction(store)
            peer.outbound.enqueue(msg_id, seq)
        self._bus.publish(MessageStateChanged(contact_id, msg_id, "queued"))
        await self._pump(peer)
        return msg_id

    async def history(self, contact_id: int, limit: int = 200) -> list[messages_repo.Message]:
        """The newest ``limit`` displayable messages with a contact, oldest first."""
        peer = await self._peer(contact_id)
        return await self._db.run(messages_repo.latest, peer.conversation_id, limit)

    async def link_up(self, contact_id: int, link: Link) -> None:
        """A new authenticated link to the contact: resend everything unacked over it."""
        peer = await self._peer(contact_id)
        async with peer.lock:
            peer.link = link
            peer.offered_otk = False
            peer.outbound.on_link_up()
            if peer.session is None and not peer.initiator:
                await self._offer_one_time_key(peer)
        await self._pump(peer)

    async def link_down(self, contact_id: int, link: Link | None = None) -> None:
        """The link is gone (``link`` given: only if it is still the current one)."""
        peer = self._peers.get(contact_id)
        if peer is None or (link is not None and peer.link is not link):
            return
        async with peer.lock:
            peer.link = None
            peer.outbound.on_link_down()
            if peer.timer is not None:
                peer.timer.cancel()
                peer.timer = None

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        """Handle records that arrived on a link from this contact."""
        peer = await self._peer(contact_id)
        envelopes = [r for r in records if isinstance(r, Envelope)]
        acked = [m for r in records if isinstance(r, Ack) for m in r.msg_ids]
        nacked = [m for r in records if isinstance(r, Nack) for m in r.msg_ids]
        offers = [r.key for r in records if isinstance(r, OneTimeKey)]
        handled: list[ContentRecord] = []
        after: list[AfterCommit] = []
        async with peer.lock:
            for key in offers:
                await self._on_one_time_key(peer, key)
            if acked:
                await self._on_acks(peer, acked)
            if nacked:
                await self._on_nacks(peer, nacked)
            if envelopes:
                handled, after = await self._on_envelopes(peer, envelopes)
        await self._pump(peer)
        for record in handled:  # outside the lock: handlers may send_control
            try:
                await self._handlers[type(record)](contact_id, record)
            except LibraError:
                log.exception(
                    "handler for %s from contact %d failed", type(record).__name__, contact_id
                )
        for step in after:
            try:
                await step()
            except LibraError:
                log.exception("after-store step for contact %d failed", contact_id)

    def add_content_handler(
        self, types: Iterable[type[ContentRecord]], handler: ContentHandler
    ) -> None:
        """Deliver received content records of ``types`` to ``handler`` (other services'
        end-to-end records, e.g. verification). They are acked, never shown or ordered."""
        for cls in types:
            self._handlers[cls] = handler

    def on_item_stored(self, cls: type[FileOffer], hook: IncomingItemHook) -> None:
        """Accept received ``cls`` items (FileOffer: only once a hook exists, otherwise they
        are refused like unknown content) and run ``hook`` in the transaction storing each."""
        self._item_hooks[cls] = hook

    async def send_control(self, contact_id: int, record: ContentRecord) -> None:
        """Encrypt one content record now and send it on the current link, unqueued.

        For short interactive exchanges that time out on their own: nothing is stored in the
        outbox or resent. NotConnected if there is no link or no ratchet session yet.
        """
        payload = encode_content(record)
        peer = await self._peer(contact_id)
        async with peer.lock:
            if peer.link is None or peer.session is None:
                raise NotConnected(f"contact {contact_id} is not connected")
            message = peer.session.encrypt(payload)
            try:
                await self._db.transaction(lambda conn: self._save_session(conn, peer))
            except LibraError:
                await self._reload(peer)
                raise
            peer.link.send(
                [
                    Envelope(
                        msg_id=secrets.token_bytes(16),
                        kind=message.kind,
                        ciphertext=message.ciphertext,
                    )
                ]
            )

    async def reset_peer(self, contact_id: int) -> None:
        """Forget what is cached for a contact (its card changed): reloaded on next use."""
        peer = self._peers.pop(contact_id, None)
        if peer is not None and peer.timer is not None:
            peer.timer.cancel()

    async def close(self) -> None:
        """Stop timers and background sends (the store is closed by its owner)."""
        self._closed = True
        for peer in self._peers.values():
            if peer.timer is not None:
                peer.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- loading -----------------------------------------------------------------------------

    async def _peer(self, contact_id: int) -> _Peer:
        peer = self._peers.get(contact_id)
        if peer is None:
            peer = await self._db.run(self._load_peer, contact_id)
            peer = self._peers.setdefault(contact_id, peer)
        return peer

    def _load_peer(self, conn: Connection, contact_id: int) -> _Peer:
        contact = contacts_repo.get(conn, contact_id)
        if contact is None or contact.card is None:
            raise UnknownContact(f"no contact {contact_id}")
        card = ContactCard.decode(contact.card)
        conversation = conversations_repo.for_contact(conn, contact_id)
        pickled = ratchet_repo.load(conn, contact_id)
        session = (
            None
            if pickled is None
            else RatchetSession.from_bytes(pickled, self._profile.pickle_key)
        )
        used = settings_repo.get(conn, f"ratchet.used_otks.{contact_id}") or b""
        return _Peer(
            contact_id=contact_id,
            conversation_id=conversation.id,
            ratchet_key=card.ratchet_key,
            initiator=self._profile.keys.fingerprint < card.fingerprint,
            outbound=delivery.Outbound.restore(
                ((item.msg_id, item.seq) for item in outbox_repo.pending(conn, contact_id)),
                window=self._window,
                rto=self._rto,
            ),
            inbound=delivery.Inbound(
                next_seq=conversation.next_in_seq,
                held=set(messages_repo.held_seqs(conn, conversation.id)),
            ),
            session=session,
            used_otks=[used[i : i + 32] for i in range(0, len(used), 32)],
        )

    async def _reload(self, peer: _Peer) -> None:
        """Drop in-memory state after a failed transaction; the store is the truth."""
        fresh = await self._db.run(self._load_peer, peer.contact_id)
        peer.outbound, peer.inbound, peer.session = fresh.outbound, fresh.inbound, fresh.session
        peer.used_otks = fresh.used_otks
        await self._profile.reload_account()
        if peer.link is not None:
            peer.outbound.on_link_up()

    def _save_session(self, conn: Connection, peer: _Peer) -> None:
        assert peer.session is not None
        ratchet_repo.save(conn, peer.contact_id, peer.session.to_bytes(self._profile.pickle_key))

    # -- sending -----------------------------------------------------------------------------

    async def _pump(self, peer: _Peer) -> None:
        """Transmit whatever the scheduler says is due; arm the timer for the next deadline."""
        if self._closed:
            return
        async with peer.lock:
            if peer.link is None or peer.session is None:
                return
            due = peer.outbound.due(self._clock())
            if due:
                try:
                    prepared = await self._db.transaction(self._prepare, peer, due)
                except LibraError:
                    log.exception("could not prepare messages for contact %d", peer.contact_id)
                    await self._reload(peer)
                    return
                envelopes, first_sends = prepared
                peer.link.send(envelopes)
                for msg_id in first_sends:
                    self._bus.publish(MessageStateChanged(peer.contact_id, msg_id, "sent"))
            self._arm_timer(peer)

    def _prepare(
        self, conn: Connection, peer: _Peer, due: list[delivery.OutEntry]
    ) -> tuple[list[Envelope], list[bytes]]:
        """Encrypt what has no ciphertext yet (saving the ratchet with it); reuse the rest.

        Returns the envelopes to send and the ids that leave for the first time.
        """
        assert peer.session is not None
        envelopes = []
        first_sends = []
        advanced = False
        for entry in due:
            item = outbox_repo.get(conn, entry.msg_id)
            if item is None or item.state == "delivered":
                continue
            if item.ciphertext is None or item.kind is None:
                message = peer.session.encrypt(item.payload)
                ciphertext, kind, advanced = message.ciphertext, message.kind, True
            else:
                ciphertext, kind = item.ciphertext, item.kind
            outbox_repo.mark_sent(
                conn,
                entry.msg_id,
                next_attempt_at=int(time.time() * 1000),
                ciphertext=ciphertext,
                kind=kind,
            )
            if item.state == "queued":
                messages_repo.set_state(conn, peer.conversation_id, "out", entry.msg_id, "sent")
                first_sends.append(entry.msg_id)
            envelopes.append(Envelope(msg_id=entry.msg_id, kind=kind, ciphertext=ciphertext))
        if advanced:
            self._save_session(conn, peer)
        return envelopes, first_sends

    def _arm_timer(self, peer: _Peer) -> None:
        if peer.timer is not None:
            peer.timer.cancel()
            peer.timer = None
        deadline = peer.outbound.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self._clock())
        loop = asyncio.get_running_loop()
        peer.timer = loop.call_later(delay, self._spawn_pump, peer)

    def _spawn_pump(self, peer: _Peer) -> None:
        peer.timer = None
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._pump(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_acks(self, peer: _Peer, msg_ids: list[bytes]) -> None:
        delivered = peer.outbound.on_ack(msg_ids)
        if not delivered:
            return

        def store(conn: Connection) -> None:
            for msg_id in delivered:
                if outbox_repo.mark_delivered(conn, msg_id):
                    messages_repo.set_state(conn, peer.conversation_id, "out", msg_id, "delivered")
                    outbox_repo.remove(conn, msg_id)

        await self._db.transaction(store)
        for msg_id in delivered:
            self._bus.publish(MessageStateChanged(peer.contact_id, msg_id, "delivered"))

    async def _on_nacks(self, peer: _Peer, msg_ids: list[bytes]) -> None:
        """The peer could not decrypt these: forget their ciphertext, re-encrypt, resend."""
        ours = [m for m in msg_ids if peer.outbound.resend_now(m)]
        if ours:
            await self._db.transaction(
                lambda conn: [outbox_repo.clear_ciphertext(conn, m) for m in ours]
            )

    # -- ratchet bootstrap -------------------------------------------------------------------

    async def _offer_one_time_key(self, peer: _Peer) -> None:
        """Responder side: give the initiator a fresh one-time key (once per link)."""
        if peer.link is None or peer.offered_otk:
            return
        key = self._profile.account.new_one_time_key()
        await self._db.transaction(self._profile.save_account)
        peer.offered_otk = True
        peer.link.send([OneTimeKey(key=key)])

    async def _on_one_time_key(self, peer: _Peer, key: bytes) -> None:
        """Initiator side: the peer has no session; start one (unless this offer is stale)."""
        if not peer.initiator or key in peer.used_otks or peer.link is None:
            return
        session = RatchetSession.initiate(self._profile.account, peer.ratchet_key, key)
        start = session.encrypt(encode_content(SessionStart()))
        peer.session = session
        peer.used_otks = [*peer.used_otks, key][-USED_OTKS_KEEP:]

        def store(conn: Connection) -> None:
            self._save_session(conn, peer)
            settings_repo.put(
                conn, f"ratchet.used_otks.{peer.contact_id}", b"".join(peer.used_otks)
            )
            # Ciphertexts made for an older session are useless to the peer now.
            for item in outbox_repo.pending(conn, peer.contact_id):
                outbox_repo.clear_ciphertext(conn, item.msg_id)

        try:
            await self._db.transaction(store)
        except LibraError:
            await self._reload(peer)
            raise
        peer.outbound.on_link_up()
        peer.link.send(
            [Envelope(msg_id=secrets.token_bytes(16), kind=start.kind, ciphertext=start.ciphertext)]
        )
        self._bus.publish(SessionEstablished(peer.contact_id))

    # -- receiving ---------------------------------------------------------------------------

    async def _on_envelopes(
        self, peer: _Peer, envelopes: list[Envelope]
    ) -> tuple[list[ContentRecord], list[AfterCommit]]:
        """Store what arrived; returns the records for registered handlers and the item
        hooks' after-commit steps."""
        try:
            result = await self._db.transaction(self._apply_inbound, peer, envelopes)
        except LibraError:
            log.exception("could not store messages from contact %d", peer.contact_id)
            await self._reload(peer)
            return [], []
        link = peer.link
        if link is not None:
            out: list[LinkRecord] = [Ack(msg_ids=c) for c in _chunks(result.acks, MAX_ACK_IDS)]
            out += [Nack(msg_ids=c) for c in _chunks(result.nacks, MAX_ACK_IDS)]
            if out:
                link.send(out)
        if result.need_offer:
            await self._offer_one_time_key(peer)
        if result.session_started:
            self._bus.publish(SessionEstablished(peer.contact_id))
        for message in result.shown:
            self._bus.publish(
                MessageReceived(
                    peer.contact_id, message.msg_id, message.seq, message.sent_at, message.body
                )
            )
        return result.handled, result.after

    def _apply_inbound(
        self, conn: Connection, peer: _Peer, envelopes: list[Envelope]
    ) -> _InboundResult:
        """One transaction: de-dup, decrypt, order, store; returns what to ack and show."""
        result = _InboundResult()
        account_changed = session_changed = False
        for env in envelopes:
            if messages_repo.exists(conn, peer.conversation_id, "in", env.msg_id):
                result.acks.append(env.msg_id)
                continue
            message = RatchetMessage(kind=env.kind, ciphertext=env.ciphertext)
            try:
                plaintext, created = self._decrypt(peer, message)
                content = decode_content(plaintext)
            except (DecryptionError, SessionError, ProtocolError) as exc:
                log.info("undecryptable message from contact %d: %s", peer.contact_id, exc)
                result.nacks.append(env.msg_id)
                result.need_offer = peer.session is None and not peer.initiator
                continue
            session_changed = True
            if created:
                account_changed = result.session_started = True
            if isinstance(content, SessionStart):
                continue
            if type(content) in self._handlers:
                result.acks.append(env.msg_id)
                result.handled.append(content)
                continue
            is_item = type(content) is TextMessage or type(content) in self._item_hooks
            if not is_item or not isinstance(content, Item) or content.msg_id != env.msg_id:
                log.warning("contact %d sent a mislabelled envelope", peer.contact_id)
                result.nacks.append(env.msg_id)
                continue
            decision = peer.inbound.accept(content.seq)
            if decision.verdict is delivery.Verdict.OVERFLOW:
                continue  # not stored, not acked: the peer resends (re-encrypted after a Nack)
            result.acks.append(env.msg_id)
            if decision.verdict is delivery.Verdict.DUPLICATE:
                continue
            state = "received" if decision.verdict is delivery.Verdict.DELIVER else "pending"
            stored = messages_repo.insert(
                conn,
                peer.conversation_id,
                content.msg_id,
                "in",
                content.seq,
                _shown_body(content),
                state,
                sent_at=content.sent_at,
                kind=_KIND_OF[type(content)],
            )
            hook = self._item_hooks.get(type(content))
            if hook is not None:
                step = hook(conn, peer.contact_id, content)
                if step is not None:
                    result.after.append(step)
            if state == "received":
                result.shown.append(stored)
                result.shown += [
                    messages_repo.release(conn, peer.conversation_id, seq)
                    for seq in decision.released[1:]
                ]
                conversations_repo.set_next_in_seq(
                    conn, peer.conversation_id, peer.inbound.next_seq
                )
        if session_changed:
            self._save_session(conn, peer)
        if account_changed:
            self._profile.save_account(conn)
        if result.shown:
            conversations_repo.add_unread(conn, peer.conversation_id, len(result.shown))
            conversations_repo.touch(conn, peer.conversation_id, result.shown[-1].received_at or 0)
        return result

    def _decrypt(self, peer: _Peer, message: RatchetMessage) -> tuple[bytes, bool]:
        """Decrypt with the current session, or accept a new inbound one (responder only)."""
        fresh = peer.session is None or not peer.session.matches(message)
        if message.kind == MessageKind.PRE_KEY and not peer.initiator and fresh:
            session, plaintext = RatchetSession.accept(
                self._profile.account, peer.ratchet_key, message
            )
            peer.session = session
            return plaintext, True
        if peer.session is None:
            raise SessionError("no ratchet session with this contact yet")
        return peer.session.decrypt(message), False
