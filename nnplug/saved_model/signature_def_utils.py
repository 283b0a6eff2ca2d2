"""`tf.saved_model.signature_def_utils`: SignatureDefs for TensorFlow Serving's predict, classify and
regress methods, with TF1's checks and messages."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import dtypes as _dt
from ..graph import Tensor
from . import signature_constants as sc
from .protos import SignatureDef, TensorInfo
from .utils import build_tensor_info

__all__ = ["build_signature_def", "classification_signature_def", "is_valid_signature", "predict_signature_def",
           "regression_signature_def"]


def build_signature_def(inputs: Mapping[str, TensorInfo] | None = None,
                        outputs: Mapping[str, TensorInfo] | None = None, method_name: str | None = None,
                        defaults: Any = None) -> SignatureDef:
    """A SignatureDef of TensorInfos (from `utils.build_tensor_info`) by key."""
    for side, items in (("inputs", inputs), ("outputs", outputs)):
        for key, info in (items or {}).items():
            if not isinstance(key, str) or not isinstance(info, TensorInfo):
                raise TypeError(f"build_signature_def: {side} must map names to TensorInfo (utils.build_tensor_info"
                                f"), got {key!r:.40}: {type(info).__name__}")
    return SignatureDef(inputs, outputs, method_name or "")


def _infos(side: str, tensors: Any) -> dict[str, TensorInfo]:
    if not tensors:
        raise ValueError(f"Prediction `{side}` cannot be None or empty.")
    if not isinstance(tensors, Mapping):
        raise TypeError(f"Prediction `{side}` must be a dict of names to tensors, got {type(tensors).__name__}")
    return {str(k): build_tensor_info(v) for k, v in tensors.items()}


def predict_signature_def(inputs: Mapping[str, Tensor], outputs: Mapping[str, Tensor]) -> SignatureDef:
    """Serving's predict method over named input and output tensors."""
    return SignatureDef(_infos("inputs", inputs), _infos("outputs", outputs), sc.PREDICT_METHOD_NAME)


def _check_dtype(tensor: Tensor, dtypes: tuple[_dt.DType, ...], message: str) -> None:
    if tensor.dtype not in dtypes:
        raise ValueError(f"{message} Found tensors with type {tensor.dtype.as_datatype_enum}.")


def classification_signature_def(examples: Tensor, classes: Tensor | None, scores: Tensor | None) -> SignatureDef:
    """Serving's classify method: serialized examples (a string tensor) in, class names and/or scores out."""
    if examples is None:
        raise ValueError("Classification `examples` cannot be None.")
    _check_dtype(examples, (_dt.string,), "Classification input tensors must be of type string.")
    if classes is None and scores is None:
        raise ValueError("Classification `classes` and `scores` cannot both be None.")
    outputs = {}
    if classes is not None:
        _check_dtype(classes, (_dt.string,), "Classification classes must be of type string.")
        outputs[sc.CLASSIFY_OUTPUT_CLASSES] = build_tensor_info(classes)
    if scores is not None:
        _check_dtype(scores, (_dt.float32,), "Classification scores must be a float32 Tensor.")
        outputs[sc.CLASSIFY_OUTPUT_SCORES] = build_tensor_info(scores)
    return SignatureDef({sc.CLASSIFY_INPUTS: build_tensor_info(examples)}, outputs, sc.CLASSIFY_METHOD_NAME)


def regression_signature_def(examples: Tensor, predictions: Tensor) -> SignatureDef:
    """Serving's regress method: serialized examples (a string tensor) in, float predictions out."""
    if examples is None:
        raise ValueError("Regression `examples` cannot be None.")
    _check_dtype(examples, (_dt.string,), "Regression input tensors must be of type string.")
    if predictions is None:
        raise ValueError("Regression `predictions` cannot be None.")
    _check_dtype(predictions, (_dt.float32,), "Regression output tensors must be of type float.")
    return SignatureDef({sc.REGRESS_INPUTS: build_tensor_info(examples)},
                        {sc.REGRESS_OUTPUTS: build_tensor_info(predictions)}, sc.REGRESS_METHOD_NAME)


def is_valid_signature(signature_def: SignatureDef) -> bool:
    """Whether the signature fits its method as Serving checks: predict needs inputs and outputs, classify
    one string input and string classes and/or float scores, regress one string input and float outputs."""
    if not isinstance(signature_def, SignatureDef):
        return False
    ins, outs, method = signature_def.inputs, signature_def.outputs, signature_def.method_name
    if not ins or not outs:
        return False
    string, float32 = _dt.string.as_datatype_enum, _dt.float32.as_datatype_enum
    if method == sc.PREDICT_METHOD_NAME:
        return True
    if method == sc.CLASSIFY_METHOD_NAME:
        kinds = {sc.CLASSIFY_OUTPUT_CLASSES: string, sc.CLASSIFY_OUTPUT_SCORES: float32}
    elif method == sc.REGRESS_METHOD_NAME:
        kinds = {sc.REGRESS_OUTPUTS: float32}
    else:
        return False
    key = sc.CLASSIFY_INPUTS if method == sc.CLASSIFY_METHOD_NAME else sc.REGRESS_INPUTS
    return (set(ins) == {key} and ins[key].dtype == string and set(outs) <= set(kinds)
            and all(outs[k].dtype == kinds[k] for k in outs))
