"""Styles from human writers (held-out ones by default), named by how the hand looks.

A human corpus has no font names to call its hands by, and a style must never be named after
the person who wrote it. Each held-out writer's line is described on three axes read from its
ink, and the description is the style's name (``slanted-joined-narrow``, ``upright-print``):

- slant (:func:`strokes.estimate_slant`): ``backhand`` below :data:`BACKHAND_BELOW` radians,
  ``slanted`` above :data:`SLANTED_ABOVE`, else ``upright``;
- joins (pen lifts per character): ``joined`` below :data:`JOINED_BELOW`, ``print`` above
  :data:`PRINT_ABOVE`, else ``part-joined``;
- width (ink width per character in x-heights): ``narrow`` below :data:`NARROW_BELOW`, ``wide``
  above :data:`WIDE_ABOVE`, else nothing.

Each held-out writer offers a few of their lines as candidate primes; the release keeps each
writer's line that the OCR reads best (:func:`~handwriting.tools.release.select_styles`), then
chooses among the writers by :func:`rank_human_styles`: by the OCR alone, or, where the selection
measured how each style's written lines look (:func:`written_look`), by the selection rule:

1. **Legible**: a style whose selection CER is above :data:`MAX_CER` is kept only if too few
   others are left.
2. **Like people**: the legible ones are taken in order of :func:`likeness`, how far their
   written lines' gaps between letters, ink width per character and slant lie from the held-out
   people's medians, each counted in issue 26's tolerances (20%, 20%, 0.05 rad); or, where the
   selection scored every style's lines with the realism classifier, in order of that score.
3. **Joined hands**: at least :data:`JOINED_SHARE` of the kept styles write joined or part-joined
   (their lines' pen lifts per character below :data:`PRINT_ABOVE`), the likest first, where
   that many legible ones do.
4. **A default among them**: if no kept style could be the default (read at
   :data:`DEFAULT_MAX_CER` or better, not leaning backwards: :func:`auto_default_style`) but a
   legible writer left out could, the likest such writer takes the place of the least like
   print style kept.

A style is then named by how its *written* lines look, which is what a user sees. Two kept
writers whose hands get the same description are told apart by a number (``upright-print``,
``upright-print-2``), in the order they were chosen. Only writers of the checkpoint's validation split are used (from a
mix, only its first, human, part: :func:`handwriting.tools.realism.held_out_lines`), unless the
release asks for the writers it trained on (``writers="training"``: their own lines, not lines
joined from words). A writer's id never leaves this module: candidates are keyed ``writer-01``, ``writer-02``, ...
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from ..writing.hand import Style

#: Whose lines a release may take its styles from (``human_style_candidates(writers=...)``).
STYLE_WRITERS = ("held-out", "training")
BACKHAND_BELOW = -0.05
SLANTED_ABOVE = 0.15
JOINED_BELOW = 0.35
PRINT_ABOVE = 0.8
NARROW_BELOW = 1.0
WIDE_ABOVE = 1.6
#: Prime lines of about this many characters, and at least the minimum: a prime and its text are
#: written as one sequence, and half of the human lines trained on have under 16 characters.
TARGET_CHARS = 20
MIN_CHARS = 12
#: A prime shows a hand best in running small letters: at least this share of its characters.
MIN_LOWERCASE_SHARE = 0.7
#: The selection rule: a style whose selection CER is above this is not legible enough to ship
#: (issue 26: every style at most 0.12).
MAX_CER = 0.12
#: The selection rule: the default style must be read at least this well (issue 26's target at the
#: default bias).
DEFAULT_MAX_CER = 0.04
#: The selection rule: at least this share of the kept styles write joined or part-joined hands.
JOINED_SHARE = 1 / 3
#: :func:`likeness`' measures and the tolerance each is counted in (issue 26's): a fraction of the
#: people's median where ``relative``, else in the measure's unit.
LIKENESS_TOLERANCES = {"gap_per_char": (0.20, True), "ink_width_per_char": (0.20, True), "slant": (0.05, False)}


def lifts_per_char(points: np.ndarray, text: str) -> float:
    """Pen lifts of one line (``[N, 3]`` coords or offsets: the pen column is the same) per character
    of ``text`` other than a space: about 1 or more for print (i-dots and t-bars lift too), at most
    :data:`PRINT_ABOVE` for joined and part-joined hands."""
    return float((points[:, 2] > 0.5).sum()) / max(len(text.replace(" ", "")), 1)


def hand_axes(coords: np.ndarray, text: str) -> dict[str, float]:
    """The three axes a hand is named by, of one line (``[N, 3]`` coords, y up): ``slant``
    (radians), ``lifts_per_char`` (pen lifts per character other than a space) and
    ``width_per_char`` (the line's width in x-heights per character)."""
    x_height = max(strokes.estimate_x_height(coords), 1e-9)
    return {"slant": float(strokes.estimate_slant(coords)),
            "lifts_per_char": lifts_per_char(coords, text),
            "width_per_char": float(np.ptp(coords[:, 0])) / x_height / max(len(text), 1)}


def describe_axes(axes: dict[str, float]) -> str:
    """The name :func:`hand_axes`' values give, e.g. ``slanted-joined-narrow``."""
    slant, lifts, width = axes["slant"], axes["lifts_per_char"], axes["width_per_char"]
    parts = ["backhand" if slant < BACKHAND_BELOW else "slanted" if slant > SLANTED_ABOVE else "upright",
             "joined" if lifts < JOINED_BELOW else "print" if lifts > PRINT_ABOVE else "part-joined"]
    if width < NARROW_BELOW:
        parts.append("narrow")
    elif width > WIDE_ABOVE:
        parts.append("wide")
    return "-".join(parts)


def describe_hand(coords: np.ndarray, text: str) -> str:
    """A name for the hand of one line (``[N, 3]`` coords, y up), e.g. ``slanted-joined-narrow``."""
    return describe_axes(hand_axes(coords, text))


def written_look(lines: Sequence[np.ndarray], texts: Sequence[str]) -> dict[str, float]:
    """How lines look, as medians over them: :func:`hand_axes` and the realism measures
    (:func:`~handwriting.tools.realism_measures.line_measures`: ``gap_per_char``,
    ``ink_width_per_char``, ``fine_turning``; its slant is the same as the axes')."""
    from .realism_measures import MEASURE_NAMES, line_measures

    rows = [{**dict(zip(MEASURE_NAMES, line_measures(np.asarray(c, np.float64), t))), **hand_axes(c, t)}
            for c, t in zip(lines, texts) if len(c)]
    return {name: float(np.median([r[name] for r in rows])) for name in rows[0]} if rows else {}


def likeness(look: dict[str, float], people: dict[str, float]) -> float:
    """How far a style's :func:`written_look` lies from the people's: the root mean square of its
    :data:`LIKENESS_TOLERANCES` measures' differences, each in its tolerance (0 is the people's
    look; 1 is one tolerance off on every measure)."""
    terms = []
    for name, (tolerance, relative) in LIKENESS_TOLERANCES.items():
        allowed = tolerance * abs(people[name]) if relative else tolerance
        terms.append(((look[name] - people[name]) / max(allowed, 1e-9)) ** 2)
    return float(np.sqrt(np.mean(terms)))


def writes_joined(look: dict[str, float]) -> bool:
    """Whether a :func:`written_look` is of a joined or part-joined hand."""
    return look["lifts_per_char"] <= PRINT_ABOVE


def candidate_pool(record: dict[str, dict]) -> dict[str, int]:
    """What a selection had to choose from: the ``writers`` scored, how many were ``legible`` (CER at
    most :data:`MAX_CER`) and, where the selection measured their look, how many of those write
    joined (``joined_legible``). ``record``: the selection record by writer key, before ranking."""
    legible = [r for r in record.values() if r["cer"] <= MAX_CER]
    pool = {"writers": len(record), "legible": len(legible)}
    if all("look" in r for r in record.values()):
        pool["joined_legible"] = sum(writes_joined(r["look"]) for r in legible)
    return pool


def _shows_a_hand(text: str) -> bool:
    """Running words, mostly small letters, long enough: not an alphabet, a code or a title."""
    letters = text.replace(" ", "")
    return (len(text) >= MIN_CHARS and " " in text.strip()
            and sum(c.islower() for c in letters) >= MIN_LOWERCASE_SHARE * len(letters))


def check_style_writers(writers: str) -> None:
    """Refuse a side of the writer split that is not one of :data:`STYLE_WRITERS`, naming it."""
    if writers not in STYLE_WRITERS:
        raise HandwritingError(f"style writers must be one of {', '.join(STYLE_WRITERS)}, not {writers!r}")


def human_style_candidates(dataset, scale: float, validation_fraction: float, seed: int,
                           per_writer: int = 1, writers: str = "held-out") -> dict[str, list[Style]]:
    """Candidate styles of the human writers: up to ``per_writer`` lines of each.

    ``writers``: ``"held-out"`` (the checkpoint never saw them) or ``"training"`` (it learnt their
    hands; only the human part's own lines). A writer's lines are those that show a hand (running
    words of mostly small letters, at least :data:`MIN_CHARS`), nearest :data:`TARGET_CHARS`
    characters first; each candidate is named by :func:`describe_hand`. Writers are keyed
    ``writer-NN`` in a seeded random order.
    """
    from .realism import held_out_indices, training_line_indices

    check_style_writers(writers)
    indices = (held_out_indices if writers == "held-out" else training_line_indices)(dataset, validation_fraction, seed)
    by_writer: dict[int, list[tuple[int, int]]] = {}  # writer -> [(distance from the target length, line)]
    for i in indices:
        if _shows_a_hand(dataset.texts[i]):
            by_writer.setdefault(int(dataset.writer_ids[i]), []).append((abs(len(dataset.texts[i]) - TARGET_CHARS), i))
    candidates: dict[str, list[Style]] = {}
    order = np.random.default_rng(seed).permutation(sorted(by_writer)) if by_writer else []
    for number, writer in enumerate(order, start=1):
        lines = [i for _, i in sorted(by_writer[int(writer)])[:per_writer]]
        candidates[f"writer-{number:02d}"] = [
            Style(name=describe_hand(strokes.offsets_to_coords(dataset.offsets[i]), dataset.texts[i]),
                  text=dataset.texts[i], offsets=strokes.normalise_offsets(dataset.offsets[i], scale))
            for i in lines]
    return candidates


def rank_human_styles(styles: list[Style], record: dict[str, dict] | None, keys: list[str],
                      count: int | None = None, people: dict[str, float] | None = None,
                      ) -> tuple[list[Style], dict[str, dict] | None]:
    """The ``count`` styles to ship (all by default), renamed so that every name is its own.

    Args:
        styles: one chosen style per writer, in the order of ``keys`` (``writer-NN``).
        record: the selection record by writer key (each with its ``cer``, and its written lines'
            ``look`` where the selection measured it), or ``None`` (no selection: the writers'
            order is kept).
        count: how many to keep.
        people: the held-out people's :func:`written_look`. With it and every record's ``look``,
            the selection rule of the module's docstring chooses, records each style's
            ``likeness`` and ``joined``, and names styles by their written look; without, the
            lowest CERs are kept under the primes' names. Where every record also has a
            ``realism`` score (:func:`~handwriting.tools.realism_grouped.style_scores`: lower is
            likelier a person's), the rule ranks by it instead of by ``likeness``.

    Returns:
        ``(styles, record)`` with the kept styles under their final names (a repeated description
        gets ``-2``, ``-3``, ... in the order chosen) and the record keyed by those names.
    """
    count = len(styles) if count is None else count
    by_rule = bool(record) and people is not None and all("look" in record[k] for k in keys)
    if by_rule:
        for key in keys:
            record[key]["likeness"] = likeness(record[key]["look"], people)
            record[key]["joined"] = writes_joined(record[key]["look"])
        order = _by_rule([record[k] for k in keys], count)
    elif record:
        order = sorted(range(len(styles)), key=lambda k: record[keys[k]]["cer"])[:count]
    else:
        order = list(range(len(styles)))[:count]
    kept, renamed, seen = [], {}, {}
    for k in order:
        style = styles[k]
        base = describe_axes(record[keys[k]]["look"]) if by_rule else style.name
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        kept.append(Style(name=name, text=style.text, offsets=style.offsets))
        if record:
            renamed[name] = record[keys[k]]
    return kept, (renamed if record else None)


def _by_rule(records: list[dict], count: int) -> list[int]:
    """Indices of the ``count`` styles the selection rule keeps, in the order chosen: the legible
    joined hands first (up to the joined share), then the likest legible ones (with one that could
    be the default, where one is legible), then, only if too few are legible, the lowest CERs."""
    rank_by = _rank_measure(records)

    def by_rank(k: int) -> float:
        return records[k][rank_by]

    legible = sorted((k for k, r in enumerate(records) if r["cer"] <= MAX_CER), key=by_rank)
    joined = [k for k in legible if records[k]["joined"]][: math.ceil(JOINED_SHARE * count)]
    rest = [k for k in legible if k not in joined]
    kept = joined + rest[: max(count - len(joined), 0)]
    could_default = [k for k in legible if _could_be_default(records[k])]
    if could_default and kept and not any(k in kept for k in could_default):
        print_kept = [k for k in sorted(kept, key=by_rank) if not records[k]["joined"]]
        if print_kept:
            kept = [k for k in kept if k != print_kept[-1]] + could_default[:1]
    fallback = sorted((k for k in range(len(records)) if k not in legible), key=lambda k: records[k]["cer"])
    return (sorted(kept, key=by_rank) + fallback)[:count]


def _rank_measure(records) -> str:
    """What the rule ranks legible styles by: their ``realism`` scores where every record has one,
    else their ``likeness`` (both: lower is likelier a person's)."""
    return "realism" if records and all("realism" in r for r in records) else "likeness"


def _could_be_default(record: dict) -> bool:
    """Whether a measured style may be the default: read at :data:`DEFAULT_MAX_CER` or better and
    not leaning backwards (issue 26: the default is a person's hand, not a backhand print)."""
    return record["cer"] <= DEFAULT_MAX_CER and record["look"]["slant"] >= BACKHAND_BELOW


def auto_default_style(record: dict[str, dict]) -> str:
    """The default style among a selection record's (keyed by style name). By the selection rule
    (records with a ``likeness``): of the styles that do not lean backwards, the likest with a CER
    of at most :data:`DEFAULT_MAX_CER`, else the best read; without the rule, the lowest CER."""
    upright = [n for n, r in record.items() if "likeness" in r and r["look"]["slant"] >= BACKHAND_BELOW]
    legible = [n for n in upright if _could_be_default(record[n])]
    if legible:
        rank_by = _rank_measure([record[n] for n in legible])
        return min(legible, key=lambda n: record[n][rank_by])
    return min(upright or record, key=lambda n: record[n]["cer"])
