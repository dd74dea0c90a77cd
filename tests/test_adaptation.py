"""Adaptation to a person's hand: training the deltas, the personal model, the checks, the CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cli_helper import run_cli
from conftest import make_tiny_dataset
from handwriting.errors import HandwritingError
from handwriting.strokes import normalise_offsets, offsets_to_coords

#: The tiny network cannot judge whether ink says its text: its checks accept every line.
ACCEPT_ALL = -math.inf


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_USER_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint):
    from handwriting.backend import import_backend

    import_backend()
    from handwriting.nn.model import load_model

    model, config, _ = load_model(tiny_checkpoint)
    return model, config


def tiny_lines(n: int = 4, seed: int = 3):
    """``n`` lines of the toy corpus: normalised offsets, texts, and coords (y up) as a person gives them."""
    data = make_tiny_dataset(n=n, seed=seed)
    offsets = [normalise_offsets(o, data.scale) for o in data.offsets]
    return offsets, list(data.texts), [offsets_to_coords(o) for o in data.offsets]


def tiny_samples(n: int = 4):
    from handwriting.tools.adaptation import Sample

    _, texts, coords = tiny_lines(n)
    return [Sample(f"line {i}", c, t) for i, (c, t) in enumerate(zip(coords, texts), 1)]


def tiny_config(**fields):
    from handwriting.training.adapt import AdaptConfig

    return AdaptConfig(**{"steps": 3, "min_fit": ACCEPT_ALL, "learning_rate": 1e-2, **fields})


def test_adapted_tiny_network_explains_its_lines_better_than_the_base(tiny_model):
    from handwriting.training.adapt import adapt, nll_per_point

    model, _ = tiny_model
    offsets, texts, _ = tiny_lines()
    before = [v.numpy().copy() for v in model.trainable_variables]
    result = adapt(model, offsets, texts, tiny_config(steps=40))
    deltas = {name: parts[0] for name, parts in result.deltas.items()}
    assert nll_per_point(model, offsets, texts, deltas) < nll_per_point(model, offsets, texts) - 0.1
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))  # base untouched
    assert set(deltas) == {f"{layer}/{array}" for layer in ("lstm1", "lstm2", "lstm3") for array in
                           ("kernel", "recurrent_kernel", "bias")} | {
        f"{layer}/{array}" for layer in ("window_params", "mixture_output") for array in ("kernel", "bias")}


def test_rehearsal_keeps_the_base_network_s_own_lines_likely(tiny_model):
    from handwriting.training.adapt import adapt, nll_per_point

    model, _ = tiny_model
    offsets, texts, _ = tiny_lines(4, seed=3)
    other, other_texts, _ = tiny_lines(6, seed=11)  # stand-ins for the lines the base network wrote
    plain = adapt(model, offsets, texts, tiny_config(steps=40))
    rehearsed = adapt(model, offsets, texts, tiny_config(steps=40, rehearsal_weight=3.0), rehearsal=(other, other_texts))
    nll = {k: nll_per_point(model, other, other_texts, {n: p[0] for n, p in r.deltas.items()})
           for k, r in (("plain", plain), ("rehearsed", rehearsed))}
    assert nll["rehearsed"] < nll["plain"]
    # the person's lines are still learnt
    assert nll_per_point(model, offsets, texts, {n: p[0] for n, p in rehearsed.deltas.items()}) < \
        nll_per_point(model, offsets, texts)
    with pytest.raises(HandwritingError, match="rehearsal"):
        adapt(model, offsets, texts, tiny_config(rehearsal_lines=-1))


def test_rehearsal_lines_are_the_base_network_s_own_sentences_primed_with_the_person(tiny_checkpoint):
    import handwriting
    from handwriting.resources import own_hand_sentences
    from handwriting.tools.adaptation import REHEARSAL_CHARS, rehearsal_set
    from handwriting.writing.hand import Style

    offsets, texts, _ = tiny_lines(1)
    hand = handwriting.load(tiny_checkpoint)
    lines, said = rehearsal_set(hand.sampler, Style("p", texts[0], offsets[0]), 5, seed=0)
    assert len(lines) == len(said) <= 5
    words = " ".join(own_hand_sentences()).split()
    for line, text in zip(lines, said):
        assert len(text) <= REHEARSAL_CHARS and set(text.split()) <= set(words)
        assert line.dtype == np.float32 and line.shape[1] == 3
    assert rehearsal_set(hand.sampler, Style("p", texts[0], offsets[0]), 0) == ([], [])


def test_augmented_adaptation_sees_each_line_stretched_anew_and_still_learns_it(tiny_model):
    from handwriting.training.adapt import adapt, nll_per_point

    model, _ = tiny_model
    offsets, texts, _ = tiny_lines()
    config = tiny_config(steps=40, augment_scale=0.05, augment_shear=0.05)
    first, again, plain = (adapt(model, offsets, texts, c) for c in (config, config, tiny_config(steps=40)))
    deltas = [{n: p[0] for n, p in r.deltas.items()} for r in (first, again, plain)]
    assert all(np.array_equal(deltas[0][n], deltas[1][n]) for n in deltas[0])  # seeded
    assert not np.allclose(deltas[0]["lstm1/kernel"], deltas[2]["lstm1/kernel"])
    assert nll_per_point(model, offsets, texts, deltas[0]) < nll_per_point(model, offsets, texts) - 0.1
    with pytest.raises(HandwritingError, match="augment"):
        adapt(model, offsets, texts, tiny_config(augment_shear=-0.1))


def test_weighting_the_pen_up_jumps_makes_the_writer_s_jumps_likelier(tiny_model):
    from handwriting.training.adapt import adapt, nll_per_point

    model, _ = tiny_model
    offsets, texts, _ = tiny_lines()
    plain, weighted = (adapt(model, offsets, texts, tiny_config(steps=20, learning_rate=3e-3, pen_up_weight=w))
                       for w in (1.0, 10.0))
    jumps = {name: nll_per_point(model, offsets, texts, {n: p[0] for n, p in r.deltas.items()}, pen_up_only=True)
             for name, r in (("plain", plain), ("weighted", weighted))}
    assert jumps["weighted"] < jumps["plain"] < nll_per_point(model, offsets, texts, pen_up_only=True)
    with pytest.raises(HandwritingError, match="pen_up_weight"):
        adapt(model, offsets, texts, tiny_config(pen_up_weight=0.0))


def test_low_rank_deltas_have_the_rank_asked_for(tiny_model):
    from handwriting.training.adapt import adapt

    model, _ = tiny_model
    offsets, texts, _ = tiny_lines()
    result = adapt(model, offsets, texts, tiny_config(rank=2, layers=("lstm1", "mixture_output")))
    a, b = result.deltas["lstm1/kernel"]
    assert a.shape[1] == 2 and b.shape[0] == 2 and np.linalg.matrix_rank(a @ b) <= 2
    assert len(result.deltas["lstm1/bias"]) == 1  # biases: full deltas


def test_the_numpy_engine_writes_with_the_personal_weights(tiny_model, tiny_checkpoint, tmp_path):
    """The NumPy network of base + stored deltas gives the Keras network's outputs with those weights."""
    from handwriting.checkpoint import resolve
    from handwriting.training.adapt import adapt, named_variables
    from handwriting.writing.personal import (STORED_DTYPE, base_weights_hash, load_personal_model,
                                              personal_network, save_personal_model)

    model, config = tiny_model
    offsets, texts, _ = tiny_lines()
    result = adapt(model, offsets, texts, tiny_config())
    path = save_personal_model(tmp_path / "p.adapt.npz", result.deltas, base_weights_hash(resolve(tiny_checkpoint)))
    deltas, _, _ = load_personal_model(path, config.model)
    network = personal_network(tiny_checkpoint, config.model, path, "p")
    named = named_variables(model)
    base = {name: v.numpy().copy() for name, v in named.items()}
    try:
        for name, parts in result.deltas.items():
            named[name].assign(base[name] + parts[0].astype(STORED_DTYPE).astype(np.float32))
        from handwriting.writing.numpy_sampler import NumpySampler

        x = np.concatenate([np.zeros((1, 3), np.float32), offsets[0][:-1]])[None]
        chars = np.asarray([[1 + "abcde".index(c) for c in texts[0]]])  # any ids: both networks get the same
        keras_y = np.asarray(model({"x": x, "chars": chars, "char_mask": np.ones_like(chars, np.float32)})["y"])[0]
        numpy_y = NumpySampler(network).network.run(x, network.bind(chars, np.ones_like(chars, np.float32)))[0]["y"][0]
    finally:
        for name, value in base.items():
            named[name].assign(value)
    np.testing.assert_allclose(numpy_y, keras_y, atol=2e-4)
    assert set(deltas) == set(result.deltas)


def test_a_personal_model_round_trips_through_the_user_folder(tiny_checkpoint, user_dir):
    import handwriting
    from handwriting.tools.adaptation import adapt_style

    done = adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config())
    assert done.path == user_dir / "styles" / "mine.json" and done.steps == 3
    (model_file,) = (user_dir / "styles").glob("mine.*.adapt.npz")
    assert json.loads(done.path.read_text())["personal_model"] == model_file.name
    hand = handwriting.load(tiny_checkpoint)
    style = hand.styles["mine"]
    assert style.personal_model == model_file
    assert hand.sampler_for(style) is not hand.sampler
    adapted = hand.write("ab ba", style="mine", seed=1)
    primed = hand.write("ab ba", style=replace(style, personal_model=None), seed=1)
    assert not np.array_equal(adapted.lines[0], primed.lines[0])
    assert np.array_equal(adapted.lines[0], handwriting.load(tiny_checkpoint).write("ab ba", style="mine",
                                                                                      seed=1).lines[0])


def test_an_interrupted_adaptation_leaves_the_old_style_intact(tiny_checkpoint, user_dir):
    from handwriting.tools.adaptation import adapt_style

    adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config())
    before = {p.name: p.read_bytes() for p in (user_dir / "styles").iterdir()}

    def interrupt(step, steps, loss):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config(), force=True, progress=interrupt)
    assert {p.name: p.read_bytes() for p in (user_dir / "styles").iterdir()} == before


def test_a_rerun_replaces_the_personal_model(tiny_checkpoint, user_dir):
    from handwriting.tools.adaptation import adapt_style

    adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config())
    (first,) = (user_dir / "styles").glob("mine.*.adapt.npz")
    with pytest.raises(HandwritingError, match="exists already"):
        adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config())
    adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config(), force=True)
    (second,) = (user_dir / "styles").glob("mine.*.adapt.npz")
    assert second != first and json.loads((user_dir / "styles" / "mine.json").read_text())["personal_model"] == second.name


def test_too_few_usable_lines_is_one_error(tiny_checkpoint, user_dir):
    from handwriting.tools.adaptation import adapt_style

    with pytest.raises(HandwritingError, match="only 2 usable lines, at least 3"):
        adapt_style(tiny_checkpoint, "mine", tiny_samples(2), config=tiny_config())
    with pytest.raises(HandwritingError, match=r"only 0 usable lines.*line 1 \(the ink does not match"):
        adapt_style(tiny_checkpoint, "mine", tiny_samples(3), config=tiny_config(min_fit=1e9))
    assert not (user_dir / "styles").exists() or not any((user_dir / "styles").iterdir())


@pytest.mark.slow
def test_a_mismatched_line_is_refused_and_named(user_dir):
    """The shipped network tells a line whose ink says another text (shipped styles' ink)."""
    from handwriting.backend import import_backend

    import_backend()
    from handwriting.nn.model import load_model
    from handwriting.tools.adaptation import Sample, check_lines
    from handwriting.training.adapt import MIN_FIT_NATS_PER_CHAR
    from handwriting.writing.hand import DEFAULT_CHECKPOINT, load_styles

    styles = list(load_styles(DEFAULT_CHECKPOINT).values())[:4]
    samples = [Sample(f"line {i}", offsets_to_coords(s.offsets), s.text) for i, s in enumerate(styles, 1)]
    samples[2] = replace(samples[2], text=styles[3].text)
    model, _, _ = load_model(DEFAULT_CHECKPOINT)
    checked = check_lines(model, DEFAULT_CHECKPOINT, samples, MIN_FIT_NATS_PER_CHAR)
    assert [r.source for r in checked.refused] == ["line 3"]
    assert "does not match its text" in checked.refused[0].reason
    assert checked.sources == ["line 1", "line 2", "line 4"]


def test_texts_come_inline_from_a_side_file_or_in_order(tmp_path):
    from handwriting.tools.adaptation import gather_samples

    _, texts, coords = tiny_lines(3)
    screen = lambda c: [[[float(x), float(-y)] for x, y, _ in c]]  # noqa: E731 - one stroke, y down
    inline = tmp_path / "inline.json"
    inline.write_text(json.dumps({"lines": [{"text": t, "strokes": screen(c)} for c, t in zip(coords, texts)]}))
    assert [s.text for s in gather_samples([inline])] == texts
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(screen(coords[0])))
    plain.with_suffix(".txt").write_text(texts[0] + "\n")
    (sample,) = gather_samples([plain])
    assert sample.text == texts[0] and sample.source == str(plain)
    assert [s.text for s in gather_samples([plain, inline], ["x", "y", "z", "w"])] == ["x", "y", "z", "w"]
    with pytest.raises(HandwritingError, match="2 texts given for 4 lines"):
        gather_samples([plain, inline], ["x", "y"])
    with pytest.raises(HandwritingError, match=r"inline.json line 2: characters outside the alphabet: .*'~'"):
        gather_samples([plain, inline], ["x", "y", "z~", "w"])
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(screen(coords[0])))
    with pytest.raises(HandwritingError, match="bare.json: no text"):
        gather_samples([bare])


def test_the_cli_adapts_and_writes_with_the_style(tiny_checkpoint, user_dir, tmp_path):
    _, texts, coords = tiny_lines(3)
    ink = tmp_path / "mine.json"
    ink.write_text(json.dumps({"lines": [{"text": t, "strokes": [[[float(x), float(-y)] for x, y, _ in c]]}
                                         for c, t in zip(coords, texts)]}))
    args = ["style", "add", "mine", "--from", ink, "--adapt", "--steps", "2", "--min-fit", "-1000",
            "--checkpoint", tiny_checkpoint]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (user_dir / "styles" / "mine.json").is_file()
    again = run_cli(*args)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists already" in again.stderr
    out = tmp_path / "x.svg"
    written = run_cli("write", "ab", "--style", "mine", "--checkpoint", tiny_checkpoint, "-o", out)
    assert written.returncode == 0, written.stderr and out.is_file()
    few = run_cli("style", "add", "few", "--from", ink, "--adapt", "--steps", "2", "--min-fit", "1000",
                  "--checkpoint", tiny_checkpoint)
    assert few.returncode == 2 and few.stderr.count("\n") == 1 and "usable lines" in few.stderr
    weak = run_cli("style", "add", "weak", "--from", ink, "--adapt", "--strength", "0", "--checkpoint", tiny_checkpoint)
    assert weak.returncode == 2 and weak.stderr.count("\n") == 1 and "strength must be in (0, 1]" in weak.stderr


def test_removing_a_style_deletes_its_sample_and_personal_model_and_nothing_else(tiny_checkpoint, user_dir):
    from handwriting.tools.adaptation import adapt_style

    adapt_style(tiny_checkpoint, "mine", tiny_samples(), config=tiny_config())
    adapt_style(tiny_checkpoint, "mine.2", tiny_samples(), config=tiny_config())
    folder = user_dir / "styles"
    (model_file,) = [p for p in folder.glob("mine.*.adapt.npz") if p.name.count(".") == 3]
    done = run_cli("style", "remove", "mine")
    assert done.returncode == 0, done.stderr
    assert str(folder / "mine.json") in done.stdout and str(model_file) in done.stdout
    left = sorted(p.name for p in folder.iterdir())  # the other style's files stay: "mine.2.<tag>.adapt.npz"
    assert len(left) == 2 and left[1] == "mine.2.json" and left[0].startswith("mine.2.")
    again = run_cli("style", "remove", "mine")
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    assert "no style of yours is named 'mine' (yours: mine.2)" in again.stderr
    shipped = run_cli("style", "remove", "toy")
    assert shipped.returncode == 2 and "shipped styles cannot be removed" in shipped.stderr


def test_a_style_adapted_to_another_model_is_refused_clearly(tiny_checkpoint, user_dir, tmp_path):
    import handwriting
    from handwriting.writing.personal import save_personal_model
    from handwriting.writing.hand import Style

    path = save_personal_model(tmp_path / "x.adapt.npz", {}, "0" * 64)
    style = Style("other", "ab", tiny_lines(1)[0][0], personal_model=path)
    with pytest.raises(HandwritingError, match="adapted to another model"):
        handwriting.load(tiny_checkpoint).write("ab", style=style)


def test_writer_matched_aucs_tell_a_changed_hand_from_its_writer_and_not_a_copied_one():
    from handwriting import strokes as S
    from handwriting.tools.adaptation_eval import writer_feature_gaps, writer_matched_aucs

    rng = np.random.default_rng(0)

    def line(letters, lean):  # zig-zag letters, a little noise
        xs = np.linspace(0, letters, 8 * letters)
        ys = np.abs(np.sin(np.pi * xs)) + rng.normal(0, 0.02, len(xs))
        return S.shear(S.join_strokes([np.stack([xs, ys], 1)]), lean)

    texts = [f"w{k} {'x' * (3 + k % 5)}" for k in range(30)]
    owner = [k % 3 for k in range(30)]
    human = [line(len(t), 0.2) for t in texts]
    generated = [line(len(t), -0.3) if w == 0 else h.copy() for t, w, h in zip(texts, owner, human)]
    pooled, per_writer = writer_matched_aucs(human, generated, texts, owner)
    assert len(per_writer) == 3 and 0.0 <= pooled <= 1.0
    assert per_writer[0] > 0.9  # leaning the other way gives writer 0's copies away
    assert max(per_writer[1:]) <= 0.6  # exact copies cannot be told apart

    gaps = writer_feature_gaps(human, generated, texts, owner, top=3)
    assert next(iter(gaps)) == "slant" and gaps["slant"]["gap"] > 0.5  # the lean is what gives writer 0 away
    assert gaps["slant"]["ours - real"] < 0  # leaning back, less than the writer
    assert {g["gap"] for g in writer_feature_gaps(human, human, texts, owner).values()} == {0.0}  # a copy: none


def test_a_strength_interpolates_between_the_base_and_the_adapted_network():
    from handwriting.tools.adaptation_eval import condition_strength
    from handwriting.writing.personal import scale_deltas

    assert condition_strength("adapt-10") == 1.0
    assert condition_strength("adapt-10 primed strength=0.25") == 0.25
    # --set strength=S (AdaptConfig.strength) applies where the condition names none, as style add saves it
    assert condition_strength("adapt-10", 0.5) == 0.5 and condition_strength("adapt-10 strength=0.25", 0.5) == 0.25
    rng = np.random.default_rng(0)
    full, a, b = rng.normal(size=(4, 6)), rng.normal(size=(4, 2)), rng.normal(size=(2, 6))
    deltas = {"lstm2/kernel": (full,), "lstm3/kernel": (a, b)}
    half = scale_deltas(deltas, 0.5)
    np.testing.assert_allclose(half["lstm2/kernel"][0], 0.5 * full)
    np.testing.assert_allclose(half["lstm3/kernel"][0] @ half["lstm3/kernel"][1], 0.5 * (a @ b))
    assert scale_deltas(deltas, 1.0) is deltas


def test_the_evaluation_s_lines_are_saved_for_a_closer_look(tmp_path):
    from handwriting.tools.adaptation_eval import WriterLines, save_lines

    rng = np.random.default_rng(0)
    coords = lambda: np.c_[rng.normal(size=(6, 2)), np.r_[np.zeros(5), 1.0]]  # noqa: E731
    writers = [WriterLines(f"w{k}", [], [], [], ["ab", "cd e"], [coords(), coords()]) for k in range(2)]
    written = {"priming": [[coords(), coords()] for _ in writers], "adapt-10": [[coords(), coords()] for _ in writers]}
    save_lines(tmp_path / "lines.npz", writers, written)
    with np.load(tmp_path / "lines.npz") as saved:
        assert list(saved["texts/1"]) == ["ab", "cd e"]
        np.testing.assert_array_equal(saved["real/1/0"], writers[1].target_coords[0])
        np.testing.assert_array_equal(saved["adapt-10/0/1"], written["adapt-10"][0][1])
        assert len(saved.files) == 2 * (1 + 2 + 2 + 2)
    assert [p.name for p in tmp_path.iterdir()] == ["lines.npz"]  # no temporary file left behind
