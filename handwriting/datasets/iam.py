"""Read IAM-OnDB (the IAM On-Line Handwriting Database) into a :class:`StrokeDataset`.

IAM-OnDB needs registration and may not be redistributed: this module reads a copy the user
already has. Layout under ``ROOT`` (``w`` is a prefix directory such as ``a01``, ``form`` a
form id such as ``a01-000``, ``v`` a version letter such as ``u``, ``NN`` a line number)::

    lineStrokes/<w>/<form>/<form><v>-NN.xml   one text line's pen strokes
    ascii/<w>/<form>/<form><v>.txt            the transcription: lines after "CSR:"
    original/<w>/<form>/strokes<v>.xml        (optional) General/Form@writerID

Per form version, the transcription lines after ``CSR:`` (blank lines dropped) are matched in
order to the line files ``-01``, ``-02``, ... A form whose line files are not numbered exactly
``1..n`` with ``n`` equal to the number of transcription lines is skipped whole: lines are never
matched by guesswork. Every skipped form or line is counted by reason in an
:class:`ImportReport`, with a few examples; a bad file never stops the import.

Each line is preprocessed with :mod:`handwriting.strokes`, in this order: the file's y (which
points down) is negated so y points up; repeated points are dropped; pen-down jumps longer than
``max_step`` are dropped as digitiser glitches; each stroke is smoothed with a moving average of
``smooth_window`` points; the writing direction is levelled onto the baseline
(:func:`strokes.align_baseline`); optionally the slant is removed; finally the line is moved so
that its first point is the origin and turned into offsets (so ``offsets[0] = (0, 0, pen_up)``).
Length caps (``min_points``, ``max_points``, ``max_chars``) apply to the result.

Files are visited in sorted order, so the same ROOT and config give the same dataset.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import alphabet, strokes
from ..errors import HandwritingError
from .format import StrokeDataset

#: Directory names under ROOT.
LINE_STROKES_DIR = "lineStrokes"
ASCII_DIR = "ascii"
ORIGINAL_DIR = "original"
#: The marker in an ascii file after which the corrected transcription lines follow.
CSR_MARKER = "CSR:"
#: Prefix of the writer name given to a form whose writer id is unknown (one writer per form).
UNKNOWN_WRITER_PREFIX = "form:"
#: Examples of skipped files kept per reason in the report.
MAX_EXAMPLES = 3

#: ``<form><v>-NN.xml``: the form version (``a01-000u``) and the line number (``01``).
LINE_FILE_PATTERN = re.compile(r"^(?P<stem>.+)-(?P<line>\d+)\.xml$")
#: XML character references that IAM transcriptions contain in some versions.
ENTITY_PATTERN = re.compile(r"&(quot|amp|apos|lt|gt);")
ENTITIES = {"quot": '"', "amp": "&", "apos": "'", "lt": "<", "gt": ">"}
#: Text encodings tried in turn for ascii files (latin-1 accepts any byte, so it is last).
TEXT_ENCODINGS = ("utf-8", "latin-1")

# Reasons for skipping, as counted in the report.
MALFORMED_XML = "malformed XML"
MISSING_TRANSCRIPTION = "missing transcription"
UNMATCHED_LINE_COUNT = "unmatched line count"
UNKNOWN_CHARACTERS = "unknown characters"
EMPTY_TRANSCRIPTION = "empty transcription"
TOO_MANY_POINTS = "too many points"
TOO_FEW_POINTS = "too few points"
TOO_MANY_CHARACTERS = "too many characters"
UNRECOGNISED_FILE_NAME = "unrecognised file name"

# Defaults (IAM coordinates are digitiser units; consecutive pen-down points are ~10-50 apart).
DEFAULT_MAX_POINTS = 1200
DEFAULT_MIN_POINTS = 20
DEFAULT_MAX_CHARS = 80
DEFAULT_MAX_STEP = 500.0
DEFAULT_SMOOTH_WINDOW = 3


@dataclass
class IamConfig:
    """How IAM-OnDB lines are read, cleaned and filtered (all lengths in digitiser units)."""

    max_points: int = field(
        default=DEFAULT_MAX_POINTS,
        metadata={"help": "skip lines with more points than this after preprocessing"},
    )
    min_points: int = field(
        default=DEFAULT_MIN_POINTS,
        metadata={"help": "skip lines with fewer points than this after preprocessing"},
    )
    max_chars: int = field(
        default=DEFAULT_MAX_CHARS,
        metadata={"help": "skip lines whose text has more characters than this"},
    )
    max_step: float = field(
        default=DEFAULT_MAX_STEP,
        metadata={
            "help": "drop pen-down points that jump further than this from the previous point, "
            "in raw digitiser units (typical steps are 10-50); 0 turns it off"
        },
    )
    smooth_window: int = field(
        default=DEFAULT_SMOOTH_WINDOW,
        metadata={"help": "moving-average window (points) for smoothing each stroke; 1 turns it off"},
    )
    deslant: bool = field(default=False, metadata={"help": "remove the slant of the writing"})
    normalise_text: bool = field(
        default=True,
        metadata={"help": "map typographic characters and accented letters to the alphabet"},
    )

    def __post_init__(self) -> None:
        if self.min_points < 1:
            raise HandwritingError(f"min_points must be at least 1, got {self.min_points}")
        if self.max_points < self.min_points:
            raise HandwritingError(
                f"max_points ({self.max_points}) must not be smaller than min_points ({self.min_points})"
            )
        if self.max_chars < 1:
            raise HandwritingError(f"max_chars must be at least 1, got {self.max_chars}")
        if self.max_step < 0:
            raise HandwritingError(f"max_step must be 0 (off) or positive, got {self.max_step}")
        if self.smooth_window < 1:
            raise HandwritingError(f"smooth_window must be at least 1, got {self.smooth_window}")


@dataclass
class ImportReport:
    """What an import read and what it skipped, and why.

    Every line file found is either imported or counted once in ``skipped_lines``, so
    ``lines_read == lines_imported + sum(skipped_lines.values())``. Form-level reasons (no
    transcription, line count mismatch) are also counted per form in ``skipped_forms``.
    """

    root: str = ""
    forms: int = 0
    lines_read: int = 0
    lines_imported: int = 0
    writers: int = 0
    skipped_lines: Counter = field(default_factory=Counter)
    skipped_forms: Counter = field(default_factory=Counter)
    forms_without_writer: list[str] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip_lines(self, reason: str, count: int, example: str) -> None:
        """Count ``count`` skipped lines for ``reason`` and keep ``example`` if there is room."""
        self.skipped_lines[reason] += count
        self._example(reason, example)

    def skip_form(self, reason: str, lines: int, example: str) -> None:
        """Count one skipped form (and its ``lines`` line files) for ``reason``."""
        self.skipped_forms[reason] += 1
        self.skipped_lines[reason] += lines
        self._example(reason, example)

    def _example(self, reason: str, example: str) -> None:
        kept = self.examples.setdefault(reason, [])
        if len(kept) < MAX_EXAMPLES:
            kept.append(example)

    def skipped_metadata(self) -> dict:
        """The skip counts as saved in the dataset's metadata."""
        return {"lines": dict(sorted(self.skipped_lines.items())), "forms": dict(sorted(self.skipped_forms.items()))}

    def summary(self) -> str:
        """A readable multi-line account of the import, with examples of skipped files."""
        forms_skipped = sum(self.skipped_forms.values())
        out = [
            f"IAM-OnDB import from {self.root}",
            f"  forms:          {self.forms} ({forms_skipped} skipped)",
            f"  line files:     {self.lines_read}",
            f"  lines imported: {self.lines_imported}",
            f"  writers:        {self.writers}",
        ]
        if self.forms_without_writer:
            shown = ", ".join(self.forms_without_writer[:MAX_EXAMPLES])
            more = len(self.forms_without_writer) - MAX_EXAMPLES
            out.append(
                f"  {len(self.forms_without_writer)} form(s) without a writer id, each made its own writer: "
                f"{shown}{f' and {more} more' if more > 0 else ''}"
            )
        total = sum(self.skipped_lines.values())
        out.append(f"  lines skipped:  {total}")
        for reason, count in sorted(self.skipped_lines.items()):
            forms = self.skipped_forms.get(reason, 0)
            in_forms = f" (in {forms} form{'s' if forms != 1 else ''})" if forms else ""
            out.append(f"    {reason}: {count}{in_forms}")
            for example in self.examples.get(reason, []):
                out.append(f"      e.g. {example}")
        return "\n".join(out)


class _Skip(Exception):
    """Internal: this line (or form) is skipped for ``reason``; ``detail`` says where and why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------- reading files


def read_line_strokes(path: Path) -> np.ndarray:
    """Read one lineStrokes XML file.

    Returns:
        ``[N, 3]`` float32 coords ``(x, y, pen_up)`` in digitiser units with y pointing up
        (the file's y, which points down, negated); ``pen_up = 1`` on each stroke's last point.

    Raises:
        _Skip: ``MALFORMED_XML`` for unparsable XML, a missing StrokeSet or a bad Point.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise _Skip(MALFORMED_XML, str(exc)) from None
    stroke_set = root.find("StrokeSet")
    if stroke_set is None:
        raise _Skip(MALFORMED_XML, "no StrokeSet element")
    pieces = []
    for stroke in stroke_set.iter("Stroke"):
        try:
            points = [(float(p.attrib["x"]), float(p.attrib["y"])) for p in stroke.iter("Point")]
        except (KeyError, ValueError) as exc:
            raise _Skip(MALFORMED_XML, f"bad Point ({exc.__class__.__name__}: {exc})") from None
        if points:
            pieces.append(np.array(points, np.float64))
    coords = strokes.join_strokes(pieces)
    coords[:, 1] = -coords[:, 1]
    if not np.isfinite(coords).all():
        raise _Skip(MALFORMED_XML, "non-finite coordinates")
    return coords


def decode_entities(text: str) -> str:
    """Replace ``&quot;``, ``&amp;``, ``&apos;``, ``&lt;`` and ``&gt;`` by their characters."""
    return ENTITY_PATTERN.sub(lambda m: ENTITIES[m.group(1)], text)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("unreachable: latin-1 decodes any bytes")


def read_transcription(path: Path) -> list[str]:
    """The transcription lines of an ascii file: the non-blank lines after ``CSR:``.

    Lines are stripped of surrounding whitespace and XML character references are decoded.

    Raises:
        _Skip: ``MISSING_TRANSCRIPTION`` when the file is absent, unreadable or has no ``CSR:``.
    """
    if not path.is_file():
        raise _Skip(MISSING_TRANSCRIPTION, "file not found")
    try:
        lines = _read_text(path).splitlines()
    except OSError as exc:
        raise _Skip(MISSING_TRANSCRIPTION, f"unreadable ({exc})") from None
    stripped = [line.strip() for line in lines]
    if CSR_MARKER not in stripped:
        raise _Skip(MISSING_TRANSCRIPTION, f"no '{CSR_MARKER}' line")
    after = stripped[stripped.index(CSR_MARKER) + 1:]
    return [decode_entities(line) for line in after if line]


def read_writer_id(path: Path) -> str | None:
    """``General/Form@writerID`` of an ``original/.../strokes<v>.xml`` file, or None if absent."""
    if not path.is_file():
        return None
    try:
        form = ET.parse(path).getroot().find("General/Form")
    except (ET.ParseError, OSError):
        return None
    writer = form.attrib.get("writerID", "").strip() if form is not None else ""
    return writer or None


# ---------------------------------------------------------------- preprocessing


def preprocess(coords: np.ndarray, config: IamConfig) -> np.ndarray:
    """Clean one line's ``[N, 3]`` coords (y up) and return ``[M, 3]`` float32 offsets.

    The steps are listed in the module docstring; ``offsets[0] = (0, 0, pen_up)``.
    """
    coords = strokes.remove_duplicate_points(coords)
    if config.max_step > 0:
        coords = strokes.drop_outlier_steps(coords, config.max_step)
    coords = strokes.smooth(coords, config.smooth_window)
    coords = strokes.align_baseline(coords)
    if config.deslant:
        coords = strokes.deslant(coords)
    coords = np.array(coords, np.float32, copy=True)
    coords[:, :2] -= coords[0, :2]
    return strokes.coords_to_offsets(coords)


def prepare_text(raw: str, config: IamConfig) -> str:
    """Normalise a transcription line (if configured) and check it against the alphabet.

    Raises:
        _Skip: ``EMPTY_TRANSCRIPTION``, ``UNKNOWN_CHARACTERS`` (naming them) or
            ``TOO_MANY_CHARACTERS``.
    """
    text = alphabet.normalise(raw) if config.normalise_text else raw
    if not text.strip():
        raise _Skip(EMPTY_TRANSCRIPTION, "blank text")
    unknown = alphabet.unknown_characters(text)
    if unknown:
        raise _Skip(UNKNOWN_CHARACTERS, f"{text!r}: {alphabet.describe_unknown(unknown)}")
    if len(text) > config.max_chars:
        raise _Skip(TOO_MANY_CHARACTERS, f"{len(text)} characters > {config.max_chars}")
    return text


def import_line(path: Path, raw_text: str, config: IamConfig) -> tuple[np.ndarray, str]:
    """One line file and its transcription -> (``[N, 3]`` offsets, text), or raise ``_Skip``."""
    coords = read_line_strokes(path)
    text = prepare_text(raw_text, config)
    offsets = preprocess(coords, config) if len(coords) else np.zeros((0, 3), np.float32)
    if len(offsets) < config.min_points:
        raise _Skip(TOO_FEW_POINTS, f"{len(offsets)} points < {config.min_points}")
    if len(offsets) > config.max_points:
        raise _Skip(TOO_MANY_POINTS, f"{len(offsets)} points > {config.max_points}")
    return offsets, text


# ---------------------------------------------------------------- forms


@dataclass
class _Form:
    """One form version: ``lineStrokes/<w>/<form>/<stem>-NN.xml`` with ``stem = <form><v>``."""

    directory: Path  # lineStrokes/<w>/<form>, relative to ROOT
    stem: str
    lines: list[tuple[int, Path]]  # (line number, file), in sorted file order

    @property
    def version(self) -> str:
        """The version letter(s): the stem after the form id (may be empty)."""
        form_id = self.directory.name
        return self.stem[len(form_id):] if self.stem.startswith(form_id) else ""


def find_forms(line_root: Path, report: ImportReport) -> list[_Form]:
    """Group the line files under ``lineStrokes/`` by form version, in sorted order."""
    forms: dict[tuple[Path, str], _Form] = {}
    for path in sorted(line_root.rglob("*.xml")):
        relative = path.relative_to(line_root)
        match = LINE_FILE_PATTERN.match(path.name)
        if match is None:
            report.lines_read += 1
            report.skip_lines(UNRECOGNISED_FILE_NAME, 1, str(Path(LINE_STROKES_DIR) / relative))
            continue
        key = (relative.parent, match["stem"])
        form = forms.setdefault(key, _Form(relative.parent, match["stem"], []))
        form.lines.append((int(match["line"]), path))
    return [forms[key] for key in sorted(forms)]


def writer_of(root: Path, form: _Form) -> str | None:
    """The writer id recorded in ``original/<w>/<form>/strokes<v>.xml``, if any."""
    return read_writer_id(root / ORIGINAL_DIR / form.directory / f"strokes{form.version}.xml")


def read_form(
    root: Path, form: _Form, config: IamConfig, report: ImportReport
) -> list[tuple[np.ndarray, str]]:
    """Import the lines of one form version; count everything skipped in ``report``."""
    report.forms += 1
    report.lines_read += len(form.lines)
    ascii_path = root / ASCII_DIR / form.directory / f"{form.stem}.txt"
    try:
        texts = read_transcription(ascii_path)
    except _Skip as skip:
        report.skip_form(skip.reason, len(form.lines), f"{ascii_path.relative_to(root)}: {skip.detail}")
        return []
    lines = sorted(form.lines)
    numbers = [number for number, _ in lines]
    if numbers != list(range(1, len(texts) + 1)):
        detail = (
            f"{Path(LINE_STROKES_DIR) / form.directory / form.stem}-NN.xml: line files "
            f"{_describe_numbers(numbers)}, but {len(texts)} transcription lines in {ascii_path.relative_to(root)}"
        )
        report.skip_form(UNMATCHED_LINE_COUNT, len(form.lines), detail)
        return []
    imported = []
    for (_, path), raw_text in zip(lines, texts):
        try:
            imported.append(import_line(path, raw_text, config))
        except _Skip as skip:
            report.skip_lines(skip.reason, 1, f"{path.relative_to(root)}: {skip.detail}")
    return imported


def _describe_numbers(numbers: list[int]) -> str:
    """``[1, 2, 3]`` -> ``"1..3"`` when consecutive from 1, else the numbers themselves."""
    if not numbers:
        return "none"
    if numbers == list(range(1, len(numbers) + 1)):
        return f"1..{len(numbers)}"
    return ", ".join(str(n) for n in numbers)


# ---------------------------------------------------------------- entry point


def read_iam(root: Path, config: IamConfig | None = None) -> tuple[StrokeDataset, ImportReport]:
    """Read IAM-OnDB under ``root`` into a dataset of text lines.

    Returns:
        The dataset (offsets in digitiser units, ``scale`` from :func:`strokes.estimate_scale`,
        writers sorted by name) and the report of what was read and skipped.

    Raises:
        HandwritingError: ``root`` does not exist, holds no ``lineStrokes/`` directory, or no
            line could be imported.
    """
    config = config or IamConfig()
    root = Path(root)
    if not root.is_dir():
        raise HandwritingError(f"IAM-OnDB directory not found: {root}")
    line_root = root / LINE_STROKES_DIR
    if not line_root.is_dir():
        raise HandwritingError(f"{root} holds no {LINE_STROKES_DIR}/ directory: is it the IAM-OnDB root?")

    report = ImportReport(root=str(root))
    offsets: list[np.ndarray] = []
    texts: list[str] = []
    writer_names: list[str] = []
    for form in find_forms(line_root, report):
        lines = read_form(root, form, config, report)
        if not lines:
            continue
        writer = writer_of(root, form)
        if writer is None:
            writer = f"{UNKNOWN_WRITER_PREFIX}{form.stem}"
            report.forms_without_writer.append(form.stem)
        for line_offsets, text in lines:
            offsets.append(line_offsets)
            texts.append(text)
            writer_names.append(writer)

    report.lines_imported = len(texts)
    if not texts:
        raise HandwritingError(
            f"no line could be imported from {root} ({report.lines_read} line files read; "
            f"skipped: {_describe_counts(report.skipped_lines)})"
        )
    writers = sorted(set(writer_names))
    report.writers = len(writers)
    index = {name: i for i, name in enumerate(writers)}
    dataset = StrokeDataset(
        offsets=offsets,
        texts=texts,
        writer_ids=np.array([index[name] for name in writer_names], np.int32),
        writers=writers,
        scale=_scale(offsets),
        metadata={
            "source": "iam-ondb",
            "root": str(root),
            "config": asdict(config),
            "skipped": report.skipped_metadata(),
        },
    )
    return dataset, report


def _scale(offsets: list[np.ndarray]) -> float:
    """The dataset scale, or a clear error when the imported lines have no movement at all."""
    try:
        return strokes.estimate_scale(offsets)
    except ValueError as exc:
        raise HandwritingError(f"cannot estimate the dataset scale: {exc}") from None


def _describe_counts(counts: Counter) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) or "nothing"
