"""Writing end to end: a tiny model trained for seconds drives the sampler, the API and the CLI."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from handwriting.errors import HandwritingError

SVG_NS = "{http://www.w3.org/2000/svg}"


def test_lines_stop_by_the_window_rule_before_the_cap(any_hand):
    from handwriting.writing.sample import step_cap

    batch = any_hand.sampler.sample(["ab", "bad cab", "dead"], bias=1.0, seed=3, return_attention=True)
    assert not batch.hit_cap.any()
    for text, offsets, phi in zip(["ab", "bad cab", "dead"], batch.offsets, batch.phi):
        assert 1 < len(offsets) < step_cap(len(text))
        assert offsets[-1, 2] == 1  # the pen is lifted at the end
        assert phi.shape == (len(offsets), len(text))


def test_cap_is_a_counted_guard(any_hand):
    batch = any_hand.sampler.sample(["abcd abcd", "ab"], seed=0, max_steps=5)
    assert batch.hit_cap.tolist() == [True, True]
    assert [len(o) for o in batch.offsets] == [5, 5]


def test_same_seed_same_svg_and_other_seed_differs(any_hand):
    a = any_hand.write("bad cab", seed=7).svg()
    assert a == any_hand.write("bad cab", seed=7).svg()
    assert a != any_hand.write("bad cab", seed=8).svg()


def test_higher_bias_shrinks_the_spread(any_hand):
    def spread(bias):
        batch = any_hand.sampler.sample(["abcd"] * 16, bias=bias, seed=11, max_steps=40)
        return np.std(np.concatenate([o[:, :2] for o in batch.offsets]))

    assert spread(3.0) < spread(0.0)


def test_priming_with_a_style_and_free_running(any_hand):
    primed = any_hand.write("dab", style="toy", seed=2)
    assert primed.lines[0] is not None and len(primed.lines[0]) > 1
    assert any_hand.write("dab", style="random", seed=2).svg()
    batch = any_hand.sampler.sample([""], seed=1, max_steps=50)
    assert len(batch.offsets[0]) == 50 and not batch.hit_cap[0]
    with pytest.raises(HandwritingError, match="unknown style 'nope'"):
        any_hand.write("dab", style="nope")


def test_priming_leaves_the_window_on_the_space_before_the_new_text(tf_hand):
    hand = tf_hand
    # Where a fresh line's window starts (one position before the first character), whatever
    # the prime did with it.
    import tensorflow as tf

    from handwriting import alphabet
    from handwriting.nn.attention import window_phi

    style = hand.style("toy")
    for text in ["dab", "bad cab dead"]:
        sequence = style.text + " " + text
        chars = tf.constant([alphabet.encode(sequence, normalise_text=False)], tf.int32)
        mask = tf.ones_like(chars, tf.float32)
        space = len(style.text) + 1  # 1-based
        x0, state = hand.sampler._prime(tf.constant(style.offsets[None]), chars, mask,
                                        hand.model.one_hot_chars(chars, mask), tf.constant(space))
        a, b, _ = hand.model.window.window_parameters(state["h"][0])
        phi = window_phi(a, b, state["kappa"], np.arange(1, len(sequence) + 1)).numpy()[0]
        assert int(np.argmax(phi)) + 1 == space
        np.testing.assert_array_equal(x0.numpy()[0], style.offsets[-1])


def test_strokes_finished_before_the_window_reaches_the_text_are_trimmed():
    from handwriting.writing.sample import trim_before_text

    # three strokes, lifting at points 2, 5 and 9
    offsets = np.zeros((10, 3), np.float32)
    offsets[[2, 5, 9], 2] = 1
    assert trim_before_text(offsets, 4) == 3  # the first stroke ended before; the second is under way
    assert trim_before_text(offsets, 6) == 6
    assert trim_before_text(offsets, 2) == 0  # the first stroke lifts at the step the text begins
    assert trim_before_text(offsets, 0) == 0 and trim_before_text(offsets, -1) == 0  # at once / never
    assert trim_before_text(offsets, 10) == 0  # never all of the line


def test_a_stray_dot_before_a_letter_is_trimmed():
    from handwriting.writing.sampling import trim_before_text

    # a dot (the prime's late i-dot), then a "Q" one x-height tall, then an "u"
    coords = np.array([[0, 1, 0], [0.1, 1, 1], [1, 0, 0], [2, 1, 0], [1, 2, 0], [0.5, 1, 1], [3, 0, 0], [3, 1, 1]],
                      np.float32)
    offsets = coords.copy()
    offsets[1:, :2] = np.diff(coords[:, :2], axis=0)
    assert trim_before_text(offsets, 0, "Q") == 2
    assert trim_before_text(offsets, 0, "i") == 0  # an "i" may begin with its dot
    assert trim_before_text(offsets, 0, '"') == 0  # and a quote with a short bar
    assert trim_before_text(offsets, 0, "") == 0
    over = coords.copy()
    over[:2, 0] += 1.2  # the small stroke over the letter, not left of it: a cursive lead-in, kept
    offsets = over.copy()
    offsets[1:, :2] = np.diff(over[:, :2], axis=0)
    assert trim_before_text(offsets, 0, "Q") == 0


def test_trimmed_lines_keep_their_shape_and_report_it(any_hand):
    style = any_hand.style("toy")
    batch = any_hand.sampler.sample(["bad cab", "dab"], bias=1.0, seed=3, prime=(style.offsets, style.text),
                                return_attention=True)
    assert batch.trimmed.shape == (2,) and (batch.trimmed >= 0).all()
    for offsets, phi in zip(batch.offsets, batch.phi):
        assert len(phi) == len(offsets) and offsets[-1, 2] == 1


def test_paragraph_layout(hand):
    drawing = hand.write("ab ba cab\n\nbad", max_line_chars=5, seed=1, align="right")
    assert drawing.texts == ["ab ba", "cab", "", "bad"]
    assert drawing.lines[2] is None
    tops = [c[:, 1].max() for c in drawing.lines if c is not None]
    assert tops[0] > tops[1] > tops[2]
    rights = [c[:, 0].max() for c in drawing.lines if c is not None]
    np.testing.assert_allclose(rights, max(rights), atol=1e-3)  # right-aligned


@pytest.mark.parametrize("text, message", [("", "empty text"), ("caf\u00e9 \u20ac", "U+20AC")])
def test_bad_text_in_the_api(hand, text, message):
    with pytest.raises(HandwritingError, match=re.escape(message)):
        hand.write(text)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "handwriting", *map(str, args)], capture_output=True, text=True,
                          env=env)


def test_cli_write_all_formats_and_batch_mode(tiny_checkpoint, tmp_path):
    cache = tmp_path / "xla-cache"
    env = {**os.environ, "HANDWRITING_XLA_CACHE": str(cache)}
    env.pop("TF_XLA_FLAGS", None)
    result = run_cli("write", "bad", "cab", "-o", tmp_path / "a.svg", "--checkpoint", tiny_checkpoint, "--seed", "1",
                     "--color", "navy", "--width", "2", "--engine", "tensorflow", env=env)
    assert result.returncode == 0, result.stderr
    assert list(cache.iterdir()), "the compiled sampler is kept for the next process"
    root = ET.parse(tmp_path / "a.svg").getroot()
    assert root.find(f"{SVG_NS}g").get("stroke") == "navy"
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(["ab", "ba", "cab", "dab", "bad"]) + "\n")
    result = run_cli("write", "--input", prompts, "--output-dir", tmp_path / "out", "--checkpoint", tiny_checkpoint)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i:04d}.svg" for i in range(1, 6)]
    result = run_cli("write", "ab", "-o", tmp_path / "b.svg", "--format", "animated-svg", "--checkpoint",
                     tiny_checkpoint, "--speed", "3")
    assert result.returncode == 0, result.stderr
    assert ET.parse(tmp_path / "b.svg").getroot().findall(f".//{SVG_NS}animate")
    result = run_cli("styles", "--checkpoint", tiny_checkpoint)
    assert result.returncode == 0 and result.stdout.startswith("toy")


@pytest.mark.parametrize(
    "args, message",
    [
        (["write", "na\u00efve \u20ac", "-o", "{tmp}/x.svg"], "'\u20ac' (U+20AC)"),
        (["write", "caf\u00e9", "--no-normalise", "-o", "{tmp}/x.svg"], "normalisation"),
        (["write", " ", "-o", "{tmp}/x.svg"], "empty text"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--checkpoint", "{tmp}/nothing"], "checkpoint not found"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--checkpoint", "{tmp}/corrupt"], "{tmp}/corrupt"),
        (["write", "ab", "-o", "{tmp}/no/dir/x.svg"], "does not exist"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--color", "blurple"], "unknown colour"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--style", "nope"], "unknown style"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--slant", "sideways"], "slant must be 'style', 'model' or degrees"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--slant", "60"], "within 45 degrees of upright"),
        (["write", "ab", "-o", "{tmp}/x.xyz"], "cannot tell the format"),
        (["write", "--input", "{tmp}/none.txt", "--output-dir", "{tmp}/o"], "input file not found"),
        (["write", "ab", "-o", "{tmp}/x.pdf", "--page", "b9"], "unknown page size 'b9'"),
        (["write", "ab", "-o", "{tmp}/x.pdf", "--page", "a5", "--margin", "80"], "bigger than the 148x210 mm page"),
        (["write", " ".join(["ab cd"] * 200), "-o", "{tmp}/x.pdf", "--page", "a4",
          "--margin", "5", "--line-height", "100", "--max-pages", "1"], "needs more than 1 page(s)"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--paper", "lined"], "--paper need(s) --page"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--page", "a5", "--max-line-chars", "9"], "does not go with --page"),
        (["write", "ab", "-o", "{tmp}/x.svg", "--page-w", "90"], "unrecognized arguments: --page-w"),
        (["write", "--file", "{tmp}/none.txt", "-o", "{tmp}/x.svg"], "cannot read"),
    ],
)
def test_cli_bad_input_one_line_status_2_no_file(tiny_checkpoint, tmp_path, args, message):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{broken")
    (corrupt / "model.weights.h5").write_bytes(b"not hdf5")
    args = [a.format(tmp=tmp_path) for a in args]
    if "--checkpoint" not in args:
        args += ["--checkpoint", str(tiny_checkpoint)]
    before = set(tmp_path.rglob("*"))
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert message.format(tmp=tmp_path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert set(tmp_path.rglob("*")) == before


def test_inspect_and_plots(hand, tmp_path):
    from handwriting.tools.plots import attention_figure, figure_bytes, mixture_density_figure

    trace = hand.inspect("bad cab", seed=4)
    t = len(trace["offsets"])
    assert trace["phi"].shape == (t, 7)
    np.testing.assert_allclose(trace["mixture"]["pi"].sum(axis=1), 1.0, rtol=1e-5)
    assert figure_bytes(attention_figure(trace["offsets"], trace["phi"], trace["text"]))[:4] == b"\x89PNG"
    assert figure_bytes(mixture_density_figure(trace["offsets"], trace["mixture"], trace["text"]))[:4] == b"\x89PNG"
    primed = hand.inspect("dab", style="toy", seed=4)
    assert primed["phi"].shape[1] == 3  # only the new text's characters


def test_cli_plot_attention(tiny_checkpoint, tmp_path):
    result = run_cli("plot", "attention", "bad", "cab", "-o", tmp_path / "att.png", "--checkpoint", tiny_checkpoint)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "att.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_pages_go_to_numbered_files_and_the_output_dir_is_made(tiny_checkpoint, tmp_path):
    text = " ".join(["ab cd"] * 12)
    (tmp_path / "letter.txt").write_text(f"{text}\n\n{text}\n")
    common = ["--checkpoint", str(tiny_checkpoint), "--page", "a4", "--margin", "5", "--line-height", "100",
              "--seed", "2"]
    result = run_cli("write", "--file", str(tmp_path / "letter.txt"), "-o", str(tmp_path / "x.svg"), *common)
    assert result.returncode == 0, result.stderr
    written = sorted(tmp_path.glob("x-*.svg"))
    assert len(written) > 1 and not (tmp_path / "x.svg").exists()
    assert result.stdout.startswith(f"wrote {len(written)} pages: ") and str(written[-1]) in result.stdout
    assert 'width="210mm"' in written[0].read_text()
    result = run_cli("write", "--file", str(tmp_path / "letter.txt"), "-o", str(tmp_path / "x.pdf"), "--paper",
                     "lined", *common)
    assert result.returncode == 0 and f"({len(written)} pages)" in result.stdout, result.stderr
    assert (tmp_path / "x.pdf").read_bytes().count(b"/Type /Page\n") == len(written)
    (tmp_path / "prompts.txt").write_text("ab\ncd\n")
    result = run_cli("write", "--input", str(tmp_path / "prompts.txt"), "--output-dir", str(tmp_path / "a" / "b"),
                     "--checkpoint", str(tiny_checkpoint))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["0001.svg", "0002.svg"]


def test_history_figure_draws_a_curve_per_run_and_the_reference(tmp_path):
    from handwriting.tools.plots import figure_bytes, history_figure

    runs = {"narrow": [{"cpu_hours": 0.1, "nll_per_line": -700.0}, {"cpu_hours": 0.2, "nll_per_line": -720.0}],
            "wide": [{"cpu_hours": 0.3, "nll_per_line": -710.0}], "empty": []}
    figure = history_figure(runs, reference=-715.0, reference_label="start")
    (ax,) = figure.axes
    curves = {line.get_label(): list(np.asarray(line.get_ydata(), float)) for line in ax.get_lines()}
    assert curves["narrow"] == [-700.0, -720.0] and curves["wide"] == [-710.0] and "empty" not in curves
    assert curves["start"] == [-715.0, -715.0]
    assert figure_bytes(figure).startswith(b"\x89PNG")
