"""A running Libra node: the composition root that wires tor, inbox, links and messaging.

One ``Node`` per unlocked profile, used by `libra-cli run` and by the GUI's engine thread.
It owns no protocol logic: it starts tor (``net.tor``), publishes our inbox onion service with
v3 client authorization for exactly our contacts, keeps one Tor link per contact
(``net.peers``) by dialling their inboxes through tor's SOCKS port with per-contact stream
isolation, races a direct WebRTC path against it where the policy allows
(``services.direct``), and hands the active link to ``MessagingService`` and
``FileService``::

    PeerLinks (Tor) -> DirectService (Tor or direct) -> _Sink -> messaging, files
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..crypto.onion import client_auth_public_b32
from ..errors import LibraError
from ..net.link import Link
from ..net.peers import PeerConfig, PeerInfo, PeerLinks
from ..net.tor.events import TorEvent, TorRestarted
from ..net.tor.manager import TorManager
from ..net.tor.settings import TorSettings
from ..net.tor.socks import open_stream
from ..net.webrtc.attempt import DirectConfig, IceServer
from ..protocol.card import ContactCard
from ..protocol.records import LinkRecord
from ..protocol.requests import Action
from ..protocol.uri import Invite
from ..storage.contacts import Contact
from . import contact_requests, direct_policy
from . import contacts as contacts_service
from . import lookup as lookup_service
from .aliases import AliasService
from .beacon import BeaconService
from .direct import DirectService, DirectServiceConfig, webrtc_attempts
from .direct_policy import DirectPolicyChanged
from .events import Event, EventBus, LinkStateChanged, TrustChanged
from .files import FileService
from .messaging import MessagingService
from .profile import Profile
from .trust import TrustService

log = logging.getLogger(__name__)

INBOX_PORT = 5757  # virtual port of every Libra inbox onion service
DIAL_TIMEOUT = 120.0  # a first connect to a fresh onion service can take a while


@dataclass(frozen=True)
class _Reachable:
    """A contact we can dial: its card says where its inbox is."""

    contact: Contact
    card: ContactCard


class _Sink:
    """Forwards the active link (Tor or direct) to messaging and files; publishes changes."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._messaging, self._files, self._bus = node.messaging, node.files, node.bus

    async def link_up(self, contact_id: int, link: Link) -> None:
        await self._node._learn_card(contact_id, link.peer_identity, link.peer_card)
        self._bus.publish(LinkStateChanged(contact_id, "up", self._path(link)))
        await self._messaging.link_up(contact_id, link)
        await self._files.link_up(contact_id, link)

    async def link_down(self, contact_id: int, link: Link | None = None) -> None:
        await self._messaging.link_down(contact_id, link)
        await self._files.link_down(contact_id, link)
        path = "tor" if link is None else self._path(link)
        self._bus.publish(LinkStateChanged(contact_id, "down", path))

    def _path(self, link: Link) -> str:
        direct = self._node.direct
        return "direct" if direct is not None and direct.is_direct(link) else "tor"

    async def receive(self, contact_id: int, records: Sequence[LinkRecord]) -> None:
        await self._messaging.receive(contact_id, records)
        await self._files.receive(contact_id, records)


class Node:
    """Profile + tor + inbox + links + messaging, started and stopped together."""

    def __init__(
        self,
        profile: Profile,
        tor_settings: TorSettings,
        bus: EventBus,
        *,
        peer_config: PeerConfig | None = None,
        direct_config: DirectServiceConfig | None = None,
        ice_servers: Sequence[IceServer] | None = None,
    ) -> None:
        """``ice_servers`` overrides the stored STUN/TURN servers for this run (None: use the
        store's; an empty list: none, host candidates only)."""
        self.profile = profile
        self.bus = bus
        self.messaging = MessagingService(profile, bus)
        self.files = FileService(profile, bus, self.messaging)
        self.tor = TorManager(tor_settings, on_event=self._on_tor_event)
        self.aliases = AliasService(profile)
        self.trust = TrustService(profile, bus, self.messaging)
        self.beacon = BeaconService(profile, self.aliases, self.tor, bus)
        self._peer_config = peer_config
        self._direct_config = direct_config or DirectServiceConfig()
        self._ice_override = None if ice_servers is None else list(ice_servers)
        self.direct: DirectService | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        bus.add_listener(self._on_bus_event)
        self._identities: dict[bytes, int] = {}  # identity key -> contact id (accepted peers)
        self._inboxes: dict[int, str] = {}  # contact id -> its inbox onion address
        self._server: asyncio.Server | None = None
        self.peers: PeerLinks | None = None
        self.address: str | None = None
        self.inbox_target_port: int | None = None  # loopback port tor forwards the inbox to

    async def start(self) -> None:
        """Start tor, publish the inbox, and start dialling every contact with an inbox."""
        await self.files.start()  # resume transfers before any link comes up
        await self.tor.start()
        self.address = self.profile.inbox_key.address
        self.direct = DirectService(
            self.profile.keys,
            sink=_Sink(self),
            bus=self.bus,
            allowed=lambda contact_id: direct_policy.allowed(self.profile, contact_id),
            attempts=webrtc_attempts(await self._webrtc_config()),
            config=self._direct_config,
        )
        self.peers = PeerLinks(
            self.profile.keys,
            sink=self.direct,
            contact_for=self._identities.get,
            dial=self._dial,
            accept_context=b"onion:" + self.address.encode(),
            card=self.profile.card.encode(),  # the full card (with our inbox) goes to contacts
            config=self._peer_config,
        )
        self._server = await asyncio.start_server(self.peers.handle_inbound, "127.0.0.1", 0)
        target = self.inbox_target_port = self._server.sockets[0].getsockname()[1]
        known = await self._reachable()
        await self.tor.add_onion(
            self.profile.inbox_key.expanded,
            INBOX_PORT,
            target,
            client_auth_v3=self._authorized_clients(known),
            require_client_auth=True,  # no contacts yet still means: strangers see nothing
        )
        for item in known:
            await self._follow(item)
        await self.beacon.refresh()

    async def stop(self) -> None:
        """Close links, messaging and tor (the caller closes the profile's store)."""
        await self.beacon.stop()
        if self.direct is not None:
            await self.direct.close()  # direct links first: no switch back to Tor meanwhile
        if self.peers is not None:
            await self.peers.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.trust.close()
        await self.files.close()
        await self.messaging.close()
        await self.tor.stop()

    async def lookup(
        self, target: str | Invite, *, timeout: float = lookup_service.LOOKUP_TIMEOUT
    ) -> lookup_service.Found:
        """Find a beacon by words or invite and verify it (the caller closes the result)."""
        return await lookup_service.find(self.tor, target, timeout=timeout)

    async def request_contact(self, target: str | Invite, message: str) -> Contact:
        """Look up, send a contact request, and keep the owner as a contact.

        The owner is stored at once (trust "known" for words, "verified" when an invite
        pinned the fingerprint) so that when they accept, their link to our inbox is
        authorized and accepted; their inbox address arrives in that link's handshake.
        """
        found = await self.lookup(target)
        try:
            contact = await self.add_contact(
                found.card.encode(), trust="verified" if found.pinned else "known"
            )
            await lookup_service.send_request(self.profile, found, message)
        finally:
            await found.close()
        return contact

    async def accept_request(self, request_id: int) -> Contact:
        """Accept a pending request: the requester becomes a contact we authorize and dial."""
        decided = await contact_requests.decide(self.profile, request_id, Action.ACCEPT)
        contact = await self.add_contact(decided.card)
        self.beacon.forget(decided.identity_key)
        return contact

    async def decide_request(self, request_id: int, action: Action | str) -> None:
        """Decline, block or unblock (the beacon's gate learns it at once)."""
        decided = await contact_requests.decide(self.profile, request_id, action)
        self.beacon.on_decided(decided.identity_key, Action(action))

    async def set_direct_policy(self, contact_id: int, policy: str) -> Contact:
        """'allowed', 'off' or 'default' for one contact; takes effect at once (the bus
        event makes the direct service re-evaluate and tell the contact)."""
        return await direct_policy.set_contact_policy(self.profile, contact_id, policy, self.bus)

    async def refresh_beacon(self) -> None:
        await self.beacon.refresh()

    async def add_contact(self, card_bytes: bytes, *, trust: str = "known") -> Contact:
        """Add a contact from its card while running: authorize it and start dialling."""
        contact = await contacts_service.add_from_card(
            self.profile,
            card_bytes,
            trust=trust,  # type: ignore[arg-type]
            bus=self.bus,
        )
        known = await self._reachable()
        if self.address is not None:
            await self.tor.set_onion_clients(self.address, self._authorized_clients(known))
        for item in known:
            if item.contact.id == contact.id:
                await self._follow(item)
        return contact

    async def remove_contact(self, contact_id: int) -> Contact:
        """Delete a contact and everything kept for it (contacts.remove), after cutting it off:
        unfinished file transfers are cancelled, it is no longer accepted or dialled, and
        its client authorization on our inbox is revoked."""
        for transfer in await self.files.list(contact_id):
            if transfer.state not in ("done", "failed", "cancelled"):
                with contextlib.suppress(LibraError):
                    await self.files.cancel(transfer.id)
        await self._cut_off(contact_id)
        contact = await contacts_service.remove(self.profile, contact_id)
        await self.messaging.reset_peer(contact_id)
        await self._reauthorize()
        return contact

    async def set_contact_blocked(self, contact_id: int, blocked: bool) -> Contact:
        """Block (cut off and refuse, requests included) or unblock (follow again)."""
        contact = await contacts_service.set_blocked(self.profile, contact_id, blocked)
        action = Action.BLOCK if blocked else Action.UNBLOCK
        self.beacon.on_decided(contact.identity_key, action)
        if blocked:
            await self._cut_off(contact_id)
        known = await self._reauthorize()
        if not blocked and self.peers is not None:
            for item in known:
                if item.contact.id == contact_id:
                    await self._follow(item)
        return contact

    # -- internals ---------------------------------------------------------------------------

    async def _cut_off(self, contact_id: int) -> None:
        """Stop accepting and dialling a contact, close its link, forget our key for its
        inbox (the caller updates who may reach ours)."""
        for identity, cid in list(self._identities.items()):
            if cid == contact_id:
                del self._identities[identity]
        if self.peers is not None:
            await self.peers.remove(contact_id)
        inbox = self._inboxes.pop(contact_id, None)
        if inbox is not None and self.address is not None:
            with contextlib.suppress(LibraError):
                await self.tor.remove_client_auth(inbox)

    async def _reauthorize(self) -> list[_Reachable]:
        """Give our inbox exactly the current (unblocked) contacts' client keys."""
        known = await self._reachable()
        if self.address is not None:
            await self.tor.set_onion_clients(self.address, self._authorized_clients(known))
        return known

    async def _webrtc_config(self) -> DirectConfig:
        specs = self._ice_override
        if specs is None:
            specs = await direct_policy.ice_servers(self.profile)
        return DirectConfig(
            ice_servers=tuple(specs),
            connect_timeout=self._direct_config.path.attempt_timeout,
        )

    def _on_bus_event(self, event: Event) -> None:
        """Policy inputs changed (the user's choice or a trust level): re-evaluate."""
        if self.direct is None or not isinstance(event, DirectPolicyChanged | TrustChanged):
            return
        task = asyncio.get_running_loop().create_task(self.direct.policy_changed(event.contact_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _learn_card(self, contact_id: int, identity: bytes, card_bytes: bytes | None) -> None:
        """A contact's handshake carried its card: keep a newer one, follow a new inbox.

        This is how someone who found us by alias learns our inbox: only contacts ever see it,
        inside the Noise handshake. A card with other keys is refused (contacts.KeyChanged).
        """
        if card_bytes is None:
            return
        try:
            card = ContactCard.decode(card_bytes)
            if card.identity_key != identity:  # a card must be its sender's own
                raise LibraError("the card belongs to another identity")
            contact = await contacts_service.add_from_card(self.profile, card_bytes, bus=self.bus)
        except LibraError as exc:
            log.warning("contact %d sent a card we do not accept: %s", contact_id, exc)
            return
        if contact.id == contact_id and card.inbox and self._inboxes.get(contact_id) != card.inbox:
            for item in await self._reachable():
                if item.contact.id == contact_id:
                    await self._follow(item)

    async def _reachable(self) -> list[_Reachable]:
        out = []
        for contact in await contacts_service.list_contacts(self.profile):
            if contact.blocked or contact.card is None:
                continue
            self._identities[contact.identity_key] = contact.id
            out.append(_Reachable(contact, ContactCard.decode(contact.card)))
        return out

    @staticmethod
    def _authorized_clients(known: list[_Reachable]) -> list[str]:
        return [
            client_auth_public_b32(item.card.client_auth_key)
            for item in known
            if item.card.client_auth_key is not None
        ]

    async def _follow(self, item: _Reachable) -> None:
        """Give tor our client-auth key for the contact's inbox and keep a link to it."""
        assert self.peers is not None
        inbox = item.card.inbox
        if inbox is None:
            return  # it can still reach us; we cannot reach it
        await self.tor.add_client_auth(inbox, self.profile.client_auth.private_b64)
        self.peers.add(
            PeerInfo(
                contact_id=item.contact.id,
                identity=item.contact.identity_key,
                static_key=item.card.static_key,
                context=b"onion:" + inbox.encode(),
            )
        )
        self._inboxes[item.contact.id] = inbox

    async def _dial(self, peer: PeerInfo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = await self.tor.socks_endpoint()
        inbox = self._inboxes[peer.contact_id]
        return await open_stream(
            host,
            port,
            inbox + ".onion",
            INBOX_PORT,
            isolation=f"libra-contact-{peer.identity.hex()[:32]}",
            timeout=DIAL_TIMEOUT,
        )

    def _on_tor_event(self, event: TorEvent) -> None:
        self.bus.publish(event)
        if isinstance(event, TorRestarted) and self.peers is not None:
            self.peers.kick()  # tor is back: retry every contact now, not after the back-off
