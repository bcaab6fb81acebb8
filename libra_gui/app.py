"""GUI entry point (`libra`). A minimal window until the desktop-app issue lands."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    """Open the Libra window on a qasync event loop; return the process exit code.

    ``--self-test`` opens the window, lets the loop run briefly and exits 0: what installers
    and CI use to prove a bundle starts.
    """
    parser = argparse.ArgumentParser(prog="libra", description="Libra messenger")
    parser.add_argument("--version", action="version", version=f"libra {__version__}")
    parser.add_argument("--self-test", action="store_true", help="start, then quit at once")
    args, qt_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)

    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from .ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("Libra")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    if args.self_test:
        loop.call_later(0.3, app.quit)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0


if __name__ == "__main__":
    sys.exit(main())
