"""Entry point for ``python -m aemon``."""

import sys

from aemon.cli import main

sys.exit(main())
