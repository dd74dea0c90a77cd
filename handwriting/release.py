"""Turn a training run into a shippable checkpoint: config, weights and named styles.

A released checkpoint (like the shipped ``checkpoints/default``) holds only what writing
needs: ``config.json`` (with ``default_style`` and a ``release`` record of where it came from),
``model.weights.h5`` and ``styles/NAME.json``. No optimizer state, no logs.

Styles are prime samples (Graves section 5.5) taken from the validation lines of the dataset
the model was trained on, so the network has never seen them: for each font of the corpus,
the validation line of that font whose length is closest to :data:`STYLE_TARGET_CHARS` (a
training line only where no writer of that font was held out).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import checkpoint as ckpt
from .errors import HandwritingError
from .fileio import default_file_mode, write_text_atomic
from .hand import Style
from .strokes import normalise_offsets

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


def styles_from_dataset(dataset, scale: float, validation_fraction: float, seed: int) -> list[Style]:
    """One style per font of a font-corpus dataset, from its validation split (see the module docstring).

    Args:
        dataset: a :class:`~handwriting.datasets.format.StrokeDataset` of the font corpus.
        scale: the checkpoint's scale (the style's offsets are divided by it).
        validation_fraction, seed: the checkpoint's ``TrainConfig`` fields that made its split.
    """
    from .datasets import split_by_writer

    train_idx, val_idx = split_by_writer(dataset, validation_fraction, seed)
    best: dict[str, tuple[tuple[int, int], int]] = {}
    for held_out, indices in ((0, val_idx), (1, train_idx)):
        for i in indices:
            font = dataset.writers[dataset.writer_ids[i]].split("#")[0]
            name = FONT_STYLE_NAMES.get(font)
            text = dataset.texts[i]
            if name is None or len(text) < STYLE_MIN_CHARS:
                continue
            score = (held_out, abs(len(text) - STYLE_TARGET_CHARS))
            if name not in best or score < best[name][0]:
                best[name] = (score, int(i))
    return [Style(name=name, text=dataset.texts[i], offsets=normalise_offsets(dataset.offsets[i], scale))
            for name, (_, i) in sorted(best.items())]


def release(run_dir: str | Path, out_dir: str | Path, *, data: str | Path | None = None,
            default_style: str | None = None, styles: list[Style] | None = None, note: str = "") -> Path:
    """Write ``out_dir`` from a run (its ``best/`` if present, else the newest checkpoint).

    ``data`` (the training dataset file) supplies the styles; ``default_style`` must name one
    of them (or be ``None`` to write unprimed by default). ``out_dir`` is replaced atomically.
    """
    run_dir = Path(run_dir)
    source = run_dir / ckpt.BEST_DIR if (run_dir / ckpt.BEST_DIR / ckpt.WEIGHTS_FILE).is_file() else run_dir
    source = ckpt.resolve(source)
    config = ckpt.read_config(source)
    model_config, train_config = ckpt.configs_from(config)
    styles = list(styles or [])
    if data is not None:
        from .datasets import load_dataset

        dataset = load_dataset(data)
        styles += styles_from_dataset(dataset, config["scale"], train_config.validation_fraction, train_config.seed)
        x_height_units = dataset.metadata.get("x_height_units")
        if x_height_units:  # the page size of written text follows the handwriting's x-height
            config["x_height"] = float(x_height_units) / float(config["scale"])
    names = [s.name for s in styles]
    if default_style is not None and default_style not in names:
        raise HandwritingError(f"default style {default_style!r} is not among the styles: {', '.join(names)}")
    config = {k: v for k, v in config.items() if k not in ("best_validation",)}
    config["default_style"] = default_style
    config["release"] = {"from": str(source), "step": config.get("step"), "data": str(data) if data else None,
                         "note": note}
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        os.chmod(tmp, default_file_mode(directory=True))
        shutil.copyfile(source / ckpt.WEIGHTS_FILE, tmp / ckpt.WEIGHTS_FILE)
        (tmp / "styles").mkdir()
        for style in styles:
            write_text_atomic(tmp / "styles" / f"{style.name}.json", style.to_json())
        write_text_atomic(tmp / ckpt.CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True))
        ckpt.replace_directory(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
