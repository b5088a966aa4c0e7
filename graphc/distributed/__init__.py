"""graphc.distributed: synchronous data-parallel training over MPI (`pip install 'graphc[mpi]'`).

Horovod's design: every rank computes the gradients of its shard of the global batch, one in-place
allreduce per dtype sums them, and every rank applies the same update. Run a script under
`mpiexec -n N`; docs/distributed.md has the design, the BatchNorm choice and measurements.
mpi4py is imported only when MPI is first needed (`init`, `world`, a collective).
"""
from .batchnorm import SyncBatchNorm
from .collective import AllReduce, allreduce
from .sampler import shard
from .step import DataParallelStep, broadcast_state, fingerprint
from .training import DataParallel, fit
from .job import DistributedError, World, abort_on_error, init, world

__all__ = ["init", "world", "World", "DistributedError", "abort_on_error", "allreduce", "AllReduce", "SyncBatchNorm",
           "shard", "DataParallelStep", "DataParallel", "broadcast_state", "fingerprint", "fit"]
