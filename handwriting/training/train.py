"""Training: the compiled train step, the loop, checkpoints, resume, logging.

One optimizer step is two compiled functions (``tf.function``, XLA when
``TrainConfig.jit_compile``):

1. ``gradients``: the loss (eq 26, masked, summed over the batch and divided by the number of
   real points, i.e. nats per point) and its gradients, clipped to ``TrainConfig.clip_norm``
   global norm; it returns the summed NLL and the gradient norm;
2. ``apply``: the optimizer update.

Between the two, the loss and gradient norm are checked on the host: a non-finite value stops
training at once with a clear message (:class:`TrainingDiverged`); the update is not applied,
so the weights stay those of the last good step, and they are saved as the latest checkpoint.
Nothing is masked away.

Logging: a progress line every ``log_every`` steps (loss in nats per point and per line,
gradient norm, learning rate, points/s, ETA), TensorBoard scalars (``logs/``), validation NLL
in Graves' units (nats per line, summed over points) and per point, and an attention plot
(``attention.png`` and a TensorBoard image).

On the JAX backend (``KERAS_BACKEND=jax``) :class:`JaxStepper` provides the same two
functions with ``jax.jit`` over ``model.stateless_call`` and ``optimizer.stateless_apply``; the
rest of the loop is shared. Distribution: ``tf.distribute`` Mirrored / MultiWorkerMirrored
strategies on TensorFlow, Keras' ``DataParallel`` on JAX (see docs/training-howto.md).

Stopping: after ``steps`` steps, after ``max_minutes``, or on SIGINT/SIGTERM (the step in
flight completes, a checkpoint is saved, then the run returns); ``--resume`` continues exactly
(weights, optimizer state, step, data position).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from . import checkpoint as ckpt
from .alphabet import decode
from .backend import enable_jax_compilation_cache
from .config import ModelConfig, TrainConfig, replace
from .data import Batch, PreparedData, prepare
from .datasets.format import load_dataset
from .errors import HandwritingError

ATTENTION_PLOT = "attention.png"
LOG_DIR = "logs"
#: Graves' RMSProp (section 4, eqs 38-41): decay 0.95, momentum 0.9, epsilon 1e-4, centred.
GRAVES_RMSPROP = dict(rho=0.95, momentum=0.9, epsilon=1e-4, centered=True)


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


# ------------------------------------------------------------------ learning rate and optimizer


def learning_rate_at(step, config: TrainConfig):
    """Warm-up then decay, as a function of the (0-based) optimizer step; works on tensors and floats."""
    from keras import ops

    step = ops.cast(step, "float32")
    peak = config.learning_rate
    warm = ops.minimum(1.0, (step + 1.0) / max(config.warmup_steps, 1)) if config.warmup_steps else 1.0
    after = ops.maximum(step - config.warmup_steps, 0.0)
    if config.lr_decay == "cosine":
        span = max(config.steps - config.warmup_steps, 1)
        progress = ops.minimum(after / span, 1.0)
        floor = config.lr_min_fraction
        decay = floor + (1.0 - floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
    elif config.lr_decay == "exponential":
        decay = ops.power(config.lr_decay_rate, after / config.lr_decay_steps)
    else:
        decay = 1.0
    return peak * warm * decay


def make_optimizer(config: TrainConfig):
    """Adam or Graves' RMSProp with the warm-up/decay schedule."""
    import keras

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return learning_rate_at(step, config)

        def get_config(self):
            return {}

    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=Schedule())
    return keras.optimizers.RMSprop(learning_rate=Schedule(), **GRAVES_RMSPROP)


# ------------------------------------------------------------------ distribution


def make_strategy(name: str):
    """The ``tf.distribute`` strategy for ``TrainConfig.distribute`` (None for a single device)."""
    import keras

    if name == "data_parallel":
        if keras.backend.backend() != "jax":
            raise HandwritingError("--distribute data_parallel needs the JAX backend (KERAS_BACKEND=jax)")
        return None  # set up by set_jax_data_parallel()
    if name == "none":
        return None
    if keras.backend.backend() != "tensorflow":
        raise HandwritingError(f"--distribute {name} needs the TensorFlow backend")
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise HandwritingError("--distribute multiworker needs TF_CONFIG (see docs/training-howto.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise HandwritingError(f"distribute={name!r} is not available with the TensorFlow backend")


def set_jax_data_parallel(batch_size: int) -> int:
    """JAX: Keras' ``DataParallel`` distribution over all local devices; returns their number.

    Variables are replicated; each batch is sharded along its first axis and XLA inserts the
    gradient all-reduce, so one step equals the single-device step on the same global batch.
    """
    import keras

    devices = keras.distribution.list_devices()
    if batch_size % len(devices):
        raise HandwritingError(f"batch size {batch_size} does not divide among {len(devices)} devices")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict())


# ------------------------------------------------------------------ the compiled step


class Stepper:
    """Compiled gradient/apply/eval functions for one model, optimizer and (optional) strategy."""

    def __init__(self, model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
        import tensorflow as tf

        from .mixture import sequence_nll

        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        m = model_config.mixture_components
        clip = train_config.clip_norm
        variables = model.trainable_variables
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        self.replicas = replicas

        def loss_and_grads(x, target, point_mask, chars, char_mask, total_points):
            with tf.GradientTape() as tape:
                y = model({"x": x, "chars": chars, "char_mask": char_mask}, training=True)["y"]
                loss_sum = tf.reduce_sum(sequence_nll(y, target, point_mask, m))
                loss = loss_sum / tf.cast(total_points, loss_sum.dtype)
            return loss_sum, tape.gradient(loss, variables)

        def clip_grads(grads):
            norm = tf.linalg.global_norm(grads)
            if clip:
                grads, _ = tf.clip_by_global_norm(grads, clip, use_norm=norm)
            return grads, norm

        def single(x, target, point_mask, chars, char_mask, total_points):
            loss_sum, grads = loss_and_grads(x, target, point_mask, chars, char_mask, total_points)
            grads, norm = clip_grads(grads)
            return loss_sum, norm, grads

        def replica(inputs, total_points):
            loss_sum, grads = loss_and_grads(*inputs, total_points)
            ctx = tf.distribute.get_replica_context()
            loss_sum = ctx.all_reduce(tf.distribute.ReduceOp.SUM, loss_sum)
            grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            grads, norm = clip_grads(grads)
            # Keras' optimizer sums the gradients of the replicas once more: pre-divide.
            return loss_sum, norm, [g / replicas for g in grads]

        jit = train_config.jit_compile
        # One trace for every batch shape: batch, points and characters are left unknown.
        f32, i32 = tf.float32, tf.int32
        batch_signature = [tf.TensorSpec([None, None, 3], f32), tf.TensorSpec([None, None, 3], f32),
                           tf.TensorSpec([None, None], f32), tf.TensorSpec([None, None], i32),
                           tf.TensorSpec([None, None], f32)]
        if strategy is None:
            self._grads = tf.function(single, jit_compile=jit, autograph=False,
                                      input_signature=batch_signature + [tf.TensorSpec([], f32)])
            self._apply = tf.function(lambda grads: optimizer.apply(grads, variables), jit_compile=jit, autograph=False)
        else:
            def distributed(inputs, total_points):
                loss_sum, norm, grads = strategy.run(replica, args=(inputs, total_points))
                first = lambda v: strategy.experimental_local_results(v)[0]  # noqa: E731
                return first(loss_sum), first(norm), grads

            self._grads = tf.function(distributed, reduce_retracing=True)
            def replica_apply(grads):
                # identity() inside the replica gives the inputs the replica's device, which the
                # collective all-reduce of MultiWorkerMirroredStrategy needs.
                optimizer.apply([tf.identity(g) for g in grads], variables)

            self._apply = tf.function(lambda grads: strategy.run(replica_apply, args=(grads,)))

        def evaluate(x, target, point_mask, chars, char_mask):
            y = model({"x": x, "chars": chars, "char_mask": char_mask})["y"]
            return sequence_nll(y, target, point_mask, m)

        self._eval = tf.function(evaluate, input_signature=batch_signature, autograph=False)

    def _split(self, batch: Batch):
        arrays = (batch.x, batch.target, batch.point_mask, batch.chars, batch.char_mask)
        if self.strategy is None:
            return arrays
        if len(batch.x) % self.replicas:
            raise HandwritingError(f"batch size {len(batch.x)} does not divide among {self.replicas} replicas")
        per = len(batch.x) // self.replicas

        def value_fn(ctx):
            i = ctx.replica_id_in_sync_group
            return tuple(a[i * per: (i + 1) * per] for a in arrays)

        return self.strategy.experimental_distribute_values_from_function(value_fn)

    def gradients(self, batch: Batch):
        """``(summed NLL, gradient norm, grads)`` for one global batch; nothing is applied."""
        import tensorflow as tf

        total = tf.constant(max(batch.points, 1), tf.float32)
        if self.strategy is None:
            return self._grads(*self._split(batch), total)
        return self._grads(self._split(batch), total)

    def apply(self, grads) -> None:
        if self.strategy is not None:
            import tensorflow as tf

            if not isinstance(grads[0], tf.distribute.DistributedValues):
                # One local replica: tf.function handed back plain tensors; make them per-replica again.
                plain = list(grads)
                grads = self.strategy.experimental_distribute_values_from_function(lambda ctx: plain)
        self._apply(grads)

    def evaluate(self, batches: list[Batch]) -> tuple[float, float]:
        """Validation NLL: ``(nats per line, nats per point)`` (Graves reports the first)."""
        total = lines = points = 0.0
        for b in batches:
            nll = np.asarray(self._eval(b.x, b.target, b.point_mask, b.chars, b.char_mask))
            real = b.indices >= 0
            total += float(nll[real].sum())
            lines += int(real.sum())
            points += b.points
        return total / max(lines, 1), total / max(points, 1)


class JaxStepper:
    """The same interface as :class:`Stepper` on the JAX backend (``KERAS_BACKEND=jax``).

    ``jax.jit``-compiled pure functions over the variable values (``model.stateless_call``,
    ``optimizer.stateless_apply``); the new values are assigned back after each update, so
    checkpoints, resume and the weights file work exactly as on TensorFlow.
    """

    def __init__(self, model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
        import jax
        import jax.numpy as jnp

        from .mixture import sequence_nll

        import keras

        if strategy is not None:
            raise HandwritingError("tf.distribute strategies need the TensorFlow backend")
        self.model, self.optimizer, self.strategy = model, optimizer, None
        distribution = keras.distribution.distribution()
        if distribution is None:
            self.replicas, self._place = 1, lambda a: a
        else:  # DataParallel: shard each batch along its first axis over the device mesh
            self.replicas = len(distribution.device_mesh.devices.reshape(-1))
            self._place = lambda a: jax.device_put(a, distribution.get_data_layout(a.shape).backend_layout)
        m, clip = model_config.mixture_components, train_config.clip_norm

        def forward(trainable, non_trainable, x, chars, char_mask):
            out, _ = model.stateless_call(trainable, non_trainable, {"x": x, "chars": chars, "char_mask": char_mask})
            return out["y"]

        def loss_fn(trainable, non_trainable, x, target, point_mask, chars, char_mask, total_points):
            loss_sum = jnp.sum(sequence_nll(forward(trainable, non_trainable, x, chars, char_mask), target, point_mask, m))
            return loss_sum / total_points, loss_sum

        def gradients(trainable, non_trainable, x, target, point_mask, chars, char_mask, total_points):
            (_, loss_sum), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                trainable, non_trainable, x, target, point_mask, chars, char_mask, total_points)
            norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads))
            if clip:
                factor = jnp.minimum(1.0, clip / jnp.maximum(norm, 1e-12))
                grads = [g * factor for g in grads]
            return loss_sum, norm, grads

        def apply(optimizer_values, trainable, grads):
            return optimizer.stateless_apply(optimizer_values, grads, trainable)

        def evaluate(trainable, non_trainable, x, target, point_mask, chars, char_mask):
            return sequence_nll(forward(trainable, non_trainable, x, chars, char_mask), target, point_mask, m)

        self._grads, self._apply, self._eval = jax.jit(gradients), jax.jit(apply), jax.jit(evaluate)

    def _values(self):
        return ([v.value for v in self.model.trainable_variables],
                [v.value for v in self.model.non_trainable_variables])

    def gradients(self, batch: Batch):
        trainable, non_trainable = self._values()
        arrays = [self._place(a) for a in (batch.x, batch.target, batch.point_mask, batch.chars, batch.char_mask)]
        return self._grads(trainable, non_trainable, *arrays, np.float32(max(batch.points, 1)))

    def apply(self, grads) -> None:
        trainable, _ = self._values()
        new_trainable, new_optimizer = self._apply([v.value for v in self.optimizer.variables], trainable, grads)
        for var, value in zip(self.model.trainable_variables, new_trainable):
            var.assign(value)
        for var, value in zip(self.optimizer.variables, new_optimizer):
            var.assign(value)

    def evaluate(self, batches: list[Batch]) -> tuple[float, float]:
        trainable, non_trainable = self._values()
        total = lines = points = 0.0
        for b in batches:
            nll = np.asarray(self._eval(trainable, non_trainable, b.x, b.target, b.point_mask, b.chars, b.char_mask))
            real = b.indices >= 0
            total += float(nll[real].sum())
            lines += int(real.sum())
            points += b.points
        return total / max(lines, 1), total / max(points, 1)


def make_stepper(model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
    """:class:`Stepper` on TensorFlow, :class:`JaxStepper` on JAX."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return Stepper(model, optimizer, model_config, train_config, strategy)
    if backend == "jax":
        return JaxStepper(model, optimizer, model_config, train_config, strategy)
    raise HandwritingError(f"training is not available on the {backend} backend (use tensorflow or jax)")


class _NoSummaries:
    """Stands in for a TensorBoard writer where TensorFlow is not installed."""

    def as_default(self, step=None):
        return _null_scope()

    def flush(self):
        pass


# ------------------------------------------------------------------ plots and logging


def attention_figure_png(model, batch: Batch, text: str) -> bytes:
    """PNG of the window weights phi(t, u) of the first line of ``batch``: characters vs time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = model(batch.model_inputs(), return_attention=True)
    n = int(batch.point_mask[0].sum())
    u = int(batch.char_mask[0].sum())
    phi = np.asarray(out["phi"])[0, :n, :u]
    fig, ax = plt.subplots(figsize=(max(4.0, n / 60), max(2.0, u / 5)), dpi=100)
    ax.imshow(phi.T, aspect="auto", origin="lower", interpolation="nearest", cmap="viridis")
    ax.set_yticks(range(u))
    ax.set_yticklabels(list(text[:u]))
    ax.set_xlabel("point t")
    ax.set_ylabel("character u")
    ax.set_title("window weights phi(t, u)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class _SignalFlag:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step; a second one interrupts."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.received is not None:  # a second signal: give up at once (the last checkpoint stays)
            raise KeyboardInterrupt
        self.received = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------ the loop


def _inherited_scale(init_from, resume_from: Path | None) -> tuple[str, float] | None:
    """``(source, scale)`` when a run uses a checkpoint's scale instead of its dataset's, else ``None``.

    A run started with ``--init-from`` keeps the scale of the weights it starts from (a dataset
    with other stroke statistics would otherwise rescale every input the network knows), and
    records that checkpoint as ``scale_from``; resuming such a run keeps both.
    """
    if resume_from is not None:
        saved = ckpt.read_config(resume_from)
        return (saved["scale_from"], float(saved["scale"])) if "scale_from" in saved else None
    if init_from is None:
        return None
    source = ckpt.resolve(init_from)
    return str(source), float(ckpt.read_config(source)["scale"])


def run_training(
    data_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    resume: bool = False,
    init_from: str | os.PathLike | None = None,
    max_minutes: float | None = None,
    log: TextIO | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or continue training) a synthesis network; see the module docstring.

    Args:
        data_path: a dataset file (:mod:`handwriting.datasets.format`).
        out_dir: the run directory; it becomes a checkpoint directory of the latest step.
        model_config, train_config: the configs (on resume, those read from the checkpoint).
        resume: continue from the newest checkpoint in ``out_dir``.
        init_from: start a new run (step 0, fresh optimizer, the warm-up again) from the weights
            of this checkpoint, whose model config must equal ``model_config`` (for instance the
            shipped model, to train it further; its weights are all a release keeps).
        max_minutes: stop cleanly (with a checkpoint) after this much wall time.
        log: where progress lines go (default stdout).
        on_step: called as ``on_step(step, loss)`` after every step (tests).
    """
    from .model import build_model

    try:
        import tensorflow as tf  # TensorBoard summaries (and the TensorFlow backend)
    except ImportError:  # a JAX-only installation: no TensorBoard logs
        tf = None
    log = log or sys.stdout
    say = lambda text: print(text, file=log, flush=True)  # noqa: E731
    model_config.validate()
    train_config.validate()
    note = apply_thread_settings(train_config)
    if note:
        say(note)
    enable_jax_compilation_cache()
    out = Path(out_dir)
    started = time.monotonic()
    strategy = make_strategy(train_config.distribute)
    if strategy is not None and not _is_chief(strategy):
        # Multi-worker: only the chief writes the run directory; every other worker keeps its own
        # checkpoints (needed for its --resume) under workers/<index>/.
        out = out / "workers" / str(strategy.cluster_resolver.task_id)

    state = {"step": 0, "epoch": 0, "batch_index": 0, "best_val": math.inf, "best_step": -1, "elapsed": 0.0}
    resume_from = None
    if resume:
        resume_from = ckpt.latest_checkpoint(out)
        if resume_from is None:
            raise HandwritingError(f"--resume: no checkpoint in {out}/{ckpt.CHECKPOINTS_DIR}")
    elif ckpt.latest_checkpoint(out) is not None:
        raise HandwritingError(f"{out} already holds checkpoints: pass --resume to continue, or another --out")
    out.mkdir(parents=True, exist_ok=True)

    dataset = load_dataset(data_path)
    scale_from = None
    inherited = _inherited_scale(init_from, resume_from)
    if inherited is not None:
        # The weights were trained on steps divided by that checkpoint's scale; keep its units.
        scale_from, scale = inherited
        dataset = dataclasses.replace(dataset, scale=scale)
    data: PreparedData = prepare(dataset, train_config)
    say(f"data: {data.train_lines} training lines, {data.validation_lines} validation lines"
        f"{f', {data.dropped_long} over {train_config.max_points} points dropped' if data.dropped_long else ''}; "
        f"padded fraction {data.train.padded_fraction():.1%}; scale {data.scale:.4g}"
        f"{f' (from {scale_from})' if scale_from is not None else ''}")

    if train_config.distribute == "data_parallel":
        say(f"distribute: data_parallel (JAX) over {set_jax_data_parallel(train_config.batch_size)} devices")
    scope = strategy.scope() if strategy is not None else _null_scope()
    with scope:
        model = build_model(model_config, seed=train_config.seed)
        optimizer = make_optimizer(train_config)
        optimizer.build(model.trainable_variables)
    if strategy is not None:
        say(f"distribute: {train_config.distribute} over {strategy.num_replicas_in_sync} replicas")

    if init_from is not None and resume_from is None:
        source = ckpt.resolve(init_from)
        saved_model, _ = ckpt.configs_from(ckpt.read_config(source))
        if replace(saved_model, {"training_loop": model_config.training_loop}) != model_config:
            raise HandwritingError(f"--init-from {init_from}: its model config differs from this run's")
        model.load_weights(str(source / ckpt.WEIGHTS_FILE))
        say(f"initialised from the weights of {source}")

    if resume_from is not None:
        saved = ckpt.read_config(resume_from)
        if abs(saved["scale"] - data.scale) > 1e-9 * max(1.0, abs(data.scale)):
            raise HandwritingError(f"--resume: the dataset scale {data.scale:.6g} differs from the "
                                   f"checkpoint's {saved['scale']:.6g}: is this the same dataset?")
        model.load_weights(str(resume_from / ckpt.WEIGHTS_FILE))
        arrays = ckpt.read_training_state(resume_from)
        ckpt.restore_optimizer(optimizer, arrays)
        for key in state:
            state[key] = type(state[key])(arrays[key])
        say(f"resumed from {resume_from} at step {state['step']} (epoch {state['epoch']}, batch {state['batch_index']})")

    stepper = make_stepper(model, optimizer, model_config, train_config, strategy)
    writer = tf.summary.create_file_writer(str(out / LOG_DIR)) if tf is not None else _NoSummaries()
    summary = tf.summary if tf is not None else None
    # Validation batches are sorted by length: the middle one shows a typical line, not the shortest.
    plot_batch = data.validation[len(data.validation) // 2] if data.validation else data.train.batch(0, 0)
    plot_text = decode(plot_batch.chars[0][plot_batch.char_mask[0] > 0])

    result = TrainResult(step=state["step"], stopped_by="steps")
    result.padded_fraction = data.train.padded_fraction()

    def config_json(extra: dict | None = None) -> dict:
        return ckpt.config_dict(
            model_config, train_config, data.scale, state["step"], dataset=str(data_path),
            best_step=state["best_step"], best_validation_nll_per_line=(
                None if math.isinf(state["best_val"]) else state["best_val"]),
            **({"scale_from": scale_from} if scale_from is not None else {}), **(extra or {}))

    def save_latest() -> None:
        state["elapsed"] = state["elapsed"] + (time.monotonic() - save_latest.mark)
        save_latest.mark = time.monotonic()
        arrays = {k: np.asarray(v) for k, v in state.items()}
        arrays.update(ckpt.optimizer_arrays(optimizer))
        config = config_json()
        ckpt.write_checkpoint_dir(out / ckpt.CHECKPOINTS_DIR / ckpt.step_dir_name(state["step"]), model, config, arrays)
        ckpt.write_run_files(out, model, config)
        ckpt.rotate(out, train_config.keep_checkpoints)

    save_latest.mark = time.monotonic()

    def validate() -> None:
        if not data.validation:
            return
        per_line, per_point = stepper.evaluate(data.validation)
        result.validation[state["step"]] = (per_line, per_point)
        say(f"step {state['step']}: validation NLL {per_line:.1f} nats/line, {per_point:.4f} nats/point")
        if summary is not None:
            with writer.as_default(step=state["step"]):
                summary.scalar("validation/nll_per_line", per_line)
                summary.scalar("validation/nll_per_point", per_point)
        if per_line < state["best_val"]:
            state["best_val"], state["best_step"] = per_line, state["step"]
            ckpt.write_checkpoint_dir(out / ckpt.BEST_DIR, model, config_json(
                {"validation_nll_per_line": per_line, "validation_nll_per_point": per_point}))

    def plot_attention() -> None:
        png = attention_figure_png(model, plot_batch, plot_text)
        from .fileio import write_bytes_atomic

        write_bytes_atomic(out / ATTENTION_PLOT, png)
        os.chmod(out / ATTENTION_PLOT, ckpt._default_mode())
        if summary is not None:
            with writer.as_default(step=state["step"]):
                summary.image("attention", tf.expand_dims(tf.image.decode_png(png, channels=4), 0))

    cfg = train_config
    window_points, window_start, window_steps = 0, time.monotonic(), 0
    total_points, total_time = 0, 0.0
    stream = data.train.iterate(state["epoch"], state["batch_index"])
    plan_len = data.train.batches_per_epoch
    with _SignalFlag() as flag:
        while state["step"] < cfg.steps:
            epoch, index, batch = next(stream)
            t0 = time.monotonic()
            loss_sum, norm, grads = stepper.gradients(batch)
            loss_sum, norm = float(loss_sum), float(norm)
            loss = loss_sum / max(batch.points, 1)
            if not (math.isfinite(loss_sum) and math.isfinite(norm)):
                save_latest()
                raise TrainingDiverged(
                    f"non-finite {'loss' if not math.isfinite(loss_sum) else 'gradient norm'} at step "
                    f"{state['step'] + 1} (loss {loss_sum}, gradient norm {norm}); the update was not applied "
                    f"and the weights of step {state['step']} are saved in {out}: lower the learning rate "
                    "or clip_norm and --resume")
            stepper.apply(grads)
            state["step"] += 1
            state["epoch"], state["batch_index"] = (epoch, index + 1) if index + 1 < plan_len else (epoch + 1, 0)
            dt = time.monotonic() - t0
            result.losses[state["step"]] = loss
            if on_step is not None:
                on_step(state["step"], loss)
            window_points += batch.points
            window_steps += 1
            if state["step"] > 1 or cfg.steps == 1:  # the first step includes tracing
                total_points += batch.points
                total_time += dt
            step = state["step"]
            if step % cfg.log_every == 0 or step == cfg.steps:
                now = time.monotonic()
                rate = window_points / max(now - window_start, 1e-9)
                steps_per_s = window_steps / max(now - window_start, 1e-9)
                lr = float(learning_rate_at(step - 1, cfg))
                say(f"step {step}/{cfg.steps}  loss {loss:.4f} nats/point ({loss_sum / max((batch.indices >= 0).sum(), 1):.1f}"
                    f" nats/line)  |g| {norm:.3g}  lr {lr:.3g}  {rate:,.0f} points/s  "
                    f"ETA {_format_duration((cfg.steps - step) / max(steps_per_s, 1e-9))}")
                if summary is not None:
                    with writer.as_default(step=step):
                        summary.scalar("train/loss_per_point", loss)
                        summary.scalar("train/gradient_norm", norm)
                        summary.scalar("train/learning_rate", lr)
                        summary.scalar("train/points_per_second", rate)
                window_points, window_steps, window_start = 0, 0, now
            if step % cfg.validation_every == 0:
                validate()
                plot_attention()
            if step % cfg.checkpoint_every == 0:
                save_latest()
            if step % cfg.validation_every == 0 or step % cfg.checkpoint_every == 0:
                window_points, window_steps, window_start = 0, 0, time.monotonic()  # points/s: training only
            if flag.received is not None:
                result.stopped_by = "signal"
                say(f"received {signal.Signals(flag.received).name}: saving step {step} and stopping")
                break
            if max_minutes is not None and time.monotonic() - started > 60.0 * max_minutes:
                result.stopped_by = "time"
                say(f"--max-minutes {max_minutes} reached: saving step {step} and stopping")
                break
        step = state["step"]
        if result.stopped_by == "steps" and step % cfg.validation_every != 0:
            validate()
            plot_attention()
        if not (out / ATTENTION_PLOT).exists():
            plot_attention()
        if step % cfg.checkpoint_every != 0 or result.stopped_by != "steps" or ckpt.latest_checkpoint(out) is None:
            save_latest()
    writer.flush()
    result.step = state["step"]
    result.points_per_second = total_points / total_time if total_time else 0.0
    say(f"stopped at step {result.step} ({result.stopped_by}); run directory {out}; "
        f"{result.points_per_second:,.0f} points/s after the first step")
    return result


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def resolve_configs(
    preset_name: str | None, json_file: str | None, overrides: list[str], flag_values: dict,
    resume_dir: str | os.PathLike | None = None, init_dir: str | os.PathLike | None = None,
) -> tuple[ModelConfig, TrainConfig]:
    """Configs for a run: a preset (or a checkpoint's configs on resume), then a JSON file, then
    ``key=value`` overrides, then explicit CLI flags. On resume, and when initialising from a
    checkpoint's weights (``init_dir``), the model config is the checkpoint's and cannot change."""
    from .config import apply_overrides, preset, replace

    if resume_dir is not None and ckpt.latest_checkpoint(resume_dir) is not None:
        if preset_name is not None:
            raise HandwritingError("--config cannot be combined with --resume: the run's config is read from its checkpoint")
        model, train = ckpt.configs_from(ckpt.read_config(ckpt.latest_checkpoint(resume_dir)))
        before = model
    elif init_dir is not None:
        # The network comes from the checkpoint; training settings from the preset and flags.
        model = ckpt.configs_from(ckpt.read_config(ckpt.resolve(init_dir)))[0]
        train = preset(preset_name or "graves")[1]
        before = model
    else:
        model, train = preset(preset_name or "graves")
        before = None
    model, train = apply_overrides(model, train, overrides, json_file)
    model_fields = {k: v for k, v in flag_values.items() if k in ModelConfig.__dataclass_fields__}
    train_fields = {k: v for k, v in flag_values.items() if k in TrainConfig.__dataclass_fields__}
    model, train = replace(model, model_fields), replace(train, train_fields)
    if before is not None and model != before:
        changed = sorted(k for k in ModelConfig.__dataclass_fields__ if getattr(model, k) != getattr(before, k))
        if set(changed) - {"training_loop"}:
            raise HandwritingError(f"the model config of the checkpoint cannot change (tried to change {', '.join(changed)})")
    model.validate()
    train.validate()
    return model, train


# ------------------------------------------------------------------ throughput


def apply_thread_settings(train_config: TrainConfig) -> str | None:
    """Give TensorFlow ``train_config.intra_op_threads`` threads per op (0 leaves its default).

    Must run before TensorFlow's runtime starts; returns a note when it had already started with
    another setting (the run goes on with it), else ``None``. No effect on other backends.
    """
    import keras

    wanted = train_config.intra_op_threads
    if wanted == 0 or keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == wanted:
        return None
    try:
        tf.config.threading.set_intra_op_parallelism_threads(wanted)
    except RuntimeError:
        return f"note: TensorFlow had already started; intra_op_threads={wanted} not applied"
    return None


def measure_throughput(model_config: ModelConfig, train_config: TrainConfig, batch_size: int = 32,
                       points: int = 700, steps: int = 5, chars_per_point: float = 1 / 25) -> dict:
    """Time full optimizer steps on random lines of ``points`` points (no checkpoints, no logging).

    Returns ``{"first_step_s", "step_s", "points_per_s"}``; the first step (tracing, and XLA
    compilation with ``jit_compile``) is timed apart and left out of the rate.
    """
    from .data import make_batch
    from .model import build_model

    rng = np.random.default_rng(0)
    lines = [rng.normal(size=(points, 3)).astype(np.float32) for _ in range(batch_size)]
    for line in lines:
        line[:, 2] = rng.random(points) < 0.05
    u = max(1, round(points * chars_per_point))
    chars = [rng.integers(1, model_config.vocabulary_size, u).astype(np.int32) for _ in range(batch_size)]
    batch = make_batch(lines, chars, np.arange(batch_size), batch_size, 1)
    apply_thread_settings(train_config)
    model = build_model(model_config, seed=0)
    optimizer = make_optimizer(train_config)
    optimizer.build(model.trainable_variables)
    stepper = make_stepper(model, optimizer, model_config, train_config)

    def one_step():
        loss_sum, _, grads = stepper.gradients(batch)
        stepper.apply(grads)
        return float(loss_sum)

    t0 = time.perf_counter()
    one_step()
    t1 = time.perf_counter()
    for _ in range(steps):
        one_step()
    t2 = time.perf_counter()
    return {"first_step_s": t1 - t0, "step_s": (t2 - t1) / steps,
            "points_per_s": batch_size * points * steps / (t2 - t1)}


# ------------------------------------------------------------------ command line


def add_train_arguments(parser) -> None:
    """The options of ``handwriting train`` (and ``scripts/train.py``)."""
    from .config import PRESETS
    from .dataclass_args import add_dataclass_arguments

    parser.add_argument("--data", type=Path, required=True, metavar="DATA.npz", help="dataset file")
    parser.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                        help="run directory: checkpoints, config.json, weights, logs/, attention.png")
    parser.add_argument("--config", dest="config_name", metavar="NAME|FILE.json",
                        help=f"a preset ({', '.join(PRESETS)}; default graves) or a JSON file "
                             '{"model": {...}, "train": {...}} applied on top of the defaults')
    parser.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override one config field (model.lstm_units=64, train.batch_size=16 or a bare "
                             "field name); repeatable; unknown keys are errors")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    parser.add_argument("--init-from", type=Path, metavar="CHECKPOINT",
                        help="start from this checkpoint's weights (fresh optimizer, step 0; e.g. checkpoints/default)")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop cleanly (with a checkpoint) after this long")
    add_dataclass_arguments(parser, ModelConfig)
    add_dataclass_arguments(parser, TrainConfig)


def run_from_arguments(args) -> int:
    """Run ``handwriting train`` from parsed arguments; returns the exit status."""
    from .config import PRESETS

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
    model, train = resolve_configs(preset_name, json_file, args.overrides, flag_values,
                                   resume_dir=args.out if args.resume else None, init_dir=args.init_from)
    result = run_training(args.data, args.out, model, train, resume=args.resume, init_from=args.init_from,
                          max_minutes=args.max_minutes)
    return EXIT_SIGNAL if result.stopped_by == "signal" else 0


#: Exit status after a clean stop on SIGINT/SIGTERM (the checkpoint is saved).
EXIT_SIGNAL = 130


def main(argv=None) -> int:
    """``scripts/train.py``: the same options and code as ``handwriting train``."""
    import argparse

    parser = argparse.ArgumentParser(prog="train.py", description="Train the handwriting synthesis network.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_arguments(args)
    except HandwritingError as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
