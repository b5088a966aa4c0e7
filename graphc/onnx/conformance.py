"""ONNX's node tests run through graphc and tallied per op: the table docs/onnx.md publishes
(docs/regenerate.py calls `node_table`). tests/test_onnx_backend.py runs the same tests through
onnx's BackendTest runner; this module classifies them for the table."""
from __future__ import annotations

import collections
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..ir.leaves import Constant
from .backend import GraphcBackend
from .errors import OnnxUnsupportedError


@dataclass(frozen=True)
class Outcome:
    test: str
    op: str
    status: str  # "passed", "folded", "failed", "unsupported"
    why: str = ""


def _array(v):
    from onnx import numpy_helper
    return numpy_helper.to_array(v) if hasattr(v, "dims") else np.asarray(v)


def run_node_tests(backend: str = "llvm") -> list[Outcome]:
    """Every node test of the installed onnx, on graphc's `backend`."""
    from onnx.backend.test.loader import load_model_tests
    from onnx.backend.test.runner import Runner
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = load_model_tests(kind="node")
    single = {t.name: t.model.graph.node[0].op_type for t in tests if len(t.model.graph.node) == 1}
    out = []
    for t in tests:
        stem = re.sub(r"_expanded(_ver\d+)?$", "", t.name)
        op = single.get(t.name) or (f"{single[stem]} (function body)" if stem in single else
                                    "+".join(sorted({n.op_type for n in t.model.graph.node})))
        try:
            rep = GraphcBackend.prepare(t.model, backend=backend)
            folded = True
            for inputs, refs in t.data_sets:
                outs = rep.run([_array(i) for i in inputs])
                folded = folded and all(isinstance(o.op, Constant) for m, _ in rep._compiled.values()
                                        for o in m.outputs)
                Runner.assert_similar_outputs([_array(r) for r in refs], list(outs), rtol=t.rtol, atol=t.atol)
            out.append(Outcome(t.name, op, "folded" if folded else "passed"))
        except OnnxUnsupportedError as e:
            out.append(Outcome(t.name, op, "unsupported", _short(e.gaps[0].what)))
        except Exception as e:  # noqa: BLE001 - any other error is a failure of the test, named in the table
            out.append(Outcome(t.name, op, "failed", _short(f"{type(e).__name__}: {e}")))
    return out


def _short(why: str) -> str:
    why = why.splitlines()[0] if why.strip() else why
    why = re.sub(r"'[^']*'", "…", why)  # input names differ per test; the reason does not
    return why.replace("|", "/")[:110]


def node_table(backend: str = "llvm") -> str:
    """Markdown: totals, then per op the tests passed / folded / failed / unsupported and why."""
    outcomes = run_node_tests(backend)
    by_op: dict[str, list[Outcome]] = collections.defaultdict(list)
    for o in outcomes:
        by_op[o.op].append(o)
    total = collections.Counter(o.status for o in outcomes)
    lines = [f"{len(outcomes)} node tests on `{backend}`: {total['passed']} passed, {total['folded']} passed "
             f"folded at import, {total['failed']} failed, {total['unsupported']} unsupported.", "",
             "| op | passed | folded | failed | unsupported | why not |", "|---|---:|---:|---:|---:|---|"]
    for op in sorted(by_op, key=str.lower):
        c = collections.Counter(o.status for o in by_op[op])
        whys = collections.Counter(o.why for o in by_op[op] if o.why)
        why = "; ".join(w for w, _ in whys.most_common(2))
        lines.append(f"| {op} | {c['passed']} | {c['folded']} | {c['failed']} | {c['unsupported']} | {why} |")
    return "\n".join(lines) + "\n"
