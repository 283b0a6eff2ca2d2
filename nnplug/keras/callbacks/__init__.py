"""`keras.callbacks`: hooks into fit, one module each as in Keras (base, history and the list fit drives;
EarlyStopping, ModelCheckpoint, the learning-rate callbacks, LambdaCallback, TerminateOnNaN, CSVLogger,
ProgbarLogger)."""
from __future__ import annotations

from .base import Callback, CallbackList, History  # noqa: F401
from .csv_logger import CSVLogger  # noqa: F401
from .early_stopping import EarlyStopping  # noqa: F401
from .lambda_callback import LambdaCallback  # noqa: F401
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau  # noqa: F401
from .model_checkpoint import ModelCheckpoint  # noqa: F401
from .progbar_logger import ProgbarLogger, format_logs, per_step  # noqa: F401
from .tensorboard import TensorBoard  # noqa: F401
from .terminate_on_nan import TerminateOnNaN  # noqa: F401

__all__ = ["Callback", "CallbackList", "History", "CSVLogger", "EarlyStopping", "LambdaCallback",
           "LearningRateScheduler", "ReduceLROnPlateau", "ModelCheckpoint", "ProgbarLogger", "TensorBoard", "TerminateOnNaN"]
