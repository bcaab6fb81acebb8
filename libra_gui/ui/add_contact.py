"""Add a contact: type their three words (with completion), paste their invite link, or read
their QR code from a picture, the clipboard or a camera; see who answered, and how sure
Libra is that it is them, before the request goes out.

Find -> searching (spinner, seconds so far, cancel) -> their card (verified or not, a note)
-> sending (a small proof of work) -> done (open the chat). Everything goes through the
facade; the typed words are checked on every keystroke by the core's own parser, so the
hint under the box says exactly what the lookup would say.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.crypto.alias import AliasSyntaxError
from ..core.errors import LibraError
from ..core.protocol.uri import Invite
from . import camera
from .engine import CardPreview, EngineFacade
from .errors import user_message
from .states import TorStatus
from .texts import fingerprint_text, tor_phase_text
from .widgets import Avatar, BusyIndicator, ErrorCard

_SEPARATOR = re.compile(r"[\s\-.,_]+")
MAX_NOTE_CHARS = 500
IMAGE_FILTER = "*.png *.jpg *.jpeg *.webp *.gif *.bmp"


class AliasInput(QLineEdit):
    """Three words, completing the word being typed from the alias word list.

    Pasting a picture (a copied QR code) emits ``imagePasted`` instead of doing nothing.
    """

    imagePasted = Signal(QImage)

    def __init__(self, words: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(self.tr("e.g. amber-falcon-canyon, or an invite link"))
        self.setAccessibleName(self.tr("Their three words or invite link"))
        self.setClearButtonEnabled(True)
        self._model = QStringListModel(list(words), self)
        self.completer_ = QCompleter(self._model, self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.setModelSorting(QCompleter.ModelSorting.CaseSensitivelySortedModel)
        self.completer_.setMaxVisibleItems(7)
        self.completer_.activated.connect(self.complete_word)
        self.textEdited.connect(self._suggest)

    def current_fragment(self) -> str:
        """The word being typed (after the last separator), lower-case."""
        text = self.text()
        if not text or _SEPARATOR.fullmatch(text[-1]):
            return ""
        return _SEPARATOR.split(text)[-1].lower()

    def complete_word(self, word: str) -> None:
        """Replace the word being typed with ``word`` and a separator if more words follow."""
        text = self.text()
        fragment = self.current_fragment()
        head = text[: len(text) - len(fragment)] if fragment else text
        words_before = len([w for w in _SEPARATOR.split(head) if w])
        self.setText(head + word + ("-" if words_before < 2 else ""))
        self.completer_.popup().hide()
        self.textEdited.emit(self.text())

    def _suggest(self, text: str) -> None:
        fragment = self.current_fragment()
        if len(fragment) < 2 or text.lower().startswith("libra:"):
            self.completer_.popup().hide()
            return
        self.completer_.setCompletionPrefix(fragment)
        count = self.completer_.completionCount()
        if count == 0 or (count == 1 and self.completer_.currentCompletion() == fragment):
            self.completer_.popup().hide()
            return
        self.completer_.complete()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            data = QGuiApplication.clipboard().mimeData()
            if data is not None and data.hasImage() and not data.hasText():
                self.imagePasted.emit(QImage(data.imageData()))
                return
        super().keyPressEvent(event)


def gray_pixels(image: QImage) -> tuple[bytes, int, int, int]:
    """(8-bit grey pixels, width, height, bytes per line) of a picture, for the QR reader."""
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    return bytes(gray.constBits()), gray.width(), gray.height(), gray.bytesPerLine()


class AddContactDialog(QDialog):
    """Find someone by words, link or QR code; check who it is; send them a request."""

    contactAdded = Signal(int)  # the new contact's id (a request is on its way)
    openChat = Signal(int)

    def __init__(
        self, facade: EngineFacade, parent: QWidget | None = None, *, my_name: str = ""
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self._my_name = my_name
        self.preview: CardPreview | None = None
        self.contact_id: int | None = None
        self._target: str | Invite | None = None
        self._pending: Future[CardPreview] | None = None
        self._started = 0.0
        self.setWindowTitle(self.tr("Add a contact"))
        self.setMinimumSize(500, 460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.find_page = self._build_find()
        self.search_page = self._build_search()
        self.card_page = self._build_card()
        self.send_page = self._build_send()
        self.done_page = self._build_done()
        for page in (
            self.find_page,
            self.search_page,
            self.card_page,
            self.send_page,
            self.done_page,
        ):
            self.pages.addWidget(page)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_elapsed)
        facade.torStatusChanged.connect(self._on_tor)
        self._on_tor(facade.tor_status)
        self._validate("")
        self.words.setFocus()

    # -- pages -------------------------------------------------------------------------------

    def _build_find(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setSpacing(10)
        col.setContentsMargins(0, 0, 0, 0)
        title = QLabel(self.tr("Add a contact"))
        title.setObjectName("chatTitle")
        intro = QLabel(
            self.tr(
                "Ask the person for their alias: three words (like amber-falcon-canyon), an "
                "invite link, or their QR code. You find it in Libra under “My alias”."
            )
        )
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.words = AliasInput(self._facade.alias_words())
        self.words.textChanged.connect(self._validate)
        self.words.returnPressed.connect(self.find)
        self.words.imagePasted.connect(self.scan_image)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setObjectName("muted")
        self.suggestions = QHBoxLayout()
        self.suggestions.setSpacing(6)
        self.suggestions.addStretch(1)

        scan_title = QLabel(self.tr("Or read their QR code"))
        scan_title.setObjectName("sectionTitle")
        scan_row = QHBoxLayout()
        self.image_button = QPushButton(self.tr("From a picture…"))
        self.image_button.setToolTip(
            self.tr("A photo or screenshot of their QR code (PNG, JPEG, WebP, GIF or BMP)")
        )
        self.image_button.clicked.connect(self.choose_image)
        self.paste_button = QPushButton(self.tr("Paste"))
        self.paste_button.setToolTip(
            self.tr("Paste an invite link, three words, or a copied picture of a QR code")
        )
        self.paste_button.clicked.connect(self.paste)
        self.camera_button = QPushButton(self.tr("Use the camera…"))
        self.camera_button.clicked.connect(self.scan_camera)
        scan_row.addWidget(self.image_button)
        scan_row.addWidget(self.paste_button)
        scan_row.addWidget(self.camera_button)
        scan_row.addStretch(1)
        self.camera_note = QLabel()
        self.camera_note.setWordWrap(True)
        self.camera_note.setObjectName("muted")
        self._show_camera_state()

        self.tor_note = QLabel()
        self.tor_note.setWordWrap(True)
        self.tor_note.setObjectName("muted")
        self.find_error = ErrorCard(self)
        self.find_button = QPushButton(self.tr("Find"))
        self.find_button.setObjectName("primary")
        self.find_button.setDefault(True)
        self.find_button.clicked.connect(self.find)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.find_button)
        for widget in (title, intro, self.words, self.hint):
            col.addWidget(widget)
        col.addLayout(self.suggestions)
        col.addSpacing(8)
        col.addWidget(scan_title)
        col.addLayout(scan_row)
        col.addWidget(self.camera_note)
        col.addWidget(self.find_error)
        col.addStretch(1)
        col.addWidget(self.tor_note)
        col.addLayout(buttons)
        return page

    def _build_search(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.addStretch(1)
        self.search_busy = BusyIndicator(page, 40)
        self.search_title = QLabel()
        self.search_title.setObjectName("chatTitle")
        self.search_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.search_title.setWordWrap(True)
        self.search_text = QLabel()
        self.search_text.setObjectName("muted")
        self.search_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.search_text.setWordWrap(True)
        stop = QPushButton(self.tr("Stop searching"))
        stop.clicked.connect(self.stop_search)
        col.addWidget(self.search_busy, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.search_title)
        col.addWidget(self.search_text)
        col.addSpacing(12)
        col.addWidget(stop, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(2)
        return page

    def _build_card(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        heading = QLabel(self.tr("Is this the person you are looking for?"))
        heading.setObjectName("chatTitle")
        heading.setWordWrap(True)
        card = QFrame()
        card.setObjectName("card")
        row = QHBoxLayout(card)
        row.setContentsMargins(14, 12, 14, 12)
        self.card_avatar = Avatar(card, 52)
        names = QVBoxLayout()
        names.setSpacing(2)
        self.card_name = QLabel()
        self.card_name.setObjectName("chatTitle")
        self.card_words = QLabel()
        self.card_words.setObjectName("muted")
        self.card_fingerprint = QLabel()
        self.card_fingerprint.setObjectName("muted")
        self.card_fingerprint.setWordWrap(True)
        self.card_fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for widget in (self.card_name, self.card_words, self.card_fingerprint):
            names.addWidget(widget)
        row.addWidget(self.card_avatar, 0, Qt.AlignmentFlag.AlignTop)
        row.addSpacing(8)
        row.addLayout(names, 1)
        self.card_trust = QLabel()
        self.card_trust.setWordWrap(True)
        self.card_trust.setObjectName("trustNote")
        self.note_label = QLabel(self.tr("A note, so they know who is asking (optional)"))
        self.note = QPlainTextEdit()
        self.note.setAccessibleName(self.note_label.text())
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(84)
        self.note.textChanged.connect(self._limit_note)
        self.card_error = ErrorCard(self)
        back = QPushButton(self.tr("Back"))
        back.clicked.connect(self.back_to_find)
        self.send_button = QPushButton(self.tr("Send request"))
        self.send_button.setObjectName("primary")
        self.send_button.clicked.connect(self.send_request)
        self.open_existing = QPushButton(self.tr("Open chat"))
        self.open_existing.setObjectName("primary")
        self.open_existing.clicked.connect(self._open_existing)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.open_existing)
        for widget in (heading, card, self.card_trust, self.note_label, self.note):
            col.addWidget(widget)
        col.addWidget(self.card_error)
        col.addStretch(1)
        col.addLayout(buttons)
        return page

    def _build_send(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.addStretch(1)
        self.send_busy = BusyIndicator(page, 40)
        self.send_title = QLabel()
        self.send_title.setObjectName("chatTitle")
        self.send_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.send_title.setWordWrap(True)
        text = QLabel(
            self.tr(
                "Libra first solves a small puzzle: it protects everyone from floods of "
                "requests. This takes a few seconds."
            )
        )
        text.setObjectName("muted")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        col.addWidget(self.send_busy, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.send_title)
        col.addWidget(text)
        col.addStretch(2)
        return page

    def _build_done(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.addStretch(1)
        tick = QLabel("✓")
        tick.setObjectName("bigTick")
        tick.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_title = QLabel()
        self.done_title.setObjectName("chatTitle")
        self.done_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_title.setWordWrap(True)
        self.done_text = QLabel()
        self.done_text.setObjectName("muted")
        self.done_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_text.setWordWrap(True)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.accept)
        self.chat_button = QPushButton(self.tr("Write a message"))
        self.chat_button.setObjectName("primary")
        self.chat_button.clicked.connect(self._open_new)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.chat_button)
        buttons.addStretch(1)
        for widget in (tick, self.done_title, self.done_text):
            col.addWidget(widget)
        col.addSpacing(12)
        col.addLayout(buttons)
        col.addStretch(2)
        return page

    # -- typing ------------------------------------------------------------------------------

    def _validate(self, text: str) -> None:
        """Say what is wrong (with suggestions to click) or that the words look right."""
        self._clear_suggestions()
        self.find_error.hide()
        text = text.strip()
        valid = False
        if not text:
            self._hint(self.tr("Type the three words, separated by spaces or hyphens."))
        elif self._facade.is_invite_link(text):
            try:
                invite = self._facade.parse_invite_link(text)
            except LibraError as exc:
                message = user_message(exc)
                self._hint(f"{message.title}: {message.text}", "error")
            else:
                self._hint(
                    self.tr("Invite link for %1. Libra will check that it is really them.").replace(
                        "%1", invite.alias
                    ),
                    "ok",
                )
                valid = True
        elif len([w for w in _SEPARATOR.split(text) if w]) < 3:
            self._hint(self.tr("Type the three words, separated by spaces or hyphens."))
        else:
            try:
                words = self._facade.check_alias(text)
            except AliasSyntaxError as exc:
                self._explain(exc)
            else:
                self._hint(self.tr("Looks right: %1").replace("%1", words), "ok")
                valid = True
        self.find_button.setEnabled(valid)

    def _explain(self, exc: AliasSyntaxError) -> None:
        if exc.suggestions:
            if exc.position is None:
                self._hint(self.tr("Which one do you mean?"), "error")
            else:
                self._hint(
                    self.tr("Word %1 is not in Libra's word list. Did you mean:").replace(
                        "%1", str(exc.position + 1)
                    ),
                    "error",
                )
            for suggestion in exc.suggestions[:4]:
                button = QPushButton(suggestion)
                button.setObjectName("chip")
                button.setAccessibleName(self.tr("Use %1").replace("%1", suggestion))
                button.clicked.connect(lambda _=False, s=suggestion: self._use(exc, s))
                self.suggestions.insertWidget(self.suggestions.count() - 1, button)
        elif exc.position is not None:
            self._hint(
                self.tr("Word %1 is not in Libra's word list. Check it with your contact.").replace(
                    "%1", str(exc.position + 1)
                ),
                "error",
            )
        else:
            self._hint(self.tr("An alias is exactly three words."), "error")

    def _use(self, exc: AliasSyntaxError, suggestion: str) -> None:
        """Put a suggestion in place of the word it corrects (or of everything)."""
        tokens = [w for w in _SEPARATOR.split(self.words.text().strip()) if w]
        if exc.position is not None and exc.position < len(tokens) and "-" not in suggestion:
            tokens[exc.position] = suggestion
            self.words.setText("-".join(tokens))
        else:
            self.words.setText(suggestion)
        self.words.setFocus()

    def _clear_suggestions(self) -> None:
        while self.suggestions.count() > 1:
            item = self.suggestions.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()

    def _hint(self, text: str, kind: str = "") -> None:
        self.hint.setText(text)
        self.hint.setObjectName({"ok": "success", "error": "error"}.get(kind, "muted"))
        self.hint.style().unpolish(self.hint)
        self.hint.style().polish(self.hint)

    def _on_tor(self, status: TorStatus) -> None:
        if status.online:
            self.tor_note.hide()
            return
        self.tor_note.setText(
            self.tr("%1. You can type the words now; Find works once Libra is connected.").replace(
                "%1", tor_phase_text(status)
            )
        )
        self.tor_note.show()

    def _show_camera_state(self) -> None:
        state = camera.availability()
        self.camera_button.setVisible(state == "ready")
        if state == "no-module":
            self.camera_note.setText(
                self.tr(
                    "Scanning with a camera is not available in this copy of Libra. Take a "
                    "photo or screenshot of the QR code and choose “From a picture…”."
                )
            )
        elif state == "no-camera":
            self.camera_note.setText(
                self.tr(
                    "No camera was found. Take a photo or screenshot of the QR code and choose "
                    "“From a picture…”."
                )
            )
        self.camera_note.setVisible(state != "ready")

    # -- finding -----------------------------------------------------------------------------

    def find(self) -> None:
        """Look up what was typed (words or a link)."""
        if not self.find_button.isEnabled():
            return
        text = self.words.text().strip()
        target: str | Invite = text
        if self._facade.is_invite_link(text):
            target = self._facade.parse_invite_link(text)
        self.lookup(target)

    def lookup(self, target: str | Invite) -> None:
        """Search over Tor; the card page follows, or the find page with what went wrong."""
        self._forget()
        self._target = target
        shown = target.alias if isinstance(target, Invite) else self._facade.check_alias(target)
        self.search_title.setText(self.tr("Looking for %1…").replace("%1", shown))
        self._started = time.monotonic()
        self._show_elapsed()
        self._tick.start()
        self.search_busy.start()
        self.pages.setCurrentWidget(self.search_page)
        future = self._facade.lookup(target)
        self._pending = future
        self._facade.then(future, self, self._found, self._search_failed)

    def _show_elapsed(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self.search_text.setText(
            self.tr(
                "Libra is asking the Tor network for them. This usually takes 5 to 30 seconds "
                "(%1 s so far)."
            ).replace("%1", str(seconds))
        )

    def stop_search(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._tick.stop()
        self.search_busy.stop()
        self.pages.setCurrentWidget(self.find_page)

    def _found(self, preview: CardPreview) -> None:
        if self._pending is None:  # stopped meanwhile: let it go
            self._facade.forget_lookup(preview.token)
            return
        self._pending = None
        self._tick.stop()
        self.search_busy.stop()
        self.preview = preview
        self.card_avatar.set_person(preview.display_name, preview.fingerprint[0])
        self.card_name.setText(preview.display_name)
        self.card_words.setText(preview.words)
        self.card_fingerprint.setText(
            self.tr("Fingerprint: %1").replace("%1", fingerprint_text(preview.fingerprint[:8]))
        )
        if preview.existing_contact_id is not None:
            trust = self.tr("%1 is already one of your contacts.").replace(
                "%1", preview.display_name
            )
            kind = "ok"
        elif preview.verified:
            trust = self.tr(
                "✓ Verified: the invite you used names exactly this person's key, so it is "
                "really them."
            )
            kind = "ok"
        else:
            trust = self.tr(
                "Not verified yet: these words belong to this key, but anyone can choose any "
                "name. Once they accept, compare safety numbers or ask a question only they "
                "can answer."
            )
            kind = "warn"
        self.card_trust.setText(trust)
        self.card_trust.setProperty("kind", kind)
        self.card_trust.style().unpolish(self.card_trust)
        self.card_trust.style().polish(self.card_trust)
        existing = preview.existing_contact_id is not None
        self.send_button.setVisible(not existing)
        self.open_existing.setVisible(existing)
        self.note.setVisible(not existing)
        self.note_label.setVisible(not existing)
        if not self.note.toPlainText() and self._my_name:
            self.note.setPlainText(self.tr("Hi, it's %1.").replace("%1", self._my_name))
        self.card_error.hide()
        self.pages.setCurrentWidget(self.card_page)
        (self.open_existing if existing else self.send_button).setFocus()

    def _search_failed(self, error: BaseException) -> None:
        if self._pending is None:
            return
        self._pending = None
        self._tick.stop()
        self.search_busy.stop()
        self.find_error.show_message(user_message(error))
        self.pages.setCurrentWidget(self.find_page)

    def back_to_find(self) -> None:
        self._forget()
        self.pages.setCurrentWidget(self.find_page)
        self.words.setFocus()

    # -- reading QR codes --------------------------------------------------------------------

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Choose a picture of the QR code"),
            "",
            self.tr("Pictures (%1)").replace("%1", IMAGE_FILTER),
        )
        if path:
            self.scan_file(Path(path))

    def scan_file(self, path: Path) -> None:
        self._scanning(self._facade.invite_from_image(path))

    def scan_image(self, image: QImage) -> None:
        if image.isNull():
            return
        self._scanning(self._facade.invite_from_gray(*gray_pixels(image)))

    def paste(self) -> None:
        """An invite link or words go into the box; a picture is read as a QR code."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None:
            return
        if data.hasText() and data.text().strip():
            self.words.setText(data.text().strip()[:600])
            self.words.setFocus()
            if self._facade.is_invite_link(self.words.text()) and self.find_button.isEnabled():
                self.find()
        elif data.hasImage():
            self.scan_image(QImage(data.imageData()))
        else:
            self._hint(self.tr("The clipboard holds no text or picture."), "error")

    def scan_camera(self) -> None:
        dialog = camera.open_scanner(self._facade, self)
        if dialog is None:
            return
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        invite = dialog.invite
        dialog.deleteLater()  # stops the camera for good
        if accepted and invite is not None:
            self._use_invite(invite)

    def _scanning(self, future: Future[Invite]) -> None:
        self.find_error.hide()
        self._hint(self.tr("Reading the QR code…"))
        self._facade.then(future, self, self._use_invite, self._scan_failed)

    def _use_invite(self, invite: Invite) -> None:
        self.words.setText(invite.to_uri(lowercase=True))
        self.lookup(invite)

    def _scan_failed(self, error: BaseException) -> None:
        self._validate(self.words.text())
        self.find_error.show_message(user_message(error))

    # -- sending -----------------------------------------------------------------------------

    def _limit_note(self) -> None:
        text = self.note.toPlainText()
        if len(text) > MAX_NOTE_CHARS:
            self.note.setPlainText(text[:MAX_NOTE_CHARS])

    def send_request(self) -> None:
        preview = self.preview
        if preview is None:
            return
        self.preview = None  # the token is spent whatever happens
        self.send_title.setText(
            self.tr("Sending your request to %1…").replace("%1", preview.display_name)
        )
        self.send_busy.start()
        self.pages.setCurrentWidget(self.send_page)
        future = self._facade.request_contact(preview.token, self.note.toPlainText().strip())
        self._facade.then(
            future,
            self,
            lambda contact_id: self._sent(preview, contact_id),
            self._send_failed,
        )

    def _sent(self, preview: CardPreview, contact_id: int) -> None:
        self.send_busy.stop()
        self.contact_id = contact_id
        self.done_title.setText(self.tr("Request sent to %1").replace("%1", preview.display_name))
        self.done_text.setText(
            self.tr(
                "%1 is in your chats now. You can already write to them: your messages are "
                "delivered as soon as they accept."
            ).replace("%1", preview.display_name)
        )
        self.pages.setCurrentWidget(self.done_page)
        self.chat_button.setFocus()
        self.contactAdded.emit(contact_id)

    def _send_failed(self, error: BaseException) -> None:
        self.send_busy.stop()
        self.find_error.show_message(user_message(error))
        self.pages.setCurrentWidget(self.find_page)

    def _open_new(self) -> None:
        if self.contact_id is not None:
            self.openChat.emit(self.contact_id)
        self.accept()

    def _open_existing(self) -> None:
        if self.preview is not None and self.preview.existing_contact_id is not None:
            self.openChat.emit(self.preview.existing_contact_id)
        self.accept()

    # -- closing -----------------------------------------------------------------------------

    def _forget(self) -> None:
        """Let go of a held lookup (its link to their beacon) and a search in flight."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.preview is not None:
            self._facade.forget_lookup(self.preview.token)
            self.preview = None

    def done(self, result: int) -> None:
        self._forget()
        self._tick.stop()
        super().done(result)
