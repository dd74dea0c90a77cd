"""The trained network's weights as plain NumPy arrays, read without TensorFlow, Keras or JAX.

Two sources, in this order:

* ``weights.npz`` (:data:`NUMPY_WEIGHTS_FILE`), written beside ``model.weights.h5`` at release
  time (:func:`write_numpy_weights`): NumPy reads it with nothing else to import. It records the
  SHA-256 of the ``.h5`` it was made from; when that no longer matches (the ``.h5`` was replaced),
  it is ignored and the ``.h5`` is read instead.
* ``model.weights.h5`` read directly with ``h5py`` (imported only then): checkpoints of training
  runs and releases made before the ``.npz`` existed.

Keras 3 saves a layer's variables under ``<path>/vars/0, 1, ...`` and writes the layer's name as
the ``name`` attribute of that ``vars`` group (``lstm1``, ``window_params``,
``mixture_output``); an LSTM layer's kernels sit in its ``cell/vars``. The arrays are found by
those names, so the order Keras happens to give the layers' paths does not matter; a file
without the attributes falls back to Keras' default paths (``layers/lstm``, ``layers/lstm_1``,
..., ``layers/gaussian_window/params``, ``layers/dense``).

Array names (``lstm1/kernel`` ``[I, 4H]``, ``lstm1/recurrent_kernel`` ``[H, 4H]``,
``lstm1/bias`` ``[4H]`` with Keras' gate order i, f, c, o; ``window_params/kernel`` ``[H, 3K]``
and ``/bias``; ``mixture_output/kernel`` ``[N H, 1 + 6M]`` and ``/bias``).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from ..config import ModelConfig
from ..errors import HandwritingError
from ..fileio import write_bytes_atomic

NUMPY_WEIGHTS_FILE = "weights.npz"
H5_WEIGHTS_FILE = "model.weights.h5"  # checkpoint.WEIGHTS_FILE
SOURCE_HASH_KEY = "source_sha256"
WINDOW_LAYER = "window_params"
OUTPUT_LAYER = "mixture_output"
LSTM_VARIABLES = ("kernel", "recurrent_kernel", "bias")
DENSE_VARIABLES = ("kernel", "bias")
#: Keras' default variable paths, for files written without layer names.
_DEFAULT_PATHS = {WINDOW_LAYER: "layers/gaussian_window/params/vars", OUTPUT_LAYER: "layers/dense/vars"}


def lstm_name(n: int) -> str:
    """The Keras name of LSTM layer ``n`` (0-based): ``lstm1``, ``lstm2``, ..."""
    return f"lstm{n + 1}"


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every array's name and shape for a model of ``config`` (see the module docstring)."""
    h, v, k = config.lstm_units, config.vocabulary_size, config.window_components
    shapes: dict[str, tuple[int, ...]] = {}
    for n in range(config.lstm_layers):
        inputs = 3 + v + (h if n else 0)
        shapes.update({f"{lstm_name(n)}/kernel": (inputs, 4 * h), f"{lstm_name(n)}/recurrent_kernel": (h, 4 * h),
                       f"{lstm_name(n)}/bias": (4 * h,)})
    shapes.update({f"{WINDOW_LAYER}/kernel": (h, 3 * k), f"{WINDOW_LAYER}/bias": (3 * k,),
                   f"{OUTPUT_LAYER}/kernel": (config.lstm_layers * h, config.output_size),
                   f"{OUTPUT_LAYER}/bias": (config.output_size,)})
    return shapes


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_h5_weights(path: str | os.PathLike, config: ModelConfig) -> dict[str, np.ndarray]:
    """The arrays of a Keras ``.weights.h5`` file by name (see the module docstring), float32."""
    try:
        import h5py
    except ImportError:
        raise HandwritingError(f"reading {path} needs h5py (pip install h5py), or a {NUMPY_WEIGHTS_FILE}") from None
    try:
        with h5py.File(path, "r") as f:
            named: dict[str, str] = {}

            def visit(name, obj):
                if isinstance(obj, h5py.Group) and name.endswith("vars") and "name" in obj.attrs:
                    layer = obj.attrs["name"]
                    named.setdefault(layer.decode() if isinstance(layer, bytes) else str(layer), name)

            f.visititems(visit)
            arrays = {}
            for n in range(config.lstm_layers):
                group = named.get(lstm_name(n))
                group = group[: -len("vars")] + "cell/vars" if group else (
                    f"layers/lstm{'_' + str(n) if n else ''}/cell/vars")
                arrays.update(_read_vars(f, group, lstm_name(n), LSTM_VARIABLES))
            for layer in (WINDOW_LAYER, OUTPUT_LAYER):
                arrays.update(_read_vars(f, named.get(layer, _DEFAULT_PATHS[layer]), layer, DENSE_VARIABLES))
    except OSError as exc:
        raise HandwritingError(f"cannot load weights from {path}: {exc}") from None
    check_shapes(arrays, config, path)
    return arrays


def _read_vars(f, group: str, layer: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    if group not in f:
        raise HandwritingError(f"no weights for layer {layer!r} in {f.filename}")
    out = {}
    for i, name in enumerate(names):
        if str(i) not in f[group]:
            raise HandwritingError(f"layer {layer!r} in {f.filename} lacks its {name}")
        out[f"{layer}/{name}"] = np.asarray(f[group][str(i)], np.float32)
    return out


def check_shapes(arrays: dict[str, np.ndarray], config: ModelConfig, source) -> None:
    """Raise :class:`HandwritingError` unless ``arrays`` holds every expected array with its shape."""
    for name, shape in expected_shapes(config).items():
        if name not in arrays:
            raise HandwritingError(f"{source}: no array {name!r} (does the checkpoint match its config?)")
        if tuple(arrays[name].shape) != shape:
            raise HandwritingError(f"{source}: {name} has shape {tuple(arrays[name].shape)}, the config says {shape}")


def read_numpy_weights(directory: str | os.PathLike, config: ModelConfig) -> dict[str, np.ndarray] | None:
    """The arrays of ``weights.npz`` when present and made from the directory's ``.h5``, else ``None``."""
    directory = Path(directory)
    path = directory / NUMPY_WEIGHTS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise HandwritingError(f"cannot load weights from {path}: {exc}") from None
    source = str(arrays.pop(SOURCE_HASH_KEY, ""))
    h5 = directory / H5_WEIGHTS_FILE
    if h5.is_file() and source != file_sha256(h5):
        return None  # stale: the .h5 was replaced after the release
    check_shapes(arrays, config, path)
    return {k: v.astype(np.float32, copy=False) for k, v in arrays.items()}


def load_weights(directory: str | os.PathLike, config: ModelConfig) -> dict[str, np.ndarray]:
    """The network's arrays from a checkpoint directory: ``weights.npz`` if current, else the ``.h5``."""
    arrays = read_numpy_weights(directory, config)
    if arrays is None:
        path = Path(directory) / H5_WEIGHTS_FILE
        if not path.is_file():
            raise HandwritingError(f"cannot load weights: {path} not found")
        arrays = read_h5_weights(path, config)
    return arrays


def write_numpy_weights(directory: str | os.PathLike, config: ModelConfig) -> Path:
    """Write ``weights.npz`` from the directory's ``model.weights.h5`` (atomically); return its path."""
    directory = Path(directory)
    h5 = directory / H5_WEIGHTS_FILE
    arrays = read_h5_weights(h5, config)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{SOURCE_HASH_KEY: np.array(file_sha256(h5))})
    write_bytes_atomic(directory / NUMPY_WEIGHTS_FILE, buffer.getvalue())
    return directory / NUMPY_WEIGHTS_FILE
