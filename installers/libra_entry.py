"""Entry point of the frozen app (PyInstaller runs this as ``libra``).

``--self-test`` is dispatched here, before the GUI's own argument parsing, so that the bundle
check CI and installers rely on runs the same code however app.py evolves.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Run the bundle self-test or the app; return the exit code."""
    if "--self-test" in sys.argv[1:]:
        from libra_gui.selftest import run_self_test

        return run_self_test()
    from libra_gui.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
