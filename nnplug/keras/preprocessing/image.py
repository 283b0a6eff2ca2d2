"""`keras.preprocessing.image.ImageDataGenerator`: Keras 2's on-the-fly image augmentation, on the host in NumPy.

Each image gets a random affine transform (rotation, shift, shear, zoom about its centre, as Keras composes
them), flips, then `standardize` (preprocessing_function, rescale, sample-wise then feature-wise
normalisation). The resampling maps every output pixel to its source point (scipy.ndimage.affine_transform's
convention) and interpolates bilinearly (interpolation_order=1) or takes the nearest pixel (0); points outside
the image follow fill_mode. Random draws come from a RandomState made from `seed` (or NumPy's global state
without one), so a seeded flow gives the same batches every time.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..utils import Sequence

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
_LAYOUT = {"channels_last": (0, 1, 2), "channels_first": (1, 2, 0)}  # (row, col, channel) axes of one image


def _number(name, value, minimum=0.0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= minimum:
        raise ValueError(f"ImageDataGenerator: {name} must be a number >= {minimum}, got {value!r}")
    return float(value)


def _shift_range(name, value):
    """A float (a fraction of the size when < 1, else pixels) or a list of allowed pixel shifts."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value)
        if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iuf":
            raise ValueError(f"ImageDataGenerator: {name} must be a number or a list of numbers, got {value!r}")
        return values
    return _number(name, value)


def _zoom_range(value):
    if isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = (_number("zoom_range", v) for v in value)
    else:
        z = _number("zoom_range", value)
        low, high = 1.0 - z, 1.0 + z
    if not 0 < low <= high:
        raise ValueError(f"ImageDataGenerator: zoom_range must give 0 < low <= high, got {value!r}")
    return low, high


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"ImageDataGenerator: {name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


# -- resampling ----------------------------------------------------------------------------
def _source_index(i, n, fill_mode):
    """Integer source positions `i` mapped into [0, n) by the fill mode (constant: clipped, masked later)."""
    if fill_mode == "reflect":  # half-sample symmetric: d c b a | a b c d | d c b a
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)
    if fill_mode == "wrap":
        return np.mod(i, n)
    return np.clip(i, 0, n - 1)


def affine_resample(image: np.ndarray, matrix: np.ndarray, offset: np.ndarray, fill_mode: str = "nearest",
                    cval: float = 0.0, order: int = 1) -> np.ndarray:
    """out[r, c] = image at (matrix @ (r, c) + offset), per channel of an (h, w, channels) image."""
    h, w = image.shape[:2]
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    r = matrix[0, 0] * rows + matrix[0, 1] * cols + offset[0]
    c = matrix[1, 0] * rows + matrix[1, 1] * cols + offset[1]
    if order == 0:
        out = image[_source_index(np.floor(r + 0.5).astype(np.int64), h, fill_mode),
                    _source_index(np.floor(c + 0.5).astype(np.int64), w, fill_mode)].astype(np.float64)
    else:
        r0, c0 = np.floor(r), np.floor(c)
        fr, fc = (r - r0)[..., None], (c - c0)[..., None]
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        ri = [_source_index(r0 + k, h, fill_mode) for k in (0, 1)]
        ci = [_source_index(c0 + k, w, fill_mode) for k in (0, 1)]
        px = image.astype(np.float64)
        out = ((1 - fr) * ((1 - fc) * px[ri[0], ci[0]] + fc * px[ri[0], ci[1]])
               + fr * ((1 - fc) * px[ri[1], ci[0]] + fc * px[ri[1], ci[1]]))
    if fill_mode == "constant":
        tol = 1e-6
        outside = (r < -tol) | (r > h - 1 + tol) | (c < -tol) | (c > w - 1 + tol)
        out[outside] = cval
    return out


def transform_matrix(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0, h=1, w=1) -> np.ndarray | None:
    """Keras's 3x3 (row, col) map from output to source pixel: rotation @ shift @ shear @ zoom, about the
    centre; None for the identity."""
    parts = []
    if theta:
        t = np.deg2rad(theta)
        parts.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if tx or ty:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64))
    if shear:
        s = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], dtype=np.float64))
    if not parts:
        return None
    m = parts[0]
    for p in parts[1:]:
        m = m @ p
    o_r, o_c = h / 2 + 0.5, w / 2 + 0.5
    return np.array([[1, 0, o_r], [0, 1, o_c], [0, 0, 1]]) @ m @ np.array([[1, 0, -o_r], [0, 1, -o_c], [0, 0, 1]])


# -- the generator -------------------------------------------------------------------------
class ImageDataGenerator:
    """Keras 2's ImageDataGenerator for arrays (`flow`); zca_whitening, brightness_range, channel_shift_range
    and flow_from_directory are not supported."""

    def __init__(self, featurewise_center: bool = False, samplewise_center: bool = False,
                 featurewise_std_normalization: bool = False, samplewise_std_normalization: bool = False,
                 zca_whitening: bool = False, zca_epsilon: float = 1e-6, rotation_range: float = 0,
                 width_shift_range: Any = 0.0, height_shift_range: Any = 0.0, brightness_range: Any = None,
                 shear_range: float = 0.0, zoom_range: Any = 0.0, channel_shift_range: float = 0.0,
                 fill_mode: str = "nearest", cval: float = 0.0, horizontal_flip: bool = False,
                 vertical_flip: bool = False, rescale: float | None = None,
                 preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
                 data_format: str | None = None, validation_split: float = 0.0, interpolation_order: int = 1,
                 dtype: str = "float32") -> None:
        for name, value in (("zca_whitening", zca_whitening), ("brightness_range", brightness_range),
                            ("channel_shift_range", channel_shift_range)):
            if value:
                raise NotImplementedError(f"ImageDataGenerator: {name} is not supported")
        if featurewise_std_normalization and not featurewise_center:
            warnings.warn("featurewise_std_normalization implies featurewise_center (as in Keras); enabling it")
            featurewise_center = True
        if samplewise_std_normalization and not samplewise_center:
            warnings.warn("samplewise_std_normalization implies samplewise_center (as in Keras); enabling it")
            samplewise_center = True
        self.featurewise_center, self.samplewise_center = bool(featurewise_center), bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.rotation_range = _number("rotation_range", rotation_range)
        self.width_shift_range = _shift_range("width_shift_range", width_shift_range)
        self.height_shift_range = _shift_range("height_shift_range", height_shift_range)
        self.shear_range = _number("shear_range", shear_range)
        self.zoom_range = _zoom_range(zoom_range)
        self.fill_mode = _choice("fill_mode", fill_mode, FILL_MODES)
        self.cval = _number("cval", cval, -math.inf)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.rescale = None if rescale is None else _number("rescale", rescale, -math.inf)
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(f"ImageDataGenerator: preprocessing_function must be callable, "
                            f"got {type(preprocessing_function).__name__}")
        self.preprocessing_function = preprocessing_function
        self.data_format = _choice("data_format", data_format or "channels_last", tuple(_LAYOUT))
        self.row_axis, self.col_axis, self.channel_axis = _LAYOUT[self.data_format]
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
                or not 0 <= validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be a number in [0, 1), got {validation_split!r}")
        self._validation_split = float(validation_split)
        self.interpolation_order = _choice("interpolation_order", interpolation_order, (0, 1))
        self.dtype = np.dtype(dtype)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    # -- statistics and standardisation --------------------------------------------------
    def _check_images(self, x, what):
        x = np.asarray(x)
        if x.ndim != 4 or x.dtype.kind not in "biuf":
            raise ValueError(f"ImageDataGenerator.{what}: x must be a numeric array of rank 4 (samples, height, width, "
                             f"channels for {self.data_format}), got shape {x.shape} of dtype {x.dtype}")
        return x

    def fit(self, x: ArrayLike, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """The per-channel mean and std over x that featurewise_center / _std_normalization use (rescale and
        preprocessing_function are not applied first, as in Keras)."""
        if augment:
            raise NotImplementedError("ImageDataGenerator.fit: augment=True is not supported")
        x = self._check_images(x, "fit").astype(np.float64)
        shape = [1, 1, 1]
        shape[self.channel_axis] = x.shape[self.channel_axis + 1]
        axes = (0, self.row_axis + 1, self.col_axis + 1)
        if self.featurewise_center:
            self.mean = x.mean(axis=axes).reshape(shape).astype(self.dtype)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = x.std(axis=axes).reshape(shape).astype(self.dtype)

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """One image (or a batch) after preprocessing_function, rescale and the normalisations, in Keras's order."""
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        x = np.array(x, dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        for flag, stat, name in ((self.featurewise_center, self.mean, "featurewise_center"),
                                 (self.featurewise_std_normalization, self.std, "featurewise_std_normalization")):
            if flag and stat is None:
                raise RuntimeError(f"ImageDataGenerator: {name} needs the statistics of the data; call "
                                   f"datagen.fit(x_train) first")
        if self.featurewise_center:
            x -= self.mean
        if self.featurewise_std_normalization:
            x /= self.std + 1e-6
        return x

    # -- random transforms ---------------------------------------------------------------
    def _shift(self, value, size, rng):
        if isinstance(value, np.ndarray):
            return float(rng.choice(value)) * rng.choice([-1, 1])
        if not value:
            return 0.0
        shift = rng.uniform(-value, value)
        return shift * size if value < 1 else shift

    def get_random_transform(self, img_shape: Seq[int], seed: int | None = None, rng: Any = None) -> dict[str, Any]:
        """A draw of the transform's parameters for one image of `img_shape` (Keras's dict)."""
        rng = rng if rng is not None else (np.random.RandomState(seed) if seed is not None else np.random)
        h, w = img_shape[self.row_axis], img_shape[self.col_axis]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0
        tx = self._shift(self.height_shift_range, h, rng)
        ty = self._shift(self.width_shift_range, w, rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0
        zx, zy = (1.0, 1.0) if self.zoom_range == (1.0, 1.0) else rng.uniform(*self.zoom_range, 2)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": bool(rng.random_sample() < 0.5) and self.horizontal_flip,
                "flip_vertical": bool(rng.random_sample() < 0.5) and self.vertical_flip,
                "channel_shift_intensity": None, "brightness": None}

    def apply_transform(self, x: np.ndarray, transform_parameters: dict[str, Any]) -> np.ndarray:
        """One image transformed by the parameters (tx: rows, ty: columns, as Keras names them)."""
        p = transform_parameters
        x = np.moveaxis(np.asarray(x), (self.row_axis, self.col_axis), (0, 1))  # (h, w, channels)
        m = transform_matrix(p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                             p.get("zx", 1), p.get("zy", 1), x.shape[0], x.shape[1])
        if m is not None:
            x = affine_resample(x, m[:2, :2], m[:2, 2], self.fill_mode, self.cval, self.interpolation_order)
        if p.get("flip_horizontal"):
            x = x[:, ::-1]
        if p.get("flip_vertical"):
            x = x[::-1]
        return np.ascontiguousarray(np.moveaxis(x, (0, 1), (self.row_axis, self.col_axis))).astype(self.dtype)

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def flow(self, x: ArrayLike, y: ArrayLike | None = None, batch_size: int = 32, shuffle: bool = True,
             sample_weight: ArrayLike | None = None, seed: int | None = None, save_to_dir: Any = None,
             save_prefix: str = "", save_format: str = "png", subset: str | None = None) -> NumpyArrayIterator:
        """A Sequence of augmented, standardised batches: (x, y), (x, y, sample_weight), or x when y is None."""
        if save_to_dir is not None:
            raise NotImplementedError("ImageDataGenerator.flow: save_to_dir is not supported")
        return NumpyArrayIterator(x, y, self, batch_size, shuffle, sample_weight, seed, subset)


class NumpyArrayIterator(Sequence):
    """The batches of `ImageDataGenerator.flow`: a Sequence (len = batches per epoch, reshuffled at each
    epoch's end) that also iterates forever, as Keras's iterator does."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=True, sample_weight=None, seed=None,
                 subset=None):
        gen = image_data_generator
        x = gen._check_images(x, "flow")
        arrays = {"y": y, "sample_weight": sample_weight}
        for name, a in arrays.items():
            if a is not None:
                arrays[name] = a = np.asarray(a)
                if len(a) != len(x):
                    raise ValueError(f"ImageDataGenerator.flow: x has {len(x)} samples but {name} has {len(a)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"ImageDataGenerator.flow: batch_size must be a positive integer, got {batch_size!r}")
        if subset is not None:
            _choice("subset", subset, ("training", "validation"))
            split = int(len(x) * gen._validation_split)
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x = x[part]
            arrays = {k: None if a is None else a[part] for k, a in arrays.items()}
        if len(x) == 0:
            raise ValueError(f"ImageDataGenerator.flow: no samples (x has shape {x.shape}"
                             + (f", subset {subset!r} of validation_split {gen._validation_split})" if subset else ")"))
        self.x, self.y, self.sample_weight = x, arrays["y"], arrays["sample_weight"]
        self.image_data_generator, self.batch_size, self.shuffle = gen, int(batch_size), bool(shuffle)
        self.n = len(x)
        self._rng = np.random.RandomState(seed) if seed is not None else np.random
        self._order = self._draw_order()
        self._next = 0

    def _draw_order(self):
        return self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"NumpyArrayIterator: batch {index} out of range for a sequence of {len(self)} batches")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        gen = self.image_data_generator
        batch_x = np.stack([gen.standardize(gen.apply_transform(
            self.x[j].astype(gen.dtype), gen.get_random_transform(self.x[j].shape, rng=self._rng))) for j in rows])
        if self.y is None:
            return batch_x
        out = (batch_x, self.y[rows])
        return out if self.sample_weight is None else out + (self.sample_weight[rows],)

    def on_epoch_end(self) -> None:
        self._order = self._draw_order()

    def __iter__(self):
        return self

    def __next__(self) -> Any:
        if self._next == len(self):
            self.on_epoch_end()
            self._next = 0
        self._next += 1
        return self[self._next - 1]
