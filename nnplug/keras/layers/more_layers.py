"""The layers beyond the core, image and recurrent families, gathered for layers/__init__.py: 1-D
convolution and pooling, depthwise and separable convolution, cropping and other reshaping, the activation
layers, the noise layers, LayerNormalization, ActivityRegularization, and the recurrent cells with RNN."""
from . import config_kinds  # noqa: F401 - the field kinds saving/schema.py checks their configs with
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .convolutional1d import Conv1D, DepthwiseConv2D, SeparableConv2D
from .noise import AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .normalization_more import ActivityRegularization, LayerNormalization
from .pooling1d import AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D
from .recurrent_cells import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .reshaping1d import Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, ZeroPadding1D

MORE_LAYERS = (Conv1D, DepthwiseConv2D, SeparableConv2D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D,
               GlobalAveragePooling1D, UpSampling1D, ZeroPadding1D, Cropping1D, Cropping2D, Permute, RepeatVector,
               LeakyReLU, PReLU, ELU, ReLU, ThresholdedReLU, Softmax, GaussianNoise, GaussianDropout, AlphaDropout,
               SpatialDropout1D, SpatialDropout2D, LayerNormalization, ActivityRegularization, SimpleRNNCell,
               LSTMCell, GRUCell, StackedRNNCells, RNN)
# Keras's aliases
Convolution1D, SeparableConvolution2D, MaxPool1D, AvgPool1D = Conv1D, SeparableConv2D, MaxPooling1D, AveragePooling1D
GlobalMaxPool1D, GlobalAvgPool1D = GlobalMaxPooling1D, GlobalAveragePooling1D
__all__ = [c.__name__ for c in MORE_LAYERS] + ["Convolution1D", "SeparableConvolution2D", "MaxPool1D", "AvgPool1D",
                                               "GlobalMaxPool1D", "GlobalAvgPool1D"]
