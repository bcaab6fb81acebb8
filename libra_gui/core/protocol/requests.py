"""Contact requests over a beacon (sans-IO): who may ask, how often, and what happens next.

Requester side: :func:`make_request` solves the proof of work and signs a
:class:`ContactRequestRecord` for one beacon. Owner side: a :class:`RequestGate` answers every
incoming record with a :class:`Decision` (the wire status, a retry hint, and what to store),
applying, cheapest first:

1. beacon expiry, then a global token bucket on attempts (bounds the CPU spent verifying);
2. verification: clock window, the requester's signed card, the request signature, the
   proof-of-work stamp bound to (beacon, requester, minute);
3. one-time invite, exact retry (same stamp), per-requester rate limit, duplicate (already
   pending), pending-list size and hourly quota, block list.

A blocked requester is answered exactly as if its request had been stored and then ignored
(``received``, later ``duplicate``): a distinct answer would tell them they are blocked.

Memory is bounded whatever the number of distinct requesters: per-requester timestamps and
seen stamps live in LRU maps of fixed size; the pending set is capped; only the owner grows
the block list. Time is a parameter (``now``, wall-clock ms: stamps carry wall-clock minutes).
The owner's pending-list decisions follow :data:`TRANSITIONS`. Rules and limits:
docs/protocol/requests.md.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum

from ..crypto import pow as pow_
from ..crypto.identity import IdentityKeys, verify_signature
from ..crypto.pow import BadStamp, PowContext, StaleStamp
from ..errors import CardError, CryptoError, LibraError
from .card import MAX_CARD_BYTES, ContactCard
from .codec import pack
from .records import (
    MAX_BEACON_CARD,
    MAX_POW_BITS,
    MAX_RETRY_AFTER,
    POW_STAMP_LEN,
    REQUEST_STATUSES,
    ContactRequestRecord,
    RequestResult,
)

REQUEST_DOMAIN = b"libra/v1/contact-request"
HOUR_MS = 3_600_000

# The wire constants in records.py mirror these (records.py imports no crypto).
assert MAX_BEACON_CARD == MAX_CARD_BYTES
assert POW_STAMP_LEN == pow_.STAMP_LEN
assert MAX_POW_BITS == pow_.MAX_BITS


class RequestStatus(IntEnum):
    """RequestResult.status on the wire. There is deliberately no "blocked" (see module doc)."""

    RECEIVED = 0  # stored as pending; the owner will decide
    DUPLICATE = 1  # already pending (or this exact request was already received)
    RATE_LIMITED = 2  # too many attempts (this requester, or everyone): see retry_after
    QUOTA_EXCEEDED = 3  # the owner's hourly quota or pending list is full: see retry_after
    BAD_POW = 4  # stamp too weak or made for another beacon/requester: solve again
    EXPIRED = 5  # the beacon (or invite) is past its expiry
    INVITE_USED = 6  # a one-time invite that someone already used
    MALFORMED = 7  # bad card, bad request signature, or undecodable record
    CLOCK_SKEW = 8  # stamp minute or sent_at outside the window: check the clock


assert len(RequestStatus) == REQUEST_STATUSES


class Verdict(Enum):
    """What happened, owner side: like the status, plus BLOCKED (never told to the requester)."""

    RECEIVED = "received"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    BAD_POW = "bad_pow"
    EXPIRED = "expired"
    INVITE_USED = "invite_used"
    MALFORMED = "malformed"
    CLOCK_SKEW = "clock_skew"
    BLOCKED = "blocked"


# --- requester side ---------------------------------------------------------------------------


def signed_bytes(beacon: str, card: bytes, message: str, stamp: bytes, sent_at: int) -> bytes:
    """What the request signature covers (after REQUEST_DOMAIN): binds it to one beacon."""
    return pack([beacon, card, message, stamp, sent_at])


def sign_request(
    keys: IdentityKeys, beacon: str, card: bytes, message: str, stamp: bytes, sent_at: int
) -> ContactRequestRecord:
    """Build and sign a request record from a stamp already solved for ``beacon``."""
    beacon = PowContext(beacon, keys.identity_public).beacon
    sig = keys.sign(REQUEST_DOMAIN, signed_bytes(beacon, card, message, stamp, sent_at))
    return ContactRequestRecord(card, message, stamp, sent_at, sig)


def make_request(
    keys: IdentityKeys,
    card: bytes,
    beacon: str,
    message: str,
    now: int,
    bits: int,
    *,
    cancelled: Callable[[], bool] | None = None,
) -> ContactRequestRecord:
    """Solve the proof of work for (beacon, our identity, now) and sign the request.

    ``bits`` comes from the beacon's CardReply. Slow on purpose (about a second at the
    default difficulty): run it off the event loop. PowExhausted if ``cancelled``.
    """
    stamp = pow_.solve(PowContext(beacon, keys.identity_public), bits, now, cancelled=cancelled)
    return sign_request(keys, beacon, card, message, stamp, now)


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """A request whose card, signature and stamp checked out: what the owner stores."""

    identity_key: bytes
    card: bytes
    message: str
    stamp: bytes
    sent_at: int
    display_name: str = ""


class RequestRejected(LibraError):
    """A request that failed verification; ``verdict`` says how to answer it."""

    def __init__(self, verdict: Verdict, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict


def verify_request(
    record: ContactRequestRecord,
    beacon: str,
    bits: int,
    now: int,
    *,
    window_minutes: int = pow_.WINDOW_MINUTES,
) -> VerifiedRequest:
    """Check a request aimed at ``beacon``; RequestRejected (MALFORMED / CLOCK_SKEW / BAD_POW).

    Cheap checks first (clock window), then the card's and the request's Ed25519 signatures,
    then the single Argon2id evaluation of the stamp.
    """
    window_ms = window_minutes * pow_.MINUTE_MS
    if abs(record.sent_at - now) > window_ms:
        raise RequestRejected(Verdict.CLOCK_SKEW, "request time is outside the window")
    try:
        minute, _nonce = pow_.decode_stamp(record.stamp)
    except BadStamp as exc:
        raise RequestRejected(Verdict.BAD_POW, str(exc)) from None
    if abs(minute - pow_.minute_of(now)) > window_minutes:
        raise RequestRejected(Verdict.CLOCK_SKEW, "proof-of-work stamp is outside the window")
    try:
        card = ContactCard.decode(record.card)
    except CardError as exc:
        raise RequestRejected(Verdict.MALFORMED, str(exc)) from None
    context = PowContext(beacon, card.identity_key)
    data = signed_bytes(context.beacon, record.card, record.message, record.stamp, record.sent_at)
    try:
        verify_signature(card.identity_key, REQUEST_DOMAIN, data, record.signature)
    except CryptoError:
        raise RequestRejected(Verdict.MALFORMED, "request signature does not verify") from None
    try:
        pow_.verify(record.stamp, context, bits, now, window_minutes=window_minutes)
    except StaleStamp as exc:  # unreachable after the check above; kept for safety
        raise RequestRejected(Verdict.CLOCK_SKEW, str(exc)) from None
    except BadStamp as exc:
        raise RequestRejected(Verdict.BAD_POW, str(exc)) from None
    return VerifiedRequest(
        card.identity_key,
        record.card,
        record.message,
        record.stamp,
        record.sent_at,
        card.display_name,
    )


# --- the gate ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Limits of one beacon. Defaults: docs/protocol/requests.md §4."""

    beacon: str
    pow_bits: int = pow_.DEFAULT_BITS
    window_minutes: int = pow_.WINDOW_MINUTES
    attempt_rate: float = 20.0
    """Global token bucket: verified attempts per second (each costs ~0.5 ms of CPU)."""
    attempt_burst: int = 100
    requester_interval_ms: int = 60_000
    """At most one request per requester per minute."""
    hourly_quota: int = 20
    """New pending requests per rolling hour."""
    max_pending: int = 100
    max_tracked: int = 4096
    """Per-requester rate-limit entries kept (LRU)."""
    max_seen_stamps: int = 4096
    one_time: bool = False
    expires_at: int | None = None
    """Wall-clock ms after which the beacon answers EXPIRED (None: never)."""

    def __post_init__(self) -> None:
        try:
            beacon = PowContext(self.beacon, bytes(32)).beacon
        except BadStamp:
            raise ValueError("beacon must be a v3 onion address") from None
        object.__setattr__(self, "beacon", beacon)
        if type(self.pow_bits) is not int or not 0 <= self.pow_bits <= MAX_POW_BITS:
            raise ValueError(f"pow_bits must be in [0, {MAX_POW_BITS}]")
        for name in ("attempt_burst", "hourly_quota", "max_pending", "max_tracked"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.attempt_rate <= 0 or self.requester_interval_ms < 0 or self.max_seen_stamps < 0:
            raise ValueError("rates and intervals must be positive")


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer to one request.

    ``status``/``retry_after`` go back to the requester (:meth:`reply`); ``store`` is set
    (to the request) only when the caller must add a pending request; ``invite_consumed``
    tells the caller to persist that the one-time invite is spent (and stop the beacon).
    """

    verdict: Verdict
    status: RequestStatus
    retry_after: int = 0
    store: VerifiedRequest | None = None
    invite_consumed: bool = False

    def reply(self) -> RequestResult:
        return RequestResult(self.status, self.retry_after)


def _refuse(verdict: Verdict, retry_after: int = 0) -> Decision:
    return Decision(verdict, RequestStatus[verdict.name], retry_after)


def _seconds(ms: float) -> int:
    """A retry hint in whole seconds, rounded up, within the record's range."""
    return max(1, min(MAX_RETRY_AFTER, -(-int(ms) // 1000)))


@dataclass
class RequestGate:
    """Owner-side admission of contact requests for one beacon (pure; restore from the store).

    ``pending``: identity keys with a pending request; ``blocked``: the block list, each key
    mapped to whether it was already answered RECEIVED (so it now sees DUPLICATE);
    ``recent``: received_at (ms) of requests stored in the last hour (hourly quota);
    ``invite_used_by``: who spent a one-time invite (None: unused).
    """

    config: GateConfig
    pending: set[bytes] = field(default_factory=set)
    blocked: dict[bytes, bool] = field(default_factory=dict)
    recent: deque[int] = field(default_factory=deque)
    invite_used_by: bytes | None = None
    _tracked: OrderedDict[bytes, int] = field(default_factory=OrderedDict, repr=False)
    _seen: OrderedDict[bytes, int] = field(default_factory=OrderedDict, repr=False)
    _tokens: float = field(default=-1.0, repr=False)
    _bucket_at: int | None = field(default=None, repr=False)

    @classmethod
    def restore(
        cls,
        config: GateConfig,
        *,
        pending: Iterable[bytes] = (),
        blocked: Iterable[bytes] = (),
        shadow: Iterable[bytes] = (),
        recent: Iterable[int] = (),
        invite_used_by: bytes | None = None,
    ) -> RequestGate:
        """Rebuild from the store (pending keys, block list, recent receipt times, invite)."""
        shadowed = set(shadow)
        return cls(
            config,
            pending=set(pending),
            blocked={key: key in shadowed for key in blocked},
            recent=deque(sorted(recent)),
            invite_used_by=invite_used_by,
        )

    def __post_init__(self) -> None:
        if self._tokens < 0:
            self._tokens = float(self.config.attempt_burst)

    # --- admission ---------------------------------------------------------------------------

    def check(self, record: ContactRequestRecord, now: int) -> Decision:
        """Full pipeline for one incoming record: admit, verify, decide."""
        early = self.admit(now)
        if early is not None:
            return early
        try:
            request = verify_request(
                record,
                self.config.beacon,
                self.config.pow_bits,
                now,
                window_minutes=self.config.window_minutes,
            )
        except RequestRejected as exc:
            return _refuse(exc.verdict)
        return self.decide(request, now)

    def admit(self, now: int) -> Decision | None:
        """Before any crypto: expiry and the global attempt bucket. None = go on and verify.

        Takes a token when it admits, so a flood of bad requests costs at most
        ``attempt_rate`` verifications per second.
        """
        cfg = self.config
        if cfg.expires_at is not None and now >= cfg.expires_at:
            return _refuse(Verdict.EXPIRED)
        if self._bucket_at is not None and now > self._bucket_at:
            refill = (now - self._bucket_at) * cfg.attempt_rate / 1000
            self._tokens = min(float(cfg.attempt_burst), self._tokens + refill)
        if self._bucket_at is None or now > self._bucket_at:
            self._bucket_at = now
        if self._tokens < 1.0:
            return _refuse(
                Verdict.RATE_LIMITED, _seconds((1.0 - self._tokens) * 1000 / cfg.attempt_rate)
            )
        self._tokens -= 1.0
        return None

    def decide(self, request: VerifiedRequest, now: int) -> Decision:
        """Policy for a verified request (no crypto here: tests drive it directly)."""
        cfg = self.config
        key = request.identity_key
        if cfg.one_time and self.invite_used_by is not None:
            if key == self.invite_used_by:
                return _refuse(Verdict.DUPLICATE)
            return _refuse(Verdict.INVITE_USED)
        self._expire_seen(now)
        stamp_key = key + request.stamp
        if stamp_key in self._seen:  # an exact retry (lost reply): idempotent
            return self._as_blocked(key, RequestStatus.DUPLICATE) or _refuse(Verdict.DUPLICATE)
        last = self._tracked.get(key)
        if last is not None and 0 <= now - last < cfg.requester_interval_ms:
            self._tracked.move_to_end(key)
            return _refuse(Verdict.RATE_LIMITED, _seconds(last + cfg.requester_interval_ms - now))
        self._track(key, now)
        if key in self.pending or self.blocked.get(key):
            return self._as_blocked(key, RequestStatus.DUPLICATE) or _refuse(Verdict.DUPLICATE)
        while self.recent and self.recent[0] <= now - HOUR_MS:
            self.recent.popleft()
        if len(self.pending) >= cfg.max_pending:
            return _refuse(Verdict.QUOTA_EXCEEDED, _seconds(HOUR_MS))
        if len(self.recent) >= cfg.hourly_quota:
            return _refuse(Verdict.QUOTA_EXCEEDED, _seconds(self.recent[0] + HOUR_MS - now))
        self._remember_stamp(stamp_key, request.stamp)
        consumed = cfg.one_time
        if consumed:
            self.invite_used_by = key
        if key in self.blocked:  # looks received; nothing stored; next time: duplicate
            self.blocked[key] = True
            return Decision(Verdict.BLOCKED, RequestStatus.RECEIVED, invite_consumed=consumed)
        self.pending.add(key)
        self.recent.append(now)
        return Decision(
            Verdict.RECEIVED, RequestStatus.RECEIVED, store=request, invite_consumed=consumed
        )

    def _as_blocked(self, key: bytes, status: RequestStatus) -> Decision | None:
        return Decision(Verdict.BLOCKED, status) if key in self.blocked else None

    def _track(self, key: bytes, now: int) -> None:
        self._tracked[key] = now
        self._tracked.move_to_end(key)
        while len(self._tracked) > self.config.max_tracked:
            self._tracked.popitem(last=False)

    def _remember_stamp(self, stamp_key: bytes, stamp: bytes) -> None:
        if self.config.max_seen_stamps == 0:
            return
        minute, _nonce = pow_.decode_stamp(stamp)
        self._seen[stamp_key] = (minute + self.config.window_minutes + 1) * pow_.MINUTE_MS
        while len(self._seen) > self.config.max_seen_stamps:
            self._seen.popitem(last=False)

    def _expire_seen(self, now: int) -> None:
        """Drop stamps no verifier would accept any more (insertion order ~ expiry order)."""
        while self._seen:
            stamp_key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[stamp_key]

    # --- owner decisions ---------------------------------------------------------------------

    def on_decided(self, identity_key: bytes, action: Action) -> None:
        """Mirror an owner decision already written to the store."""
        if action is Action.BLOCK:
            self.pending.discard(identity_key)
            # They were told RECEIVED; keep answering as if the request still waits.
            self.blocked[identity_key] = True
        elif action is Action.UNBLOCK:
            self.blocked.pop(identity_key, None)
        else:
            self.pending.discard(identity_key)

    def block(self, identity_key: bytes) -> None:
        """Block a key that has no request here (e.g. from the contact list)."""
        self.pending.discard(identity_key)
        self.blocked.setdefault(identity_key, False)

    def unblock(self, identity_key: bytes) -> None:
        self.blocked.pop(identity_key, None)

    def sizes(self) -> Mapping[str, int]:
        """Entry counts of every structure (for tests and diagnostics: all bounded)."""
        return {
            "pending": len(self.pending),
            "blocked": len(self.blocked),
            "recent": len(self.recent),
            "tracked": len(self._tracked),
            "seen": len(self._seen),
        }


# --- pending-list state model -----------------------------------------------------------------


class RequestState(StrEnum):
    """State of one stored request (the ``contact_requests.state`` column)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"


class Action(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    BLOCK = "block"
    UNBLOCK = "unblock"


TRANSITIONS: Mapping[tuple[RequestState, Action], RequestState] = {
    (RequestState.PENDING, Action.ACCEPT): RequestState.ACCEPTED,
    (RequestState.PENDING, Action.DECLINE): RequestState.DECLINED,
    (RequestState.PENDING, Action.BLOCK): RequestState.BLOCKED,
    (RequestState.DECLINED, Action.BLOCK): RequestState.BLOCKED,
    (RequestState.BLOCKED, Action.UNBLOCK): RequestState.UNBLOCKED,
    (RequestState.UNBLOCKED, Action.BLOCK): RequestState.BLOCKED,
}
"""Every allowed move. ACCEPTED is final here (a contact is blocked in the contact list)."""


class InvalidTransition(LibraError):
    """An owner action that does not apply to the request's current state."""


def next_state(state: RequestState | str, action: Action | str) -> RequestState:
    """The state after ``action``; InvalidTransition (with a readable reason) if not allowed."""
    try:
        current, act = RequestState(state), Action(action)
    except ValueError:
        raise InvalidTransition(f"unknown request state or action: {state!r}, {action!r}") from None
    result = TRANSITIONS.get((current, act))
    if result is None:
        raise InvalidTransition(f"cannot {act.value} a request that is {current.value}")
    return result
