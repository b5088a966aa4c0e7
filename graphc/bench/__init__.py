"""`graphc bench`: the training-step workloads (W1, W2, ...) timed on graphc and its peers (docs/benchmarks.md).

workloads: the shared definitions, data and initial weights; fw_*: one module per framework;
worker: one measurement in a fresh process; suite: runs the workers; report: the Markdown tables.
"""
