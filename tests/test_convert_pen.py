"""scripts/convert_pen_convention.py: the converted network on 0/1 pen inputs equals the old one
on 1/scale pen inputs, with the pen logit shifted by log(scale)."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "convert_pen_convention.py"


def _script():
    spec = importlib.util.spec_from_file_location("convert_pen_convention", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(rng, steps=12, chars=4, vocabulary=82):
    x = rng.normal(size=(2, steps, 3)).astype(np.float32)
    x[:, :, 2] = rng.random((2, steps)) < 0.3
    ids = rng.integers(1, vocabulary, (2, chars)).astype(np.int32)
    return x, ids


def test_converted_weights_on_unit_pen_inputs_equal_the_old_on_scaled_ones(tiny_model_config):
    from handwriting.model import build_model

    scale = 9.455
    model = build_model(tiny_model_config, seed=1)
    x, ids = _inputs(np.random.default_rng(0), vocabulary=tiny_model_config.vocabulary_size)
    mask = np.ones_like(ids, np.float32)
    old_x = x.copy()
    old_x[:, :, 2] /= scale
    before = np.asarray(model({"x": old_x, "chars": ids, "char_mask": mask})["y"])
    _script().convert(model, scale)
    after = np.asarray(model({"x": x, "chars": ids, "char_mask": mask})["y"])
    np.testing.assert_allclose(after[..., 1:], before[..., 1:], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(after[..., 0], before[..., 0] + math.log(scale), rtol=1e-4, atol=1e-5)


def test_the_script_writes_a_marked_checkpoint_and_refuses_twice(tiny_checkpoint, tmp_path):
    script = _script()
    assert script.main([str(tiny_checkpoint), str(tmp_path / "converted")]) == 0
    config = json.loads((tmp_path / "converted" / "config.json").read_text())
    assert config[script.MARK] is True
    assert (tmp_path / "converted" / "styles" / "toy.json").exists()
    assert script.main([str(tmp_path / "converted"), str(tmp_path / "again")]) == 2
    assert not (tmp_path / "again").exists()
    assert script.main([str(tiny_checkpoint), str(tmp_path / "converted")]) == 2  # exists
