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

from ..core.errors import LibraError
from ..core.events import Event
from ..core.net.tor.events import TorEvent
from ..core.net.tor.settings import TorSettings
from ..core.protocol.card import ContactCard
from ..core.protocol.requests import Action
from ..core.services import contact_requests
from ..core.services import profile as profile_service
from ..core.services.beacon import ContactRequestReceived
from ..core.services.events import (
    ContactKeyChanged,
    EventBus,
    MessageReceived,
    MessageStateChanged,
    TrustChanged,
)
from ..core.services.node import Node
from ..core.services.profile import Profile
from ..core.services.qr import qr_png
from ..core.storage import DEFAULT_KDF, Database, KdfParams
from ..core.storage import contacts as contacts_repo
from ..core.storage import conversations as conversations_repo
from ..core.storage import messages as messages_repo
from ..core.storage._conn import Connection
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


@dataclass(frozen=True)
class ContactSummary:
    """One row of the contact list."""

    id: int
    display_name: str
    trust: str
    blocked: bool
    unread: int
    last_activity: int | None
    preview: str
    preview_outgoing: bool


@dataclass(frozen=True)
class RequestSummary:
    """A pending contact request, as the requests section shows it."""

    id: int
    display_name: str
    message: str
    received_at: int


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
        self.bus = EventBus()
        self.profile: Profile | None = None
        self.node: Node | None = None
        self.online = False
        self._kdf = kdf_params
        self._unsubscribe = self.bus.add_listener(on_event) if on_event else None
        self._starting: asyncio.Task[None] | None = None
        self._conversations: dict[int, int] = {}  # contact id -> conversation id
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

    async def unlock(self, passphrase: str) -> ProfileInfo:
        """Open the store and build (not start) the node: messages can be queued at once."""
        if self.profile is not None:
            raise LibraError("the profile is already unlocked")
        prof = await profile_service.unlock(self.data_dir, passphrase)
        self.profile = prof
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
        conversation = await self._conversation(contact_id)
        return await self._profile().db.run(
            messages_repo.latest, conversation, limit, before=before
        )

    async def newer(self, contact_id: int, after: int, limit: int = PAGE) -> list[Message]:
        """Messages after position ``after``, oldest first (what arrived since)."""
        conversation = await self._conversation(contact_id)
        return await self._profile().db.run(messages_repo.newer, conversation, after, limit)

    async def mark_read(self, contact_id: int) -> None:
        conversation = await self._conversation(contact_id)
        await self._profile().db.run(conversations_repo.mark_read, conversation)

    # -- contacts, requests, alias -----------------------------------------------------------

    async def contacts(self) -> list[ContactSummary]:
        return await self._profile().db.run(_contact_summaries)

    async def pending_requests(self) -> list[RequestSummary]:
        pending = await contact_requests.pending(self._profile())
        return [
            RequestSummary(r.id, ContactCard.decode(r.card).display_name, r.message, r.received_at)
            for r in pending
        ]

    async def accept_request(self, request_id: int) -> None:
        if not self.online:
            raise NotOnline("accepting a request needs the Tor connection")
        await self._node().accept_request(request_id)

    async def decline_request(self, request_id: int) -> None:
        await self._node().decide_request(request_id, Action.DECLINE)

    async def my_alias(self) -> AliasInfo:
        """Words, invite link and QR (two Argon2id runs the first time, off the loop)."""
        node = self._node()
        state = await node.aliases.state()
        invite = state.invite(node.profile.keys.fingerprint)
        png = await asyncio.to_thread(qr_png, invite, scale=QR_SCALE)
        return AliasInfo(
            words=state.alias.text,
            link=invite.to_uri(lowercase=True),
            qr_png=png,
            findable=state.config.findable,
        )

    async def set_findable(self, findable: bool) -> AliasInfo:
        """Turn the beacon on or off (published at once if tor is up, else when it is)."""
        node = self._node()
        await node.aliases.set_findable(findable)
        if self.online:
            await node.refresh_beacon()
        return await self.my_alias()

    # -- helpers -----------------------------------------------------------------------------

    def _profile(self) -> Profile:
        if self.profile is None:
            raise NotUnlocked("the profile is locked")
        return self.profile

    def _node(self) -> Node:
        if self.node is None:
            raise NotUnlocked("the profile is locked")
        return self.node

    async def _conversation(self, contact_id: int) -> int:
        found = self._conversations.get(contact_id)
        if found is None:
            conv = await self._profile().db.run(conversations_repo.for_contact, contact_id)
            found = self._conversations[contact_id] = conv.id
        return found


async def _stop_node(node: Node) -> None:
    try:
        await node.stop()
    except Exception:
        log.exception("stopping the node failed")


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    log.error("engine loop: %s", context.get("message"), exc_info=error)


# Store read the services do not offer yet (contact list with unread counts and previews);
# it belongs in a core service next to contacts and messaging.
def _contact_summaries(conn: Connection) -> list[ContactSummary]:
    conversations = {c.contact_id: c for c in conversations_repo.list_all(conn)}
    newest = messages_repo.newest_per_conversation(conn)
    out = []
    for contact in contacts_repo.list_all(conn):
        conv = conversations.get(contact.id)
        last = newest.get(conv.id) if conv is not None else None
        out.append(
            ContactSummary(
                id=contact.id,
                display_name=contact.display_name,
                trust=contact.trust,
                blocked=contact.blocked,
                unread=conv.unread if conv is not None else 0,
                last_activity=conv.last_activity if conv is not None else None,
                preview=last.body[:200] if last is not None else "",
                preview_outgoing=last is not None and last.direction == "out",
            )
        )
    out.sort(key=lambda c: -(c.last_activity or 0))  # stable: by name within equal times
    return out


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
            self.contactsChanged.emit()
        elif isinstance(event, ContactRequestReceived):
            self.requestsChanged.emit()
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

    def set_findable(self, findable: bool) -> Future[AliasInfo]:
        return self.engine.submit(self.engine.set_findable(findable))

    def shutdown(self) -> None:
        """Blocking clean stop (node, store, thread); call once, when the window closes."""
        self.engine.shutdown()

    def _remember(self, future: Future[ProfileInfo]) -> Future[ProfileInfo]:
        def keep(f: Future[ProfileInfo]) -> None:
            if not f.cancelled() and f.exception() is None:
                self.profile_info = f.result()

        future.add_done_callback(keep)
        return future
