"""The training-step benchmark suite W1-W5 against PyTorch, JAX and PyTensor; `graphc bench` runs the same.

Run: python3 benchmarks/run.py [--quick] [--workloads W1,W3] [--json out.json]  (see docs/benchmarks.md)
"""
import sys

from graphc.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
