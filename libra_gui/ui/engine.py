"""The engine thread and the window's facade to it.

Measured (design.md §8): aiortc runs about 2x slower on a qasync loop, and a burst of network
work on the GUI's loop stalls the window. So the core (profile store, tor, links, messaging)
runs on its OWN asyncio loop in a daemon thread (:class:`Engine`), and the window talks to it
only through :class:`EngineFacade`:

* commands in: each facade method submits one engine coroutine and returns a
  ``concurrent.futures.Future`` (async GUI code may ``await asyncio.wrap_future(f)``; widgets
  use :meth:`EngineFacade.then`, which calls back on the GUI thread, so they need no asyncio);
* events out: the engine subscribes to the core's EventBus on its own thread and forwards
  every event through a queued Qt signal; on the GUI thread the facade folds them into a few
  typed signals (ui/states.py holds the folding rules, e.g. the contacts' status dots).

The engine is deliberately thin: it owns the thread, the unlocked profile and the Node, and
forwards to core.services. Store reads the services do not offer yet are marked as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from ..core.crypto import alias as alias_crypto
from ..core.errors import LibraError
from ..core.events import Event
from ..core.net.tor.events import TorEvent
from ..core.net.tor.settings import TorSettings
from ..core.protocol.card import ContactCard
from ..core.protocol.requests import Action
from ..core.protocol.uri import Invite, is_invite_uri, parse_invite
from ..core.services import app_settings, contact_requests, direct_policy, lookup
from ..core.services import backup as backup_service
from ..core.services import contacts as contacts_service
from ..core.services import profile as profile_service
from ..core.services.beacon import ContactRequestReceived
from ..core.services.conversations import ContactSummary, ConversationService
from ..core.services.events import (
    ContactKeyChanged,
    EventBus,
    FileOffered,
    FileProgress,
    FileStateChanged,
    MessageReceived,
    MessageStateChanged,
    TrustChanged,
    VerificationFinished,
    VerificationRequested,
)
from ..core.services.files import FileTransfer
from ..core.services.node import Node
from ..core.services.profile import Profile
from ..core.services.qr import decode_qr_gray, find_invite, invite_from_texts, qr_png
from ..core.storage import DEFAULT_KDF, Database, KdfParams
from ..core.storage.messages import Message
from .states import (
    ContactPaths,
    NodeStarted,
    NodeStartFailed,
    NodeStarting,
    PathState,
    TorStatus,
    next_tor_status,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE = 100  # messages per chat page: a screenful or three, never the whole history
SHUTDOWN_TIMEOUT = 30.0  # tor gets a HALT, then 5 s, then a kill: this is plenty
QR_SCALE = 10


class EngineStopped(LibraError):
    """A command arrived after the engine shut down (the window is closing)."""


class NotUnlocked(LibraError):
    """A command needs the unlocked profile, and there is none yet."""


class NotOnline(LibraError):
    """A command needs the running node (tor bootstrapped), and it is not running yet."""


class LookupExpired(LibraError):
    """The person found earlier is no longer held (the dialog was closed or timed out)."""


class DifferentPerson(lookup.ImpostorBeacon):
    """A second lookup of the same words answered with another identity than the first."""


@dataclass(frozen=True)
class ProfileInfo:
    """Who we are, as the window shows it."""

    display_name: str
    fingerprint: bytes


@dataclass(frozen=True)
class AliasInfo:
    """My alias as the window shows it: words, the invite link and its QR code."""

    words: str
    link: str = field(repr=False)  # a private beacon's link holds its credential
    qr_png: bytes = field(repr=False)
    findable: bool
    private: bool = False  # only the link / QR finds me (the words alone do not)
    one_time: bool = False  # the invite works for one request
    expires: int | None = None  # unix seconds
    invite_used: bool = False
    active: bool = False  # the beacon should be running now (findable, not expired / used)


@dataclass(frozen=True)
class RequestSummary:
    """A pending contact request, as the requests section shows it."""

    id: int
    display_name: str
    message: str
    received_at: int
    fingerprint: bytes = b""


@dataclass(frozen=True)
class CardPreview:
    """Someone found by words or invite, shown before the request is sent (held by the
    engine under ``token`` until :meth:`Engine.request_contact` or :meth:`Engine.forget_lookup`)."""

    token: int
    display_name: str
    fingerprint: bytes
    words: str
    verified: bool  # an invite pinned their fingerprint: it is really them
    existing_contact_id: int | None  # already a contact


@dataclass(frozen=True)
class ContactDetails:
    """Everything the contact details screen shows."""

    id: int
    display_name: str
    fingerprint: bytes
    safety_number: str
    safety_qr_png: bytes = field(repr=False)
    trust: str
    blocked: bool
    direct_policy: str  # default / off / allowed
    direct_default: str  # verified / known / off: what "default" means now
    direct_allowed: bool  # the outcome for this contact
    key_change_pending: bool
    pending_question: str | None  # they asked us; we have not answered
    awaiting_acceptance: bool


class Engine:
    """An asyncio loop on a daemon thread that owns the unlocked profile and the Node.

    Coroutine methods run on that loop: submit them with :meth:`submit` from any thread.
    ``on_event`` is subscribed to the EventBus before the thread starts, so it is called on
    the engine thread for every core event (and for NodeStarting/Started/StartFailed).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        tor_settings: TorSettings | None = None,
        kdf_params: KdfParams = DEFAULT_KDF,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.tor_settings = tor_settings or TorSettings(data_dir=self.data_dir / "tor")
        # No explicit settings (the app): the profile's stored Tor settings, read at unlock.
        self._stored_tor = tor_settings is None
        self.tor_prefs = app_settings.TorPrefs()
        self.appearance = app_settings.AppearancePrefs()
        self.privacy = app_settings.PrivacyPrefs()
        self.bus = EventBus()
        self.profile: Profile | None = None
        self.node: Node | None = None
        self.online = False
        self._kdf = kdf_params
        self._unsubscribe = self.bus.add_listener(on_event) if on_event else None
        self._starting: asyncio.Task[None] | None = None
        self.conversations: ConversationService | None = None
        self._found: dict[int, tuple[str | Invite, lookup.Found]] = {}  # token -> held lookup
        self._next_token = 1
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_log_loop_error)
        self._thread = threading.Thread(target=self._run, name="libra-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def has_profile(self) -> bool:
        """Whether the data directory holds a profile (onboarding or unlock?)."""
        return Database.exists(self.data_dir)

    def use_data_dir(self, data_dir: Path) -> None:
        """Before unlocking: work on another folder (a profile the user brought along)."""
        if self.profile is not None:
            raise LibraError("the profile is already unlocked")
        if self.tor_settings.data_dir == self.data_dir / "tor":
            self.tor_settings = dataclasses.replace(self.tor_settings, data_dir=data_dir / "tor")
        self.data_dir = Path(data_dir)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run ``coro`` on the engine loop; thread-safe. Fails with EngineStopped once closed."""
        if self._closed:
            coro.close()
            failed: Future[T] = Future()
            failed.set_exception(EngineStopped("Libra is shutting down"))
            return failed
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Stop the node, close the store, stop the loop and join the thread (blocking)."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout)
        except Exception:
            log.exception("the engine did not close cleanly")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._loop.close()

    # -- profile -----------------------------------------------------------------------------

    async def create_profile(self, display_name: str, passphrase: str) -> ProfileInfo:
        """Create the profile (Argon2id on the store's thread), then unlock it."""
        await profile_service.create_profile(
            self.data_dir, passphrase, display_name, kdf_params=self._kdf
        )
        return await self.unlock(passphrase)

    async def restore_profile(self, source: Path, passphrase: str) -> ProfileInfo:
        """Install the backup in ``source`` as this data directory's profile, then unlock it."""
        await backup_service.restore(source, self.data_dir, passphrase)
        return await self.unlock(passphrase)

    async def backup(self, dest: Path) -> Path:
        """Copy the open profile's encrypted files to ``dest`` (taken on the store's thread)."""
        return await backup_service.backup(self._profile(), dest)

    async def unlock(self, passphrase: str) -> ProfileInfo:
        """Open the store and build (not start) the node: messages can be queued at once."""
        if self.profile is not None:
            raise LibraError("the profile is already unlocked")
        prof = await profile_service.unlock(self.data_dir, passphrase)
        self.profile = prof
        self.conversations = ConversationService(prof)
        await self._load_settings(prof)
        self.node = Node(prof, self.tor_settings, self.bus)
        return ProfileInfo(prof.display_name, prof.keys.fingerprint)

    # -- tor and the node --------------------------------------------------------------------

    async def start_node(self) -> None:
        """Start tor and the node in the background; progress and outcome arrive as events."""
        node = self._node()
        if self._starting is None or self._starting.done():
            self._starting = asyncio.create_task(self._start(node))

    async def restart_tor(self, settings: TorSettings) -> None:
        """Retry, possibly with new settings (a chosen tor program, bridges): a fresh node.

        The new node exists before the old one stops, so messages sent meanwhile are queued
        in the store by the new node's messaging, never by a closed one.
        """
        prof = self._profile()
        await self._cancel_start()
        old = self.node
        self.tor_settings = settings
        self.online = False
        self.node = Node(prof, settings, self.bus)
        if old is not None:
            await _stop_node(old)
        await self.start_node()

    async def _start(self, node: Node) -> None:
        self.bus.publish(NodeStarting())
        try:
            await node.start()
        except Exception as exc:
            if not isinstance(exc, LibraError):
                log.exception("starting the node failed")
            self.bus.publish(NodeStartFailed(exc))
            return
        self.online = True
        self.bus.publish(NodeStarted())

    async def _cancel_start(self) -> None:
        task, self._starting = self._starting, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _close(self) -> None:
        await self._cancel_start()
        for token in list(self._found):
            await self.forget_lookup(token)
        if self.node is not None:
            await _stop_node(self.node)
        if self.profile is not None:
            await self.profile.db.close()
        self.node = self.profile = None
        if self._unsubscribe is not None:
            self._unsubscribe()
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    # -- messages ----------------------------------------------------------------------------

    async def send_text(self, contact_id: int, body: str) -> bytes:
        """Queue a message durably (works offline); it leaves when a link allows."""
        return await self._node().messaging.send_text(contact_id, body)

    async def history(
        self, contact_id: int, before: int | None, limit: int = PAGE
    ) -> list[Message]:
        """``limit`` messages before position ``before`` (None: the newest), oldest first."""
        return await self._conversations().page(contact_id, before, limit)

    async def newer(self, contact_id: int, after: int, limit: int = PAGE) -> list[Message]:
        """Messages after position ``after``, oldest first (what arrived since)."""
        return await self._conversations().newer(contact_id, after, limit)

    async def mark_read(self, contact_id: int) -> None:
        await self._conversations().mark_read(contact_id)

    # -- contacts, requests, alias -----------------------------------------------------------

    async def contacts(self) -> list[ContactSummary]:
        return await self._conversations().summaries()

    async def pending_requests(self) -> list[RequestSummary]:
        pending = await contact_requests.pending(self._profile())
        out = []
        for r in pending:
            card = ContactCard.decode(r.card)
            out.append(
                RequestSummary(r.id, card.display_name, r.message, r.received_at, card.fingerprint)
            )
        return out

    async def accept_request(self, request_id: int) -> None:
        if not self.online:
            raise NotOnline("accepting a request needs the Tor connection")
        await self._node().accept_request(request_id)

    async def decline_request(self, request_id: int) -> None:
        await self._node().decide_request(request_id, Action.DECLINE)

    async def block_request(self, request_id: int) -> None:
        """Decline and block: this person's requests are refused from now on."""
        await self._node().decide_request(request_id, Action.BLOCK)

    async def my_alias(self) -> AliasInfo:
        """Words, invite link and QR (two Argon2id runs the first time, off the loop)."""
        node = self._node()
        state = await node.aliases.state()
        invite = state.invite(node.profile.keys.fingerprint)
        png = await asyncio.to_thread(qr_png, invite, scale=QR_SCALE)
        c = state.config
        return AliasInfo(
            words=state.alias.text,
            link=invite.to_uri(lowercase=True),
            qr_png=png,
            findable=c.findable,
            private=c.private,
            one_time=c.one_time,
            expires=c.expires,
            invite_used=c.invite_used,
            active=state.active,
        )

    async def set_findable(
        self,
        findable: bool,
        *,
        private: bool = False,
        one_time: bool = False,
        expires: int | None = None,
    ) -> AliasInfo:
        """Turn the beacon on or off, public or private, one-time or not (published at once if
        tor is up, else when it is). Private and one-time get a fresh invite each time."""
        node = self._node()
        await node.aliases.set_findable(
            findable, private=private, one_time=one_time, expires=expires
        )
        if self.online:
            await node.refresh_beacon()
        return await self.my_alias()

    async def regenerate_alias(self) -> AliasInfo:
        """New words (and a new invite): the old words and invites stop working."""
        node = self._node()
        await node.aliases.regenerate()
        if self.online:
            await node.refresh_beacon()
        return await self.my_alias()

    # -- adding contacts ---------------------------------------------------------------------

    async def invite_from_image(self, image: bytes | Path) -> Invite:
        """The invite in an image file (its path or bytes); QrError / InviteError if none."""
        return await asyncio.to_thread(find_invite, image)

    async def invite_from_gray(self, pixels: bytes, width: int, height: int, stride: int) -> Invite:
        """The invite in raw 8-bit grey pixels (a clipboard image, a camera frame)."""

        def scan() -> Invite:
            return invite_from_texts(decode_qr_gray(pixels, width, height, stride))

        return await asyncio.to_thread(scan)

    async def lookup(self, target: str | Invite) -> CardPreview:
        """Find someone by words or invite over Tor and verify their beacon; the answer is
        held (with its open link) until the request is sent or the lookup forgotten."""
        if not self.online:
            raise NotOnline("finding people needs the Tor connection")
        node = self._node()
        if isinstance(target, str) and is_invite_uri(target.strip()):
            target = parse_invite(target.strip())
        found = await node.lookup(target)
        token, self._next_token = self._next_token, self._next_token + 1
        self._found[token] = (target, found)
        existing = next(
            (
                c.id
                for c in await contacts_service.list_contacts(node.profile)
                if c.identity_key == found.card.identity_key
            ),
            None,
        )
        return CardPreview(
            token=token,
            display_name=found.card.display_name,
            fingerprint=found.card.fingerprint,
            words="-".join(found.words),
            verified=found.pinned,
            existing_contact_id=existing,
        )

    async def request_contact(self, token: int, message: str) -> int:
        """Send the contact request to the person previewed under ``token``; returns their
        new contact id. If the beacon hung up meanwhile (it waits a minute), look up again
        and insist on the same identity."""
        held = self._found.pop(token, None)
        if held is None:
            raise LookupExpired("look the person up again")
        target, found = held
        node = self._node()
        try:
            if not found.link.is_open:
                await found.close()
                again = await node.lookup(target)
                if again.card.identity_key != found.card.identity_key:
                    await again.close()
                    raise DifferentPerson("these words now answer with another person")
                found = again
            contact = await node.add_contact(
                found.card.encode(), trust="verified" if found.pinned else "known"
            )
            await lookup.send_request(node.profile, found, message)
        finally:
            await found.close()
        return contact.id

    async def forget_lookup(self, token: int) -> None:
        held = self._found.pop(token, None)
        if held is not None:
            with contextlib.suppress(Exception):
                await held[1].close()

    # -- contact details ---------------------------------------------------------------------

    async def contact_details(self, contact_id: int) -> ContactDetails:
        node = self._node()
        contact = await node.trust.contact(contact_id)
        number = await node.trust.safety_number(contact_id)
        png = await asyncio.to_thread(qr_png, number.replace(" ", ""), scale=QR_SCALE)
        default = await direct_policy.global_default(node.profile)
        card = ContactCard.decode(contact.card) if contact.card else None
        return ContactDetails(
            id=contact.id,
            display_name=contact.display_name,
            fingerprint=contact.fingerprint,
            safety_number=number,
            safety_qr_png=png,
            trust=contact.trust,
            blocked=contact.blocked,
            direct_policy=contact.direct_policy,
            direct_default=default,
            direct_allowed=await direct_policy.allowed(node.profile, contact_id),
            key_change_pending=await node.trust.pending_key_change(contact_id) is not None,
            pending_question=node.trust.pending_question(contact_id),
            awaiting_acceptance=card is not None and card.inbox is None,
        )

    async def set_trust(self, contact_id: int, level: str) -> None:
        await self._node().trust.set_trust(contact_id, level)

    async def mark_verified(self, contact_id: int) -> None:
        await self._node().trust.mark_verified(contact_id)

    async def start_verification(self, contact_id: int, question: str, answer: str) -> None:
        await self._node().trust.start_verification(contact_id, question, answer)

    async def answer_verification(self, contact_id: int, answer: str) -> None:
        await self._node().trust.answer_verification(contact_id, answer)

    async def cancel_verification(self, contact_id: int) -> None:
        await self._node().trust.cancel_verification(contact_id)

    async def accept_key_change(self, contact_id: int) -> None:
        await self._node().trust.accept_key_change(contact_id)

    async def reject_key_change(self, contact_id: int) -> None:
        await self._node().trust.reject_key_change(contact_id)

    async def set_direct_policy(self, contact_id: int, policy: str) -> None:
        await self._node().set_direct_policy(contact_id, policy)

    async def set_blocked(self, contact_id: int, blocked: bool) -> None:
        await self._node().set_contact_blocked(contact_id, blocked)

    async def delete_contact(self, contact_id: int) -> None:
        await self._node().remove_contact(contact_id)
        self._conversations().forget(contact_id)

    # -- files -------------------------------------------------------------------------------

    async def send_file(self, contact_id: int, path: Path) -> FileTransfer:
        """Offer a file (hashed off the loop); it streams once the contact accepts."""
        return await self._node().files.send_file(contact_id, path)

    async def accept_file(self, transfer_id: int) -> FileTransfer:
        return await self._node().files.accept(transfer_id)

    async def cancel_file(self, transfer_id: int) -> FileTransfer:
        return await self._node().files.cancel(transfer_id)

    async def save_file(self, transfer_id: int, dest: Path) -> Path:
        """Decrypt a received file to ``dest``, the place the user chose (overwriting it: the
        file dialog already asked)."""
        return await self._node().files.save(transfer_id, dest, overwrite=True)

    async def transfers(self, contact_id: int) -> list[FileTransfer]:
        return await self._node().files.list(contact_id)

    # -- settings (core/services/app_settings.py) --------------------------------------------

    async def _load_settings(self, prof: Profile) -> None:
        self.tor_prefs = await app_settings.tor_prefs(prof)
        self.appearance = await app_settings.appearance(prof)
        self.privacy = await app_settings.privacy(prof)
        if self._stored_tor:
            self.tor_settings = app_settings.tor_settings_from(self.tor_prefs, self.tor_settings)

    async def settings(self) -> app_settings.Snapshot:
        return await app_settings.snapshot(self._profile(), self._node().aliases)

    async def save_tor_prefs(self, prefs: app_settings.TorPrefs) -> app_settings.TorPrefs:
        """Validate and store, then restart tor with them (a fresh node, as restart_tor).
        From now on the stored settings rule, even if the engine began with explicit ones."""
        saved = await app_settings.save_tor(self._profile(), prefs)
        self.tor_prefs = saved
        self._stored_tor = True
        await self.restart_tor(app_settings.tor_settings_from(saved, self.tor_settings))
        return saved

    async def save_privacy(self, prefs: app_settings.PrivacyPrefs) -> app_settings.PrivacyPrefs:
        self.privacy = await app_settings.save_privacy(self._profile(), prefs, self.bus)
        return self.privacy

    async def save_appearance(
        self, prefs: app_settings.AppearancePrefs
    ) -> app_settings.AppearancePrefs:
        self.appearance = await app_settings.save_appearance(self._profile(), prefs)
        return self.appearance

    async def change_passphrase(self, current: str, new: str) -> None:
        """Re-key the open profile (two Argon2id runs on the store's thread)."""
        await app_settings.change_passphrase(self._profile(), current, new)

    # -- helpers -----------------------------------------------------------------------------

    def _profile(self) -> Profile:
        if self.profile is None:
            raise NotUnlocked("the profile is locked")
        return self.profile

    def _node(self) -> Node:
        if self.node is None:
            raise NotUnlocked("the profile is locked")
        return self.node

    def _conversations(self) -> ConversationService:
        if self.conversations is None:
            raise NotUnlocked("the profile is locked")
        return self.conversations


async def _stop_node(node: Node) -> None:
    try:
        await node.stop()
    except Exception:
        log.exception("stopping the node failed")


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    log.error("engine loop: %s", context.get("message"), exc_info=error)


class EngineFacade(QObject):
    """The window's only door to the core: commands return futures, events become signals.

    Lives on the GUI thread. Signals are emitted on the GUI thread only.
    """

    torStatusChanged = Signal(object)  # TorStatus
    pathChanged = Signal(int, str)  # contact id, PathState
    messageReceived = Signal(object)  # MessageReceived
    messageStateChanged = Signal(int, bytes, str)  # contact id, msg id, queued/sent/delivered
    trustChanged = Signal(int, str)  # contact id, new level
    contactsChanged = Signal()
    requestsChanged = Signal()
    requestReceived = Signal(object)  # ContactRequestReceived (id, display name, message)
    keyChanged = Signal(object)  # ContactKeyChanged: loud warning
    verificationRequested = Signal(int, str)  # contact id, their question
    verificationFinished = Signal(object)  # VerificationFinished
    fileChanged = Signal(object)  # FileOffered | FileProgress | FileStateChanged
    appearanceLoaded = Signal(object)  # AppearancePrefs: the profile is unlocked (theme, language)

    _coreEvent = Signal(object)
    _finished = Signal(object, object, object, object)

    def __init__(
        self,
        data_dir: Path,
        *,
        tor_settings: TorSettings | None = None,
        kdf_params: KdfParams = DEFAULT_KDF,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tor_status = TorStatus()
        self._paths = ContactPaths()
        self.profile_info: ProfileInfo | None = None
        self.asking: set[int] = set()  # contacts we asked a verification question, unanswered
        self.questions: dict[int, str] = {}  # contacts' questions to us, unanswered
        self._coreEvent.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.engine = Engine(
            data_dir, tor_settings=tor_settings, kdf_params=kdf_params, on_event=self._forward
        )

    # -- plumbing ----------------------------------------------------------------------------

    def then(
        self,
        future: Future[T],
        receiver: QObject | None,
        ok: Callable[[T], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call ``ok(result)`` or ``failed(error)`` on the GUI thread once ``future`` is done.

        Nothing is called if ``receiver`` was deleted meanwhile (a closed dialog).
        """

        def done(f: Future[T]) -> None:
            with contextlib.suppress(RuntimeError):  # the facade itself is gone: app exit
                self._finished.emit(f, receiver, ok, failed)

        future.add_done_callback(done)

    def _deliver(
        self,
        future: Future[Any],
        receiver: QObject | None,
        ok: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None,
    ) -> None:
        if future.cancelled() or (receiver is not None and not shiboken6.isValid(receiver)):
            return
        error = future.exception()
        if error is None:
            ok(future.result())
        elif failed is not None:
            failed(error)
        else:
            log.error("engine command failed: %s", type(error).__name__, exc_info=error)

    def _forward(self, event: Event) -> None:
        """Engine thread: hand the event to the GUI thread (queued)."""
        with contextlib.suppress(RuntimeError):
            self._coreEvent.emit(event)

    def _dispatch(self, event: Event) -> None:
        """GUI thread: fold one core event into state and typed signals."""
        status = next_tor_status(self.tor_status, event)
        if status is not None:
            self.tor_status = status
            self.torStatusChanged.emit(status)
        path = self._paths.apply(event)
        if path is not None:
            self.pathChanged.emit(*path)
        if isinstance(event, MessageReceived):
            self.messageReceived.emit(event)
        elif isinstance(event, MessageStateChanged):
            self.messageStateChanged.emit(event.contact_id, event.msg_id, event.state)
        elif isinstance(event, TrustChanged):
            self.trustChanged.emit(event.contact_id, event.new)
        elif isinstance(event, ContactKeyChanged):
            self.keyChanged.emit(event)
            self.contactsChanged.emit()
        elif isinstance(event, ContactRequestReceived):
            self.requestReceived.emit(event)
            self.requestsChanged.emit()
        elif isinstance(event, VerificationRequested):
            self.questions[event.contact_id] = event.question
            self.verificationRequested.emit(event.contact_id, event.question)
        elif isinstance(event, VerificationFinished):
            self.questions.pop(event.contact_id, None)
            self.asking.discard(event.contact_id)
            self.verificationFinished.emit(event)
        elif isinstance(event, FileOffered | FileProgress | FileStateChanged):
            self.fileChanged.emit(event)
        elif not isinstance(event, TorEvent | NodeStarting | NodeStarted | NodeStartFailed):
            log.debug("event not shown: %s", type(event).__name__)

    # -- commands ----------------------------------------------------------------------------

    def has_profile(self) -> bool:
        return self.engine.has_profile()

    @property
    def data_dir(self) -> Path:
        return self.engine.data_dir

    @property
    def paths(self) -> dict[int, PathState]:
        """Each contact's current dot state (contacts never reached: absent, i.e. offline)."""
        return self._paths.states

    def use_data_dir(self, data_dir: Path) -> None:
        self.engine.use_data_dir(data_dir)

    @property
    def tor_settings(self) -> TorSettings:
        return self.engine.tor_settings

    def create_profile(self, display_name: str, passphrase: str) -> Future[ProfileInfo]:
        return self._remember(
            self.engine.submit(self.engine.create_profile(display_name, passphrase))
        )

    def unlock(self, passphrase: str) -> Future[ProfileInfo]:
        return self._remember(self.engine.submit(self.engine.unlock(passphrase)))

    def restore_profile(self, source: Path, passphrase: str) -> Future[ProfileInfo]:
        return self._remember(self.engine.submit(self.engine.restore_profile(source, passphrase)))

    def backup(self, dest: Path) -> Future[Path]:
        return self.engine.submit(self.engine.backup(dest))

    def start_node(self) -> Future[None]:
        return self.engine.submit(self.engine.start_node())

    def restart_tor(
        self, *, tor_path: Path | None = None, extra_torrc: list[str] | None = None
    ) -> Future[None]:
        """Retry tor; ``tor_path`` / ``extra_torrc`` replace the current ones when given."""
        settings = self.engine.tor_settings
        if tor_path is not None:
            settings = dataclasses.replace(settings, tor_path=tor_path)
        if extra_torrc is not None:
            settings = dataclasses.replace(settings, extra_torrc=tuple(extra_torrc))
        return self.engine.submit(self.engine.restart_tor(settings))

    def send_text(self, contact_id: int, body: str) -> Future[bytes]:
        return self.engine.submit(self.engine.send_text(contact_id, body))

    def history(
        self, contact_id: int, before: int | None, limit: int = PAGE
    ) -> Future[list[Message]]:
        return self.engine.submit(self.engine.history(contact_id, before, limit))

    def newer(self, contact_id: int, after: int, limit: int = PAGE) -> Future[list[Message]]:
        return self.engine.submit(self.engine.newer(contact_id, after, limit))

    def mark_read(self, contact_id: int) -> Future[None]:
        return self.engine.submit(self.engine.mark_read(contact_id))

    def contacts(self) -> Future[list[ContactSummary]]:
        return self.engine.submit(self.engine.contacts())

    def pending_requests(self) -> Future[list[RequestSummary]]:
        return self.engine.submit(self.engine.pending_requests())

    def accept_request(self, request_id: int) -> Future[None]:
        return self.engine.submit(self.engine.accept_request(request_id))

    def decline_request(self, request_id: int) -> Future[None]:
        return self.engine.submit(self.engine.decline_request(request_id))

    def my_alias(self) -> Future[AliasInfo]:
        return self.engine.submit(self.engine.my_alias())

    def set_findable(
        self,
        findable: bool,
        *,
        private: bool = False,
        one_time: bool = False,
        expires: int | None = None,
    ) -> Future[AliasInfo]:
        return self.engine.submit(
            self.engine.set_findable(findable, private=private, one_time=one_time, expires=expires)
        )

    def regenerate_alias(self) -> Future[AliasInfo]:
        return self.engine.submit(self.engine.regenerate_alias())

    def block_request(self, request_id: int) -> Future[None]:
        return self.engine.submit(self.engine.block_request(request_id))

    # adding contacts

    @staticmethod
    def alias_words() -> tuple[str, ...]:
        """The alias word list, for completion (pure and cached; safe on the GUI thread)."""
        return alias_crypto.wordlist()

    @staticmethod
    def check_alias(text: str) -> str:
        """The canonical words (``amber-falcon-canyon``) of typed text, or AliasSyntaxError
        with suggestions (pure, microseconds: called on every keystroke)."""
        return "-".join(alias_crypto.parse_alias(text))

    @staticmethod
    def is_invite_link(text: str) -> bool:
        return is_invite_uri(text.strip())

    @staticmethod
    def parse_invite_link(text: str) -> Invite:
        """An invite link's contents (InviteError if it is damaged or newer)."""
        return parse_invite(text.strip())

    def invite_from_image(self, image: bytes | Path) -> Future[Invite]:
        return self.engine.submit(self.engine.invite_from_image(image))

    def invite_from_gray(
        self, pixels: bytes, width: int, height: int, stride: int
    ) -> Future[Invite]:
        return self.engine.submit(self.engine.invite_from_gray(pixels, width, height, stride))

    def lookup(self, target: str | Invite) -> Future[CardPreview]:
        return self.engine.submit(self.engine.lookup(target))

    def request_contact(self, token: int, message: str) -> Future[int]:
        return self._changes_contacts(
            self.engine.submit(self.engine.request_contact(token, message))
        )

    def forget_lookup(self, token: int) -> Future[None]:
        return self.engine.submit(self.engine.forget_lookup(token))

    # contact details

    def contact_details(self, contact_id: int) -> Future[ContactDetails]:
        return self.engine.submit(self.engine.contact_details(contact_id))

    def set_trust(self, contact_id: int, level: str) -> Future[None]:
        return self.engine.submit(self.engine.set_trust(contact_id, level))

    def mark_verified(self, contact_id: int) -> Future[None]:
        return self.engine.submit(self.engine.mark_verified(contact_id))

    def start_verification(self, contact_id: int, question: str, answer: str) -> Future[None]:
        future = self.engine.submit(self.engine.start_verification(contact_id, question, answer))
        self.then(future, self, lambda _: self.asking.add(contact_id), lambda _e: None)
        return future

    def answer_verification(self, contact_id: int, answer: str) -> Future[None]:
        return self.engine.submit(self.engine.answer_verification(contact_id, answer))

    def cancel_verification(self, contact_id: int) -> Future[None]:
        return self.engine.submit(self.engine.cancel_verification(contact_id))

    def accept_key_change(self, contact_id: int) -> Future[None]:
        return self.engine.submit(self.engine.accept_key_change(contact_id))

    def reject_key_change(self, contact_id: int) -> Future[None]:
        return self.engine.submit(self.engine.reject_key_change(contact_id))

    def set_direct_policy(self, contact_id: int, policy: str) -> Future[None]:
        return self._changes_contacts(
            self.engine.submit(self.engine.set_direct_policy(contact_id, policy))
        )

    def set_blocked(self, contact_id: int, blocked: bool) -> Future[None]:
        return self._changes_contacts(
            self.engine.submit(self.engine.set_blocked(contact_id, blocked))
        )

    def delete_contact(self, contact_id: int) -> Future[None]:
        return self._changes_contacts(self.engine.submit(self.engine.delete_contact(contact_id)))

    def _changes_contacts(self, future: Future[T]) -> Future[T]:
        """The core publishes no event for these: say ``contactsChanged`` once done."""
        self.then(future, self, lambda _: self.contactsChanged.emit(), lambda _e: None)
        return future

    # files

    def send_file(self, contact_id: int, path: Path) -> Future[FileTransfer]:
        return self.engine.submit(self.engine.send_file(contact_id, path))

    def accept_file(self, transfer_id: int) -> Future[FileTransfer]:
        return self.engine.submit(self.engine.accept_file(transfer_id))

    def cancel_file(self, transfer_id: int) -> Future[FileTransfer]:
        return self.engine.submit(self.engine.cancel_file(transfer_id))

    def save_file(self, transfer_id: int, dest: Path) -> Future[Path]:
        return self.engine.submit(self.engine.save_file(transfer_id, dest))

    def transfers(self, contact_id: int) -> Future[list[FileTransfer]]:
        return self.engine.submit(self.engine.transfers(contact_id))

    # settings

    @property
    def tor_prefs(self) -> app_settings.TorPrefs:
        """The stored Tor settings (defaults until unlocked)."""
        return self.engine.tor_prefs

    @property
    def appearance(self) -> app_settings.AppearancePrefs:
        return self.engine.appearance

    @property
    def privacy(self) -> app_settings.PrivacyPrefs:
        """The stored privacy settings (e.g. what notifications show; defaults until unlocked)."""
        return self.engine.privacy

    def settings(self) -> Future[app_settings.Snapshot]:
        return self.engine.submit(self.engine.settings())

    def save_tor_prefs(self, prefs: app_settings.TorPrefs) -> Future[app_settings.TorPrefs]:
        """Store (validated) and reconnect: tor restarts with the new settings."""
        return self.engine.submit(self.engine.save_tor_prefs(prefs))

    def update_tor_prefs(self, **changes: Any) -> Future[app_settings.TorPrefs]:
        """``save_tor_prefs`` of the stored Tor settings with ``changes`` (TorPrefs fields)."""
        prefs = dataclasses.replace(self.engine.tor_prefs, **changes)
        return self.save_tor_prefs(prefs)

    def save_privacy(self, prefs: app_settings.PrivacyPrefs) -> Future[app_settings.PrivacyPrefs]:
        return self.engine.submit(self.engine.save_privacy(prefs))

    def save_appearance(
        self, prefs: app_settings.AppearancePrefs
    ) -> Future[app_settings.AppearancePrefs]:
        return self.engine.submit(self.engine.save_appearance(prefs))

    def change_passphrase(self, current: str, new: str) -> Future[None]:
        return self.engine.submit(self.engine.change_passphrase(current, new))

    def shutdown(self) -> None:
        """Blocking clean stop (node, store, thread); call once, when the window closes."""
        self.engine.shutdown()

    def _remember(self, future: Future[ProfileInfo]) -> Future[ProfileInfo]:
        def keep(f: Future[ProfileInfo]) -> None:
            if not f.cancelled() and f.exception() is None:
                self.profile_info = f.result()

        future.add_done_callback(keep)
        # Registered before any caller's then(): the stored language and theme are applied
        # (app.py) before the window that follows the unlock is built.
        self.then(
            future, self, lambda _info: self.appearanceLoaded.emit(self.appearance), lambda _e: None
        )
        return future
