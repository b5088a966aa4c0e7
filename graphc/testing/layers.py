"""The layer contract, as data, and the import graph it is checked against.

graphc is built in layers that import downward only: a module may import its own layer and the
layers its layer `sees`. `LAYERS` is that contract, bottom first; `graphc/__init__.py`, the facade
that re-exports the public API, stands outside it (only tools import it). `import_graph` reads every
module of graphc/ and backends/ with `ast` (imports inside functions included, relative imports
resolved, `backends/` as the installed `graphc.backends`); `violations` lists each import of a layer
the importer may not see, and `cycles` each import cycle between modules.
tests/test_layers.py runs both, so CI enforces the contract; docs/regenerate.py draws it
(`layer_table`, `layer_dot`) for docs/architecture.md.
"""
from __future__ import annotations

import ast
import dataclasses
import os
import textwrap
from typing import Iterable

import networkx as nx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The facade: `import graphc` runs it, and it imports every layer, so no layer imports it but the tools.
FACADE = "graphc"


@dataclasses.dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # module prefixes: a module belongs to the layer of its longest matching prefix
    sees: tuple[str, ...]     # the layers its modules may import (besides their own)
    doc: str


def _stack(*layers: tuple[str, tuple[str, ...], str], sees: tuple[str, ...] = ()) -> list[Layer]:
    """Layers each of which sees every layer before it (and `sees`)."""
    out: list[Layer] = []
    for name, modules, doc in layers:
        out.append(Layer(name, modules, sees + tuple(layer.name for layer in out), doc))
    return out


_CORE = _stack(
    ("ir", ("graphc.ir", "graphc.version"), "Tensor nodes, Op base, dtypes, leaves, source locations, Graph"),
    ("ops", ("graphc.ops",), "op definitions by family (elementwise, reduce, linalg, shape, index, conv, random)"),
    ("autodiff", ("graphc.autodiff",), "grad / vjp (reverse), jvp (forward), hessian / hvp"),
    ("control", ("graphc.control",), "control flow: gc.scan, whose rules differentiate its body"),
    ("passes", ("graphc.passes",), "graph -> graph rewrites, run as a visible ordered pipeline"),
    ("schedule", ("graphc.schedule",), "fusion groups -> kernel program (backend-neutral), memory plan"),
    ("backend", ("graphc.backend",), "the Backend and Executable protocols and the registry of backends"),
)
#: The code generators: they see the IR and the kernel program, never the user-level modules, and are
#: found by name through the registry of `graphc.backend` (which imports them by module path).
BACKENDS = Layer("backends", ("graphc.backends",), ("ir", "ops", "control", "passes", "schedule", "backend"),
                 "one package per target, installed as graphc.backends (numpy | llvm | cuda)")
_USER = _stack(
    ("function", ("graphc.function", "graphc.finite", "graphc.printing", "graphc.export"),
     "gc.function: validate -> specialize -> passes -> schedule -> compile; gc.export_library"),
    ("library", ("graphc.nn", "graphc.optim", "graphc.losses", "graphc.metrics", "graphc.data", "graphc.train",
                 "graphc.checkpoint"), "the network library and training, on the layers below"),
    ("distributed", ("graphc.distributed",), "data-parallel training on MPI (mpi4py imported on first use)"),
    sees=tuple(layer.name for layer in _CORE),
)
TOOLS = Layer("tools", ("graphc.viz", "graphc.compare", "graphc.bench", "graphc.cli", "graphc.cliargs",
                        "graphc.testing", "graphc.onnx", FACADE),
              tuple(layer.name for layer in (*_CORE, BACKENDS, *_USER)),
              "viz, compare, bench, cli, testing (and the fuzzer): tools on top, which may use the facade")
#: Bottom first.
LAYERS: tuple[Layer, ...] = (*_CORE, BACKENDS, *_USER, TOOLS)


def layer_of(module: str, layers: Iterable[Layer] = LAYERS) -> Layer | None:
    """The layer `module` belongs to: the one with its longest matching prefix (None: outside every layer)."""
    best: tuple[int, Layer | None] = (-1, None)
    for layer in layers:
        for prefix in layer.modules:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), layer)
    return best[1]


# -- the import graph -----------------------------------------------------------------------------

def module_files(root: str = ROOT) -> dict[str, str]:
    """{module name: file} for every module of graphc/ and backends/ (installed as graphc.backends)."""
    out = {}
    for folder, package in (("graphc", "graphc"), ("backends", "graphc.backends")):
        base = os.path.join(root, folder)
        for here, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
            rel = os.path.relpath(here, base)
            prefix = package if rel == "." else package + "." + rel.replace(os.sep, ".")
            for f in sorted(files):
                if f.endswith(".py"):
                    out[prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"] = os.path.join(here, f)
    return out


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that `module` imports anywhere in its source (functions included): the
    most specific module each import statement names (`from a import b` is a.b where b is a module)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # `import graphc.ir.node.x`: the module part of a dotted name
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([name] if name else []))


def import_graph(root: str = ROOT) -> nx.DiGraph:
    """module -> the modules it imports, over graphc/ and backends/ (the facade imports nothing here:
    it re-exports everything, so its edges would only hide the layers' own)."""
    files = module_files(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        if module == FACADE:
            continue
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for target in imports_of(module, source, path.endswith("__init__.py"), set(files)):
            graph.add_edge(module, target)
    return graph


# -- the checks -----------------------------------------------------------------------------------

def violations(graph: nx.DiGraph, layers: Iterable[Layer] = LAYERS) -> list[str]:
    """One line per import the contract forbids (and per module outside every layer)."""
    layers = tuple(layers)
    out = []
    for module in sorted(graph):
        own = layer_of(module, layers)
        if own is None:
            out.append(f"{module} belongs to no layer: add its prefix to a layer of graphc.testing.layers")
            continue
        if module == FACADE:
            continue
        for target in sorted(graph.successors(module)):
            theirs = layer_of(target, layers)
            if theirs is not None and theirs is not own and theirs.name not in own.sees:
                out.append(f"{module} ({own.name}) imports {target} ({theirs.name}); "
                           f"{own.name} may import only {', '.join(own.sees) or 'itself'}")
    return out


#: At most this many cycles are spelled out per strongly connected set of modules.
MAX_CYCLES = 8


def cycles(graph: nx.DiGraph) -> list[str]:
    """One entry per set of modules that import each other (a strongly connected component), naming
    its members and its shortest cycles, each as `a -> b -> a`."""
    out = []
    for component in sorted((sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)):
        sub = graph.subgraph(component)
        found = sorted(nx.simple_cycles(sub, length_bound=len(component)), key=lambda c: (len(c), c))
        shown = [" -> ".join([*_rotated(c), _rotated(c)[0]]) for c in found[:MAX_CYCLES]]
        more = f"\n    ... and {len(found) - MAX_CYCLES} more" if len(found) > MAX_CYCLES else ""
        out.append(f"{len(component)} modules import each other: {', '.join(component)}\n    "
                   + "\n    ".join(shown) + more)
    return out


def _rotated(cycle: list[str]) -> list[str]:
    """The cycle starting at its smallest name (so a report reads the same from run to run)."""
    at = cycle.index(min(cycle))
    return cycle[at:] + cycle[:at]


# -- the picture ----------------------------------------------------------------------------------

def layer_edges(graph: nx.DiGraph, layers: Iterable[Layer] = LAYERS) -> set[tuple[str, str]]:
    """{(importing layer, imported layer)} for every import between two different layers."""
    layers = tuple(layers)
    pairs = set()
    for a, b in graph.edges:
        la, lb = layer_of(a, layers), layer_of(b, layers)
        if a != FACADE and la is not None and lb is not None and la is not lb:
            pairs.add((la.name, lb.name))
    return pairs


def layer_table(graph: nx.DiGraph, layers: Iterable[Layer] = LAYERS) -> str:
    """The layers top first, each with its modules, the layers it may import (the contract) and those it
    does import (from `graph`)."""
    layers = tuple(layers)
    edges = layer_edges(graph, layers)
    width = max(len(layer.name) for layer in layers)
    indent = " " * (width + 4)
    lines = []
    for at, layer in reversed(list(enumerate(layers))):
        below = [other.name for other in layers[:at]]
        may = "every layer below" if set(layer.sees) == set(below) and below else ", ".join(layer.sees) or "nothing"
        does = [other.name for other in layers if (layer.name, other.name) in edges]
        files = textwrap.wrap(", ".join(_path(p) for p in layer.modules), 100 - len(indent))
        lines.append(f"{layer.name:<{width}}    {files[0]}")
        lines += [indent + more for more in files[1:]]
        lines += [f"{indent}{layer.doc}", f"{indent}may import: {may}",
                  f"{indent}imports:    {', '.join(does) or 'nothing'}"]
    return "\n".join(lines)


def _path(prefix: str) -> str:
    """A module prefix as the file or folder that holds it."""
    if prefix == FACADE:
        return "graphc/__init__.py"
    path = os.path.join(*prefix.split(".")).replace(os.path.join("graphc", "backends"), "backends")
    return path + "/" if os.path.isdir(os.path.join(ROOT, path)) else path + ".py"


def layer_dot(graph: nx.DiGraph, layers: Iterable[Layer] = LAYERS) -> str:
    """Graphviz DOT of the layers (the bottom one at the bottom) and an arrow from each layer to each
    layer it imports (red where the contract forbids it); a pair allowed but unused is not drawn."""
    layers = tuple(layers)
    edges = layer_edges(graph, layers)
    lines = ["digraph layers {", "  rankdir=BT;", '  node [shape=box, fontname="Helvetica", fontsize=11];',
             '  edge [color="#555555", arrowsize=0.6];']
    for layer in layers:
        files = "\\n".join(_path(p) for p in layer.modules)
        lines.append(f'  "{layer.name}" [label="{layer.name}\\n{files}"];')
    for layer in layers:
        for other in layers:
            if (layer.name, other.name) in edges:
                style = "" if other.name in layer.sees else ', color="red", penwidth=2'
                lines.append(f'  "{other.name}" -> "{layer.name}" [dir=back{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
