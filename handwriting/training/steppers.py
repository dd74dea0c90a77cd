"""One optimizer step as compiled functions, on TensorFlow or JAX, and the validation NLL.

One step is two compiled functions (``tf.function``, XLA when ``TrainConfig.jit_compile``):

1. ``gradients``: the loss (Graves eq 26, masked, summed over the batch and divided by the
   number of real points, i.e. nats per point) and its gradients, clipped to
   ``TrainConfig.clip_norm`` global norm; it returns the summed NLL and the gradient norm;
2. ``apply``: the optimizer update.

The trainer checks the loss and norm on the host between the two, so a non-finite step is
never applied. :class:`JaxStepper` gives the same interface with ``jax.jit`` over
``model.stateless_call`` and ``optimizer.stateless_apply``. Both evaluate with one
:class:`NllEvaluator`, which needs no optimizer (``handwriting evaluate`` uses it alone).
"""

from __future__ import annotations

import time

import numpy as np

from ..config import ModelConfig, TrainConfig
from ..errors import HandwritingError
from .batches import Batch


def tf_batch_signature() -> list:
    """``tf.function`` input signature of a batch ``(x, target, point_mask, chars, char_mask)``:
    batch, points and characters are left unknown, so one trace serves every batch shape."""
    import tensorflow as tf

    f32, i32 = tf.float32, tf.int32
    return [tf.TensorSpec([None, None, 3], f32), tf.TensorSpec([None, None, 3], f32),
            tf.TensorSpec([None, None], f32), tf.TensorSpec([None, None], i32), tf.TensorSpec([None, None], f32)]


class NllEvaluator:
    """The validation NLL of a model (Graves eq 26), compiled once; no optimizer involved.

    :meth:`batch_nll` gives ``[B]`` nats per line; :meth:`evaluate` sums over real lines.
    """

    def __init__(self, model, model_config: ModelConfig):
        import keras

        from ..nn.mixture import sequence_nll

        self.model = model
        m = model_config.mixture_components
        self.backend = keras.backend.backend()
        if self.backend == "jax":
            import jax

            def nll(trainable, non_trainable, x, target, point_mask, chars, char_mask):
                out, _ = model.stateless_call(trainable, non_trainable, {"x": x, "chars": chars, "char_mask": char_mask})
                return sequence_nll(out["y"], target, point_mask, m)

            self._nll = jax.jit(nll)
        else:
            import tensorflow as tf

            def nll(x, target, point_mask, chars, char_mask):
                y = model({"x": x, "chars": chars, "char_mask": char_mask})["y"]
                return sequence_nll(y, target, point_mask, m)

            self._nll = tf.function(nll, input_signature=tf_batch_signature(), autograph=False)

    def batch_nll(self, b: Batch) -> np.ndarray:
        """``[B]`` summed NLL per line of one batch (padding lines included)."""
        arrays = (b.x, b.target, b.point_mask, b.chars, b.char_mask)
        if self.backend == "jax":
            values = ([v.value for v in self.model.trainable_variables],
                      [v.value for v in self.model.non_trainable_variables])
            return np.asarray(self._nll(*values, *arrays))
        return np.asarray(self._nll(*arrays))

    def evaluate(self, batches: list[Batch]) -> tuple[float, float]:
        """``(nats per line, nats per point)`` over the real lines of ``batches``."""
        total = lines = points = 0.0
        for b in batches:
            nll = self.batch_nll(b)
            real = b.indices >= 0
            total += float(nll[real].sum())
            lines += int(real.sum())
            points += b.points
        return total / max(lines, 1), total / max(points, 1)


class Stepper:
    """Compiled gradient/apply/eval functions for one model, optimizer and (optional) strategy."""

    def __init__(self, model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
        import tensorflow as tf

        from ..nn.mixture import sequence_nll

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
        if strategy is None:
            self._grads = tf.function(single, jit_compile=jit, autograph=False,
                                      input_signature=tf_batch_signature() + [tf.TensorSpec([], tf.float32)])
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

        self.evaluator = NllEvaluator(model, model_config)

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
        return self.evaluator.evaluate(batches)


class JaxStepper:
    """The same interface as :class:`Stepper` on the JAX backend (``KERAS_BACKEND=jax``).

    ``jax.jit``-compiled pure functions over the variable values (``model.stateless_call``,
    ``optimizer.stateless_apply``); the new values are assigned back after each update, so
    checkpoints, resume and the weights file work exactly as on TensorFlow.
    """

    def __init__(self, model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
        import jax
        import jax.numpy as jnp

        from ..nn.mixture import sequence_nll

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

        self._grads, self._apply = jax.jit(gradients), jax.jit(apply)
        self.evaluator = NllEvaluator(model, model_config)

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
        """Validation NLL: ``(nats per line, nats per point)``."""
        return self.evaluator.evaluate(batches)


def make_stepper(model, optimizer, model_config: ModelConfig, train_config: TrainConfig, strategy=None):
    """:class:`Stepper` on TensorFlow, :class:`JaxStepper` on JAX."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return Stepper(model, optimizer, model_config, train_config, strategy)
    if backend == "jax":
        return JaxStepper(model, optimizer, model_config, train_config, strategy)
    raise HandwritingError(f"training is not available on the {backend} backend (use tensorflow or jax)")


def measure_throughput(model_config: ModelConfig, train_config: TrainConfig, batch_size: int = 32,
                       points: int = 700, steps: int = 5, chars_per_point: float = 1 / 25) -> dict:
    """Time full optimizer steps on random lines of ``points`` points (no checkpoints, no logging).

    Returns ``{"first_step_s", "step_s", "points_per_s"}``; the first step (tracing, and XLA
    compilation with ``jit_compile``) is timed apart and left out of the rate.
    """
    from ..nn.model import build_model
    from .batches import make_batch
    from .optim import apply_thread_settings, make_optimizer

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
