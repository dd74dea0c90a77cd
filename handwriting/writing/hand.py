"""The public writing API: ``handwriting.load()`` gives a :class:`Hand`; ``Hand.write`` a :class:`Drawing`.

Example:
    >>> import handwriting
    >>> hand = handwriting.load()                      # the shipped default model
    >>> drawing = hand.write("Hello, world!", bias=2.5, seed=1)
    >>> drawing.to_svg("hello.svg")
    >>> page = hand.write(long_text, max_line_chars=50, align="center", color="navy")
    >>> page.to_png("page.png"); page.to_animated_svg("page-anim.svg", speed=2)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import alphabet
from ..errors import HandwritingError
from ..resources import SHIPPED_CHECKPOINTS, default_checkpoint_dir, shipped_checkpoint_dir
from ..strokes import bounding_box, offsets_to_coords, set_slant
from ..output import layout, render
from ..output.drawing import OUTPUT_FORMATS, Drawing  # OUTPUT_FORMATS: re-exported, as before the move
from ..output.pages import DEFAULT_MARGIN_MM, PX_PER_MM, Page, Sheet
from ..output.paper import PLAIN
from ..output.variation import PageVariation
from .paged import CHAR_WIDTH_X_HEIGHTS, write_on_sheets
from .personal import prime_of
from .sampling import MAX_BATCH_LINES, plan_batches
from .styles import (  # Style, RESERVED_STYLE_NAMES, load_styles: re-exported, as before the move
    DEFAULT_STYLE,
    NO_STYLE,
    RANDOM_STYLE,
    RESERVED_STYLE_NAMES,
    Style,
    load_styles,
)

#: Where the shipped default model lives (a checkout's ``checkpoints/default``).
DEFAULT_CHECKPOINT = default_checkpoint_dir()
#: Environment variable that points ``load()`` at another default checkpoint.
CHECKPOINT_ENV = "HANDWRITING_CHECKPOINT"
#: Page pixels per normalised stroke unit (offsets / dataset scale have unit spread), for a
#: checkpoint that does not record its handwriting's x-height.
PX_PER_UNIT = 4.0
#: Written x-height in page pixels, for a checkpoint that records ``x_height`` (normalised units).
X_HEIGHT_PX = 16.0
#: The sampler engines: NumPy (the default, no TensorFlow import) and the compiled TensorFlow loop.
ENGINE_NUMPY = "numpy"
ENGINE_TENSORFLOW = "tensorflow"
#: Lines written per batch, at most, by engine. The NumPy loop drops finished lines as it goes,
#: so one large batch (larger products, fewer steps at small sizes) costs least: the 157 pieces
#: of 65 prompts wrote about 15% faster in one batch than as 78 + 79, and a batch of 64 or more
#: is split across the CPU cores (numpy_sampler.PARALLEL_MIN_LINES); the compiled TensorFlow
#: loop keeps its batch shape.
LINES_PER_BATCH = {ENGINE_NUMPY: 4 * MAX_BATCH_LINES, ENGINE_TENSORFLOW: MAX_BATCH_LINES}
ENGINES = (ENGINE_NUMPY, ENGINE_TENSORFLOW)
DEFAULT_ENGINE = ENGINE_NUMPY
#: The bias of a checkpoint whose release names none (``CheckpointConfig.default_bias``). Measured
#: with ``handwriting evaluate`` on the shipped model (3 seeds, default style): mean CER 0.166 at
#: bias 0.75, 0.121 at 1.5, 0.107 at 2.5, 0.111 at 4 (docs/training.md).
DEFAULT_BIAS = 2.5
#: Whether the pieces of a long line are scaled to one x-height when joined (docs/training.md).
LEVEL_PIECE_SIZES = False
#: ``slant="style"``: each line leans as its style's writer leans (the prime's slant). The network
#: drifts towards its training data's lean as it writes, more the higher the bias: at bias 2.5 the
#: shipped styles leaned 2-16 degrees further right than their writers, the "backhand" ones to the
#: right (docs/training.md); sheared back, the public-prompt CER of every style moved by 0.005 at most.
SLANT_STYLE = "style"
#: ``slant="model"``: the lines as the network drew them.
SLANT_MODEL = "model"
DEFAULT_SLANT = SLANT_STYLE
#: A slant given in degrees must lie within this many degrees of upright.
MAX_SLANT_DEGREES = 45.0
class Hand:
    """A loaded model that writes text. Make one with :func:`handwriting.load`."""

    def __init__(self, sampler, scale: float, styles: dict[str, Style], checkpoint: Path | None = None,
                 default_style: str | None = None, x_height: float | None = None, piece_chars: int | None = None,
                 default_bias: float | None = None):
        """``sampler``: a sampler engine (``NumpySampler`` or the TensorFlow ``Sampler``), or a
        Keras ``SynthesisModel``, which is given the TensorFlow sampler. ``piece_chars``: write
        longer lines in pieces (the checkpoint's ``piece_chars``, :func:`~.layout.split_pieces`).
        ``default_bias``: the bias when none is given (the checkpoint's; else :data:`DEFAULT_BIAS`)."""
        if not hasattr(sampler, "sample"):
            from .sample import Sampler

            sampler = Sampler(sampler)
        self.sampler = sampler
        #: The Keras model of the TensorFlow engine; ``None`` with the NumPy engine.
        self.model = getattr(sampler, "model", None)
        self.engine = ENGINE_TENSORFLOW if self.model is not None else ENGINE_NUMPY
        self.scale = scale
        self.styles = styles
        self.checkpoint = checkpoint
        self.default_style = default_style
        self.px_per_unit = X_HEIGHT_PX / x_height if x_height else PX_PER_UNIT
        #: The written x-height in px, where the checkpoint records it.
        self.x_height_px = X_HEIGHT_PX if x_height else None
        self.piece_chars = piece_chars
        #: The bias written with when none is given: the checkpoint's release chose it.
        self.default_bias = DEFAULT_BIAS if default_bias is None else float(default_bias)
        #: Scale a line's pieces to one x-height when joining them (:func:`~.layout.join_pieces`).
        self.level_piece_sizes = LEVEL_PIECE_SIZES
        self._personal: dict[tuple[str, int], object] = {}

    def sampler_for(self, style: Style | None):
        """The hand's sampler, or for a style with a personal model a NumPy sampler of the base
        weights plus the person's deltas (:func:`.personal.personal_sampler`, cached)."""
        if style is None or style.personal_model is None:
            return self.sampler
        from .personal import personal_sampler

        return personal_sampler(self._personal, self.checkpoint, self.sampler.config, style)

    def style(self, name: str | None, seed: int | None = None) -> Style | None:
        """The named style, or ``None`` for no priming.

        ``"default"`` is the checkpoint's default style, ``"random"`` picks one with ``seed``,
        ``"none"`` (or ``None``) writes unprimed.
        """
        if name == DEFAULT_STYLE:
            name = self.default_style
        if name is None or name == NO_STYLE:
            return None
        if name == RANDOM_STYLE:
            if not self.styles:
                raise HandwritingError("this checkpoint has no styles to pick from")
            names = sorted(self.styles)
            return self.styles[names[np.random.default_rng(seed).integers(len(names))]]
        if name not in self.styles:
            known = ", ".join(sorted(self.styles)) or "none"
            raise HandwritingError(f"unknown style {name!r}; this checkpoint has: {known}")
        return self.styles[name]

    def write_lines(
        self,
        lines: Sequence[str],
        *,
        style: str | Style | None = DEFAULT_STYLE,
        bias: float | None = None,
        seed: int | None = None,
        slant: str | float = DEFAULT_SLANT,
    ) -> tuple[list[np.ndarray], list[bool]]:
        """Write each text as one line; return per line ``[N, 3]`` coords in px (y up) and hit-cap flags.

        A line longer than ``piece_chars`` is written as pieces joined on the page
        (:func:`~.layout.split_pieces`, :func:`~.layout.join_pieces`). Lines (or pieces) are
        grouped into balanced batches of similar length, at most ``LINES_PER_BATCH[engine]``
        each (:func:`~.sampling.plan_batches`); every line gets the same style. With the NumPy
        engine piece ``i`` (of all lines' pieces, in order) draws from its own random stream
        ``(seed, i)``, so it does not depend on the other lines; the TensorFlow engine keys a
        batch's draws by ``seed`` plus its first line. Each line is then sheared to ``slant``
        (see :meth:`write`).
        """
        bias = self.default_bias if bias is None else bias
        if not np.isfinite(bias) or bias < 0:
            raise HandwritingError(f"bias must be a number >= 0, not {bias}")
        target = slant_radians(slant)
        seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else int(seed)
        prime = style if isinstance(style, Style) or style is None else self.style(style, seed)
        prime_arg = prime_of(prime)
        sampler = self.sampler_for(prime)
        engine = ENGINE_NUMPY if sampler is not self.sampler else self.engine
        per_line = [layout.split_pieces(alphabet.validate(t, normalise_text=False), self.piece_chars) for t in lines]
        texts = [piece for pieces in per_line for piece in pieces]
        coords: list = [None] * len(texts)
        caps = [False] * len(texts)
        for rows in plan_batches([len(t) for t in texts], LINES_PER_BATCH[engine]):
            # NumPy: piece i's own stream (seed, i), whatever batch it lands in; TensorFlow: per batch.
            options = {"line_ids": rows, "seed": seed} if engine == ENGINE_NUMPY else {"seed": seed + rows[0]}
            batch = sampler.sample([texts[i] for i in rows], bias=bias, prime=prime_arg, **options)
            for i, offsets, capped in zip(rows, batch.offsets, batch.hit_cap):
                coords[i] = offsets_to_coords(offsets)
                coords[i][:, :2] *= self.px_per_unit
                caps[i] = bool(capped)
        joined, line_caps, first = [], [], 0
        if slant == SLANT_STYLE and prime is not None:
            target = prime.slant
        for pieces in per_line:
            end = first + len(pieces)
            line = coords[first] if len(pieces) == 1 else layout.join_pieces(coords[first:end], pieces,
                                                                              self.level_piece_sizes)
            joined.append(line if target is None else set_slant(line, target))
            line_caps.append(any(caps[first:end]))
            first = end
        return joined, line_caps

    def inspect(self, text: str, *, style: str | Style | None = DEFAULT_STYLE, bias: float | None = None,
                seed: int = 0) -> dict:
        """Write one line and return what the network saw, for plots.

        Returns:
            ``{"text", "offsets" [T, 3] (normalised units), "phi" [T, U], "mixture"}`` where
            ``mixture`` holds the constrained parameters predicting each next point (eqs
            18-22, bias applied), from a teacher-forced pass over the written points.
        """
        from .numpy_engine import mixture_params

        bias = self.default_bias if bias is None else bias
        (line,) = text_lines(text)
        prime = style if isinstance(style, Style) or style is None else self.style(style, seed)
        prime_arg = prime_of(prime)
        sampler = self.sampler_for(prime)
        batch = sampler.sample([line], bias=bias, seed=seed, prime=prime_arg, return_attention=True)
        offsets, phi = batch.offsets[0], batch.phi[0]
        x = np.concatenate([np.zeros((1, 3), np.float32), offsets[:-1]])
        y = sampler.outputs(x, line)
        mixture = mixture_params(y, sampler.config.mixture_components, bias)
        if prime_arg is not None:  # the window ran over "prime text + space" first
            phi = phi[:, len(prime.text) + 1:]
        return {"text": line, "offsets": offsets, "phi": phi, "mixture": mixture}

    def write(self, text: str | Sequence[str], *, page: str | Sheet | None = None, paper: str = PLAIN,
              max_pages: int | None = None, neat: bool = False, variation: PageVariation | None = None,
              progress: Callable[[int, int], None] | None = None, **options) -> Drawing:
        """Write ``text`` in handwriting.

        Args:
            text: a string (newlines kept, blank lines are paragraph breaks, long lines wrapped
                at ``max_line_chars``) or a list of lines written as given.
            style: a style name of this checkpoint (see ``hand.styles``), ``"default"`` (the
                checkpoint's default style, the default), ``"random"``, ``"none"``, a
                :class:`Style`, or ``None`` to write unprimed.
            bias: legibility, Graves eqs 61-62: 0 samples the trained distribution; higher
                values are neater and less varied (default: ``hand.default_bias``, the
                checkpoint's own, else ``DEFAULT_BIAS``).
            seed: the same seed, text and checkpoint give the same drawing.
            slant: ``"style"`` (the default) leans every line as the style's writer leans (the
                network drifts to its training data's lean as it writes; unprimed lines are
                left as drawn), ``"model"`` leaves the lines as the network drew them, and a
                number sets the slant in degrees (positive leans right, at most
                ``MAX_SLANT_DEGREES``; 0 is upright).
            max_line_chars: wrap long lines at this many characters.
            align: ``left``, ``center`` or ``right``.
            color, width: stroke colour and width, for all lines or one per line.
            line_height, page_width, margin: page geometry in px (defaults fit the ink); with
                ``page``, ``line_height`` and ``margin`` are in mm.
            normalise_text: map typographic characters and accents to the alphabet first.
            page: write on sheets of paper of this size (``"a4"``, ``"letter"``, ``"a5"``,
                ``"WxHmm"``, or a :class:`~handwriting.output.pages.Sheet`): paragraphs kept,
                words never split, as many pages as the text needs (see :mod:`.paged`).
            paper: with ``page``: ``plain``, ``lined``, ``grid`` or ``dotted`` ruling in previews.
            max_pages: with ``page``: fail if the text needs more pages.
            neat: with ``page``: no natural page variation (every line level, evenly spaced).
            variation: with ``page``: the page variation's figures (default: measured on UNIPEN).
            progress: with ``page``: called with ``(lines that fit, lines)`` after each pass.

        Returns:
            A :class:`Drawing`; save it with ``to_svg``, ``to_png``, ``to_animated_svg`` or
            ``to_pdf``. Its ``pages`` are the written sheets.

        Raises:
            HandwritingError: empty text, characters outside the alphabet (named), bad options.
        """
        if page is None:
            if paper != PLAIN or max_pages is not None or neat or variation is not None or progress is not None:
                raise HandwritingError("paper, max_pages, neat, variation and progress need a page size (page=...)")
            return self.write_many([text], **options)[0]
        return self._write_sheets(text, page, paper=paper, max_pages=max_pages,
                                  variation=PageVariation.neat() if neat else variation, progress=progress, **options)

    def _write_sheets(self, text: str | Sequence[str], page: str | Sheet, *, paper: str, max_pages: int | None,
                      variation: PageVariation | None, progress: Callable[[int, int], None] | None = None,
                      style: str | Style | None = DEFAULT_STYLE,
                      bias: float | None = None, seed: int | None = None, slant: str | float = DEFAULT_SLANT,
                      color: str = render.DEFAULT_COLOR, width: float = render.DEFAULT_WIDTH,
                      line_height: float | None = None, margin: float | None = None,
                      normalise_text: bool = True) -> Drawing:
        """:meth:`write` on sheets of paper (``page``): lengths in mm, one colour and width."""
        sheet = page if isinstance(page, Sheet) else Sheet.make(page, DEFAULT_MARGIN_MM if margin is None else margin,
                                                                  paper)
        if max_pages is not None and max_pages < 1:
            raise HandwritingError(f"max_pages must be at least 1, not {max_pages}")
        render.check_color(color)
        lines = text_lines(text, normalise_text=normalise_text)
        seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else int(seed)
        prime = style if isinstance(style, Style) or style is None else self.style(style, seed)
        x_height = (self.x_height_px or X_HEIGHT_PX) / PX_PER_MM
        char_width = CHAR_WIDTH_X_HEIGHTS * x_height
        if prime is not None:
            x0, _, x1, _ = bounding_box(offsets_to_coords(prime.offsets))
            char_width = (x1 - x0) / len(prime.text) * self.px_per_unit / PX_PER_MM

        def write(texts: list[str]):
            return self.write_lines(texts, style=prime, bias=bias, seed=seed, slant=slant)

        pages, caps = write_on_sheets(write, "\n".join(lines), sheet, x_height=x_height, char_width=char_width,
                                      seed=seed, line_height=line_height, variation=variation, max_pages=max_pages,
                                      color=color, width=width / PX_PER_MM, progress=progress)
        return Drawing.of_pages(pages, caps)

    def write_many(
        self,
        texts: Sequence[str | Sequence[str]],
        *,
        style: str | Style | None = DEFAULT_STYLE,
        bias: float | None = None,
        seed: int | None = None,
        slant: str | float = DEFAULT_SLANT,
        max_line_chars: int | None = None,
        align: layout.Alignment = "left",
        color: str | Sequence[str] = render.DEFAULT_COLOR,
        width: float | Sequence[float] = render.DEFAULT_WIDTH,
        line_height: float | None = None,
        page_width: float | None = None,
        margin: float = render.DEFAULT_MARGIN,
        normalise_text: bool = True,
    ) -> list[Drawing]:
        """Write several texts, one :class:`Drawing` each; all their lines share sampler batches.

        Options are those of :meth:`write`. Every text is checked before anything is written.
        """
        pages = [text_lines(text, normalise_text=normalise_text, max_line_chars=max_line_chars, number=number)
                 for number, text in enumerate(texts, 1)]
        flat = [line for lines in pages for line in lines if line.strip()]
        coords, caps = self.write_lines(flat, style=style, bias=bias, seed=seed, slant=slant)
        drawings, k = [], 0
        for lines in pages:
            per_line: list[np.ndarray | None] = []
            page_caps = []
            for line in lines:
                if line.strip():
                    per_line.append(coords[k])
                    page_caps.append(caps[k])
                    k += 1
                else:
                    per_line.append(None)
            placed = layout.place_lines(per_line, line_height=line_height, align=align, page_width=page_width,
                                        margin=margin)
            page = Page.fit(placed, color=color, width=width, margin=margin, page_width=page_width, texts=lines)
            drawings.append(Drawing(lines=list(page.lines), texts=list(lines), page=page, hit_cap=page_caps))
        return drawings


def slant_radians(slant: str | float) -> float | None:
    """The slant every line is sheared to, in radians, for a number of degrees; ``None`` for
    ``"style"`` and ``"model"`` (see :meth:`Hand.write`).

    Raises:
        HandwritingError: anything else, or more than ``MAX_SLANT_DEGREES`` from upright.
    """
    if isinstance(slant, str) and slant in (SLANT_STYLE, SLANT_MODEL):
        return None
    try:
        degrees = float(slant)
    except (TypeError, ValueError):
        raise HandwritingError(f"slant must be {SLANT_STYLE!r}, {SLANT_MODEL!r} or degrees, not {slant!r}") from None
    if not abs(degrees) <= MAX_SLANT_DEGREES:
        raise HandwritingError(f"slant must be within {MAX_SLANT_DEGREES:g} degrees of upright, not {slant!r}")
    return float(np.radians(degrees))


def text_lines(text: str | Sequence[str], *, normalise_text: bool = True, max_line_chars: int | None = None,
               number: int = 1) -> list[str]:
    """The lines a text will be written as, checked against the alphabet (see :meth:`Hand.write`).

    ``number`` names the text in error messages when several are written at once.

    Raises:
        HandwritingError: empty text, or characters outside the alphabet (each named with
            its line and position).
    """
    where = f"text {number}: " if number > 1 else ""
    if isinstance(text, str):
        if normalise_text:
            text = alphabet.normalise(text)
        lines = layout.wrap_text(text, max_line_chars)
    else:
        lines = [alphabet.normalise(t) if normalise_text else t for t in text]
    if not any(line.strip() for line in lines):
        raise HandwritingError(f"{where}empty text: there is nothing to write")
    for i, line in enumerate(lines, 1):
        unknown = alphabet.unknown_characters(line)
        if unknown:
            hint = "; normalisation (on by default) maps typographic characters and accents" if not normalise_text else ""
            raise HandwritingError(f"{where}line {i}: characters outside the alphabet: "
                                   f"{alphabet.describe_unknown(unknown)}{hint}")
    return lines


def load(checkpoint: str | os.PathLike | None = None, engine: str = DEFAULT_ENGINE) -> Hand:
    """Load a checkpoint directory (default: the shipped model) as a :class:`Hand`.

    Args:
        checkpoint: a checkpoint (or run) directory; default ``$HANDWRITING_CHECKPOINT`` or the shipped model.
        engine: ``"numpy"`` (the default: starts at once, imports no TensorFlow) or
            ``"tensorflow"`` (the compiled sampler, for large batches on a GPU).

    Raises:
        HandwritingError: missing or corrupt checkpoint, or an unknown engine, in one line.
    """
    from ..checkpoint import read_config, resolve
    from .styles import load_user_styles

    if engine not in ENGINES:
        raise HandwritingError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    directory = resolve_checkpoint(checkpoint)
    if engine == ENGINE_NUMPY:
        from .numpy_sampler import NumpySampler

        config = read_config(resolve(directory))
        sampler = NumpySampler.from_checkpoint(resolve(directory), config.model)
    else:
        from ..backend import import_backend

        import_backend()
        from ..nn.model import load_model
        from .sample import Sampler

        model, config, _ = load_model(directory)
        sampler = Sampler(model)
    styles = {**load_user_styles(), **load_styles(directory)}  # a shipped name always wins
    return Hand(sampler, config.scale, styles, checkpoint=directory, default_style=config.default_style,
                x_height=config.x_height, piece_chars=config.piece_chars, default_bias=config.default_bias)


def default_style_name(checkpoint: str | os.PathLike) -> str | None:
    """The default style a checkpoint's ``config.json`` names, if any."""
    from ..checkpoint import read_config

    return read_config(resolve_checkpoint(checkpoint)).default_style


def resolve_checkpoint(checkpoint: str | os.PathLike | None = None) -> Path:
    """The checkpoint directory to use: the argument, ``$HANDWRITING_CHECKPOINT``, or the default.

    A directory that exists wins; otherwise a shipped model's name (``default``, ``fonts``:
    :data:`~handwriting.resources.SHIPPED_CHECKPOINTS`) names that model.
    """
    chosen = checkpoint or os.environ.get(CHECKPOINT_ENV)
    if chosen is None:
        return DEFAULT_CHECKPOINT
    directory = Path(chosen)
    if not directory.is_dir() and str(chosen) in SHIPPED_CHECKPOINTS:
        directory = shipped_checkpoint_dir(str(chosen))
    if not directory.is_dir():
        shipped_names = ", ".join(SHIPPED_CHECKPOINTS)
        raise HandwritingError(f"checkpoint not found: {directory} (the shipped models are {shipped_names})")
    return directory
