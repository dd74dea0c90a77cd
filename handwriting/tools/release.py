"""Turn a training run into a shippable checkpoint: config, weights and named styles.

A released checkpoint (like the shipped ``checkpoints/default``) holds only what writing
needs: ``config.json`` (with ``default_style`` and a ``release`` record of where it came from),
``model.weights.h5`` and ``styles/NAME.json``. No optimizer state, no logs.

Styles are prime samples (Graves section 5.5) taken from the validation lines of the dataset
the model was trained on, so the network has never seen them: for each font of the corpus,
the validation line of that font whose length is closest to :data:`STYLE_TARGET_CHARS` (a
training line only where no writer of that font was held out).

With ``style_candidates_per_font=N`` the N such lines of each font (from different writers) are tried
as primes: the model writes a prompt set with each (``selection_prompts``, kept apart from the
public evaluation prompts), the OCR reads it back, and the line with the lowest CER becomes
the style. One pass of a few prompts is a noisy score, and the lowest of many noisy scores is
mostly luck (a "winner's curse"), so with ``finalists=K`` the K best candidates of each font are
written again with more seeds (``selection_seeds`` passes in all) and the lowest mean wins.
``default_style="auto"`` then names the style that scored best. The scores are recorded in
``config.json``'s ``release`` record.

Styles from held-out human writers are chosen by legibility *and* likeness to people: the OCR
score also measures how each style's written lines look (:class:`StyleScore`), and
:func:`~.human_styles.rank_human_styles` applies the selection rule stated there.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .. import checkpoint as ckpt
from ..errors import HandwritingError
from ..fileio import atomic_directory, write_text_atomic
from ..writing.hand import Style
from .human_styles import (auto_default_style, candidate_pool, check_style_writers, human_style_candidates,
                           rank_human_styles, written_look)
from ..writing.weights import write_numpy_weights
from ..strokes import normalise_offsets

#: Style names for the corpus fonts (a writer of the font corpus is named ``FONT#N``).
FONT_STYLE_NAMES = {
    "cursive": "cursive",
    "scripts": "script",
    "futural": "print",
    "EMSAllure": "allure",
    "EMSElfin": "elfin",
    "EMSFelix": "felix",
    "EMSReadability": "readable",
    "EMSReadabilityItalic": "italic",
    "EMSTech": "tech",
}
#: Prime lines of about this many characters: long enough to show a hand, short enough to be cheap.
STYLE_TARGET_CHARS = 30
#: Prime lines must have at least this many characters.
STYLE_MIN_CHARS = 12
#: Where a release's styles come from: the font corpus' fonts, or held-out human writers.
STYLE_SOURCES = ("fonts", "human")
#: ``default_style`` value that names the style with the lowest selection CER (human styles: the
#: selection rule's choice, :func:`~.human_styles.auto_default_style`).
AUTO_DEFAULT_STYLE = "auto"
#: Held-out people's lines whose look (:func:`~.human_styles.written_look`) human styles are
#: measured against.
PEOPLE_LINES = 600


@dataclass
class StyleScore:
    """A style's selection score: the OCR's ``cer`` of the lines it wrote, and how those lines
    look (:func:`~.human_styles.written_look`; ``None`` when not measured). A score function may
    also return a bare CER."""

    cer: float
    look: dict | None = None


def _as_score(value) -> StyleScore:
    return value if isinstance(value, StyleScore) else StyleScore(float(value))


def style_candidates(dataset, scale: float, validation_fraction: float, seed: int,
                     per_font: int = 1) -> dict[str, list[Style]]:
    """Up to ``per_font`` candidate styles per font of a font-corpus dataset, best first.

    Candidates are ordered by (validation before training line, distance of the length from
    :data:`STYLE_TARGET_CHARS`), one line per writer; the first is the style ``release`` makes
    without selection (see the module docstring).

    Args:
        dataset: a :class:`~handwriting.datasets.format.StrokeDataset` of the font corpus.
        scale: the checkpoint's scale (the style's offsets are divided by it).
        validation_fraction, seed: the checkpoint's ``TrainConfig`` fields that made its split.
        per_font: how many candidates to keep per font.
    """
    from ..datasets import split_by_writer

    train_idx, val_idx = split_by_writer(dataset, validation_fraction, seed)
    ranked: dict[str, list[tuple[int, int, int]]] = {}  # (held out?, length distance, line index)
    for held_out, indices in ((0, val_idx), (1, train_idx)):
        for i in indices:
            font = dataset.writers[dataset.writer_ids[i]].split("#")[0]
            name = FONT_STYLE_NAMES.get(font)
            text = dataset.texts[i]
            if name is None or len(text) < STYLE_MIN_CHARS:
                continue
            ranked.setdefault(name, []).append((held_out, abs(len(text) - STYLE_TARGET_CHARS), int(i)))
    candidates = {}
    for name, entries in sorted(ranked.items()):
        writers, chosen = set(), []
        for *_, i in sorted(entries):
            if dataset.writer_ids[i] in writers:
                continue
            writers.add(dataset.writer_ids[i])
            chosen.append(Style(name=name, text=dataset.texts[i], offsets=normalise_offsets(dataset.offsets[i], scale)))
            if len(chosen) == per_font:
                break
        candidates[name] = chosen
    return candidates


#: Seed of the first selection pass (every candidate is written once with it).
FIRST_SELECTION_SEED = 0
#: Default number of candidates per font written again with more seeds.
DEFAULT_FINALISTS = 3
#: Default number of passes (seeds) the finalists are scored over, the first pass included.
DEFAULT_SELECTION_SEEDS = 3


def _check_final_round(finalists: int, seeds: int) -> None:
    if finalists < 0 or seeds < 1:
        raise HandwritingError(f"selection finalists must be at least 0 and seeds at least 1, "
                               f"not {finalists} and {seeds}")


def select_styles(candidates: dict[str, list[Style]], score: Callable[[Style, int], float], *,
                  finalists: int = 0, seeds: int = 1) -> tuple[list[Style], dict[str, dict]]:
    """The best candidate of each name by ``score(style, seed)``, and a record of the scores.

    Every candidate is scored once with seed :data:`FIRST_SELECTION_SEED`; then the ``finalists``
    lowest of each name are scored with ``seeds - 1`` more seeds, and the lowest mean over a
    finalist's passes wins (with ``finalists=0`` or ``seeds=1``, the lowest first score wins).

    Returns:
        ``(styles, record)``: one style per name; ``record[name]`` holds the chosen ``text``,
        its ``cer`` (the mean over its passes), every candidate's first score
        (``candidate_cers``, in candidate order), where there was a final round,
        ``finalists`` (candidate indices) with their ``finalist_cers``, and where the score
        measured it the ``look`` of the chosen one's first pass.
    """
    _check_final_round(finalists, seeds)
    final_round = finalists > 0 and seeds > 1
    styles, record = [], {}
    for name, options in sorted(candidates.items()):
        scores = [_as_score(score(style, FIRST_SELECTION_SEED)) for style in options]
        first = [s.cer for s in scores]
        ranked = sorted(range(len(options)), key=first.__getitem__)
        means = {ranked[0]: first[ranked[0]]}
        if final_round:
            for i in ranked[:finalists]:
                more = [_as_score(score(options[i], FIRST_SELECTION_SEED + k)).cer for k in range(1, seeds)]
                means[i] = (first[i] + sum(more)) / seeds
        best = min(means, key=lambda i: (means[i], first[i]))
        styles.append(options[best])
        record[name] = {"text": options[best].text, "cer": means[best], "candidate_cers": first}
        if scores[best].look is not None:
            record[name]["look"] = scores[best].look  # of its first pass
        if final_round:
            record[name]["finalists"] = list(means)
            record[name]["finalist_cers"] = list(means.values())
    return styles, record


def ocr_style_score(source: Path, prompts: Sequence[str], *, bias: float,
                    piece_chars: int | None = None) -> Callable[[Style, int], StyleScore]:
    """A :func:`select_styles` score: mean OCR CER of ``prompts`` written by ``source``'s model in a
    style, in pieces of ``piece_chars`` as the release will write them, and how the lines look."""
    import numpy as np

    from .evaluate import OcrReader, score_lines
    from ..writing.hand import load

    reader = OcrReader()
    hand = load(source)
    hand.piece_chars = piece_chars

    def score(style: Style, seed: int) -> StyleScore:
        coords, _ = hand.write_lines(list(prompts), style=style, bias=bias, seed=seed)
        cer = float(np.mean([line.cer for line in score_lines(style.name, prompts, coords, reader)]))
        return StyleScore(cer, written_look(coords, prompts))

    return score


def release(run_dir: str | Path, out_dir: str | Path, *, data: str | Path | None = None,
            default_style: str | None = None, styles: list[Style] | None = None, note: str = "",
            style_candidates_per_font: int = 1, selection_prompts: Sequence[str] | None = None,
            selection_bias: float | None = None, finalists: int = DEFAULT_FINALISTS,
            selection_seeds: int = DEFAULT_SELECTION_SEEDS,
            score: Callable[[Style, int], float] | None = None, style_source: str = "fonts",
            style_count: int | None = None, piece_chars: int | None = None, styles_from: dict | None = None,
            default_bias: float | None = None, style_writers: str = "held-out") -> Path:
    """Write ``out_dir`` from a run (its ``best/`` if present, else the newest checkpoint).

    ``data`` (the training dataset file) supplies the styles; ``default_style`` must name one
    of them, be ``"auto"`` (the best selection score; needs selection) or ``None`` (write
    unprimed by default). With ``style_candidates_per_font > 1`` each font's style is chosen by
    ``score`` (default: the OCR CER of ``selection_prompts`` at ``selection_bias``, default
    ``hand.DEFAULT_BIAS``), with ``finalists`` re-scored over ``selection_seeds`` passes (see
    :func:`select_styles`). ``style_source="human"`` takes the candidates from the held-out
    human writers instead (``style_candidates_per_font`` lines per writer, one style per writer,
    the ``style_count`` best kept: :mod:`.human_styles`), or from the writers the run trained on
    with ``style_writers="training"``; ``"fonts"`` one per corpus font.
    ``piece_chars`` makes the release write longer lines in pieces (``CheckpointConfig.piece_chars``);
    ``default_bias`` is the bias it writes with when none is given (``CheckpointConfig.default_bias``,
    kept from the source when not given; the selection's bias when that is not given either).
    Given ``styles`` (another release's, when only the weights change) are the release's styles:
    ``data`` then gives only the provenance, and ``styles_from`` (that release's record) is kept
    in this one's. ``out_dir`` is replaced atomically.
    """
    _check_options(style_source, style_count, piece_chars, style_candidates_per_font, finalists, selection_seeds,
                   default_bias, style_writers)
    # Human styles are chosen among writers even with one line each: the rule ranks the writers.
    ranking_writers = style_source == "human" and (score is not None or bool(selection_prompts))
    selecting = style_candidates_per_font > 1 or ranking_writers
    _check_selection(selecting, bool(styles), data is not None, score is not None or bool(selection_prompts),
                     default_style)
    run_dir = Path(run_dir)
    source = run_dir / ckpt.BEST_DIR if (run_dir / ckpt.BEST_DIR / ckpt.WEIGHTS_FILE).is_file() else run_dir
    source = ckpt.resolve(source)
    config = ckpt.read_config(source)
    config.piece_chars = piece_chars if piece_chars is not None else config.piece_chars
    config.default_bias = default_bias if default_bias is not None else config.default_bias
    if selecting and selection_bias is None:
        from ..writing.hand import DEFAULT_BIAS

        selection_bias = DEFAULT_BIAS if config.default_bias is None else config.default_bias
    styles = list(styles or [])
    selection = human = None
    if data is not None:
        from ..datasets import load_dataset
        from ..datasets.provenance import provenance_of

        dataset = load_dataset(data)
        if selecting and score is None:
            score = ocr_style_score(source, selection_prompts, bias=selection_bias, piece_chars=config.piece_chars)
        if not styles:
            styles, selection, human = _choose_styles(dataset, config, style_source, style_candidates_per_font,
                                                      score if selecting else None, finalists=finalists,
                                                      seeds=selection_seeds, count=style_count, writers=style_writers)
        config.provenance = provenance_of(dataset) or config.provenance  # with each known source's full record
        x_height_units = dataset.metadata.get("x_height_units")
        if x_height_units:  # the page size of written text follows the handwriting's x-height
            config.x_height = float(x_height_units) / config.scale
    names = [s.name for s in styles]
    if default_style == AUTO_DEFAULT_STYLE and selection:
        default_style = auto_default_style(selection)
    if default_style is not None and default_style not in names:
        raise HandwritingError(f"default style {default_style!r} is not among the styles: {', '.join(names)}")
    config.default_style = default_style
    previous = config.release  # re-releasing a release (new styles, same weights) keeps its history
    config.release = {"from": str(source), "step": config.step, "data": str(data) if data else None, "note": note}
    if previous:
        config.release["previous"] = previous
    if styles_from:
        config.release["styles_from"] = styles_from
    if selection is not None:
        config.release.update(_selection_record(
            selection, human, style_source, style_writers, prompts=len(selection_prompts or []) or None,
            bias=selection_bias, per_font=style_candidates_per_font, finalists=finalists, seeds=selection_seeds))
    return write_release(Path(out_dir), source, config, styles)


def _selection_record(selection: dict, human: dict | None, style_source: str, style_writers: str, *,
                      prompts: int | None, bias: float | None, per_font: int, finalists: int, seeds: int) -> dict:
    """What a release records of how its styles were chosen (its ``release`` record's keys)."""
    record = {"style_source": style_source}
    if style_source == "human":
        record["style_writers"] = style_writers
    record["style_selection"] = {"prompts": prompts, "bias": bias, "candidates_per_font": per_font,
                                 "finalists": finalists, "seeds": seeds, "styles": selection}
    if human:
        record["style_selection"].update(human)
    return record


def _check_options(style_source: str, style_count: int | None, piece_chars: int | None, per_font: int,
                   finalists: int, seeds: int, default_bias: float | None = None,
                   style_writers: str = "held-out") -> None:
    """Refuse a bad :func:`release` option before any work, naming it."""
    if default_bias is not None and not (math.isfinite(default_bias) and default_bias >= 0):
        raise HandwritingError(f"the default bias must be a number >= 0, not {default_bias}")
    if style_source not in STYLE_SOURCES:
        raise HandwritingError(f"style source must be one of {', '.join(STYLE_SOURCES)}, not {style_source!r}")
    check_style_writers(style_writers)
    if style_writers != "held-out" and style_source != "human":
        raise HandwritingError(f"style writers ({style_writers}) are for human styles (--style-source human)")
    if style_count is not None and (style_source != "human" or style_count < 1):
        raise HandwritingError(f"a style count ({style_count}) is for human styles and must be at least 1")
    if piece_chars is not None and piece_chars < 1:
        raise HandwritingError(f"piece length must be at least 1 character, not {piece_chars}")
    if per_font < 1:
        raise HandwritingError(f"style candidates per font must be at least 1, not {per_font}")
    _check_final_round(finalists, seeds)


def _check_selection(selecting: bool, given_styles: bool, has_data: bool, can_score: bool,
                     default_style: str | None) -> None:
    """Refuse a style selection :func:`release` cannot make, or one asked for without selecting."""
    if selecting and given_styles:
        raise HandwritingError("a release keeps given styles (--styles-from) or chooses new ones, not both")
    if selecting and not has_data:
        raise HandwritingError("choosing styles needs the training data (--data): the candidates are its lines")
    if selecting and not can_score:
        raise HandwritingError("choosing styles needs prompts to write with them (--selection-prompts)")
    if default_style == AUTO_DEFAULT_STYLE and not selecting:
        raise HandwritingError("default style 'auto' needs style selection (more than one candidate per font, "
                               "or human styles with selection prompts)")


def _choose_styles(dataset, config: ckpt.CheckpointConfig, style_source: str, per_font: int,
                   score: Callable[[Style, int], float] | None, *, finalists: int, seeds: int,
                   count: int | None, writers: str = "held-out") -> tuple[list[Style], dict | None, dict | None]:
    """The release's styles from ``dataset``, chosen by ``score`` where one is given (else each name's
    first candidate), the selection record (``None`` without ``score``) and, for human styles chosen
    by a score, what the release records beside it: the held-out people's look they were measured
    against (``people_look``) and what the selection chose from (``pool``: :func:`candidate_pool`)."""
    split = (config.train.validation_fraction, config.train.seed)
    if style_source == "fonts":
        candidates = style_candidates(dataset, config.scale, *split, per_font)
    else:
        candidates = human_style_candidates(dataset, config.scale, *split, per_font, writers=writers)
    if score is not None:
        chosen, selection = select_styles(candidates, score, finalists=finalists, seeds=seeds)
    else:
        chosen, selection = [options[0] for _, options in sorted(candidates.items())], None
    if style_source == "human":
        from .realism import held_out_lines

        human = None
        if selection:
            human = {"people_look": written_look(*held_out_lines(dataset, *split, PEOPLE_LINES)),
                     "pool": candidate_pool(selection)}
        chosen, selection = rank_human_styles(chosen, selection, sorted(candidates), count,
                                              human["people_look"] if human else None)
        return chosen, selection, human
    return chosen, selection, None


def write_release(out_dir: Path, source: Path, config: ckpt.CheckpointConfig, styles: list[Style]) -> Path:
    """Write ``out_dir`` atomically: ``source``'s weights (and their ``weights.npz`` copy, which the
    NumPy sampler reads without h5py), ``config`` and one file per style."""
    with atomic_directory(out_dir) as tmp:
        shutil.copyfile(source / ckpt.WEIGHTS_FILE, tmp / ckpt.WEIGHTS_FILE)
        write_numpy_weights(tmp, config.model)
        (tmp / "styles").mkdir()
        for style in styles:
            write_text_atomic(tmp / "styles" / f"{style.name}.json", style.to_json())
        config.save(tmp)
    return out_dir
