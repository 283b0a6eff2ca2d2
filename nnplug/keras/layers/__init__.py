"""`keras.layers`: the layer base (base.py), the core layers (core.py), and the by-name look-up a saved model
uses. Each family of layers has its own module; `deserialize` knows the classes listed in LAYER_CLASSES."""
from __future__ import annotations

from typing import Any

from .base import Input, InputLayer, KerasTensor, Layer, _auto_name  # noqa: F401
from .core import Activation, Dense, Dropout, Flatten  # noqa: F401
# -- convolution, pooling, normalisation, reshaping --
from .convolutional import Conv2D, Conv2DTranspose  # noqa: F401
from .normalization import BatchNormalization  # noqa: F401
from .pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D  # noqa: F401
from .reshaping import Reshape, UpSampling2D, ZeroPadding2D  # noqa: F401

_IMAGE_LAYERS = (Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
                 BatchNormalization, Reshape, ZeroPadding2D, UpSampling2D)
Convolution2D, MaxPool2D, AvgPool2D = Conv2D, MaxPooling2D, AveragePooling2D  # Keras's aliases
# -- end convolution block --

from .embeddings import Embedding  # noqa: F401
from .recurrent import GRU, LSTM, Bidirectional, Masking, SimpleRNN, TimeDistributed  # noqa: F401
# -- merge layers and Lambda --
from .merge import (MERGE_LAYERS, Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,  # noqa: F401
                    add, average, concatenate, dot, maximum, minimum, multiply, subtract)
from .lambda_layer import Lambda  # noqa: F401
# -- end merge layers --
# -- 1-D convolution, activation, noise, normalisation layers and recurrent cells --
from .more_layers import MORE_LAYERS
from .more_layers import *  # noqa: F401,F403

LAYER_CLASSES = {c.__name__: c for c in (InputLayer, Dense, Activation, Dropout, Flatten, Embedding, SimpleRNN,
                                         LSTM, GRU, Bidirectional, TimeDistributed, Masking) + _IMAGE_LAYERS
                 + MORE_LAYERS}
LAYER_CLASSES.update({c.__name__: c for c in MERGE_LAYERS + (Lambda,)})  # type: ignore[misc] # merge.py, lambda_layer.py


def deserialize(spec: dict[str, Any]) -> Layer:
    cls = LAYER_CLASSES.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class '{spec['class_name']}' in a saved model "
                         f"(known: {', '.join(sorted(LAYER_CLASSES))})")
    return cls.from_config(spec["config"])
