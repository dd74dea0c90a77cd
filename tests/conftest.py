"""Shared fixtures: a tiny synthetic stroke dataset and tiny model configs.

TensorFlow's log noise is silenced here; tests that need TensorFlow import it themselves.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Keep the tests' compiled samplers out of the user's cache (subprocesses inherit this).
os.environ.setdefault("HANDWRITING_XLA_CACHE", tempfile.mkdtemp(prefix="handwriting-xla-"))
# Keep the tests' user styles out of the user's data folder (subprocesses inherit this).
os.environ["HANDWRITING_USER_DIR"] = tempfile.mkdtemp(prefix="handwriting-user-")

import io

import numpy as np
import pytest

from handwriting.alphabet import CHARACTERS
from handwriting.datasets.format import StrokeDataset, save_dataset

TINY_WORDS = ["ab", "ba", "cab", "bad", "dab", "a", "cd", "dc", "abcd", "bead", "dead", "ace"]
POINTS_PER_CHAR = 5


def _glyph(ch: str) -> np.ndarray:
    """A fixed little shape per character: ``[POINTS_PER_CHAR, 3]`` offsets, pen up at the end."""
    rng = np.random.default_rng(CHARACTERS.index(ch) + 1)
    steps = rng.normal(0.0, 1.0, size=(POINTS_PER_CHAR, 2)) + np.array([1.0, 0.0])
    pen = np.zeros((POINTS_PER_CHAR, 1))
    pen[-1] = 1.0
    return np.concatenate([steps, pen], axis=1).astype(np.float32)


def make_tiny_dataset(n: int = 36, seed: int = 0, writers: int = 4, scale: float = 2.0) -> StrokeDataset:
    """``n`` short lines over a few words; each character is a fixed glyph plus a little noise.

    Offsets are in "source units" (``scale`` times the unit-variance glyph steps).
    """
    rng = np.random.default_rng(seed)
    offsets, texts = [], []
    for _ in range(n):
        text = str(rng.choice(TINY_WORDS))
        o = np.concatenate([_glyph(ch) for ch in text])
        o[:, :2] += rng.normal(0.0, 0.1, size=(len(o), 2))
        o[:, :2] *= scale
        offsets.append(o.astype(np.float32))
        texts.append(text)
    return StrokeDataset(
        offsets=offsets,
        texts=texts,
        writer_ids=(np.arange(n) % writers).astype(np.int32),
        writers=[f"w{i}" for i in range(writers)],
        scale=scale,
        metadata={"source": "tests"},
    )


@pytest.fixture
def tiny_dataset() -> StrokeDataset:
    return make_tiny_dataset()


@pytest.fixture
def tiny_dataset_file(tmp_path, tiny_dataset):
    path = tmp_path / "tiny.npz"
    save_dataset(tiny_dataset, path)
    return path


@pytest.fixture
def tiny_model_config():
    from handwriting.config import ModelConfig

    return ModelConfig(lstm_units=8, lstm_layers=3, window_components=2, mixture_components=2)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A run directory with a tiny model trained for a few seconds on a toy corpus, and a style."""
    from handwriting.config import preset, replace
    from handwriting.datasets import save_dataset
    from handwriting.writing.hand import Style
    from handwriting.strokes import normalise_offsets
    from handwriting.training.trainer import run_training

    root = tmp_path_factory.mktemp("tiny")
    dataset = make_tiny_dataset(n=48)
    save_dataset(dataset, root / "toy.npz")
    model_config, train_config = preset("tiny")
    model_config = replace(model_config, dict(lstm_units=16, window_components=2, mixture_components=3))
    train_config = replace(train_config, dict(steps=30, batch_size=8, checkpoint_every=30, validation_every=30))
    run_training(root / "toy.npz", root / "run", model_config, train_config, log=io.StringIO())
    styles = root / "run" / "styles"
    styles.mkdir()
    style = Style("toy", dataset.texts[0], normalise_offsets(dataset.offsets[0], dataset.scale))
    (styles / "toy.json").write_text(style.to_json())
    return root / "run"


@pytest.fixture(scope="session")
def hand(tiny_checkpoint):
    import handwriting

    return handwriting.load(tiny_checkpoint)


@pytest.fixture(scope="session")
def tf_hand(tiny_checkpoint):
    """The tiny checkpoint with the TensorFlow sampler."""
    import handwriting

    return handwriting.load(tiny_checkpoint, engine="tensorflow")


@pytest.fixture(scope="session", params=["numpy", "tensorflow"])
def any_hand(request, hand, tf_hand):
    """The tiny checkpoint with each sampler engine in turn (rules both engines share)."""
    return hand if request.param == "numpy" else tf_hand
