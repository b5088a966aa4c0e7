"""Testing tools: `check_grad` (gradients against finite differences) and, in `graphc.testing.fuzz`
(not imported here: it is a command-line tool), the differential fuzzer."""
from .check import check_grad, numerical_grad

__all__ = ["check_grad", "numerical_grad"]
