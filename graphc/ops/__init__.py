"""graphc's ops, by family. Each op is one class holding everything about itself, and each family
module lists its user-facing functions in its `__all__`: graphc.ops (and `gc`) export exactly those,
so a new op's function is exported by the file that defines it."""
from . import conv, elementwise, index, integer, linalg, methods, random, reduce, shape
from .conv import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .index import *  # noqa: F403
from .integer import *  # noqa: F403
from .linalg import *  # noqa: F403
from .random import *  # noqa: F403
from .reduce import *  # noqa: F403
from .shape import *  # noqa: F403

methods.install()

__all__ = [*conv.__all__, *elementwise.__all__, *index.__all__, *integer.__all__, *linalg.__all__, *random.__all__,
           *reduce.__all__, *shape.__all__]
