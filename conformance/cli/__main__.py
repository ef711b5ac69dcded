"""``python -m conformance.cli``: the ``syncrig`` command."""

import sys

from conformance.cli import main

sys.exit(main())
