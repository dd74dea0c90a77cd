"""Hyperparameters: :class:`ModelConfig` and :class:`TrainConfig`, with a JSON round-trip.

Both are plain dataclasses. They are written into every checkpoint directory (``config.json``)
and read back from there, so nothing is typed twice. The defaults of :class:`ModelConfig` are
Graves' synthesis network (section 5 of arXiv:1308.0850): three LSTM layers of 400 units,
a window of 10 Gaussians and 20 bivariate mixture components.

Named presets (``tiny``, ``small``, ``graves``) give both configs at once; a JSON file or
``key=value`` overrides then change single fields (``model.lstm_units=64``,
``train.batch_size=16``; a bare key is looked up in both and must name exactly one field).
Unknown keys are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .alphabet import VOCABULARY_SIZE
from .errors import HandwritingError

#: Window activations (eqs 48-51): Graves' ``exp`` or ``softplus``.
WINDOW_ACTIVATIONS = ("exp", "softplus")
#: How training runs layers 2 and 3: ``split`` (whole-sequence LSTM layers after the layer-1 +
#: window loop), ``fused`` (all layers inside one step loop, exactly as the sampler runs) or
#: ``auto``: fused on TensorFlow without a GPU, split elsewhere (the faster of the two as measured
#: in docs/performance.md; cuDNN on a TensorFlow GPU).
TRAINING_LOOPS = ("auto", "split", "fused")
OPTIMIZERS = ("adam", "rmsprop")
LR_DECAYS = ("none", "cosine", "exponential")
DISTRIBUTIONS = ("none", "mirrored", "multiworker", "data_parallel")


def _f(default: Any, help: str, **kw: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ModelConfig:
    """The synthesis network's shape (Graves 2013 section 5)."""

    lstm_units: int = _f(400, "H: units in each LSTM layer")
    lstm_layers: int = _f(3, "number of stacked LSTM layers (layer 1 feeds the window)")
    window_components: int = _f(10, "K: Gaussians in the attention window (eqs 46-51)")
    mixture_components: int = _f(20, "M: bivariate Gaussian mixture components (eqs 18-22)")
    vocabulary_size: int = _f(VOCABULARY_SIZE, "V: one-hot width of the characters, padding id 0 included")
    window_activation: str = _f("exp", "exp (Graves eqs 48-50) or softplus for a, b and the kappa step")
    kappa_step_scale: float = _f(
        0.04, "the kappa increment is scale * act(k_hat) (eq 51 with a fixed scale; 1/25 ~ one "
        "character per 25 points at initialisation)")
    training_loop: str = _f("auto", "split: layers 2..n as whole-sequence LSTMs; fused: all layers in the step "
                            "loop; auto: fused on TensorFlow without a GPU, else split")

    def validate(self) -> None:
        """Raise :class:`HandwritingError` for an impossible configuration."""
        for name in ("lstm_units", "lstm_layers", "window_components", "mixture_components", "vocabulary_size"):
            if getattr(self, name) < 1:
                raise HandwritingError(f"model.{name} must be at least 1, got {getattr(self, name)}")
        if self.window_activation not in WINDOW_ACTIVATIONS:
            raise HandwritingError(f"model.window_activation must be one of {WINDOW_ACTIVATIONS}")
        if self.training_loop not in TRAINING_LOOPS:
            raise HandwritingError(f"model.training_loop must be one of {TRAINING_LOOPS}")
        if not self.kappa_step_scale > 0:
            raise HandwritingError("model.kappa_step_scale must be positive")

    @property
    def output_size(self) -> int:
        """``1 + 6M``: pen-up logit, mixture logits, means, log std devs, correlations."""
        return 1 + 6 * self.mixture_components


@dataclass
class TrainConfig:
    """How the network is trained."""

    batch_size: int = _f(32, "sequences per (global) batch")
    steps: int = _f(100_000, "optimizer steps to train for (a resumed run continues up to this step)")
    optimizer: str = _f("adam", "adam, or rmsprop (Graves' centred RMSProp with momentum, eqs 39-42)")
    learning_rate: float = _f(1e-3, "peak learning rate")
    warmup_steps: int = _f(500, "linear learning-rate warm-up steps")
    lr_decay: str = _f("cosine", "after warm-up: none, cosine (to lr_min_fraction) or exponential")
    lr_min_fraction: float = _f(0.05, "cosine: final lr as a fraction of the peak")
    lr_decay_rate: float = _f(0.5, "exponential: factor per lr_decay_steps")
    lr_decay_steps: int = _f(20_000, "exponential: steps per decay factor")
    clip_norm: float = _f(10.0, "clip gradients to this global norm (0: no clipping)")
    ema_decay: float = _f(0.0, "keep a moving average of the weights, this much of it kept each step (e.g. "
                               "0.999); validation, best/ and so releases use the average (0: off)")
    jit_compile: bool = _f(False, "compile the train step with XLA (measured slower on CPU)")
    intra_op_threads: int = _f(
        1, "TensorFlow: threads inside one op (0: TensorFlow's default, one per core); 1 lets the time "
        "loop's small independent ops run side by side instead, measured faster on a 2-core CPU")
    validation_fraction: float = _f(0.05, "fraction of samples (whole writers) held out for validation")
    validation_every: int = _f(500, "steps between validation passes")
    validation_batches: int = _f(20, "at most this many validation batches per pass (0: all)")
    checkpoint_every: int = _f(500, "steps between 'latest' checkpoints")
    keep_checkpoints: int = _f(2, "latest checkpoints to keep (older ones are rotated out)")
    log_every: int = _f(10, "steps between progress lines and TensorBoard scalars")
    max_points: int = _f(1200, "drop training lines with more points than this (0: keep all)")
    bucket_batches: int = _f(50, "batches sorted by length together; larger: less padding, less randomness")
    pad_multiple: int = _f(16, "round padded lengths up to a multiple of this (fewer retraced shapes)")
    char_pad_multiple: int = _f(8, "round padded character counts up to a multiple of this (JAX and XLA "
                                "compile one step per shape: a GPU run sets it to the longest line's length)")
    augment: bool = _f(False, "random scale and slant of each line on the fly")
    augment_scale: float = _f(0.1, "augmentation: std of the log scale factor per axis")
    augment_shear: float = _f(0.1, "augmentation: std of the slant (dx += shear * dy)")
    seed: int = _f(0, "seed of initialisation, shuffling, split and augmentation")
    distribute: str = _f("none", "none, mirrored (local GPUs), multiworker (TF_CONFIG) or data_parallel (JAX, local devices)")

    def validate(self) -> None:
        """Raise :class:`HandwritingError` for an impossible configuration."""
        for name in ("batch_size", "steps", "validation_every", "checkpoint_every", "log_every",
                     "keep_checkpoints", "bucket_batches", "pad_multiple", "char_pad_multiple", "lr_decay_steps"):
            if getattr(self, name) < 1:
                raise HandwritingError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.optimizer not in OPTIMIZERS:
            raise HandwritingError(f"train.optimizer must be one of {OPTIMIZERS}")
        if self.lr_decay not in LR_DECAYS:
            raise HandwritingError(f"train.lr_decay must be one of {LR_DECAYS}")
        if self.distribute not in DISTRIBUTIONS:
            raise HandwritingError(f"train.distribute must be one of {DISTRIBUTIONS}")
        if not self.learning_rate > 0:
            raise HandwritingError("train.learning_rate must be positive")
        if not 0 <= self.validation_fraction < 1:
            raise HandwritingError("train.validation_fraction must be in [0, 1)")
        if not 0 <= self.ema_decay < 1:
            raise HandwritingError(f"train.ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.clip_norm < 0 or self.max_points < 0 or self.warmup_steps < 0 or self.intra_op_threads < 0:
            raise HandwritingError("train.clip_norm, max_points, warmup_steps and intra_op_threads must not be negative")


#: Named presets: (model overrides, train overrides) on top of the defaults.
PRESETS: dict[str, tuple[dict, dict]] = {
    "tiny": (
        # fused: measured faster than split for this size on CPU (36k vs 26k points/s, batch 32 x 700).
        dict(lstm_units=32, window_components=3, mixture_components=5, training_loop="fused"),
        dict(batch_size=8, learning_rate=3e-3, warmup_steps=20, validation_every=50, validation_batches=4,
             checkpoint_every=50, log_every=10, max_points=400),
    ),
    "small": (
        dict(lstm_units=128, window_components=5, mixture_components=10),
        dict(batch_size=32, learning_rate=2e-3, warmup_steps=200, validation_every=250, checkpoint_every=250),
    ),
    "graves": ({}, {}),
}


def preset(name: str) -> tuple[ModelConfig, TrainConfig]:
    """The named preset's ``(ModelConfig, TrainConfig)``."""
    if name not in PRESETS:
        raise HandwritingError(f"unknown config preset {name!r}; choose one of {', '.join(PRESETS)}")
    model, train = PRESETS[name]
    return ModelConfig(**model), TrainConfig(**train)


def to_dict(config: Any) -> dict:
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(config)


def _coerce(cls: type, name: str, value: Any) -> Any:
    kind = typing.get_type_hints(cls)[name]
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise HandwritingError(f"{cls.__name__}.{name}: expected true or false, got {value!r}")
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise HandwritingError(f"{cls.__name__}.{name}: expected {kind.__name__}, got {value!r}") from None


def from_dict(cls: type, values: dict) -> Any:
    """Build ``cls`` from a dict, rejecting unknown keys; missing keys keep their defaults."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise HandwritingError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    return cls(**{k: _coerce(cls, k, v) for k, v in values.items()})


def replace(config: Any, values: dict) -> Any:
    """A copy of ``config`` with ``values`` changed (unknown keys rejected)."""
    merged = to_dict(config)
    merged.update(values)
    return from_dict(type(config), merged)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(
    model: ModelConfig, train: TrainConfig, overrides: Iterable[str] = (), json_file: str | os.PathLike | None = None,
) -> tuple[ModelConfig, TrainConfig]:
    """Apply a JSON file (``{"model": {...}, "train": {...}}``) and then ``key=value`` overrides.

    Keys are ``model.<field>``, ``train.<field>`` or a bare ``<field>`` that exists in exactly
    one of the two. Unknown keys raise :class:`HandwritingError`.
    """
    changes: dict[str, dict] = {"model": {}, "train": {}}
    if json_file is not None:
        try:
            data = json.loads(Path(json_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise HandwritingError(f"cannot read config file {json_file}: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"model", "train"}:
            raise HandwritingError(f"config file {json_file} must hold an object with 'model' and/or 'train'")
        for part in ("model", "train"):
            changes[part].update(data.get(part, {}))
    model_names = {f.name for f in dataclasses.fields(ModelConfig)}
    train_names = {f.name for f in dataclasses.fields(TrainConfig)}
    for item in overrides:
        if "=" not in item:
            raise HandwritingError(f"override {item!r} is not of the form key=value")
        key, text = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if "." in key:
            part, name = key.split(".", 1)
            if part not in changes:
                raise HandwritingError(f"override {item!r}: prefix must be model. or train.")
        elif key in model_names and key not in train_names:
            part, name = "model", key
        elif key in train_names and key not in model_names:
            part, name = "train", key
        else:
            raise HandwritingError(f"unknown config key {key!r}")
        changes[part][name] = _parse_value(text)
    model = replace(model, changes["model"])
    train = replace(train, changes["train"])
    model.validate()
    train.validate()
    return model, train
