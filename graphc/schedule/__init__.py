"""Scheduling: an optimized graph becomes a backend-neutral kernel program with a memory plan."""
from .lower import KINDS, body_of, kind_of, lower
from .memory import plan_memory
from .program import Buffer, Kernel, KernelProgram, MemoryPlan, View

__all__ = ["lower", "plan_memory", "kind_of", "body_of", "KINDS", "Buffer", "Kernel", "KernelProgram",
           "MemoryPlan", "View"]
