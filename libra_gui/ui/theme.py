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


def colors() -> Colors:
    """The colours in use now."""
    return _current


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply(app: QApplication, dark: bool | None = None) -> None:
    """Style the whole app; ``dark`` None follows the system (and its later changes)."""
    global _current
    if dark is None:
        dark = system_is_dark()
        if not app.property("libraFollowsScheme"):
            app.setProperty("libraFollowsScheme", True)
            app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply(app))
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
    QLabel#sectionTitle {{ color: {c.muted}; font-weight: 600; }}
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
