"""Finding someone by their three words (or an invite) and sending them a contact request.

Order matters for privacy: we connect to the beacon under a throwaway identity, the Noise
handshake proves the beacon holds the static key of the identity it claims, and the card it
returns must be that identity's and must derive exactly these words (alias binding). Only
then do we reveal who we are, inside the same encrypted link. An impostor beacon (anyone can
compute a public beacon's key from the words) fails one of those checks and learns nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..crypto import alias as alias_crypto
from ..crypto.identity import IdentityKeys, fingerprint
from ..crypto.onion import client_auth_private_b64
from ..errors import LibraError
from ..net.link import Link, LinkConfig
from ..net.tor.errors import SocksError
from ..net.tor.manager import TorManager
from ..net.tor.socks import open_stream
from ..protocol.card import ContactCard
from ..protocol.records import (
    CardReply,
    CardRequest,
    LinkRecord,
    RequestResult,
)
from ..protocol.requests import RequestStatus, make_request
from ..protocol.uri import Invite
from .beacon import BEACON_PORT
from .profile import Profile

LOOKUP_TIMEOUT = 90.0  # a fresh descriptor can take a while to appear on the HSDirs
REPLY_TIMEOUT = 60.0
RETRYABLE_SOCKS = {0xF0, 0xF2, 0xF3, 0xF6, 0xF7, 0x01, 0x04, 0x05, 0x06}


class LookupFailed(LibraError):
    """A lookup or request failed; the message tells the user what to do."""


class AliasNotFound(LookupFailed):
    """No beacon answered for these words within the time limit."""


class ImpostorBeacon(LookupFailed):
    """The beacon's card does not belong to these words (or to the invite's fingerprint)."""


class RequestRefused(LookupFailed):
    """The owner's beacon refused the request (rate limit, used invite, ...)."""

    def __init__(self, status: RequestStatus, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass
class Found:
    """A verified beacon answer, with the still-open link to send a request on."""

    words: tuple[str, str, str]
    address: str
    card: ContactCard
    counter: int
    pow_bits: int
    pinned: bool  # True if an invite's fingerprint matched (adding by QR/link: verified)
    link: Link
    replies: asyncio.Queue[LinkRecord]

    async def close(self) -> None:
        await self.link.close("done")


async def find(tor: TorManager, target: str | Invite, *, timeout: float = LOOKUP_TIMEOUT) -> Found:
    """Look up words or an invite; verify the beacon before trusting anything it says."""
    invite = target if isinstance(target, Invite) else None
    words = invite.words if invite else alias_crypto.parse_alias(str(target))
    if invite is not None and invite.onion is not None:
        address = invite.onion
    else:
        address = await asyncio.to_thread(alias_crypto.beacon_address, words)
    if invite is not None and invite.credential is not None:
        await tor.add_client_auth(address, client_auth_private_b64(invite.credential))
    reader, writer = await _connect(tor, address, timeout)
    throwaway = IdentityKeys.generate()  # who we are stays hidden until the beacon checks out
    replies: asyncio.Queue[LinkRecord] = asyncio.Queue()
    link = await Link.connect(
        reader,
        writer,
        throwaway,
        expected_identity=None,
        context=b"beacon:" + address.encode(),
        config=LinkConfig(handshake_timeout=REPLY_TIMEOUT),
    )

    async def collect(records: Sequence[LinkRecord]) -> None:
        for record in records:
            replies.put_nowait(record)

    link.deliver_to(collect)
    try:
        link.send([CardRequest()])
        reply = await _next(replies, CardReply)
        card = ContactCard.decode(reply.card)
        if card.identity_key != link.peer_identity:
            raise ImpostorBeacon("the beacon answered with someone else's card; not added")
        try:
            await asyncio.to_thread(
                alias_crypto.verify_binding, words, card.identity_key, reply.counter
            )
        except alias_crypto.AliasMismatch:
            raise ImpostorBeacon(
                "whoever answers for these words is not their owner (impostor); nothing was sent"
            ) from None
        pinned = False
        if invite is not None:
            if fingerprint(card.identity_key) != invite.fingerprint:
                raise ImpostorBeacon("the beacon's identity does not match the invite; not added")
            pinned = True
        return Found(words, address, card, reply.counter, reply.pow_bits, pinned, link, replies)
    except BaseException:
        link.abort()
        raise


async def send_request(profile: Profile, found: Found, message: str) -> RequestStatus:
    """Solve the proof of work and send our full card and message; RequestRefused if refused."""
    now = int(time.time() * 1000)
    record = await asyncio.to_thread(
        make_request,
        profile.keys,
        profile.card.encode(),
        found.address,
        message,
        now,
        found.pow_bits,
    )
    found.link.send([record])
    result = await _next(found.replies, RequestResult)
    status = RequestStatus(result.status)
    if status in (RequestStatus.RECEIVED, RequestStatus.DUPLICATE):
        return status
    raise RequestRefused(status, result.retry_after, _refusal_text(status, result.retry_after))


async def _connect(
    tor: TorManager, address: str, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 1.0
    while True:
        host, port = await tor.socks_endpoint()
        remaining = deadline - loop.time()
        try:
            return await open_stream(
                host,
                port,
                address + ".onion",
                BEACON_PORT,
                isolation="libra-lookup-" + address[:16],
                timeout=max(5.0, remaining),
            )
        except SocksError as exc:
            if exc.code not in RETRYABLE_SOCKS or loop.time() + delay > deadline:
                if exc.code in (0xF4, 0xF5):
                    raise AliasNotFound(
                        "that beacon is private: you need the invite link or QR code"
                    ) from None
                raise AliasNotFound(
                    "nobody is findable as these words right now: check the words, or ask "
                    "them to turn on 'findable'"
                ) from None
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 8.0)


_R = TypeVar("_R", bound=LinkRecord)


async def _next(replies: asyncio.Queue[LinkRecord], kind: type[_R]) -> _R:
    try:
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                record = await replies.get()
                if isinstance(record, kind):
                    return record
    except TimeoutError:
        raise LookupFailed("the beacon stopped answering; try again") from None


def _refusal_text(status: RequestStatus, retry_after: int) -> str:
    wait = f" (try again in {retry_after} s)" if retry_after else ""
    return {
        RequestStatus.RATE_LIMITED: f"too many requests right now{wait}",
        RequestStatus.QUOTA_EXCEEDED: f"they are not taking more requests right now{wait}",
        RequestStatus.BAD_POW: "the proof of work was refused; try again",
        RequestStatus.EXPIRED: "this alias or invite has expired",
        RequestStatus.INVITE_USED: "this invite was already used (it works only once)",
        RequestStatus.MALFORMED: "the request was refused as malformed (update Libra?)",
        RequestStatus.CLOCK_SKEW: "your clock is off: check the date and time",
    }.get(status, f"refused ({status.name.lower()})")
