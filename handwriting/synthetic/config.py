"""What a synthetic dataset is made of: the number of lines, the seed, and the distributions every
line's variety is drawn from (``DatasetConfig``; ``handwriting dataset``'s flags mirror its fields).

Everything here is part of the dataset's identity (its fingerprint, :mod:`.manifest`): the same
config, corpus, styles and model give the same dataset, line for line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..errors import HandwritingError
from ..writing.hand import MAX_SLANT_DEGREES

#: ``order``: line ``i`` takes corpus line ``i mod n`` ...
ORDER_SEQUENTIAL = "sequential"
#: ... or one drawn with the line's own random stream.
ORDER_RANDOM = "random"
ORDERS = (ORDER_SEQUENTIAL, ORDER_RANDOM)
#: Paper backgrounds: one grey level; a grey level with a soft grain; a grey level with a ruled
#: line under the writing's baseline (:mod:`.raster`).
PAPER_PLAIN = "plain"
PAPER_GRAIN = "grain"
PAPER_RULED = "ruled"
PAPERS = (PAPER_PLAIN, PAPER_GRAIN, PAPER_RULED)
#: Pens: black, blue-black, two blue ballpoints, pencil greys and a brown-black ink (the PNG is
#: grayscale, so each is written as its luminance; the row keeps the colour).
DEFAULT_INKS = ("#111111", "#1b1f3b", "#1f3a93", "#2a4d9c", "#4a4a4a", "#5c5c5c", "#3b2a20")
#: Image heights that make sense for a line of text, in px.
MIN_HEIGHT, MAX_HEIGHT = 16, 512
#: Grey levels of a PNG.
WHITE = 255


@dataclass(frozen=True)
class DatasetConfig:
    """The lines of a synthetic dataset and the distributions their variety is drawn from.

    Each line ``i`` draws its text, style, bias, slant, ink, paper, blur and noise from its own
    random stream, seeded by ``(seed, i)`` (:mod:`.variety`), so its content depends on nothing else.
    """

    lines: int = field(default=0, metadata={"help": "lines in the dataset"})
    seed: int = field(default=0, metadata={"help": "the dataset's seed: line i depends only on (seed, i)"})
    order: str = field(default=ORDER_SEQUENTIAL, metadata={
        "help": "texts taken in the corpus' order (line i: corpus line i mod n) or sampled", "choices": ORDERS})
    height: int = field(default=64, metadata={"help": "image height in px"})
    shard_lines: int = field(default=500, metadata={"help": "lines per Parquet shard (one task each)"})
    styles: tuple[str, ...] = field(default=(), metadata={
        "help": "styles drawn from, evenly (names of the checkpoint's or your own styles, 'none' for unprimed; "
                "default: every style of the checkpoint and yours)"})
    bias_min: float = field(default=1.0, metadata={"help": "lowest legibility bias (uniform between min and max)"})
    bias_max: float = field(default=3.0, metadata={"help": "highest legibility bias"})
    slant_jitter: float = field(default=4.0, metadata={
        "help": "each line leans as its style's writer leans, plus a normal jitter of this many degrees"})
    ink_width_min: float = field(default=1.2, metadata={"help": "thinnest stroke width in image px"})
    ink_width_max: float = field(default=3.0, metadata={"help": "thickest stroke width in image px"})
    inks: tuple[str, ...] = field(default=DEFAULT_INKS, metadata={"help": "ink colours drawn from (CSS names or #hex)"})
    papers: tuple[str, ...] = field(default=PAPERS, metadata={"help": f"paper backgrounds drawn from: {', '.join(PAPERS)}"})
    paper_min: int = field(default=205, metadata={"help": "darkest paper grey level (0-255)"})
    paper_max: int = field(default=WHITE, metadata={"help": "lightest paper grey level"})
    blur_max: float = field(default=0.7, metadata={"help": "strongest Gaussian blur radius in px (uniform from 0)"})
    noise_max: float = field(default=6.0, metadata={"help": "strongest pixel noise, standard deviation in grey levels"})
    max_chars: int = field(default=100, metadata={"help": "longest corpus line written, in characters"})

    def check(self) -> None:
        """Raise :class:`HandwritingError` naming the first field out of range."""
        from PIL import ImageColor

        _require(self.lines > 0, f"--lines must be at least 1, not {self.lines}")
        _require(self.shard_lines > 0, f"--shard-lines must be at least 1, not {self.shard_lines}")
        _require(MIN_HEIGHT <= self.height <= MAX_HEIGHT, f"--height must be {MIN_HEIGHT}-{MAX_HEIGHT} px")
        _require(self.order in ORDERS, f"--order must be one of {', '.join(ORDERS)}")
        _require(0 <= self.bias_min <= self.bias_max and np.isfinite(self.bias_max),
                 f"need 0 <= --bias-min <= --bias-max, not {self.bias_min}, {self.bias_max}")
        _require(0 <= self.slant_jitter <= MAX_SLANT_DEGREES, f"--slant-jitter must be 0-{MAX_SLANT_DEGREES:g} degrees")
        _require(0 < self.ink_width_min <= self.ink_width_max <= self.height / 4,
                 "need 0 < --ink-width-min <= --ink-width-max <= a quarter of --height")
        _require(0 <= self.paper_min <= self.paper_max <= WHITE, f"need 0 <= --paper-min <= --paper-max <= {WHITE}")
        _require(self.blur_max >= 0 and self.noise_max >= 0, "--blur-max and --noise-max must be >= 0")
        _require(self.max_chars > 0, "--max-chars must be at least 1")
        _require(bool(self.inks) and bool(self.papers), "give at least one ink and one paper")
        unknown = [p for p in self.papers if p not in PAPERS]
        _require(not unknown, f"unknown paper {unknown[:1]}: use {', '.join(PAPERS)}")
        for ink in self.inks:
            try:
                ImageColor.getcolor(ink, "L")
            except ValueError:
                raise HandwritingError(f"unknown ink colour {ink!r}: use a CSS name or #hex") from None

    @property
    def shards(self) -> int:
        """How many shards hold the lines."""
        return -(-self.lines // self.shard_lines)

    def shard_range(self, shard: int) -> range:
        """The line ids of ``shard``."""
        return range(shard * self.shard_lines, min((shard + 1) * self.shard_lines, self.lines))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @staticmethod
    def from_dict(values: dict) -> "DatasetConfig":
        names = {f.name for f in dataclasses.fields(DatasetConfig)}
        return DatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names})


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise HandwritingError(message)
