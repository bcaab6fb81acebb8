"""Placeholder main window: shows that the app starts; the real UI is the GUI issue."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from .. import __version__


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Libra")
        self.resize(720, 480)
        body = QWidget()
        layout = QVBoxLayout(body)
        title = QLabel("Libra")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 32px; font-weight: 600;")
        status = QLabel(
            f"Version {__version__}. The encrypted core is ready; use libra-cli for now.\n"
            "Contacts, chats and the Tor connection will appear here in the next release."
        )
        status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        status.setWordWrap(True)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(status)
        layout.addStretch(1)
        self.setCentralWidget(body)
