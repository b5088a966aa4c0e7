"""One method's outcome: sizes, timings, values and errors against the reference."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MethodResult:
    """What one differentiation method cost and how accurate it was.

    Sizes: `tree` is the derivative written as formulas without sharing (symbolic only),
    `shared` its size with sharing (after `sympy.cse`, or op nodes of a derivative graph),
    `new` the op nodes a derivative graph adds to the forward graph. `status` is "ok"
    or "exceeded at ..." (a limit was hit) or "failed: ...".
    """

    method: str
    status: str = "ok"
    tree: int | None = None
    shared: int | None = None
    new: int | None = None
    derive_s: float | None = None
    compile_s: float | None = None
    eval_s: float | None = None
    gradient: list[np.ndarray] | None = field(default=None, repr=False)
    abs_err: float | None = None
    rel_err: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the method finished within its limits."""
        return self.status == "ok"

    def score(self, reference: list[np.ndarray] | None) -> None:
        """Fill in the errors: max |g - ref| and that over max |ref| (normwise, so zeros are fine)."""
        if reference is None or self.gradient is None:
            return
        got = np.concatenate([np.ravel(g).astype(np.float64) for g in self.gradient])
        ref = np.concatenate([np.ravel(r).astype(np.float64) for r in reference])
        self.abs_err = float(np.max(np.abs(got - ref), initial=0.0))
        scale = float(np.max(np.abs(ref), initial=0.0))
        self.rel_err = self.abs_err / scale if scale > 0 else self.abs_err
