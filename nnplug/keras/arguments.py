"""Checks of the scalar arguments of fit/evaluate/predict: each error names the call, the argument and the
value, before any work starts (rather than a silent default or a ZeroDivisionError deep in the loop)."""
import numbers

DEFAULT_BATCH_SIZE = 32


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def count(what, name, value, minimum):
    """`value` as an int >= minimum; floats such as 1.5 (or 2.0) are a TypeError, as range() would raise."""
    if not _is_int(value):
        raise TypeError(f"{what}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{what}: {name} must be >= {minimum}, got {value}")
    return int(value)


def batch_size(what, value):
    """None means Keras's default of 32; anything else must be a positive integer."""
    return DEFAULT_BATCH_SIZE if value is None else count(what, "batch_size", value, 1)


def verbose(what, value):
    if value == "auto":
        return 1
    if not _is_int(value) or value not in (0, 1, 2):
        raise ValueError(f"{what}: verbose must be 0, 1, 2 or 'auto', got {value!r}")
    return int(value)


def fraction(what, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{what}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


def flag(what, name, value):
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{what}: {name} must be True or False, got {value!r}")
    return bool(value)
