"""`keras.preprocessing`: sequence padding (sequence.py) and word tokenizing (text.py) for text models."""
from . import sequence, text  # noqa: F401
