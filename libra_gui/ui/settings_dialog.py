"""Settings: Tor, Privacy, Appearance and Security pages, kept in the encrypted store.

Every page explains itself and says when a change takes effect: Tor settings reconnect Tor
when saved; privacy settings apply to the next connection; the theme changes at once; the
language the next time Libra opens; a new passphrase at the next unlock. Values are read
and written through the facade (core/services/app_settings.py does the checking); the
pasted bridge lines and STUN/TURN servers are also checked while typing, with the same
core functions, so mistakes show before Save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import LibraError
from ..core.net.tor.binary import find_tor
from ..core.services import app_settings
from ..core.services.app_settings import AppearancePrefs, PrivacyPrefs, Snapshot, TorPrefs
from ..core.services.direct_policy import parse_ice_url
from ..core.services.files import MAX_FILE_SIZE
from . import i18n, theme
from .engine import EngineFacade
from .errors import user_message
from .notify import NotificationSettings
from .onboarding import PassphraseField, StrengthMeter
from .passphrase import MIN_PASSPHRASE_CHARS
from .texts import ip_warning
from .widgets import BusyIndicator, ErrorCard, section_card

PAGES = ("tor", "privacy", "appearance", "security")
MB = 1 << 20
BRIDGES_URL = "https://bridges.torproject.org"


def _label(text: str = "", name: str = "", *, rich: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    if rich:
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setOpenExternalLinks(True)
    return label


def _set_kind(label: QLabel, kind: str, text: str) -> None:
    """A check line under a field: ok (green), bad (red) or info (grey)."""
    label.setText(text)
    label.setVisible(bool(text))
    label.setProperty("kind", kind)
    label.style().unpolish(label)
    label.style().polish(label)


def _indented(*widgets: QWidget) -> QWidget:
    """Widgets that belong to the radio button above them."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(26, 0, 0, 4)
    layout.setSpacing(6)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _row(*widgets: QWidget, stretch_first: bool = True) -> QWidget:
    """Widgets side by side: the first one stretches, or (``stretch_first`` False) they keep
    their size and the row ends in empty space."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if (i == 0 and stretch_first) else 0)
    if not stretch_first:
        layout.addStretch(1)
    return box


class _Page(QScrollArea):
    """A scrollable page: title, introduction, cards, then an error card and the buttons."""

    def __init__(self, title: str, intro: str) -> None:
        super().__init__()
        self.setObjectName("settingsPage")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("settingsPageBody")
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(28, 22, 28, 22)
        self.body.setSpacing(14)
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        self.body.addWidget(heading)
        self.body.addWidget(_label(intro, "muted"))
        self.error = ErrorCard()
        self.status = _label("", "check")
        self.status.hide()
        self.busy = BusyIndicator(None, 20)
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.busy)
        self.buttons.addWidget(self.status, 1)
        self.buttons.addStretch(0)  # buttons keep their size while the status line is hidden
        self.setWidget(body)

    def add(self, widget: QWidget) -> None:
        self.body.addWidget(widget)

    def finish(self, *buttons: QPushButton) -> None:
        """Close the page: its error card and its buttons at the bottom."""
        self.body.addWidget(self.error)
        for button in buttons:
            self.buttons.addWidget(button)
        self.body.addLayout(self.buttons)
        self.body.addStretch(1)

    def working(self, text: str) -> None:
        self.error.hide()
        self.busy.start()
        _set_kind(self.status, "info", text)

    def done(self, text: str) -> None:
        self.busy.stop()
        _set_kind(self.status, "ok", text)

    def failed(self, error: BaseException) -> None:
        self.busy.stop()
        _set_kind(self.status, "info", "")
        self.error.show_message(user_message(error))
        self.ensureWidgetVisible(self.error)


class SettingsDialog(QDialog):
    """Libra's settings. ``page`` is one of PAGES; ``saved`` fires after each save with
    the page's name."""

    saved = Signal(str)
    privacyChanged = Signal(object)  # PrivacyPrefs, after they were saved

    def __init__(
        self, facade: EngineFacade, parent: QWidget | None = None, page: str = "tor"
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self._snapshot: Snapshot | None = None
        self._filling = False
        self._dirty: set[str] = set()
        self.setWindowTitle(self.tr("Settings"))
        self.resize(860, 660)
        self.setMinimumSize(680, 480)

        self.nav = QListWidget()
        self.nav.setObjectName("settingsNav")
        self.nav.setFixedWidth(190)
        self.nav.setAccessibleName(self.tr("Settings pages"))
        names = (self.tr("Tor"), self.tr("Privacy"), self.tr("Appearance"), self.tr("Security"))
        for name in names:
            item = QListWidgetItem(name)
            item.setSizeHint(QSize(0, 40))
            self.nav.addItem(item)
        self.stack = QStackedWidget()
        self.tor_page = self._tor_page()
        self.privacy_page = self._privacy_page()
        self.appearance_page = self._appearance_page()
        self.security_page = self._security_page()
        for widget in (self.tor_page, self.privacy_page, self.appearance_page, self.security_page):
            self.stack.addWidget(widget)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)

        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.reject)
        footer = QHBoxLayout()
        footer.setContentsMargins(12, 8, 16, 12)
        footer.addStretch(1)
        footer.addWidget(close)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        right.addWidget(self.stack, 1)
        right.addLayout(footer)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addLayout(right, 1)
        QShortcut(QKeySequence.StandardKey.Close, self, self.reject)

        self.show_page(page)
        self.stack.setEnabled(False)
        self.reload()

    # -- loading -----------------------------------------------------------------------------

    def show_page(self, page: str) -> None:
        self.nav.setCurrentRow(PAGES.index(page) if page in PAGES else 0)

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    def reload(self) -> None:
        """Read every setting from the store (through the engine) and show it."""
        self._facade.then(self._facade.settings(), self, self._fill, self._load_failed)

    def _load_failed(self, error: BaseException) -> None:
        self.stack.setEnabled(True)
        self.tor_page.failed(error)

    def _fill(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._filling = True
        try:
            self._fill_tor(snapshot.tor)
            self._fill_privacy(snapshot)
            self._fill_appearance(snapshot.appearance)
        finally:
            self._filling = False
        self._dirty.clear()
        self._update_buttons()
        self.stack.setEnabled(True)

    def _changed(self, page: str) -> None:
        if self._filling:
            return
        self._dirty.add(page)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.tor_save.setEnabled("tor" in self._dirty and self._tor_ok())
        self.privacy_save.setEnabled("privacy" in self._dirty and self._ice_ok())

    # -- Tor ---------------------------------------------------------------------------------

    def _tor_page(self) -> _Page:
        page = _Page(
            self.tr("Tor"),
            self.tr(
                "Libra reaches your contacts only through the Tor network. The settings here "
                "help when Tor cannot connect, or if you run Tor yourself. Saving reconnects "
                "Tor; messages you write meanwhile wait and are sent afterwards."
            ),
        )
        card, box = section_card(
            self.tr("Tor program"),
            self.tr("Which Tor Libra uses. Most people keep the first choice."),
        )
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        texts = {
            "bundled": self.tr("The Tor that comes with Libra (recommended)"),
            "system": self.tr("The Tor installed on this computer"),
            "custom": self.tr("A Tor program I choose"),
            "attach": self.tr("A Tor that is already running (advanced)"),
        }
        self.tor_path = QLineEdit()
        self.tor_path.setPlaceholderText(self.tr("Path of the tor program"))
        self.tor_path.setAccessibleName(self.tr("Path of the tor program"))
        self.choose_path = QPushButton(self.tr("Choose…"))
        self.choose_path.clicked.connect(self._choose_tor)
        self.attach_address = QLineEdit()
        self.attach_address.setPlaceholderText(self.tr("127.0.0.1:9051 or /run/tor/control"))
        self.attach_address.setAccessibleName(self.tr("Control port or socket"))
        self.attach_password = QLineEdit()
        self.attach_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.attach_password.setPlaceholderText(
            self.tr("Control password (empty: use tor's cookie file)")
        )
        self.attach_password.setAccessibleName(self.tr("Control password"))
        extras = {
            "custom": _indented(_row(self.tor_path, self.choose_path)),
            "attach": _indented(
                _label(self.tr("Control port or socket"), "muted"),
                self.attach_address,
                self.attach_password,
                _label(
                    self.tr(
                        "Tor's ControlPort (or ControlSocket) setting says where this is. "
                        "Bridges and the settings below then have no effect: that Tor uses "
                        "its own configuration."
                    ),
                    "muted",
                ),
            ),
        }
        self.mode_extras = extras
        for mode in app_settings.TOR_MODES:
            button = QRadioButton(texts[mode])
            self.mode_buttons[mode] = button
            self.mode_group.addButton(button)
            box.addWidget(button)
            if mode in extras:
                box.addWidget(extras[mode])
            button.toggled.connect(lambda on: on and self._mode_changed())
        self.program_check = _label("", "check")
        box.addWidget(self.program_check)
        self.tor_path.textChanged.connect(lambda _t: self._mode_changed())
        self.attach_address.textChanged.connect(lambda _t: self._mode_changed())
        self.attach_password.textChanged.connect(lambda _t: self._changed("tor"))
        page.add(card)

        card, box = section_card(
            self.tr("Bridges"),
            self.tr(
                "If Tor stays stuck while connecting, Tor may be blocked where you are. Bridges "
                "are unlisted entrances to the Tor network that help then. Get bridge lines at "
                "%1 (or by email from bridges@torproject.org, or from a friend) and paste them "
                "below, one bridge per line."
            ).replace("%1", f'<a href="{BRIDGES_URL}">bridges.torproject.org</a>'),
        )
        intro = box.itemAt(1).widget()
        if isinstance(intro, QLabel):
            intro.setTextFormat(Qt.TextFormat.RichText)
            intro.setOpenExternalLinks(True)
        self.use_bridges = QCheckBox(self.tr("Use bridges"))
        self.bridges_edit = QPlainTextEdit()
        self.bridges_edit.setObjectName("mono")
        self.bridges_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.bridges_edit.setAccessibleName(self.tr("Bridge lines"))
        self.bridges_edit.setPlaceholderText(
            "obfs4 192.0.2.10:443 4B1A… cert=… iat-mode=0\n"
            "snowflake 192.0.2.3:80 2B28… fingerprint=… url=… …"
        )
        self.bridges_edit.setFixedHeight(110)
        self.bridges_check = _label("", "check")
        box.addWidget(self.use_bridges)
        box.addWidget(self.bridges_edit)
        box.addWidget(self.bridges_check)
        self.use_bridges.toggled.connect(lambda _on: self._bridges_changed())
        self.bridges_edit.textChanged.connect(self._bridges_changed)
        page.add(card)

        card, box = section_card(
            self.tr("Advanced"),
            self.tr("Only for special set-ups. The defaults suit almost everyone."),
        )
        self.learn_timeout = QCheckBox(
            self.tr("Let Tor learn how long to wait for a circuit (recommended)")
        )
        self.circuit_timeout = QSpinBox()
        self.circuit_timeout.setRange(*app_settings.CIRCUIT_TIMEOUT_RANGE)
        self.circuit_timeout.setSuffix(self.tr(" s"))
        self.circuit_timeout.setMinimumWidth(110)
        self.circuit_timeout.setAccessibleName(self.tr("Circuit build timeout in seconds"))
        self.bootstrap_timeout = QSpinBox()
        self.bootstrap_timeout.setRange(*app_settings.BOOTSTRAP_TIMEOUT_RANGE)
        self.bootstrap_timeout.setSingleStep(30)
        self.bootstrap_timeout.setSuffix(self.tr(" s"))
        self.bootstrap_timeout.setMinimumWidth(110)
        self.bootstrap_timeout.setAccessibleName(
            self.tr("Seconds without progress before Libra reports a problem")
        )
        self.extra_edit = QPlainTextEdit()
        self.extra_edit.setObjectName("mono")
        self.extra_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.extra_edit.setAccessibleName(self.tr("Extra Tor settings"))
        self.extra_edit.setPlaceholderText(self.tr("One torrc setting per line"))
        self.extra_edit.setFixedHeight(80)
        self.extra_check = _label("", "check")
        box.addWidget(self.learn_timeout)
        box.addWidget(
            _indented(
                _row(
                    _label(self.tr("Wait for a circuit at most"), ""),
                    self.circuit_timeout,
                    stretch_first=False,
                )
            )
        )
        box.addWidget(
            _row(
                _label(self.tr("Report a problem after no progress for"), ""),
                self.bootstrap_timeout,
                stretch_first=False,
            )
        )
        box.addWidget(_label(self.tr("Extra Tor settings"), ""))
        box.addWidget(
            _label(
                self.tr(
                    "Lines added to Tor's configuration, like in a torrc file. Libra refuses "
                    "lines that would break its own connection or make this computer serve "
                    "others."
                ),
                "muted",
            )
        )
        box.addWidget(self.extra_edit)
        box.addWidget(self.extra_check)
        self.learn_timeout.toggled.connect(
            lambda on: (self.circuit_timeout.setEnabled(not on), self._changed("tor"))
        )
        self.circuit_timeout.valueChanged.connect(lambda _v: self._changed("tor"))
        self.bootstrap_timeout.valueChanged.connect(lambda _v: self._changed("tor"))
        self.extra_edit.textChanged.connect(self._extra_changed)
        page.add(card)

        self.tor_save = QPushButton(self.tr("Save and reconnect"))
        self.tor_save.setObjectName("primary")
        self.tor_save.clicked.connect(self.save_tor)
        page.finish(self.tor_save)
        return page

    def _fill_tor(self, prefs: TorPrefs) -> None:
        self.mode_buttons.get(prefs.mode, self.mode_buttons["bundled"]).setChecked(True)
        self.tor_path.setText(prefs.tor_path or "")
        if prefs.attach_socket:
            self.attach_address.setText(prefs.attach_socket)
        elif prefs.attach_port is not None:
            host = f"[{prefs.attach_host}]" if ":" in prefs.attach_host else prefs.attach_host
            self.attach_address.setText(f"{host}:{prefs.attach_port}")
        else:
            self.attach_address.clear()
        self.attach_password.setText(prefs.attach_password or "")
        self.use_bridges.setChecked(prefs.use_bridges)
        self.bridges_edit.setPlainText("\n".join(prefs.bridges))
        self.learn_timeout.setChecked(prefs.circuit_build_timeout is None)
        self.circuit_timeout.setValue(prefs.circuit_build_timeout or 60)
        self.circuit_timeout.setEnabled(prefs.circuit_build_timeout is not None)
        self.bootstrap_timeout.setValue(prefs.bootstrap_timeout)
        self.extra_edit.setPlainText("\n".join(prefs.extra_torrc))
        self._mode_changed()
        self._bridges_changed()
        self._extra_changed()

    def _mode(self) -> str:
        for mode, button in self.mode_buttons.items():
            if button.isChecked():
                return mode
        return "bundled"

    def _mode_changed(self) -> None:
        mode = self._mode()
        for name, extra in self.mode_extras.items():
            extra.setVisible(name == mode)
        attach = mode == "attach"
        for widget in (self.use_bridges, self.bridges_edit):
            widget.setEnabled(not attach)
        self._check_program()
        self._bridges_changed()

    def _check_program(self) -> None:
        """Say which Tor would run (or what is wrong), as the user chooses."""
        mode = self._mode()
        if mode == "attach":
            text = self.attach_address.text().strip()
            if not text:
                _set_kind(self.program_check, "info", self.tr("Enter where that Tor listens."))
                return
            try:
                app_settings.parse_control_address(text)
            except LibraError:
                _set_kind(
                    self.program_check,
                    "bad",
                    self.tr("Use HOST:PORT (like 127.0.0.1:9051) or the path of a socket."),
                )
                return
            _set_kind(
                self.program_check,
                "ok",
                self.tr("Libra will use the Tor at %1.").replace("%1", text),
            )
            return
        prefs = TorPrefs(mode=mode, tor_path=self.tor_path.text().strip() or None)
        if mode == "custom" and not prefs.tor_path:
            _set_kind(self.program_check, "info", self.tr("Choose the tor program file."))
            return
        try:
            program = find_tor(app_settings.tor_program(prefs))
        except LibraError:
            text = {
                "bundled": self.tr("No Tor was found: reinstall Libra, or choose a Tor program."),
                "system": self.tr("No Tor is installed on this computer."),
                "custom": self.tr("That file is not a program Libra can run."),
            }[mode]
            _set_kind(self.program_check, "bad", text)
            return
        _set_kind(
            self.program_check, "ok", self.tr("Libra will run %1.").replace("%1", str(program))
        )

    def _bridges_changed(self) -> None:
        self._changed("tor")
        text = self.bridges_edit.toPlainText()
        if self._mode() == "attach":
            _set_kind(self.bridges_check, "info", "")
            return
        try:
            bridges = app_settings.parse_bridges(text)
            if self.use_bridges.isChecked():
                prefs = TorPrefs(mode=self._mode(), tor_path=self.tor_path.text().strip() or None)
                app_settings.bridge_lines(
                    bridges, app_settings.tor_program(prefs), self._extra_lines()
                )
        except app_settings.SettingsError as exc:
            message = user_message(exc)
            _set_kind(self.bridges_check, "bad", f"{message.title}: {exc}")
            self._update_buttons()
            return
        if not bridges:
            hint = (
                self.tr("Paste at least one bridge line.") if self.use_bridges.isChecked() else ""
            )
            _set_kind(self.bridges_check, "bad" if hint else "info", hint)
        else:
            kinds = ", ".join(sorted({b.transport or self.tr("plain") for b in bridges}))
            text = (
                self.tr("1 bridge: %1").replace("%1", kinds)
                if len(bridges) == 1
                else self.tr("%1 bridges: %2").replace("%1", str(len(bridges))).replace("%2", kinds)
            )
            _set_kind(self.bridges_check, "ok", text)
        self._update_buttons()

    def _extra_lines(self) -> list[str]:
        return self.extra_edit.toPlainText().splitlines()

    def _extra_changed(self) -> None:
        self._changed("tor")
        try:
            app_settings.check_extra_torrc(self._extra_lines())
        except app_settings.SettingsError as exc:
            _set_kind(self.extra_check, "bad", f"{user_message(exc).title}: {exc}")
        else:
            _set_kind(self.extra_check, "info", "")
        self._update_buttons()

    def _tor_ok(self) -> bool:
        return not any(
            label.property("kind") == "bad" and label.text()
            for label in (self.bridges_check, self.extra_check, self.program_check)
        )

    def _choose_tor(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("Choose the Tor program"))
        if path:
            self.tor_path.setText(path)

    def tor_prefs(self) -> TorPrefs:
        """What the Tor page shows now, as settings (checked when saved)."""
        base = self._snapshot.tor if self._snapshot else TorPrefs()
        mode = self._mode()
        host, port, socket = base.attach_host, base.attach_port, base.attach_socket
        if mode == "attach":
            host, port, socket = app_settings.parse_control_address(self.attach_address.text())
        return replace(
            base,
            mode=mode,
            tor_path=self.tor_path.text().strip() or None,
            attach_host=host,
            attach_port=port,
            attach_socket=socket,
            attach_password=self.attach_password.text() or None,
            use_bridges=self.use_bridges.isChecked(),
            bridges=tuple(self.bridges_edit.toPlainText().splitlines()),
            extra_torrc=tuple(self._extra_lines()),
            circuit_build_timeout=(
                None if self.learn_timeout.isChecked() else self.circuit_timeout.value()
            ),
            bootstrap_timeout=self.bootstrap_timeout.value(),
        )

    def save_tor(self) -> None:
        page = self.tor_page
        try:
            prefs = self.tor_prefs()
        except LibraError as exc:
            page.failed(exc)
            return
        page.working(self.tr("Saving and reconnecting…"))
        self.tor_save.setEnabled(False)
        future = self._facade.save_tor_prefs(prefs)
        self._facade.then(future, self, self._tor_saved, self._tor_failed)

    def _tor_saved(self, prefs: TorPrefs) -> None:
        if self._snapshot is not None:
            self._snapshot = replace(self._snapshot, tor=prefs)
        self._filling = True
        try:
            self._fill_tor(prefs)
        finally:
            self._filling = False
        self._dirty.discard("tor")
        self._update_buttons()
        self.tor_page.done(self.tr("Saved. Tor is reconnecting (see the status bar)."))
        self.saved.emit("tor")

    def _tor_failed(self, error: BaseException) -> None:
        self.tor_page.failed(error)
        self._update_buttons()

    # -- Privacy -----------------------------------------------------------------------------

    def _privacy_page(self) -> _Page:
        page = _Page(
            self.tr("Privacy"),
            self.tr(
                "Who can find you, who may learn your IP address, and what Libra accepts "
                "without asking. Changes apply from the next connection on."
            ),
        )
        card, box = section_card(
            self.tr("Direct connections"),
            self.tr(
                "Libra can connect you straight to a contact's computer when you both allow "
                "it: messages and files arrive faster. Otherwise everything goes through Tor."
            ),
        )
        warning = _label(ip_warning(), "ipWarning")
        box.addWidget(warning)
        box.addWidget(_label(self.tr("Allow direct connections with:"), ""))
        self.direct_group = QButtonGroup(self)
        self.direct_buttons: dict[str, QRadioButton] = {}
        for value, text in (
            ("verified", self.tr("Verified contacts only (recommended)")),
            ("known", self.tr("All my contacts")),
            ("off", self.tr("Nobody: always use Tor")),
        ):
            button = QRadioButton(text)
            self.direct_buttons[value] = button
            self.direct_group.addButton(button)
            box.addWidget(button)
            button.toggled.connect(lambda _on: self._changed("privacy"))
        box.addWidget(
            _label(
                self.tr("You can choose differently for one contact in that contact's details."),
                "muted",
            )
        )
        box.addWidget(_label(self.tr("STUN and TURN servers (optional)"), ""))
        box.addWidget(
            _label(
                self.tr(
                    "They help direct connections get through home routers. Each server you "
                    "add learns your IP address. Without any, direct connections work only "
                    "between computers on the same network. One per line, like "
                    "stun:stun.example.org:3478 or turn:user:password@turn.example.org:3478."
                ),
                "muted",
            )
        )
        self.ice_edit = QPlainTextEdit()
        self.ice_edit.setObjectName("mono")
        self.ice_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.ice_edit.setAccessibleName(self.tr("STUN and TURN servers"))
        self.ice_edit.setFixedHeight(70)
        self.ice_check = _label("", "check")
        box.addWidget(self.ice_edit)
        box.addWidget(self.ice_check)
        self.ice_edit.textChanged.connect(self._ice_changed)
        page.add(card)

        card, box = section_card(
            self.tr("Finding me"),
            self.tr(
                "While this is on, anyone who knows your three words can send you a contact "
                "request (you decide whether to accept). Turn it off once your contacts have "
                "added you: nobody can look you up then, and you keep talking to everyone "
                "you know."
            ),
        )
        self.findable = QCheckBox(self.tr("Let people find me by my three words"))
        self.findable.toggled.connect(lambda _on: self._changed("privacy"))
        box.addWidget(self.findable)
        page.add(card)

        card, box = section_card(
            self.tr("Files"),
            self.tr(
                "Files from your contacts wait for you to accept them, unless you allow them "
                "here. Larger files are always declined."
            ),
        )
        self.auto_accept = QCheckBox(self.tr("Accept files from my contacts automatically"))
        self.max_file = QSpinBox()
        self.max_file.setRange(1, MAX_FILE_SIZE // MB)
        self.max_file.setSingleStep(100)
        self.max_file.setSuffix(self.tr(" MB"))
        self.max_file.setMinimumWidth(110)
        self.max_file.setAccessibleName(self.tr("Largest file accepted, in megabytes"))
        box.addWidget(self.auto_accept)
        box.addWidget(
            _row(_label(self.tr("Largest file to accept"), ""), self.max_file, stretch_first=False)
        )
        self.auto_accept.toggled.connect(lambda _on: self._changed("privacy"))
        self.max_file.valueChanged.connect(lambda _v: self._changed("privacy"))
        page.add(card)

        card, box = section_card(
            self.tr("Notifications"),
            self.tr(
                "Notifications can appear on the lock screen and in screen shares. Show less if "
                "other people can see your screen."
            ),
        )
        self.notifications = QComboBox()
        self.notifications.setAccessibleName(self.tr("What a notification shows"))
        for value, text in (
            ("name_only", self.tr("Who wrote, not the message (recommended)")),
            ("name_and_message", self.tr("Who wrote and the message")),
            ("hidden", self.tr("Only “New message”")),
            ("off", self.tr("No notifications")),
        ):
            self.notifications.addItem(text, value)
        self.notifications.currentIndexChanged.connect(lambda _i: self._changed("privacy"))
        box.addWidget(
            _row(
                _label(self.tr("When a message arrives, show:"), ""),
                self.notifications,
                stretch_first=False,
            )
        )
        page.add(card)

        self.privacy_save = QPushButton(self.tr("Save"))
        self.privacy_save.setObjectName("primary")
        self.privacy_save.clicked.connect(self.save_privacy)
        page.finish(self.privacy_save)
        return page

    def _fill_privacy(self, snapshot: Snapshot) -> None:
        prefs = snapshot.privacy
        self.direct_buttons.get(prefs.direct_default, self.direct_buttons["verified"]).setChecked(
            True
        )
        self.ice_edit.setPlainText("\n".join(prefs.ice_servers))
        self.findable.setChecked(snapshot.findable)
        self.auto_accept.setChecked(prefs.file_auto_accept)
        self.max_file.setValue(max(1, prefs.file_max_size // MB))
        index = self.notifications.findData(prefs.notifications)
        self.notifications.setCurrentIndex(max(index, 0))
        self._ice_changed()

    def _ice_changed(self) -> None:
        self._changed("privacy")
        urls = [u.strip() for u in self.ice_edit.toPlainText().splitlines() if u.strip()]
        try:
            for url in urls:
                parse_ice_url(url)
        except LibraError as exc:
            _set_kind(self.ice_check, "bad", f"{user_message(exc).title}: {exc}")
        else:
            _set_kind(self.ice_check, "info", "")
        self._update_buttons()

    def _ice_ok(self) -> bool:
        return not (self.ice_check.property("kind") == "bad" and self.ice_check.text())

    def privacy_prefs(self) -> PrivacyPrefs:
        direct = next((v for v, b in self.direct_buttons.items() if b.isChecked()), "verified")
        return PrivacyPrefs(
            direct_default=direct,
            ice_servers=tuple(self.ice_edit.toPlainText().splitlines()),
            file_auto_accept=self.auto_accept.isChecked(),
            file_max_size=self.max_file.value() * MB,
            notifications=str(self.notifications.currentData()),
        )

    def save_privacy(self) -> None:
        self.privacy_page.working(self.tr("Saving…"))
        self.privacy_save.setEnabled(False)
        prefs = self.privacy_prefs()
        future = self._facade.save_privacy(prefs)
        self._facade.then(future, self, self._privacy_saved, self._privacy_failed)

    def _privacy_saved(self, prefs: PrivacyPrefs) -> None:
        snapshot = self._snapshot
        if snapshot is not None and self.findable.isChecked() != snapshot.findable:
            # Keep the kind of beacon (public / private / one-time) the alias screen chose.
            future = self._facade.set_findable(
                self.findable.isChecked(),
                private=snapshot.beacon_private,
                one_time=snapshot.beacon_one_time,
                expires=snapshot.beacon_expires,
            )
            self._facade.then(
                future,
                self,
                lambda info: self._privacy_done(prefs, info.findable),
                self._privacy_failed,
            )
            return
        self._privacy_done(prefs, self.findable.isChecked())

    def _privacy_done(self, prefs: PrivacyPrefs, findable: bool) -> None:
        if self._snapshot is not None:
            self._snapshot = replace(self._snapshot, privacy=prefs, findable=findable)
        self._dirty.discard("privacy")
        self._update_buttons()
        self.privacy_page.done(self.tr("Saved."))
        self.saved.emit("privacy")
        self.privacyChanged.emit(prefs)

    def _privacy_failed(self, error: BaseException) -> None:
        self.privacy_page.failed(error)
        self._update_buttons()

    # -- Appearance --------------------------------------------------------------------------

    def _appearance_page(self) -> _Page:
        page = _Page(
            self.tr("Appearance"),
            self.tr("How Libra looks. Changes are saved at once."),
        )
        card, box = section_card(self.tr("Theme"), self.tr("The theme changes immediately."))
        self.theme_group = QButtonGroup(self)
        self.theme_buttons: dict[str, QRadioButton] = {}
        for value, text in (
            ("system", self.tr("Same as the system")),
            ("light", self.tr("Light")),
            ("dark", self.tr("Dark")),
        ):
            button = QRadioButton(text)
            self.theme_buttons[value] = button
            self.theme_group.addButton(button)
            box.addWidget(button)
            button.toggled.connect(lambda on, v=value: on and self._theme_chosen(v))
        page.add(card)

        card, box = section_card(
            self.tr("Language"),
            self.tr(
                "Libra shows the new language the next time you open it. Until your profile "
                "is unlocked, Libra follows the system's language."
            ),
        )
        self.language = QComboBox()
        self.language.setAccessibleName(self.tr("Language"))
        self.language.setMinimumWidth(260)
        self.language.addItem(self.tr("Same as the system"), "")
        for code in i18n.available():
            self.language.addItem(i18n.display_name(code), code)
        self.language.currentIndexChanged.connect(self._language_chosen)
        box.addWidget(_row(self.language, stretch_first=False))
        page.add(card)
        page.finish()
        return page

    def _fill_appearance(self, prefs: AppearancePrefs) -> None:
        self.theme_buttons.get(prefs.theme, self.theme_buttons["system"]).setChecked(True)
        index = self.language.findData(prefs.language)
        if index < 0:  # a language this build does not ship: still shown, as its code
            self.language.addItem(prefs.language, prefs.language)
            index = self.language.count() - 1
        self.language.setCurrentIndex(index)

    def appearance_prefs(self) -> AppearancePrefs:
        theme_choice = next((v for v, b in self.theme_buttons.items() if b.isChecked()), "system")
        return AppearancePrefs(theme=theme_choice, language=str(self.language.currentData()))

    def _theme_chosen(self, choice: str) -> None:
        if self._filling:
            return
        app = QCoreApplication.instance()
        theme.apply_choice(app, choice)  # type: ignore[arg-type]
        self._save_appearance(self.tr("Saved."))

    def _language_chosen(self, _index: int) -> None:
        if self._filling:
            return
        code = str(self.language.currentData())
        name = i18n.display_name(code or i18n.system_language())
        self._save_appearance(
            self.tr("Saved. Libra will be in %1 the next time you open it.").replace("%1", name)
        )

    def _save_appearance(self, done_text: str) -> None:
        prefs = self.appearance_prefs()
        self.appearance_page.working(self.tr("Saving…"))
        self._facade.then(
            self._facade.save_appearance(prefs),
            self,
            lambda _p: self.appearance_page.done(done_text),
            self.appearance_page.failed,
        )

    # -- Security ----------------------------------------------------------------------------

    def _security_page(self) -> _Page:
        page = _Page(
            self.tr("Security"),
            self.tr(
                "Your passphrase encrypts everything Libra keeps on this computer: messages, "
                "contacts and keys. Nobody can recover a forgotten passphrase, not even us."
            ),
        )
        card, box = section_card(
            self.tr("Change passphrase"),
            self.tr(
                "Libra re-encrypts your profile with the new passphrase; this takes a few "
                "seconds. Use the new one the next time you open Libra."
            ),
        )
        self.current_pass = PassphraseField(self.tr("Current passphrase"))
        self.new_pass = PassphraseField(self.tr("New passphrase"))
        self.meter = StrengthMeter()
        self.confirm_pass = PassphraseField(self.tr("Repeat the new passphrase"))
        self.match = _label("", "muted")
        for label, widget in (
            (self.tr("Current passphrase"), self.current_pass),
            (self.tr("New passphrase"), self.new_pass),
            ("", self.meter),
            (self.tr("Repeat the new passphrase"), self.confirm_pass),
        ):
            if label:
                box.addWidget(_label(label))
            box.addWidget(widget)
        box.addWidget(self.match)
        for field in (self.current_pass, self.new_pass, self.confirm_pass):
            field.edit.textChanged.connect(self._check_passphrases)
        self.confirm_pass.edit.returnPressed.connect(lambda: self.change_button.click())
        page.add(card)
        backup_card, backup_box = section_card(
            self.tr("Backup"),
            self.tr(
                "Copies your profile into a new, empty folder — for example on a USB stick. The "
                "copy stays encrypted with your passphrase. Restoring an old backup brings back "
                "its older state, so make backups often."
            ),
        )
        self.backup_button = QPushButton(self.tr("Make a backup…"))
        self.backup_button.clicked.connect(self.make_backup)
        backup_box.addWidget(self.backup_button, 0, Qt.AlignmentFlag.AlignLeft)
        page.add(backup_card)
        # Asks where the backup goes ("" = cancelled); tests replace it.
        self.choose_backup_dest: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, self.tr("Choose a new, empty folder for the backup")
        )
        self.change_button = QPushButton(self.tr("Change passphrase"))
        self.change_button.setObjectName("primary")
        self.change_button.setEnabled(False)
        self.change_button.clicked.connect(self.change_passphrase)
        page.finish(self.change_button)
        return page

    def _check_passphrases(self) -> None:
        new, again = self.new_pass.text(), self.confirm_pass.text()
        self.meter.update_for(new)
        if not again:
            self.match.setText("")
        elif new == again:
            self.match.setText(self.tr("The passphrases match."))
        else:
            self.match.setText(self.tr("The passphrases are different."))
        self.change_button.setEnabled(
            bool(self.current_pass.text())
            and len(new) >= MIN_PASSPHRASE_CHARS
            and new == again
            and not self.security_page.busy.isVisible()
        )

    def change_passphrase(self) -> None:
        if not self.change_button.isEnabled():
            return
        page = self.security_page
        page.working(self.tr("Re-encrypting your profile… This takes a few seconds."))
        self.change_button.setEnabled(False)
        for field in (self.current_pass, self.new_pass, self.confirm_pass):
            field.edit.setEnabled(False)
        future = self._facade.change_passphrase(self.current_pass.text(), self.new_pass.text())
        self._facade.then(future, self, self._passphrase_changed, self._passphrase_failed)

    def make_backup(self) -> None:
        folder = self.choose_backup_dest()
        if not folder:
            return
        self.security_page.working(self.tr("Making the backup…"))
        self.backup_button.setEnabled(False)
        future = self._facade.backup(Path(folder))
        self._facade.then(future, self, self._backup_made, self._backup_failed)

    def _backup_made(self, folder: Path) -> None:
        self.backup_button.setEnabled(True)
        self.security_page.done(self.tr("Backup saved in %1.").replace("%1", str(folder)))

    def _backup_failed(self, error: BaseException) -> None:
        self.backup_button.setEnabled(True)
        self.security_page.failed(error)

    def _passphrase_changed(self, _result: object) -> None:
        for field in (self.current_pass, self.new_pass, self.confirm_pass):
            field.edit.clear()
            field.edit.setEnabled(True)
        self.security_page.done(
            self.tr("Your passphrase was changed. Use the new one the next time you open Libra.")
        )
        self.saved.emit("security")

    def _passphrase_failed(self, error: BaseException) -> None:
        self.security_page.failed(error)
        for field in (self.current_pass, self.new_pass, self.confirm_pass):
            field.edit.setEnabled(True)
        self.current_pass.edit.selectAll()
        self.current_pass.edit.setFocus()
        self._check_passphrases()

    # -- closing -----------------------------------------------------------------------------

    def done(self, result: int) -> None:
        """Closing (button, Escape, window manager) with unsaved Tor or privacy changes asks
        before dropping them."""
        if {"tor", "privacy"} & self._dirty and not self._confirm_discard():
            return
        super().done(result)

    def _confirm_discard(self) -> bool:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Unsaved changes"))
        box.setText(self.tr("You changed settings without saving them."))
        box.setInformativeText(self.tr("Close and forget these changes?"))
        discard = box.addButton(self.tr("Forget changes"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(self.tr("Keep editing"), QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is discard


def notification_settings(prefs: PrivacyPrefs) -> NotificationSettings:
    """What the notifier may show, from the Privacy page's choice."""
    enabled, sender, text = prefs.notification_flags()
    return NotificationSettings(enabled=enabled, show_sender=sender, show_text=text)


def open_settings(
    parent: QWidget | None, facade: EngineFacade, page: str = "tor"
) -> SettingsDialog:
    """Show the settings (window-modal, not blocking); returns the dialog."""
    dialog = SettingsDialog(facade, parent, page)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
