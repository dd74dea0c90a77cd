
import numpy as np
import pytest
from cli_helper import run_cli

from handwriting.datasets import (
    DATASET_VERSION,
    StrokeDataset,
    dataset_summary,
    load_dataset,
    save_dataset,
    split_by_writer,
)
from handwriting.errors import DatasetError


def make_dataset(samples: int = 12, writers: int = 4, seed: int = 0) -> StrokeDataset:
    rng = np.random.default_rng(seed)
    offsets, texts = [], []
    for i in range(samples):
        n = int(rng.integers(5, 30))
        o = rng.normal(size=(n, 3)).astype(np.float32)
        o[:, 2] = (rng.random(n) < 0.2).astype(np.float32)
        o[-1, 2] = 1
        offsets.append(o)
        texts.append(f"line {i} Qxz!")
    return StrokeDataset(
        offsets=offsets,
        texts=texts,
        writer_ids=np.arange(samples, dtype=np.int32) % writers,
        writers=[f"w{k}" for k in range(writers)],
        scale=1.5,
        metadata={"source": "test"},
    )


def test_round_trip(tmp_path):
    ds = make_dataset()
    path = tmp_path / "d.npz"
    save_dataset(ds, path)
    back = load_dataset(path)
    assert back.texts == ds.texts and back.writers == ds.writers
    assert back.scale == ds.scale
    np.testing.assert_array_equal(back.writer_ids, ds.writer_ids)
    for a, b in zip(back.offsets, ds.offsets):
        np.testing.assert_array_equal(a, b)
    assert back.metadata["source"] == "test"
    assert back.metadata["alphabet"]["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]  # no temporary file left


def _rewrite(path, **changes):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(version=np.int64(DATASET_VERSION + 1)), "version 2 is not supported"),
        (dict(lengths=np.array([3, 4])), "ragged arrays"),
        (dict(texts=np.array(["a", "b"])), "mismatched arrays"),
        (dict(metadata=np.array("{not json")), "metadata is not valid JSON"),
    ],
)
def test_bad_files_are_rejected_with_a_clear_message(tmp_path, change, message):
    path = tmp_path / "d.npz"
    save_dataset(make_dataset(), path)
    _rewrite(path, **change)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_nan_strokes_and_unknown_characters_are_rejected(tmp_path):
    ds = make_dataset()
    ds.offsets[3][2, 0] = np.nan
    with pytest.raises(DatasetError, match="sample 3: strokes contain NaN"):
        save_dataset(ds, tmp_path / "d.npz")
    assert not (tmp_path / "d.npz").exists()
    path = tmp_path / "e.npz"
    save_dataset(make_dataset(), path)
    with np.load(path) as npz:
        texts = npz["texts"].copy()
    texts[1] = "na\u00efve \u20ac"
    _rewrite(path, texts=texts)
    with pytest.raises(DatasetError, match="U\\+20AC"):
        load_dataset(path)


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / "d.npz"
    save_dataset(make_dataset(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="unreadable or truncated"):
        load_dataset(path)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "missing.npz")


def test_writer_split_is_disjoint_and_covers_everything():
    ds = make_dataset(samples=100, writers=10)
    train, val = split_by_writer(ds, validation_fraction=0.2, seed=3)
    assert len(train) + len(val) == 100 and len(np.intersect1d(train, val)) == 0
    assert not set(ds.writer_ids[train]) & set(ds.writer_ids[val])
    assert len(val) >= 20
    again = split_by_writer(ds, validation_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again[1], val)
    single = make_dataset(samples=10, writers=1)
    train, val = split_by_writer(single, 0.2)
    assert len(val) == 0 and len(train) == 10


def test_summary_figures():
    ds = make_dataset()
    s = dataset_summary(ds)
    assert s["samples"] == 12 and s["writers"] == 4
    assert s["points_max"] == max(len(o) for o in ds.offsets)
    assert s["chars_mean"] == pytest.approx(np.mean([len(t) for t in ds.texts]))


def test_info_and_texts(tmp_path):
    ds = make_dataset()
    path = tmp_path / "d.npz"
    save_dataset(ds, path)
    result = run_cli("info", path)
    assert result.returncode == 0, result.stderr
    assert "samples:           12" in result.stdout and "writers:           4" in result.stdout
    assert '"source": "test"' in result.stdout
    result = run_cli("info", path, "--texts")
    assert result.stdout.splitlines() == ds.texts


def test_preview_writes_a_png(tmp_path):
    path = tmp_path / "d.npz"
    save_dataset(make_dataset(), path)
    result = run_cli("preview", path, "-o", tmp_path / "sheet.png", "-n", "4")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["info", "{tmp}/missing.npz"], "dataset file not found"),
        (["info", "{tmp}/truncated.npz"], "unreadable or truncated"),
        (["info", "{tmp}/future.npz"], "version 2 is not supported"),
        (["preview", "{tmp}/good.npz", "-o", "{tmp}/no/such/dir/s.png"], "does not exist"),
        (["preview", "{tmp}/good.npz", "-o", "{tmp}/s.xyz"], "from its extension: use .png, .svg, .pdf"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(tmp_path, args, message):
    good = tmp_path / "good.npz"
    save_dataset(make_dataset(), good)
    (tmp_path / "truncated.npz").write_bytes(good.read_bytes()[:100])
    save_dataset(make_dataset(), tmp_path / "future.npz")
    _rewrite(tmp_path / "future.npz", version=np.int64(2))
    before = set(tmp_path.rglob("*"))
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert set(tmp_path.rglob("*")) == before  # no partial output
