"""Personal models: a person's weight deltas for the network, read and applied without TensorFlow.

A style made with adaptation (``handwriting style add --adapt``) names a personal model file
beside its ``NAME.json`` in the user's styles folder: ``NAME.<tag>.adapt.npz``. It holds, per
adapted array (named as :mod:`.weights` names them), either a full delta ``delta/<name>`` or
low-rank factors ``a/<name>``, ``b/<name>`` (delta ``= a @ b``), stored as float16, and the
SHA-256 of the base weights it was trained against (:data:`BASE_HASH_KEY`). The writing
network is the base arrays plus the deltas (:func:`apply_deltas`).

Replacing a style is atomic: a new personal model gets a new file name (``tag``), the style's
JSON (written atomically) is what points at it, and the file it pointed at before is removed
only after that (:func:`remove_stale`). A reader sees the old style or the new one, never half.

Shapes: arrays as in :func:`.weights.expected_shapes`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from ..config import ModelConfig
from ..errors import HandwritingError
from ..fileio import write_bytes_atomic
from .numpy_engine import NumpyNetwork
from .weights import H5_WEIGHTS_FILE, NUMPY_WEIGHTS_FILE, expected_shapes, file_sha256, load_weights

#: A personal model's file name ends so.
SUFFIX = ".adapt.npz"
FORMAT_VERSION = 1
BASE_HASH_KEY = "base_sha256"
INFO_KEY = "info"
VERSION_KEY = "format_version"
#: Stored precision of the deltas (float32 in use): half the file, and far below their size.
STORED_DTYPE = np.float16
#: Samplers of personal models kept per hand (the oldest is dropped first).
PERSONAL_CACHE = 4


def base_weights_hash(checkpoint: str | os.PathLike) -> str:
    """The SHA-256 naming a checkpoint's weights (of its ``.h5``, else of its ``weights.npz``)."""
    directory = Path(checkpoint)
    h5 = directory / H5_WEIGHTS_FILE
    return file_sha256(h5 if h5.is_file() else directory / NUMPY_WEIGHTS_FILE)


def save_personal_model(path: str | os.PathLike, deltas: dict[str, tuple[np.ndarray, ...]], base_hash: str,
                        info: dict | None = None) -> Path:
    """Write ``deltas`` (per name ``(D,)`` or ``(A, B)``) atomically to ``path``; returns it."""
    arrays: dict[str, np.ndarray] = {}
    for name, parts in deltas.items():
        if len(parts) == 1:
            arrays[f"delta/{name}"] = np.asarray(parts[0], STORED_DTYPE)
        else:
            arrays[f"a/{name}"], arrays[f"b/{name}"] = (np.asarray(p, STORED_DTYPE) for p in parts)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays, **{BASE_HASH_KEY: np.array(base_hash),
                                             VERSION_KEY: np.array(FORMAT_VERSION),
                                             INFO_KEY: np.array(json.dumps(info or {}))})
    write_bytes_atomic(Path(path), buffer.getvalue())
    return Path(path)


def load_personal_model(path: str | os.PathLike, config: ModelConfig) -> tuple[dict[str, np.ndarray], str, dict]:
    """``(full deltas by name (float32), base weights' hash, info)`` of a personal model file.

    Raises:
        HandwritingError: a missing or unreadable file, an unknown array, or a shape the model lacks.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            stored = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise HandwritingError(f"cannot read the personal model {path}: {exc.__class__.__name__}") from None
    if int(stored.pop(VERSION_KEY, -1)) != FORMAT_VERSION:
        raise HandwritingError(f"{path} is not a personal model of format {FORMAT_VERSION}")
    base_hash = str(stored.pop(BASE_HASH_KEY, ""))
    info = json.loads(str(stored.pop(INFO_KEY, "{}")))
    shapes = expected_shapes(config)
    deltas = {}
    for key, value in stored.items():
        kind, _, name = key.partition("/")
        if name not in shapes or kind not in ("delta", "a", "b"):
            raise HandwritingError(f"{path}: unknown array {key!r}")
        if kind == "delta":
            deltas[name] = value.astype(np.float32)
        elif kind == "a":
            deltas[name] = value.astype(np.float32) @ stored[f"b/{name}"].astype(np.float32)
        if kind != "b" and deltas[name].shape != shapes[name]:
            raise HandwritingError(f"{path}: {name} has shape {deltas[name].shape}, the model {shapes[name]}")
    return deltas, base_hash, info


def apply_deltas(arrays: dict[str, np.ndarray], deltas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The base ``arrays`` with ``deltas`` added (new arrays; the base ones are not changed)."""
    return {name: value + deltas[name] if name in deltas else value for name, value in arrays.items()}


def scale_deltas(deltas: dict[str, tuple[np.ndarray, ...]], strength: float) -> dict[str, tuple[np.ndarray, ...]]:
    """``deltas`` (per name ``(D,)`` or low-rank ``(A, B)``) times ``strength``: the network
    ``W_base + strength * D`` lies on the line from the base (0) to the adapted network (1), the
    weight-space interpolation of WiSE-FT (Wortsman et al. 2022). Measured: docs/adaptation.md."""
    if strength == 1.0:
        return deltas
    return {name: (parts[0] * strength, *parts[1:]) for name, parts in deltas.items()}


def new_model_path(folder: Path, style_name: str) -> Path:
    """A fresh personal model file name for ``style_name`` in ``folder`` (never an existing one)."""
    tag = os.urandom(4).hex()
    return folder / f"{style_name}.{tag}{SUFFIX}"


def remove_stale(folder: Path, style_name: str, keep: Path | None) -> list[Path]:
    """Remove ``style_name``'s personal model files in ``folder`` other than ``keep``; the files removed."""
    removed = []
    for path in sorted(folder.glob(f"{style_name}.*{SUFFIX}")):
        if path.name.count(".") == style_name.count(".") + 3 and (keep is None or path.name != keep.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def personal_network(checkpoint: str | os.PathLike | None, config: ModelConfig, path: str | os.PathLike,
                     style_name: str) -> NumpyNetwork:
    """The NumPy network of ``checkpoint``'s weights plus the personal model at ``path``.

    Raises:
        HandwritingError: no checkpoint, a missing or unreadable personal model, or one adapted
            to another model's weights.
    """
    from ..checkpoint import resolve

    if checkpoint is None:
        raise HandwritingError(f"style {style_name!r} needs its model's checkpoint directory")
    if not Path(path).is_file():
        raise HandwritingError(f"style {style_name!r}: its personal model {path} is missing")
    directory = resolve(checkpoint)
    deltas, base_hash, _ = load_personal_model(path, config)
    if base_hash != base_weights_hash(directory):
        raise HandwritingError(f"style {style_name!r} was adapted to another model than {checkpoint}: "
                               "write it with that model, or adapt it again")
    return NumpyNetwork(config, apply_deltas(load_weights(directory, config), deltas))


def prime_of(style) -> tuple[np.ndarray, str] | None:
    """What the sampler is primed with for ``style`` (a :class:`~.hand.Style` or ``None``): its ``(offsets, text)``; nothing for no style
    and for a style with a personal model, whose network is the hand (primed on top, the adapted
    network stalled for 2 of 10 writers, with the prime adapted on or not: docs/adaptation.md)."""
    if style is None or style.personal_model is not None:
        return None
    return style.offsets, style.text


def personal_sampler(cache: dict, checkpoint: str | os.PathLike | None, config: ModelConfig, style):
    """The NumPy sampler writing ``style`` (a :class:`~.hand.Style` with a personal model), from
    ``cache`` (keyed by the file and its time, so a replaced model is read again) or made."""
    from .numpy_sampler import NumpySampler

    path = Path(style.personal_model)
    key = (str(path), path.stat().st_mtime_ns if path.is_file() else 0)
    if key not in cache:
        network = personal_network(checkpoint, config, path, style.name)
        if len(cache) >= PERSONAL_CACHE:
            cache.pop(next(iter(cache)))
        cache[key] = NumpySampler(network)
    return cache[key]
