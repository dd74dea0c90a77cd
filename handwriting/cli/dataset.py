"""``handwriting dataset``: a synthetic handwriting dataset (line images, strokes, labels) in Parquet shards."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def add_dataset(sub: argparse._SubParsersAction) -> None:
    from ..dataclass_args import add_dataclass_arguments
    from ..synthetic.config import DatasetConfig

    parser = sub.add_parser(
        "dataset", help="write a synthetic handwriting dataset (Parquet shards) for training recognisers",
        description="Write LINES lines of handwriting from a text corpus: per line a grayscale PNG of fixed height, "
                    "the strokes, the transcription and what made it, in Parquet shards with a manifest and a "
                    "dataset card. A re-run with the same options resumes.")
    parser.add_argument("--texts", type=Path, required=True, help="the corpus: a UTF-8 text file, one line of text per line")
    parser.add_argument("--lines", type=int, required=True, help="lines in the dataset")
    parser.add_argument("-o", "--output", type=Path, required=True, help="dataset folder (new, empty, or this dataset's)")
    parser.add_argument("--checkpoint", help="checkpoint directory or shipped model name (default: the shipped model)")
    parser.add_argument("--skip-bad-lines", action="store_true",
                        help="skip (and count) corpus lines that cannot be written, instead of stopping")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"local worker processes, each with its own model (default: the CPUs, {_usable_cpus()} "
                             "here); with --ray, the CPUs of a cluster started here")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run one Ray task per shard: no ADDRESS joins this machine's cluster or starts one, "
                             "'auto' joins the current cluster, HOST:PORT a remote one, 'local' starts a new one "
                             "(pip install 'handwriting[scale]')")
    add_dataclass_arguments(parser, DatasetConfig, exclude=("lines",))
    parser.set_defaults(run=_run_dataset)


def _run_dataset(args: argparse.Namespace) -> int:
    from ..dataclass_args import dataclass_from_arguments
    from ..errors import HandwritingError
    from ..synthetic.config import DatasetConfig
    from ..synthetic.prepare import prepare_job
    from ..synthetic.runner import make_dataset
    from ..synthetic.shards import import_pyarrow

    if args.workers is not None and args.workers < 1:
        raise HandwritingError(f"--workers must be at least 1, not {args.workers}")
    use_ray = args.ray is not None
    if use_ray:
        from ..synthetic.ray_backend import import_ray

        import_ray()
    import_pyarrow()
    config = dataclass_from_arguments(DatasetConfig, args, lines=args.lines)
    prepared = prepare_job(config, args.texts, checkpoint=args.checkpoint, skip_bad_lines=args.skip_bad_lines)
    skipped = prepared.corpus["skipped"]
    if skipped:
        print(f"skipped {skipped} corpus line(s) that cannot be written: {_numbers(prepared.corpus['skipped_lines'])}",
              file=sys.stderr)
    workers = args.workers or (None if use_ray else _usable_cpus())
    command = "handwriting " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["dataset"] else "handwriting dataset"
    result = make_dataset(prepared, args.output, workers=workers, use_ray=use_ray,
                          ray_address=args.ray or None, command=command)
    if not result.written:
        print(f"nothing to write: {result.kept} shard(s) already there in {args.output}")
        return 0
    kept = f", {result.kept} already there" if result.kept else ""
    print(f"wrote {result.lines} lines in {result.written} shard(s){kept} to {args.output} in {result.seconds:.1f} s"
          f" ({result.lines_per_second:.1f} lines/s)")
    return 0


def _numbers(numbers: list[int], shown: int = 10) -> str:
    text = ", ".join(f"line {n}" for n in numbers[:shown])
    return text + (f" and {len(numbers) - shown} more" if len(numbers) > shown else "")
