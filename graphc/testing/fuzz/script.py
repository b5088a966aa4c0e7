"""A finding as a short, self-contained graphc script that shows it when run."""
from __future__ import annotations

import numpy as np

from .program import Program
from .run import REFERENCE, Finding

_COMPARE = '''
for args in draws:
    results = []
    for wide, backend, level in ((True, "{ref}", "{ref_level}"), (False, "{backend}", "{level}")):
        xs, outs = build(wide)
        call = [a.astype(np.float64) if wide and gc.ir.is_float(a.dtype.name) else a for a in args]
        try:
            results.append(gc.function(xs, outs, backend=backend, optimize=level)(*call))
        except Exception as e:
            results.append(e)
    want, got = results
    print("reference (numpy, float64):", want)
    print("{backend} {level}:", got)
    if not isinstance(want, Exception) and not isinstance(got, Exception):
        for i, (w, g) in enumerate(zip(want, got)):
            print(f"output {{i}}: max abs error", np.max(np.abs(np.asarray(g, np.float64) - w), initial=0.0))
'''


def literal(a: np.ndarray) -> str:
    """`a` as Python source (values, dtype and shape)."""
    if a.size == 0:
        return f'np.zeros({a.shape!r}, "{a.dtype.name}")'
    return f'np.array({a.tolist()!r}, "{a.dtype.name}")'


def script(program: Program, finding: Finding) -> str:
    """The reproducer: the program, its inputs as literals, and the comparison printed."""
    head = f"# graphc fuzz: {finding.backend} at {finding.level}: {finding.kind}: {finding.detail}"
    parts = [head[:300], "import numpy as np", "import graphc as gc", "", "", program.source()]
    if finding.backend == "graph":
        parts.append("build(False)  # raises")
        return "\n".join(parts) + "\n"
    draws = ",\n".join("    [" + ", ".join(literal(a) for a in program.draw(k)) + "]"
                       for k in range(len(program.sizes)))
    parts.append(f"draws = [\n{draws},\n]")
    parts.append(_COMPARE.format(ref=REFERENCE[0], ref_level=REFERENCE[1], backend=finding.backend,
                                 level=finding.level).rstrip("\n"))
    return "\n".join(parts) + "\n"
