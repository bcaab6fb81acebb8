"""My beacon: the onion service strangers find by my three words, and the requests it takes.

Runs only while the alias is findable (services/aliases.py). Anyone may open a Noise link to
it (with a throwaway identity); on it they may ask for my *public* card (no inbox address)
and send one contact request, which passes the RequestGate (rate limits, quota, block list,
proof of work, signature) before anything is stored. Everything else closes the link.
Deciding on requests (accept / decline / block / unblock) is in services/requests.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..crypto.onion import ClientAuthKey
from ..events import Event
from ..net.link import Link, LinkConfig
from ..net.tor.manager import TorManager
from ..protocol.card import ContactCard
from ..protocol.records import CardReply, CardRequest, ContactRequestRecord, LinkRecord
from ..protocol.requests import Action, GateConfig, RequestGate
from ..storage import requests as requests_repo
from ..storage._conn import Connection
from .aliases import AliasService, AliasState
from .events import EventBus
from .profile import Profile

log = logging.getLogger(__name__)

BEACON_PORT = 5758
MAX_BEACON_CONNECTIONS = 32
BEACON_LINK = LinkConfig(handshake_timeout=30.0, dead_after=30.0, heartbeat_interval=10.0)
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class ContactRequestReceived(Event):
    """A stranger's request passed the gate and waits for the owner's decision."""

    request_id: int
    display_name: str
    message: str


def public_card(profile: Profile) -> ContactCard:
    """What the beacon shows: name and keys, but not the inbox (only contacts learn it)."""
    full = profile.card
    return ContactCard.create(
        profile.keys,
        full.display_name,
        full.ratchet_key,
        created=full.created,
        client_auth_key=full.client_auth_key,
    )


class BeaconService:
    """Start/stop the beacon to match the alias settings; answer lookups and requests."""

    def __init__(
        self, profile: Profile, aliases: AliasService, tor: TorManager, bus: EventBus
    ) -> None:
        self._profile, self._aliases, self._tor, self._bus = profile, aliases, tor, bus
        self._server: asyncio.Server | None = None
        self._address: str | None = None
        self._gate: RequestGate | None = None
        self._state: AliasState | None = None
        self._gate_lock = asyncio.Lock()
        self._links: set[Link] = set()
        self._card = public_card(profile).encode()

    @property
    def address(self) -> str | None:
        """The running beacon's onion address (None: not findable right now)."""
        return self._address

    async def refresh(self) -> None:
        """Bring the beacon in line with the current alias settings."""
        await self.stop()
        if not (await self._aliases.config()).active:
            return  # not findable: skip the Argon2id derivations entirely
        state = await self._aliases.state()
        if state.active:
            await self._start(state)

    async def _start(self, state: AliasState) -> None:
        config = state.config
        self._gate = await self._profile.db.run(
            _restore_gate,
            GateConfig(
                beacon=state.beacon_address,
                one_time=config.one_time,
                expires_at=None if config.expires is None else config.expires * 1000,
            ),
        )
        self._state = state
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        clients = []
        if config.credential is not None:
            clients.append(ClientAuthKey.from_private(config.credential).public_b32)
        self._address = await self._tor.add_onion(
            state.beacon_key.expanded,
            BEACON_PORT,
            port,
            client_auth_v3=clients,
            require_client_auth=bool(clients),
        )

    async def stop(self) -> None:
        if self._address is not None:
            with contextlib.suppress(Exception):
                await self._tor.remove_onion(self._address)
            self._address = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.abort()

    def forget(self, identity_key: bytes) -> None:
        """A request from this identity was accepted: it no longer counts as pending."""
        if self._gate is not None:
            self._gate.on_decided(identity_key, Action.ACCEPT)

    def on_decided(self, identity_key: bytes, action: Action) -> None:
        if self._gate is not None:
            self._gate.on_decided(identity_key, action)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._links) >= MAX_BEACON_CONNECTIONS:
            writer.transport.abort()
            return
        address = self._address or ""
        try:
            link = await Link.accept(
                reader,
                writer,
                self._profile.keys,
                accept_peer=lambda _identity: True,  # strangers, by design
                context=b"beacon:" + address.encode(),
                config=BEACON_LINK,
            )
        except Exception as exc:
            log.info("beacon link failed: %s: %s", type(exc).__name__, exc)
            return
        self._links.add(link)
        answered = asyncio.Event()

        async def on_records(records: Sequence[LinkRecord]) -> None:
            for record in records:
                if isinstance(record, CardRequest):
                    counter = self._state.alias.counter if self._state else 0
                    bits = self._gate.config.pow_bits if self._gate else 0
                    link.send([CardReply(card=self._card, counter=counter, pow_bits=bits)])
                elif isinstance(record, ContactRequestRecord) and not answered.is_set():
                    link.send([await self._handle_request(record)])
                    answered.set()
                else:
                    answered.set()  # anything else ends the conversation

        link.deliver_to(on_records)
        # Until answered, or the visitor hung up (a plain lookup ends with Close, which is
        # not a data record): a closed link must not hold one of the few slots.
        waits = [asyncio.ensure_future(answered.wait()), asyncio.ensure_future(link.closed.wait())]
        try:
            await asyncio.wait(
                waits,
                timeout=BEACON_LINK.handshake_timeout * 2,
                return_when=asyncio.FIRST_COMPLETED,
            )
            await link.close("done")
        finally:
            for waiter in waits:
                waiter.cancel()
            self._links.discard(link)

    async def _handle_request(self, record: ContactRequestRecord) -> LinkRecord:
        async with self._gate_lock:
            gate = self._gate
            if gate is None:
                from ..protocol.records import RequestResult
                from ..protocol.requests import RequestStatus

                return RequestResult(RequestStatus.EXPIRED, 0)
            now = int(time.time() * 1000)
            # Verification includes an Argon2id proof-of-work check: off the event loop.
            decision = await asyncio.to_thread(gate.check, record, now)
            if decision.store is not None:
                stored = decision.store
                row = await self._profile.db.transaction(
                    lambda conn: requests_repo.add_pending(
                        conn, stored.identity_key, stored.card, stored.message
                    )
                )
                self._bus.publish(
                    ContactRequestReceived(row.id, stored.display_name, stored.message)
                )
            if decision.invite_consumed:
                # Persisted, so the beacon stays down after a restart. While this run lasts
                # it keeps answering INVITE_USED: a clean refusal instead of a timeout.
                await self._aliases.mark_invite_used()
            return decision.reply()


def _restore_gate(conn: Connection, config: GateConfig) -> RequestGate:
    since = int(time.time() * 1000) - HOUR_MS
    return RequestGate.restore(
        config,
        pending=requests_repo.pending_keys(conn),
        blocked=[b.identity_key for b in requests_repo.list_blocked(conn)],
        shadow=requests_repo.shadow_keys(conn),
        recent=requests_repo.received_since(conn, since),
    )
