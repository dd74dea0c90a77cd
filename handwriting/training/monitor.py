"""What a training run shows: progress lines, TensorBoard summaries, the attention plot, and
the signal handling that lets Ctrl-C or SIGTERM stop a run cleanly."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import numpy as np

from .batches import Batch

ATTENTION_PLOT = "attention.png"
LOG_DIR = "logs"


def progress_line(step: int, steps: int, loss: float, per_line: float, norm: float, lr: float, rate: float,
                  eta: str) -> str:
    """One progress line: loss per point and per line, gradient norm, learning rate, speed, ETA."""
    return (f"step {step}/{steps}  loss {loss:.4f} nats/point ({per_line:.1f} nats/line)  |g| {norm:.3g}  "
            f"lr {lr:.3g}  {rate:,.0f} points/s  ETA {eta}")


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Summaries:
    """TensorBoard scalars and images under ``log_dir``; nothing where TensorFlow is missing
    (a JAX-only installation)."""

    def __init__(self, log_dir: Path):
        try:
            import tensorflow as tf
        except ImportError:
            self._tf = self._writer = None
            return
        self._tf = tf
        self._writer = tf.summary.create_file_writer(str(log_dir))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self._writer is None:
            return
        with self._writer.as_default(step=step):
            for name, value in values.items():
                self._tf.summary.scalar(name, value)

    def image(self, step: int, name: str, png: bytes) -> None:
        if self._writer is None:
            return
        tf = self._tf
        with self._writer.as_default(step=step):
            tf.summary.image(name, tf.expand_dims(tf.image.decode_png(png, channels=4), 0))

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()


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


class SignalFlag:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step; a second one interrupts."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else ""

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
