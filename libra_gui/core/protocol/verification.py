"""Shared-secret question check as a sans-IO state machine (docs/verification.md).

One :class:`Verification` per run. The asker knows a question and its answer; the answerer
sees the question and types an answer; both end with EQUAL, NOT_EQUAL or ABORTED and learn
nothing else. Records in, records out; time is a parameter (any monotonic clock, seconds).

    asker                                       answerer
    ask()      -- VerifyStart(run, q, pA) -->   asked()   (question shown; waits for a person)
               <-- VerifyReply(run, pB, cB) --  answer()
    result     -- VerifyConfirm(run, cA) -->    result
    either side at any time: VerifyAbort(run, reason)

Failure is closed: anything malformed, out of order or duplicated while a run is open aborts
it (typed error + an Abort record to send); nothing but two matching MACs yields EQUAL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum, IntEnum

from ..crypto.verification import (
    KeySchedule,
    RandomBytes,
    Spake2,
    VerificationCryptoError,
    is_valid_share,
    macs_equal,
    password_scalar,
)
from ..errors import ProtocolError
from .records import (
    RUN_ID_LEN,
    ContentRecord,
    VerifyAbort,
    VerifyConfirm,
    VerifyReply,
    VerifyStart,
)

PROTOCOL_LABEL = b"libra/v1/verify"
DEFAULT_TIMEOUT = 600.0
"""Seconds each side waits for the other (the answerer's user included) before aborting."""

VERIFY_RECORDS = (VerifyStart, VerifyReply, VerifyConfirm, VerifyAbort)


class Outcome(Enum):
    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    ABORTED = "aborted"


class AbortReason(IntEnum):
    """Why a run ended without a result (the VerifyAbort wire code)."""

    CANCELLED = 0  # the asker's user gave up
    DECLINED = 1  # the answerer's user refused to answer
    TIMEOUT = 2  # the other side took too long
    PROTOCOL = 3  # a malformed, out-of-order or duplicate message
    BUSY = 4  # another run with this contact is in progress
    UNKNOWN = 255  # a code this version does not know

    @classmethod
    def from_wire(cls, code: int) -> AbortReason:
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN


class Phase(Enum):
    WAIT_REPLY = "wait_reply"  # asker: Start sent
    WAIT_ANSWER = "wait_answer"  # answerer: question shown, waiting for the user
    WAIT_CONFIRM = "wait_confirm"  # answerer: Reply sent
    DONE = "done"


class VerificationError(ProtocolError):
    """Base of the question check's typed errors.

    ``outgoing`` holds the records to send because of the error (an Abort if it ended the run).
    """

    def __init__(self, message: str, outgoing: list[ContentRecord] | None = None) -> None:
        super().__init__(message)
        self.outgoing: list[ContentRecord] = outgoing or []


class UnexpectedMessage(VerificationError):
    """A message out of order, duplicated, or arriving after the run ended."""


class WrongRun(VerificationError):
    """A message for another run id: not ours, nothing changed."""


class BadMessage(VerificationError):
    """A message that is well-formed msgpack but cryptographically unusable (bad point)."""


class InvalidState(VerificationError):
    """A local call that makes no sense now (answer twice, answer as the asker, ...)."""


@dataclass(frozen=True)
class Party:
    """What binds a run to one person: every long-term public key on their card."""

    identity_key: bytes
    static_key: bytes
    ratchet_key: bytes

    def binding(self) -> bytes:
        """The SPAKE2 identity string: identity || static || ratchet key (96 bytes)."""
        for key in (self.identity_key, self.static_key, self.ratchet_key):
            if type(key) is not bytes or len(key) != 32:
                raise ValueError("party keys must be 32 bytes each")
        return self.identity_key + self.static_key + self.ratchet_key


def _aad(run_id: bytes, question: str) -> bytes:
    q = question.encode("utf-8")
    return PROTOCOL_LABEL + len(run_id).to_bytes(2, "big") + run_id + len(q).to_bytes(2, "big") + q


class Verification:
    """One run of the question check, from one side's point of view."""

    def __init__(
        self,
        *,
        asker: bool,
        run_id: bytes,
        question: str,
        me: Party,
        peer: Party,
        now: float,
        timeout: float,
        random: RandomBytes,
    ) -> None:
        self.asker = asker
        self.run_id = run_id
        self.question = question
        self.timeout = timeout
        self.phase = Phase.WAIT_REPLY if asker else Phase.WAIT_ANSWER
        self.outcome: Outcome | None = None
        self.abort_reason: AbortReason | None = None
        self.aborted_by_peer = False
        self.deadline = now + timeout
        a, b = (me, peer) if asker else (peer, me)
        self._id_a, self._id_b = a.binding(), b.binding()
        self._random = random
        self._spake: Spake2 | None = None
        self._keys: KeySchedule | None = None
        self._peer_share: bytes | None = None

    # -- starting ----------------------------------------------------------------------------

    @classmethod
    def ask(
        cls,
        me: Party,
        peer: Party,
        question: str,
        answer: str,
        *,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        random: RandomBytes = secrets.token_bytes,
    ) -> tuple[Verification, list[ContentRecord]]:
        """Asker: a new run and the VerifyStart to send. ValueError for an empty answer,
        MalformedRecord for a question that is empty or too long."""
        w = password_scalar(answer)
        run_id = random(RUN_ID_LEN)
        run = cls(
            asker=True,
            run_id=run_id,
            question=question,
            me=me,
            peer=peer,
            now=now,
            timeout=timeout,
            random=random,
        )
        run._spake = Spake2("A", w, run._id_a, run._id_b, _aad(run_id, question), random=random)
        start = VerifyStart(run_id=run_id, question=question, share=run._spake.share)
        return run, [start]

    @classmethod
    def asked(
        cls,
        start: VerifyStart,
        me: Party,
        peer: Party,
        *,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        random: RandomBytes = secrets.token_bytes,
    ) -> Verification:
        """Answerer: the peer asked ``start.question``; wait for :meth:`answer`."""
        if not isinstance(start, VerifyStart):
            raise UnexpectedMessage(f"a run starts with VerifyStart, not {type(start).__name__}")
        if not is_valid_share(start.share):  # refuse before a person is asked anything
            abort = VerifyAbort(run_id=start.run_id, reason=int(AbortReason.PROTOCOL))
            raise BadMessage("the asker's SPAKE2 share is not a valid point", [abort])
        run = cls(
            asker=False,
            run_id=start.run_id,
            question=start.question,
            me=me,
            peer=peer,
            now=now,
            timeout=timeout,
            random=random,
        )
        run._peer_share = start.share
        return run

    # -- local actions -----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    def answer(self, answer: str, *, now: float) -> list[ContentRecord]:
        """Answerer: the user's answer; returns the VerifyReply (or an Abort if the asker's
        share is unusable, raising BadMessage). ValueError for an empty answer."""
        if self.asker or self.phase is not Phase.WAIT_ANSWER:
            raise InvalidState("there is no question waiting for an answer")
        w = password_scalar(answer)  # may raise ValueError: the run stays open for a retry
        assert self._peer_share is not None
        spake = Spake2(
            "B", w, self._id_a, self._id_b, _aad(self.run_id, self.question), random=self._random
        )
        try:
            keys = spake.finish(self._peer_share)
        except VerificationCryptoError as exc:
            out = self._end_aborted(AbortReason.PROTOCOL, send=True)
            raise BadMessage(str(exc), out) from None
        self._spake, self._keys = spake, keys
        self.phase = Phase.WAIT_CONFIRM
        self.deadline = now + self.timeout
        return [VerifyReply(run_id=self.run_id, share=spake.share, mac=keys.mac_b)]

    def abort(self, reason: AbortReason = AbortReason.CANCELLED) -> list[ContentRecord]:
        """End the run on our side; returns the Abort to send ([] if already over)."""
        if self.done:
            return []
        return self._end_aborted(reason, send=True)

    def tick(self, now: float) -> list[ContentRecord]:
        """Abort with TIMEOUT once the deadline has passed; returns what to send."""
        if self.done or now < self.deadline:
            return []
        return self._end_aborted(AbortReason.TIMEOUT, send=True)

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, record: ContentRecord, *, now: float) -> list[ContentRecord]:
        """Handle one verification record from the peer; returns records to send.

        Raises WrongRun (nothing changed) for another run's record, and UnexpectedMessage /
        BadMessage for anything else that does not fit; those abort an open run and carry
        the Abort in ``outgoing``.
        """
        run_id = getattr(record, "run_id", None)
        if run_id != self.run_id:
            raise WrongRun("the record belongs to another verification run")
        if isinstance(record, VerifyAbort):
            if not self.done:
                self._end_aborted(AbortReason.from_wire(record.reason), send=False)
                self.aborted_by_peer = True
            return []
        if self.done:
            raise UnexpectedMessage(f"{type(record).__name__} after the run ended")
        if self.asker and self.phase is Phase.WAIT_REPLY and isinstance(record, VerifyReply):
            return self._on_reply(record)
        if (
            not self.asker
            and self.phase is Phase.WAIT_CONFIRM
            and isinstance(record, VerifyConfirm)
        ):
            return self._on_confirm(record)
        out = self._end_aborted(AbortReason.PROTOCOL, send=True)
        raise UnexpectedMessage(
            f"{type(record).__name__} does not fit phase {self.phase.value}", out
        )

    def _on_reply(self, reply: VerifyReply) -> list[ContentRecord]:
        assert self._spake is not None
        try:
            keys = self._spake.finish(reply.share)
        except VerificationCryptoError as exc:
            out = self._end_aborted(AbortReason.PROTOCOL, send=True)
            raise BadMessage(str(exc), out) from None
        equal = macs_equal(keys.mac_b, reply.mac)
        # RFC 9382: cA only after cB verified. Otherwise a random tag of the same length, so
        # the answerer ends NOT_EQUAL at once (both sides agree) and learns nothing but that.
        mac = keys.mac_a if equal else self._random(len(keys.mac_a))
        self._finish(Outcome.EQUAL if equal else Outcome.NOT_EQUAL)
        return [VerifyConfirm(run_id=self.run_id, mac=mac)]

    def _on_confirm(self, confirm: VerifyConfirm) -> list[ContentRecord]:
        assert self._keys is not None
        equal = macs_equal(self._keys.mac_a, confirm.mac)
        self._finish(Outcome.EQUAL if equal else Outcome.NOT_EQUAL)
        return []

    # -- endings -----------------------------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        self.phase = Phase.DONE
        self.outcome = outcome
        self._spake = None  # drop secrets as soon as they are no longer needed
        self._keys = None

    def _end_aborted(self, reason: AbortReason, *, send: bool) -> list[ContentRecord]:
        self._finish(Outcome.ABORTED)
        self.abort_reason = reason
        return [VerifyAbort(run_id=self.run_id, reason=int(reason))] if send else []
