"""handwriting: write any text in realistic handwriting.

Graves (2013), "Generating Sequences With Recurrent Neural Networks", section 5: an attention
LSTM with Gaussian-mixture outputs, trained on online pen strokes.
"""

__version__ = "0.1.0"

from .errors import DatasetError, HandwritingError, UnknownCharacterError  # noqa: E402

__all__ = ["__version__", "HandwritingError", "DatasetError", "UnknownCharacterError"]
