"""Speed measurements: training and writing throughput, cold start, and the device's matmul rate.

Everything is measured in one process on the current Keras backend, so the figures of one run
can be compared as ratios. ``scripts/benchmark.py`` runs this module once per backend (the
backend is fixed when Keras is imported) and merges the results.

FLOPs per point (multiply-adds counted as 2), forward pass, for H units, N layers, input width
``I1 = 3 + V`` for layer 1 and ``In = 3 + V + H`` for the others, K window and M mixture
components, U characters:

    LSTM layer:  8 H (I + H)
    window:      2 H (3K) + 6 U K + 2 U V
    output:      2 N H (1 + 6M)

Training costs about three forward passes (the backward pass is about twice the forward), so
``training FLOPs/point = 3 x forward``. A throughput's fraction of the device's rate is then
``points/s x FLOPs/point / (matmul FLOP/s)``; a recurrent network's small per-step matrices
never reach the large-matmul rate, so the fraction says how much is lost to the time loop.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..config import ModelConfig, TrainConfig, replace

#: Training multiplies the forward FLOPs by this (forward + backward).
TRAINING_FLOP_FACTOR = 3.0
#: Characters per point of the random lines used for training throughput (one per 25 points).
CHARS_PER_POINT = 1 / 25


def forward_flops_per_point(config: ModelConfig, chars: int) -> float:
    """Forward FLOPs of one point (see the module docstring)."""
    h, v, k, m, n = (config.lstm_units, config.vocabulary_size, config.window_components,
                     config.mixture_components, config.lstm_layers)
    lstm = 8 * h * (3 + v + h) + (n - 1) * 8 * h * (3 + v + 2 * h)
    window = 2 * h * 3 * k + 6 * chars * k + 2 * chars * v
    output = 2 * n * h * (1 + 6 * m)
    return float(lstm + window + output)


def training_flops_per_point(config: ModelConfig, chars: int) -> float:
    return TRAINING_FLOP_FACTOR * forward_flops_per_point(config, chars)


def matmul_rate(size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a ``size x size`` float32 matmul on the current backend: the best of ``repeats``.

    The best rather than the median: the device's rate is what it can reach, and on a shared
    machine a slow repeat says more about the neighbours than about the device.
    """
    from keras import ops

    a = ops.convert_to_tensor(np.random.default_rng(0).normal(size=(size, size)).astype(np.float32))
    b = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(size, size)).astype(np.float32))
    np.asarray(ops.matmul(a, b))  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.asarray(ops.matmul(a, b))
        times.append(time.perf_counter() - t0)
    return 2.0 * size**3 / min(times)


class MachinePace:
    """The machine's pace now: microseconds of a fixed NumPy workload shaped like one step of a
    network of ``config`` (see :meth:`measure`), timed beside each writing figure.

    The development machine is a shared virtual machine whose speed moves by up to 1.8x within a
    minute with nothing stolen from it (a 512-float ``tanh`` loop alone took 1.9-3.5 us), so an
    absolute points/s says as much about the neighbours as about the code. The pace is the same
    arithmetic as the step without the model: ``lstm_layers`` float32 vector-matrix products of
    ``[1 + 3 + V + 2H] x [4H]`` (the larger layers' stacked weights, as the NumPy engine lays
    them out; 2 MB for the shipped 3 x 128 network, so they stream from L3 as the step's do) and
    a ``tanh`` over ``4H`` gates each. A figure and the pace measured around it are one reading
    of the machine: ``points/s x pace`` stays put when only the machine's speed moves.
    """

    CALLS = 100  # workload repetitions per burst
    BURSTS = 5  # the best burst counts: the pace the machine ran at, not its pauses

    def __init__(self, config: ModelConfig):
        from ..writing.numpy_engine import INPUT_SIZE

        rng = np.random.default_rng(0)
        h = config.lstm_units
        rows = 1 + INPUT_SIZE + config.vocabulary_size + 2 * h  # [1, x, w, h below, h] of a layer n > 1
        self.kernels = [rng.random((rows, 4 * h), dtype=np.float32) for _ in range(config.lstm_layers)]
        self.inputs = rng.random(rows, dtype=np.float32)
        self.gates = np.empty(4 * h, np.float32)

    def measure(self) -> float:
        """Microseconds per workload: the best of ``BURSTS`` bursts of ``CALLS``."""
        best = float("inf")
        for _ in range(self.BURSTS):
            t0 = time.perf_counter()
            for _ in range(self.CALLS):
                for kernel in self.kernels:
                    np.dot(self.inputs, kernel, self.gates)
                    np.tanh(self.gates, self.gates)
            best = min(best, (time.perf_counter() - t0) / self.CALLS)
        return best * 1e6


@dataclass
class TrainingCase:
    """One training measurement's settings."""

    batch_size: int
    points: int
    loop: str
    jit_compile: bool


def measure_training(model_config: ModelConfig, train_config: TrainConfig, case: TrainingCase, steps: int) -> dict:
    """Points/s of full optimizer steps (first step timed apart), with FLOP figures."""
    from ..training.steppers import measure_throughput

    m = replace(model_config, {"training_loop": case.loop})
    t = replace(train_config, {"jit_compile": case.jit_compile})
    result = measure_throughput(m, t, batch_size=case.batch_size, points=case.points, steps=steps,
                                chars_per_point=CHARS_PER_POINT)
    chars = max(1, round(case.points * CHARS_PER_POINT))
    flops = training_flops_per_point(m, chars)
    return {**case.__dict__, **result, "flops_per_point": flops, "flop_rate": result["points_per_s"] * flops}


def measure_writing(checkpoint, line: str, batch_lines: int, repeats: int, engine: str = "tensorflow") -> dict:
    """Latency and points/s of writing one line, and ``batch_lines`` lines in one batch, after
    warm-up, with the sampler ``engine`` (``numpy`` or ``tensorflow``): the sampler alone
    (unprimed, bias 0.75), and the one line as ``Hand.write`` writes it (``hand_write``)."""
    from ..writing.hand import load

    t0 = time.perf_counter()
    hand = load(checkpoint, engine=engine)
    load_s = time.perf_counter() - t0
    pace = MachinePace(hand.sampler.config)
    results = {"engine": engine, "load_s": load_s, "line_chars": len(line)}
    for name, lines in (("one_line", [line]), ("batch", [line] * batch_lines)):
        results[name] = _timed(lambda seed: hand.sampler.sample(lines, bias=0.75, seed=seed).offsets, repeats, pace)
        results[name]["lines"] = len(lines)
    # as a user writes it: the default style and bias, pieces, the page
    results["hand_write"] = _timed(lambda seed: hand.write(line, seed=seed).lines, repeats, pace)
    results["hand_write"]["lines"] = 1
    return results


def _timed(write, repeats: int, pace: MachinePace | None = None) -> dict:
    """Median seconds, points/s and points of ``write(seed) -> list of [N, 3] arrays (or None)``
    over seeds ``1..repeats``, after one call with seed 0 (tracing and warm-up); with ``pace``,
    also the median machine pace (us, :class:`MachinePace`) measured before each call and after the last."""
    write(0)
    times, points, paces = [], [], []
    for seed in range(1, repeats + 1):
        if pace is not None:
            paces.append(pace.measure())
        t0 = time.perf_counter()
        lines = write(seed)
        times.append(time.perf_counter() - t0)
        points.append(sum(len(c) for c in lines if c is not None))
    result = {"seconds": float(np.median(times)), "points_per_s": float(np.median(np.array(points) / np.array(times))),
              "points": int(np.median(points))}
    if pace is not None:
        paces.append(pace.measure())
        result["pace_us"] = float(np.median(paces))
    return result


def measure_prompt_file(checkpoint, prompts: list[str], engine: str, repeats: int = 3) -> dict:
    """Points/s of writing a prompt file as ``handwriting write --input`` does (``Hand.write_many``,
    one drawing per prompt, the default style and bias), after start-up and one warm-up pass; the
    median of ``repeats``, with the machine's pace (:func:`_timed`)."""
    from ..writing.hand import load

    hand = load(checkpoint, engine=engine)
    result = _timed(lambda seed: [line for d in hand.write_many(prompts, seed=seed) for line in d.lines], repeats,
                    MachinePace(hand.sampler.config))
    return {"engine": engine, "prompts": len(prompts), **result}


def cold_start(checkpoint, engine: str = "tensorflow", command: list[str] | None = None, repeats: int = 3) -> dict:
    """Wall times of fresh processes, less an empty ``python``'s: importing the package (with the
    engine's framework), importing and loading the model, and the whole ``command`` (a
    ``handwriting ...`` argument list; the median of ``repeats``)."""
    def run(args: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, capture_output=True)
        return time.perf_counter() - t0

    baseline = run(["-c", "pass"])
    framework = "; import handwriting.backend as b; b.import_backend()" if engine == "tensorflow" else ""
    imp = run(["-c", "import handwriting" + framework])
    full = run(["-c", f"import handwriting; handwriting.load({str(checkpoint)!r}, engine={engine!r})"])
    result = {"engine": engine, "python_s": baseline, "import_s": imp - baseline, "import_and_load_s": full - baseline}
    if command:
        times = [run(["-m", "handwriting", *command, "--engine", engine]) for _ in range(repeats)]
        result["command"] = " ".join(command)
        result["command_s"] = float(np.median(times))
    return result
