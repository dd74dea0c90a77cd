"""A dataset folder's identity and records: the fingerprint, ``manifest.json``, and the output checks.

The fingerprint is a digest of everything the lines depend on: the config, the corpus' texts,
the styles' strokes, the model's files and the package version. It is written into the manifest
and into every shard, so that a re-run with the same inputs resumes (finished shards are kept)
and a folder that holds another dataset is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import HandwritingError
from ..fileio import write_text_atomic
from ..version import __version__
from .config import DatasetConfig
from .shards import existing_shards, shard_name, shard_state, DATA_DIR

MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
FORMAT = "handwriting-synthetic-lines"
FORMAT_VERSION = 1


def style_digests(styles: dict) -> dict[str, str | None]:
    """Per style name, a digest of its strokes and text (``None``: unprimed)."""
    return {name: None if style is None else hashlib.sha256(style.to_json().encode()).hexdigest()[:16]
            for name, style in sorted(styles.items())}


def identity(config: DatasetConfig, corpus_sha256: str, styles: dict, model_fingerprint: str) -> dict:
    """What the fingerprint is a digest of, as a JSON-ready dict."""
    return {"format_version": FORMAT_VERSION, "package_version": __version__, "config": config.to_dict(),
            "corpus_sha256": corpus_sha256, "styles": style_digests(styles), "model_fingerprint": model_fingerprint}


def fingerprint(ident: dict) -> str:
    """The dataset's fingerprint: a digest of :func:`identity`."""
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def manifest(ident: dict, *, corpus: dict, model: dict, complete: bool, stats: dict | None = None) -> dict:
    """The contents of ``manifest.json``."""
    config = DatasetConfig.from_dict(ident["config"])
    shards = [{"file": f"{DATA_DIR}/{shard_name(k, config.shards)}", "first": r.start, "lines": len(r)}
              for k in range(config.shards) for r in [config.shard_range(k)]]
    return {"format": FORMAT, "fingerprint": fingerprint(ident), **ident, "corpus": corpus, "model": model,
            "complete": complete, "stats": stats or {}, "shards": shards}


def write_manifest(directory: Path, contents: dict) -> None:
    write_text_atomic(Path(directory) / MANIFEST_FILE, json.dumps(contents, indent=1) + "\n")


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise HandwritingError(f"{path} is unreadable: is {directory} a dataset folder?") from None


def check_output(directory: Path, ident: dict) -> set[int]:
    """The shards of this dataset already finished in ``directory`` (empty for a new folder).

    Raises:
        HandwritingError: ``directory`` is a file, a non-empty folder that is no dataset, or holds
            another dataset's manifest or shards (named, with what differs).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise HandwritingError(f"cannot write a dataset to {directory}: it is not a folder")
    if not directory.exists():
        return set()
    ours = fingerprint(ident)
    found = read_manifest(directory)
    if found is None and any(not p.name.startswith(".") for p in directory.iterdir()):
        what = "Parquet shards of another dataset" if existing_shards(directory) else "other files"
        raise HandwritingError(f"{directory} holds {what} and no {MANIFEST_FILE}: give a new or empty folder")
    if found is not None and found.get("fingerprint") != ours:
        raise HandwritingError(f"{directory} holds another dataset's shards (made with a different "
                               f"{_difference(found, ident)}): give a new or empty folder")
    config = DatasetConfig.from_dict(ident["config"])
    expected = {shard_name(k, config.shards): k for k in range(config.shards)}
    finished = set()
    for path in existing_shards(directory):
        stamp, rows = shard_state(path)
        if path.name not in expected or (stamp is not None and stamp != ours):
            raise HandwritingError(f"{directory} holds another dataset's shard {DATA_DIR}/{path.name}: "
                                   "give a new or empty folder")
        k = expected[path.name]
        if stamp == ours and rows == len(config.shard_range(k)):
            finished.add(k)
    return finished


def _difference(found: dict, ident: dict) -> str:
    """What differs between a manifest and this run's identity, in a few words."""
    theirs, ours = found.get("config", {}), ident["config"]
    keys = [k for k in ours if theirs.get(k) != ours[k]]
    if keys:
        return "--" + ", --".join(k.replace("_", "-") for k in keys)
    named = {"corpus_sha256": "corpus", "styles": "styles", "model_fingerprint": "model",
             "package_version": "package version", "format_version": "format"}
    return ", ".join(v for k, v in named.items() if found.get(k) != ident[k]) or "fingerprint"


def remove_stale_temporaries(directory: Path) -> int:
    """Delete shards half-written by an interrupted run (hidden ``.*.tmp`` files); return how many."""
    folder = Path(directory) / DATA_DIR
    stale = list(folder.glob(".*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
