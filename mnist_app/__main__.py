"""`python -m mnist_app ...`: see mnist_app/cli.py."""

import sys

from mnist_app.cli import main

sys.exit(main())
