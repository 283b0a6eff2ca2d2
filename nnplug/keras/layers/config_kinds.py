"""The config-field kinds of the layers added in convolutional1d.py, pooling1d.py, reshaping1d.py,
advanced_activations.py, noise.py, normalization_more.py and recurrent_cells.py, as jsonschema fragments;
saving/schema.py merges them into its FIELD_KINDS."""
MAX_DIM = 2 ** 31 - 1
_INT = {"type": "integer", "minimum": 1, "maximum": MAX_DIM}
_NON_NEGATIVE_INT = {"type": "integer", "minimum": 0, "maximum": MAX_DIM}
_NON_NEGATIVE_PAIR = {"type": "array", "minItems": 2, "maxItems": 2, "items": _NON_NEGATIVE_INT}

MORE_FIELD_KINDS = {
    "one_int": {"type": "array", "minItems": 1, "maxItems": 1, "items": _INT, "description": "[a positive int]"},
    "padding1d": {"enum": ["valid", "same", "causal"], "description": "'valid', 'same' or 'causal'"},
    "pad_pair": {**_NON_NEGATIVE_PAIR, "description": "[before, after] of non-negative ints"},
    "pad_pairs": {"type": "array", "minItems": 2, "maxItems": 2, "items": _NON_NEGATIVE_PAIR,
                  "description": "[[top, bottom], [left, right]] of non-negative ints"},
    "non_negative_number": {"type": "number", "minimum": 0, "description": "a number >= 0"},
    "optional_non_negative_number": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0}],
                                     "description": "null or a number >= 0"},
    "axes": {"anyOf": [{"type": "integer", "minimum": -8, "maximum": 8},
                       {"type": "array", "minItems": 1, "maxItems": 8,
                        "items": {"type": "integer", "minimum": -8, "maximum": 8}}],
             "description": "an axis or a list of axes"},
    "optional_axes": {"anyOf": [{"type": "null"},
                                {"type": "array", "maxItems": 8, "items": {"type": "integer", "minimum": 1,
                                                                           "maximum": 8}}],
                      "description": "null or a list of non-batch axes"},
    "permutation": {"type": "array", "minItems": 1, "maxItems": 8,
                    "items": {"type": "integer", "minimum": 1, "maximum": 8},
                    "description": "a permutation of the non-batch axes 1..n"},
    "layer_list": {"type": "array", "minItems": 1, "maxItems": 64,
                   "items": {"type": "object", "required": ["class_name", "config"]},
                   "description": "a list of layers {class_name, config}"},
}
