"""The documentation site builds in strict mode, and every public name has a docstring and a place in
the API reference (tests/test_doc_blocks.py runs the guides' code blocks)."""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import types

import pytest

import graphc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_MKDOCS = importlib.util.find_spec("mkdocs") is not None and importlib.util.find_spec("mkdocstrings") is not None


def public_namespaces() -> dict[str, types.ModuleType]:
    """`graphc` and the modules it exports as `gc.<name>`: those in `graphc.__all__` and those its
    module `__getattr__` imports on first use (gc.viz, gc.compare)."""
    spaces = {"graphc": graphc}
    for name in graphc.__all__:
        if isinstance(getattr(graphc, name), types.ModuleType):
            spaces[f"graphc.{name}"] = getattr(graphc, name)
    for info in pkgutil.iter_modules(graphc.__path__):
        if not info.name.startswith("_") and f"graphc.{info.name}" not in spaces:
            try:
                spaces[f"graphc.{info.name}"] = graphc.__getattr__(info.name)
            except AttributeError:
                pass  # an internal module, not exported as gc.<name>
    return spaces


def public_names() -> dict[str, object]:
    """{"gc.nn.Dense": object, ...}: every name a user reaches as gc.<name> or gc.<module>.<name>,
    the modules themselves included, and the public methods and properties of public classes."""
    names: dict[str, object] = {}
    for space, module in public_namespaces().items():
        short = space.replace("graphc", "gc", 1)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{space} has no __all__: list its public names there"
        names[short] = module
        for name in exported:
            obj = getattr(module, name)
            if name.startswith("_") or isinstance(obj, (str, int, float, tuple, dict)):
                continue  # __version__, DTYPES: data, not API
            names[f"{short}.{name}"] = obj
            if inspect.isclass(obj) and obj.__module__.startswith("graphc"):
                for member, value in vars(obj).items():
                    method = inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod))
                    if method and not member.startswith("_"):
                        names[f"{short}.{name}.{member}"] = (obj, member)
    return names


def docstring(obj: object) -> str | None:
    if isinstance(obj, tuple):  # (class, member): inherited docstrings count, as mkdocstrings shows them
        cls, member = obj
        return inspect.getdoc(getattr(cls, member, None)) or next(
            (inspect.getdoc(vars(base)[member]) for base in cls.__mro__[1:] if member in vars(base)
             and inspect.getdoc(vars(base)[member])), None)
    doc = inspect.getdoc(obj)
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return None  # the signature @dataclass writes when the class has no docstring
    return doc


def test_every_public_name_has_a_docstring():
    names = public_names()
    missing = sorted(name for name, obj in names.items() if not docstring(obj))
    assert not missing, f"{len(missing)} public name(s) without a docstring: {', '.join(missing)}"


def resolve(path: str) -> object | None:
    """The object a reference anchor such as `graphc.ops.elementwise.exp` names, or None."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # attributes first: graphc.autodiff.hessian is the function
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = inspect.getattr_static(obj, attr, None) if inspect.isclass(obj) else getattr(obj, attr, None)
        if obj is not None:
            return obj
    try:
        return importlib.import_module(path)
    except ImportError:
        return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not HAVE_MKDOCS:
        pytest.skip("mkdocs and mkdocstrings are not installed: pip install '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_site_builds_strict(site):
    assert (site / "reference" / "index.html").exists()


def test_every_public_name_is_in_the_reference(site):
    html = (site / "reference" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(graphc\.[\w.]+)"', html))
    documented = set()
    for anchor in anchors:
        obj = resolve(anchor)
        if obj is not None:
            documented.add(id(obj))
    # modules, functions and classes; a class's documented members render with it (mkdocstrings
    # shows the members that have docstrings, which test_every_public_name_has_a_docstring asks for)
    missing = sorted(name for name, obj in public_names().items()
                     if name != "gc" and not isinstance(obj, tuple) and id(obj) not in documented
                    )
    assert not missing, (f"{len(missing)} public name(s) missing from docs/reference.md (add a `::: graphc...` entry "
                         f"and a docstring): {', '.join(missing)}")

