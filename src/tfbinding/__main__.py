"""``python -m tfbinding``: the same as the ``tfbinding`` command."""
import sys

from tfbinding.cli import main

sys.exit(main())
