"""Training data: the dataset file format and one reader per source."""

from .format import (
    DATASET_VERSION,
    StrokeDataset,
    dataset_summary,
    load_dataset,
    save_dataset,
    split_by_writer,
)

__all__ = [
    "DATASET_VERSION",
    "StrokeDataset",
    "dataset_summary",
    "load_dataset",
    "save_dataset",
    "split_by_writer",
]
