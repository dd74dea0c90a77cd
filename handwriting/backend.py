"""Importing the Keras backend quietly.

TensorFlow and XLA print start-up notices straight to file descriptor 2 (CUDA probing on a
machine without a GPU, absl's "log messages before InitializeLog"), before Python's logging
is set up. For a command-line tool those lines are noise around a one-line answer, so the
first import runs with descriptor 2 sent to a temporary file, which is printed if the import
fails.
"""

from __future__ import annotations

import os
import sys
import tempfile

_ready = False


def import_backend() -> None:
    """Import Keras and its backend (and initialise TensorFlow's devices) without start-up noise."""
    global _ready
    if _ready:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_logical_devices()  # device start-up prints here
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    _ready = True
