"""Tor status: a status-bar item and a panel with progress, mode, errors and their fixes.

Tor starts in the background; the window is usable meanwhile (messages are queued). When it
fails, the panel says why (ui/errors.py) and offers what helps: choose the tor program, add
bridges, try again, or all Tor settings. A chosen program and bridges are saved in the
profile's settings (core/services/app_settings.py) and tor restarts with them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import LibraError
from ..core.net.tor.binary import find_tor
from ..core.services import app_settings
from . import theme
from .engine import EngineFacade
from .errors import user_message
from .settings_dialog import open_settings
from .states import TorStatus
from .texts import tor_phase_text
from .widgets import BusyIndicator, ErrorCard, StatusDot


def _dot_color(status: TorStatus) -> QColor:
    c = theme.colors()
    colour = {"ready": c.success, "failed": c.danger, "idle": c.dot_offline}.get(status.phase)
    return QColor(colour or (c.dot_offline if status.phase == "stopped" else c.dot_connecting))


class TorStatusItem(QWidget):
    """Status-bar item: dot, one line of text, a progress bar while bootstrapping."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(8)
        self.dot = StatusDot(self, 10)
        self.label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(140)
        self.details = QPushButton(self.tr("Details"))
        self.details.setObjectName("flat")
        self.details.setCursor(Qt.CursorShape.PointingHandCursor)
        self.details.clicked.connect(self.clicked)
        for widget in (self.dot, self.label, self.progress, self.details):
            layout.addWidget(widget)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.show_status(TorStatus())

    def show_status(self, status: TorStatus) -> None:
        text = tor_phase_text(status)
        self.label.setText(text)
        self.dot.set(_dot_color(status), text)
        self.progress.setVisible(status.phase in ("starting", "bootstrapping"))
        self.progress.setValue(status.percent)
        self.setAccessibleName(self.tr("Tor connection: %1").replace("%1", text))
        failed = status.phase == "failed"
        self.details.setText(self.tr("How to fix…") if failed else self.tr("Details"))
        colour = theme.colors().danger if status.phase == "failed" else theme.colors().muted
        self.label.setStyleSheet(f"color: {colour};")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit()


class BridgesDialog(QDialog):
    """Paste bridge lines, one per line; each is checked as it is typed."""

    def __init__(
        self,
        lines: list[str],
        parent: QWidget | None = None,
        *,
        tor_program: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._tor_program = tor_program
        self.setWindowTitle(self.tr("Bridges"))
        self.resize(600, 460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 18)
        layout.setSpacing(10)
        title = QLabel(self.tr("Connect through bridges"))
        title.setObjectName("chatTitle")
        help_text = QLabel(
            self.tr(
                "If Tor is blocked where you are, bridges help it connect. Get bridge lines at "
                "%1, by email from bridges@torproject.org, or from a friend, and paste them "
                "below, one bridge per line. They look like this:"
            ).replace("%1", '<a href="https://bridges.torproject.org">bridges.torproject.org</a>')
        )
        help_text.setTextFormat(Qt.TextFormat.RichText)
        help_text.setOpenExternalLinks(True)
        help_text.setWordWrap(True)
        example = QLabel("obfs4 192.0.2.10:443 4B1A2C… cert=Q2pV… iat-mode=0")
        example.setObjectName("muted")
        example.setStyleSheet("font-family: monospace;")
        self.editor = QPlainTextEdit("\n".join(lines))
        self.editor.setObjectName("mono")
        self.editor.setAccessibleName(self.tr("Bridge lines"))
        self.editor.setPlaceholderText(self.tr("Paste bridge lines here"))
        self.check = QLabel()
        self.check.setObjectName("check")
        self.check.setWordWrap(True)
        self.error = ErrorCard(self)
        buttons = QDialogButtonBox()
        self.save = buttons.addButton(
            self.tr("Save and reconnect"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save.setObjectName("primary")
        buttons.addButton(self.tr("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        for widget in (title, help_text, example, self.editor, self.check, self.error, buttons):
            layout.addWidget(widget)
        self.editor.textChanged.connect(self._check)
        self._check()

    def lines(self) -> list[str]:
        return [ln.strip() for ln in self.editor.toPlainText().splitlines() if ln.strip()]

    def bridges(self) -> list[app_settings.Bridge]:
        """The bridges pasted (BridgeLineError if a line is not one)."""
        return app_settings.parse_bridges(self.lines())

    def _check(self) -> None:
        self.error.hide()
        try:
            found = self.bridges()
        except app_settings.BridgeLineError as exc:
            self._say("bad", f"{user_message(exc).title}: {exc}")
            return
        if not found:
            self._say("info", self.tr("No bridges: Libra connects to Tor directly."))
            return
        kinds = ", ".join(sorted({b.transport or self.tr("plain") for b in found}))
        if len(found) == 1:
            self._say("ok", self.tr("1 bridge: %1").replace("%1", kinds))
        else:
            text = self.tr("%1 bridges: %2").replace("%1", str(len(found))).replace("%2", kinds)
            self._say("ok", text)

    def _say(self, kind: str, text: str) -> None:
        self.check.setText(text)
        self.check.setProperty("kind", kind)
        self.check.style().unpolish(self.check)
        self.check.style().polish(self.check)
        self.save.setEnabled(kind != "bad")

    def _save(self) -> None:
        """Refuse here what saving would refuse (a transport whose program is missing)."""
        try:
            app_settings.bridge_lines(self.bridges(), self._tor_program)
        except app_settings.SettingsError as exc:
            self.error.show_message(user_message(exc))
            return
        self.accept()


class TorPanel(QDialog):
    """Everything about the Tor connection, and the fixes for what goes wrong."""

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._facade = facade
        self.setWindowTitle(self.tr("Tor connection"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 18)
        layout.setSpacing(12)
        title = QLabel(self.tr("Tor connection"))
        title.setObjectName("chatTitle")
        intro = QLabel(
            self.tr(
                "Libra sends everything through the Tor network, which hides your IP address from "
                "your contacts and from anyone watching. You can write messages while Tor "
                "connects: they are sent as soon as it is ready."
            )
        )
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        status_row = QHBoxLayout()
        self.busy = BusyIndicator(self, 18)
        self.state = QLabel()
        self.state.setStyleSheet("font-weight: 600;")
        status_row.addWidget(self.busy)
        status_row.addWidget(self.state, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.step = QLabel()
        self.step.setObjectName("muted")
        self.step.setWordWrap(True)
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        self.mode = QLabel()
        self.mode.setWordWrap(True)
        self.program = QLabel()
        self.program.setWordWrap(True)
        self.program.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bridges = QLabel()
        form.addRow(self.tr("Mode"), self.mode)
        form.addRow(self.tr("Tor program"), self.program)
        form.addRow(self.tr("Bridges"), self.bridges)
        self.error = ErrorCard(self)
        self.error.set_handlers(
            {"retry": self.retry, "choose_tor": self.choose_tor, "bridges": self.edit_bridges}
        )
        actions = QHBoxLayout()
        self.choose_button = QPushButton(self.tr("Choose Tor program…"))
        self.bridges_button = QPushButton(self.tr("Bridges…"))
        self.retry_button = QPushButton(self.tr("Reconnect"))
        self.settings_button = QPushButton(self.tr("All Tor settings…"))
        self.settings_button.setObjectName("flat")
        close = QPushButton(self.tr("Close"))
        close.setObjectName("primary")
        self.choose_button.clicked.connect(self.choose_tor)
        self.bridges_button.clicked.connect(self.edit_bridges)
        self.retry_button.clicked.connect(self.retry)
        self.settings_button.clicked.connect(self.open_tor_settings)
        close.clicked.connect(self.accept)
        for button in (
            self.choose_button,
            self.bridges_button,
            self.retry_button,
            self.settings_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(close)
        for item in (title, intro):
            layout.addWidget(item)
        layout.addLayout(status_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.step)
        layout.addLayout(form)
        layout.addWidget(self.error)
        self.save_error = ErrorCard(self)
        layout.addWidget(self.save_error)
        layout.addStretch(1)
        layout.addLayout(actions)
        facade.torStatusChanged.connect(self.show_status)
        self.show_status(facade.tor_status)

    def show_status(self, status: TorStatus) -> None:
        self.state.setText(tor_phase_text(status))
        working = status.phase in ("starting", "bootstrapping", "restarting")
        self.busy.start() if working else self.busy.stop()
        self.progress.setVisible(status.phase in ("starting", "bootstrapping"))
        self.progress.setValue(status.percent)
        step = status.summary if status.phase == "bootstrapping" else ""
        if status.warning and status.phase != "ready":
            step = f"{step}\n{self.tr('Tor says:')} {status.warning}".strip()
        self.step.setText(step)
        self.step.setVisible(bool(step))
        offered: tuple[str, ...] = ()
        if status.phase == "failed" and status.error is not None:
            message = user_message(status.error)
            self.error.show_message(message)
            offered = message.actions
        else:
            self.error.hide()
        # An action the error card offers is not repeated in the row below.
        self.choose_button.setVisible("choose_tor" not in offered)
        self.bridges_button.setVisible("bridges" not in offered)
        self.retry_button.setVisible("retry" not in offered)
        self._show_settings()
        QTimer.singleShot(0, self._fit_height)

    def _fit_height(self) -> None:
        """Grow to show a wrapped error in full (a window's minimum size ignores word wrap)."""
        layout = self.layout()
        if layout.hasHeightForWidth():
            needed = layout.totalHeightForWidth(self.width())
        else:
            needed = layout.totalSizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def _show_settings(self) -> None:
        settings = self._facade.tor_settings
        mode = self._facade.tor_prefs.mode
        if settings.attach is not None:
            self.mode.setText(
                self.tr("Using a Tor you run yourself (%1)").replace(
                    "%1", settings.attach.describe()
                )
            )
        elif settings.tor_path is not None and mode in ("system", "custom"):
            self.mode.setText(
                self.tr("Libra runs the Tor installed on this computer")
                if mode == "system"
                else self.tr("Libra runs the Tor program you chose")
            )
        else:
            self.mode.setText(self.tr("Libra runs its own Tor"))
        try:
            self.program.setText(str(find_tor(settings.tor_path)))
        except LibraError:
            self.program.setText(self.tr("not found"))
        bridge_lines = [ln for ln in settings.extra_torrc if ln.lower().startswith("bridge ")]
        if bridge_lines:
            self.bridges.setText(self.tr("%1 configured").replace("%1", str(len(bridge_lines))))
        elif settings.extra_torrc:
            self.bridges.setText(self.tr("none (other extra settings in use)"))
        else:
            self.bridges.setText(self.tr("none"))

    def retry(self) -> None:
        self.save_error.hide()
        self._facade.restart_tor()

    def choose_tor(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("Choose the Tor program"))
        if path:
            self.use_tor_program(Path(path))

    def use_tor_program(self, path: Path) -> None:
        """Save ``path`` as the Tor program (Settings → Tor → "A Tor program I choose")."""
        self._save(mode="custom", tor_path=str(path))

    def edit_bridges(self) -> None:
        prefs = self._facade.tor_prefs
        program = app_settings.tor_program(prefs)
        dialog = BridgesDialog(list(prefs.bridges), self, tor_program=program)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.save_bridges(dialog.bridges())

    def save_bridges(self, bridges: list[app_settings.Bridge]) -> None:
        """Save the bridges (none: bridges off) and reconnect through them."""
        lines = tuple(b.line() for b in bridges)
        self._save(use_bridges=bool(lines), bridges=lines)

    def open_tor_settings(self) -> None:
        open_settings(self, self._facade, "tor")

    def _save(self, **changes: object) -> None:
        self.save_error.hide()
        self._facade.then(
            self._facade.update_tor_prefs(**changes),
            self,
            lambda _prefs: self._show_settings(),
            lambda error: self.save_error.show_message(user_message(error)),
        )
