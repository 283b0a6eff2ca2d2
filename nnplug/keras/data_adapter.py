"""From the arrays a user passes to fit/evaluate/predict to the batches a step is fed: input checks against the
model, the validation split, per-epoch shuffling, batching, and keeping a training set on a GPU.

The adapter knows the model only through its public shape and loss; it never builds graph ops or runs steps.
"""
import numpy as np

from ..shapes import compatible  # None in a model shape: any size (e.g. a number of time steps)

DEVICE_DATA_MAX = 1 << 30  # fit() keeps a training set up to this size on a GPU backend


def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# -- input checks --------------------------------------------------------------------------
def by_name(data, names, keys, what, arg, kind):
    """The arrays of `data` (one array, a list in the model's order, or a dict by name) as a list ordered
    like `names`; a wrong count or an unknown name is an error naming it."""
    n = len(names)
    listing = ", ".join(f"'{m}'" for m in names)
    if isinstance(data, dict):
        unknown = [k for k in data if k not in keys]
        if unknown:
            raise ValueError(f"{what}: {arg} has an array for '{unknown[0]}', but the model has no {kind} of that "
                             f"name (its {kind}s: {listing})")
        found = {keys[k]: v for k, v in data.items()}
        return [found.get(i) for i in range(n)]
    if isinstance(data, (list, tuple)) and (n > 1 or (len(data) == 1 and isinstance(data[0], np.ndarray))):
        if len(data) != n:
            raise ValueError(f"{what}: the model has {n} {kind}{'s' if n > 1 else ''} ({listing}), but {arg} is a "
                             f"list of {len(data)} arrays")
        return list(data)
    if n > 1:
        raise ValueError(f"{what}: the model has {n} {kind}s ({listing}); give {arg} as a list of {n} arrays or "
                         f"a dict by {kind} name, got a single {type(data).__name__}")
    return [data]


def check_x(model, x, what):
    """The model's inputs as arrays of their dtypes, one per input (same number of rows), or an error naming
    the input and the shape it expects."""
    names = model.input_names
    xs = by_name(x, names, model._input_keys, what, "x", "input")
    out = []
    for t, name, a in zip(model.inputs, names, xs):
        label = "x" if len(names) == 1 else f"x['{name}']"
        if a is None:
            raise ValueError(f"{what}: x gives no array for the model's input '{name}' (inputs: {', '.join(names)})")
        a = _as_input_dtype(a, np.dtype(t.layer.dtype), what, label, name)
        want = tuple(t.shape[1:])
        if a.ndim != len(want) + 1 or any(w is not None and w != d for w, d in zip(want, a.shape[1:])):
            raise ValueError(f"{what}: {label} has shape {a.shape}, but the model's input '{name}' "
                             f"expects {shape_str(t.shape)} (samples x {' x '.join(map(str, want))})")
        if out and len(a) != len(out[0]):
            raise ValueError(f"{what}: the input '{name}' has {len(a)} samples but '{names[0]}' has {len(out[0])}; "
                             f"every input needs the same number of rows")
        out.append(a)
    return out


def _as_input_dtype(a, dtype, what, label, name):
    """`a` as the input's dtype; values an integer input cannot hold exactly are an error, not rounded."""
    try:
        given = np.asarray(a)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: {label} must be a numeric array, got {type(a).__name__} ({e})") from None
    if given.dtype.kind not in "biuf":
        raise TypeError(f"{what}: {label} must be a numeric array, got dtype {given.dtype}")
    if dtype.kind in "iu" and given.dtype.kind == "f" and given.size:
        info = np.iinfo(dtype)
        if not (np.all(np.mod(given, 1) == 0) and given.min() >= info.min and given.max() <= info.max):
            raise ValueError(f"{what}: {label} holds values that are not {dtype} integers, but the model's input "
                             f"'{name}' is {dtype}")
    return given.astype(dtype, copy=False)


def check_y(model, y, n, what):
    """The targets of the trained outputs (model._train.heads), each in the dtype and shape its loss takes
    (int32 class ids or float32 targets), or an error naming the output."""
    heads = model._train.heads
    ys = by_name(y, model.output_names, model._output_keys, what, "y", "output")
    out = []
    for h in heads:
        if ys[h.index] is None:
            raise ValueError(f"{what}: y gives no array for the output '{h.name}' (it has a loss)")
        label = "y" if len(ys) == 1 else f"y['{h.name}']"
        out.append(check_target(h, np.asarray(ys[h.index]), n, what, label))
    return out


def check_target(head, y, n, what, label="y"):
    if len(y) != n:
        raise ValueError(f"{what}: x has {n} samples but {label} has {len(y)}; they need the same number of rows")
    if head.loss.labels == "sparse":
        return _class_ids(head, y, n, what)
    n_out, name = head.shape[-1], head.loss.name
    want = (n,) + tuple(head.shape[1:])
    if head.loss.labels == "onehot" and not compatible(want, y.shape):
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"{what}: {name} expects one-hot labels of shape {want}, got integer class labels "
                             f"of shape {y.shape}; convert them with keras.utils.to_categorical(y, {n_out}) "
                             f"or use loss='sparse_categorical_crossentropy'")
        raise ValueError(f"{what}: {name} expects labels of shape {want} (one column per output), "
                         f"got {y.shape}")
    if y.ndim == 1 and want == (n, 1):
        y = y[:, None]
    if not compatible(want, y.shape):
        raise ValueError(f"{what}: loss {name} expects {label} of shape {want} like the model's output "
                         f"'{head.name}' {shape_str(head.shape)}, got {y.shape}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{what}: {label} must be numeric, got dtype {y.dtype}")
    return y.astype(np.float32)


def _class_ids(head, y, n, what):
    n_out, name = head.shape[-1], head.loss.name
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{what}: {name} expects integer class ids 0..{n_out - 1}, got y of dtype {y.dtype} "
                        f"(first value {y.flat[0]!r}); map the labels to class ids first" if y.size else
                        f"{what}: {name} expects integer class ids, got y of dtype {y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what}: {name} expects integer class ids of shape ({n},), got y of shape "
                         f"{y.shape}; for one-hot labels use loss='categorical_crossentropy'")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"{what}: {name} expects integer class ids, got non-integer values")
    if y.size and (y.min() < 0 or y.max() >= n_out):
        raise ValueError(f"{what}: class ids must lie in [0, {n_out}) for the model's {n_out} outputs, "
                         f"got values from {y.min()} to {y.max()}")
    return y.astype(np.int32)


def check_nonempty(xs, what):
    if len(xs[0]) == 0:
        raise ValueError(f"{what}: x has no samples (shape {xs[0].shape}); pass at least one row")
    return xs


# -- sample weights ------------------------------------------------------------------------
def check_sample_weights(model, sample_weight, n, what):
    """Per-sample weights of shape (n,) as float32, one per trained output (ones where an output has none),
    or None when no weights are given."""
    if sample_weight is None:
        return None
    heads = model._train.heads
    given = by_name(sample_weight, model.output_names, model._output_keys, what, "sample_weight", "output")
    ones = np.ones(n, np.float32)
    return [ones if given[h.index] is None else check_sample_weight(given[h.index], n, what) for h in heads]


def check_sample_weight(sample_weight, n, what):
    """Per-sample weights of shape (n,) as float32."""
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: sample_weight must be numbers, one per sample, got {type(sample_weight).__name__} "
                        f"({e})") from None
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(f"{what}: sample_weight must have shape ({n},), one weight per sample, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{what}: sample_weight holds NaN or infinite values (first at index "
                         f"{int(np.flatnonzero(~np.isfinite(w))[0])})")
    return w.astype(np.float32)


def class_weights(model, ys, class_weight, what):
    """Per-sample weights from class_weight, one array per trained output: a {class id: weight} dict for a
    model of one output, or a dict of them by output name."""
    heads = model._train.heads
    if not isinstance(class_weight, dict):
        raise TypeError(f"{what}: class_weight must be a dict {{class id: weight}}, got {type(class_weight).__name__}")
    if len(model.outputs) == 1:
        tables = [class_weight]
    else:
        tables = by_name(class_weight, model.output_names, model._output_keys, what, "class_weight", "output")
        tables = [tables[h.index] for h in heads]
    return [None if t is None else class_sample_weights(h, y, t, what) for h, y, t in zip(heads, ys, tables)]


def class_sample_weights(head, y, class_weight, what):
    """Per-sample weights class_weight[class of y] (1 for classes it leaves out), as Keras 3 does; the class
    is the id (sparse labels), the arg max of a row, or the 0/1 label of a single output."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"{what}: class_weight must be a dict {{class id: weight}}, got {type(class_weight).__name__}")
    n_classes = max(int(head.shape[-1]), 2)
    table = np.ones(n_classes, np.float64)
    for key, weight in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < n_classes:
            raise ValueError(f"{what}: class_weight keys must be class ids in [0, {n_classes}), got {key!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or not np.isfinite(weight):
            raise ValueError(f"{what}: class_weight[{key}] must be a finite number, got {weight!r}")
        table[int(key)] = weight
    if y.ndim > 2:
        raise ValueError(f"{what}: class_weight needs one label per sample, got y of shape {y.shape}")
    if y.ndim == 1:
        ids = y.astype(np.int64)
    else:
        ids = y.argmax(-1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
    return table[np.clip(ids, 0, n_classes - 1)].astype(np.float32)


def combine_weights(sample_weights, class_weights):
    """The per-output products of the two lists of weights (either may be None, or hold None)."""
    if class_weights is None or all(c is None for c in class_weights):
        return sample_weights
    if sample_weights is None:
        return [np.ones(len(next(c for c in class_weights if c is not None)), np.float32) if c is None else c
                for c in class_weights]
    return [w if c is None else w * c for w, c in zip(sample_weights, class_weights)]


# -- validation data -----------------------------------------------------------------------
def unpack_validation_data(model, validation_data):
    """(x_val, y_val, sample_weight_val or None) checked against the model."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val)")
    what = "fit (validation_data)"
    vx = check_nonempty(check_x(model, validation_data[0], what), what)
    vy = check_y(model, validation_data[1], len(vx[0]), what)
    vw = check_sample_weights(model, validation_data[2], len(vx[0]), what) if len(validation_data) == 3 else None
    return vx, vy, vw


def train_validation_split(arrays, validation_split):
    """(training arrays, validation arrays): the last samples, before shuffling, as in Keras."""
    split = int(len(arrays[0]) * (1.0 - validation_split))
    return [a[:split] for a in arrays], [a[split:] for a in arrays]


# -- batches -------------------------------------------------------------------------------
def batch_slices(n, batch_size):
    """The start of every batch of `batch_size` rows over `n` rows (the last one may be short)."""
    return range(0, n, batch_size)


class TrainingData:
    """A checked training set and its batches: `epoch()` draws the epoch's shuffle and yields tuples of
    batches of `arrays` (the inputs, the targets, and the sample weights when there are any).

    On a backend whose arrays a session takes as feeds (a GPU), the set goes to the device once when it is at
    most DEVICE_DATA_MAX bytes, and each epoch's shuffle (drawn on the host, so np.random.seed still decides
    it) is one gather there; the batches are then slices of device arrays.
    """

    def __init__(self, arrays, to_device, batch_size, shuffle):
        self.arrays = tuple(arrays)
        self.to_device = to_device
        self.n, self.batch_size, self.shuffle = len(arrays[0]), batch_size, shuffle

    def epoch(self):
        """The epoch's batches; the shuffle is drawn now, not at the first batch."""
        idx = np.random.permutation(self.n) if self.shuffle else None
        arrays = self.arrays
        if idx is not None and self.to_device is not None:  # one gather per epoch on the device, then slices
            order = self.to_device(idx)
            arrays, idx = tuple(a.take(order, axis=0) for a in arrays), None
        return self._batches(arrays, idx)

    def _batches(self, arrays, idx):
        bs = self.batch_size
        if idx is None:
            for i in batch_slices(self.n, bs):
                yield tuple(a[i:i + bs] for a in arrays)
        else:
            for i in batch_slices(self.n, bs):
                j = idx[i:i + bs]
                yield tuple(a[j] for a in arrays)


def stage_on_device(session, arrays):
    """(*arrays, to_device): the training set on the session's device when it is a GPU and the set is small
    enough, with the function that moves host arrays there; else the host arrays and None.

    The one place the adapter reaches past the Session's own methods (`session.backend.to_device`): a
    public `Session.to_device(array)` / `Session.feeds_device_arrays` would replace it."""
    backend = session.backend
    if sum(a.nbytes for a in arrays) > DEVICE_DATA_MAX or not backend.is_device_array(backend.to_device(arrays[0][:1])):
        return (*arrays, None)
    return (*(backend.to_device(a) for a in arrays), backend.to_device)


MAX_DATASET_SAMPLES = 50_000_000  # a dataset read for fit/evaluate/predict beyond this is an error, not a hang


def is_dataset(x):
    return hasattr(x, "one_pass") and hasattr(x, "output_types")


def from_dataset(x, y, steps, what):
    """(x, y, batch size) from a tf.data Dataset of (features, labels) batches (or features alone, for
    predict), read once on the host — `steps` batches of it if given (needed for a repeating dataset)."""
    from ..data import as_numpy
    if y is not None:
        raise ValueError(f"{what}: y must be None when x is a Dataset (its elements are (features, labels))")
    xs, ys, first, n = [], [], None, 0
    for i, element in enumerate(as_numpy(x)):
        if steps is not None and i >= steps:
            break
        features, labels = (element if isinstance(element, tuple) and len(element) == 2 else (element, None))
        features = np.asarray(features)
        if features.ndim == 0:
            raise ValueError(f"{what}: the Dataset's elements are scalars; batch it (dataset.batch(32))")
        first = first if first is not None else len(features)
        n += len(features)
        if n > MAX_DATASET_SAMPLES:
            raise ValueError(f"{what}: the Dataset gives more than {MAX_DATASET_SAMPLES} samples; a repeating "
                             f"dataset needs steps_per_epoch / steps")
        xs.append(features)
        if labels is not None:
            ys.append(np.asarray(labels))
    if not xs:
        raise ValueError(f"{what}: the Dataset is empty")
    return np.concatenate(xs), (np.concatenate(ys) if ys else None), first
