"""The training loop: a :class:`Trainer` that owns one run directory.

Each step runs the stepper's two compiled functions (:mod:`.steppers`); between them the loss
and gradient norm are checked on the host: a non-finite value stops training at once with a
clear message (:class:`TrainingDiverged`); the update is not applied, so the weights stay those
of the last good step, and they are saved as the latest checkpoint.

Logging: a progress line every ``log_every`` steps (loss in nats per point and per line,
gradient norm, learning rate, points/s, ETA), TensorBoard scalars (``logs/``), validation NLL
in Graves' units (nats per line, summed over points) and per point, and an attention plot
(``attention.png`` and a TensorBoard image).

Stopping: after ``steps`` steps or after ``max_minutes`` (both end with a validation and a
checkpoint), or on SIGINT/SIGTERM (the step in flight completes, a checkpoint is saved, then the
run returns); ``--resume`` continues exactly
(weights, optimizer state, step, data position, the weight average). With ``ema_decay`` a moving
average of the weights (:mod:`.ema`) is what validation judges and ``best/`` holds. Distribution: ``tf.distribute`` Mirrored /
MultiWorkerMirrored strategies on TensorFlow, Keras' ``DataParallel`` on JAX
(docs/training-howto.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from .. import checkpoint as ckpt
from ..alphabet import decode
from ..backend import enable_jax_compilation_cache
from ..config import ModelConfig, TrainConfig, replace
from ..datasets.format import load_dataset
from ..datasets.provenance import provenance_of
from ..errors import HandwritingError
from ..fileio import write_bytes_atomic
from .batches import Batch, PreparedData, prepare
from .ema import WeightAverage
from .monitor import (ATTENTION_PLOT, LOG_DIR, SignalFlag, Summaries, attention_figure_png, format_duration,
                      progress_line)
from .optim import apply_thread_settings, is_chief, learning_rate_at, make_optimizer, make_strategy, set_jax_data_parallel
from .steppers import make_stepper


#: The run's validations, one JSON line each (:func:`append_history`).
HISTORY_FILE = "history.jsonl"


class TrainingDiverged(HandwritingError):
    """The loss or the gradient norm became NaN or infinite."""


@dataclass
class TrainResult:
    """What a call to :func:`run_training` did."""

    step: int
    stopped_by: str  # "steps", "time", "signal"
    losses: dict = field(default_factory=dict)  # step -> training loss (nats per point)
    validation: dict = field(default_factory=dict)  # step -> (nats per line, nats per point)
    padded_fraction: float = 0.0
    points_per_second: float = 0.0


@dataclass
class RunState:
    """Where a run is: saved in ``training_state.npz`` beside the optimizer's variables. The
    data pipeline's randomness is a pure function of the seed and ``(epoch, batch_index)``."""

    step: int = 0
    epoch: int = 0
    batch_index: int = 0
    best_val: float = math.inf
    best_step: int = -1
    elapsed: float = 0.0  # wall seconds, over every chunk of the run
    cpu_seconds: float = 0.0  # this process' CPU seconds (all threads), over every chunk
    points_seen: int = 0  # real (unpadded) training points

    def arrays(self) -> dict:
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict) -> RunState:
        """The state saved by :meth:`arrays`; fields a run saved before they existed keep their defaults."""
        return cls(**{f.name: type(f.default)(arrays[f.name]) for f in dataclasses.fields(cls) if f.name in arrays})


def inherited_scale(init_from, resume_from: Path | None) -> tuple[str, float] | None:
    """``(source, scale)`` when a run uses a checkpoint's scale instead of its dataset's, else ``None``.

    A run started with ``--init-from`` keeps the scale of the weights it starts from (a dataset
    with other stroke statistics would otherwise rescale every input the network knows), and
    records that checkpoint as ``scale_from``; resuming such a run keeps both.
    """
    if resume_from is not None:
        saved = ckpt.read_config(resume_from)
        return (saved.scale_from, saved.scale) if saved.scale_from is not None else None
    if init_from is None:
        return None
    source = ckpt.resolve(init_from)
    return str(source), ckpt.read_config(source).scale


class Trainer:
    """Trains (or continues training) a synthesis network in one run directory.

    Args:
        data_path: a dataset file (:mod:`handwriting.datasets.format`).
        out_dir: the run directory; it becomes a checkpoint directory of the latest step.
        model_config, train_config: the configs (on resume, those read from the checkpoint).
        resume: continue from the newest checkpoint in ``out_dir``.
        init_from: start a new run (step 0, fresh optimizer, the warm-up again) from the weights
            of this checkpoint, whose model config must equal ``model_config``.
        log: where progress lines go (default stdout).
        on_step: called as ``on_step(step, loss)`` after every step (tests).
    """

    def __init__(self, data_path: str | os.PathLike, out_dir: str | os.PathLike, model_config: ModelConfig,
                 train_config: TrainConfig, *, resume: bool = False, init_from: str | os.PathLike | None = None,
                 log: TextIO | None = None, on_step: Callable[[int, float], None] | None = None):
        model_config.validate()
        train_config.validate()
        self.data_path, self.model_config, self.config = data_path, model_config, train_config
        self.init_from = init_from
        self.log, self.on_step = log or sys.stdout, on_step
        note = apply_thread_settings(train_config)
        if note:
            self.say(note)
        enable_jax_compilation_cache()
        self.strategy = make_strategy(train_config.distribute)
        self.out = self._run_directory(Path(out_dir))
        self.resume_from = self._checkpoint_to_resume(resume)
        self.out.mkdir(parents=True, exist_ok=True)
        self.data, self.scale_from, self.provenance = self._prepare_data()
        self._build_model()
        self.state = RunState()
        if init_from is not None and self.resume_from is None:
            self._load_initial_weights(init_from)
        self.average: WeightAverage | None = None
        if self.resume_from is not None:
            self._restore(self.resume_from)
        elif train_config.ema_decay > 0:
            self.average = WeightAverage(self.model.trainable_variables, train_config.ema_decay)
        self.stepper = make_stepper(self.model, self.optimizer, model_config, train_config, self.strategy)
        self.summaries = Summaries(self.out / LOG_DIR)
        # Validation batches are sorted by length: the middle one shows a typical line, not the shortest.
        data = self.data
        self.plot_batch = data.validation[len(data.validation) // 2] if data.validation else data.train.batch(0, 0)
        self.plot_text = decode(self.plot_batch.chars[0][self.plot_batch.char_mask[0] > 0])
        self.result = TrainResult(step=self.state.step, stopped_by="steps",
                                  padded_fraction=data.train.padded_fraction())
        self._saved_at, self._cpu_at = time.monotonic(), time.process_time()

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    # ------------------------------------------------------------------ setting up

    def _run_directory(self, out: Path) -> Path:
        if self.strategy is not None and not is_chief(self.strategy):
            # Multi-worker: only the chief writes the run directory; every other worker keeps its
            # own checkpoints (needed for its --resume) under workers/<index>/.
            return out / "workers" / str(self.strategy.cluster_resolver.task_id)
        return out

    def _checkpoint_to_resume(self, resume: bool) -> Path | None:
        latest = ckpt.latest_checkpoint(self.out)
        if resume and latest is None:
            raise HandwritingError(f"--resume: no checkpoint in {self.out}/{ckpt.CHECKPOINTS_DIR}")
        if not resume and latest is not None:
            raise HandwritingError(f"{self.out} already holds checkpoints: pass --resume to continue, or another --out")
        return latest if resume else None

    def _prepare_data(self) -> tuple[PreparedData, str | None, dict | None]:
        dataset = load_dataset(self.data_path)
        scale_from = None
        inherited = inherited_scale(self.init_from, self.resume_from)
        if inherited is not None:
            # The weights were trained on steps divided by that checkpoint's scale; keep its units.
            scale_from, scale = inherited
            dataset = dataclasses.replace(dataset, scale=scale)
        data = prepare(dataset, self.config)
        dropped = f", {data.dropped_long} over {self.config.max_points} points dropped" if data.dropped_long else ""
        self.say(f"data: {data.train_lines} training lines, {data.validation_lines} validation lines{dropped}; "
                 f"padded fraction {data.train.padded_fraction():.1%}; scale {data.scale:.4g}"
                 f"{f' (from {scale_from})' if scale_from is not None else ''}")
        return data, scale_from, provenance_of(dataset)

    def _build_model(self) -> None:
        from ..nn.model import build_model

        if self.config.distribute == "data_parallel":
            devices = set_jax_data_parallel(self.config.batch_size)
            self.say(f"distribute: data_parallel (JAX) over {devices} devices")
        scope = self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()
        with scope:
            self.model = build_model(self.model_config, seed=self.config.seed)
            self.optimizer = make_optimizer(self.config)
            self.optimizer.build(self.model.trainable_variables)
        if self.strategy is not None:
            self.say(f"distribute: {self.config.distribute} over {self.strategy.num_replicas_in_sync} replicas")

    def _load_initial_weights(self, init_from) -> None:
        source = ckpt.resolve(init_from)
        saved_model = ckpt.read_config(source).model
        same_but_width = {"training_loop": self.model_config.training_loop, "lstm_units": self.model_config.lstm_units}
        if replace(saved_model, same_but_width) != self.model_config:
            raise HandwritingError(f"--init-from {init_from}: its model config differs from this run's "
                                   "(only lstm_units may grow)")
        if saved_model.lstm_units == self.model_config.lstm_units:
            self.model.load_weights(str(source / ckpt.WEIGHTS_FILE))
            self.say(f"initialised from the weights of {source}")
            return
        from ..nn.model import load_model
        from ..nn.widen import widen_model

        narrow, _, _ = load_model(source)
        widen_model(narrow, self.model, seed=self.config.seed)
        self.say(f"initialised from the weights of {source}, widened from {saved_model.lstm_units} to "
                 f"{self.model_config.lstm_units} units a layer (Net2WiderNet: the same function)")

    def _restore(self, resume_from: Path) -> None:
        saved = ckpt.read_config(resume_from)
        if abs(saved.scale - self.data.scale) > 1e-9 * max(1.0, abs(self.data.scale)):
            raise HandwritingError(f"--resume: the dataset scale {self.data.scale:.6g} differs from the "
                                   f"checkpoint's {saved.scale:.6g}: is this the same dataset?")
        self.model.load_weights(str(resume_from / ckpt.WEIGHTS_FILE))
        arrays = ckpt.read_training_state(resume_from)
        ckpt.restore_optimizer(self.optimizer, arrays)
        self.state = RunState.from_arrays(arrays)
        s = self.state
        self.say(f"resumed from {resume_from} at step {s.step} (epoch {s.epoch}, batch {s.batch_index})")
        if self.config.ema_decay > 0:
            self.average = WeightAverage(self.model.trainable_variables, self.config.ema_decay, arrays)
            if not self.average.restored:
                self.say(f"weight average (decay {self.config.ema_decay:g}) starts at the weights of step {s.step}")

    # ------------------------------------------------------------------ checkpoints, validation, plots

    def record(self, **extra) -> ckpt.CheckpointConfig:
        """The checkpoint record of the current step."""
        s = self.state
        return ckpt.CheckpointConfig(
            self.model_config, self.config, self.data.scale, s.step, dataset=str(self.data_path),
            best_step=s.best_step, best_validation_nll_per_line=None if math.isinf(s.best_val) else s.best_val,
            scale_from=self.scale_from, provenance=self.provenance, **extra)

    def _update_clocks(self) -> None:
        """Add the wall and CPU time since the last update to the run's totals."""
        now, cpu = time.monotonic(), time.process_time()
        self.state.elapsed += now - self._saved_at
        self.state.cpu_seconds += cpu - self._cpu_at
        self._saved_at, self._cpu_at = now, cpu

    def save_latest(self) -> None:
        """A step checkpoint with the optimizer state, the run directory's files, rotation."""
        self._update_clocks()
        arrays = {**self.state.arrays(), **ckpt.optimizer_arrays(self.optimizer),
                  **(self.average.arrays() if self.average is not None else {})}
        record = self.record()
        step_dir = self.out / ckpt.CHECKPOINTS_DIR / ckpt.step_dir_name(self.state.step)
        ckpt.write_checkpoint_dir(step_dir, self.model, record, arrays)
        ckpt.write_run_files(self.out, self.model, record)
        ckpt.rotate(self.out, self.config.keep_checkpoints)

    def validate(self) -> None:
        """Validation NLL (of the weight average, where the run keeps one); a new best is written
        to ``best/``."""
        if not self.data.validation:
            return
        with self._averaged():
            self._validate()

    def _averaged(self):
        return self.average.swapped_in() if self.average is not None else contextlib.nullcontext()

    def _validate(self) -> None:
        per_line, per_point = self.stepper.evaluate(self.data.validation)
        step, s = self.state.step, self.state
        self.result.validation[step] = (per_line, per_point)
        self._update_clocks()
        self.say(f"step {step}: validation NLL {per_line:.1f} nats/line, {per_point:.4f} nats/point "
                 f"({s.cpu_seconds / 3600:.2f} CPU hours, {s.points_seen:.3g} points)")
        append_history(self.out, {"step": step, "nll_per_line": per_line, "nll_per_point": per_point,
                                  "cpu_hours": s.cpu_seconds / 3600, "wall_hours": s.elapsed / 3600,
                                  "points": s.points_seen, "lstm_units": self.model_config.lstm_units})
        self.summaries.scalars(step, {"validation/nll_per_line": per_line, "validation/nll_per_point": per_point})
        if per_line < self.state.best_val:
            self.state.best_val, self.state.best_step = per_line, step
            ckpt.write_checkpoint_dir(self.out / ckpt.BEST_DIR, self.model, self.record(
                validation_nll_per_line=per_line, validation_nll_per_point=per_point))

    def plot_attention(self) -> None:
        png = attention_figure_png(self.model, self.plot_batch, self.plot_text)
        write_bytes_atomic(self.out / ATTENTION_PLOT, png)
        self.summaries.image(self.state.step, "attention", png)

    # ------------------------------------------------------------------ the loop

    def train_step(self, batch: Batch) -> tuple[float, float, float]:
        """One optimizer step: ``(loss per point, summed loss, gradient norm)``; a non-finite
        loss or norm saves the last good weights and raises :class:`TrainingDiverged`."""
        loss_sum, norm, grads = self.stepper.gradients(batch)
        loss_sum, norm = float(loss_sum), float(norm)
        if not (math.isfinite(loss_sum) and math.isfinite(norm)):
            self.save_latest()
            what = "loss" if not math.isfinite(loss_sum) else "gradient norm"
            raise TrainingDiverged(
                f"non-finite {what} at step {self.state.step + 1} (loss {loss_sum}, gradient norm {norm}); the "
                f"update was not applied and the weights of step {self.state.step} are saved in {self.out}: lower "
                "the learning rate or clip_norm and --resume")
        self.stepper.apply(grads)
        if self.average is not None:
            self.average.update()
        return loss_sum / max(batch.points, 1), loss_sum, norm

    def run(self, max_minutes: float | None = None) -> TrainResult:
        """Train until ``steps``, ``max_minutes`` or a signal; save and return what happened."""
        cfg, s, result = self.config, self.state, self.result
        started = time.monotonic()
        meter = _Throughput()
        stream = self.data.train.iterate(s.epoch, s.batch_index)
        with SignalFlag() as flag:
            while s.step < cfg.steps:
                epoch, index, batch = next(stream)
                t0 = time.monotonic()
                loss, loss_sum, norm = self.train_step(batch)
                s.step += 1
                points = batch.points
                s.points_seen += points
                s.epoch, s.batch_index = (epoch, index + 1) if index + 1 < self.data.train.batches_per_epoch else (
                    epoch + 1, 0)
                result.losses[s.step] = loss
                if self.on_step is not None:
                    self.on_step(s.step, loss)
                meter.add(points, time.monotonic() - t0, first=s.step == 1 and cfg.steps > 1)
                if s.step % cfg.log_every == 0 or s.step == cfg.steps:
                    self._log_progress(meter, loss, loss_sum / max((batch.indices >= 0).sum(), 1), norm)
                self._periodic(meter)
                result.stopped_by = self._stop_reason(flag, started, max_minutes)
                if result.stopped_by != "steps":
                    break
            self._finish()
        result.points_per_second = meter.points_per_second
        self.say(f"stopped at step {result.step} ({result.stopped_by}); run directory {self.out}; "
                 f"{result.points_per_second:,.0f} points/s after the first step")
        return result

    def _log_progress(self, meter: _Throughput, loss: float, per_line: float, norm: float) -> None:
        step, cfg = self.state.step, self.config
        rate, steps_per_s = meter.window_rates()
        lr = float(learning_rate_at(step - 1, cfg))
        eta = format_duration((cfg.steps - step) / max(steps_per_s, 1e-9))
        self.say(progress_line(step, cfg.steps, loss, per_line, norm, lr, rate, eta))
        self.summaries.scalars(step, {"train/loss_per_point": loss, "train/gradient_norm": norm,
                                      "train/learning_rate": lr, "train/points_per_second": rate})
        meter.restart_window()

    def _periodic(self, meter: _Throughput) -> None:
        step, cfg = self.state.step, self.config
        if step % cfg.validation_every == 0:
            self.validate()
            self.plot_attention()
        if step % cfg.checkpoint_every == 0:
            self.save_latest()
        if step % cfg.validation_every == 0 or step % cfg.checkpoint_every == 0:
            meter.restart_window()  # points/s: training only

    def _stop_reason(self, flag: SignalFlag, started: float, max_minutes: float | None) -> str:
        step = self.state.step
        if flag.received is not None:
            self.say(f"received {flag.name}: saving step {step} and stopping")
            return "signal"
        if max_minutes is not None and time.monotonic() - started > 60.0 * max_minutes:
            self.say(f"--max-minutes {max_minutes} reached: saving step {step} and stopping")
            return "time"
        return "steps"

    def _finish(self) -> None:
        step, cfg, result = self.state.step, self.config, self.result
        # A budgeted chunk (--max-minutes) ends with a validation too, so that its best weights
        # are judged on what it trained; a signal asks for a prompt stop and gets only the save.
        if result.stopped_by in ("steps", "time") and step % cfg.validation_every != 0:
            self.validate()
            self.plot_attention()
        if not (self.out / ATTENTION_PLOT).exists():
            self.plot_attention()
        if step % cfg.checkpoint_every != 0 or result.stopped_by != "steps" or ckpt.latest_checkpoint(self.out) is None:
            self.save_latest()
        self.summaries.flush()
        result.step = step



class _Throughput:
    """Points per second: over the log window, and over the whole run after the first step."""

    def __init__(self):
        self.total_points, self.total_time = 0, 0.0
        self.restart_window()

    def restart_window(self) -> None:
        self.window_points, self.window_steps, self.window_start = 0, 0, time.monotonic()

    def add(self, points: int, seconds: float, first: bool) -> None:
        self.window_points += points
        self.window_steps += 1
        if not first:  # the first step includes tracing
            self.total_points += points
            self.total_time += seconds

    def window_rates(self) -> tuple[float, float]:
        span = max(time.monotonic() - self.window_start, 1e-9)
        return self.window_points / span, self.window_steps / span

    @property
    def points_per_second(self) -> float:
        return self.total_points / self.total_time if self.total_time else 0.0


def append_history(run_dir: Path, record: dict) -> None:
    """One validation as a JSON line of ``history.jsonl`` in the run directory: the run's learning
    curve against steps, points and CPU hours, across every resumed chunk (docs/training.md)."""
    with open(run_dir / HISTORY_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    """The validations of ``history.jsonl``, one per step (a step validated twice, after a resume,
    keeps its last line), in step order."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.exists():
        return []
    by_step = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            by_step[record["step"]] = record
    return [by_step[k] for k in sorted(by_step)]


def run_training(data_path: str | os.PathLike, out_dir: str | os.PathLike, model_config: ModelConfig,
                 train_config: TrainConfig, *, resume: bool = False, init_from: str | os.PathLike | None = None,
                 max_minutes: float | None = None, log: TextIO | None = None,
                 on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train (or continue training) a synthesis network: :class:`Trainer` ``(...).run(max_minutes)``."""
    trainer = Trainer(data_path, out_dir, model_config, train_config, resume=resume, init_from=init_from,
                      log=log, on_step=on_step)
    return trainer.run(max_minutes)
