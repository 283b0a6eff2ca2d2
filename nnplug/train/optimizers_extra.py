"""TF1's remaining optimizers (Adadelta, FTRL, proximal gradient descent), with TF1's update rules built
from graph ops as the others in optimizers.py, and the input-pipeline and hook scaffolding TF1 training
loops expect: `Coordinator`, `start_queue_runners` (the QueueRunners of nnplug/train/queue_runner.py) and
the `SessionRunHook` base class."""
from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .._types import TensorLike
from ..errors import OutOfRangeError
from ..graph import GraphKeys, control_dependencies, convert_to_tensor
from ..ops import math_ops as M
from .optimizers import Optimizer

if TYPE_CHECKING:
    from ..session import Session


def _const(value, var):
    return convert_to_tensor(value, dtype=var.dtype)


class AdadeltaOptimizer(Optimizer):
    """accum = rho accum + (1 - rho) g^2; update = sqrt(accum_update + eps) / sqrt(accum + eps) g;
    accum_update = rho accum_update + (1 - rho) update^2; var -= lr update."""

    def __init__(self, learning_rate: TensorLike = 0.001, rho: float = 0.95, epsilon: float = 1e-8,
                 use_locking: bool = False, name: str = "Adadelta") -> None:
        super().__init__(learning_rate, use_locking, name)
        self._rho, self._eps = rho, epsilon

    def _apply(self, grad, var):
        rho, eps = _const(self._rho, var), _const(self._eps, var)
        accum, accum_update = self._slot(var, "accum"), self._slot(var, "accum_update")
        accum_new = accum.assign(accum * rho + M.square(grad) * (1.0 - rho))
        update = M.sqrt(accum_update + eps) / M.sqrt(accum_new + eps) * grad
        accum_update_new = accum_update.assign(accum_update * rho + M.square(update) * (1.0 - rho))
        with control_dependencies([accum_update_new]):  # the returned update op runs both
            return var.assign_sub(self._lr_for(var) * update)


class FtrlOptimizer(Optimizer):
    """FTRL-proximal as TF1's ApplyFtrl: accum_new = accum + g^2;
    linear += g' - (accum_new^-p - accum^-p) / lr var (g' = g + 2 l2_shrinkage var);
    var = (sign(linear) l1 - linear) / (accum_new^-p / lr + 2 l2) where |linear| > l1, else 0."""

    def __init__(self, learning_rate: TensorLike, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False, name: str = "Ftrl",
                 accum_name: str | None = None, linear_name: str | None = None,
                 l2_shrinkage_regularization_strength: float = 0.0) -> None:
        super().__init__(learning_rate, use_locking, name)
        if learning_rate_power > 0:
            raise ValueError(f"FtrlOptimizer: learning_rate_power must be <= 0, got {learning_rate_power}")
        if initial_accumulator_value <= 0:
            raise ValueError(f"FtrlOptimizer: initial_accumulator_value must be positive, got "
                             f"{initial_accumulator_value}")
        for what, v in (("l1", l1_regularization_strength), ("l2", l2_regularization_strength),
                        ("l2_shrinkage", l2_shrinkage_regularization_strength)):
            if v < 0:
                raise ValueError(f"FtrlOptimizer: {what} regularization strength must be >= 0, got {v}")
        self._power, self._init = learning_rate_power, initial_accumulator_value
        self._l1, self._l2, self._shrink = (l1_regularization_strength, l2_regularization_strength,
                                            l2_shrinkage_regularization_strength)

    def _scale(self, accum, var):
        if self._power == -0.5:
            return M.sqrt(accum)
        return M.pow(accum, _const(-self._power, var))

    def _apply(self, grad, var):
        lr, l1, l2 = self._lr_for(var), _const(self._l1, var), _const(self._l2, var)
        accum, linear = self._slot(var, "accum", init=self._init), self._slot(var, "linear")
        accum_new = accum + M.square(grad)
        shrunk = grad + 2.0 * _const(self._shrink, var) * var if self._shrink else grad
        linear_new = linear.assign_add(shrunk - (self._scale(accum_new, var) - self._scale(accum, var)) / lr * var)
        quadratic = self._scale(accum_new, var) / lr + 2.0 * l2
        value = (M.sign(linear_new) * l1 - linear_new) / quadratic
        new_var = var.assign(M.where(M.greater(M.abs(linear_new), l1), value, M.zeros_like(value)))
        with control_dependencies([new_var]):
            return accum.assign(accum_new)


class ProximalGradientDescentOptimizer(Optimizer):
    """prox = var - lr g; var = sign(prox) max(|prox| - lr l1, 0) / (1 + lr l2)."""

    def __init__(self, learning_rate: TensorLike, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "ProximalGradientDescent") -> None:
        super().__init__(learning_rate, use_locking, name)
        self._l1, self._l2 = l1_regularization_strength, l2_regularization_strength

    def _apply(self, grad, var):
        lr = self._lr_for(var)
        prox = var - lr * grad
        if self._l1 > 0:
            prox = M.sign(prox) * M.maximum(M.abs(prox) - lr * _const(self._l1, var), M.zeros_like(prox))
        return var.assign(prox / (1.0 + lr * _const(self._l2, var)) if self._l2 > 0 else prox)


# -- training-loop scaffolding -----------------------------------------------------------------------
class Coordinator:
    """Threads of a training loop agree when to stop: any of them calls request_stop (with the exception
    that made it stop, if any); the others poll should_stop; join waits for them and re-raises the
    exception of the first request (as TF1, an OutOfRangeError, the end of the input, is a clean stop
    unless clean_stop_exception_types says otherwise)."""

    def __init__(self, clean_stop_exception_types: Iterable[type[BaseException]] | None = None) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._exc_info = None
        self._clean = (OutOfRangeError,) if clean_stop_exception_types is None else \
            tuple(clean_stop_exception_types)
        self._threads = []

    def request_stop(self, ex: BaseException | None = None) -> None:
        with self._lock:
            first = not self._stop.is_set()  # errors of threads stopping after the request are theirs to ignore
            if first and ex is not None and self._exc_info is None and not isinstance(ex, self._clean):
                self._exc_info = sys.exc_info() if isinstance(ex, BaseException) and sys.exc_info()[1] is ex \
                    else (type(ex), ex, getattr(ex, "__traceback__", None))
            self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def clear_stop(self) -> None:
        with self._lock:
            self._exc_info = None
            self._stop.clear()

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def register_thread(self, thread: threading.Thread) -> None:
        self._threads.append(thread)

    def stop_on_exception(self) -> AbstractContextManager[Coordinator]:
        coord = self

        class _Guard:
            def __enter__(self):
                return coord

            def __exit__(self, kind, value, tb):
                if value is not None:
                    coord.request_stop(value)
                return True  # reported to the coordinator; join re-raises it
        return _Guard()

    def raise_requested_exception(self) -> None:
        with self._lock:
            if self._exc_info is not None:
                raise self._exc_info[1].with_traceback(self._exc_info[2])

    def join(self, threads: Iterable[threading.Thread] | None = None, stop_grace_period_secs: float = 120,
             ignore_live_threads: bool = False) -> None:
        """Wait for the threads to finish once a stop is requested (or they end); threads still alive
        stop_grace_period_secs after the request raise RuntimeError naming them unless ignored."""
        threads = list(self._threads) + list(threads or [])
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(0.05):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0))
        self.raise_requested_exception()
        alive = [t.name for t in threads if t.is_alive()]
        if alive and not ignore_live_threads:
            raise RuntimeError(f"Coordinator stopped with threads still running: {alive}")

    @property
    def joined(self) -> bool:
        return not any(t.is_alive() for t in self._threads)


def start_queue_runners(sess: Session | None = None, coord: Coordinator | None = None, daemon: bool = True,
                        start: bool = True, collection: str = GraphKeys.QUEUE_RUNNERS) -> list[threading.Thread]:
    """Start the threads of every QueueRunner in `collection` (tf.train.batch, the input producers add
    theirs) for `sess` (default: the default session); returns them, for `coord.join(threads)`."""
    from .queue_runner import default_session
    sess = default_session(sess)
    threads = []
    for qr in sess.graph.get_collection(collection):
        threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads


SessionRunArgs = collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"], defaults=(None, None))
SessionRunValues = collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])


class SessionRunContext:
    """What a hook's before_run/after_run sees: the original arguments and the session; request_stop
    asks the loop to end."""

    def __init__(self, original_args: Any, session: Session) -> None:
        self.original_args, self.session = original_args, session
        self._stop_requested = False

    def request_stop(self) -> None:
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested


class SessionRunHook:
    """TF1's hook interface for training loops: every method is a no-op to override."""

    def begin(self) -> None:
        pass

    def after_create_session(self, session: Session, coord: Coordinator | None) -> None:
        pass

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        pass

    def end(self, session: Session) -> None:
        pass
