"""What a checkpoint records of the data it was trained on: each source's name, licence, DOI,
attribution and terms, read from the dataset's metadata (``data_source``).

A source the project knows (UNIPEN) is completed from its current record here, so that a
release made from an older dataset file still carries every field (such as ``terms``).
"""

from __future__ import annotations

from .unipen import SOURCE as UNIPEN_SOURCE

#: Sources by name, with their full record.
KNOWN_SOURCES = {UNIPEN_SOURCE["name"]: UNIPEN_SOURCE}


def provenance_of(dataset) -> dict | None:
    """``{"sources": [...]}`` for a dataset with a ``data_source`` record, else ``None``."""
    sources = dataset.metadata.get("data_source")
    if sources is None:
        return None
    sources = sources if isinstance(sources, list) else [sources]
    return {"sources": [{**source, **KNOWN_SOURCES.get(source.get("name"), {})} for source in sources]}
