"""The benchmark's FLOP formula against the model's own weight shapes (speed itself is never asserted)."""

import numpy as np
import pytest

from handwriting.tools.benchmark import forward_flops_per_point, training_flops_per_point


@pytest.mark.parametrize("units, layers, k, m", [(8, 3, 2, 2), (16, 2, 3, 5), (32, 1, 1, 1)])
def test_forward_flops_are_twice_the_weight_entries_plus_the_window(units, layers, k, m):
    from handwriting.config import ModelConfig
    from handwriting.nn.model import build_model

    config = ModelConfig(lstm_units=units, lstm_layers=layers, window_components=k, mixture_components=m)
    model = build_model(config, seed=0)
    # Every kernel entry is one multiply-add per point (biases are not counted).
    macs = sum(int(np.prod(w.shape)) for w in model.weights if len(w.shape) == 2)
    chars = 7
    window_extra = 6 * chars * k + 2 * chars * config.vocabulary_size
    assert forward_flops_per_point(config, chars) == 2 * macs + window_extra
    assert training_flops_per_point(config, chars) == 3 * forward_flops_per_point(config, chars)


@pytest.mark.slow
def test_the_benchmark_script_measures_and_reports(tmp_path):
    """A smoke run: tiny config, one short step; the JSON has every part and the fractions."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(script), "--config", "tiny", "--batches", "2", "--points", "32",
                           "--loops", "split", "fused", "--steps", "1", "--backends", "tensorflow", "--skip-write",
                           "--json", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(out.read_text())["results"]
    assert result["backend"] == "tensorflow" and result["matmul_flops"] > 0 and result["intra_op_threads"] == 1
    assert [t["loop"] for t in result["training"]] == ["split", "fused"]
    for t in result["training"]:  # each fraction is the step's FLOP rate over the measured matmul rate
        assert t["points_per_s"] > 0
        assert t["flop_rate"] == pytest.approx(t["points_per_s"] * t["flops_per_point"])
        assert t["fraction_of_matmul"] == pytest.approx(t["flop_rate"] / result["matmul_flops"])
    assert "| tensorflow | train 32 pts | 2 | split |" in done.stdout


def test_the_machine_pace_is_the_step_shaped_workload_of_the_config():
    """Shaped like the NumPy engine's larger layers ([1 + 3 + V + 2H] x 4H, one per layer); its
    figure accompanies each writing figure (the time itself is not asserted)."""
    from handwriting.checkpoint import read_config
    from handwriting.tools.benchmark import MachinePace, _timed
    from handwriting.writing.numpy_sampler import NumpySampler
    from pathlib import Path

    default = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
    config = read_config(default).model
    pace = MachinePace(config)
    network = NumpySampler.from_checkpoint(default).network
    units = config.lstm_units
    assert [k.shape for k in pace.kernels] == [(1 + 3 + config.vocabulary_size + 2 * units, 4 * units)] * 3
    assert pace.kernels[0].shape == network.kernels["tanh"][1].shape  # layer 2's stacked weights
    assert sum(k.nbytes for k in pace.kernels) > 2_000_000  # beyond L2, like the step's weights
    calls = []
    result = _timed(lambda seed: calls.append(seed) or [np.zeros((seed, 3))], 3, pace)
    assert calls == [0, 1, 2, 3] and result["points"] == 2 and result["pace_us"] > 0
    assert "pace_us" not in _timed(lambda seed: [np.zeros((1, 3))], 1)


def test_the_table_shows_each_writing_figure_with_its_pace():
    """Older result files (no pace) still print, with "-" in the pace column."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    figure = {"points_per_s": 12000.0, "seconds": 0.05, "lines": 1, "pace_us": 41.3}
    without_pace = {k: v for k, v in figure.items() if k != "pace_us"}
    engine = {"writing": {"engine": "numpy", "line_chars": 41, "one_line": figure,
                          "batch": {**figure, "lines": 64}, "hand_write": without_pace},
              "prompt_file": {"prompts": 65, "points_per_s": 30000.0, "seconds": 1.0, "pace_us": 50.0},
              "cold_start": {"import_s": 0.2, "import_and_load_s": 0.3, "command": "write Hi -o x.svg",
                             "command_s": 0.8}}
    rows = script.table([{"backend": "tensorflow", "matmul_flops": 1e11, "engines": [engine]}]).splitlines()
    assert rows[0].endswith("| machine pace |")
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    assert rows[2].endswith("| 12,000 | 0.05 s | - | - | 41.3 us |")
    assert "hand.write" in rows[4] and rows[4].endswith("| - |")
    assert rows[5].endswith("| 50.0 us |")
