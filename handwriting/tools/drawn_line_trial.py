"""Changes to the drawn line, tried before they are kept (issue 26, "what people see").

A variant is a change made to a written line after the network has drawn it: smoothing its
strokes (a Savitzky-Golay filter, as another Graves implementation draws its lines), widening
or narrowing the gaps between its words, or setting its slant. One is kept only if it makes the
lines harder to tell from people's at no cost in legibility, so each variant is scored both ways:

- **realism**: held-out human lines against the same texts written by every shipped style
  (dealt round, :func:`.realism_grouped.write_dealt`), the classifier's folds grouped by writer
  and by style (:func:`.realism_grouped.grouped_realism`), with the measures beside the AUC and
  the lines' median word gap;
- **legibility**: the OCR's CER of the public prompts in the default style, one pass per seed.

The network writes each line once; every variant is applied to those same lines, so a
difference between variants is the variant's and not the sampler's luck.

Variants are named by specs: ``none``; ``savgol:W:P`` (window ``W`` points, polynomial degree
``P``, :func:`handwriting.strokes.savgol_smooth`); ``word-gaps:F`` (every word gap ``F`` times
as wide, :func:`handwriting.output.layout.scale_word_gaps`); ``letter-gaps:F`` (every gap between
letters inside a word ``F`` times as wide, the word gaps kept,
:func:`handwriting.output.layout.scale_gaps`); ``slant:R`` (every line sheared to lean ``R``
radians, :func:`handwriting.strokes.set_slant`: what a style of that slant would give);
``slant-jitter:S`` (each line's slant moved by a draw of ``N(0, S)`` radians, as a person's
lines vary about their slant: within a UNIPEN writer the median spread is about 0.04);
several joined by ``+`` apply in turn (``savgol:7:3+word-gaps:0.8``).
"""

from __future__ import annotations

import zlib
from typing import Callable, Sequence

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from ..output.layout import scale_gaps, scale_word_gaps, word_gaps
from .evaluate import OcrReader, Report, score_lines
from .realism import features_of, held_out_sample
from .realism_grouped import grouped_realism, write_dealt

#: A change to one written line: ``(coords [N, 3], text) -> coords``.
Variant = Callable[[np.ndarray, str], np.ndarray]
#: The variant that changes nothing.
UNCHANGED = "none"


def parse_variant(spec: str) -> Variant:
    """The line change a spec names (see the module's docstring); a clear error for a bad one."""
    steps = [_parse_step(part.strip()) for part in spec.split("+")]

    def apply(coords: np.ndarray, text: str) -> np.ndarray:
        for step in steps:
            coords = step(coords, text)
        return coords

    return apply


def _parse_step(spec: str) -> Variant:
    name, *values = spec.split(":")
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        raise HandwritingError(f"variant {spec!r}: its values must be numbers") from None
    if name == UNCHANGED and not numbers:
        return lambda coords, text: np.asarray(coords, np.float32)
    if name == "savgol" and len(numbers) == 2 and numbers[0] >= 3 and 0 < numbers[1] < numbers[0]:
        window, order = int(numbers[0]), int(numbers[1])
        return lambda coords, text: strokes.savgol_smooth(coords, window, order)
    if name == "word-gaps" and len(numbers) == 1 and numbers[0] > 0:
        return lambda coords, text: scale_word_gaps(coords, text, numbers[0])
    if name == "letter-gaps" and len(numbers) == 1 and numbers[0] >= 0:
        return lambda coords, text: scale_gaps(coords, text, letters=numbers[0])
    if name == "slant" and len(numbers) == 1 and abs(numbers[0]) < np.pi / 4:
        return lambda coords, text: strokes.set_slant(coords, numbers[0])
    if name == "slant-jitter" and len(numbers) == 1 and 0 <= numbers[0] < 0.3:
        return lambda coords, text: _jitter_slant(coords, text, numbers[0])
    raise HandwritingError(f"unknown variant {spec!r}: use none, savgol:WINDOW:ORDER (3 <= window, 0 < order "
                           "< window), word-gaps:FACTOR (> 0), letter-gaps:FACTOR (>= 0), slant:RADIANS (within "
                           "45 degrees of upright) or slant-jitter:SD (radians, under 0.3), joined by +")


def _jitter_slant(coords: np.ndarray, text: str, sd: float) -> np.ndarray:
    """The line leaning ``N(0, sd)`` radians more (clipped at 2 sd), drawn from a stream keyed by
    its text, so that every variant and every run moves a line alike."""
    delta = float(np.clip(np.random.default_rng(zlib.crc32(text.encode())).normal(0, sd), -2 * sd, 2 * sd))
    return strokes.set_slant(coords, strokes.estimate_slant(coords) + delta)


def median_word_gap(lines: Sequence[np.ndarray], texts: Sequence[str]) -> float:
    """The median gap between words, in x-heights, over every word gap of the deslanted lines
    (``[N, 3]`` coords; the widest gaps between ink groups, one per space)."""
    gaps = []
    for coords, text in zip(lines, texts):
        if " " in text and len(coords):
            upright = strokes.deslant(coords)
            gaps += [g / max(strokes.estimate_x_height(upright), 1e-9) for g in word_gaps(upright, text.count(" "))]
    return float(np.median(gaps)) if gaps else float("nan")


def run_trial(hand, dataset, prompts: Sequence[str], *, variants: Sequence[str], validation_fraction: float,
              split_seed: int, styles: Sequence[str], default_style: str | None, bias: float, lines: int,
              seeds: Sequence[int], seed: int = 0, reader: OcrReader | None = None,
              progress: Callable[[str], None] | None = None) -> dict:
    """Every variant's realism and legibility on the same written lines.

    Args:
        hand: a loaded :class:`~handwriting.writing.hand.Hand`.
        dataset: human lines; ``lines`` of its held-out writers (``validation_fraction``,
            ``split_seed``) are the realism test's.
        prompts: the legibility test's texts, written in ``default_style`` once per seed.
        variants: specs (:func:`parse_variant`); ``none`` should be among them as the baseline.
        styles: the styles the realism test's texts are dealt among (two or more).
        seed: the realism lines' sampling seed and the classifier's.

    Returns:
        ``{"human": {...}, "variants": [{"variant", "auc", "auc_std", "measures", "word_gap",
        "cer", "failure_rate"}, ...]}``.
    """
    changes = {spec: parse_variant(spec) for spec in variants}
    reader = reader or OcrReader()
    chosen = held_out_sample(dataset, validation_fraction, split_seed, lines)
    human_lines = [strokes.offsets_to_coords(dataset.offsets[i]) for i in chosen]
    texts = [dataset.texts[i] for i in chosen]
    writers = [int(dataset.writer_ids[i]) for i in chosen]
    human = features_of(human_lines, texts)
    written, which = write_dealt(hand, texts, styles, bias=bias, seed=seed, progress=progress)
    names = [styles[k] for k in which]
    legible = {}
    for pass_seed in seeds:
        if progress is not None:
            progress(f"prompts: seed {pass_seed}, {len(prompts)} lines in style {default_style}")
        legible[pass_seed] = hand.write_lines(prompts, style=default_style, bias=bias, seed=pass_seed)
    results = []
    for spec, change in changes.items():
        if progress is not None:
            progress(f"variant {spec}")
        changed = [change(c, t) for c, t in zip(written, texts)]
        score = grouped_realism(human, writers, features_of(changed, texts), names, seed=seed)
        report = Report(name=spec)
        for pass_seed, (coords, caps) in legible.items():
            report.lines += score_lines(spec, prompts, [change(c, t) for c, t in zip(coords, prompts)], reader,
                                        hit_cap=caps, seed=pass_seed)
        results.append({"variant": spec, "auc": score.auc, "auc_std": score.auc_std, "measures": score.measures,
                        "word_gap": median_word_gap(changed, texts), "cer": report.mean_cer,
                        "failure_rate": report.failure_rate})
    return {"human": {"lines": len(texts), "writers": len(set(writers)), "word_gap": median_word_gap(human_lines, texts)},
            "bias": bias, "styles": list(styles), "seeds": list(seeds), "prompts": len(prompts), "variants": results}


def format_trial(result: dict) -> str:
    """A Markdown table of :func:`run_trial`'s result: one row a variant."""
    first = result["variants"][0]["measures"]
    rows = ["| variant | realism AUC | CER | failed | word gap (x-heights) | "
            + " | ".join(m["label"] for m in first) + " |",
            "|---|---|---|---|---|" + "---|" * len(first)]
    rows.append(f"| people ({result['human']['lines']} lines, {result['human']['writers']} writers) | | | | "
                f"{result['human']['word_gap']:.2f} | " + " | ".join(f"{m['human']:.3f}" for m in first) + " |")
    for v in result["variants"]:
        rows.append(f"| {v['variant']} | {v['auc']:.3f} +- {v['auc_std']:.3f} | {v['cer']:.3f} | "
                    f"{v['failure_rate']:.1%} | {v['word_gap']:.2f} | "
                    + " | ".join(f"{m['generated']:.3f}" for m in v["measures"]) + " |")
    return "\n".join(rows)
