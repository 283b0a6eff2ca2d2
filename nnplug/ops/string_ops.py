"""TF1's string ops (`tf.string_split`, `tf.string_join`, `tf.substr`, `tf.as_string`, `tf.reduce_join`,
`tf.regex_replace`, base64, `tf.strings.unicode_decode`, ...): host ops on NumPy object arrays of bytes,
as TF1 keeps strings on the CPU, so every backend runs them. None has a gradient. `string_split` and
`unicode_decode` are source ops (OpDef.source): how many pieces they give follows from the strings'
contents, so the Session runs them before the plan when their input is at hand (else a first run counts
them). Regular expressions are Python's `re` (RE2's syntax is close to a subset of it: patterns RE2 refuses
for backtracking constructs run here). Numbers to and from strings and the hashes are in
string_number_ops.py."""
from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, broadcast, fmt, normalize_axis
from .registry import register
from .._types import TensorLike


def _strings(x: TensorLike, what: str) -> Tensor:
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        from .array_ops import stack
        x = stack(list(x))  # TF packs a list of tensors: tf.string_split([line])
    t = convert_to_tensor(x, dtype=_dt.string) if not isinstance(x, Tensor) else x
    if t.dtype != _dt.string:
        raise TypeError(f"{what} takes strings, got {t.dtype.name} tensor '{t.name}'")
    return t


def _obj(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of `shape` holding `values` (bytes), never split into characters by NumPy."""
    out = np.empty(len(values), object)
    out[:] = list(values)
    return out.reshape(shape)


def _map(fn: Any, strings: np.ndarray, dtype: Any = object) -> np.ndarray:
    strings = np.asarray(strings, object)
    flat = [fn(bytes(s)) for s in strings.reshape(-1)]
    return _obj(flat, strings.shape) if dtype is object else np.array(flat, dtype).reshape(strings.shape)


def _same_shape(out_dtype: _dt.DType, what: str, takes: _dt.DType | None = _dt.string) -> Any:
    def rule(shapes, dtypes, attrs):
        if takes is not None and dtypes[0] != takes:
            raise ShapeError(f"{what} takes {takes.name} tensors, got {dtypes[0].name}")
        return [(shapes[0], out_dtype)]
    return rule


def _unary(op_type: str, fn_of_attrs: Any, out_dtype: _dt.DType = _dt.string) -> None:
    """Register an elementwise host op: `fn_of_attrs(attrs, op name)` gives bytes -> result."""
    def host(spec):
        fn = fn_of_attrs(spec.attrs, spec.name)
        return lambda strings: _map(fn, strings, object if out_dtype == _dt.string else out_dtype.np)
    register(op_type, _same_shape(out_dtype, op_type), host=host)


# -- splitting and joining -----------------------------------------------------------------------------
def string_split(source: TensorLike, sep: str | None = None, skip_empty: bool = True,
                 delimiter: str | None = None, result_type: str = "SparseTensor", name: str | None = None) -> Any:
    """Each string of a vector split at any of the characters of `delimiter` (default a space; "" splits
    into bytes), as a SparseTensor of dense shape (strings, most pieces); `skip_empty` drops empty pieces."""
    sep = delimiter if delimiter is not None else sep
    return _split(source, " " if sep is None else sep, "chars", skip_empty, result_type, name or "StringSplit")


def strings_split(input: TensorLike = None, sep: str | None = None, maxsplit: int = -1,  # noqa: A002
                  result_type: str = "SparseTensor", source: TensorLike = None, name: str | None = None) -> Any:
    """`tf.strings.split`: split at the whole string `sep` (every piece kept), or with `sep` None at runs of
    whitespace; at most `maxsplit` splits per string (-1: all)."""
    if (input is None) == (source is None):
        raise ValueError("tf.strings.split takes one of `input` and `source`")
    mode = "words" if sep is None else "exact"
    if sep == "":
        raise ValueError("tf.strings.split: sep must not be empty (None splits at whitespace)")
    return _split(input if source is None else source, sep or "", mode, False, result_type, name or "StringSplit",
                  int(maxsplit))


def _split(source, sep, mode, skip_empty, result_type, name, maxsplit=-1):
    from ..sparse import SparseTensor
    if result_type != "SparseTensor":
        raise ValueError(f"string split: result_type must be 'SparseTensor' (nnplug has no RaggedTensor), "
                         f"got {result_type!r}")
    if not isinstance(sep, (str, bytes)):
        raise TypeError(f"string split: the delimiter must be a string, got {type(sep).__name__}")
    with name_scope(name):
        source = _strings(source, "string_split")
        sep = sep.encode() if isinstance(sep, str) else sep
        attrs = {"sep": sep, "mode": mode, "skip_empty": bool(skip_empty), "maxsplit": maxsplit}
        # one op per part (indices, values, dense shape), each a single-output source op: the compiler
        # feeds a staged output of a multi-output op only when all its outputs are fed
        parts = [make("StringSplit", [source], {**attrs, "part": i}, name=f"StringSplit_{what}")
                 for i, what in enumerate(("indices", "values", "shape"))]
    return SparseTensor(*parts)


def _split_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string:
        raise ShapeError(f"string_split takes strings, got {dtypes[0].name}")
    if not shapes[0].unknown_rank and len(shapes[0]) != 1:
        raise ShapeError(f"string_split takes a vector of strings, got shape {fmt(shapes[0])}")
    return [[(TensorShape((None, 2)), _dt.int64), (TensorShape((None,)), _dt.string),
             (TensorShape((2,)), _dt.int64)][attrs["part"]]]


def _pieces(s: bytes, sep: bytes, mode: str, skip_empty: bool, maxsplit: int) -> list[bytes]:
    if mode == "words":
        return s.split(None, maxsplit)
    if mode == "exact":
        return s.split(sep, maxsplit)
    if not s:
        return []
    if not sep:
        parts = [s[i:i + 1] for i in range(len(s))]
    else:
        parts = re.split(b"[" + re.escape(sep) + b"]", s)
    return [p for p in parts if p] if skip_empty else parts


def _split_host(spec):
    sep, mode, skip, maxsplit = spec.attrs["sep"], spec.attrs["mode"], spec.attrs["skip_empty"], spec.attrs["maxsplit"]
    part = spec.attrs["part"]

    def split(strings):
        rows = [_pieces(bytes(s), sep, mode, skip, maxsplit) for s in np.asarray(strings, object).reshape(-1)]
        indices = [(i, j) for i, r in enumerate(rows) for j in range(len(r))]
        values = _obj([p for r in rows for p in r], (len(indices),))
        longest = max((len(r) for r in rows), default=0)
        return (np.array(indices, np.int64).reshape(-1, 2), values, np.array([len(rows), longest], np.int64))[part]
    return split


def string_join(inputs: Sequence[TensorLike], separator: str = "", name: str | None = None) -> Tensor:
    """The strings of `inputs` (same shapes, or scalars broadcast) joined elementwise with `separator`."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("string_join takes a non-empty list of string tensors")
    tensors = [_strings(x, "string_join") for x in inputs]
    return make("StringJoin", tensors, {"separator": _bytes(separator, "separator")}, name=name or "StringJoin")


def _bytes(s: Any, what: str) -> bytes:
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode()
    raise TypeError(f"{what} must be a string, got {type(s).__name__}")


def _join_rule(shapes, dtypes, attrs):
    if any(d != _dt.string for d in dtypes):
        raise ShapeError("string_join takes string tensors")
    out = TensorShape(())
    for shape in shapes:
        if not shape.unknown_rank and len(shape) == 0:
            continue  # scalars join with every element
        if not out.unknown_rank and len(out) and not shape.unknown_rank and len(shape) != len(out):
            raise ShapeError(f"string_join takes inputs of one shape (or scalars), got "
                             f"{', '.join(fmt(s) for s in shapes)}")
        out = shape if not out.unknown_rank and len(out) == 0 else broadcast(out, shape)
    return [(out, _dt.string)]


def _join_host(spec):
    sep = spec.attrs["separator"]

    def join(*parts):
        parts = np.broadcast_arrays(*[np.asarray(p, object) for p in parts])
        flat = [p.reshape(-1) for p in parts]
        return _obj([sep.join(bytes(x) for x in row) for row in zip(*flat)], parts[0].shape)
    return join


def reduce_join(inputs: TensorLike, axis: int | Sequence[int] | None = None, keep_dims: bool | None = None,
                separator: str = "", name: str | None = None, reduction_indices: Any = None,
                keepdims: bool | None = None) -> Tensor:
    """The strings joined with `separator` along `axis` (default: all axes), in index order."""
    axis = reduction_indices if axis is None else axis
    keep = bool(keepdims if keepdims is not None else keep_dims)
    inputs = _strings(inputs, "reduce_join")
    if isinstance(axis, Tensor):
        from .shape_values import constant_value
        value = constant_value(axis)
        if value is None:
            raise ValueError(f"reduce_join: axis '{axis.name}' must be a constant")
        axis = value.tolist()
    return make("ReduceJoin", [inputs], {"axis": axis, "keep_dims": keep, "separator": _bytes(separator, "separator")},
                name=name or "ReduceJoin")


def _reduce_axes(shape, axis):
    if axis is None:
        return tuple(range(len(shape)))
    return tuple(sorted(set(normalize_axis(axis, len(shape), "reduce_join axis"))))


def _reduce_join_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    if dtypes[0] != _dt.string:
        raise ShapeError(f"reduce_join takes strings, got {dtypes[0].name}")
    if shape.unknown_rank:
        return [(TensorShape(None), _dt.string)]
    axes = _reduce_axes(shape, attrs["axis"])
    dims = [1 if i in axes else d for i, d in enumerate(shape)] if attrs["keep_dims"] else \
        [d for i, d in enumerate(shape) if i not in axes]
    return [(TensorShape(dims), _dt.string)]


def _reduce_join_host(spec):
    axis, keep, sep = spec.attrs["axis"], spec.attrs["keep_dims"], spec.attrs["separator"]

    def join(strings):
        strings = np.asarray(strings, object)
        axes = _reduce_axes(strings.shape, axis)
        rest = [i for i in range(strings.ndim) if i not in axes]
        moved = np.transpose(strings, rest + list(axes))
        kept = moved.shape[:len(rest)]
        rows = moved.reshape(kept + (-1,)).reshape(-1, int(np.prod([strings.shape[a] for a in axes], dtype=int)))
        out = _obj([sep.join(bytes(x) for x in r) for r in rows], kept)
        if keep:
            out = out.reshape([1 if i in axes else d for i, d in enumerate(strings.shape)])
        return out
    return join


# -- elementwise ----------------------------------------------------------------------------------------
def string_strip(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """Leading and trailing whitespace removed."""
    return make("StringStrip", [_strings(input, "string_strip")], {}, name=name or "StringStrip")


def string_length(input: TensorLike, name: str | None = None, unit: str = "BYTE") -> Tensor:  # noqa: A002
    """Each string's length in bytes (unit "BYTE") or Unicode characters of its UTF-8 ("UTF8_CHAR")."""
    return make("StringLength", [_strings(input, "strings.length")], {"unit": _unit(unit)},
                name=name or "StringLength")


def _unit(unit: str) -> str:
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"unit must be 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    return unit


def _utf8_chars(s: bytes) -> int:
    return sum(1 for b in s if b & 0xC0 != 0x80)


def _case(op_type: str, what: str) -> Any:
    def fn(input: TensorLike, encoding: str = "", name: str | None = None) -> Tensor:  # noqa: A002
        if encoding not in ("", "utf-8"):
            raise ValueError(f"strings.{what}: encoding must be '' (ASCII letters only) or 'utf-8', got "
                             f"{encoding!r}")
        return make(op_type, [_strings(input, f"strings.{what}")], {"encoding": encoding}, name=name or op_type)
    fn.__name__ = fn.__qualname__ = what
    fn.__doc__ = f"Each string in {what} case: ASCII letters only, or with encoding 'utf-8' every letter."
    return fn


lower = _case("StringLower", "lower")
upper = _case("StringUpper", "upper")


def _case_fn(method):
    def of(attrs, name):
        if attrs["encoding"] == "utf-8":
            def utf8(s):
                try:
                    return getattr(s.decode("utf-8"), method)().encode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidArgumentError(f"op '{name}': {s!r:.60} is not valid UTF-8") from None
            return utf8
        return getattr(bytes, method)
    return of


_unary("StringStrip", lambda attrs, name: bytes.strip)
_unary("StringLower", _case_fn("lower"))
_unary("StringUpper", _case_fn("upper"))
_unary("StringLength", lambda attrs, name: len if attrs["unit"] == "BYTE" else _utf8_chars, _dt.int32)


def encode_base64(input: TensorLike, pad: bool = False, name: str | None = None) -> Tensor:  # noqa: A002
    """Web-safe base64 ('-' and '_' for '+' and '/'), with '=' padding only when `pad`."""
    return make("EncodeBase64", [_strings(input, "encode_base64")], {"pad": bool(pad)}, name=name or "EncodeBase64")


def decode_base64(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """Web-safe base64 decoded; padding is optional."""
    return make("DecodeBase64", [_strings(input, "decode_base64")], {}, name=name or "DecodeBase64")


def _encode_fn(attrs, name):
    pad = attrs["pad"]
    return lambda s: base64.urlsafe_b64encode(s) if pad else base64.urlsafe_b64encode(s).rstrip(b"=")


_WEB_SAFE = re.compile(rb"[A-Za-z0-9_-]*={0,2}")


def _decode_fn(attrs, name):
    def decode(s):
        if not _WEB_SAFE.fullmatch(s):
            raise InvalidArgumentError(f"Invalid character found in base64: {s!r:.60} (op '{name}'; web-safe "
                                       f"base64 uses '-' and '_')")
        body = s.rstrip(b"=")
        if len(body) % 4 == 1:
            raise InvalidArgumentError(f"Base64 string length cannot be 1 modulo 4: {s!r:.60} (op '{name}')")
        try:
            return base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        except binascii.Error as e:
            raise InvalidArgumentError(f"op '{name}': {s!r:.60} is not base64 ({e})") from None
    return decode


_unary("EncodeBase64", _encode_fn)
_unary("DecodeBase64", _decode_fn)


# -- substrings and regular expressions -------------------------------------------------------------------
def substr(input: TensorLike, pos: TensorLike, len: TensorLike, name: str | None = None,  # noqa: A002
           unit: str = "BYTE") -> Tensor:
    """The substring of each string from `pos` (negative: from the end) of at most `len` bytes or UTF-8
    characters; `pos` and `len` are scalars or of the strings' shape. A `pos` past the end is an error."""
    x = _strings(input, "substr")
    pos = convert_to_tensor(pos, dtype=_dt.int32) if not isinstance(pos, Tensor) else pos
    length = convert_to_tensor(len, dtype=pos.dtype)
    if not pos.dtype.is_integer:
        raise TypeError(f"substr: pos '{pos.name}' must be int32 or int64, got {pos.dtype.name}")
    return make("Substr", [x, pos, length], {"unit": _unit(unit)}, name=name or "Substr")


def _substr_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string:
        raise ShapeError(f"substr takes strings, got {dtypes[0].name}")
    out = shapes[0]
    for s in shapes[1:]:
        out = broadcast(out, s)
    return [(out, _dt.string)]


def _substr_host(spec):
    utf8, name = spec.attrs["unit"] == "UTF8_CHAR", spec.name

    def cut(strings, pos, length):
        strings, pos, length = np.broadcast_arrays(np.asarray(strings, object), np.asarray(pos), np.asarray(length))
        out = []
        for i, (s, p, n) in enumerate(zip(strings.reshape(-1), pos.reshape(-1).tolist(), length.reshape(-1).tolist())):
            s = bytes(s)
            units = s.decode("utf-8") if utf8 else s
            size = len(units)
            if p > size or p < -size:
                raise InvalidArgumentError(f"pos {p} out of range for string {s!r:.60} at index {i} (op '{name}')")
            p = p % size if p < 0 else p
            if n < 0:
                raise InvalidArgumentError(f"len {n} is negative for string {s!r:.60} at index {i} (op '{name}')")
            piece = units[p:p + n]
            out.append(piece.encode("utf-8") if utf8 else piece)
        return _obj(out, strings.shape)
    return cut



def regex_replace(input: TensorLike, pattern: str, rewrite: str, replace_global: bool = True,  # noqa: A002
                  name: str | None = None) -> Tensor:
    """Matches of `pattern` replaced by `rewrite` (`\\1` a group, `\\0` the whole match), every match or
    with `replace_global` False the first."""
    return make("RegexReplace", [_strings(input, "regex_replace")],
                {"pattern": _pattern(pattern, "regex_replace"), "rewrite": _bytes(rewrite, "rewrite"),
                 "global": bool(replace_global)}, name=name or "RegexReplace")


def regex_full_match(input: TensorLike, pattern: str, name: str | None = None) -> Tensor:  # noqa: A002
    """Whether each whole string matches `pattern`."""
    return make("RegexFullMatch", [_strings(input, "regex_full_match")],
                {"pattern": _pattern(pattern, "regex_full_match")}, name=name or "RegexFullMatch")


def _pattern(pattern: Any, what: str) -> bytes:
    if isinstance(pattern, Tensor):
        from .shape_values import constant_value
        value = constant_value(pattern)
        if value is None or np.ndim(value) != 0:
            raise ValueError(f"{what}: pattern '{pattern.name}' must be a constant scalar string")
        pattern = bytes(value.item() if hasattr(value, "item") else value)
    pattern = _bytes(pattern, f"{what} pattern")
    try:
        re.compile(pattern)
    except re.error as e:
        raise InvalidArgumentError(f"{what}: Invalid pattern: {pattern.decode(errors='replace')}, error: {e}") from None
    return pattern


def _regex_replace_fn(attrs, name):
    regex = re.compile(attrs["pattern"])
    rewrite = re.sub(rb"\\0", rb"\\g<0>", attrs["rewrite"])
    count = 0 if attrs["global"] else 1
    return lambda s: regex.sub(rewrite, s, count=count)


def _full_match_fn(attrs, name):
    regex = re.compile(attrs["pattern"])
    return lambda s: regex.fullmatch(s) is not None


_unary("RegexReplace", _regex_replace_fn)
_unary("RegexFullMatch", _full_match_fn, _dt.bool_)
register("StringSplit", _split_rule, host=_split_host, source=True)
register("StringJoin", _join_rule, host=_join_host)
register("ReduceJoin", _reduce_join_rule, host=_reduce_join_host)
register("Substr", _substr_rule, host=_substr_host)


# -- Unicode ---------------------------------------------------------------------------------------------
_ENCODINGS = {"UTF-8": "utf-8", "UTF-16-BE": "utf-16-be", "UTF-32-BE": "utf-32-be"}
_MARK = "\ud800"  # a lone surrogate: no valid text decodes to it, so it marks where the input was invalid


def _mark(error: UnicodeDecodeError) -> tuple[str, int]:
    return _MARK, error.end


codecs.register_error("nnplug_mark_invalid", _mark)


def unicode_decode(input: TensorLike, input_encoding: str, errors: str = "replace",  # noqa: A002
                   replacement_char: int = 0xFFFD, replace_control_characters: bool = False,
                   name: str | None = None) -> Tensor:
    """The code points (int32) of one string in `input_encoding`; invalid sequences are an error
    (`errors` 'strict'), skipped ('ignore') or `replacement_char` ('replace'), and with
    `replace_control_characters` so are U+0000-U+001F. Only a scalar input: for more, TF gives a
    RaggedTensor, which nnplug lacks."""
    if input_encoding not in _ENCODINGS:
        raise ValueError(f"unicode_decode: input_encoding must be one of {sorted(_ENCODINGS)}, got {input_encoding!r}")
    if errors not in ("strict", "replace", "ignore"):
        raise ValueError(f"unicode_decode: errors must be 'strict', 'replace' or 'ignore', got {errors!r}")
    if not isinstance(replacement_char, int) or not 0 <= replacement_char <= 0x10FFFF:
        raise ValueError(f"unicode_decode: replacement_char must be a code point, got {replacement_char!r}")
    x = _strings(input, "unicode_decode")
    if x.shape.unknown_rank or len(x.shape):
        raise NotImplementedError(f"unicode_decode of '{x.name}' (shape {fmt(x.shape)}): decoding more than one "
                                  f"string gives a RaggedTensor, which nnplug does not have; decode scalars "
                                  f"(e.g. in Dataset.map)")
    return make("UnicodeDecode", [x], {"encoding": _ENCODINGS[input_encoding], "errors": errors,
                                       "replacement": replacement_char, "controls": bool(replace_control_characters)},
                name=name or "UnicodeDecode")


def _decode_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string:
        raise ShapeError(f"unicode_decode takes strings, got {dtypes[0].name}")
    return [(TensorShape((None,)), _dt.int32)]


def _unicode_decode_host(spec):
    a, name = spec.attrs, spec.name
    drop = a["errors"] == "ignore"

    def decode(string):
        s = bytes(np.asarray(string, object)[()])
        text = s.decode(a["encoding"], errors="nnplug_mark_invalid")
        points = []
        for ch in text:
            bad = ch == _MARK or (a["controls"] and ord(ch) < 0x20)
            if bad and ch == _MARK and a["errors"] == "strict":
                raise InvalidArgumentError(f"Invalid formatting on input string {s!r:.60} (op '{name}')")
            if bad and drop:
                continue
            points.append(a["replacement"] if bad else ord(ch))
        return np.array(points, np.int32)
    return decode


register("UnicodeDecode", _decode_rule, host=_unicode_decode_host, source=True)
