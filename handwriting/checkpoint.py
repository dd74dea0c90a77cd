"""Self-describing checkpoint directories.

A checkpoint directory holds

* ``config.json``: ``{"format_version", "model": ModelConfig, "train": TrainConfig,
  "alphabet": alphabet_config(), "scale": dataset scale, "step", ...}``,
* ``model.weights.h5``: the Keras weights (the same file loads on TensorFlow and on JAX),
* ``training_state.npz`` (training checkpoints only): step, data position ``(epoch,
  batch_index)``, best validation figure, elapsed time and the optimizer variables, for
  ``--resume``. The data pipeline's randomness is a pure function of the seed (in the config)
  and the position, and training draws no other random numbers, so this is the whole random state.

Directories are written atomically: everything goes into a temporary directory beside the
target, which is then renamed into place. A run directory (``handwriting train --out``) is
itself a checkpoint directory for the latest step (its ``config.json`` and weights are replaced
file by file, atomically) and holds ``checkpoints/step-NNNNNNNN/`` (rotated) and ``best/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .alphabet import alphabet_config, check_alphabet_config
from .config import ModelConfig, TrainConfig, from_dict, to_dict
from .errors import HandwritingError
from .fileio import default_file_mode, write_text_atomic

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
STATE_FILE = "training_state.npz"
STEP_DIR_PREFIX = "step-"
CHECKPOINTS_DIR = "checkpoints"
BEST_DIR = "best"


def config_dict(model_config: ModelConfig, train_config: TrainConfig, scale: float, step: int, **extra) -> dict:
    """The content of ``config.json``."""
    return {
        "format_version": FORMAT_VERSION,
        "model": to_dict(model_config),
        "train": to_dict(train_config),
        "alphabet": alphabet_config(),
        "scale": float(scale),
        "step": int(step),
        "package_version": __version__,
        **extra,
    }


def read_config(directory: str | os.PathLike) -> dict:
    """Read and check ``config.json`` of a checkpoint directory (format version, alphabet)."""
    path = Path(directory) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise HandwritingError(f"{directory} is not a checkpoint directory (no {CONFIG_FILE})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise HandwritingError(f"cannot read {path}: {exc}") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise HandwritingError(f"{path}: checkpoint format version {config.get('format_version')} is not "
                               f"supported (this package reads {FORMAT_VERSION})")
    check_alphabet_config(config.get("alphabet", {}))
    return config


def configs_from(config: dict) -> tuple[ModelConfig, TrainConfig]:
    """The dataclasses stored in a ``config.json`` dict."""
    return from_dict(ModelConfig, config["model"]), from_dict(TrainConfig, config["train"])


def _default_mode(directory: bool = False) -> int:
    """Permissions a plain ``open``/``mkdir`` would give (temporary files are created private)."""
    return default_file_mode(directory)


def _write_weights(model, path: Path) -> None:
    # Keras insists on the ".weights.h5" ending, so the temporary name keeps it.
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp.weights.h5"
    try:
        model.save_weights(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def optimizer_arrays(optimizer) -> dict:
    """The optimizer's variables as ``{"opt/000": array, ...}`` plus their paths."""
    arrays = {f"opt/{i:03d}": np.asarray(v) for i, v in enumerate(optimizer.variables)}
    arrays["opt_paths"] = np.array([v.path for v in optimizer.variables], dtype=np.str_)
    return arrays


def restore_optimizer(optimizer, state: dict) -> None:
    """Assign saved optimizer variables (the optimizer must be built on the same model)."""
    paths = [str(p) for p in state["opt_paths"]]
    if len(paths) != len(optimizer.variables):
        raise HandwritingError(f"saved optimizer has {len(paths)} variables, this one {len(optimizer.variables)}: "
                               "was the optimizer or the model changed?")
    for i, v in enumerate(optimizer.variables):
        value = state[f"opt/{i:03d}"]
        if tuple(value.shape) != tuple(v.shape):
            raise HandwritingError(f"optimizer variable {v.path}: saved shape {value.shape}, expected {v.shape}")
        v.assign(value)


def write_checkpoint_dir(directory: Path, model, config: dict, training_state: dict | None = None) -> None:
    """Write a complete checkpoint directory atomically (temporary directory, then rename).

    An existing ``directory`` is replaced: it is renamed aside first and removed afterwards.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        os.chmod(tmp, _default_mode(directory=True))
        model.save_weights(str(tmp / WEIGHTS_FILE))
        if training_state is not None:
            with open(tmp / STATE_FILE, "wb") as f:
                np.savez(f, **training_state)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        replace_directory(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_directory(new: Path, directory: Path) -> None:
    """Move the finished directory ``new`` to ``directory``, replacing it (renamed aside, then removed)."""
    old = None
    if directory.exists():
        old = directory.parent / f".{directory.name}.old-{os.getpid()}"
        os.replace(directory, old)
    os.replace(new, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_run_files(run_dir: Path, model, config: dict) -> None:
    """Make ``run_dir`` itself a checkpoint of the latest step (weights, then config, each atomic)."""
    _write_weights(model, Path(run_dir) / WEIGHTS_FILE)
    write_text_atomic(Path(run_dir) / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    os.chmod(Path(run_dir) / CONFIG_FILE, _default_mode())


def step_dirs(run_dir: str | os.PathLike) -> list[Path]:
    """Complete step checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(STEP_DIR_PREFIX)
            and (p / CONFIG_FILE).is_file() and (p / STATE_FILE).is_file()]
    return sorted(dirs, key=lambda p: int(p.name[len(STEP_DIR_PREFIX):]))


def step_dir_name(step: int) -> str:
    return f"{STEP_DIR_PREFIX}{step:08d}"


def rotate(run_dir: str | os.PathLike, keep: int) -> None:
    """Remove all but the ``keep`` newest step checkpoints, and stale temporary directories."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    for old in step_dirs(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    if root.is_dir():
        for stale in root.iterdir():
            if stale.name.startswith(".") and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete step checkpoint of a run, or None."""
    dirs = step_dirs(run_dir)
    return dirs[-1] if dirs else None


def read_training_state(directory: str | os.PathLike) -> dict:
    """The arrays of ``training_state.npz``."""
    path = Path(directory) / STATE_FILE
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise HandwritingError(f"cannot read training state {path}: {exc}") from None


def resolve(checkpoint_dir: str | os.PathLike) -> Path:
    """A directory holding config and weights: the directory itself, or a run's latest step."""
    path = Path(checkpoint_dir)
    if (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise HandwritingError(f"{checkpoint_dir} is not a checkpoint directory (no {CONFIG_FILE} and {WEIGHTS_FILE})")
    return latest


def load_model(checkpoint_dir: str | os.PathLike, training_loop: str | None = None):
    """Load a checkpoint for writing or evaluation.

    Args:
        checkpoint_dir: a checkpoint directory, or a run directory.
        training_loop: optionally override ``ModelConfig.training_loop`` (weights are the same).

    Returns:
        ``(model, config, scale)``: a built :class:`~handwriting.model.SynthesisModel` with the
        saved weights, the ``config.json`` dict and the dataset scale (multiply sampled offsets by it).
    """
    from .model import build_model

    directory = resolve(checkpoint_dir)
    config = read_config(directory)
    model_config, _ = configs_from(config)
    if training_loop is not None:
        model_config.training_loop = training_loop
    model = build_model(model_config)
    try:
        model.load_weights(str(directory / WEIGHTS_FILE))
    except (OSError, ValueError) as exc:
        raise HandwritingError(f"cannot load weights from {directory / WEIGHTS_FILE}: {exc}") from None
    return model, config, float(config["scale"])
