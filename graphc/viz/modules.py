"""Groups of nodes per `gc.nn` module call, for drawing each module as one box."""
from __future__ import annotations

from typing import Any, Sequence

from ..ir import Tensor, toposort


def module_groups(model: Any, calls: Sequence[Any], depth: int = 1) -> dict[str, list[Tensor]]:
    """Name -> nodes computed inside each call of `model`'s sub-modules `depth` levels down.

    `calls` comes from `with gc.nn.record_calls() as calls: model(x)`. A call's
    nodes are those its outputs depend on that its inputs do not (its own
    parameters included).
    """
    names = {id(m): name for name, m in model.named_modules() if name}
    groups: dict[str, list[Tensor]] = {}
    for call in calls:
        name = names.get(id(call.module), "").rstrip(".")
        if not name or name.count(".") != depth - 1:
            continue
        before = set(toposort(call.inputs))
        inside = [n for n in toposort(call.outputs) if n not in before]
        key = name if name not in groups else f"{name}#{sum(k.split('#')[0] == name for k in groups)}"
        groups[key] = inside
    return groups
