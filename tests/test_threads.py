"""Compiled functions called from several threads: no update is lost, the first call compiles once,
and functions that share a parameter never see it half updated (graphc/ir/stategroup.py)."""
import sys
import threading

import numpy as np
import pytest

import graphc as gc
from graphc.function import Function
from graphc.ir.stategroup import Group, _root, hold, join

THREADS = 4


@pytest.fixture
def switch_often():
    """Hand the GIL over every microsecond, so that threads interleave inside Python code (native code
    runs without the GIL anyway, and long native calls overlap more at the default interval)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _together(*jobs) -> None:
    """Run each job in its own thread, all released at once; re-raise the first error."""
    start, errors = threading.Barrier(len(jobs)), []

    def run(job):
        start.wait()
        try:
            job()
        except BaseException as e:  # noqa: BLE001 - reported in the main thread
            errors.append(e)
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread is still running: deadlock?"
    if errors:
        raise errors[0]


def test_calls_with_updates_from_threads_lose_none_and_the_first_compiles_once(backend, monkeypatch, switch_often):
    """p := p + x from 4 threads x 150 calls, the first call from all of them at once: the sum of the
    updates does not depend on their order, so the result is exact whatever the interleaving."""
    compiles = []
    compile_ = Function._compile
    monkeypatch.setattr(Function, "_compile", lambda self, sig: compiles.append(sig) or compile_(self, sig))
    p = gc.parameter(np.zeros(2000, np.float64), "p")
    x = gc.placeholder((), "float64", name="x")
    f = gc.function([x], gc.sum(p), updates=[(p, p + x)], backend=backend)
    calls = 150

    def steps():
        for _ in range(calls):
            f(np.float64(1.0))
    _together(*[steps] * THREADS)
    assert compiles == [((),)]
    np.testing.assert_array_equal(p.value, np.full(2000, THREADS * calls))


def test_functions_sharing_a_parameter_never_see_it_half_updated(backend):
    """One function adds 1 to every element of a large parameter, another sums it, a third thread sets
    it: every element is always equal, so every sum seen is a multiple of the size."""
    n = 300_000
    p = gc.parameter(np.zeros(n, np.float64), "p")
    step = gc.function([], [], updates=[(p, p + 1.0)], backend=backend)
    total = gc.function([], gc.sum(p), backend=backend)
    step(), total()  # compiled before the threads start, so that their calls overlap
    seen = []

    def add():
        for _ in range(100):
            step()

    def read():
        for _ in range(100):
            seen.append(float(total()))

    def reset():
        for k in range(10):
            p.value = np.full(n, 1000.0 * k)
    _together(add, read, reset)
    torn = [s for s in seen if s % n]
    assert not torn, f"{len(torn)} of {len(seen)} sums saw a half-applied update: {torn[:3]}"


def test_steps_over_overlapping_parameters_in_either_order_do_not_deadlock(backend, switch_often):
    """f reads (a, b) and updates a; g reads (b, a) and updates b: one lock covers both, so neither
    waits for the other while holding a lock it needs."""
    a, b = gc.parameter(np.zeros(1000), "a"), gc.parameter(np.zeros(1000), "b")
    f = gc.function([], gc.sum(a) + gc.sum(b), updates=[(a, a + 1.0)], backend=backend)
    g = gc.function([], gc.sum(b) - gc.sum(a), updates=[(b, b + 2.0)], backend=backend)

    def run(fn):
        def calls():
            for _ in range(100):
                fn()
        return calls
    _together(run(f), run(g), run(f), run(g))
    np.testing.assert_array_equal(a.value, np.full(1000, 200.0))
    np.testing.assert_array_equal(b.value, np.full(1000, 400.0))


class _State:
    """A stand-in for a parameter's state: all `hold` and `join` need is its `group`."""

    def __init__(self):
        self.group = Group()


def test_a_join_waits_for_running_steps_and_a_waiting_step_ends_up_under_the_live_lock():
    """A step runs on b; a join of a and b waits for it, and so does another step on b. Whichever gets
    b's lock first, the step holds the lock of b's group as it is then (merged or not), and afterwards
    a and b share one lock."""
    a, b = _State(), _State()
    running = hold(b)
    joined, held = threading.Event(), []

    def merge():
        join([a, b])
        joined.set()

    def step():
        lock = hold(b)
        held.append(lock is _root(b).lock)
        lock.release()
    threads = [threading.Thread(target=merge), threading.Thread(target=step)]
    for t in threads:
        t.start()
    assert not joined.wait(0.2), "the join must wait for the running step"
    running.release()
    for t in threads:
        t.join(timeout=10)
    assert joined.is_set() and held == [True]
    first = hold(a)
    first.release()
    assert hold(b) is first
    first.release()
