"""The shipped default model: small, self-describing, with styles, and it writes what it is asked."""

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "checkpoints" / "default"
MAX_BYTES = 25 * 2**20


def test_the_default_checkpoint_is_small_and_self_describing():
    files = [p for p in DEFAULT.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES
    config = json.loads((DEFAULT / "config.json").read_text())
    assert {"model", "train", "alphabet", "scale", "step"} <= set(config)
    assert not (DEFAULT / "training_state.npz").exists()
    styles = sorted(p.stem for p in (DEFAULT / "styles").glob("*.json"))
    assert len(styles) >= 8
    assert config["default_style"] is None or config["default_style"] in styles


@pytest.fixture(scope="module")
def default_hand():
    import handwriting

    return handwriting.load()


def test_the_default_model_writes_every_style_and_stops_by_the_window(default_hand):
    from handwriting.sample import step_cap

    text = "Quiz 42: jumpy foxes?"
    for name in sorted(default_hand.styles)[:3] + ["none"]:
        coords, caps = default_hand.write_lines([text], style=name, seed=0)
        assert caps == [False], name
        assert 2 * len(text) < len(coords[0]) < step_cap(len(text))
        assert np.isfinite(coords[0]).all()


def test_the_default_model_writes_wider_for_longer_text(default_hand):
    (short, long), _ = default_hand.write_lines(["ab", "abcdefghijklmnop abcdefghijklmnop"], seed=1, bias=2.0)
    width = lambda c: c[:, 0].max() - c[:, 0].min()  # noqa: E731
    assert width(long) > 4 * width(short)


def test_primed_writing_starts_at_the_first_character(default_hand):
    # Each style's window starts on the new text's first character (or the next), not words into it.
    for name in sorted(default_hand.styles):
        style = default_hand.style(name)
        batch = default_hand.sampler.sample(["jumps over the lazy dog"], bias=0.75, seed=0,
                                            prime=(style.offsets, style.text), return_attention=True)
        first = batch.phi[0][:3, len(style.text) + 1:].argmax(axis=1)
        assert first.max() <= 1, (name, first)
