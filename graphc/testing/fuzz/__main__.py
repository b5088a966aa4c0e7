"""`python -m graphc.testing.fuzz`: differential fuzzing of every backend against the NumPy reference."""
import sys

from .cli import main

sys.exit(main())
