"""handwriting: write any text in realistic handwriting.

Graves (2013), "Generating Sequences With Recurrent Neural Networks", section 5: an attention
LSTM with Gaussian-mixture outputs, trained on online pen strokes.

    >>> import handwriting
    >>> hand = handwriting.load()                 # the shipped default model
    >>> hand.write("Hello, world!", seed=1).to_svg("hello.svg")

Importing the package is cheap: TensorFlow loads with the first model.
"""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is noise for users.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .version import __version__  # noqa: E402
from .errors import DatasetError, HandwritingError, UnknownCharacterError  # noqa: E402
from .writing.hand import Drawing, Hand, Style, load  # noqa: E402

__all__ = [
    "__version__",
    "load",
    "Hand",
    "Drawing",
    "Style",
    "HandwritingError",
    "DatasetError",
    "UnknownCharacterError",
]
