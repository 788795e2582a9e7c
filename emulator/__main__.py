"""python -m emulator --port 0: serve the corrected AWS emulator until SIGTERM or Ctrl-C."""

import sys

from .server import main

sys.exit(main())
