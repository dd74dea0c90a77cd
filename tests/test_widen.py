"""Net2WiderNet widening (handwriting.nn.widen): the wider network computes the same function,
its copies are not symmetric, and `train --init-from` widens a checkpoint's network."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from handwriting import checkpoint as ckpt
from handwriting.config import preset, replace
from handwriting.nn.model import build_model, load_model
from handwriting.nn.widen import assign_arrays, model_arrays, unit_mapping, widen_arrays, widen_model


def _inputs(rng, batch=2, points=12, chars=5):
    mask = np.ones((batch, chars), np.float32)
    mask[1, -1] = 0
    return {"x": rng.normal(size=(batch, points, 3)).astype(np.float32),
            "chars": rng.integers(1, 60, (batch, chars)).astype(np.int32), "char_mask": mask}


def _randomised(model, seed=0):
    """Weights of a trained-looking size (the initial biases are too regular to test with)."""
    rng = np.random.default_rng(seed)
    assign_arrays(model, {k: (0.4 * rng.normal(size=v.shape)).astype(np.float32)
                          for k, v in model_arrays(model).items()})
    return model


@pytest.mark.parametrize("loop", ["split", "fused"])
def test_the_widened_network_computes_the_same_outputs(tiny_model_config, loop):
    narrow = _randomised(build_model(dataclasses.replace(tiny_model_config, training_loop=loop), seed=0))
    wide = build_model(dataclasses.replace(tiny_model_config, training_loop=loop, lstm_units=21), seed=1)
    widen_model(narrow, wide, seed=3)
    inputs = _inputs(np.random.default_rng(1))
    a = narrow(inputs, return_attention=True, return_state=True)
    b = wide(inputs, return_attention=True, return_state=True)
    for key in ("y", "phi", "kappa"):
        np.testing.assert_allclose(np.asarray(b[key]), np.asarray(a[key]), rtol=1e-4, atol=2e-5)
    # Each new unit's state is its original's.
    g = unit_mapping(8, 21, np.random.default_rng(3))
    np.testing.assert_allclose(np.asarray(b["state"]["h"][0]), np.asarray(a["state"]["h"][0])[:, g], atol=2e-5)


def test_copies_share_outgoing_weights_unequally_and_sum_to_the_original():
    rng = np.random.default_rng(0)
    arrays = {f"lstm{n}/{k}": rng.normal(size=s).astype(np.float32) for n in (1, 2)
              for k, s in (("kernel", (3 + 82 + (4 if n == 2 else 0), 16)), ("recurrent_kernel", (4, 16)),
                           ("bias", (16,)))}
    arrays.update({"window_params/kernel": rng.normal(size=(4, 6)), "window_params/bias": rng.normal(size=6),
                   "mixture_output/kernel": rng.normal(size=(8, 13)), "mixture_output/bias": rng.normal(size=13)})
    wide = widen_arrays(arrays, layers=2, old_units=4, new_units=9, seed=5)
    assert wide["lstm1/recurrent_kernel"].shape == (9, 36)
    assert wide["lstm2/kernel"].shape == (3 + 82 + 9, 36)
    assert wide["mixture_output/kernel"].shape == (18, 13)
    g = unit_mapping(4, 9, np.random.default_rng(5))  # layer 1's mapping comes first from the seed
    rows = wide["window_params/kernel"]
    summed = np.zeros((4, 6))
    np.add.at(summed, g, rows)
    np.testing.assert_allclose(summed, arrays["window_params/kernel"], rtol=1e-5)
    copied = [j for j in range(4, 9)]
    assert all(not np.allclose(rows[j], rows[g[j]]) for j in copied)  # symmetry broken


def test_widening_to_fewer_units_is_refused():
    with pytest.raises(Exception, match="fewer"):
        unit_mapping(8, 4, np.random.default_rng(0))


def test_training_starts_from_a_widened_checkpoint(tmp_path, tiny_checkpoint, tiny_dataset_file):
    from handwriting.training.options import resolve_configs
    from handwriting.training.trainer import Trainer, read_history

    model, train = resolve_configs("tiny", None, {"lstm_units": 24, "steps": 2, "batch_size": 4,
                                                  "validation_every": 2, "checkpoint_every": 2},
                                   init_dir=tiny_checkpoint)
    assert model.lstm_units == 24 and model.window_components == 2
    log = io.StringIO()
    trainer = Trainer(tiny_dataset_file, tmp_path / "wide", model, train, init_from=tiny_checkpoint, log=log)
    assert "widened from 16 to 24" in log.getvalue()
    narrow, _, _ = load_model(tiny_checkpoint)
    batch = trainer.data.validation[0] if trainer.data.validation else trainer.data.train.batch(0, 0)
    inputs = batch.model_inputs()
    np.testing.assert_allclose(np.asarray(trainer.model(inputs)["y"]), np.asarray(narrow(inputs)["y"]),
                               rtol=1e-4, atol=5e-5)
    trainer.run()
    history = read_history(tmp_path / "wide")
    assert history[-1]["step"] == 2 and history[-1]["lstm_units"] == 24 and history[-1]["cpu_hours"] > 0
    assert ckpt.read_config(tmp_path / "wide").model.lstm_units == 24


def test_init_from_may_not_narrow_or_change_other_fields(tiny_checkpoint):
    from handwriting.errors import HandwritingError
    from handwriting.training.options import resolve_configs

    with pytest.raises(HandwritingError, match="lstm_units"):
        resolve_configs("tiny", None, {"lstm_units": 8}, init_dir=tiny_checkpoint)
    with pytest.raises(HandwritingError, match="window_components"):
        resolve_configs("tiny", None, {"window_components": 3}, init_dir=tiny_checkpoint)
