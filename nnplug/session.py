"""Session: variable storage on a backend, feeding, and running cached compiled plans."""
from __future__ import annotations

import collections
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, ContextManager

import numpy as np

from . import devices, plugins
from .backend import KernelSpec
from .compiler import RunState, compile_plan, prune
from .compiler.lower import NeedsStaging
from .errors import FailedPreconditionError, InvalidArgumentError
from .dtypes import as_strings
from .kernels import is_host_string
from .graph import (  # noqa: F401 - get_default_session is nnplug.get_default_session
    Operation, Tensor, get_default_graph, get_default_session, pop_default_session, push_default_session,
)
from .ops import registry
from .shapes import compatible, fmt
from ._types import FeedDict, Fetches

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .backend import Backend
    from .compiler.plan import Plan
    from .graph import Graph
    from .variables import Variable

PLAN_CACHE_SIZE = 64
STAGES_MAX = 8  # values a run may compute first because its plan needs them (compiler NeedsStaging)
# stateful ops a first run may run again without changing anything (reads and checks)
REPEATABLE = frozenset({"VariableV2", "NoOp", "Assert", "CheckNumerics", "IsVariableInitialized"})
_live_sessions = weakref.WeakSet()  # so nnplug.debugging can drop plans compiled before a switch


def _check_feed_shape(t, value):
    """`value` (host or device array) if its shape fits placeholder `t`'s static shape, else a ValueError."""
    if not compatible(t.shape, value.shape):
        raise ValueError(f"Cannot feed value of shape {fmt(value.shape)} for Tensor '{t.name}', "
                         f"which has shape {fmt(t.shape)}")
    return value


def _sources(graph, spec):
    """The source ops (OpDef.source: dataset iterators) fetches need: run before the plan, results fed."""
    return [op for op in prune(graph, [t.op for t in spec.tensors] + spec.ops, set())
            if getattr(registry.find(op.type), "source", False)]


def _constant_value(t):
    """The value of a Const op's output (a source op's input that needs no plan), else None."""
    return np.asarray(t.op.attrs["value"], t.dtype.np) if t.op.type == "Const" else None


def _plan_key(spec, tensors, arrays, baked):
    """A compiled plan's cache key: the fetches, each feed's shape and dtype, each compiled-in value."""
    return (spec.key, tuple((id(t), a.shape, a.dtype.char) for t, a in zip(tensors, arrays)),
            tuple((id(t), a.shape, a.dtype.char, a.tobytes()) for t, a in baked))


def _check_integer_range(arr, want, what):
    """Integers that do not fit `want` are an error (TF1 refuses them), never silently wrapped."""
    if arr.dtype.kind in "iu" and want.kind in "iu" and arr.size and not np.can_cast(arr.dtype, want):
        info = np.iinfo(want)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            raise ValueError(f"cannot feed {what}: values {lo}..{hi} do not fit {want.name} "
                             f"({info.min}..{info.max})")


def _flat_feeds(feed_dict):
    """(key, value) pairs of a feed_dict; a key that is a tuple or list of tensors (an RNN state such as
    `(LSTMStateTuple(c, h),)`) is fed leaf by leaf from a value of the same nesting, as TF1 allows."""
    for k, v in feed_dict.items():
        if hasattr(k, "_feed_items"):  # a SparseTensor: its parts (nnplug/sparse.py)
            yield from k._feed_items(v)
        elif isinstance(k, (list, tuple)):
            if not isinstance(v, (list, tuple)) or len(v) != len(k):
                raise ValueError(f"cannot feed {k!r:.80}: the value must nest like the key ({len(k)} entries), "
                                 f"got {type(v).__name__}")
            yield from _flat_feeds(dict(zip(k, v)))
        else:
            yield k, v


def _check_whole_numbers(arr, want, t):
    """Floats fed to an integer tensor: whole numbers that fit convert exactly (TF1 takes `np.zeros((1, 1))`
    filled with ids, as programs write); any other float would be truncated or wrapped, and is refused."""
    half = 2.0 ** (np.iinfo(want).bits - 1)
    lo = 0.0 if np.iinfo(want).min == 0 else -half
    hi = 2 * half if lo == 0.0 else half
    if arr.size and not (np.all(np.isfinite(arr)) and np.all(arr == np.trunc(arr)) and arr.min() >= lo
                         and arr.max() < hi):
        raise TypeError(f"cannot feed float values to the {want.name} tensor '{t.name}' (shape {fmt(t.shape)}) "
                        f"unless they are whole numbers in its range; cast them first if truncation is meant")


class _Fetches:
    """Flattens any nesting of lists/tuples/dicts of tensors and ops, and rebuilds the results."""

    def __init__(self, graph, fetches):
        self.tensors, self.ops = [], []
        self.template = self._walk(graph, fetches)
        self.key = (tuple(id(t) for t in self.tensors), tuple(id(o) for o in self.ops))

    def _walk(self, graph, f):
        if hasattr(f, "_as_fetch"):  # a SparseTensor: a SparseTensorValue of its parts (nnplug/sparse.py)
            f = f._as_fetch()
        if isinstance(f, (list, tuple)) and not hasattr(f, "_fields"):
            return (type(f), [self._walk(graph, x) for x in f])
        if isinstance(f, tuple):  # namedtuple
            return (type(f), [self._walk(graph, x) for x in f], "named")
        if isinstance(f, dict):
            return (dict, {k: self._walk(graph, v) for k, v in f.items()})
        el = f
        if isinstance(el, str):
            el = graph.as_graph_element(el)
        if hasattr(el, "_as_tensor"):
            el = el._as_tensor()
        if isinstance(el, Tensor):
            if el.graph is not graph:
                raise ValueError(f"cannot fetch tensor '{el.name}': it belongs to another graph than this session's")
            self.tensors.append(el)
            return ("t", len(self.tensors) - 1)
        if isinstance(el, Operation):
            if el.graph is not graph:
                raise ValueError(f"cannot fetch operation '{el.name}': it belongs to another graph")
            self.ops.append(el)
            return ("op",)
        raise TypeError(f"cannot fetch {f!r:.80}: fetches must be tensors, operations, variables, tensor names "
                        f"or lists/tuples/dicts of them")

    def rebuild(self, values, node=None):
        node = self.template if node is None else node
        tag = node[0]
        if tag == "t":
            return values[node[1]]
        if tag == "op":
            return None
        if tag is dict:
            return {k: self.rebuild(values, v) for k, v in node[1].items()}
        items = [self.rebuild(values, x) for x in node[1]]
        return tag(*items) if len(node) == 3 else tag(items)


class Session(RunState):
    """Runs graph fragments on its backend, and ops pinned elsewhere by `tf.device` on theirs
    (nnplug/devices.py); variables live here, each on its op's device. It is the run state its plans are
    compiled against (nnplug/compiler/state.py): placement, variable slots, constants, random streams and
    the memory of planned temporaries."""

    backend: Backend  # set by __init__ (RunState's class default is None)

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None,
                 backend: str | Backend | None = None) -> None:
        self.graph = graph if graph is not None else get_default_graph()
        self.config = config
        if backend is None:  # ops pinned with tf.device('/gpu:N') choose the GPU backend (nnplug/devices.py)
            backend = devices.backend_for(self.graph, config)
        self.backend = plugins.get_backend(backend)
        self.placement = devices.Placer(self.backend, config)  # op -> the backend it runs on
        self._values = []  # variable storage, by slot
        self._slot_backends = []  # the backend each slot's variable lives on
        self._slots = {}  # Variable -> slot
        self._var_of_slot = []
        self._n_uninit = 0
        self._plans = collections.OrderedDict()
        self._fetch_cache = {}
        self._rngs = {}
        self._consts = {}
        self._resources = {}  # state of stateful host ops (see resource)
        self._source_fns = {}  # source op -> its host kernel (see _run_sources)
        self._sources = {}  # fetch key -> the source ops those fetches need
        self._staged = {}  # fetch key -> [(tensor, bake)] the plan needs computed first (NeedsStaging)
        self._lock = threading.RLock()
        self._step_buffers = weakref.WeakValueDictionary()  # see step_buffer_allocator
        self._feed_targets = {}  # feed_dict key -> the tensor it names
        self._fitting = set()  # (placeholder, shape) pairs already checked
        self._closed = False
        self._observers = plugins.run_observers()
        _live_sessions.add(self)

    # -- state owned by the session ---------------------------------------------------------
    def variable_slot(self, var: Variable) -> int:
        slot = self._slots.get(var)
        if slot is None:
            slot = len(self._values)
            self._slots[var] = slot
            self._values.append(None)
            self._slot_backends.append(self.placement(var.op))
            self._var_of_slot.append(var)
            self._n_uninit += 1
        return slot

    def rng_for(self, op: Operation) -> Any:
        rng = self._rngs.get(op)
        if rng is None:
            seed = op.attrs.get("seed")
            if seed is None:
                seed = np.random.SeedSequence().entropy
            rng = self._rngs[op] = self.placement(op).make_rng(seed)
        return rng

    def constant(self, op: Operation) -> Any:
        """Constants go to the device once per session, shared by every plan."""
        arr = self._consts.get(op)
        if arr is None:
            value = np.asarray(op.attrs["value"], op.attrs["dtype"].np)
            arr = value if is_host_string(value) else self.backend.to_device(value)  # strings stay on the host
            self._consts[op] = arr
        return arr

    def resource(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """Per-session state of a stateful host op (an iterator's position, a writer), made once."""
        with self._lock:
            r = self._resources.get(key)
            if r is None:
                r = self._resources[key] = make()
            return r

    def step_allocator(self, backend: Backend | None = None) -> Callable[..., Any]:
        """Allocator for the planned temporaries of one plan that updates variables, on `backend` (default:
        the session's). Such plans run one at a time under the session lock, so they share memory: the i-th
        buffer of a dtype in one plan is a view of the same flat block as the i-th in every other, grown when
        a plan needs more (the training plans of the full and the short last batch of an epoch use one set).
        A block lives as long as some cached plan uses it."""
        backend = backend or self.backend
        counts = {}

        def allocate(shape, dtype):
            dtype = np.dtype(dtype)
            size = int(np.prod(shape, dtype=np.int64))
            counts[dtype] = i = counts.get(dtype, -1) + 1
            block = self._step_buffers.get((backend, dtype.str, i))
            if block is None or block.size < size:
                block = self._step_buffers[backend, dtype.str, i] = backend.empty((size,), dtype)
            return block[:size].reshape(shape)
        return allocate

    def load_variable(self, var: Variable, value: ArrayLike) -> None:
        self._check_open()
        raw = np.asarray(value)
        if raw.dtype.kind in "iu":
            _check_integer_range(raw, var.dtype.np, f"variable '{var.name}'")
        arr = raw.astype(var.dtype.np, copy=False)
        if tuple(arr.shape) != tuple(var.shape):
            raise ValueError(f"cannot load a value of shape {fmt(arr.shape)} into variable '{var.name}' "
                             f"of shape {fmt(var.shape)}")
        slot = self.variable_slot(var)
        if self._values[slot] is None:
            self._n_uninit -= 1
        backend = self._slot_backends[slot]
        with devices.on_device(backend):  # a variable on another CUDA device than the session's
            self._values[slot] = backend.to_device(arr.copy())

    def _check_open(self):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")

    def variable_value(self, var: Variable) -> np.ndarray | None:
        """The variable's value as a NumPy array, or None if this session has not initialised it."""
        self._check_open()
        slot = self._slots.get(var)
        if slot is None or self._values[slot] is None:
            return None
        return self._slot_backends[slot].to_host(self._values[slot], persistent=True)

    # -- running ----------------------------------------------------------------------------
    def _feed_target(self, key):
        t = key
        if isinstance(t, str):
            try:
                t = self.graph.as_graph_element(t)
            except (KeyError, ValueError) as e:
                raise TypeError(f"cannot feed {key!r:.80}: feed_dict keys must be tensors (placeholders) or "
                                f"their names, and {e.args[0] if e.args else e}") from None
        if hasattr(t, "_as_tensor"):
            t = t._as_tensor()
        if not isinstance(t, Tensor):
            raise TypeError(f"cannot feed {key!r:.80}: feed_dict keys must be tensors (placeholders) or their names")
        if t.graph is not self.graph:
            raise ValueError(f"cannot feed tensor '{t.name}': it belongs to another graph than this session's")
        return t

    @staticmethod
    def _feed_array(t, value):
        want = t.dtype.np
        if t.dtype.name == "string":  # host-side on every backend: an object array of bytes
            return _check_feed_shape(t, as_strings(value, f"the value fed to '{t.name}'"))
        if type(value) is np.ndarray and value.dtype == want:
            arr = value
        else:
            try:
                arr = np.asarray(value)
            except ValueError as e:
                raise ValueError(f"cannot feed a ragged or malformed value to '{t.name}' (expects {t.dtype.name} "
                                 f"of shape {fmt(t.shape)}): {e}") from None
            if arr.dtype.kind not in "biuf":
                what = "strings" if arr.dtype.kind in "SU" else "None" if value is None else \
                    f"a value of type {arr.dtype}"
                raise TypeError(f"cannot feed {what} to '{t.name}', which expects "
                                f"{t.dtype.name} of shape {fmt(t.shape)}")
            if arr.dtype.kind == "f" and t.dtype.is_integer:
                _check_whole_numbers(arr, want, t)
            _check_integer_range(arr, want, f"the {t.dtype.name} tensor '{t.name}'")
            arr = arr.astype(want, copy=False)
        return _check_feed_shape(t, arr)

    def _feed_value(self, t, value):
        if type(value) is np.ndarray and value.dtype == t.dtype.np and (t, value.shape) in self._fitting:
            return value  # the common case, a host array of a shape already checked: no more work
        if self.backend.is_device_array(value):
            return self._feed_device_array(t, value)
        arr = self._feed_array(t, value)
        if len(self._fitting) < 4096:
            self._fitting.add((t, arr.shape))
        return arr

    @staticmethod
    def _feed_device_array(t, value):
        """A feed already on this session's device: checked like a host feed, never copied or cast."""
        if value.dtype != t.dtype.np:
            raise TypeError(f"cannot feed a device array of dtype {value.dtype} to '{t.name}', which expects "
                            f"{t.dtype.name}: cast it on the device first")
        return _check_feed_shape(t, value)

    def _fetches(self, fetches):
        key = fetches if isinstance(fetches, (Tensor, Operation)) else None
        if key is None:
            try:
                key = tuple(fetches) if isinstance(fetches, list) else fetches
                hash(key)
            except TypeError:
                return _Fetches(self.graph, fetches)
        f = self._fetch_cache.get(key)
        if f is None:
            f = _Fetches(self.graph, fetches)
            if len(self._fetch_cache) < 256:
                self._fetch_cache[key] = f
        return f

    def run(self, fetches: Fetches, feed_dict: FeedDict | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """Evaluate `fetches` (tensor, op, or any nesting of lists/tuples/dicts of them) with `feed_dict`."""
        self._check_open()
        start = time.perf_counter() if self._observers else None
        spec = self._fetches(fetches)
        tensors, arrays = [], []
        if feed_dict:
            targets = self._feed_targets
            for k, v in _flat_feeds(feed_dict):
                t = targets.get(k)
                if t is None:
                    t = self._feed_target(k)
                    if len(targets) < 1024:
                        targets[k] = t
                tensors.append(t)
                arrays.append(self._feed_value(t, v))
        sources = self._sources.get(spec.key)
        if sources is None:
            sources = _sources(self.graph, spec)
            if len(self._sources) < 1024:
                self._sources[spec.key] = sources
        if sources:
            self._run_sources(sources, tensors, arrays)
        plan, tensors, arrays = self._plan(spec, tensors, arrays)
        values = self._values
        if self._n_uninit:
            for slot in plan.var_reads:
                if values[slot] is None:
                    var = self._var_of_slot[slot]
                    raise FailedPreconditionError(
                        f"Attempting to use uninitialized value {var.op.name} (variable '{var.name}'); "
                        f"run its initializer or nnplug.global_variables_initializer() first", var.op)
        if plan.has_assign:  # runs that update variables are serialised, so no update is lost to a race
            with self._lock:  # fetched inside: a replayed device graph reuses its output buffers
                results = self._to_host(plan, plan.run(values, arrays))
                if self._n_uninit:
                    self._n_uninit = sum(v is None for v in values)
        elif plan.lock is not None:
            with plan.lock:
                results = self._to_host(plan, plan.run(values, arrays))
        else:
            results = self._to_host(plan, plan.run(values, arrays))
        if start is not None:
            self.backend.synchronize()
            plugins.notify_session_run(self, fetches, time.perf_counter() - start, self._observers)
        return spec.rebuild(results)

    def _log_placement(self, plan):
        """TF1's log_device_placement: where each op of a newly compiled plan runs, in TF1's format
        ("name: (Type): /job:localhost/replica:0/task:0/device:CPU:0"), to stderr."""
        import sys
        name = self.placement.device_name
        print("".join(f"{op.name}: ({op.type}): {name(self.placement(op))}\n" for op in plan.ops),
              end="", file=sys.stderr)

    def _plan(self, spec, tensors, arrays):
        """(plan, feeds, arrays) for this run. A plan that needs a value depending on fed values (a size:
        the rows `boolean_mask` keeps; or a value that gives a shape: `sequence_mask`'s default length) has
        it computed first, by a run of its own, then fed (a size) or compiled in (a value, so the plan is
        kept per value), as TF1 computes shapes while it runs. Only values whose ops change nothing when run
        twice (no assigns, random draws or iterators) are computed so; others keep the compiler's error."""
        staged = self._staged.get(spec.key)
        if staged is None:  # the common case, kept lean: nothing to compute first
            plan = self._plans.get(_plan_key(spec, tensors, arrays, ()))
            if plan is not None:
                return plan, tensors, arrays
            staged = []
        tensors, arrays, baked, done = list(tensors), list(arrays), [], 0
        while True:
            for t, bake in staged[done:]:
                fed = next((k for k, f in enumerate(tensors) if f is t), None)
                if fed is not None:  # a fed value that gives a shape: compiled in
                    if bake:
                        tensors.pop(fed)
                        baked.append((t, arrays.pop(fed)))
                    continue
                value = np.asarray(self.run(t, dict(zip(tensors, arrays))))
                if bake:
                    baked.append((t, value))
                else:
                    tensors.append(t)
                    arrays.append(value)
            done = len(staged)
            key = _plan_key(spec, tensors, arrays, baked)
            plan = self._plans.get(key)
            if plan is not None:
                return plan, tensors, arrays
            with self._lock:
                try:
                    plan = compile_plan(self, self.graph, spec.tensors, spec.ops, tensors, arrays, baked=baked)
                except NeedsStaging as e:
                    if len(staged) >= STAGES_MAX or not self._repeatable(e.tensor, tensors):
                        raise InvalidArgumentError(str(e)) from None
                    staged = self._staged.setdefault(spec.key, staged)
                    staged.append((e.tensor, e.bake))
                    continue
                if self.config is not None and self.config.log_device_placement:
                    self._log_placement(plan)
                self._plans[key] = plan
                if len(self._plans) > PLAN_CACHE_SIZE:
                    self._plans.popitem(last=False)
            return plan, tensors, arrays

    def _repeatable(self, tensor, fed):
        """Whether the ops computing `tensor` (from the feeds) can run once more without changing anything."""
        ops = prune(self.graph, [tensor.op], {id(t) for t in fed})
        return not any(getattr(registry.find(op.type), "stateful", False) and op.type not in REPEATABLE for op in ops)

    def _run_sources(self, sources, tensors, arrays):
        """Run the source ops a run needs (once each) and feed their results, unless the caller fed them.
        A source op with inputs (decode_raw, parse_example: output sizes that follow the input's values)
        runs here when its inputs are fed, made by an earlier source, or constants; else in the plan."""
        at_hand = {id(t): a for t, a in zip(tensors, arrays)}
        for op in sources:
            if any(id(t) in at_hand for t in op.outputs):
                continue
            inputs = [at_hand.get(id(t), _constant_value(t)) for t in op.inputs]
            if any(a is None for a in inputs):
                continue
            fn = self._source_fns.get(op)
            if fn is None:
                spec = KernelSpec(op.type, op.name, op.attrs, [t.shape for t in op.inputs],
                                  [t.dtype for t in op.inputs], [t.shape for t in op.outputs],
                                  [t.dtype for t in op.outputs], backend=self.backend, op=op)
                spec.state = self
                fn = self._source_fns[op] = registry.get(op.type).host(spec)
            out = fn(*[a if is_host_string(a) else self.backend.to_host(a) for a in inputs])
            for t, a in zip(op.outputs, (out,) if len(op.outputs) == 1 else out):
                tensors.append(t)
                arrays.append(_check_feed_shape(t, a))
                at_hand[id(t)] = a

    def _to_host(self, plan, out):
        results = []
        for v, persistent, device in zip(out, plan.fetch_persistent, plan.fetch_devices):
            h = v if is_host_string(v) else device.to_host(v, persistent)
            results.append(h[()] if h.ndim == 0 else h)
        return results

    def plan_for(self, fetches: Fetches, feed_dict: FeedDict | None = None) -> Plan:
        """The compiled Plan a run with these arguments uses (compiling it if needed)."""
        spec = _Fetches(self.graph, fetches)
        tensors = [self._feed_target(k) for k in (feed_dict or {})]
        arrays = [self._feed_value(t, v) for t, v in zip(tensors, (feed_dict or {}).values())]
        return compile_plan(self, self.graph, spec.tensors, spec.ops, tensors, arrays)

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._values = []
        self._plans.clear()
        self._consts.clear()
        for r in list(self._resources.values()):
            close = getattr(r, "close", None)
            if close is not None:
                close()
        self._resources.clear()
        self._source_fns.clear()
        self._sources.clear()
        self._step_buffers.clear()

    def as_default(self) -> ContextManager[Session]:
        return _SessionContext(self, close=False)

    def __enter__(self) -> Session:
        # as in TF1, the session's graph is the default graph inside the block
        self._graph_context = self.graph.as_default()
        self._graph_context.__enter__()
        push_default_session(self)
        return self

    def __exit__(self, *exc: object) -> None:
        pop_default_session(self)
        self._graph_context.__exit__(*exc)
        self.close()

    def __del__(self):
        try:
            self._values = []
        except Exception:  # noqa: BLE001
            pass


class _SessionContext:
    def __init__(self, session, close):
        self.session = session

    def __enter__(self):
        push_default_session(self.session)
        return self.session

    def __exit__(self, *exc):
        pop_default_session(self.session)


class InteractiveSession(Session):
    """A Session that makes itself the default on creation, for notebooks."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        push_default_session(self)

    def close(self) -> None:
        pop_default_session(self)
        super().close()
