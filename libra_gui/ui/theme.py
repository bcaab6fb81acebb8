"""Colours, palette and style sheet: light or dark, following the system.

Delegates paint with :func:`colors` at paint time, so a scheme switch only needs a repaint.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Colors:
    dark: bool
    window: str
    sidebar: str
    surface: str  # cards, inputs
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    bubble_in: str
    bubble_in_text: str
    bubble_out: str
    bubble_out_text: str
    selection: str
    danger: str
    warning: str
    success: str
    # Status dots (ui/states.PathState) and trust badges.
    dot_offline: str
    dot_tor: str
    dot_connecting: str
    dot_direct: str
    dot_fallback: str


LIGHT = Colors(
    dark=False,
    window="#ffffff",
    sidebar="#f3f4f6",
    surface="#ffffff",
    border="#dfe1e5",
    text="#1b1c1f",
    muted="#5f636b",
    accent="#2c6bed",
    accent_text="#ffffff",
    bubble_in="#e9eaed",
    bubble_in_text="#1b1c1f",
    bubble_out="#2c6bed",
    bubble_out_text="#ffffff",
    selection="#dde7fb",
    danger="#c5221f",
    warning="#a15c00",
    success="#1e8e3e",
    dot_offline="#9aa0a6",
    dot_tor="#7d4698",
    dot_connecting="#e8a33a",
    dot_direct="#1e9e57",
    dot_fallback="#d9691f",
)

DARK = Colors(
    dark=True,
    window="#17181b",
    sidebar="#1f2024",
    surface="#26272c",
    border="#34363c",
    text="#e8e9ec",
    muted="#a0a3ab",
    accent="#4c86f5",
    accent_text="#ffffff",
    bubble_in="#2c2e33",
    bubble_in_text="#e8e9ec",
    bubble_out="#2c6bed",
    bubble_out_text="#ffffff",
    selection="#29385a",
    danger="#f28b82",
    warning="#fdd663",
    success="#81c995",
    dot_offline="#7c8087",
    dot_tor="#b07fd6",
    dot_connecting="#f6bf5c",
    dot_direct="#4cd37f",
    dot_fallback="#f29a55",
)

_current = LIGHT
_follow_system = True  # False once the user (or a caller) picks light or dark


def colors() -> Colors:
    """The colours in use now."""
    return _current


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_choice(app: QApplication, choice: str) -> None:
    """Apply the Appearance setting at once: "system", "light" or "dark"."""
    apply(app, {"light": False, "dark": True}.get(choice))


def apply(app: QApplication, dark: bool | None = None) -> None:
    """Style the whole app; ``dark`` None follows the system (and its later changes)."""
    global _current, _follow_system
    _follow_system = dark is None
    if dark is None:
        dark = system_is_dark()
        if not app.property("libraFollowsScheme"):
            app.setProperty("libraFollowsScheme", True)
            app.styleHints().colorSchemeChanged.connect(lambda _scheme: _system_changed(app))
    _current = c = DARK if dark else LIGHT
    app.setStyle("Fusion")
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    app.setFont(font)
    app.setPalette(_palette(c))
    app.setStyleSheet(_style_sheet(c))
    for widget in app.topLevelWidgets():
        widget.update()


def _system_changed(app: QApplication) -> None:
    """The desktop switched light/dark: follow it unless the user chose a theme."""
    if _follow_system:
        apply(app)


def _palette(c: Colors) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, value in (
        (role.Window, c.window),
        (role.WindowText, c.text),
        (role.Base, c.surface),
        (role.AlternateBase, c.sidebar),
        (role.Text, c.text),
        (role.Button, c.surface),
        (role.ButtonText, c.text),
        (role.Highlight, c.accent),
        (role.HighlightedText, c.accent_text),
        (role.ToolTipBase, c.surface),
        (role.ToolTipText, c.text),
        (role.PlaceholderText, c.muted),
        (role.Link, c.accent),
        (role.Mid, c.border),
        (role.Midlight, c.border),
        (role.Dark, c.border),
        (role.Light, c.surface),
    ):
        p.setColor(r, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(disabled, r, QColor(c.muted))
    return p


def _style_sheet(c: Colors) -> str:
    return f"""
    QWidget#sidebar, QWidget#sidebarHeader {{ background: {c.sidebar}; }}
    QWidget#chatHeader {{ background: {c.window}; border-bottom: 1px solid {c.border}; }}
    QWidget#composerBar {{ background: {c.window}; border-top: 1px solid {c.border}; }}
    QListView {{ border: none; background: transparent; outline: 0; }}
    QListView#contactList {{ background: {c.sidebar}; }}
    QLabel#title {{ font-size: 20pt; font-weight: 600; }}
    QLabel#subtitle, QLabel#muted {{ color: {c.muted}; }}
    QLabel#chatTitle {{ font-size: 12pt; font-weight: 600; }}
    QLabel#aliasWords {{ font-size: 17pt; font-weight: 600; color: {c.accent}; }}
    QLabel#error {{ color: {c.danger}; }}
    QLabel#success {{ color: {c.success}; }}
    QLabel#trustNote {{ background: {c.sidebar}; border-radius: 8px; padding: 8px 10px; }}
    QLabel#trustNote[kind="ok"] {{ color: {c.success}; }}
    QLabel#trustNote[kind="warn"] {{ color: {c.warning}; }}
    QLabel#trustNote[kind="danger"] {{ color: {c.danger}; }}
    QLabel#bigTick {{ font-size: 34pt; color: {c.success}; }}
    QLabel#safetyNumber {{ font-family: monospace; font-size: 13pt; letter-spacing: 1px; }}
    QPushButton#chip {{ border-radius: 12px; padding: 3px 10px; color: {c.accent}; }}
    QPushButton#danger {{ color: {c.danger}; }}
    QPushButton#danger:hover {{ border-color: {c.danger}; }}
    QToolButton#attach {{ border: none; border-radius: 18px; background: transparent; }}
    QToolButton#attach:hover {{ background: {c.sidebar}; }}
    QFrame#fileBubble {{ background: {c.bubble_in}; border-radius: 14px; }}
    QFrame#fileBubble[outgoing="true"] {{ background: {c.bubble_out}; }}
    QFrame#fileBubble QLabel {{ color: {c.bubble_in_text}; background: transparent; }}
    QFrame#fileBubble[outgoing="true"] QLabel {{ color: {c.bubble_out_text}; }}
    QFrame#fileBubble[outgoing="true"] QProgressBar {{ background: rgba(255, 255, 255, 70); }}
    QFrame#fileBubble[outgoing="true"] QProgressBar::chunk {{ background: #ffffff; }}
    QFrame#banner {{ background: {c.selection}; border-bottom: 1px solid {c.border}; }}
    QFrame#dangerBanner {{ background: {c.surface}; border: 1px solid {c.danger};
        border-radius: 10px; }}
    QLabel#sectionTitle {{ color: {c.muted}; font-weight: 600; }}
    QListWidget#settingsNav {{ background: {c.sidebar}; border: none;
        border-right: 1px solid {c.border}; padding: 10px 8px; outline: 0; }}
    QListWidget#settingsNav::item {{ padding: 0 12px; margin: 1px 0; border-radius: 8px;
        color: {c.text}; }}
    QListWidget#settingsNav::item:selected {{ background: {c.selection}; color: {c.text}; }}
    QListWidget#settingsNav::item:hover:!selected {{ background: {c.border}; }}
    QScrollArea#settingsPage, QWidget#settingsPageBody {{ background: {c.window};
        border: none; }}
    QLabel#pageTitle {{ font-size: 16pt; font-weight: 600; }}
    QLabel#check[kind="ok"] {{ color: {c.success}; }}
    QLabel#check[kind="bad"] {{ color: {c.danger}; }}
    QLabel#check[kind="info"] {{ color: {c.muted}; }}
    QLabel#ipWarning {{ background: {c.sidebar}; color: {c.text}; border-left: 3px solid
        {c.warning}; border-radius: 6px; padding: 8px 10px; }}
    QPlainTextEdit#mono {{ font-family: monospace; }}
    QRadioButton::indicator {{ width: 14px; height: 14px; border-radius: 8px;
        border: 1px solid {c.muted}; background: {c.surface}; }}
    QRadioButton::indicator:checked {{ width: 8px; height: 8px; border: 4px solid {c.accent};
        background: {c.accent_text}; }}
    QRadioButton::indicator:disabled {{ border-color: {c.border}; }}
    QComboBox QAbstractItemView {{ background: {c.surface}; color: {c.text};
        border: 1px solid {c.border}; selection-background-color: {c.selection};
        selection-color: {c.text}; }}
    QComboBox:disabled, QSpinBox:disabled {{ color: {c.muted}; }}
    QFrame#card {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 10px; }}
    QFrame#errorCard {{ background: {c.surface}; border: 1px solid {c.danger};
        border-radius: 10px; }}
    QLineEdit, QPlainTextEdit {{ background: {c.surface}; color: {c.text};
        border: 1px solid {c.border}; border-radius: 8px; padding: 6px 8px;
        selection-background-color: {c.accent}; }}
    QLineEdit:focus, QPlainTextEdit:focus {{ border: 1px solid {c.accent}; }}
    QPlainTextEdit#composer {{ border-radius: 18px; padding: 6px 12px; }}
    QPushButton {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
        border-radius: 8px; padding: 6px 14px; }}
    QPushButton:hover {{ border-color: {c.accent}; }}
    QPushButton:disabled {{ color: {c.muted}; }}
    QPushButton#primary {{ background: {c.accent}; color: {c.accent_text}; border: none;
        font-weight: 600; }}
    QPushButton#primary:disabled {{ background: {c.border}; color: {c.muted}; }}
    QPushButton#flat {{ border: none; background: transparent; color: {c.accent}; }}
    QPushButton#flat:hover {{ text-decoration: underline; }}
    QProgressBar {{ background: {c.border}; border: none; border-radius: 3px; max-height: 6px;
        text-align: center; }}
    QProgressBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
    QStatusBar {{ background: {c.sidebar}; color: {c.muted}; border-top: 1px solid {c.border}; }}
    QStatusBar::item {{ border: none; }}
    QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
    QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 3px; min-height: 32px; }}
    QScrollBar::handle:vertical:hover {{ background: {c.muted}; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; width: 0; }}
    QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
    QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
        padding: 4px; }}
    """
