"""Differential fuzzing: random graphc programs (and their gradients and jvps) on every backend and
O-level, compared with the float64 NumPy reference; a disagreement is minimized into a short script.

Run it as `python -m graphc.testing.fuzz --help`; see docs/fuzzing.md.
"""
from .generate import generate
from .minimize import minimize
from .program import Input, Program
from .run import Finding, Outcome, run
from .script import script
from .session import Report, session, targets_for

__all__ = ["generate", "minimize", "Input", "Program", "Finding", "Outcome", "run", "script", "Report", "session",
           "targets_for"]
