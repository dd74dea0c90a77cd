"""The optimizer, its learning-rate schedule, distribution strategies and thread settings.

Graves (section 4) trains with RMSProp (eqs 38-41); Adam is the default here. The schedule is
a warm-up then cosine or exponential decay, a pure function of the step, so a resumed run
continues exactly.
"""

from __future__ import annotations

import math
import os

from ..config import TrainConfig
from ..errors import HandwritingError

#: Graves' RMSProp (section 4, eqs 38-41): decay 0.95, momentum 0.9, epsilon 1e-4, centred.
GRAVES_RMSPROP = dict(rho=0.95, momentum=0.9, epsilon=1e-4, centered=True)


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


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict())


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
