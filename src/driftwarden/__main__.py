"""``python -m driftwarden`` runs the command line."""

import sys

from driftwarden.cli import main

sys.exit(main())
