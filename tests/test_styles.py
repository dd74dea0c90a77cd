import json
import subprocess
import sys

import numpy as np
import pytest

from handwriting.errors import HandwritingError
from handwriting.writing.hand import Style, load_styles
from handwriting.strokes import bounding_box, offsets_to_coords
from handwriting.writing.hand import RESERVED_STYLE_NAMES
from handwriting.writing.styles import add_style, load_user_styles, reference_shape, user_styles_dir


def squiggle(n_chars: int, points_per_char: int, width_per_char: float) -> np.ndarray:
    t = np.linspace(0, n_chars, n_chars * points_per_char)
    pen = np.zeros_like(t)
    pen[-1] = 1
    coords = np.stack([t * width_per_char, np.sin(2 * np.pi * t), pen], 1).astype(np.float32)
    out = coords.copy()
    out[1:, :2] = np.diff(coords[:, :2], axis=0)
    out[0, :2] = 0
    return out


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    """A fresh per-user data folder for each test."""
    monkeypatch.setenv("HANDWRITING_USER_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def model_files(checkpoint):
    return sorted((p.name, p.stat().st_mtime_ns) for p in checkpoint.rglob("*"))


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
    assert "mine" in load_user_styles()


def test_user_styles_go_to_the_user_folder_never_the_models(checkpoint, tmp_path, user_dir):
    before = model_files(checkpoint)
    path = add_style(checkpoint, "mine", user_json(tmp_path), "Hello")
    assert path == user_dir / "styles" / "mine.json" == user_styles_dir() / "mine.json"
    assert model_files(checkpoint) == before  # the model's folder is only read
    assert "mine" not in load_styles(checkpoint) and "mine" in load_user_styles()


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad name!", "Hello", "must be 1-40 letters"),
        ("random", "Hello", "reserved"),
        ("none", "Hello", "reserved"),
        ("default", "Hello", "reserved"),
        ("all", "Hello", "reserved"),
        ("None", "Hello", "reserved"),
        ("a", "Hello", "shipped style"),
        ("../evil", "Hello", "must be 1-40 letters"),
        ("ok", "Hello \u20ac", "U+20AC"),
    ],
)
def test_bad_requests(checkpoint, tmp_path, name, text, message):
    with pytest.raises(HandwritingError, match=message.replace("+", "\\+")):
        add_style(checkpoint, name, user_json(tmp_path), text)


def test_every_special_name_is_reserved():
    assert {"none", "default", "random", "all"} <= RESERVED_STYLE_NAMES


def test_force_replaces_a_user_style_only(checkpoint, tmp_path):
    add_style(checkpoint, "mine", user_json(tmp_path), "Hello")
    with pytest.raises(HandwritingError, match="exists already"):
        add_style(checkpoint, "mine", user_json(tmp_path), "Hi there")
    add_style(checkpoint, "mine", user_json(tmp_path), "Hi there", force=True)
    assert load_user_styles()["mine"].text == "Hi there"
    with pytest.raises(HandwritingError, match="shipped style"):
        add_style(checkpoint, "a", user_json(tmp_path), "Hello", force=True)


def test_cli_style_add(checkpoint, tmp_path, user_dir):
    args = [sys.executable, "-m", "handwriting", "style", "add", "mine", "--from", str(user_json(tmp_path)),
            "--text", "Hello", "--checkpoint", str(checkpoint)]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (user_dir / "styles" / "mine.json").is_file()
    assert not (checkpoint / "styles" / "mine.json").exists()
    listed = subprocess.run([sys.executable, "-m", "handwriting", "styles", "--checkpoint", str(checkpoint)],
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == ["a", "b", "mine"] and "(yours" in listed.stdout.splitlines()[2]
    (tmp_path / "bad.json").write_text("[[1, 2")
    args[args.index("--from") + 1] = str(tmp_path / "bad.json")
    args[5] = "other"
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 2 and "invalid JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (user_dir / "styles" / "other.json").exists()
