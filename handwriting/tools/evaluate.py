"""Legibility evaluation: write prompts, read them back with an offline OCR engine, score them.

Each written line is rendered alone to a grayscale image (cropped to its ink, scaled to
:data:`OCR_LINE_HEIGHT` px high, strokes :data:`OCR_STROKE_PX` px thick: the OCR model reads
thick, tightly cropped text best, with :data:`OCR_SIDE_PX` px of white before and after the
line) and read by RapidOCR's recognition model, which ships inside its wheel
(``pip install 'handwriting[eval]'``), with no network.

Scores, per line and averaged:

* character error rate (CER): Levenshtein distance between the normalised prompt and the OCR
  reading, divided by the prompt's length. Both are normalised with :func:`normalise_for_cer`
  (case folded; only letters, digits and single spaces kept), because the OCR model's reading of
  punctuation and case in handwriting is too unreliable to score;
* failure: a line whose CER exceeds :data:`FAILURE_CER`;
* whether the sampler's step cap ended the line (it should never);
* read after text: characters the OCR reads after the prompt's last one, its final mark
  included (:func:`trailing_insertions`): a sign of ink written after the text;
* pen lifts per character: a sanity check against the plain font renderings of the ceiling
  (a model that lifts the pen far less often than the fonts draws letters as scribbles);
* seconds per line (writing only, batched as ``Hand.write_lines`` batches);
* per-character error rates (:meth:`Report.character_error_rates`): how often each prompt
  character was not read back, from an alignment of prompt and reading. They show which letters
  a model draws badly (multi-stroke letters such as x, t and i, for example).

The same OCR reading of the prompts rendered plainly by the corpus fonts
(:func:`font_ceiling`) bounds what the OCR can score on this kind of handwriting.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import HandwritingError
# A prompt file's lines, each checked against the alphabet; imported here for evaluate's callers.
from ..fileio import read_writable_lines as read_prompts  # noqa: F401
from ..strokes import normalise_offsets, split_strokes

#: Height in px of the image the OCR reads (ink only, after cropping).
OCR_LINE_HEIGHT = 96
#: Stroke thickness in px in that image.
OCR_STROKE_PX = 4
#: White border in px above and below the ink.
OCR_BORDER_PX = 12
#: White margin in px before and after the ink. The recogniser is trained on a text detector's
#: crops, which leave room around the words; cropped as tightly as above and below (12 px), it
#: dropped or misread the first and last letters of handwritten lines. The same strokes (shipped
#: model, bias 2.5, 3 seeds) at 12 px -> 48 px: cursive CER 0.318 -> 0.259, script 0.243 -> 0.217,
#: readable 0.109 -> 0.103; the plain fonts 0.000-0.027 -> 0.000-0.032.
OCR_SIDE_PX = 48
#: ``handwriting evaluate`` lists this many of each style's worst characters ...
HARDEST_CHARACTERS = 6
#: ... among those seen at least this often.
HARDEST_MIN_COUNT = 10
#: A line whose CER is above this counts as a failure.
FAILURE_CER = 0.5
#: A line flatter than this (width / height) is scaled by its width instead (a dash, a dot).
FLAT_LINE_ASPECT = 60

_KEEP = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r" +")


def _single_spaced(text: str) -> str:
    """``text`` with runs of spaces made one and its ends stripped."""
    return _SPACES.sub(" ", text).strip()


#: Character classes of :meth:`Report.class_error_rates` (spaces belong to none).
CHARACTER_CLASSES = ("lowercase", "capitals", "digits", "punctuation")


def character_class(ch: str) -> str | None:
    """Which of :data:`CHARACTER_CLASSES` a character belongs to (``None`` for a space)."""
    if ch.isspace():
        return None
    if ch.isdigit():
        return "digits"
    if ch.isalpha():
        return "capitals" if ch.isupper() else "lowercase"
    return "punctuation"


def normalise_for_cer(text: str) -> str:
    """Case-folded text with only letters, digits and single spaces (see the module docstring)."""
    return _single_spaced(_KEEP.sub("", text.lower()))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def aligned_errors(reference: str, hypothesis: str) -> tuple[list[bool], int]:
    """Which characters of ``reference`` a minimal edit script changes, and its insertions.

    Returns ``(errors, insertions)``: ``errors[i]`` is true when ``reference[i]`` is substituted
    or deleted. ``sum(errors) + insertions == levenshtein(reference, hypothesis)``. Where
    equally short scripts differ, the one that pairs characters (a match or substitution) wins
    over a deletion, and a deletion over an insertion.
    """
    n, m = len(reference), len(hypothesis)
    cost = _edit_costs(reference, hypothesis)
    errors, insertions = [False] * n, 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            errors[i - 1] = reference[i - 1] != hypothesis[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            errors[i - 1] = True
            i -= 1
        else:
            insertions += 1
            j -= 1
    return errors, insertions


def _edit_costs(reference: str, hypothesis: str) -> np.ndarray:
    """``[n + 1, m + 1]`` Levenshtein distances of every pair of prefixes."""
    n, m = len(reference), len(hypothesis)
    cost = np.zeros((n + 1, m + 1), np.int64)
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1,
                             cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1]))
    return cost


def trailing_insertions(reference: str, hypothesis: str) -> int:
    """How many characters (not spaces) the reading adds after the prompt's last character, in
    a minimal edit script of the case-folded texts with punctuation kept: a sign of ink after
    the text.

    The prompt's final mark is its last character: a reading that puts a letter where that mark
    is (``"dinner!"`` read ``"dinnerd"``, a looped full stop read ``"e"``) misreads the mark, and
    only what is read after it counts (``"pieces."`` read ``"pieces.c"``: 1). A ``"!"`` or ``"?"``
    ends in a dot, which the OCR may read apart (``"dinner!"`` read ``"dinnerl."``): a lone
    ``"."`` read after either is that dot. A mark the OCR misses altogether (``"pieces"`` + ``"c"``
    read ``"piecesc"``) hides an added character.
    """
    ref, hyp = _single_spaced(reference.lower()), _single_spaced(hypothesis.lower())
    cost = _edit_costs(ref, hyp)
    i, j = len(ref), len(hyp)
    while j > 0 and cost[i, j] == cost[i, j - 1] + 1:  # read after the prompt's end, where a script may
        j -= 1
    added = hyp[j:].replace(" ", "")
    return 0 if added == "." and ref[-1:] in ("!", "?") else len(added)


def character_error_rate(reference: str, hypothesis: str) -> float:
    """``levenshtein(ref, hyp) / len(ref)`` on normalised texts (``len(ref) >= 1``)."""
    ref, hyp = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not ref:
        raise HandwritingError(f"prompt {reference!r} has no letters or digits to score")
    return levenshtein(ref, hyp) / len(ref)


def line_image(coords: np.ndarray, height: int = OCR_LINE_HEIGHT, stroke_px: int = OCR_STROKE_PX,
               border: int = OCR_BORDER_PX, side: int = OCR_SIDE_PX) -> np.ndarray:
    """One line's ``[N, 3]`` coords (y up, any units) as a ``[H, W]`` uint8 image, black ink on white.

    The ink's bounding box is scaled to ``height - 2 * border`` px high (a line with no height,
    such as a dash, keeps its aspect ratio against its width instead), with ``side`` px of white
    before and after it.
    """
    from PIL import Image, ImageDraw

    xy = np.asarray(coords, np.float64)[:, :2]
    lo, hi = xy.min(0), xy.max(0)
    span = hi - lo
    inner = height - 2 * border
    factor = inner / max(span[1], span[0] / FLAT_LINE_ASPECT, 1e-6)
    width = int(np.ceil(span[0] * factor)) + 2 * side
    image = Image.new("L", (max(width, height), height), 255)
    draw = ImageDraw.Draw(image)
    top = border + (inner - span[1] * factor) / 2
    for stroke in split_strokes(np.asarray(coords)):
        px = (stroke[:, 0] - lo[0]) * factor + side
        py = top + (hi[1] - stroke[:, 1]) * factor  # y up -> image rows down
        points = list(zip(px.tolist(), py.tolist()))
        if len(points) == 1:
            points = points * 2
        draw.line(points, fill=0, width=stroke_px, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            r = stroke_px / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return np.asarray(image)


class OcrReader:
    """Reads single-line images with RapidOCR's recognition model (no detection, no network)."""

    def __init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise HandwritingError(
                "evaluation needs an OCR engine: pip install 'handwriting[eval]' (rapidocr, onnxruntime)"
            ) from None
        import logging

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._engine = RapidOCR()

    def read(self, image: np.ndarray) -> str:
        """The text in a ``[H, W]`` uint8 line image."""
        rgb = np.repeat(image[:, :, None], 3, axis=2)
        result = self._engine(rgb, use_det=False, use_cls=False, use_rec=True)
        texts = getattr(result, "txts", None) or ()
        return " ".join(t for t in texts if t)


@dataclass
class LineScore:
    """One written line's evaluation."""

    prompt: str
    reading: str
    cer: float
    hit_cap: bool
    seed: int
    style: str
    lifts: int = 0
    after_text: int = 0  # characters read after the prompt's last one (trailing_insertions)


@dataclass
class Report:
    """Scores of one style (or of the font ceiling) over every prompt and seed."""

    name: str
    lines: list[LineScore] = field(default_factory=list)
    seconds_per_line: float = float("nan")

    @property
    def mean_cer(self) -> float:
        return float(np.mean([s.cer for s in self.lines]))

    @property
    def failure_rate(self) -> float:
        return float(np.mean([s.cer > FAILURE_CER for s in self.lines]))

    @property
    def hit_cap(self) -> int:
        return int(sum(s.hit_cap for s in self.lines))

    @property
    def ink_after_text(self) -> int:
        """Lines whose reading has characters after the prompt's last one."""
        return int(sum(s.after_text > 0 for s in self.lines))

    @property
    def lifts_per_char(self) -> float:
        return float(sum(s.lifts for s in self.lines) / max(sum(len(s.prompt) for s in self.lines), 1))

    def class_error_rates(self) -> dict[str, float]:
        """Per character class (:data:`CHARACTER_CLASSES`), the fraction of its characters' occurrences
        the reading changed or dropped, pooled over every line (classes never seen left out).

        Unlike the CER, punctuation is kept; case is folded for the alignment (a capital read as
        its small letter is right), so "capitals" measures which letter was read."""
        seen: dict[str, int] = {}
        wrong: dict[str, int] = {}
        for s in self.lines:
            ref = _single_spaced(s.prompt)
            errors, _ = aligned_errors(ref.lower(), _single_spaced(s.reading).lower())
            for ch, bad in zip(ref, errors):
                kind = character_class(ch)
                if kind is not None:
                    seen[kind] = seen.get(kind, 0) + 1
                    wrong[kind] = wrong.get(kind, 0) + bad
        return {kind: wrong[kind] / seen[kind] for kind in CHARACTER_CLASSES if kind in seen}

    def character_error_rates(self, min_count: int = 1) -> dict[str, float]:
        """Per normalised prompt character (spaces left out), the fraction of its occurrences
        the reading changed or dropped (see :func:`aligned_errors`), worst first; characters
        seen fewer than ``min_count`` times are left out."""
        seen: dict[str, int] = {}
        wrong: dict[str, int] = {}
        for s in self.lines:
            ref = normalise_for_cer(s.prompt)
            errors, _ = aligned_errors(ref, normalise_for_cer(s.reading))
            for ch, bad in zip(ref, errors):
                if ch != " ":
                    seen[ch] = seen.get(ch, 0) + 1
                    wrong[ch] = wrong.get(ch, 0) + bad
        rates = {ch: wrong[ch] / n for ch, n in seen.items() if n >= min_count}
        return dict(sorted(rates.items(), key=lambda kv: (-kv[1], kv[0])))

    def summary(self) -> dict:
        return {"name": self.name, "lines": len(self.lines), "mean_cer": self.mean_cer,
                "failure_rate": self.failure_rate, "hit_cap": self.hit_cap, "ink_after_text": self.ink_after_text,
                "lifts_per_char": self.lifts_per_char, "seconds_per_line": self.seconds_per_line}

    def to_dict(self) -> dict:
        return {**self.summary(), "class_error_rates": self.class_error_rates(),
                "character_error_rates": self.character_error_rates(),
                "per_line": [asdict(s) for s in self.lines]}


def score_lines(name: str, prompts: Sequence[str], coords: Sequence[np.ndarray], reader: OcrReader, *,
                hit_cap: Sequence[bool] | None = None, seed: int = 0) -> list[LineScore]:
    """OCR each line's coords and score it against its prompt."""
    scores = []
    for i, (prompt, line) in enumerate(zip(prompts, coords)):
        reading = reader.read(line_image(line))
        scores.append(LineScore(prompt=prompt, reading=reading, cer=character_error_rate(prompt, reading),
                                hit_cap=bool(hit_cap[i]) if hit_cap is not None else False, seed=seed, style=name,
                                lifts=int((np.asarray(line)[:, 2] > 0.5).sum()),
                                after_text=trailing_insertions(prompt, reading)))
    return scores


def evaluate_hand(hand, prompts: Sequence[str], *, style: str | None = None, bias: float, seeds: Sequence[int],
                  reader: OcrReader | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Write every prompt once per seed with ``hand`` in ``style`` and score the lines."""
    reader = reader or OcrReader()
    report = Report(name=style or "unprimed")
    seconds = 0.0
    for seed in seeds:
        t0 = time.perf_counter()
        coords, caps = hand.write_lines(prompts, style=style, bias=bias, seed=seed)
        seconds += time.perf_counter() - t0
        report.lines.extend(score_lines(report.name, prompts, coords, reader, hit_cap=caps, seed=seed))
        if progress:
            progress(f"{report.name} seed {seed}: mean CER {np.mean([s.cer for s in report.lines[-len(prompts):]]):.3f}")
    report.seconds_per_line = seconds / (len(prompts) * len(seeds))
    return report


def font_ceiling(prompts: Sequence[str], fonts: Sequence[str] | None = None,
                 reader: OcrReader | None = None) -> list[Report]:
    """The prompts written plainly by each corpus font (no deformation, no tremor), scored."""
    from ..datasets.fonts import ALL_FONTS, plain_hand, write_line
    from ..strokes import offsets_to_coords

    reader = reader or OcrReader()
    reports = []
    for font in fonts or ALL_FONTS:
        hand = plain_hand(font)
        rng = np.random.default_rng(0)
        coords = [offsets_to_coords(write_line(p, hand, rng)) for p in prompts]
        reports.append(Report(name=f"font:{font}", lines=score_lines(f"font:{font}", prompts, coords, reader)))
    return reports


def format_table(reports: Sequence[Report]) -> str:
    """A Markdown table of the reports' summaries."""
    rows = ["| style | lines | mean CER | failure rate | hit cap | read after text | pen lifts/char | s/line |",
            "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        s = r.summary()
        spl = "-" if np.isnan(s["seconds_per_line"]) else f"{s['seconds_per_line']:.2f}"
        rows.append(f"| {s['name']} | {s['lines']} | {s['mean_cer']:.3f} | {s['failure_rate']:.1%} | "
                    f"{s['hit_cap']} | {s['ink_after_text']} | {s['lifts_per_char']:.2f} | {spl} |")
    return "\n".join(rows)


def format_class_error_rates(reports: Sequence[Report]) -> str:
    """One line per report: its error rate per character class, e.g. ``print: digits 0.04, ...``."""
    return "\n".join(f"{r.name}: " + ", ".join(f"{kind} {rate:.3f}" for kind, rate in r.class_error_rates().items())
                     for r in reports)


def format_hardest_characters(reports: Sequence[Report], top: int = HARDEST_CHARACTERS,
                              min_count: int = HARDEST_MIN_COUNT) -> str:
    """One line per report: its ``top`` characters with the highest error rates (seen at least
    ``min_count`` times), e.g. ``tech: x 0.78, t 0.25, 7 0.22``."""
    rows = []
    for r in reports:
        worst = list(r.character_error_rates(min_count).items())[:top]
        rows.append(f"{r.name}: " + ", ".join(f"{ch} {rate:.2f}" for ch, rate in worst))
    return "\n".join(rows)


def validation_nll(checkpoint, data_path) -> dict:
    """The checkpoint's NLL on the validation lines of a dataset file (its own writer split).

    Returns ``{"nll_per_line", "nll_per_point", "lines"}`` in nats (Graves reports per line).
    The offsets are divided by the checkpoint's scale, the one the model was trained with.
    """
    from .. import alphabet
    from ..nn.model import load_model
    from ..training.batches import validation_batches
    from ..datasets import load_dataset, split_by_writer
    from ..training.steppers import NllEvaluator

    model, config, scale = load_model(checkpoint)
    train_config = config.train
    dataset = load_dataset(data_path)
    _, val_idx = split_by_writer(dataset, train_config.validation_fraction, train_config.seed)
    if not len(val_idx):
        raise HandwritingError(f"{data_path} has no validation lines")
    offsets = [normalise_offsets(dataset.offsets[i], scale) for i in val_idx]
    chars = [alphabet.encode(dataset.texts[i], normalise_text=False) for i in val_idx]
    batches = validation_batches(offsets, chars, train_config)
    per_line, per_point = NllEvaluator(model, config.model).evaluate(batches)
    return {"nll_per_line": per_line, "nll_per_point": per_point, "lines": len(val_idx)}
