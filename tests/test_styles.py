import json
import subprocess
import sys

import numpy as np
import pytest

from handwriting.errors import HandwritingError
from handwriting.hand import Style, load_styles
from handwriting.strokes import bounding_box, offsets_to_coords
from handwriting.styles import add_style, reference_shape


def squiggle(n_chars: int, points_per_char: int, width_per_char: float) -> np.ndarray:
    t = np.linspace(0, n_chars, n_chars * points_per_char)
    pen = np.zeros_like(t)
    pen[-1] = 1
    coords = np.stack([t * width_per_char, np.sin(2 * np.pi * t), pen], 1).astype(np.float32)
    out = coords.copy()
    out[1:, :2] = np.diff(coords[:, :2], axis=0)
    out[0, :2] = 0
    return out


@pytest.fixture
def checkpoint(tmp_path):
    styles = tmp_path / "ckpt" / "styles"
    styles.mkdir(parents=True)
    for name, text in [("a", "hello there"), ("b", "quiet zebra")]:
        (styles / f"{name}.json").write_text(Style(name, text, squiggle(len(text), 20, 3.0)).to_json())
    return tmp_path / "ckpt"


def user_json(tmp_path, chars=5, points_per_char=55, px_per_char=40.0):
    t = np.linspace(0, chars, chars * points_per_char)
    strokes = [[[float(x * px_per_char), float(-30 * np.sin(2 * np.pi * x))] for x in t[: len(t) // 2]],
               [[float(x * px_per_char), float(-30 * np.sin(2 * np.pi * x))] for x in t[len(t) // 2:]]]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(strokes))
    return path


def test_reference_shape(checkpoint):
    width, points = reference_shape(load_styles(checkpoint))
    assert width == pytest.approx(3.0, rel=0.02)
    assert points == pytest.approx(20, rel=0.01)


def test_users_ink_is_brought_to_the_checkpoints_shape(checkpoint, tmp_path):
    path = add_style(checkpoint, "mine", user_json(tmp_path), "Hello")
    style = Style.load(path)
    assert style.name == "mine" and style.text == "Hello"
    x0, _, x1, _ = bounding_box(offsets_to_coords(style.offsets))
    assert (x1 - x0) / 5 == pytest.approx(3.0, rel=0.05)
    assert len(style.offsets) / 5 == pytest.approx(20, rel=0.15)
    assert int(style.offsets[:, 2].sum()) == 2  # both strokes kept
    assert "mine" in load_styles(checkpoint)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad name!", "Hello", "must be 1-40 letters"),
        ("random", "Hello", "reserved"),
        ("a", "Hello", "exists already"),
        ("ok", "Hello \u20ac", "U+20AC"),
    ],
)
def test_bad_requests(checkpoint, tmp_path, name, text, message):
    with pytest.raises(HandwritingError, match=message.replace("+", "\\+")):
        add_style(checkpoint, name, user_json(tmp_path), text)


def test_force_replaces(checkpoint, tmp_path):
    add_style(checkpoint, "a", user_json(tmp_path), "Hello", force=True)
    assert load_styles(checkpoint)["a"].text == "Hello"


def test_cli_style_add(checkpoint, tmp_path):
    args = [sys.executable, "-m", "handwriting", "style", "add", "mine", "--from", str(user_json(tmp_path)),
            "--text", "Hello", "--checkpoint", str(checkpoint)]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (checkpoint / "styles" / "mine.json").is_file()
    (tmp_path / "bad.json").write_text("[[1, 2")
    args[args.index("--from") + 1] = str(tmp_path / "bad.json")
    args[5] = "other"
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 2 and "invalid JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (checkpoint / "styles" / "other.json").exists()
