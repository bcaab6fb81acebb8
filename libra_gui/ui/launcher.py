"""What the user sees first: onboarding on the first run, the unlock dialog later, then the
main window (which starts tor in the background)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from .engine import EngineFacade, ProfileInfo
from .main_window import MainWindow
from .onboarding import OnboardingDialog, UnlockDialog


class Launcher(QObject):
    """Owns the top-level windows of one run. Each next window is shown before the previous
    one closes, so the app never sees "last window closed" in between."""

    def __init__(self, facade: EngineFacade, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.facade = facade
        self.window: QWidget | None = None
        self.main_window: MainWindow | None = None

    def start(self) -> QWidget:
        """Show onboarding or unlock; returns the window shown."""
        if self.facade.has_profile():
            return self._show_unlock()
        dialog = OnboardingDialog(self.facade)
        dialog.completed.connect(self.open_main)
        dialog.existingChosen.connect(self._use_folder)
        return self._show(dialog)

    def open_main(self, info: ProfileInfo) -> MainWindow:
        window = MainWindow(self.facade, info)
        self.main_window = window
        self._show(window)
        self.facade.start_node()
        return window

    def _use_folder(self, folder: Path) -> None:
        self.facade.use_data_dir(folder)
        self._show_unlock()

    def _show_unlock(self) -> QWidget:
        dialog = UnlockDialog(self.facade)
        dialog.unlocked.connect(self.open_main)
        return self._show(dialog)

    def _show(self, window: QWidget) -> QWidget:
        self.window = window
        window.show()
        return window
