"""The layer contract of graphc.testing.layers holds for every module of graphc/ and backends/: imports
go downward only (function-level imports included) and no modules import each other in a cycle."""
import textwrap

import networkx as nx
import pytest

from graphc.testing import layers
from graphc.testing.layers import Layer, cycles, import_graph, imports_of, layer_of, violations

GRAPH = import_graph()


def test_no_module_imports_a_layer_it_may_not_see():
    found = violations(GRAPH)
    assert not found, "imports against the layer contract (graphc/testing/layers.py):\n" + "\n".join(found)


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_graph_holds_every_module_and_the_imports_inside_functions():
    """A graph that lost modules or function-level imports would pass the checks above vacuously."""
    assert {"graphc.ir.node", "graphc.control.loop", "graphc.backend", "graphc.backends.llvm.runtime",
            "graphc.nn.module", "graphc.testing.fuzz.generate"} <= set(GRAPH)
    assert GRAPH.has_edge("graphc.control.loop", "graphc.autodiff")  # scan's rules differentiate its body
    assert GRAPH.has_edge("graphc.backends.llvm", "graphc.backends.llvm.export")  # inside export_library
    assert not GRAPH.has_edge("graphc.function", "graphc.backends.cuda")  # fn.ptx goes through the registry
    assert not GRAPH.out_edges(layers.FACADE)  # the facade re-exports every layer: it is outside the contract


def test_relative_and_absolute_imports_resolve_to_the_modules_named():
    known = {"pkg", "pkg.a", "pkg.sub", "pkg.sub.b", "pkg.sub.c"}
    source = textwrap.dedent("""
        from . import c
        from .. import a
        from ..sub.b import thing
        import pkg.sub.b.attribute
        def later():
            from pkg import a, missing
            import numpy
        """)
    assert imports_of("pkg.sub.b", source, False, known) == {"pkg.sub.c", "pkg.a", "pkg"}
    assert imports_of("pkg.sub", "from . import b\nfrom .c import x\n", True, known) == {"pkg.sub.b", "pkg.sub.c"}


SYNTHETIC = (Layer("low", ("app.low",), (), "the bottom"), Layer("mid", ("app.mid",), ("low",), "the middle"),
             Layer("side", ("app.side",), ("low",), "beside the middle"),
             Layer("top", ("app.top", "app"), ("low", "mid", "side"), "the top and the facade"))


def _graph(*edges: tuple[str, str], nodes: tuple[str, ...] = ()) -> nx.DiGraph:
    g = nx.DiGraph(list(edges))
    g.add_nodes_from(nodes)
    return g


def test_an_upward_or_sideways_import_is_a_violation_that_names_both_modules():
    g = _graph(("app.low.x", "app.mid.y"), ("app.mid.y", "app.side.z"), ("app.mid.y", "app.low.x"),
               ("app.top.t", "app.side.z"), ("app.low.x", "app"), nodes=("stray.module",))
    assert violations(g, SYNTHETIC) == [
        "app.low.x (low) imports app (top); low may import only itself",
        "app.low.x (low) imports app.mid.y (mid); low may import only itself",
        "app.mid.y (mid) imports app.side.z (side); mid may import only low",
        "stray.module belongs to no layer: add its prefix to a layer of graphc.testing.layers",
    ]
    assert layer_of("app.mid.y.deep", SYNTHETIC).name == "mid" and layer_of("app.other", SYNTHETIC).name == "top"


def test_the_picture_draws_each_import_between_layers_and_a_forbidden_one_in_red():
    g = _graph(("app.mid.y", "app.low.x"), ("app.mid.y", "app.side.z"), ("app.top.t", "app.mid.y"))
    dot = layers.layer_dot(g, SYNTHETIC)
    assert '"low" -> "mid" [dir=back];' in dot and '"mid" -> "top" [dir=back];' in dot
    assert '"side" -> "mid" [dir=back, color="red", penwidth=2];' in dot and dot.count("->") == 3
    table = layers.layer_table(g, SYNTHETIC)
    assert "mid     app/mid.py\n        the middle\n        may import: every layer below\n" \
           "        imports:    low, side\n" in table


def test_each_cycle_is_reported_with_its_members_and_its_shortest_loops_first():
    g = _graph(("m.b", "m.a"), ("m.a", "m.b"), ("m.b", "m.c"), ("m.c", "m.a"), ("m.x", "m.y"), ("m.y", "m.z"),
               ("m.z", "m.x"), ("m.a", "m.x"))
    assert cycles(g) == [
        "3 modules import each other: m.a, m.b, m.c\n    m.a -> m.b -> m.a\n    m.a -> m.b -> m.c -> m.a",
        "3 modules import each other: m.x, m.y, m.z\n    m.x -> m.y -> m.z -> m.x",
    ]


@pytest.mark.parametrize("module, layer", [("graphc.control.loop", "control"), ("graphc.backend", "backend"),
                                           ("graphc.backends", "backends"), ("graphc.version", "ir"),
                                           ("graphc.export", "function"), ("graphc", "tools")])
def test_modules_belong_to_the_layers_the_contract_names(module, layer):
    assert layer_of(module).name == layer


def test_the_core_layers_never_see_the_backends_nor_the_tools():
    below_function = {"ir", "ops", "autodiff", "control", "passes", "schedule", "backend"}
    for layer in layers.LAYERS:
        if layer.name not in ("backends", "tools"):
            assert "backends" not in layer.sees and "tools" not in layer.sees, layer
    assert set(layers.BACKENDS.sees) <= below_function
