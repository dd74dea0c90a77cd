"""``handwriting train``: its options and how a run's configs are resolved.

One path sets a run's configs: a preset (or, on ``--resume``, the run's own checkpoint; with
``--init-from``, that checkpoint's network) -> an optional JSON file -> the per-field flags,
which mirror :class:`ModelConfig` and :class:`TrainConfig` field by field.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import checkpoint as ckpt
from ..config import PRESETS, ModelConfig, TrainConfig, apply_overrides, preset, replace
from ..dataclass_args import add_dataclass_arguments
from ..errors import HandwritingError
from .trainer import run_training

#: Exit status after a clean stop on SIGINT/SIGTERM (the checkpoint is saved).
EXIT_SIGNAL = 130


def changed_fields(before, after) -> list[str]:
    """Names of the dataclass fields whose values differ."""
    return sorted(k for k in type(before).__dataclass_fields__ if getattr(before, k) != getattr(after, k))


def resolve_configs(
    preset_name: str | None, json_file: str | None, flag_values: dict,
    resume_dir: str | os.PathLike | None = None, init_dir: str | os.PathLike | None = None,
) -> tuple[ModelConfig, TrainConfig]:
    """Configs for a run: the base (a preset, the run's checkpoint on resume, or the network of
    ``init_dir``), then a JSON file, then the flags. On resume the network cannot change; with
    ``init_dir`` only ``lstm_units`` may grow (the weights are widened, :mod:`handwriting.nn.widen`).
    ``training_loop`` may always change (the weights are the same). A preset or JSON given on
    resume must describe the run's own network, and anything else is refused by name."""
    latest = ckpt.latest_checkpoint(resume_dir) if resume_dir is not None else None
    named = preset(preset_name) if preset_name is not None else None
    if latest is not None:
        saved = ckpt.read_config(latest)
        model, train = saved.model, saved.train
        if named is not None or json_file is not None:
            asked, _ = apply_overrides(*(named or (model, train)), json_file=json_file)
            asked = replace(asked, {k: v for k, v in flag_values.items() if k in ModelConfig.__dataclass_fields__})
            _refuse_network_change(saved.model, asked, "--resume: the run was trained with another network")
        before = model
    elif init_dir is not None:
        # The network comes from the checkpoint; training settings from the preset and flags.
        model = ckpt.read_config(ckpt.resolve(init_dir)).model
        train = (named or preset("graves"))[1]
        before = model
    else:
        model, train = named or preset("graves")
        before = None
    model, train = apply_overrides(model, train, json_file=json_file)
    model = replace(model, {k: v for k, v in flag_values.items() if k in ModelConfig.__dataclass_fields__})
    train = replace(train, {k: v for k, v in flag_values.items() if k in TrainConfig.__dataclass_fields__})
    if before is not None:
        # --init-from may widen the network (Net2WiderNet, handwriting.nn.widen); --resume may not.
        widened = latest is None and model.lstm_units > before.lstm_units
        _refuse_network_change(replace(before, {"lstm_units": model.lstm_units}) if widened else before, model,
                               "the model config of the checkpoint cannot change (--init-from may only "
                               "raise lstm_units)")
    model.validate()
    train.validate()
    return model, train


def _refuse_network_change(saved: ModelConfig, asked: ModelConfig, message: str) -> None:
    changed = [k for k in changed_fields(saved, asked) if k != "training_loop"]
    if changed:
        differences = ", ".join(f"{k} {getattr(saved, k)!r} -> {getattr(asked, k)!r}" for k in changed)
        raise HandwritingError(f"{message} ({differences})")


def add_train_arguments(parser) -> None:
    """The options of ``handwriting train``."""
    parser.add_argument("--data", type=Path, required=True, metavar="DATA.npz", help="dataset file")
    parser.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                        help="run directory: checkpoints, config.json, weights, logs/, attention.png")
    parser.add_argument("--config", dest="config_name", metavar="NAME|FILE.json",
                        help=f"a preset ({', '.join(PRESETS)}; default graves) or a JSON file "
                             '{"model": {...}, "train": {...}} applied on top of the defaults')
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    parser.add_argument("--init-from", type=Path, metavar="CHECKPOINT",
                        help="start from this checkpoint's weights (fresh optimizer, step 0; e.g. checkpoints/default); "
                             "with a larger --lstm-units they are widened to compute the same function")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop cleanly (with a checkpoint) after this long")
    add_dataclass_arguments(parser, ModelConfig)
    add_dataclass_arguments(parser, TrainConfig)


def run_from_arguments(args) -> int:
    """Run ``handwriting train`` from parsed arguments; returns the exit status."""
    preset_name = json_file = None
    if args.config_name is not None:
        if args.config_name in PRESETS:
            preset_name = args.config_name
        elif args.config_name.endswith(".json") or Path(args.config_name).is_file():
            json_file = args.config_name
        else:
            raise HandwritingError(f"--config {args.config_name!r}: not a preset ({', '.join(PRESETS)}) nor a JSON file")
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise HandwritingError("--max-minutes must be positive")
    fields = {**ModelConfig.__dataclass_fields__, **TrainConfig.__dataclass_fields__}
    flag_values = {k: getattr(args, k) for k in fields if getattr(args, k, None) is not None}
    model, train = resolve_configs(preset_name, json_file, flag_values,
                                   resume_dir=args.out if args.resume else None, init_dir=args.init_from)
    result = run_training(args.data, args.out, model, train, resume=args.resume, init_from=args.init_from,
                          max_minutes=args.max_minutes)
    return EXIT_SIGNAL if result.stopped_by == "signal" else 0
