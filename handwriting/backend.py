"""Importing the Keras backend quietly.

TensorFlow and XLA print start-up notices straight to file descriptor 2 (CUDA probing on a
machine without a GPU, absl's "log messages before InitializeLog"), before Python's logging
is set up. For a command-line tool those lines are noise around a one-line answer, so the
first import runs with descriptor 2 sent to a temporary file, which is printed if the import
fails.

Compiled samplers are cached on disk across processes (XLA's persistent compilation cache), so
only the first ``handwriting write`` on a machine pays the XLA compile (about 3 s on a 2-core
CPU). The cache lives in ``$HANDWRITING_XLA_CACHE`` if set (``off`` disables it), else in
``$XDG_CACHE_HOME/handwriting/xla`` (``~/.cache/handwriting/xla``); each compiled shape takes
about 1 MB. On the JAX backend the compiled training and validation steps go to its ``jax/``
subdirectory (JAX's own persistent cache), so a resumed run, or another run of the same
config, skips the minutes of compiling one step per padded length.
"""

from __future__ import annotations

import os
import sys
import tempfile

_ready = False

#: The environment variable that moves (or, set to ``off``, disables) the compilation cache.
CACHE_ENV = "HANDWRITING_XLA_CACHE"
_CACHE_FLAG = "--tf_xla_persistent_cache_directory"


def compilation_cache_dir() -> str | None:
    """Where XLA's compiled programs are kept between processes, or ``None`` when disabled."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else chosen
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "handwriting", "xla")


def enable_compilation_cache() -> None:
    """Point TensorFlow's XLA persistent cache at :func:`compilation_cache_dir` (before TF starts).

    Leaves ``TF_XLA_FLAGS`` alone when it already names a cache, and does nothing when the
    directory cannot be made (a read-only home): the cache is only a speed-up.
    """
    flags = os.environ.get("TF_XLA_FLAGS", "")
    directory = compilation_cache_dir()
    if directory is None or _CACHE_FLAG in flags:
        return
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return
    os.environ["TF_XLA_FLAGS"] = f"{flags} {_CACHE_FLAG}={directory}".strip()


def enable_jax_compilation_cache() -> str | None:
    """Point JAX's persistent compilation cache at ``compilation_cache_dir()/jax``; return it.

    Does nothing (returns ``None``) when the cache is off, when JAX is not the Keras backend,
    when ``JAX_COMPILATION_CACHE_DIR`` or JAX's config already names a cache (returns that one),
    or when the directory cannot be made. Call it before the first compilation.
    """
    import keras

    root = compilation_cache_dir()
    if root is None or keras.backend.backend() != "jax":
        return None
    import jax

    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    directory = os.path.join(root, "jax")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", directory)
    return directory


def import_backend() -> None:
    """Import Keras and its backend (and initialise TensorFlow's devices) without start-up noise."""
    global _ready
    if _ready:
        return
    if "tensorflow" not in sys.modules:
        enable_compilation_cache()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_logical_devices()  # device start-up prints here
            else:
                enable_jax_compilation_cache()
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    _ready = True
