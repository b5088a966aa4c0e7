"""The differential fuzzer: a fixed-seed budget on every backend (about two minutes in all on two cores),
and the minimizer on a fake backend that is wrong whenever the graph holds an exp.

The budget generates everything the fuzzer can (no exclusions): what it found so far is fixed, each a
test in tests/test_fuzz_findings.py."""
import contextlib
import io

import numpy as np
import pytest

import graphc as gc
import graphc.backends.numpy as numpy_backend
from graphc.backend import Backend
from graphc.testing.fuzz import Input, Program, minimize, run, script, session, targets_for

LEVELS = ("O0", "O1", "O2")
#: backend group -> programs of seed 1 (sized so the groups take about two minutes together)
BUDGET = {("llvm",): 400, ("llvm-checked",): 150, ("numpy", "numpy-kernels"): 300, ("cuda-emulate",): 150}


@pytest.mark.parametrize("backends", list(BUDGET), ids=["+".join(b) for b in BUDGET])
def test_fixed_seed_budget_has_no_mismatch(backends):
    status = gc.backends.status()
    if any(status[b] is not None for b in backends):
        pytest.skip(f"{', '.join(backends)}: {'; '.join(str(status[b]) for b in backends)}")
    report = session(1, targets_for(backends, LEVELS), programs=BUDGET[backends])
    assert report.programs == BUDGET[backends] and report.ran
    assert report.mismatches == 0, "\n\n".join(text for _, text in report.reproducers)


class WrongExp(Backend):
    """The numpy backend, but one more than right in every float output of a graph holding an exp."""

    name, consumes = "wrong-exp", "graph"

    def available(self):
        return None

    def compile(self, graph):
        exe = numpy_backend.BACKEND.compile(graph)
        wrong = any(n.op.name == "exp" for n in graph.nodes)
        return lambda arrays: [o + 1 if wrong and o.dtype.kind == "f" else o for o in exe(arrays)]


@pytest.fixture
def wrong_exp(monkeypatch):
    monkeypatch.setattr(numpy_backend, "WRONG_EXP", WrongExp(), raising=False)
    monkeypatch.setitem(gc.backends.KNOWN, "wrong-exp", ("graphc.backends.numpy", "WRONG_EXP"))
    return "wrong-exp"


BIG = Program(
    inputs=(Input("x0", (None, 3), "float32"), Input("x1", (3,), "float32"), Input("x2", (2, 3), "int32", 0, 2)),
    lines=(("v0", "gc.tanh(x0 * x1)"), ("v1", "gc.sum(v0, axis=1, keepdims=True)"), ("v2", "gc.exp(v1)"),
           ("v3", "gc.softmax(v2 + x0, axis=-1)"), ("v4", "gc.cast(x2, 'float32') @ gc.transpose(v3)"),
           ("v5", "gc.max(v4, axis=(0,))")),
    outputs=("v5", "v0"), layer="grad2", wrt=("x0", "x1"), sizes=(2, 3), seed=7)


def test_minimizer_keeps_the_op_that_is_wrong(wrong_exp):
    (finding,) = run(BIG, [(wrong_exp, "O2")]).findings
    small, found = minimize(BIG, finding)
    assert (found.backend, found.kind) == (wrong_exp, "value") and found.level == "O0"
    assert small.layer == "value" and len(small.inputs) == 1 and len(small.sizes) == 1
    assert [expr for _, expr in small.lines] == [small.lines[0][1]] and "gc.exp(" in small.lines[0][1]
    text = script(small, found)
    assert len(text.splitlines()) < 40
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, "<reproducer>", "exec"), {})
    errors = [float(line.split()[-1]) for line in out.getvalue().splitlines() if "max abs error" in line]
    assert errors and max(errors) == pytest.approx(1.0)


def test_minimizer_leaves_a_program_without_the_wrong_op_alone(wrong_exp):
    clean = BIG.with_(lines=tuple((n, e.replace("gc.exp", "gc.sin")) for n, e in BIG.lines))
    assert run(clean, [(wrong_exp, "O0")]).findings == []


def test_errors_must_match_the_reference():
    program = Program(inputs=(Input("x0", (None, 2), "float64"),), lines=(("v0", "gc.max(x0, axis=0)"),),
                      outputs=("v0",), sizes=(0, 2))
    outcome = run(program, [("numpy-kernels", "O1")])      # size 0 on axis 0 is an InputError everywhere
    assert outcome.ran and outcome.findings == []


def test_a_crash_while_declaring_is_a_finding_with_a_script():
    program = Program(inputs=(Input("x0", (2,), "float64"), Input("x1", (3,), "float64")),
                      lines=(("v0", "gc.tanh(x1)"), ("v1", "gc.tanh(x0) + [][0]")), outputs=("v1", "v0"))
    (finding,) = run(program, []).findings
    assert (finding.backend, finding.kind) == ("graph", "crash") and "IndexError" in finding.detail
    small, found = minimize(program, finding)
    assert small.outputs == ("v1",) and len(small.lines) == 1
    text = script(small, found)
    with pytest.raises(IndexError):
        exec(compile(text, "<reproducer>", "exec"), {})


def test_generation_is_deterministic_and_covers_every_family():
    from graphc.testing.fuzz.generate import generate
    programs = [generate(s) for s in range(300)]
    assert [p.source() for p in programs[:20]] == [generate(s).source() for s in range(20)]
    text = "\n".join(p.source() for p in programs)
    for op in ("gc.scan(", "gc.conv2d(", "gc.softmax(", "gc.take(", "gc.jvp(", "gc.grad(cost2", "@", "None",
               "gc.logsumexp(", "gc.concatenate(", "gc.where(", '"bool"', '"int32"', '"int64"', "float64"):
        assert op in text, op
    assert {np.dtype(x.dtype).name for p in programs for x in p.inputs} == set(gc.DTYPES)
