"""scripts/device_train.sh: a time-budgeted chunk on the JAX backend, resumed by a second call,
its run directory packed for the device tool's $OUT (run here on the CPU)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from handwriting import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "device_train.sh"


def _chunk(tmp_path: Path, data: Path, minutes: str, *options: str) -> subprocess.CompletedProcess:
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    env = {**os.environ, "OUT": str(out), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(["bash", str(SCRIPT), str(data), str(tmp_path / "runs" / "chunked"), minutes, *options],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_two_chunks_train_resume_and_come_back_packed(tmp_path, tiny_dataset_file):
    pytest.importorskip("jax")
    (tmp_path / "runs").mkdir()
    first = _chunk(tmp_path, tiny_dataset_file, "0.001", "--config", "tiny", "--batch-size", "4",
                   "--validation-fraction", "0.25", "--pad-multiple", "64", "--char-pad-multiple", "32")
    assert first.returncode == 0, first.stdout + first.stderr
    log = (tmp_path / "out" / "train.log").read_text()
    assert "jax" in log and "--max-minutes 0.001 reached: saving step 1" in log
    with tarfile.open(tmp_path / "out" / "run.tar") as tar:
        names = tar.getnames()
    assert {"chunked/config.json", "chunked/best/model.weights.h5",
            "chunked/checkpoints/step-00000001/training_state.npz"} <= set(names)
    assert (tmp_path / "out" / "xla.tar").is_file()

    second = _chunk(tmp_path, tiny_dataset_file, "0.001")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resumed from" in second.stdout and "at step 1" in second.stdout
    assert ckpt.read_config(tmp_path / "runs" / "chunked").step == 2


def test_bad_arguments_are_one_line_errors(tmp_path):
    for args, message in ((["missing.npz", "runs/x", "5"], "no dataset file missing.npz"),
                          ([__file__, "runs/x", "ten"], "MINUTES must be a number"),
                          ([__file__], "usage:")):
        done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
