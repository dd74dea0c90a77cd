"""Config, data pipeline, training loop, checkpoints, resume and signals (tiny configs)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handwriting import checkpoint as ckpt
from handwriting.config import ModelConfig, TrainConfig, apply_overrides, from_dict, preset, to_dict
from handwriting.training.batches import BatchStream, prepare
from handwriting.alphabet import alphabet_config
from handwriting.checkpoint import read_config
from handwriting.errors import HandwritingError
from handwriting.nn.model import load_model

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = dict(lstm_units=8, window_components=2, mixture_components=2)
#: The same tiny network and batch as `handwriting train` flags.
TINY_FLAGS = ["--lstm-units", "8", "--window-components", "2", "--mixture-components", "2", "--batch-size", "4"]


def tiny_train_config(**kw) -> TrainConfig:
    values = dict(batch_size=4, steps=4, learning_rate=1e-2, warmup_steps=0, lr_decay="none",
                  validation_every=1000, checkpoint_every=2, log_every=1000, validation_fraction=0.25,
                  validation_batches=2, pad_multiple=8, bucket_batches=2, max_points=0)
    values.update(kw)
    return TrainConfig(**values)


# ------------------------------------------------------------------ config


def test_config_json_round_trip_and_presets():
    model, train = preset("small")
    text = json.dumps({"model": to_dict(model), "train": to_dict(train)})
    back = json.loads(text)
    assert from_dict(ModelConfig, back["model"]) == model
    assert from_dict(TrainConfig, back["train"]) == train
    graves, _ = preset("graves")
    assert (graves.lstm_units, graves.lstm_layers, graves.window_components, graves.mixture_components) == (400, 3, 10, 20)
    with pytest.raises(HandwritingError, match="unknown config preset"):
        preset("huge")


def test_overrides_and_unknown_keys(tmp_path):
    model, train = preset("tiny")
    model, train = apply_overrides(model, train, ["model.lstm_units=12", "batch_size=3", "augment=true"])
    assert model.lstm_units == 12 and train.batch_size == 3 and train.augment is True
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": {"mixture_components": 4}, "train": {"seed": 9}}))
    model, train = apply_overrides(model, train, [], path)
    assert model.mixture_components == 4 and train.seed == 9 and model.lstm_units == 12
    for bad in (["lstm_unit=3"], ["train.lstm_units=3"], ["nokey"], ["batch_size=abc"]):
        with pytest.raises(HandwritingError):
            apply_overrides(model, train, bad)
    path.write_text(json.dumps({"model": {"nope": 1}}))
    with pytest.raises(HandwritingError, match="unknown ModelConfig keys: nope"):
        apply_overrides(model, train, [], path)
    for bad in (["training_loop=sideways"], ["intra_op_threads=-1"]):
        with pytest.raises(HandwritingError, match="training_loop|intra_op_threads"):
            m, t = apply_overrides(model, train, bad)
            m.validate()
            t.validate()


def test_learning_rate_warm_up_and_decay():
    from handwriting.training.optim import learning_rate_at

    cfg = TrainConfig(learning_rate=1e-3, warmup_steps=10, steps=110, lr_decay="cosine", lr_min_fraction=0.1)
    lr = [float(learning_rate_at(s, cfg)) for s in range(110)]
    assert lr[0] == pytest.approx(1e-4) and lr[9] == pytest.approx(1e-3)
    assert all(a <= b + 1e-12 for a, b in zip(lr[:10], lr[1:10]))
    assert all(a >= b - 1e-12 for a, b in zip(lr[10:], lr[11:]))
    assert float(learning_rate_at(110, cfg)) == pytest.approx(1e-4)
    exp = dataclasses.replace(cfg, lr_decay="exponential", lr_decay_rate=0.5, lr_decay_steps=50)
    assert float(learning_rate_at(60, exp)) == pytest.approx(5e-4)


# ------------------------------------------------------------------ data


def test_batches_shift_inputs_scale_and_mask(tiny_dataset):
    cfg = tiny_train_config()
    data = prepare(tiny_dataset, cfg)
    batch = data.train.batch(0, 0)
    row = 0
    i = batch.indices[row]
    n = int(batch.point_mask[row].sum())
    line = data.train.offsets[i]
    assert n == len(line) and batch.x.shape[1] % cfg.pad_multiple == 0
    np.testing.assert_array_equal(batch.target[row, :n], line)
    np.testing.assert_array_equal(batch.x[row, 0], 0.0)
    np.testing.assert_array_equal(batch.x[row, 1:n], line[:-1])
    assert (batch.target[row, n:] == 0).all() and (batch.point_mask[row, n:] == 0).all()
    u = int(batch.char_mask[row].sum())
    assert u == len(data.train.chars[i]) and (batch.chars[row, u:] == 0).all()
    # The dataset scale is applied to the steps; the pen column stays 0 or 1 in inputs and targets,
    # as the sampler feeds it back (it was once divided too: the model then lifted the pen a tenth
    # as often as it should, and read every sampled lift as ten times too strong).
    original = [o for o in tiny_dataset.offsets if len(o) == n]
    assert any(np.allclose(o[:, :2] / tiny_dataset.scale, line[:, :2]) and (o[:, 2] == line[:, 2]).all()
               for o in original)
    assert set(np.unique(batch.target[:, :, 2])) == {0.0, 1.0} and set(np.unique(batch.x[:, :, 2])) == {0.0, 1.0}


def test_epochs_are_deterministic_cover_lines_and_little_padding(tiny_dataset):
    cfg = tiny_train_config(bucket_batches=3, pad_multiple=1)
    data = prepare(tiny_dataset, cfg)
    stream = data.train
    plan = stream.epoch_plan(1)
    assert all((a == b).all() for a, b in zip(plan, stream.epoch_plan(1)))
    assert any((a != b).any() for a, b in zip(plan, stream.epoch_plan(2)))
    seen = np.concatenate(plan)
    assert len(np.unique(seen)) == len(seen) == stream.batches_per_epoch * cfg.batch_size
    unbucketed = BatchStream(stream.offsets, stream.chars, dataclasses.replace(cfg, bucket_batches=1))
    assert stream.padded_fraction(1) <= unbucketed.padded_fraction(1)
    # Resumable: iterating from a position gives the same batches as getting there.
    it = stream.iterate(0, 0)
    for _ in range(stream.batches_per_epoch + 1):
        epoch, index, expected = next(it)
    _, _, again = next(stream.iterate(epoch, index))
    np.testing.assert_array_equal(again.x, expected.x)


def test_characters_are_padded_to_the_configured_multiple(tiny_dataset):
    for multiple in (1, 16):
        data = prepare(tiny_dataset, tiny_train_config(char_pad_multiple=multiple))
        for batch in [data.train.batch(0, i) for i in range(data.train.batches_per_epoch)] + data.validation:
            longest = int(batch.char_mask.sum(axis=1).max())
            assert batch.chars.shape[1] == -(-longest // multiple) * multiple
    with pytest.raises(HandwritingError, match="char_pad_multiple"):
        tiny_train_config(char_pad_multiple=0).validate()


def test_augmentation_is_seeded_by_position(tiny_dataset):
    cfg = tiny_train_config(augment=True, augment_scale=0.2, augment_shear=0.2)
    stream = prepare(tiny_dataset, cfg).train
    a, b = stream.batch(0, 1), stream.batch(0, 1)
    np.testing.assert_array_equal(a.x, b.x)
    plain = prepare(tiny_dataset, dataclasses.replace(cfg, augment=False)).train.batch(0, 1)
    assert not np.allclose(a.target, plain.target)
    np.testing.assert_array_equal(a.target[..., 2], plain.target[..., 2])


def test_validation_split_is_by_writer(tiny_dataset):
    data = prepare(tiny_dataset, tiny_train_config())
    assert data.validation_lines > 0 and data.train_lines + data.validation_lines == len(tiny_dataset)
    empty_rows = np.concatenate([b.indices < 0 for b in data.validation])
    assert all(b.point_mask[b.indices < 0].sum() == 0 for b in data.validation) and empty_rows.sum() >= 0


# ------------------------------------------------------------------ training


@pytest.mark.slow
def test_overfitting_one_batch_cuts_the_loss(tiny_dataset):
    from handwriting.nn.model import build_model
    from handwriting.training.optim import make_optimizer
    from handwriting.training.steppers import Stepper

    model_cfg = ModelConfig(lstm_units=32, window_components=2, mixture_components=3)
    cfg = tiny_train_config(learning_rate=1e-2, steps=100, clip_norm=10.0, batch_size=2)
    batch = prepare(tiny_dataset, cfg).train.batch(0, 0)
    model = build_model(model_cfg, seed=0)
    optimizer = make_optimizer(cfg)
    optimizer.build(model.trainable_variables)
    stepper = Stepper(model, optimizer, model_cfg, cfg)
    losses = []
    for _ in range(cfg.steps):
        loss_sum, _, grads = stepper.gradients(batch)
        stepper.apply(grads)
        losses.append(float(loss_sum) / batch.points)
    first, last = losses[0], min(losses[-10:])
    # Nats per point (a density can go below zero): a drop of 3 nats and at least a factor 3.
    assert last < first - 3.0 and last < first / 3, (first, last)


def _run(data_file, out, steps, resume=False, max_minutes=None, **kw):
    from handwriting.training.trainer import run_training

    log = []

    class Log:
        def write(self, text):
            log.append(text)

        def flush(self):
            pass

    result = run_training(data_file, out, ModelConfig(**TINY_MODEL), tiny_train_config(steps=steps, **kw),
                          resume=resume, max_minutes=max_minutes, log=Log())
    return result, "".join(log)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted 5-step run, and a 3-step run resumed to step 5 (shared by several tests)."""
    from conftest import make_tiny_dataset
    from handwriting.datasets.format import save_dataset

    root = tmp_path_factory.mktemp("runs")
    data_file = root / "tiny.npz"
    save_dataset(make_tiny_dataset(), data_file)
    full, _ = _run(data_file, root / "full", 5, validation_every=3)
    part, _ = _run(data_file, root / "part", 3, validation_every=3)
    resumed, text = _run(data_file, root / "part", 5, resume=True, validation_every=3)
    return dict(root=root, data=data_file, full=full, part=part, resumed=resumed, text=text)


@pytest.mark.slow
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(runs):
    assert runs["part"].step == 3
    assert "resumed from" in runs["text"] and "at step 3" in runs["text"]
    assert set(runs["resumed"].losses) == {4, 5}
    for step in (4, 5):
        assert runs["resumed"].losses[step] == pytest.approx(runs["full"].losses[step], rel=1e-5, abs=1e-6)
    assert runs["resumed"].validation[5] == pytest.approx(runs["full"].validation[5], rel=1e-5)


@pytest.mark.slow
def test_run_directory_is_a_self_describing_checkpoint(runs):
    part = runs["root"] / "part"
    config = ckpt.read_config(part)
    assert config.step == 5 and config.scale == 2.0 and config.model.lstm_units == 8
    assert config.format_version == ckpt.FORMAT_VERSION and config.alphabet == alphabet_config()
    assert [p.name for p in ckpt.step_dirs(part)] == ["step-00000004", "step-00000005"]  # rotated: keep 2
    assert (part / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (part / "best" / ckpt.WEIGHTS_FILE).is_file()
    assert list((part / "logs").iterdir())
    assert not [p for p in part.rglob(".*")]  # no temporary files left behind
    with pytest.raises(HandwritingError, match="already holds checkpoints"):
        _run(runs["data"], part, 6)


@pytest.mark.slow
def test_load_model_restores_outputs(runs):
    from handwriting.datasets.format import load_dataset
    from handwriting.nn.model import build_model

    model, config, scale = load_model(runs["root"] / "full")
    assert scale == 2.0 and config.step == 5
    batch = prepare(load_dataset(runs["data"]), tiny_train_config()).train.batch(0, 0)
    fresh = build_model(ModelConfig(**TINY_MODEL), seed=123)
    fresh.load_weights(str(runs["root"] / "full" / "checkpoints" / "step-00000005" / ckpt.WEIGHTS_FILE))
    np.testing.assert_allclose(np.asarray(model(batch.model_inputs())["y"]),
                               np.asarray(fresh(batch.model_inputs())["y"]), rtol=1e-6)


@pytest.mark.slow
def test_validation_loss_does_not_depend_on_character_padding(runs):
    from handwriting.datasets.format import load_dataset
    from handwriting.training.steppers import NllEvaluator

    model, config, _ = load_model(runs["root"] / "full")
    losses = []
    for multiple in (1, 24):
        data = prepare(load_dataset(runs["data"]), tiny_train_config(char_pad_multiple=multiple))
        assert data.validation[0].chars.shape[1] % multiple == 0
        losses.append(NllEvaluator(model, config.model).evaluate(data.validation))
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


@pytest.mark.slow
def test_a_time_budget_ends_with_a_validation_and_a_checkpoint(tmp_path, tiny_dataset_file):
    result, text = _run(tiny_dataset_file, tmp_path / "run", 1000, max_minutes=0, validation_every=1000,
                        checkpoint_every=1000)
    assert result.stopped_by == "time" and result.step == 1 and "--max-minutes 0 reached" in text
    assert set(result.validation) == {1} and "step 1: validation NLL" in text
    assert ckpt.read_config(tmp_path / "run" / "best").step == 1
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step-00000001"


@pytest.mark.slow
def test_non_finite_loss_halts_and_keeps_the_last_good_weights(tmp_path, tiny_dataset_file, monkeypatch):
    from handwriting.training import steppers, trainer

    original = steppers.Stepper.gradients
    calls = {"n": 0}

    def poisoned(self, batch):
        calls["n"] += 1
        loss_sum, norm, grads = original(self, batch)
        return (float("nan") if calls["n"] == 3 else loss_sum), norm, grads

    monkeypatch.setattr(steppers.Stepper, "gradients", poisoned)
    with pytest.raises(trainer.TrainingDiverged, match="non-finite loss at step 3"):
        _run(tiny_dataset_file, tmp_path / "run", 10, checkpoint_every=100, optimizer="rmsprop")
    assert ckpt.read_config(tmp_path / "run").step == 2
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step-00000002"


@pytest.mark.slow
def test_sigterm_saves_and_resume_continues(tmp_path, tiny_dataset_file, capsys):
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    base = [sys.executable, "-m", "handwriting", "train", "--data", str(tiny_dataset_file), "--out", str(out)]
    args = base + ["--config", "tiny", *TINY_FLAGS, "--checkpoint-every", "1000", "--log-every", "1",
                   "--validation-every", "1000", "--steps", "100000"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("step 3/"):
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=60)
    lines.append(rest)
    assert proc.returncode == 130, "".join(lines)
    saved = ckpt.read_config(out).step
    assert saved >= 3 and ckpt.latest_checkpoint(out).name == ckpt.step_dir_name(saved)
    assert not [p for p in (out / ckpt.CHECKPOINTS_DIR).iterdir() if p.name.startswith(".")]
    # On resume the configs come from the checkpoint; --steps extends the run (in-process: faster).
    from handwriting.cli import main

    assert main(["train", "--data", str(tiny_dataset_file), "--out", str(out), "--resume",
                 "--steps", str(saved + 2)]) == 0
    text = capsys.readouterr().out
    assert f"at step {saved}" in text and f"step {saved + 2}/{saved + 2}" in text
    assert ckpt.read_config(out).step == saved + 2


def test_cli_rejects_bad_options(tmp_path, tiny_dataset_file, capsys):
    from handwriting.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tiny_dataset_file), "--out", str(tmp_path / "r"), "--lstm-unitz", "3"])
    assert exit_info.value.code == 2 and "--lstm-unitz" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "r"),
                 "--config", "tiny"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["train", "--data", str(tiny_dataset_file), "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


MIRRORED_CHECK = """
import os, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from conftest import make_tiny_dataset
from handwriting.config import ModelConfig, TrainConfig
from handwriting.training.batches import prepare
from handwriting.nn.model import build_model
from handwriting.training.optim import make_optimizer
from handwriting.training.steppers import Stepper

mcfg = ModelConfig(lstm_units=8, window_components=2, mixture_components=2)
tcfg = TrainConfig(batch_size=4, learning_rate=1e-2, warmup_steps=0, lr_decay="none", validation_fraction=0.25,
                   max_points=0)
batch = prepare(make_tiny_dataset(), tcfg).train.batch(0, 0)
results = []
for distributed in (False, True):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if distributed else None
    scope = strategy.scope() if strategy else tf.name_scope("single")
    with scope:
        model = build_model(mcfg, seed=0)
        opt = make_optimizer(tcfg)
        opt.build(model.trainable_variables)
    stepper = Stepper(model, opt, mcfg, tcfg, strategy)
    loss, norm, grads = stepper.gradients(batch)
    stepper.apply(grads)
    results.append((float(loss), float(norm), [np.asarray(v) for v in model.trainable_variables]))
(l1, n1, w1), (l2, n2, w2) = results
initial = [np.asarray(v) for v in build_model(mcfg, seed=0).trainable_variables]
assert stepper.replicas == 2
assert abs(l1 - l2) <= 1e-5 * abs(l1), (l1, l2)
assert abs(n1 - n2) <= 1e-5 * abs(n1), (n1, n2)
assert max(float(np.abs(a - b).max()) for a, b in zip(w1, initial)) > 1e-3  # the step did change the weights
assert max(float(np.abs(a - b).max()) for a, b in zip(w1, w2)) < 1e-5
print("MIRRORED OK")
"""


@pytest.mark.slow
def test_mirrored_step_equals_single_device_step(tmp_path):
    script = tmp_path / "mirrored_check.py"
    script.write_text(MIRRORED_CHECK)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(script), str(ROOT / "tests")], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 0 and "MIRRORED OK" in done.stdout, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("HANDWRITING_SLOW_TESTS"), reason="two TF worker processes on fixed ports; set HANDWRITING_SLOW_TESTS=1")
def test_multiworker_two_local_workers_match_one_process(tmp_path, tiny_dataset_file):
    """MultiWorkerMirroredStrategy with two worker processes on localhost: same losses as one process."""
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("localhost", 0))
            ports.append(sock.getsockname()[1])
    common = ["--data", str(tiny_dataset_file), "--config", "tiny", "--steps", "3", *TINY_FLAGS, "--log-every", "1"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    workers = []
    for index in range(2):
        config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "handwriting", "train", *common, "--out", str(tmp_path / "mw"), "--distribute", "multiworker"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**env, "TF_CONFIG": json.dumps(config)}))
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    single = subprocess.run([sys.executable, "-m", "handwriting", "train", *common, "--out", str(tmp_path / "one")], capture_output=True,
                            text=True, env=env, timeout=300)

    def losses(text):
        return [line.split("loss ")[1].split()[0] for line in text.splitlines() if line.startswith("step ") and "loss" in line]

    assert losses(outputs[0]) == losses(outputs[1]) == losses(single.stdout) and len(losses(single.stdout)) == 3
    assert ckpt.read_config(tmp_path / "mw").step == 3
    assert ckpt.read_config(tmp_path / "mw" / "workers" / "1").step == 3


JAX_TRAIN = """
import os, sys
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np
import keras
assert keras.backend.backend() == "jax"
sys.path.insert(0, sys.argv[1])
from test_train import _run, tiny_train_config
from handwriting import checkpoint as ckpt
from handwriting.training.batches import prepare
from handwriting.datasets.format import load_dataset

result, _ = _run(sys.argv[2], sys.argv[3], 4)
assert result.losses[4] < result.losses[1], result.losses
from handwriting.nn.model import load_model
model, _, _ = load_model(sys.argv[3])
batch = prepare(load_dataset(sys.argv[2]), tiny_train_config()).train.batch(0, 0)
np.save(sys.argv[4], np.asarray(model(batch.model_inputs(), return_attention=True)["y"]))
print("JAX OK")
"""


@pytest.mark.slow
def test_weights_from_jax_load_on_tensorflow(tmp_path, tiny_dataset_file):
    """A tiny model trained on JAX: its weights file loads on TensorFlow and gives the same outputs;
    the compiled steps went to the persistent compilation cache."""
    pytest.importorskip("jax")
    from handwriting.datasets.format import load_dataset

    script = tmp_path / "jax_train.py"
    script.write_text(JAX_TRAIN)
    out, outputs = tmp_path / "jax_run", tmp_path / "jax_outputs.npy"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu", "HANDWRITING_XLA_CACHE": str(tmp_path / "cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # the tiny model compiles in under 1 s
    done = subprocess.run([sys.executable, str(script), str(ROOT / "tests"), str(tiny_dataset_file), str(out),
                           str(outputs)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "JAX OK" in done.stdout, done.stdout + done.stderr[-3000:]
    assert any((tmp_path / "cache" / "jax").glob("*-cache")), "no compiled step in the JAX cache"
    model, config, _ = load_model(out)
    assert config.step == 4
    batch = prepare(load_dataset(tiny_dataset_file), tiny_train_config()).train.batch(0, 0)
    np.testing.assert_allclose(np.asarray(model(batch.model_inputs())["y"]), np.load(outputs), rtol=1e-4, atol=1e-5)


JAX_DATA_PARALLEL = """
import os, sys
os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import numpy as np
import keras
sys.path.insert(0, sys.argv[1])
from conftest import make_tiny_dataset
from handwriting.config import ModelConfig, TrainConfig
from handwriting.training.batches import prepare
from handwriting.nn.model import build_model
from handwriting.training.optim import make_optimizer, set_jax_data_parallel
from handwriting.training.steppers import make_stepper

mcfg = ModelConfig(lstm_units=8, window_components=2, mixture_components=2)
tcfg = TrainConfig(batch_size=4, learning_rate=1e-2, warmup_steps=0, lr_decay="none", validation_fraction=0.25,
                   max_points=0)
batch = prepare(make_tiny_dataset(), tcfg).train.batch(0, 0)
results = []
for distributed in (False, True):
    if distributed:
        assert set_jax_data_parallel(tcfg.batch_size) == 2
    model = build_model(mcfg, seed=0)
    opt = make_optimizer(tcfg)
    opt.build(model.trainable_variables)
    stepper = make_stepper(model, opt, mcfg, tcfg)
    loss, norm, grads = stepper.gradients(batch)
    stepper.apply(grads)
    results.append((float(loss), float(norm), [np.asarray(v) for v in model.trainable_variables]))
(l1, n1, w1), (l2, n2, w2) = results
print(stepper.replicas, l1, l2, n1, n2, max(float(np.abs(a - b).max()) for a, b in zip(w1, w2)))
assert stepper.replicas == 2
assert abs(l1 - l2) <= 1e-5 * abs(l1) and abs(n1 - n2) <= 1e-5 * abs(n1)
assert max(float(np.abs(a - b).max()) for a, b in zip(w1, w2)) < 1e-5
print("DATA PARALLEL OK")
"""


@pytest.mark.slow
def test_jax_data_parallel_step_equals_single_device_step(tmp_path):
    """JAX with Keras' DataParallel over 2 host devices: one step equals the single-device step."""
    pytest.importorskip("jax")
    script = tmp_path / "jax_data_parallel.py"
    script.write_text(JAX_DATA_PARALLEL)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(script), str(ROOT / "tests")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0 and "DATA PARALLEL OK" in done.stdout, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
def test_init_from_starts_a_new_run_from_released_weights(tiny_checkpoint, tmp_path):
    """Training on from a release (weights only): step 0, fresh optimizer, the same first outputs."""

    from handwriting.cli import main
    from handwriting.tools.release import release

    released = release(tiny_checkpoint, tmp_path / "rel")
    data = tiny_checkpoint.parent / "toy.npz"
    out = tmp_path / "more"
    status = main(["train", "--data", str(data), "--out", str(out), "--init-from", str(released),
                   "--config", "tiny", "--steps", "2", "--checkpoint-every", "1", "--validation-every", "1"])
    assert status == 0
    config = read_config(out)
    assert config.step == 2
    assert config.model == ckpt.read_config(released).model
    # the weights moved on from the release's, by two small steps
    a, _, _ = load_model(released)
    b, _, _ = load_model(out)
    diffs = [np.abs(x - y).max() for x, y in zip(a.get_weights(), b.get_weights())]
    assert 0 < max(diffs) < 0.1

    # a model flag that contradicts the checkpoint is refused
    status = main(["train", "--data", str(data), "--out", str(tmp_path / "bad"), "--init-from", str(released),
                   "--lstm-units", "7", "--steps", "1"])
    assert status == 2


@pytest.mark.slow
def test_init_from_keeps_the_scale_of_the_weights_and_resume_keeps_it(tiny_checkpoint, tmp_path):
    """A fine-tune on a dataset with other stroke statistics stays in the units its weights know."""
    import dataclasses

    from handwriting.cli import main
    from handwriting.datasets import load_dataset, save_dataset
    from handwriting.tools.release import release

    released = release(tiny_checkpoint, tmp_path / "rel")
    toy = load_dataset(tiny_checkpoint.parent / "toy.npz")
    stretched = dataclasses.replace(
        toy, offsets=[np.concatenate([o[:, :2] * 1.5, o[:, 2:]], axis=1) for o in toy.offsets], scale=toy.scale * 1.5)
    save_dataset(stretched, tmp_path / "stretched.npz")
    out = tmp_path / "more"
    common = ["--data", str(tmp_path / "stretched.npz"), "--out", str(out)]
    assert main(["train", *common, "--init-from", str(released), "--config", "tiny", "--steps", "2",
                 "--checkpoint-every", "1", "--validation-every", "1"]) == 0
    config = read_config(out)
    released_scale = read_config(released).scale
    assert config.scale == pytest.approx(released_scale)
    assert config.scale != pytest.approx(stretched.scale)
    assert config.scale_from == str(released)
    # resuming does not mistake the inherited scale for another dataset
    assert main(["train", *common, "--resume", "--steps", "3"]) == 0
    config = read_config(out)
    assert config.step == 3 and config.scale == pytest.approx(released_scale)


@pytest.mark.slow
def test_resume_accepts_the_runs_own_preset_and_names_a_different_one(tmp_path, tiny_dataset_file, capsys):
    from handwriting.cli import main

    out = tmp_path / "run"
    common = ["train", "--data", str(tiny_dataset_file), "--out", str(out), "--config", "tiny"]
    assert main([*common, *TINY_FLAGS, "--steps", "1"]) == 0
    # The run's own network, named by its preset and flags again: accepted (it used to be refused).
    assert main([*common, *TINY_FLAGS, "--resume", "--steps", "2"]) == 0
    assert ckpt.read_config(out).step == 2
    capsys.readouterr()
    # The preset alone describes another network (tiny's own sizes): refused, naming the difference.
    assert main([*common, "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "another network" in err and "lstm_units 8 ->" in err


def test_weight_average_follows_its_formula_and_swaps_back():
    import keras

    from handwriting.training.ema import WeightAverage

    w = keras.Variable(np.array([1.0, 2.0], np.float32))
    average = WeightAverage([w], decay=0.75)
    w.assign(np.array([5.0, 6.0], np.float32))
    average.update()  # 0.75 * [1, 2] + 0.25 * [5, 6]
    np.testing.assert_allclose(average.values[0], [2.0, 3.0])
    with average.swapped_in():
        np.testing.assert_allclose(np.asarray(w), [2.0, 3.0])
    np.testing.assert_allclose(np.asarray(w), [5.0, 6.0])
    restored = WeightAverage([w], 0.75, saved=average.arrays())
    assert restored.restored and np.array_equal(restored.values[0], average.values[0])
    assert not WeightAverage([w], 0.75, saved={}).restored  # no saved average: it starts at the weights
    for bad in (-0.1, 1.0):
        with pytest.raises(HandwritingError, match="ema_decay"):
            tiny_train_config(ema_decay=bad).validate()


@pytest.mark.slow
def test_a_run_with_a_weight_average_validates_it_and_resumes_it_exactly(tmp_path):
    import h5py

    from conftest import make_tiny_dataset
    from handwriting.datasets.format import save_dataset

    data = tmp_path / "tiny.npz"
    save_dataset(make_tiny_dataset(), data)
    settings = dict(validation_every=4, ema_decay=0.5)
    full, _ = _run(data, tmp_path / "full", 4, **settings)
    _run(data, tmp_path / "part", 2, **settings)
    resumed, _ = _run(data, tmp_path / "part", 4, resume=True, **settings)
    assert resumed.validation[4] == pytest.approx(full.validation[4], rel=1e-5)

    def weights(path):
        with h5py.File(path) as f:
            arrays = []
            f.visititems(lambda name, item: arrays.append(np.array(item)) if isinstance(item, h5py.Dataset) else None)
            return arrays

    best = weights(tmp_path / "full" / "best" / ckpt.WEIGHTS_FILE)
    for a, b in zip(best, weights(tmp_path / "part" / "best" / ckpt.WEIGHTS_FILE)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    raw = weights(tmp_path / "full" / ckpt.WEIGHTS_FILE)
    assert any(not np.allclose(a, b) for a, b in zip(best, raw))  # best/ holds the average, not the last step
    state = ckpt.read_training_state(ckpt.latest_checkpoint(tmp_path / "full"))
    assert "ema/000" in state
