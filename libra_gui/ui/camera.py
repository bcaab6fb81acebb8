"""Reading a QR code with a camera, where Qt Multimedia exists.

Qt Multimedia ships in PySide6-Addons, which Libra does not bundle (design.md §8: Essentials
only), so everything here is imported lazily and :func:`availability` tells the add-contact
dialog whether to offer the camera at all, or to explain why not. Frames go to the same
QR reader as pictures and the clipboard (``EngineFacade.invite_from_gray``), a few per
second, never more than one at a time.

Not exercised by the test suite (no Qt Multimedia in the test environment); the reader
behind it is.
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import Future
from typing import Any, Literal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.protocol.uri import Invite
from ..core.services.qr import NoQrCodeFound, QrCodeDamaged
from .engine import EngineFacade
from .errors import user_message

Availability = Literal["ready", "no-module", "no-camera"]
SCAN_INTERVAL_MS = 300


def _has_multimedia() -> bool:
    try:
        return importlib.util.find_spec("PySide6.QtMultimedia") is not None
    except (ImportError, ValueError):
        return False


def availability() -> Availability:
    """Can a camera be used to scan: yes, no Qt Multimedia, or no camera attached."""
    if not _has_multimedia():
        return "no-module"
    from PySide6.QtMultimedia import QMediaDevices

    return "ready" if QMediaDevices.videoInputs() else "no-camera"


def open_scanner(facade: EngineFacade, parent: QWidget | None = None) -> CameraScanDialog | None:
    """A scanner dialog, or None if no camera can be used."""
    if availability() != "ready":
        return None
    return CameraScanDialog(facade, parent)


class CameraScanDialog(QDialog):
    """Live camera picture; accepted as soon as a Libra invite is read (``invite``)."""

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        from PySide6.QtMultimedia import QCamera, QMediaCaptureSession, QVideoSink

        super().__init__(parent)
        self._facade = facade
        self.invite: Invite | None = None
        self._scan: Future[Invite] | None = None
        self._latest: QImage | None = None
        self.setWindowTitle(self.tr("Scan a QR code"))
        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Hold their QR code in front of the camera."))
        hint.setWordWrap(True)
        self.view = QLabel()
        self.view.setMinimumSize(480, 360)
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.reject)
        for widget in (hint, self.view, self.status):
            layout.addWidget(widget)
        layout.addWidget(cancel, 0, Qt.AlignmentFlag.AlignRight)
        self._camera = QCamera(self)
        self._sink = QVideoSink(self)
        self._session = QMediaCaptureSession(self)
        self._session.setCamera(self._camera)
        self._session.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._camera.errorOccurred.connect(self._on_error)
        self._timer = QTimer(self)
        self._timer.setInterval(SCAN_INTERVAL_MS)
        self._timer.timeout.connect(self._scan_latest)
        self._camera.start()
        self._timer.start()

    def _on_frame(self, frame: Any) -> None:
        image = frame.toImage()
        if image.isNull():
            return
        self._latest = image
        self.view.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.view.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _scan_latest(self) -> None:
        if self._latest is None or (self._scan is not None and not self._scan.done()):
            return
        gray = self._latest.convertToFormat(QImage.Format.Format_Grayscale8)
        self._latest = None
        self._scan = self._facade.invite_from_gray(
            bytes(gray.constBits()), gray.width(), gray.height(), gray.bytesPerLine()
        )
        self._facade.then(self._scan, self, self._found, self._not_yet)

    def _found(self, invite: Invite) -> None:
        self.invite = invite
        self.accept()

    def _not_yet(self, error: BaseException) -> None:
        if isinstance(error, NoQrCodeFound | QrCodeDamaged):
            return  # keep looking
        message = user_message(error)
        self.status.setText(f"{message.title}: {message.text}")

    def _on_error(self, *_args: object) -> None:
        self.status.setText(
            self.tr("The camera stopped working. Close this and choose “From a picture…”.")
        )

    def done(self, result: int) -> None:
        self._timer.stop()
        self._camera.stop()
        super().done(result)
