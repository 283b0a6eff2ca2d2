"""`keras.preprocessing`: sequence padding (sequence.py) and word tokenizing (text.py) for text models, image
augmentation (image.py)."""
from . import image, sequence, text  # noqa: F401
