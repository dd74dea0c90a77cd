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
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .version import __version__
from .alphabet import alphabet_config, check_alphabet_config
from .config import ModelConfig, TrainConfig, from_dict, to_dict
from .errors import HandwritingError
from .fileio import atomic_directory, atomic_path, write_text_atomic

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
STATE_FILE = "training_state.npz"
STEP_DIR_PREFIX = "step-"
CHECKPOINTS_DIR = "checkpoints"
BEST_DIR = "best"


@dataclass
class CheckpointConfig:
    """What a checkpoint's ``config.json`` holds: the one typed record every reader and writer
    of that file goes through (:meth:`load`, :meth:`save`, :meth:`from_json`, :meth:`to_json`).

    Attributes:
        model, train: the network and training hyperparameters.
        scale: the dataset scale; sampled steps ``(dx, dy)`` are multiplied by it.
        step: the optimizer step of these weights.
        alphabet: :func:`~handwriting.alphabet.alphabet_config` of the weights' one-hot input.
        dataset: the dataset file it was trained on.
        scale_from: the checkpoint whose scale a run started with ``--init-from`` kept.
        best_step, best_validation_nll_per_line: the run's best validation so far.
        validation_nll_per_line, validation_nll_per_point: this checkpoint's validation NLL.
        default_style: the style a release writes with unless told otherwise.
        x_height: the handwriting's x-height in normalised units (sets the page size).
        piece_chars: lines longer than this are written in pieces of at most this many
            characters, joined on the page (a model trained on short lines loses its way past
            them); ``None``: whole lines.
        default_bias: the bias written with when none is given (chosen at the release: the
            lowest that meets the legibility targets); ``None``: the package's ``DEFAULT_BIAS``.
        provenance: where the training data came from: source, DOI, licence, attribution.
        release: how a release was made (source run, step, data, note, style selection).
    """

    model: ModelConfig
    train: TrainConfig
    scale: float
    step: int = 0
    alphabet: dict = field(default_factory=alphabet_config)
    format_version: int = FORMAT_VERSION
    package_version: str = __version__
    dataset: str | None = None
    scale_from: str | None = None
    best_step: int = -1
    best_validation_nll_per_line: float | None = None
    validation_nll_per_line: float | None = None
    validation_nll_per_point: float | None = None
    default_style: str | None = None
    x_height: float | None = None
    piece_chars: int | None = None
    default_bias: float | None = None
    provenance: dict | None = None
    release: dict | None = None

    def to_json(self) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["model"], values["train"] = to_dict(self.model), to_dict(self.train)
        values = {k: v for k, v in values.items() if v is not None}
        return json.dumps(values, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = CONFIG_FILE) -> CheckpointConfig:
        """Parse and check ``config.json`` text (format version, alphabet, known keys)."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HandwritingError(f"cannot read {where}: {exc}") from None
        if not isinstance(values, dict):
            raise HandwritingError(f"{where}: expected a JSON object")
        if values.get("format_version") != FORMAT_VERSION:
            raise HandwritingError(f"{where}: checkpoint format version {values.get('format_version')} is not "
                                   f"supported (this package reads {FORMAT_VERSION})")
        check_alphabet_config(values.get("alphabet", {}))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise HandwritingError(f"{where}: unknown keys {', '.join(unknown)}")
        for required in ("model", "train", "scale"):
            if required not in values:
                raise HandwritingError(f"{where}: no {required!r}")
        values["model"] = from_dict(ModelConfig, values["model"])
        values["train"] = from_dict(TrainConfig, values["train"])
        values["scale"] = float(values["scale"])
        return cls(**values)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> CheckpointConfig:
        """Read ``directory/config.json``."""
        path = Path(directory) / CONFIG_FILE
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise HandwritingError(f"{directory} is not a checkpoint directory (no {CONFIG_FILE})") from None
        except OSError as exc:
            raise HandwritingError(f"cannot read {path}: {exc}") from None
        return cls.from_json(text, str(path))

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``directory/config.json`` atomically."""
        write_text_atomic(Path(directory) / CONFIG_FILE, self.to_json())


def read_config(directory: str | os.PathLike) -> CheckpointConfig:
    """The checked :class:`CheckpointConfig` of a checkpoint directory."""
    return CheckpointConfig.load(directory)


def _write_weights(model, path: Path) -> None:
    with atomic_path(path, suffix=".weights.h5") as tmp:  # Keras insists on the ending
        model.save_weights(str(tmp))


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


def write_checkpoint_dir(directory: Path, model, config: CheckpointConfig,
                         training_state: dict | None = None) -> None:
    """Write a complete checkpoint directory atomically (:func:`~handwriting.fileio.atomic_directory`)."""
    with atomic_directory(directory) as tmp:
        model.save_weights(str(tmp / WEIGHTS_FILE))
        if training_state is not None:
            with open(tmp / STATE_FILE, "wb") as f:
                np.savez(f, **training_state)
        config.save(tmp)


def write_run_files(run_dir: Path, model, config: CheckpointConfig) -> None:
    """Make ``run_dir`` itself a checkpoint of the latest step (weights, then config, each atomic)."""
    _write_weights(model, Path(run_dir) / WEIGHTS_FILE)
    config.save(run_dir)


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
