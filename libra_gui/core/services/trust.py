"""Trust: levels per contact, the shared-secret question check, and key changes.

Levels (stored in ``contacts.trust``): unknown -> known -> verified -> trusted. Up one step
at a time and never while a key change is pending; down whenever the user asks. A contact
becomes *verified* by a question check that ends EQUAL or by the user confirming that the
safety numbers match; *trusted* is a further choice of the user's on a verified contact.

The question check (protocol/verification.py) runs end to end through the ratchet as content
records 66..69, sent unqueued with ``MessagingService.send_control``: it is interactive and
times out on its own, so nothing is left in the outbox. One run per contact at a time.

A key change (a card for a known identity with other static/ratchet keys, or a claimed new
identity for a contact) demotes the contact to *known*, holds the new card in the settings
table and publishes a loud ContactKeyChanged. The new keys are used only after
:meth:`TrustService.accept_key_change`; verification must then be done again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ..crypto.identity import safety_number as compute_safety_number
from ..errors import LibraError, MalformedRecord
from ..protocol.card import ContactCard
from ..protocol.records import ContentRecord, VerifyAbort, VerifyStart
from ..protocol.verification import (
    DEFAULT_TIMEOUT,
    VERIFY_RECORDS,
    AbortReason,
    Outcome,
    Party,
    Phase,
    Verification,
    VerificationError,
)
from ..storage import contacts as contacts_repo
from ..storage import outbox as outbox_repo
from ..storage import ratchet as ratchet_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from ..storage.contacts import TRUST_LEVELS, Contact, Trust
from .events import (
    ContactKeyChanged,
    EventBus,
    TrustChanged,
    VerificationFinished,
    VerificationRequested,
)
from .messaging import MessagingService
from .profile import Profile

log = logging.getLogger(__name__)

RANK: dict[str, int] = {level: i for i, level in enumerate(TRUST_LEVELS)}
"""unknown 0 < known 1 < verified 2 < trusted 3."""
KEY_CHANGE_LEVEL: Trust = "known"
"""Where a key change puts a verified/trusted contact (unknown stays unknown)."""
PENDING_CARD_SETTING = "trust.pending_card.{}"


class TrustError(LibraError):
    """A trust change or verification step that is not allowed now (the message says why)."""


# --- policy ---------------------------------------------------------------------------------


DIRECT_DEFAULTS = ("verified", "known", "off")
"""The global default for contacts whose own policy is 'default': the lowest trust level a
contact needs for a direct path, or 'off' (never). Libra ships with 'verified'."""


def may_connect_directly(contact: Contact, default: str = "verified") -> bool:
    """May a direct (IP-revealing) path be used with this contact?

    direct_policy 'allowed' -> yes, 'off' -> no, 'default' -> the global ``default``
    (:data:`DIRECT_DEFAULTS`; out of the box only verified/trusted contacts).
    A blocked contact never.
    """
    if contact.blocked:
        return False
    if contact.direct_policy == "allowed":
        return True
    if contact.direct_policy == "off" or default not in ("verified", "known"):
        return False
    return RANK[contact.trust] >= RANK[default]


# --- key changes (storage side; also used by contacts.add_from_card in its transaction) ------


def keys_differ(old: ContactCard, new: ContactCard) -> bool:
    """True if ``new`` names any long-term key other than ``old`` does."""
    return (old.identity_key, old.static_key, old.ratchet_key) != (
        new.identity_key,
        new.static_key,
        new.ratchet_key,
    )


@dataclass(frozen=True)
class KeyChange:
    """What :func:`record_key_change` did; ``fresh`` is False if this card was already held."""

    contact_id: int
    display_name: str
    identity_changed: bool
    old_fingerprint: bytes
    new_fingerprint: bytes
    previous_trust: Trust
    trust: Trust
    fresh: bool

    def event(self) -> ContactKeyChanged:
        return ContactKeyChanged(
            self.contact_id,
            self.display_name,
            self.identity_changed,
            self.old_fingerprint,
            self.new_fingerprint,
            self.previous_trust,
            self.trust,
        )


def record_key_change(conn: Connection, contact: Contact, card: ContactCard) -> KeyChange:
    """Inside the caller's transaction: demote the contact and hold ``card`` as pending.

    The stored card (and so every key in use) stays as it was.
    """
    previous = contact.trust
    trust = KEY_CHANGE_LEVEL if RANK[previous] > RANK[KEY_CHANGE_LEVEL] else previous
    if trust != previous:
        contacts_repo.set_trust(conn, contact.id, trust)
    key = PENDING_CARD_SETTING.format(contact.id)
    encoded = card.encode()
    fresh = settings_repo.get(conn, key) != encoded
    if fresh:
        settings_repo.put(conn, key, encoded)
    return KeyChange(
        contact_id=contact.id,
        display_name=contact.display_name,
        identity_changed=card.identity_key != contact.identity_key,
        old_fingerprint=contact.fingerprint,
        new_fingerprint=card.fingerprint,
        previous_trust=previous,
        trust=trust,
        fresh=fresh,
    )


def pending_card(conn: Connection, contact_id: int) -> ContactCard | None:
    raw = settings_repo.get(conn, PENDING_CARD_SETTING.format(contact_id))
    return None if raw is None else ContactCard.decode(raw)


# --- the service ----------------------------------------------------------------------------


class TrustService:
    """Trust levels, question checks and key changes for the GUI and CLI."""

    def __init__(
        self,
        profile: Profile,
        bus: EventBus,
        messaging: MessagingService,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._profile = profile
        self._db = profile.db
        self._bus = bus
        self._messaging = messaging
        self._timeout = timeout
        self._clock = clock
        self._runs: dict[int, Verification] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        messaging.add_content_handler(VERIFY_RECORDS, self._on_record)

    # -- levels ------------------------------------------------------------------------------

    async def contact(self, contact_id: int) -> Contact:
        contact = await self._db.run(contacts_repo.get, contact_id)
        if contact is None:
            raise TrustError(f"no contact {contact_id}")
        return contact

    async def set_trust(self, contact_id: int, level: str) -> Contact:
        """The user's choice: any step down; up one step at a time (unknown -> known ->
        verified -> trusted), never while a key change is pending."""
        if level not in RANK:
            raise TrustError(f"unknown trust level {level!r} (one of {', '.join(RANK)})")
        target = cast(Trust, level)

        def change(conn: Connection) -> tuple[Trust, Contact]:
            contact = self._get(conn, contact_id)
            old = contact.trust
            if RANK[target] > RANK[old]:
                if RANK[target] != RANK[old] + 1:
                    raise TrustError(
                        f"trust goes up one step at a time: {old} -> "
                        f"{TRUST_LEVELS[RANK[old] + 1]} first"
                    )
                self._refuse_if_key_pending(conn, contact)
            if target != old:
                contacts_repo.set_trust(conn, contact_id, target)
            return old, self._get(conn, contact_id)

        old, contact = await self._db.transaction(change)
        self._publish_change(contact_id, old, contact.trust)
        return contact

    async def mark_verified(self, contact_id: int) -> Contact:
        """The user compared safety numbers and they match: the contact becomes verified
        (a trusted contact stays trusted)."""
        old, contact = await self._db.transaction(self._upgrade_to_verified, contact_id, True)
        self._publish_change(contact_id, old, contact.trust)
        return contact

    async def safety_number(self, contact_id: int) -> str:
        """The 60-digit number both sides see for this pair (compare it in person or by call)."""
        contact = await self.contact(contact_id)
        return compute_safety_number(self._profile.keys.identity_public, contact.identity_key)

    # -- key changes -------------------------------------------------------------------------

    async def pending_key_change(self, contact_id: int) -> ContactCard | None:
        """The card with new keys held back for this contact, if any."""
        return await self._db.run(pending_card, contact_id)

    async def report_key_change(self, contact_id: int, card_bytes: bytes) -> KeyChange:
        """Another part of the app saw this contact present ``card_bytes`` (e.g. an alias now
        resolving to another identity): hold it, demote, warn. TrustError if not a change."""
        card = ContactCard.decode(card_bytes)

        def store(conn: Connection) -> KeyChange:
            contact = self._get(conn, contact_id)
            old = ContactCard.decode(contact.card) if contact.card else None
            if old is not None and not keys_differ(old, card):
                raise TrustError("the card has the keys we already have")
            if old is None and card.identity_key == contact.identity_key:
                raise TrustError("the card has the identity we already have")
            return record_key_change(conn, contact, card)

        change = await self._db.transaction(store)
        if change.fresh:
            self._bus.publish(change.event())
        self._publish_change(contact_id, change.previous_trust, change.trust)
        return change

    async def accept_key_change(self, contact_id: int) -> Contact:
        """The user accepts the contact's new keys: store the held card, start a new ratchet
        session with them, stay *known* until verified again."""

        def accept(conn: Connection) -> tuple[Trust, Contact]:
            contact = self._get(conn, contact_id)
            card = pending_card(conn, contact_id)
            if card is None:
                raise TrustError("no key change is waiting for this contact")
            if card.identity_key != contact.identity_key:
                raise TrustError(
                    "a different identity key is a different person: add that card as a new "
                    "contact after checking it, and reject this change"
                )
            contacts_repo.set_card(conn, contact_id, card.encode())
            contacts_repo.set_display_name(conn, contact_id, card.display_name)
            # The old session belongs to the old ratchet key: drop it; whatever waits in the
            # outbox is re-encrypted for the new session.
            ratchet_repo.delete(conn, contact_id)
            settings_repo.delete(conn, f"ratchet.used_otks.{contact_id}")
            for item in outbox_repo.pending(conn, contact_id):
                outbox_repo.clear_ciphertext(conn, item.msg_id)
            settings_repo.delete(conn, PENDING_CARD_SETTING.format(contact_id))
            old = contact.trust
            if RANK[old] > RANK[KEY_CHANGE_LEVEL]:
                contacts_repo.set_trust(conn, contact_id, KEY_CHANGE_LEVEL)
            return old, self._get(conn, contact_id)

        old, contact = await self._db.transaction(accept)
        await self._messaging.reset_peer(contact_id)
        self._publish_change(contact_id, old, contact.trust)
        return contact

    async def reject_key_change(self, contact_id: int) -> Contact:
        """Drop the held card; the old keys stay in use (the contact stays demoted)."""

        def reject(conn: Connection) -> Contact:
            if not settings_repo.delete(conn, PENDING_CARD_SETTING.format(contact_id)):
                raise TrustError("no key change is waiting for this contact")
            return self._get(conn, contact_id)

        return await self._db.transaction(reject)

    # -- question check: local side ----------------------------------------------------------

    async def start_verification(self, contact_id: int, question: str, answer: str) -> bytes:
        """Ask the contact ``question``; we know ``answer``. Returns the run id; the result
        comes as VerificationFinished. NotConnected if the contact is not online now."""
        current = self._runs.get(contact_id)
        if current is not None and not current.done:
            raise TrustError("a verification with this contact is already in progress")
        me, peer = await self._parties(contact_id)
        try:
            run, out = Verification.ask(
                me, peer, question, answer, now=self._clock(), timeout=self._timeout
            )
        except (ValueError, MalformedRecord) as exc:
            raise TrustError(f"cannot ask that: {exc}") from None
        await self._messaging.send_control(contact_id, out[0])
        self._runs[contact_id] = run
        self._arm(contact_id, run)
        return run.run_id

    def pending_question(self, contact_id: int) -> str | None:
        """The question this contact asked us that still waits for an answer."""
        run = self._runs.get(contact_id)
        if run is None or run.asker or run.phase is not Phase.WAIT_ANSWER:
            return None
        return run.question

    async def answer_verification(self, contact_id: int, answer: str) -> None:
        """Answer the contact's pending question; the result comes as VerificationFinished."""
        run = self._runs.get(contact_id)
        if run is None or run.asker or run.phase is not Phase.WAIT_ANSWER:
            raise TrustError("this contact has no question waiting for an answer")
        try:
            out = run.answer(answer, now=self._clock())
        except ValueError as exc:
            raise TrustError(f"cannot use that answer: {exc}") from None
        except VerificationError as exc:
            out = exc.outgoing
        await self._send(contact_id, out)
        if run.done:
            await self._finished(contact_id, run)
        else:
            self._arm(contact_id, run)

    async def cancel_verification(self, contact_id: int) -> None:
        """Give up our run (asker) or decline the question (answerer)."""
        run = self._runs.get(contact_id)
        if run is None or run.done:
            raise TrustError("no verification with this contact is in progress")
        out = run.abort(AbortReason.CANCELLED if run.asker else AbortReason.DECLINED)
        await self._send(contact_id, out)
        await self._finished(contact_id, run)

    async def close(self) -> None:
        """Stop timers; open runs are simply forgotten (the peer times out)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- question check: records from the peer -----------------------------------------------

    async def _on_record(self, contact_id: int, record: ContentRecord) -> None:
        run = self._runs.get(contact_id)
        if isinstance(record, VerifyStart) and run is None:
            await self._on_start(contact_id, record)
            return
        if isinstance(record, VerifyStart) and run is not None and run.run_id != record.run_id:
            busy = VerifyAbort(run_id=record.run_id, reason=int(AbortReason.BUSY))
            await self._send(contact_id, [busy])
            return
        if run is None or getattr(record, "run_id", None) != run.run_id:
            log.info("contact %d: %s for no current run", contact_id, type(record).__name__)
            return
        try:
            out = run.receive(record, now=self._clock())
        except VerificationError as exc:
            log.warning("contact %d: verification failed: %s", contact_id, exc)
            out = exc.outgoing
        await self._send(contact_id, out)
        if run.done:
            await self._finished(contact_id, run)

    async def _on_start(self, contact_id: int, start: VerifyStart) -> None:
        try:
            me, peer = await self._parties(contact_id)
            run = Verification.asked(start, me, peer, now=self._clock(), timeout=self._timeout)
        except VerificationError as exc:
            log.warning("contact %d: refused a verification request: %s", contact_id, exc)
            await self._send(contact_id, exc.outgoing)
            return
        self._runs[contact_id] = run
        self._arm(contact_id, run)
        self._bus.publish(VerificationRequested(contact_id, run.run_id, run.question))

    # -- helpers -----------------------------------------------------------------------------

    async def _finished(self, contact_id: int, run: Verification) -> None:
        handle = self._timers.pop(contact_id, None)
        if handle is not None:
            handle.cancel()
        if self._runs.get(contact_id) is run:
            del self._runs[contact_id]
        assert run.outcome is not None
        if run.outcome is Outcome.EQUAL:
            old, contact = await self._db.transaction(self._upgrade_to_verified, contact_id, False)
            self._publish_change(contact_id, old, contact.trust)
        else:
            contact = await self.contact(contact_id)
        reason = None if run.abort_reason is None else run.abort_reason.name.lower()
        self._bus.publish(
            VerificationFinished(
                contact_id, run.run_id, run.asker, run.outcome.value, reason, contact.trust
            )
        )

    def _upgrade_to_verified(
        self, conn: Connection, contact_id: int, strict: bool
    ) -> tuple[Trust, Contact]:
        """unknown/known -> verified; verified/trusted unchanged. While a key change is
        pending nothing is raised (``strict``: the user asked, so say why not)."""
        contact = self._get(conn, contact_id)
        old = contact.trust
        if RANK[old] >= RANK["verified"]:
            return old, contact
        if pending_card(conn, contact_id) is not None:
            if strict:
                self._refuse_if_key_pending(conn, contact)
            return old, contact
        contacts_repo.set_trust(conn, contact_id, "verified")
        return old, self._get(conn, contact_id)

    def _refuse_if_key_pending(self, conn: Connection, contact: Contact) -> None:
        if pending_card(conn, contact.id) is not None:
            raise TrustError(
                f"{contact.display_name} presented new keys: accept or reject that change first"
            )

    @staticmethod
    def _get(conn: Connection, contact_id: int) -> Contact:
        contact = contacts_repo.get(conn, contact_id)
        if contact is None:
            raise TrustError(f"no contact {contact_id}")
        return contact

    async def _parties(self, contact_id: int) -> tuple[Party, Party]:
        """(us, them) with every long-term key, as each side binds into the exchange."""
        contact = await self.contact(contact_id)
        if contact.card is None:
            raise TrustError("this contact has no card yet")
        card = ContactCard.decode(contact.card)
        keys = self._profile.keys
        me = Party(keys.identity_public, keys.static_public, self._profile.account.identity_key)
        return me, Party(card.identity_key, card.static_key, card.ratchet_key)

    async def _send(self, contact_id: int, records: list[ContentRecord]) -> None:
        """Best effort: a record that cannot leave now is covered by the peer's timeout."""
        for record in records:
            try:
                await self._messaging.send_control(contact_id, record)
            except LibraError as exc:  # NotConnected, or the store failed
                log.info(
                    "contact %d: could not send %s: %s", contact_id, type(record).__name__, exc
                )

    def _publish_change(self, contact_id: int, old: str, new: str) -> None:
        if old != new:
            self._bus.publish(TrustChanged(contact_id, old, new))

    def _arm(self, contact_id: int, run: Verification) -> None:
        handle = self._timers.pop(contact_id, None)
        if handle is not None:
            handle.cancel()
        delay = max(0.0, run.deadline - self._clock())
        loop = asyncio.get_running_loop()
        self._timers[contact_id] = loop.call_later(delay, self._spawn_timeout, contact_id, run)

    def _spawn_timeout(self, contact_id: int, run: Verification) -> None:
        self._timers.pop(contact_id, None)
        task = asyncio.get_running_loop().create_task(self._on_timeout(contact_id, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_timeout(self, contact_id: int, run: Verification) -> None:
        if self._runs.get(contact_id) is not run or run.done:
            return
        out = run.tick(self._clock())
        if not run.done:  # the clock says not yet (deadline moved or a coarse timer)
            self._arm(contact_id, run)
            return
        await self._send(contact_id, out)
        await self._finished(contact_id, run)
