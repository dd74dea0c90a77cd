"""One line's variety, drawn from the dataset's distributions with the line's own random stream.

Line ``i`` of a dataset with seed ``s`` draws everything from
``numpy.random.default_rng([s, i])``: which text, style, bias, slant, pen, paper, blur and
noise, and the seed ``Hand.write`` writes it with. Nothing else enters, so a line is the same
whichever worker writes it, in whichever shard or order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..writing.hand import MAX_SLANT_DEGREES
from .config import ORDER_RANDOM, DatasetConfig

#: The writing seed is drawn below this (``Hand.write`` seeds are 31-bit non-negative ints).
SEED_LIMIT = 2**31
#: An unprimed line's slant before jitter, in degrees: the mean lean of the shipped default
#: model's 12 styles' writers (-0.03 degrees).
UNPRIMED_SLANT_DEGREES = 0.0


@dataclass(frozen=True)
class LineSpec:
    """Everything that makes line ``index``; every field is stored with the row.

    Attributes:
        index: the line's id in the dataset.
        text: what it says (normalised).
        style: the style's name (``"none"``: unprimed).
        bias: legibility bias (Graves eqs 61-62).
        slant: degrees, positive leaning right, that the line is sheared to.
        seed: the seed ``Hand.write`` wrote it with.
        ink: the pen's colour; ``ink_width`` its width in image px.
        paper: the background kind; ``paper_level`` its grey level.
        blur: Gaussian blur radius in px; ``noise``: pixel noise, standard deviation in grey levels.
        render_seed: seeds the paper's grain and the pixel noise.
    """

    index: int
    text: str
    style: str
    bias: float
    slant: float
    seed: int
    ink: str
    ink_width: float
    paper: str
    paper_level: int
    blur: float
    noise: float
    render_seed: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StyleChoice:
    """A style lines may take: its name and its writer's slant in degrees (``None``: unprimed)."""

    name: str
    slant: float | None


def draw_line(config: DatasetConfig, index: int, texts: Sequence[str], styles: Sequence[StyleChoice]) -> LineSpec:
    """Line ``index``'s spec, from ``default_rng([config.seed, index])`` alone."""
    rng = np.random.default_rng([int(config.seed) & 0xFFFFFFFF, int(index)])
    text_id = int(rng.integers(len(texts))) if config.order == ORDER_RANDOM else index % len(texts)
    style = styles[int(rng.integers(len(styles)))]
    base = UNPRIMED_SLANT_DEGREES if style.slant is None else style.slant
    slant = float(np.clip(base + rng.normal(0.0, config.slant_jitter), -MAX_SLANT_DEGREES, MAX_SLANT_DEGREES))
    return LineSpec(
        index=int(index),
        text=texts[text_id],
        style=style.name,
        bias=float(rng.uniform(config.bias_min, config.bias_max)),
        slant=slant,
        seed=int(rng.integers(SEED_LIMIT)),
        ink=config.inks[int(rng.integers(len(config.inks)))],
        ink_width=float(rng.uniform(config.ink_width_min, config.ink_width_max)),
        paper=config.papers[int(rng.integers(len(config.papers)))],
        paper_level=int(rng.integers(config.paper_min, config.paper_max + 1)),
        blur=float(rng.uniform(0.0, config.blur_max)),
        noise=float(rng.uniform(0.0, config.noise_max)),
        render_seed=int(rng.integers(SEED_LIMIT)),
    )
