"""Adapting the network to one person's hand from a few of their lines (TensorFlow).

The base weights stay fixed; what is trained is a *delta* for a few of the network's arrays,
``W = W_base + D`` (full deltas) or ``W = W_base + A B`` (low-rank factors, ``rank > 0``, for
the 2-D kernels; biases get full deltas). The loss is Graves' NLL (eq 26) in nats per point over
the person's lines plus ``l2_to_base * sum(D^2)``, which keeps the adapted network near the base
one (a few lines are easily over-fitted). With rehearsal lines (lines the *base* network wrote,
primed with the person's hand: the "prior preservation" of few-shot adaptation) their NLL per
point, times ``rehearsal_weight``, is added: the network is asked to keep writing the letters
the person's few lines do not show as legibly as it did. The forward pass is ``model.stateless_call`` with the
base values plus the deltas, so gradients reach only the deltas and the model itself is never
changed. Which arrays, the rank, the steps and the penalty were chosen by measurement
(docs/adaptation.md).

:func:`line_fit` is the check made before training: how much better the network explains each
line's ink with its own text than with the same characters shuffled (nats per character).
Ink that does not say its text gains nothing from it.

Shapes: B lines, T points, U characters; arrays are named as ``writing/weights.py`` names them
(``lstm3/kernel``, ``mixture_output/bias``, ...), taken from the layers' own names.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

import numpy as np

from .. import alphabet
from ..errors import HandwritingError
from .batches import Batch, make_batch

#: The layers that may be named in :attr:`AdaptConfig.layers`.
ADAPTABLE_LAYERS = ("lstm1", "lstm2", "lstm3", "window_params", "mixture_output")
#: Arrays adapted by default: every layer, the attention window's too (chosen by the writers'
#: likeness over two seeds, docs/adaptation.md).
DEFAULT_LAYERS = ADAPTABLE_LAYERS
#: Shuffled versions of a line's text that :func:`line_fit` compares its own text with.
CONTROL_TEXTS = 2
#: A line whose ink gains less than this from its own text (nats per character, against its
#: characters shuffled: :func:`line_fit`) does not say its text (calibrated in docs/adaptation.md).
MIN_FIT_NATS_PER_CHAR = 2.0
#: Initial scale of the low-rank factor ``A`` (``B`` starts at zero, so the delta starts at zero).
LOW_RANK_INIT = 0.01


@dataclass
class AdaptConfig:
    """How a network is adapted to a person's lines (see the module docstring).

    Attributes:
        layers: the layers whose arrays get deltas (of :data:`ADAPTABLE_LAYERS`).
        rank: 0 for full deltas, else the rank of the kernels' low-rank deltas.
        steps: optimizer steps at most (fewer when ``minutes`` run out first).
        minutes: the wall-clock budget of the training steps.
        learning_rate: Adam's learning rate.
        l2_to_base: the penalty on the deltas' squared sum, per point's nats.
        lines_per_step: lines per optimizer step (all of them when there are fewer).
        seed: for the low-rank initialisation and the order of lines.
        min_fit: the least :func:`line_fit` a line needs to be used (nats per character).
        rehearsal_lines: lines the base network writes (primed with the person's line) to
            rehearse alongside the person's; 0 for none.
        rehearsal_weight: the weight of the rehearsal lines' NLL per point in the loss.
        rehearsal_bias: the bias the rehearsal lines are written at. At 0 they are the base
            network's own distribution, whose NLL gradient is zero on average at the base
            weights: a pull back to the base, not towards a neater or a different hand.
        strength: how far the saved personal model goes from the base network towards the
            adapted one (its deltas times this, :func:`~handwriting.writing.personal.scale_deltas`):
            1 writes most like the person, less writes more legibly (docs/adaptation.md).
        augment_scale: if > 0, every step sees each line stretched at random, by a factor per
            axis whose log has this standard deviation (as the training run's augmentation).
        augment_shear: if > 0, every step sees each line slanted at random (``dx += shear * dy``,
            the shear's standard deviation).
        pen_up_weight: the weight in the loss of each pen-up jump's NLL (the offset to the next
            stroke, where a writer's late i-dots and t-crosses begin); 1 weighs every point alike.
    """

    layers: tuple[str, ...] = DEFAULT_LAYERS
    rank: int = 0
    steps: int = 100
    minutes: float = 4.0
    learning_rate: float = 1e-4
    l2_to_base: float = 1e-3
    lines_per_step: int = 10
    seed: int = 0
    min_fit: float = MIN_FIT_NATS_PER_CHAR
    rehearsal_lines: int = 0
    rehearsal_weight: float = 1.0
    rehearsal_bias: float = 0.0
    strength: float = 1.0
    augment_scale: float = 0.0
    augment_shear: float = 0.0
    pen_up_weight: float = 1.0

    def validate(self) -> None:
        unknown = [name for name in self.layers if name not in ADAPTABLE_LAYERS]
        if unknown or not self.layers:
            raise HandwritingError(f"adaptation layers must be some of {', '.join(ADAPTABLE_LAYERS)}, not {unknown}")
        if self.rank < 0 or self.steps < 1 or not self.minutes > 0 or not self.learning_rate > 0 or self.l2_to_base < 0:
            raise HandwritingError("adaptation needs rank >= 0, steps >= 1, minutes > 0, learning rate > 0, "
                                   "l2_to_base >= 0")
        if self.rehearsal_lines < 0 or self.rehearsal_weight < 0 or self.rehearsal_bias < 0:
            raise HandwritingError("adaptation needs rehearsal_lines, rehearsal_weight and rehearsal_bias >= 0")
        if self.augment_scale < 0 or self.augment_shear < 0:
            raise HandwritingError("adaptation needs augment_scale and augment_shear >= 0")
        if not self.pen_up_weight > 0:
            raise HandwritingError(f"adaptation pen_up_weight must be > 0, not {self.pen_up_weight:g}")
        if not 0 < self.strength <= 1:
            raise HandwritingError(f"adaptation strength must be in (0, 1], not {self.strength:g}")


@dataclass
class AdaptResult:
    """The trained deltas and what happened.

    Attributes:
        deltas: per array name its delta: ``(D,)`` (``W - W_base``) or low-rank ``(A, B)``
            with ``D = A B``, float32.
        steps: optimizer steps taken; ``losses``: the NLL per point after each (each pen-up jump
            counted ``pen_up_weight`` times).
        seconds: wall-clock time of the training steps.
        stopped: why it ended: ``"steps"``, ``"minutes"``.
    """

    deltas: dict[str, tuple[np.ndarray, ...]]
    steps: int
    seconds: float
    stopped: str
    losses: list[float] = field(default_factory=list)


def named_variables(model) -> dict[str, object]:
    """The model's trainable arrays by the names ``writing/weights.py`` gives them."""
    named = {}
    for lstm in model.lstms:
        cell = lstm.cell
        named.update({f"{lstm.name}/kernel": cell.kernel, f"{lstm.name}/recurrent_kernel": cell.recurrent_kernel,
                      f"{lstm.name}/bias": cell.bias})
    for layer in (model.window.params, model.output_layer):
        named.update({f"{layer.name}/kernel": layer.kernel, f"{layer.name}/bias": layer.bias})
    return named


def make_lines_batch(offsets: Sequence[np.ndarray], texts: Sequence[str],
                     augment_rng: np.random.Generator | None = None, augment_scale: float = 0.0,
                     augment_shear: float = 0.0) -> Batch:
    """One padded batch of every line (``[N_i, 3]`` normalised offsets) with its text, each line
    stretched and slanted at random when ``augment_rng`` is given (``make_batch``'s augmentation)."""
    chars = [alphabet.encode(t) for t in texts]
    return make_batch(list(offsets), chars, np.arange(len(offsets)), len(offsets), 1,
                      augment_rng, augment_scale, augment_shear)


class _Forward:
    """The model's per-line NLL ``[B]`` under the base weights plus optional deltas, compiled once."""

    def __init__(self, model):
        import tensorflow as tf

        from ..nn.mixture import sequence_nll

        self.model = model
        self.variables = list(model.trainable_variables)
        self.base = [tf.constant(v.numpy()) for v in self.variables]
        self.non_trainable = [v.value for v in model.non_trainable_variables]
        m = model.config.mixture_components

        def nll(values, batch):
            x, target, mask, chars, char_mask = batch
            out, _ = model.stateless_call(values, self.non_trainable, {"x": x, "chars": chars, "char_mask": char_mask})
            return sequence_nll(out["y"], target, mask, m)

        self.nll = nll
        self._base_nll = tf.function(lambda batch: nll(self.base, batch), autograph=False)

    def index(self, name_to_variable: dict) -> dict[str, int]:
        ids = {id(v): i for i, v in enumerate(self.variables)}
        return {name: ids[id(v)] for name, v in name_to_variable.items()}

    def base_nll(self, batch: Batch) -> np.ndarray:
        return np.asarray(self._base_nll(_tensors(batch)))


def _pen_up_jumps(batch: Batch) -> np.ndarray:
    """``[B, T]`` whether a point is a pen-up jump: its input point ends a stroke, so its target
    is the offset to the next stroke's first point."""
    return batch.x[..., 2] > 0.5


def _tensors(batch: Batch, pen_up_weight: float = 1.0) -> tuple:
    """The batch as the forward pass takes it; each pen-up jump weighs ``pen_up_weight`` in the mask."""
    import tensorflow as tf

    mask = batch.point_mask
    if pen_up_weight != 1.0:
        mask = mask * np.where(_pen_up_jumps(batch), pen_up_weight, 1.0).astype(mask.dtype)
    return (tf.constant(batch.x), tf.constant(batch.target), tf.constant(mask),
            tf.constant(batch.chars), tf.constant(batch.char_mask))


def line_fit(model, offsets: Sequence[np.ndarray], texts: Sequence[str], seed: int = 0) -> np.ndarray:
    """``[B]`` nats per character the base network gains from each line's own text.

    Each line's NLL with its text is compared with its NLL given :data:`CONTROL_TEXTS` shuffles
    of the same characters; the smallest gain is taken. Ink that says its text gains tens of nats
    per character; ink of another text gains about nothing (docs/adaptation.md).
    """
    forward = _Forward(model)
    own = forward.base_nll(make_lines_batch(offsets, texts))
    rng = np.random.default_rng(seed)
    gains = np.full(len(texts), np.inf)
    for _ in range(CONTROL_TEXTS):
        shuffled = ["".join(rng.permutation(list(t))) for t in texts]
        control = forward.base_nll(make_lines_batch(offsets, shuffled))
        gains = np.minimum(gains, control - own)
    return gains / np.array([max(len(t), 1) for t in texts])


def nll_per_point(model, offsets: Sequence[np.ndarray], texts: Sequence[str],
                  deltas: dict[str, np.ndarray] | None = None, pen_up_only: bool = False) -> float:
    """The mean NLL per point of the lines, under the base weights plus full ``deltas`` (``D`` by name);
    of the pen-up jumps alone (the first offset of every stroke after the first) with ``pen_up_only``,
    NaN when the lines have none."""
    import tensorflow as tf

    forward = _Forward(model)
    values = list(forward.base)
    for name, i in forward.index({k: v for k, v in named_variables(model).items() if k in (deltas or {})}).items():
        values[i] = values[i] + tf.constant(deltas[name])
    batch = make_lines_batch(offsets, texts)
    if pen_up_only:
        batch = replace(batch, point_mask=batch.point_mask * _pen_up_jumps(batch))
        if not batch.point_mask.any():
            return float("nan")
    return float(np.sum(forward.nll(values, _tensors(batch)))) / max(float(batch.point_mask.sum()), 1.0)


def _delta_variables(shapes: dict[str, tuple[int, ...]], rank: int, rng: np.random.Generator) -> dict[str, list]:
    """Per array name its trainable delta, starting at zero: ``[D]``, or ``[A, B]`` of ``rank`` for 2-D kernels."""
    import tensorflow as tf

    params: dict[str, list] = {}
    for name, shape in shapes.items():
        if rank and len(shape) == 2:
            a = rng.normal(0.0, LOW_RANK_INIT, (shape[0], rank)).astype(np.float32)
            params[name] = [tf.Variable(a), tf.Variable(np.zeros((rank, shape[1]), np.float32))]
        else:
            params[name] = [tf.Variable(np.zeros(shape, np.float32))]
    return params


def _step_batches(offsets: Sequence[np.ndarray], texts: Sequence[str], config: AdaptConfig,
                  rng: np.random.Generator) -> Iterator[tuple[tuple, object]]:
    """Endless ``(tensors, weighted point count)`` of each step's batch: ``config.lines_per_step``
    lines at random, stretched and slanted anew when augmenting; every line, made once, otherwise."""
    import tensorflow as tf

    per_step = min(config.lines_per_step, len(offsets))
    augment_rng = rng if config.augment_scale > 0 or config.augment_shear > 0 else None
    if per_step == len(offsets) and augment_rng is None:
        tensors = _tensors(make_lines_batch(offsets, texts), config.pen_up_weight)
        yield from itertools.repeat((tensors, tf.reduce_sum(tensors[2])))
    while True:
        pick = rng.permutation(len(offsets))[:per_step]
        batch = make_lines_batch([offsets[i] for i in pick], [texts[i] for i in pick],
                                 augment_rng, config.augment_scale, config.augment_shear)
        tensors = _tensors(batch, config.pen_up_weight)
        yield tensors, tf.reduce_sum(tensors[2])


def adapt(model, offsets: Sequence[np.ndarray], texts: Sequence[str], config: AdaptConfig,
          progress: Callable[[int, int, float], None] | None = None,
          snapshot: Callable[[int, dict[str, np.ndarray]], None] | None = None,
          snapshot_steps: Sequence[int] = (),
          rehearsal: tuple[Sequence[np.ndarray], Sequence[str]] | None = None) -> AdaptResult:
    """Train deltas of ``config.layers`` on the lines (``[N_i, 3]`` normalised offsets) and texts.

    ``progress(step, steps, nll_per_point)`` is called after each step (the person's lines' NLL),
    and ``snapshot(step, full deltas by name)`` after each of ``snapshot_steps`` (for studies of
    the number of steps). ``rehearsal``: ``(offsets, texts)`` of lines the base network wrote,
    rehearsed in every step with ``config.rehearsal_weight``. Ctrl-C (``KeyboardInterrupt``)
    propagates: nothing is saved here.
    """
    import keras
    import tensorflow as tf

    config.validate()
    forward = _Forward(model)
    named = {k: v for k, v in named_variables(model).items() if k.split("/")[0] in config.layers}
    index = forward.index(named)
    rng = np.random.default_rng(config.seed)
    params = _delta_variables({name: tuple(forward.base[i].shape) for name, i in index.items()}, config.rank, rng)
    trainable = [v for pair in params.values() for v in pair]
    optimizer = keras.optimizers.Adam(config.learning_rate)
    optimizer.build(trainable)

    def delta(name):
        p = params[name]
        return p[0] if len(p) == 1 else tf.matmul(p[0], p[1])

    rehearsed = None
    if rehearsal is not None and len(rehearsal[0]) and config.rehearsal_weight > 0:
        batch = make_lines_batch(*rehearsal)
        rehearsed = (_tensors(batch), tf.constant(float(batch.points)))

    def step(batch, points):
        with tf.GradientTape() as tape:
            values = list(forward.base)
            penalty = 0.0
            for name, i in index.items():
                d = delta(name)
                values[i] = values[i] + d
                penalty += tf.reduce_sum(tf.square(d))
            nll = tf.reduce_sum(forward.nll(values, batch)) / points
            loss = nll + config.l2_to_base * penalty
            if rehearsed is not None:
                loss += config.rehearsal_weight * tf.reduce_sum(forward.nll(values, rehearsed[0])) / rehearsed[1]
        optimizer.apply(tape.gradient(loss, trainable), trainable)
        return nll

    compiled = tf.function(step, autograph=False, reduce_retracing=True)
    losses, t0, stopped = [], time.perf_counter(), "steps"
    for k, (tensors, points) in zip(range(config.steps), _step_batches(offsets, texts, config, rng)):
        loss = float(compiled(tensors, points))
        if not np.isfinite(loss):
            raise HandwritingError(f"adaptation diverged at step {k + 1} (the loss is {loss})")
        losses.append(loss)
        if progress is not None:
            progress(k + 1, config.steps, loss)
        if snapshot is not None and k + 1 in snapshot_steps:
            snapshot(k + 1, {name: np.asarray(delta(name).numpy(), np.float32) for name in params})
        if time.perf_counter() - t0 > 60.0 * config.minutes:
            stopped = "minutes"
            break
    parts = {name: tuple(np.asarray(v.numpy(), np.float32) for v in pair) for name, pair in params.items()}
    return AdaptResult(parts, len(losses), time.perf_counter() - t0, stopped, losses)
