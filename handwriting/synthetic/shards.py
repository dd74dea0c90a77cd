"""Parquet shards: the rows of a dataset, a shard of consecutive line ids each.

A shard is ``DIR/data/train-KKKKK-of-NNNNN.parquet`` (the names the Hugging Face Hub and
``datasets`` read as the ``train`` split). Its schema carries two metadata keys: ``huggingface``
(the image column is an ``Image`` feature, so ``datasets`` decodes it to a PIL image) and
:data:`FINGERPRINT_KEY` (the dataset the shard belongs to, :mod:`.manifest`). A shard is written
aside and renamed (:func:`~handwriting.fileio.write_bytes_atomic`), so a shard that exists is whole.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from ..errors import HandwritingError

#: Where the shards live inside a dataset folder.
DATA_DIR = "data"
SPLIT = "train"
#: The schema metadata key naming the dataset a shard belongs to.
FINGERPRINT_KEY = b"handwriting.dataset"
HF_FEATURES_KEY = b"huggingface"
#: Parquet compression: the PNG bytes are compressed already; the strokes and labels gain.
COMPRESSION = "zstd"
#: ``pip install`` hint when pyarrow is missing.
INSTALL_HINT = "pip install 'handwriting[scale]'"


def shard_name(shard: int, shards: int) -> str:
    return f"{SPLIT}-{shard:05d}-of-{shards:05d}.parquet"


def shard_path(directory: Path, shard: int, shards: int) -> Path:
    return Path(directory) / DATA_DIR / shard_name(shard, shards)


def import_pyarrow():
    """``pyarrow`` and ``pyarrow.parquet``, or a one-line error saying how to install them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise HandwritingError(f"datasets are written with pyarrow: {INSTALL_HINT}") from None
    return pyarrow, pyarrow.parquet


def schema(fingerprint: str):
    """The Arrow schema of a shard (see the dataset card, :mod:`.manifest`, for each column)."""
    pa, _ = import_pyarrow()
    fields = [
        ("id", pa.int64()), ("text", pa.string()),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("width", pa.int32()), ("height", pa.int32()),
        ("strokes", pa.list_(pa.list_(pa.float32(), 3))),
        ("style", pa.string()), ("bias", pa.float64()), ("slant", pa.float64()), ("seed", pa.int64()),
        ("ink", pa.string()), ("ink_width", pa.float64()), ("paper", pa.string()), ("paper_level", pa.int32()),
        ("blur", pa.float64()), ("noise", pa.float64()), ("render_seed", pa.int64()), ("hit_cap", pa.bool_()),
    ]
    features = {"info": {"features": {"image": {"_type": "Image"}}}}
    return pa.schema(fields, metadata={HF_FEATURES_KEY: json.dumps(features).encode(),
                                       FINGERPRINT_KEY: fingerprint.encode()})


def shard_bytes(rows: list[dict], fingerprint: str) -> bytes:
    """The Parquet file of ``rows`` (dicts keyed by column; ``image`` as PNG bytes)."""
    pa, pq = import_pyarrow()
    table = pa.Table.from_pylist([{**row, "image": {"bytes": row["image"], "path": None}} for row in rows],
                                 schema=schema(fingerprint))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=COMPRESSION)
    return buffer.getvalue()


def shard_state(path: Path) -> tuple[str | None, int]:
    """``(fingerprint, rows)`` of an existing shard; ``(None, 0)`` if it is not a readable shard."""
    _, pq = import_pyarrow()
    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError):
        return None, 0
    fingerprint = (metadata.metadata or {}).get(FINGERPRINT_KEY)
    return (fingerprint.decode() if fingerprint else None), metadata.num_rows


def existing_shards(directory: Path) -> list[Path]:
    """Every Parquet file in the dataset's data folder (hidden files, being written, aside)."""
    folder = Path(directory) / DATA_DIR
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")) if folder.is_dir() else []
