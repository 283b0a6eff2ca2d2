"""TF1's box ops. `crop_and_resize` and `extract_glimpse` are compositions (their sampling points are computed
from the box tensors, the pixels gathered from the flattened images), so every backend runs them and
gradients reach the images; drawing boxes, non-max suppression and sampling a distorted box choose among
boxes by their values, so they are host ops with TF's kernels' rules."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant, convert_to_tensor, make, name_scope
from ..ops import math_ops as M
from ..ops.array_ops import expand_dims, gather, reshape
from ..ops.elementwise import cast, floor
from ..ops.random_ops import get_seed
from ..ops.registry import register
from ..shapes import ShapeError, TensorShape, fmt
from .._types import TensorLike
from .core import _image, _ints


# -- crop_and_resize ------------------------------------------------------------------------------
def _sample(flat, b, ys, xs, h, w):
    """flat[(b * h + y) * w + x] for int32 b (n, 1, 1), ys (n, ch, 1), xs (n, 1, cw): (n, ch, cw, c)."""
    return gather(flat, (b * h + ys) * w + xs)


def crop_and_resize(image: TensorLike, boxes: TensorLike, box_ind: TensorLike | None = None,
                    crop_size: Sequence[int] | TensorLike | None = None, method: str = "bilinear",
                    extrapolation_value: float = 0.0, name: str | None = None,
                    box_indices: TensorLike | None = None) -> Tensor:
    """Each box [y1, x1, y2, x2] (normalised, y1 > y2 flips) of image[box_ind] resampled to crop_size;
    points outside the image get extrapolation_value. float32 (num_boxes, crop_h, crop_w, channels)."""
    x = _image(image, "crop_and_resize", ranks=(4,))
    if (box_ind is None) == (box_indices is None):
        raise ValueError("crop_and_resize: give exactly one of box_ind and box_indices")
    if crop_size is None:
        raise ValueError("crop_and_resize: crop_size is required")
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"crop_and_resize: method must be 'bilinear' or 'nearest', got {method!r}")
    ch, cw = _ints(crop_size, 2, "crop_size", "crop_and_resize")
    if ch <= 0 or cw <= 0:
        raise ValueError(f"crop_and_resize: crop_size must be positive, got {[ch, cw]}")
    bx, ind = convert_to_tensor(boxes), convert_to_tensor(box_ind if box_ind is not None else box_indices)
    if bx.shape.unknown_rank or len(bx.shape) != 2 or bx.shape[1] not in (None, 4):
        raise ShapeError(f"crop_and_resize: boxes '{bx.name}' must have shape (num_boxes, 4), got {fmt(bx.shape)}")
    if not ind.dtype.is_integer:
        raise TypeError(f"crop_and_resize: box_ind '{ind.name}' must be integers, got {ind.dtype.name}")
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    if c is None:
        raise ShapeError(f"crop_and_resize: '{x.name}' needs known channels, got {fmt(x.shape)}")
    with name_scope(name, "CropAndResize"):
        f = x if x.dtype == _dt.float32 else cast(x, _dt.float32)
        flat = reshape(f, [-1, c])
        bx = bx if bx.dtype == _dt.float32 else cast(bx, _dt.float32)
        y1, x1, y2, x2 = (bx[:, i:i + 1] for i in range(4))

        def points(lo, hi, n, size):
            if n > 1:
                steps = constant(np.arange(n, dtype=np.float32)[None, :])
                return lo * float(size - 1) + steps * ((hi - lo) * float(size - 1) / float(n - 1))
            return (lo + hi) * (0.5 * (size - 1)) + constant(np.zeros((1, 1), np.float32))
        ys, xs = points(y1, y2, ch, h), points(x1, x2, cw, w)  # (n, ch), (n, cw)
        inside = M.logical_and(expand_dims(M.logical_and(M.greater_equal(ys, 0.0), M.less_equal(ys, h - 1.0)), 2),
                               expand_dims(M.logical_and(M.greater_equal(xs, 0.0), M.less_equal(xs, w - 1.0)), 1))
        b = reshape(cast(ind, _dt.int32), [-1, 1, 1])

        def index(t, size, axis):
            i = M.clip_by_value(cast(t, _dt.int32), 0, size - 1)
            return expand_dims(i, axis)
        if method == "nearest":
            out = _sample(flat, b, index(floor(ys + 0.5), h, 2), index(floor(xs + 0.5), w, 1), h, w)
        else:
            top, left = floor(ys), floor(xs)
            ty, by = index(top, h, 2), index(M.ceil(ys), h, 2)
            lx, rx = index(left, w, 1), index(M.ceil(xs), w, 1)
            y_lerp, x_lerp = expand_dims(expand_dims(ys - top, 2), 3), expand_dims(expand_dims(xs - left, 1), 3)
            tl, tr = _sample(flat, b, ty, lx, h, w), _sample(flat, b, ty, rx, h, w)
            bl, br = _sample(flat, b, by, lx, h, w), _sample(flat, b, by, rx, h, w)
            upper = tl + (tr - tl) * x_lerp
            lower = bl + (br - bl) * x_lerp
            out = upper + (lower - upper) * y_lerp
        fill = constant(np.float32(extrapolation_value))
        return M.where(expand_dims(inside, 3), out, M.zeros_like(out) + fill)


def extract_glimpse(input: TensorLike, size: Sequence[int], offsets: TensorLike, centered: bool = True,  # noqa: A002
                    normalized: bool = True, uniform_noise: bool = True, name: str | None = None) -> Tensor:
    """A size[0] x size[1] window of each image centred at `offsets` (y, x): relative to the image centre
    when `centered` (else to its top-left corner), in [-1, 1] units when `normalized` (else pixels); pixels
    outside the image are zeros (only uniform_noise=False: TF1's noise is its own random stream)."""
    x = _image(input, "extract_glimpse", ranks=(4,))
    if uniform_noise:
        raise NotImplementedError("extract_glimpse: uniform_noise=True is not supported; pass uniform_noise=False "
                                  "(zeros outside the image)")
    gh, gw = _ints(size, 2, "size", "extract_glimpse")
    h, w = x.shape[1], x.shape[2]
    off = convert_to_tensor(offsets)
    with name_scope(name, "ExtractGlimpse"):
        off = off if off.dtype == _dt.float32 else cast(off, _dt.float32)
        oy, ox = off[:, 0:1], off[:, 1:2]
        if normalized:
            oy, ox = oy * (h / 2.0), ox * (w / 2.0)
        if centered:
            oy, ox = oy + h / 2.0, ox + w / 2.0
        # the window's top-left corner: its centre less half its size, truncated toward zero as TF's kernel
        top = cast(cast(oy - gh / 2.0, _dt.int32), _dt.float32)
        left = cast(cast(ox - gw / 2.0, _dt.int32), _dt.float32)
        n = x.shape[0]
        if n is None:
            raise ShapeError(f"extract_glimpse: '{x.name}' needs a known batch size, got {fmt(x.shape)}")
        ys = top + constant(np.arange(gh, dtype=np.float32)[None, :])
        xs = left + constant(np.arange(gw, dtype=np.float32)[None, :])
        inside = M.logical_and(expand_dims(M.logical_and(M.greater_equal(ys, 0.0), M.less_equal(ys, h - 1.0)), 2),
                               expand_dims(M.logical_and(M.greater_equal(xs, 0.0), M.less_equal(xs, w - 1.0)), 1))
        f = x if x.dtype == _dt.float32 else cast(x, _dt.float32)
        flat = reshape(f, [-1, x.shape[3]])
        b = constant(np.arange(n, dtype=np.int32).reshape(-1, 1, 1))
        yi = expand_dims(M.clip_by_value(cast(ys, _dt.int32), 0, h - 1), 2)
        xi = expand_dims(M.clip_by_value(cast(xs, _dt.int32), 0, w - 1), 1)
        out = _sample(flat, b, yi, xi, h, w)
        return M.where(expand_dims(inside, 3), out, M.zeros_like(out))


# -- drawing ---------------------------------------------------------------------------------------
_DEFAULT_COLOURS = np.array([[1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0.5, 0, 0.5, 1],
                             [0.5, 0.5, 0, 1], [0.5, 0, 0, 1], [0, 0, 0.5, 1], [0, 1, 1, 1], [1, 0, 1, 1]])


def _draw_host(spec):
    def draw(images, boxes, colours=None):
        out = np.array(images, copy=True)
        n, h, w, c = out.shape
        table = _DEFAULT_COLOURS if colours is None or np.size(colours) == 0 else np.asarray(colours, np.float64)
        if table.ndim != 2 or table.shape[1] < c:
            raise InvalidArgumentError(f"DrawBoundingBoxes op '{spec.name}': colors must be (n, >= {c}), got shape "
                                       f"{table.shape}")
        for i in range(n):
            for k, box in enumerate(np.asarray(boxes[i], np.float64)):
                colour = table[k % len(table), :c].astype(out.dtype)
                top, left, bottom, right = (int(v) for v in (box[0] * (h - 1), box[1] * (w - 1),
                                                             box[2] * (h - 1), box[3] * (w - 1)))
                if top > bottom or left > right or top >= h or bottom < 0 or left >= w or right < 0:
                    continue
                rows = slice(max(top, 0), min(bottom, h - 1) + 1)
                cols = slice(max(left, 0), min(right, w - 1) + 1)
                if top >= 0:
                    out[i, top, cols] = colour
                if bottom < h:
                    out[i, bottom, cols] = colour
                if left >= 0:
                    out[i, rows, left] = colour
                if right < w:
                    out[i, rows, right] = colour
        return out
    return draw


register("DrawBoundingBoxes", lambda s, d, a: [(s[0], d[0])], host=_draw_host)


def draw_bounding_boxes(images: TensorLike, boxes: TensorLike, name: str | None = None,
                        colors: TensorLike | None = None) -> Tensor:
    """One-pixel outlines of boxes (batch, num_boxes, 4: y_min, x_min, y_max, x_max in [0, 1]) on float
    images, coloured from `colors` (or TF's table) in turn."""
    x = _image(images, "draw_bounding_boxes", ranks=(4,), known_size=False)
    if not x.dtype.is_floating:
        raise TypeError(f"draw_bounding_boxes: '{x.name}' must be a float image, got {x.dtype.name}")
    bx = convert_to_tensor(boxes, dtype=_dt.float32)
    if bx.shape.unknown_rank or len(bx.shape) != 3 or bx.shape[-1] not in (None, 4):
        raise ShapeError(f"draw_bounding_boxes: boxes '{bx.name}' must have shape (batch, num_boxes, 4), got "
                         f"{fmt(bx.shape)}")
    ins = [x, bx] + ([] if colors is None else [convert_to_tensor(colors, dtype=_dt.float32)])
    return make("DrawBoundingBoxes", ins, {}, name=name or "DrawBoundingBoxes")


# -- non-max suppression -------------------------------------------------------------------------
def _iou_matrix(boxes):
    """IoU of every pair of boxes given as corners in any order (zero where either box has no area)."""
    b = np.asarray(boxes, np.float64)
    y1, y2 = np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2])
    x1, x2 = np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3])
    area = (y2 - y1) * (x2 - x1)
    ih = np.clip(np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]), 0, None)
    iw = np.clip(np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]), 0, None)
    inter = ih * iw
    union = area[:, None] + area[None] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where((area[:, None] > 0) & (area[None] > 0), inter / union, 0.0)
    return iou


def _greedy(similarity, scores, max_out, threshold, score_threshold, sigma):
    """TF's greedy selection: the best remaining score is kept unless it overlaps a kept box by more than
    `threshold`; with sigma > 0 (Soft-NMS) nothing is dropped for overlapping, each kept box instead decays
    the others' scores by exp(-iou^2 / (2 sigma)), and boxes leave once at or below score_threshold."""
    current = np.asarray(scores, np.float64).copy()
    alive = current > score_threshold
    chosen, kept_scores = [], []
    while len(chosen) < max_out and alive.any():
        best = int(np.flatnonzero(alive)[np.argmax(current[alive])])
        alive[best] = False
        if sigma <= 0 and any(similarity[best, k] > threshold for k in chosen):
            continue
        chosen.append(best)
        kept_scores.append(current[best])
        if sigma > 0:
            sim = similarity[best]
            current = current * np.exp(-0.5 * sim * sim / sigma)
            alive &= current > score_threshold
    return np.array(chosen, np.int32), np.array(kept_scores, np.float32)


def _nms_host(spec):
    overlaps, want_scores = spec.attrs["overlaps"], spec.op_type == "NonMaxSuppressionScores"

    def select(boxes, scores, max_out, threshold, score_threshold, sigma):
        boxes, scores = np.asarray(boxes), np.asarray(scores)
        if overlaps:
            if boxes.ndim != 2 or boxes.shape[0] != boxes.shape[1]:
                raise InvalidArgumentError(f"NonMaxSuppression op '{spec.name}': overlaps must be square, got shape "
                                           f"{boxes.shape}")
        elif boxes.ndim != 2 or boxes.shape[1] != 4:
            raise InvalidArgumentError(f"NonMaxSuppression op '{spec.name}': boxes must have shape (num_boxes, 4), "
                                       f"got {boxes.shape}")
        if scores.shape != (boxes.shape[0],):
            raise InvalidArgumentError(f"NonMaxSuppression op '{spec.name}': scores must have shape "
                                       f"({boxes.shape[0]},), got {scores.shape}")
        if not 0 <= float(threshold) <= 1 and not overlaps:
            raise InvalidArgumentError(f"NonMaxSuppression op '{spec.name}': iou_threshold must be in [0, 1], got "
                                       f"{float(threshold)}")
        if int(max_out) < 0:
            raise InvalidArgumentError(f"NonMaxSuppression op '{spec.name}': max_output_size must be >= 0, got "
                                       f"{int(max_out)}")
        similarity = np.asarray(boxes, np.float64) if overlaps else _iou_matrix(boxes)
        chosen, kept = _greedy(similarity, scores, int(max_out), float(threshold), float(score_threshold),
                               float(sigma))
        return kept if want_scores else chosen
    return select


# the indices and the kept scores are two single-output ops (the selection runs twice): a plan runs an op
# unless every output is fed, so an output whose size the Session stages first must be all of its op
register("NonMaxSuppression", lambda s, d, a: [(TensorShape([None]), _dt.int32)], host=_nms_host, source=True)
register("NonMaxSuppressionScores", lambda s, d, a: [(TensorShape([None]), _dt.float32)], host=_nms_host,
         source=True)


def _nms(boxes, scores, max_output_size, threshold, score_threshold, sigma, overlaps, name, op_type):
    ins = [convert_to_tensor(boxes, dtype=_dt.float32), convert_to_tensor(scores, dtype=_dt.float32),
           convert_to_tensor(max_output_size, dtype=_dt.int32), convert_to_tensor(threshold, dtype=_dt.float32),
           convert_to_tensor(score_threshold, dtype=_dt.float32), convert_to_tensor(sigma, dtype=_dt.float32)]
    return make(op_type, ins, {"overlaps": overlaps}, name=name or op_type)


def non_max_suppression(boxes: TensorLike, scores: TensorLike, max_output_size: int | TensorLike,
                        iou_threshold: float = 0.5, score_threshold: float = float("-inf"),
                        name: str | None = None) -> Tensor:
    """Indices (int32, best first) of at most max_output_size boxes, none overlapping a better one by more
    than iou_threshold, all scoring above score_threshold."""
    return _nms(boxes, scores, max_output_size, iou_threshold, score_threshold, 0.0, False, name,
                "NonMaxSuppression")


def non_max_suppression_with_scores(boxes: TensorLike, scores: TensorLike, max_output_size: int | TensorLike,
                                    iou_threshold: float = 0.5, score_threshold: float = float("-inf"),
                                    soft_nms_sigma: float = 0.0, name: str | None = None) -> tuple[Tensor, Tensor]:
    """(indices, their scores); soft_nms_sigma > 0 decays overlapping scores (Soft-NMS) instead of dropping."""
    args = (boxes, scores, max_output_size, iou_threshold, score_threshold, soft_nms_sigma, False)
    with name_scope(name, "non_max_suppression_with_scores"):
        return _nms(*args, None, "NonMaxSuppression"), _nms(*args, None, "NonMaxSuppressionScores")


def non_max_suppression_overlaps(overlaps: TensorLike, scores: TensorLike, max_output_size: int | TensorLike,
                                 overlap_threshold: float = 0.5, score_threshold: float = float("-inf"),
                                 name: str | None = None) -> Tensor:
    """non_max_suppression with a given (num_boxes, num_boxes) overlap matrix in place of IoU."""
    return _nms(overlaps, scores, max_output_size, overlap_threshold, score_threshold, 0.0, True, name,
                "NonMaxSuppression")


# -- sample_distorted_bounding_box ---------------------------------------------------------------------
def _random_crop(rng, width, height, min_area, max_area, ratio):
    """TF's GenerateRandomCrop: (x, y, w, h) of a crop with the aspect ratio and area in range, or None."""
    rint = np.rint
    min_h, max_h = int(rint(np.sqrt(min_area / ratio))), int(rint(np.sqrt(max_area / ratio)))
    if rint(max_h * ratio) > width:
        max_h = int((width + 0.5 - 1e-7) / ratio)
    max_h = min(max_h, height)
    min_h = min(min_h, max_h)
    if min_h < max_h:
        min_h += int(rng.integers(0, max_h - min_h + 1))
    h = min_h
    w = int(rint(h * ratio))
    if w * h < min_area:
        h += 1
        w = int(rint(h * ratio))
    if w * h > max_area:
        h -= 1
        w = int(rint(h * ratio))
    if not min_area <= w * h <= max_area or w > width or h > height or w <= 0 or h <= 0:
        return None
    y = 0 if h >= height else int(rng.integers(0, height - h))
    x = 0 if w >= width else int(rng.integers(0, width - w))
    return x, y, w, h


def _covers(crop, boxes, min_covered):
    x, y, w, h = crop
    for bx0, by0, bx1, by1 in boxes:
        area = (bx1 - bx0) * (by1 - by0)
        inter = max(0, min(x + w, bx1) - max(x, bx0)) * max(0, min(y + h, by1) - max(y, by0))
        if area > 0 and inter / area >= min_covered:
            return True
    return False


def _distort_host(spec):
    a = spec.attrs
    rng = spec.rng if isinstance(spec.rng, np.random.Generator) else np.random.default_rng(a["seed"])

    def sample(image_size, bounding_boxes, min_covered):
        size = np.asarray(image_size).reshape(-1)
        if size.shape != (3,) or size[0] <= 0 or size[1] <= 0:
            raise InvalidArgumentError(f"SampleDistortedBoundingBox op '{spec.name}': image_size must be "
                                       f"[height, width, channels] with positive sizes, got {size.tolist()}")
        height, width = int(size[0]), int(size[1])
        raw = np.asarray(bounding_boxes, np.float64).reshape(-1, 4)
        if raw.size == 0:
            if not a["use_image_if_no_bounding_boxes"]:
                raise InvalidArgumentError(f"SampleDistortedBoundingBox op '{spec.name}': no bounding boxes provided "
                                           f"as input; set use_image_if_no_bounding_boxes=True to use the whole image")
            raw = np.array([[0.0, 0.0, 1.0, 1.0]])
        boxes = [(int(b[1] * width), int(b[0] * height), int(b[3] * width), int(b[2] * height)) for b in raw]
        total = height * width
        crop = None
        for _ in range(a["max_attempts"]):
            ratio = rng.uniform(*a["aspect_ratio_range"])
            found = _random_crop(rng, width, height, a["area_range"][0] * total, a["area_range"][1] * total, ratio)
            if found is not None and _covers(found, boxes, float(min_covered)):
                crop = found
                break
        x, y, w, h = crop if crop is not None else (0, 0, width, height)
        dtype = spec.out_dtypes[0].np
        begin, extent = np.array([y, x, 0], dtype), np.array([h, w, -1], dtype)
        box = np.array([[[y / height, x / width, (y + h) / height, (x + w) / width]]], np.float32)
        return begin, extent, box
    return sample


def _distort_rule(shapes, dtypes, attrs):
    return [(TensorShape([3]), dtypes[0]), (TensorShape([3]), dtypes[0]), (TensorShape([1, 1, 4]), _dt.float32)]


register("SampleDistortedBoundingBox", _distort_rule, stateful=True, host=_distort_host)


def sample_distorted_bounding_box(image_size: TensorLike, bounding_boxes: TensorLike, seed: int | None = None,
                                  seed2: int | None = None, min_object_covered: float | TensorLike = 0.1,
                                  aspect_ratio_range: Sequence[float] | None = None,
                                  area_range: Sequence[float] | None = None, max_attempts: int | None = None,
                                  use_image_if_no_bounding_boxes: bool | None = None,
                                  name: str | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(begin, size, bboxes) of a random crop covering at least min_object_covered of some box, for
    tf.slice(image, begin, size); the whole image after max_attempts failures. Seeded draws repeat."""
    ratio = tuple(float(v) for v in (aspect_ratio_range or (0.75, 1.33)))
    area = tuple(float(v) for v in (area_range or (0.05, 1.0)))
    attempts = 100 if max_attempts is None else int(max_attempts)
    if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"sample_distorted_bounding_box: aspect_ratio_range must be 2 positive increasing "
                         f"numbers, got {aspect_ratio_range!r}")
    if len(area) != 2 or not 0 < area[0] <= area[1] <= 1:
        raise ValueError(f"sample_distorted_bounding_box: area_range must be 2 increasing numbers in (0, 1], got "
                         f"{area_range!r}")
    if attempts < 1:
        raise ValueError(f"sample_distorted_bounding_box: max_attempts must be positive, got {max_attempts!r}")
    size = convert_to_tensor(image_size)
    if size.dtype not in (_dt.int32, _dt.int64, _dt.uint8, _dt.int16, _dt.int8):
        raise TypeError(f"sample_distorted_bounding_box: image_size '{size.name}' must be integers, got "
                        f"{size.dtype.name}")
    op_seed = seed2 if seed2 else seed
    attrs = {"seed": get_seed(op_seed), "aspect_ratio_range": ratio, "area_range": area, "max_attempts": attempts,
             "use_image_if_no_bounding_boxes": bool(use_image_if_no_bounding_boxes)}
    ins = [size, convert_to_tensor(bounding_boxes, dtype=_dt.float32),
           convert_to_tensor(min_object_covered, dtype=_dt.float32)]
    with name_scope(name, "sample_distorted_bounding_box"):
        return tuple(make("SampleDistortedBoundingBox", ins, attrs, name="SampleDistortedBoundingBoxV2").op.outputs)
