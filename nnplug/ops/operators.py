"""Python operators on tensors: `+ - * / // % ** @ & | ^`, unary `-` `~`, `abs`, comparisons and `t[...]`."""
from ..graph import Tensor
from . import math_ops as M
from .elementwise import floormod, logical_xor
from .array_ops import getitem


def _install():
    def binary(fn, name=None):
        return lambda self, other: fn(self, other, name=name)

    def reflected(fn, name):
        return lambda self, other: fn(other, self, name=name)

    table = {"add": M.add, "sub": M.subtract, "mul": M.multiply, "truediv": M.divide, "floordiv": M.floordiv,
             "mod": floormod, "pow": M.pow, "matmul": M.matmul, "and": M.logical_and, "or": M.logical_or,
             "xor": logical_xor}
    for name, fn in table.items():
        # TF1 names the op after the operator: `a + b` is 'add', `a @ b` 'matmul' (math_ops' overrides)
        setattr(Tensor, f"__{name}__", binary(fn, name))
        setattr(Tensor, f"__r{name}__", reflected(fn, name))
    Tensor.__lt__ = binary(M.less)
    Tensor.__le__ = binary(M.less_equal)
    Tensor.__gt__ = binary(M.greater)
    Tensor.__ge__ = binary(M.greater_equal)
    Tensor.__neg__ = lambda self: M.negative(self)
    Tensor.__abs__ = lambda self: M.abs(self)
    Tensor.__invert__ = lambda self: M.logical_not(self)
    Tensor.__getitem__ = getitem
    Tensor.__hash__ = object.__hash__  # tensors are dict keys (feed_dict); == stays identity as in TF1


_install()
