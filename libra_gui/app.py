"""GUI entry point (`libra`): the window on a qasync event loop, the core on its own thread."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .core.services.paths import default_data_dir


def main(argv: list[str] | None = None) -> int:
    """Open Libra (onboarding, unlock or the main window); return the process exit code.

    ``--self-test`` shows the first screen, lets the loop run briefly, shuts the engine down
    and exits 0: what installers and CI use to prove a bundle starts (no tor, no profile).
    """
    parser = argparse.ArgumentParser(prog="libra", description="Libra messenger")
    parser.add_argument("--version", action="version", version=f"libra {__version__}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"profile directory (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (tor, encrypted store, window) offline, then exit",
    )
    parser.add_argument(
        "--language",
        default="",
        metavar="CODE",
        help="language until the profile is unlocked, e.g. de (default: the system's)",
    )
    # For tests and scripts: start normally, quit after SECONDS.
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)
    args, qt_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        from .selftest import run_self_test

        return run_self_test()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from .ui import i18n, theme
    from .ui.engine import EngineFacade
    from .ui.launcher import Launcher

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("Libra")
    app.setApplicationVersion(__version__)
    theme.apply(app)
    i18n.install(args.language)
    facade = EngineFacade(args.data_dir or default_data_dir())
    # Unlocked: the profile's language and theme, before the main window is built.
    facade.appearanceLoaded.connect(
        lambda prefs: (i18n.install(prefs.language), theme.apply_choice(app, prefs.theme))
    )
    app.aboutToQuit.connect(facade.shutdown)
    launcher = Launcher(facade)
    launcher.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    if args.quit_after is not None:
        loop.call_later(args.quit_after, app.quit)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0


if __name__ == "__main__":
    sys.exit(main())
