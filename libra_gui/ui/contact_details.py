"""Contact details: is it really them (safety number, a shared-secret question), how much
you trust them, whether a direct connection may show them your IP address, and block /
delete.

Every section says in plain words what it is for. The state shown is re-read from the
engine whenever the core says something about this contact changed (trust, keys, a
question, the path), so the screen never disagrees with the chat header.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.services.events import ContactKeyChanged, VerificationFinished
from .engine import ContactDetails, EngineFacade
from .errors import user_message
from .texts import (
    direct_policy_text,
    fingerprint_text,
    ip_warning,
    path_text,
    trust_explained,
    trust_text,
)
from .widgets import Avatar, BusyIndicator, ErrorCard, QrView, section_card

MAX_QUESTION_CHARS = 200
TRUST_CHOICES = ("known", "verified", "trusted")
POLICY_CHOICES = ("default", "allowed", "off")


def _note(kind: str = "") -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setObjectName("trustNote")
    label.setProperty("kind", kind)
    return label


def _set_kind(label: QLabel, kind: str) -> None:
    label.setProperty("kind", kind)
    label.style().unpolish(label)
    label.style().polish(label)


class ContactDetailsDialog(QDialog):
    """Everything about one contact; ``deleted`` fires once the contact is gone."""

    deleted = Signal(int)

    def __init__(
        self, facade: EngineFacade, contact_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self.contact_id = contact_id
        self.details: ContactDetails | None = None
        self._name = ""
        self.setWindowTitle(self.tr("Contact details"))
        self.setMinimumSize(560, 640)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(22, 18, 22, 18)
        self._layout.setSpacing(12)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self._build()
        footer = QHBoxLayout()
        footer.setContentsMargins(22, 8, 22, 14)
        close = QPushButton(self.tr("Close"))
        close.setObjectName("primary")
        close.clicked.connect(self.accept)
        footer.addStretch(1)
        footer.addWidget(close)
        outer.addLayout(footer)

        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(80)
        self._refresh.timeout.connect(self.load)
        # Bound methods, so Qt drops the connections when the dialog goes away.
        facade.trustChanged.connect(self._on_trust)
        facade.pathChanged.connect(self._on_path)
        facade.keyChanged.connect(self._on_keys)
        facade.verificationRequested.connect(self._on_question)
        facade.verificationFinished.connect(self._on_finished)
        self.load()

    def _on_trust(self, contact_id: int, _level: str) -> None:
        if contact_id == self.contact_id:
            self._refresh.start()

    def _on_path(self, contact_id: int, _state: str) -> None:
        if contact_id == self.contact_id:
            self._show_path()

    def _on_keys(self, event: ContactKeyChanged) -> None:
        if event.contact_id == self.contact_id:
            self._refresh.start()

    def _on_question(self, contact_id: int, _question: str) -> None:
        if contact_id == self.contact_id:
            self._refresh.start()

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        add = self._layout.addWidget
        header = QHBoxLayout()
        self.avatar = Avatar(self, 64)
        names = QVBoxLayout()
        names.setSpacing(2)
        self.name = QLabel()
        self.name.setObjectName("title")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.fingerprint = QLabel()
        self.fingerprint.setObjectName("muted")
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for widget in (self.name, self.status, self.fingerprint):
            names.addWidget(widget)
        header.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
        header.addSpacing(10)
        header.addLayout(names, 1)
        self._layout.addLayout(header)
        self.busy = BusyIndicator(self, 28)
        add(self.busy)
        self.error = ErrorCard(self)
        add(self.error)

        # Keys changed: loud, first.
        self.key_banner = QFrame()
        self.key_banner.setObjectName("dangerBanner")
        banner = QVBoxLayout(self.key_banner)
        banner.setContentsMargins(16, 12, 16, 12)
        self.key_title = QLabel()
        self.key_title.setObjectName("error")
        self.key_title.setStyleSheet("font-weight: 600;")
        self.key_text = QLabel()
        self.key_text.setWordWrap(True)
        keep = QPushButton(self.tr("Keep the old keys"))
        keep.clicked.connect(lambda: self._run(self._facade.reject_key_change(self.contact_id)))
        take = QPushButton(self.tr("Accept the new keys"))
        take.clicked.connect(lambda: self._run(self._facade.accept_key_change(self.contact_id)))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(keep)
        row.addWidget(take)
        banner.addWidget(self.key_title)
        banner.addWidget(self.key_text)
        banner.addLayout(row)
        add(self.key_banner)

        # Their question to us.
        self.question_card, q = section_card(self.tr("A question for you"))
        self.their_question = QLabel()
        self.their_question.setWordWrap(True)
        self.their_answer = QLineEdit()
        self.their_answer.setPlaceholderText(self.tr("Your answer"))
        self.their_answer.setAccessibleName(self.tr("Your answer"))
        self.their_answer.returnPressed.connect(self.answer)
        answer_row = QHBoxLayout()
        decline = QPushButton(self.tr("Decline"))
        decline.clicked.connect(
            lambda: self._run(self._facade.cancel_verification(self.contact_id))
        )
        self.answer_button = QPushButton(self.tr("Answer"))
        self.answer_button.setObjectName("primary")
        self.answer_button.clicked.connect(self.answer)
        answer_row.addWidget(self.their_answer, 1)
        answer_row.addWidget(decline)
        answer_row.addWidget(self.answer_button)
        q.addWidget(self.their_question)
        q.addLayout(answer_row)
        add(self.question_card)

        # Safety number.
        card, s = section_card(
            self.tr("Safety number"),
            self.tr(
                "Compare this number with the one on their screen, in person or on a call. If "
                "they match, your conversation is really with them and nobody is in between."
            ),
        )
        row = QHBoxLayout()
        self.safety = QLabel()
        self.safety.setObjectName("safetyNumber")
        self.safety.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.safety_qr = QrView(self, 132)
        self.safety_qr.setAccessibleName(self.tr("Safety number as a QR code"))
        row.addWidget(self.safety, 1)
        row.addWidget(self.safety_qr)
        buttons = QHBoxLayout()
        copy = QPushButton(self.tr("Copy number"))
        copy.clicked.connect(self._copy_number)
        self.verify_button = QPushButton(self.tr("They match: mark as verified"))
        self.verify_button.setObjectName("primary")
        self.verify_button.clicked.connect(
            lambda: self._run(self._facade.mark_verified(self.contact_id))
        )
        self.copied = QLabel()
        self.copied.setObjectName("muted")
        self.verified = QLabel()
        self.verified.setObjectName("success")
        buttons.addWidget(copy)
        buttons.addWidget(self.copied)
        buttons.addStretch(1)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.verified)
        s.addLayout(row)
        s.addLayout(buttons)
        add(card)

        # Our question to them.
        self.ask_card, a = section_card(
            self.tr("Ask a question only they can answer"),
            self.tr(
                "If their answer matches yours, they become verified. Your answer never leaves "
                "this computer: both sides only learn whether the answers match. Capitals and "
                "spaces do not count."
            ),
        )
        self.question = QLineEdit()
        self.question.setPlaceholderText(self.tr("Question, e.g. Where did we first meet?"))
        self.question.setAccessibleName(self.tr("Question"))
        self.question.setMaxLength(MAX_QUESTION_CHARS)
        self.answer_edit = QLineEdit()
        self.answer_edit.setPlaceholderText(self.tr("The answer you expect"))
        self.answer_edit.setAccessibleName(self.tr("The answer you expect"))
        self.answer_edit.returnPressed.connect(self.ask)
        self.ask_button = QPushButton(self.tr("Ask"))
        self.ask_button.setObjectName("primary")
        self.ask_button.clicked.connect(self.ask)
        self.waiting = QWidget()
        waiting = QHBoxLayout(self.waiting)
        waiting.setContentsMargins(0, 0, 0, 0)
        self.ask_busy = BusyIndicator(self.waiting, 18)
        self.waiting_text = QLabel()
        self.waiting_text.setWordWrap(True)
        stop = QPushButton(self.tr("Withdraw"))
        stop.clicked.connect(lambda: self._run(self._facade.cancel_verification(self.contact_id)))
        waiting.addWidget(self.ask_busy)
        waiting.addWidget(self.waiting_text, 1)
        waiting.addWidget(stop)
        self.result = _note()
        self.result.hide()
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.answer_edit, 1)
        ask_row.addWidget(self.ask_button)
        a.addWidget(self.question)
        a.addLayout(ask_row)
        a.addWidget(self.waiting)
        a.addWidget(self.result)
        add(self.ask_card)

        # Trust.
        card, t = section_card(self.tr("Trust"))
        self.trust = QComboBox()
        self.trust.setAccessibleName(self.tr("Trust level"))
        for level in TRUST_CHOICES:
            self.trust.addItem(trust_text(level), level)
        self.trust.activated.connect(self._trust_chosen)
        self.trust_text = QLabel()
        self.trust_text.setWordWrap(True)
        self.trust_text.setObjectName("muted")
        t.addWidget(self.trust)
        t.addWidget(self.trust_text)
        add(card)

        # Direct connection.
        card, d = section_card(
            self.tr("Direct connection"),
            self.tr(
                "Messages and files normally travel through Tor. A direct connection is much "
                "faster, which helps most with big files."
            ),
        )
        self.policy = QComboBox()
        self.policy.setAccessibleName(self.tr("Direct connection"))
        self.policy.activated.connect(self._policy_chosen)
        self.warning = _note("warn")
        self.warning.setText(ip_warning())
        self.policy_now = QLabel()
        self.policy_now.setObjectName("muted")
        self.policy_now.setWordWrap(True)
        d.addWidget(self.policy)
        d.addWidget(self.warning)
        d.addWidget(self.policy_now)
        add(card)

        # Block and delete.
        card, b = section_card(self.tr("Block or delete"))
        self.block_text = QLabel()
        self.block_text.setWordWrap(True)
        self.block_text.setObjectName("muted")
        self.block_button = QPushButton()
        self.block_button.clicked.connect(self._toggle_block)
        self.delete_button = QPushButton(self.tr("Delete contact…"))
        self.delete_button.setObjectName("danger")
        self.delete_button.clicked.connect(self._ask_delete)
        row = QHBoxLayout()
        row.addWidget(self.block_button)
        row.addStretch(1)
        row.addWidget(self.delete_button)
        self.confirm = QFrame()
        self.confirm.setObjectName("dangerBanner")
        confirm = QVBoxLayout(self.confirm)
        confirm.setContentsMargins(14, 10, 14, 10)
        self.confirm_text = QLabel()
        self.confirm_text.setWordWrap(True)
        keep_it = QPushButton(self.tr("Keep"))
        keep_it.clicked.connect(self.confirm.hide)
        self.delete_now = QPushButton(self.tr("Delete"))
        self.delete_now.setObjectName("danger")
        self.delete_now.clicked.connect(self.delete)
        confirm_row = QHBoxLayout()
        confirm_row.addStretch(1)
        confirm_row.addWidget(keep_it)
        confirm_row.addWidget(self.delete_now)
        confirm.addWidget(self.confirm_text)
        confirm.addLayout(confirm_row)
        self.confirm.hide()
        b.addWidget(self.block_text)
        b.addLayout(row)
        b.addWidget(self.confirm)
        add(card)
        self._layout.addStretch(1)

    # -- showing -----------------------------------------------------------------------------

    def load(self) -> None:
        self.busy.start()
        self._facade.then(
            self._facade.contact_details(self.contact_id), self, self.show_details, self._failed
        )

    def show_details(self, d: ContactDetails) -> None:
        self.busy.stop()
        self.details = d
        self._name = name = d.display_name
        self.setWindowTitle(self.tr("%1: contact details").replace("%1", name))
        self.avatar.set_person(name, d.id)
        self.name.setText(name)
        self._show_path()
        self.fingerprint.setText(
            self.tr("Key fingerprint: %1").replace("%1", fingerprint_text(d.fingerprint))
        )

        self.key_banner.setVisible(d.key_change_pending)
        self.key_title.setText(self.tr("%1's security keys changed").replace("%1", name))
        self.key_text.setText(
            self.tr(
                "This happens when %1 reinstalls Libra, but it can also mean that someone is "
                "pretending to be them. Libra keeps using the old keys until you decide. Ask "
                "%1 in person or on a call before you accept the new keys."
            ).replace("%1", name)
        )

        question = d.pending_question or self._facade.questions.get(self.contact_id)
        self.question_card.setVisible(question is not None)
        if question is not None:
            self.their_question.setText(
                self.tr("%1 asks: “%2”").replace("%1", name).replace("%2", question)
            )

        groups = d.safety_number.split()
        lines = [" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4)]
        self.safety.setText("\n".join(lines))
        self.safety.setAccessibleName(self.tr("Safety number: %1").replace("%1", d.safety_number))
        self.safety_qr.set_png(d.safety_qr_png)
        verified = d.trust in ("verified", "trusted")
        self.verify_button.setVisible(not verified)
        self.verified.setVisible(verified)
        self.verified.setText(self.tr("✓ You verified %1").replace("%1", name))

        asking = self.contact_id in self._facade.asking
        self.waiting.setVisible(asking)
        self.ask_busy.start() if asking else self.ask_busy.stop()
        self.waiting_text.setText(
            self.tr("Waiting for %1 to answer (up to 10 minutes)…").replace("%1", name)
        )
        for widget in (self.question, self.answer_edit, self.ask_button):
            widget.setEnabled(not asking)

        level = d.trust if d.trust in TRUST_CHOICES else "known"
        self.trust.setCurrentIndex(TRUST_CHOICES.index(level))
        self.trust_text.setText(trust_explained(d.trust))

        self.policy.clear()
        for policy in POLICY_CHOICES:
            self.policy.addItem(direct_policy_text(policy, d.direct_default), policy)
        self.policy.setCurrentIndex(POLICY_CHOICES.index(d.direct_policy))
        self.policy_now.setText(
            self.tr("Now: a direct connection may be used with %1.").replace("%1", name)
            if d.direct_allowed
            else self.tr("Now: everything with %1 goes through Tor.").replace("%1", name)
        )

        if d.blocked:
            self.block_button.setText(self.tr("Unblock %1").replace("%1", name))
            self.block_text.setText(
                self.tr(
                    "%1 is blocked: Libra does not connect to them and refuses their "
                    "connections and contact requests. Your conversation is kept."
                ).replace("%1", name)
            )
        else:
            self.block_button.setText(self.tr("Block %1").replace("%1", name))
            self.block_text.setText(
                self.tr(
                    "Blocking stops all contact with %1 (they are not told). Deleting also "
                    "removes your conversation and received files from this computer."
                ).replace("%1", name)
            )
        self.confirm_text.setText(
            self.tr(
                "Delete %1 and your whole conversation, including received files? This cannot "
                "be undone. To talk again, one of you sends a new contact request."
            ).replace("%1", name)
        )

    def _show_path(self) -> None:
        d = self.details
        if d is None:
            return
        path = self._facade.paths.get(self.contact_id, "offline")
        status = f"{trust_text(d.trust)} · {path_text(path)}"
        if d.awaiting_acceptance:
            status = self.tr("Waiting for them to accept your request")
        if d.blocked:
            status = self.tr("Blocked")
        self.status.setText(status)

    # -- actions -----------------------------------------------------------------------------

    def ask(self) -> None:
        question = self.question.text().strip()
        answer = self.answer_edit.text()
        if not question or not answer.strip():
            self.result.setText(self.tr("Write a question and the answer you expect."))
            _set_kind(self.result, "warn")
            self.result.show()
            return
        self.result.hide()

        def started(_: object) -> None:
            self.answer_edit.clear()
            self.load()

        self._run(self._facade.start_verification(self.contact_id, question, answer), started)

    def answer(self) -> None:
        text = self.their_answer.text()
        if not text.strip():
            return
        self.their_answer.clear()
        self._run(self._facade.answer_verification(self.contact_id, text))

    def _on_finished(self, event: VerificationFinished) -> None:
        if event.contact_id != self.contact_id:
            return
        name = self._name
        if event.outcome == "equal":
            text, kind = self.tr("✓ The answers matched: %1 is verified.").replace("%1", name), "ok"
        elif event.outcome == "not_equal":
            text = self.tr(
                "The answers did not match. Check the question with %1, or compare safety "
                "numbers instead."
            ).replace("%1", name)
            kind = "danger"
        else:
            reasons = {
                "cancelled": self.tr("The question was withdrawn."),
                "declined": self.tr("%1 declined to answer.").replace("%1", name),
                "timeout": self.tr("No answer in time. Try again when %1 is online.").replace(
                    "%1", name
                ),
                "busy": self.tr("%1 is answering another question. Try again later.").replace(
                    "%1", name
                ),
            }
            text = reasons.get(event.reason or "", self.tr("The check stopped. Try again."))
            kind = "warn"
        self.result.setText(text)
        _set_kind(self.result, kind)
        self.result.show()
        self._refresh.start()

    def _trust_chosen(self, index: int) -> None:
        level = self.trust.itemData(index)
        if self.details is not None and level != self.details.trust:
            self._run(self._facade.set_trust(self.contact_id, level))

    def _policy_chosen(self, index: int) -> None:
        policy = self.policy.itemData(index)
        if self.details is not None and policy != self.details.direct_policy:
            self._run(self._facade.set_direct_policy(self.contact_id, policy))

    def _toggle_block(self) -> None:
        if self.details is not None:
            self._run(self._facade.set_blocked(self.contact_id, not self.details.blocked))

    def _ask_delete(self) -> None:
        self.confirm.show()
        self.delete_now.setFocus()

    def delete(self) -> None:
        def gone(_: object) -> None:
            self.deleted.emit(self.contact_id)
            self.accept()

        self.delete_now.setEnabled(False)
        self._run(self._facade.delete_contact(self.contact_id), gone)

    def _copy_number(self) -> None:
        if self.details is not None:
            QGuiApplication.clipboard().setText(self.details.safety_number)
            self.copied.setText(self.tr("Copied"))
            QTimer.singleShot(2000, lambda: self.copied.setText(""))

    def _run(self, future: Future[Any], ok: Callable[[Any], None] | None = None) -> None:
        """Run a command; on success reload (or call ``ok``), on failure show what to do."""
        self.error.hide()
        self.busy.start()

        def done(result: object) -> None:
            self.busy.stop()
            if ok is not None:
                ok(result)
            else:
                self.load()

        self._facade.then(future, self, done, self._failed)

    def _failed(self, error: BaseException) -> None:
        self.busy.stop()
        self.delete_now.setEnabled(True)
        self.error.show_message(user_message(error))
        if self.details is not None:
            self.show_details(self.details)  # put the combo boxes back
