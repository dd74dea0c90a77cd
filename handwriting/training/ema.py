"""An exponential moving average of the weights (Polyak averaging), kept beside training.

At a constant learning rate the weights wander about a minimum; single checkpoints of a run at
its peak rate judge differently from one validation to the next (docs/training.md, stage F). The
average ``a <- decay * a + (1 - decay) * w`` after every optimizer step smooths the wandering out
over about ``1 / (1 - decay)`` steps (0.999: the last thousand or so). The trainer validates the
average, writes it to ``best/`` (and so to releases), and keeps training the raw weights; the
average travels in every step checkpoint's training state (``ema/000``, ...), and a run resumed
without one starts its average at the weights it resumes from.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import numpy as np

#: The training-state key prefix of the averaged arrays.
PREFIX = "ema/"


class WeightAverage:
    """The running average of ``variables`` (Keras variables: a model's trainable weights)."""

    def __init__(self, variables: Sequence, decay: float, saved: dict | None = None):
        """``saved``: a training state's arrays; its ``ema/NNN`` arrays (one per variable, in
        order) restore the average, else it starts at the variables' values."""
        import keras

        self.variables, self.decay = list(variables), float(decay)
        keys = [f"{PREFIX}{i:03d}" for i in range(len(self.variables))]
        self.restored = saved is not None and all(k in saved for k in keys)
        starts = [np.array(saved[k] if self.restored else v, np.float32) for k, v in zip(keys, self.variables)]
        for start, variable in zip(starts, self.variables):
            if start.shape != tuple(variable.shape):
                raise ValueError(f"saved average of shape {start.shape} for a weight of shape {tuple(variable.shape)}")
        # Backend variables, so that the update after every step stays where the weights are (a GPU).
        self.values = [keras.Variable(start, trainable=False) for start in starts]

    def update(self) -> None:
        """Move the average towards the variables' current values (after an optimizer step)."""
        keep = self.decay
        for value, variable in zip(self.values, self.variables):
            value.assign(value * keep + variable * (1.0 - keep))

    def arrays(self) -> dict[str, np.ndarray]:
        """The average as training-state arrays (``ema/NNN``)."""
        return {f"{PREFIX}{i:03d}": np.array(value, np.float32) for i, value in enumerate(self.values)}

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """Within the block the variables hold the average; afterwards their own values again."""
        raw = [np.array(v, np.float32) for v in self.variables]
        try:
            for variable, value in zip(self.variables, self.values):
                variable.assign(value.value)
            yield
        finally:
            for variable, value in zip(self.variables, raw):
                variable.assign(value)
