"""`python -m libra_gui` opens the window, like the `libra` command."""

import sys

from .app import main

sys.exit(main())
