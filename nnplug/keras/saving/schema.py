"""Validating a model file's configuration before anything is built from it, with jsonschema: an error names
the field by its path (`layers[1].config.units: expected a positive int, got None`) rather than surfacing as
a TypeError deep inside a layer. Each layer class lists its fields (`CONFIG_FIELDS`, in a small vocabulary of
field kinds defined here) and the ones it requires (`CONFIG_REQUIRED`)."""
from .. import activations
from .. import constraints as _constraints
from .. import regularizers as _regularizers
from ... import initializers as _initializers
from .. import layers as L
from .. import losses as _losses
from .. import optimizers as _optimizers
from .errors import ModelFileError

MAX_LAYERS = 10_000
MAX_DIM = 2 ** 31 - 1
_NUMBER = {"type": "number", "description": "a number"}
_NON_NEGATIVE = {"type": "number", "minimum": 0, "description": "a number >= 0"}


def _one_of(names):
    return ", ".join(names[:-1]) + " or " + names[-1]


def _penalty_object(classes, config_fields):
    """A regularizer's or constraint's {class_name, config} (Keras 3's module and registered_name allowed)."""
    return {"type": "object", "required": ["class_name", "config"], "additionalProperties": False,
            "properties": {"class_name": {"enum": sorted(classes), "description": _one_of(sorted(classes))},
                           "module": {}, "registered_name": {},
                           "config": {"type": "object", "properties": config_fields, "additionalProperties": False}}}


FIELD_KINDS = {
    "name": {"type": "string", "pattern": f"^{L.base.NAME_PATTERN}$",
             "description": "a name of letters, digits, '.', '_' and '-'"},
    "bool": {"type": "boolean", "description": "true or false"},
    "positive_int": {"type": "integer", "minimum": 1, "maximum": MAX_DIM, "description": "a positive int"},
    "shape": {"type": "array", "minItems": 1, "maxItems": 8,
              "items": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 1, "maximum": MAX_DIM}]},
              "description": "a shape: a list of positive ints or nulls"},
    "activation": {"enum": sorted(activations._BY_NAME), "description": "an activation name"},
    "initializer": {"anyOf": [{"enum": sorted(_initializers._BY_NAME)},
                              {"type": "object", "required": ["class_name", "config"], "additionalProperties": False,
                               "properties": {"class_name": {"type": "string"}, "config": {"type": "object"}}}],
                    "description": "an initializer name or {class_name, config}"},
    "rate": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "description": "a number in [0, 1)"},
    "seed": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0, "maximum": 2 ** 63 - 1}],
             "description": "null or a non-negative int"},
    "dtype": {"enum": ["float32"], "description": "'float32'"},
    "input_dtype": {"enum": list(L.base.INPUT_DTYPES), "description": _one_of(list(L.base.INPUT_DTYPES))},
    # -- the merge layers' and Lambda's fields (nnplug/keras/layers/merge.py, lambda_layer.py) --
    "dot_axes": {"anyOf": [{"type": "integer", "minimum": -8, "maximum": 8},
                           {"type": "array", "minItems": 2, "maxItems": 2,
                            "items": {"type": "integer", "minimum": -8, "maximum": 8}}],
                 "description": "an axis or a pair of axes"},
    "lambda_output_shape": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 8, "items": {
        "anyOf": [{"type": "null"}, {"type": "integer", "minimum": 1, "maximum": MAX_DIM}]}}],
                            "description": "null or a shape without the batch axis"},
    "scalar_arguments": {"type": "object", "maxProperties": 64,
                         "additionalProperties": {"type": ["number", "boolean", "string", "null"]},
                         "description": "an object of numbers, bools, strings or nulls"},
    "null": {"type": "null", "description": "null"},
    # -- convolution, pooling, normalisation, reshaping layers --
    "pair": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "integer", "minimum": 1,
                                                                     "maximum": MAX_DIM},
             "description": "two positive ints"},
    "padding": {"enum": ["valid", "same"], "description": "'valid' or 'same'"},
    "data_format": {"enum": ["channels_last", "channels_first"], "description": "'channels_last' or 'channels_first'"},
    "axis": {"type": "integer", "minimum": -8, "maximum": 8, "description": "an axis"},
    "fraction": {"type": "number", "minimum": 0, "maximum": 1, "description": "a number in [0, 1]"},
    "positive_number": {"type": "number", "exclusiveMinimum": 0, "description": "a positive number"},
    "target_shape": {"type": "array", "minItems": 1, "maxItems": 8,
                     "items": {"type": "integer", "minimum": -1, "maximum": MAX_DIM},
                     "description": "a shape: a list of positive ints (one may be -1)"},
    "padding2d": {"type": "array", "minItems": 2, "maxItems": 2,
                  "items": {"type": "array", "minItems": 2, "maxItems": 2,
                            "items": {"type": "integer", "minimum": 0, "maximum": MAX_DIM}},
                  "description": "[[top, bottom], [left, right]] of non-negative ints"},
    "interpolation": {"enum": ["nearest"], "description": "'nearest'"},
    # -- the recurrent layers' and Embedding's fields (nnplug/keras/layers/recurrent.py, embeddings.py) --
    "keras_initializer": {"anyOf": [{"enum": sorted(set(_initializers._BY_NAME) | {"orthogonal", "uniform"})},
                                    {"type": "object", "required": ["class_name", "config"],
                                     "additionalProperties": False,
                                     "properties": {"class_name": {"type": "string"}, "config": {"type": "object"},
                                                    "module": {}, "registered_name": {}, "shared_object_id": {}}}],
                          "description": "an initializer name (orthogonal too) or {class_name, config}"},
    "implementation": {"enum": [1, 2], "description": "1 or 2"},
    "use_cudnn": {"enum": ["auto", True, False], "description": "'auto', true or false"},
    "layer": {"type": "object", "required": ["class_name", "config"],
              "description": "a layer {class_name, config} (module, registered_name as Keras 3 writes them)",
              "properties": {"class_name": {"enum": sorted(L.LAYER_CLASSES), "description": "a known layer class"},
                             "config": {"type": "object", "description": "an object"}}},
    "merge_mode": {"enum": ["concat", "sum", "mul", "ave"], "description": "'concat', 'sum', 'mul' or 'ave'"},
    "number": {"type": "number", "description": "a number"},
    "optional_positive_int": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 1, "maximum": MAX_DIM}],
                              "description": "null or a positive int"},
    # -- end recurrent layers --
    "regularizer": {"anyOf": [{"type": "null"}, _penalty_object(_regularizers.CLASSES, {"l1": _NON_NEGATIVE,
                                                                                      "l2": _NON_NEGATIVE})],
                    "description": "null or a regularizer {class_name: L1, L2 or L1L2, config: {l1, l2}}"},
    "constraint": {"anyOf": [{"type": "null"}, _penalty_object(_constraints.CLASSES, {
        "max_value": _NUMBER, "min_value": _NUMBER, "rate": _NUMBER,
        "axis": {"anyOf": [{"type": "integer"}, {"type": "array", "maxItems": 8, "items": {"type": "integer"}}]}})],
                   "description": "null or a constraint {class_name: MaxNorm, NonNeg, UnitNorm or MinMaxNorm, "
                                  "config: {max_value, min_value, rate, axis}}"},
}
FIELD_KINDS.update(L.config_kinds.MORE_FIELD_KINDS)  # the fields of the layers in layers/more_layers.py


def _object(properties, required=(), description=None):
    schema = {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


def layer_config_schema(cls):
    fields = {}
    for klass in reversed(cls.__mro__):
        fields.update(getattr(klass, "CONFIG_FIELDS", {}))
    for prefix in getattr(cls, "PENALIZED", {}):
        fields.update({f"{prefix}_regularizer": "regularizer", f"{prefix}_constraint": "constraint"})
    return _object({k: FIELD_KINDS[kind] for k, kind in fields.items()}, getattr(cls, "CONFIG_REQUIRED", ()),
                   f"the config of a {cls.__name__} layer")


_LAYER_SPEC = _object({"class_name": {"enum": sorted(L.LAYER_CLASSES), "description": "a known layer class"},
                       "config": {"type": "object", "description": "an object"}}, ["class_name", "config"],
                      "a layer: {class_name, config}")
_INDEX = {"type": "integer", "minimum": 0, "maximum": 2 * MAX_LAYERS, "description": "a node index"}
_LAYERS = {"type": "array", "maxItems": MAX_LAYERS, "items": _LAYER_SPEC, "description": "a list of layers"}
SEQUENTIAL = _object({"name": FIELD_KINDS["name"], "layers": _LAYERS}, ["name", "layers"])
_NODE_LIST = {"type": "array", "minItems": 1, "maxItems": 256, "items": _INDEX, "description": "a list of node indices"}
FUNCTIONAL = _object({"name": FIELD_KINDS["name"], "layers": _LAYERS, "inputs": _NODE_LIST, "outputs": _NODE_LIST,
                      "input": _INDEX, "output": _INDEX,  # nnplug's files of one input and output, before 0.x
                      "nodes": {"type": "array", "maxItems": 2 * MAX_LAYERS, "description": "a list of nodes",
                                "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                          "prefixItems": [_INDEX, {"type": "array", "items": _INDEX,
                                                                   "maxItems": 256}],
                                          "description": "a node: [layer index, [input node indices]]"}}},
                     ["name", "layers", "nodes"])
MODEL = _object({"class_name": {"enum": ["Sequential", "Model"], "description": "'Sequential' or 'Model'"},
                 "config": {"type": "object", "description": "an object"}}, ["class_name", "config"])
_SCALAR = {"type": ["number", "boolean", "string", "null"], "description": "a number, bool, string or null"}
_LOSS = _object({"class_name": {"enum": sorted({c.__name__ for c in _losses._BY_NAME.values()}),
                                "description": "a built-in loss class"},
                 "config": {"type": "object", "additionalProperties": _SCALAR}}, ["class_name", "config"])
_METRIC_NAMES = {"type": "array", "maxItems": 64, "items": {"type": "string", "maxLength": 64},
                 "description": "a list of metric names"}
_BY_OUTPUT = {"type": "object", "maxProperties": 256, "propertyNames": FIELD_KINDS["name"]}
TRAINING = _object({
    "loss": {"anyOf": [_LOSS, {"type": "array", "maxItems": 256, "items": {"anyOf": [{"type": "null"}, _LOSS]}}],
             "description": "a loss {class_name, config}, or a list of them (null: an output not trained)"},
    "loss_weights": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 256, "items": _NUMBER}],
                     "description": "null or a list of numbers, one per output"},
    "metrics": {"anyOf": [_METRIC_NAMES, {**_BY_OUTPUT, "additionalProperties": _METRIC_NAMES}],
                "description": "a list of metric names, or lists of them by output name"},
    "optimizer": _object({"class_name": {"enum": sorted(c.__name__ for c in _optimizers._BY_NAME.values()),
                                         "description": "a built-in optimizer class"},
                          "config": {"type": "object", "additionalProperties": _SCALAR}}, ["class_name", "config"])},
    ["loss", "metrics", "optimizer"])


def _where(prefix, path):
    text = prefix
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _jsonschema():
    try:
        import jsonschema
    except ImportError:
        raise ImportError("loading a model file checks its config with jsonschema: pip install jsonschema") from None
    return jsonschema


def check(instance, schema, path, prefix=""):
    """Raise ModelFileError for the most relevant violation of `schema` by `instance`."""
    jsonschema = _jsonschema()
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if error is None:
        return instance
    where = _where(prefix, error.absolute_path)
    if error.validator == "required":
        problem = f"missing field {error.message.split(' is a required')[0]}"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        problem = f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)}"
    else:
        wanted = error.schema.get("description") or error.message
        problem = f"expected {wanted}, got {_short(error.instance)}"
    raise ModelFileError(path, f"{where}: {problem}")


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_model(spec, path):
    """The model spec {class_name, config}, every layer's config checked against its class's fields."""
    check(spec, MODEL, path)
    config = spec["config"]
    check(config, SEQUENTIAL if spec["class_name"] == "Sequential" else FUNCTIONAL, path)
    for i, layer in enumerate(config["layers"]):
        check(layer["config"], layer_config_schema(L.LAYER_CLASSES[layer["class_name"]]), path,
              f"layers[{i}].config")
    return spec
