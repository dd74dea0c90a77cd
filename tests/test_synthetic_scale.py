"""`handwriting dataset` at scale, with real parts: a local Ray instance of 2 CPUs, local worker
processes, workers killed mid-run, the Hugging Face `datasets` loader, pandas, and the OCR of
`handwriting evaluate` reading the images."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import handwriting
from handwriting.synthetic.config import DatasetConfig
from handwriting.synthetic.prepare import prepare_job
from handwriting.synthetic.runner import make_dataset

pytestmark = pytest.mark.slow
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "data" / "prompts" / "public.txt"
TEXTS = [line.strip() for line in PROMPTS.read_text().splitlines() if line.strip()]
#: How long a test waits for a worker to appear before it gives up.
WAIT_S = 120


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance of 2 CPUs, started by this process; its address."""
    ray = pytest.importorskip("ray")
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def hand():
    return handwriting.load()


def descendants(root: int) -> list[tuple[int, str]]:
    """``(pid, command line)`` of every process below ``root`` (read from /proc)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append((int(entry.name), command))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child[0])
    return found


def kill_one(root: int, marker: str, ready=lambda: True) -> int:
    """SIGKILL the first process below ``root`` whose command line holds ``marker``, once ``ready()``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        matches = [pid for pid, command in descendants(root) if marker in command]
        if matches and ready():
            os.kill(matches[0], signal.SIGKILL)
            return matches[0]
        time.sleep(0.05)
    raise AssertionError(f"no process {marker!r} appeared under {root}")


def ids_of(out: Path) -> list[int]:
    return sorted(pq.read_table(out / "data", columns=["id"]).column("id").to_pylist())


def _env() -> dict:
    """This environment, with this checkout first on the path of a child Python."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def prepared(corpus: Path = PROMPTS, **config):
    return prepare_job(DatasetConfig(**config), corpus)


def test_a_ray_dataset_loads_everywhere_and_every_row_is_its_own_line(ray_cluster, hand, tmp_path):
    datasets = pytest.importorskip("datasets")
    pandas = pytest.importorskip("pandas")
    out = tmp_path / "ds"
    result = make_dataset(prepared(lines=200, shard_lines=25, seed=7), out, use_ray=True)
    assert result.written == 8 and result.lines == 200

    train = datasets.load_dataset("parquet", data_dir=str(out))["train"]
    assert train.num_rows == 200 and sorted(train["id"]) == list(range(200))
    assert datasets.load_dataset(str(out))["train"].num_rows == 200  # through the card's header
    assert pandas.read_parquet(out / "data").shape == (200, len(train.features))
    for row in train:
        assert row["text"] == TEXTS[row["id"] % len(TEXTS)]
        image = np.asarray(row["image"])
        assert row["image"].mode == "L" and image.shape == (64, row["width"]) == (row["height"], row["width"])
        style = None if row["style"] == "none" else hand.styles[row["style"]]
        (coords,), _ = hand.write_lines([row["text"]], style=style, bias=row["bias"], seed=row["seed"],
                                        slant=row["slant"])
        assert_same_strokes(np.asarray(row["strokes"], np.float32), coords)
        assert_ink_on_strokes(image, np.asarray(row["strokes"]), row)


def assert_same_strokes(stored: np.ndarray, coords: np.ndarray) -> None:
    """``stored`` (image px, y down) is ``coords`` (page px, y up) flipped, scaled and moved."""
    assert stored.shape == coords.shape
    np.testing.assert_array_equal(stored[:, 2], coords[:, 2])
    page = coords[:, :2].astype(np.float64) * [1, -1]
    page -= page.min(0)
    image = stored[:, :2] - stored[:, :2].min(0)
    factor = np.ptp(image[:, 1]) / np.ptp(page[:, 1])
    np.testing.assert_allclose(image, page * factor, atol=2e-3)


def assert_ink_on_strokes(image: np.ndarray, strokes: np.ndarray, row: dict) -> None:
    """The pixels under the pen are ink, far darker than the paper around them."""
    cols = np.clip(np.round(strokes[:, 0]).astype(int), 0, image.shape[1] - 1)
    rows = np.clip(np.round(strokes[:, 1]).astype(int), 0, image.shape[0] - 1)
    under = image[rows, cols].astype(float).mean()
    assert under < np.median(image) - 0.3 * (row["paper_level"] - 100), (row["id"], under, np.median(image))


def test_a_killed_ray_worker_is_redone_and_a_rerun_finds_every_line_once(ray_cluster, tmp_path):
    out, job = tmp_path / "ds", prepared(lines=160, shard_lines=20)
    results = []
    run = threading.Thread(target=lambda: results.append(make_dataset(job, out, use_ray=True)))
    run.start()
    killed = kill_one(os.getpid(), "ray::_write_shard_task")
    run.join(timeout=600)
    assert killed and results and results[0].written == 8  # Ray ran the killed task again
    assert make_dataset(job, out, use_ray=True).kept == 8
    assert ids_of(out) == list(range(160))


def test_a_killed_local_worker_is_redone_and_a_rerun_finds_every_line_once(tmp_path):
    out = tmp_path / "ds"
    command = [sys.executable, "-m", "handwriting", "dataset", "--texts", str(PROMPTS), "--lines", "120",
               "--shard-lines", "15", "--workers", "2", "-o", str(out)]
    env = _env()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kill_one(process.pid, "spawn_main", ready=lambda: any((out / "data").glob("train-*.parquet")))
        stdout, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, stderr  # the pool was started again for the shards it lost
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "8 shard(s) already there" in again.stdout, again.stderr
    assert ids_of(out) == list(range(120))


def test_the_command_joins_a_cluster_by_its_address(ray_cluster, tmp_path):
    out = tmp_path / "ds"
    done = subprocess.run([sys.executable, "-m", "handwriting", "dataset", "--texts", str(PROMPTS), "--lines", "20",
                           "--shard-lines", "10", "-o", str(out), "--ray", ray_cluster],
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "wrote 20 lines in 2 shard(s)" in done.stdout, done.stderr
    assert done.stderr == ""  # Ray's notices kept off the command's output
    assert ids_of(out) == list(range(20))


def test_one_and_two_local_workers_and_ray_make_the_same_dataset(ray_cluster, tmp_path):
    job = prepared(lines=40, shard_lines=10, seed=3)
    make_dataset(job, tmp_path / "one", workers=1)
    make_dataset(job, tmp_path / "two", workers=2)
    make_dataset(job, tmp_path / "ray", use_ray=True)
    for k in range(4):
        name = f"data/train-{k:05d}-of-00004.parquet"
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()


def test_the_ocr_reads_the_rows_as_evaluate_reads_the_same_style_and_bias(hand, tmp_path):
    """The labels match the images: the OCR's CER on the rows is the one `evaluate` reports for the
    same style and bias, within two standard errors of the difference."""
    from handwriting.tools.evaluate import OcrReader, character_error_rate, evaluate_hand

    style, bias = "upright-print", 2.5
    out = tmp_path / "ds"
    make_dataset(prepared(lines=len(TEXTS), shard_lines=len(TEXTS), styles=(style,), bias_min=bias,
                          bias_max=bias, slant_jitter=0.0, seed=11), out, workers=1)
    reader = OcrReader()
    rows = pq.read_table(out / "data").to_pylist()
    ours = np.array([character_error_rate(r["text"], reader.read(np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])))))
                     for r in rows])
    report = evaluate_hand(hand, TEXTS, style=style, bias=bias, seeds=[0], reader=reader)
    theirs = np.array([s.cer for s in report.lines])
    se = np.hypot(ours.std(ddof=1) / np.sqrt(len(ours)), theirs.std(ddof=1) / np.sqrt(len(theirs)))
    assert abs(ours.mean() - theirs.mean()) <= 2 * se, (ours.mean(), theirs.mean(), se)
