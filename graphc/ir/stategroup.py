"""One lock per set of parameters that compiled steps use together, so no step sees another half done.

Every parameter state starts in a group of its own. A compiled function joins the groups of all the
parameters it reads or updates into one, and holds that group's lock while a call runs: a step that
updates a parameter and a step that reads it never overlap, and calls of one step are serialized,
whatever the threads. A call takes exactly one lock, however many parameters its step has.

Groups are merged like union-find sets: a merged group points `into` the group that absorbed it.
A merge holds the locks of the groups it joins, taken in creation order (`rank`), so it waits for the
steps running on them and two merges never deadlock; a call that was waiting on a group merged in the
meantime finds the lock it got is no longer its group's, lets it go and takes the new one.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Iterable

_RANKS = itertools.count()


class Group:
    """A set of parameter states guarded by one lock (the live one is the group with `into` None)."""

    __slots__ = ("lock", "rank", "into")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rank = next(_RANKS)
        self.into: Group | None = None


def _root(state: Any) -> Group:
    group = state.group
    while group.into is not None:
        group = group.into
    state.group = group  # the next lookup starts there
    return group


def hold(state: Any) -> threading.Lock:
    """Acquire the lock of `state`'s group and return it (the caller releases it)."""
    while True:
        group = _root(state)
        group.lock.acquire()
        if group.into is None:
            return group.lock
        group.lock.release()  # merged while we waited: take the group it went into


def join(states: Iterable[Any]) -> Any:
    """Put `states` in one group; returns one of them to `hold` (None when there are none)."""
    states = list(states)
    while len(states) > 1:
        roots = sorted({id(g): g for g in map(_root, states)}.values(), key=lambda g: g.rank)
        for g in roots:
            g.lock.acquire()
        try:
            if all(g.into is None for g in roots):
                for g in roots[1:]:
                    g.into = roots[0]
                break
        finally:
            for g in roots:
                g.lock.release()
    return states[0] if states else None
