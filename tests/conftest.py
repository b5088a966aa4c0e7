import numpy as np
import pytest

import graphc as gc


def evaluate(fn, *arrays, backend="numpy"):
    """Build `fn` over placeholders shaped like `arrays`, compile it, and run it."""
    xs = [gc.placeholder(np.shape(a), np.asarray(a).dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
    out = fn(*xs)
    return gc.function(xs, out, backend=backend)(*arrays)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
