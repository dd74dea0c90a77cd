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
