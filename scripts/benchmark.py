#!/usr/bin/env python
"""Measure training and writing speed on this device; write JSON and print a table.

    python scripts/benchmark.py                                   # everything, default config
    python scripts/benchmark.py --skip-train                      # writing and cold start only
    python scripts/benchmark.py --config small --batches 32 --backends jax --skip-write
    python scripts/benchmark.py --backends tensorflow --skip-write --set intra_op_threads=0
    python scripts/benchmark.py --skip-train --backends tensorflow   # both sampler engines, one run

Each backend runs in its own processes (Keras fixes the backend at import): one measures the
device's large-matmul rate with the backend's default threads, one trains (with the config's
``intra_op_threads``), one writes (with each sampler engine of ``--engines``: one line, a batch
of lines, a 65-prompt file as ``write --input`` writes it, and cold starts of the package, of
``load()`` and of a whole ``handwriting write`` command). Every throughput comes with the fraction of that run's matmul
rate it reaches (formula in handwriting/benchmark.py and docs/performance.md), and every
writing figure the machine's pace measured around it (``MachinePace``: this shared machine's
speed moves by up to 1.8x within a minute). Speed is reported here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE_40 = "The quick brown fox jumps over a lazy cat"  # 41 characters
HELLO = "Hello, world! This is my handwriting."
#: The prompt file of the batch-mode measurement: the public prompts, then number prompts, 65 in all.
PROMPT_FILE_LINES = 65


def child(args) -> dict:
    """Run one part (``args.part``) of one backend's measurements (``KERAS_BACKEND`` is set by the parent).

    Parts run in separate processes because TensorFlow fixes its thread pools when it starts:
    training runs with the training config's ``intra_op_threads``, while the matmul rate and
    writing run with TensorFlow's defaults, as a user's process would.
    """
    from handwriting.tools import benchmark
    from handwriting.backend import import_backend
    from handwriting.config import apply_overrides, preset

    model_config, train_config = apply_overrides(*preset(args.config), args.overrides)
    if args.part == "write":
        # The NumPy engine is measured first and before any Keras import, as a user's process runs it.
        engines = sorted(args.engines, key=lambda e: e != "numpy")
        return {"backend": os.environ.get("KERAS_BACKEND", ""), "engines": [write_part(args, e) for e in engines]}
    if args.part == "train":
        from handwriting.training.optim import apply_thread_settings

        apply_thread_settings(train_config)
    import_backend()
    import keras

    out = {"backend": keras.backend.backend()}
    if args.part == "matmul":
        out["matmul_flops"] = benchmark.matmul_rate()
    elif args.part == "train":
        out["intra_op_threads"] = train_config.intra_op_threads
        cases = []
        for batch in args.batches:
            for loop in args.loops:
                cases.append(benchmark.TrainingCase(batch, args.points, loop, False))
                if args.xla and out["backend"] == "tensorflow":
                    cases.append(benchmark.TrainingCase(batch, args.points, loop, True))
        out["training"] = []
        for case in cases:
            r = benchmark.measure_training(model_config, train_config, case, args.steps)
            out["training"].append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    return out


def write_part(args, engine: str) -> dict:
    """One sampler engine's writing figures: one line, a batch, a 65-prompt file, cold starts."""
    import tempfile

    from handwriting.fileio import read_prompt_file
    from handwriting.tools import benchmark

    prompts = (read_prompt_file(ROOT / "data" / "prompts" / "public.txt")
               + read_prompt_file(ROOT / "data" / "prompts" / "numbers.txt"))[:PROMPT_FILE_LINES]
    with tempfile.TemporaryDirectory() as tmp:
        command = ["write", HELLO, "-o", str(Path(tmp) / "hello.svg")]
        result = {"writing": benchmark.measure_writing(args.checkpoint, LINE_40, args.write_batch, args.repeats,
                                                       engine=engine),
                  "prompt_file": benchmark.measure_prompt_file(args.checkpoint, prompts, engine),
                  "cold_start": benchmark.cold_start(args.checkpoint, engine, command)}
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def table(results: list[dict]) -> str:
    rows = ["| backend | what | batch | loop | XLA | points/s | s/step | FLOP/s | of matmul | machine pace |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for t in r.get("training", []):
            rows.append(f"| {r['backend']} | train {t['points']} pts | {t['batch_size']} | {t['loop']} | "
                        f"{'on' if t['jit_compile'] else 'off'} | {t['points_per_s']:,.0f} | {t['step_s']:.2f} | "
                        f"{t['flop_rate'] / 1e9:.1f} G | {t['fraction_of_matmul']:.1%} | - |")
        for e in r.get("engines", []):
            w, p, c = e["writing"], e["prompt_file"], e["cold_start"]
            engine = f"{w['engine']} engine"
            for name in ("one_line", "batch"):
                rows.append(_writing_row(r["backend"], f"{engine}: write {w[name]['lines']} x {w['line_chars']} chars",
                                         "step loop", w[name]))
            if "hand_write" in w:
                what = f"{engine}: hand.write of the line (default style, pieces, page)"
                rows.append(_writing_row(r["backend"], what, "-", w["hand_write"]))
            rows.append(_writing_row(r["backend"], f"{engine}: {p['prompts']} prompts (write --input, after start-up)",
                                     "-", p))
            rows.append(f"| {r['backend']} | {engine}: cold import {c['import_s']:.2f} s, import + load "
                        f"{c['import_and_load_s']:.2f} s, whole `handwriting {c['command'].split(' -o')[0]}` "
                        f"{c['command_s']:.2f} s | | | | | | | | |")
        rows.append(f"| {r['backend']} | matmul 2048 float32 | | | | | | {r['matmul_flops'] / 1e9:.1f} G | 100% | |")
    return "\n".join(rows)


def _writing_row(backend: str, what: str, loop: str, figure: dict) -> str:
    """One writing figure's row: points/s, seconds and the machine's pace ("-" in older results)."""
    pace = f"{figure['pace_us']:.1f} us" if "pace_us" in figure else "-"
    return (f"| {backend} | {what} | - | {loop} | - | {figure['points_per_s']:,.0f} | {figure['seconds']:.2f} s | "
            f"- | - | {pace} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--config", default="graves", help="config preset for training (default: graves)")
    parser.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override a config field, as in `handwriting train --set` (e.g. intra_op_threads=0)")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128], help="training batch sizes")
    parser.add_argument("--points", type=int, default=700, help="points per training line (default: 700)")
    parser.add_argument("--loops", nargs="+", default=["split", "fused"], help="training loop variants")
    parser.add_argument("--xla", action="store_true", help="also measure XLA (TensorFlow)")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per case (default: 3)")
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"], help="Keras backends to measure")
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"), help="model for writing")
    parser.add_argument("--write-batch", type=int, default=64, help="lines in the batched writing test")
    parser.add_argument("--engines", nargs="+", default=["numpy", "tensorflow"], choices=["numpy", "tensorflow"],
                        help="sampler engines to measure writing with (in the tensorflow backend's write process)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each writing test")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-write", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "runs" / "benchmark.json", help="results file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=["matmul", "train", "write"], default="matmul", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    from handwriting.config import apply_overrides, preset
    from handwriting.errors import HandwritingError

    try:
        apply_overrides(*preset(args.config), args.overrides)
    except HandwritingError as exc:
        print(f"benchmark.py: error: {exc}", file=sys.stderr)
        return 2
    results = []
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        given = sys.argv[1:] if argv is None else list(argv)
        parts = ["matmul"] + ([] if args.skip_train else ["train"])
        parts += [] if args.skip_write or backend != "tensorflow" else ["write"]
        print(f"measuring on {backend} ...", file=sys.stderr, flush=True)
        merged = {}
        for part in parts:
            command = [sys.executable, __file__, "--child", "--part", part, *given]
            done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
            if done.returncode != 0:
                print(f"{backend} {part}: failed (exit {done.returncode}); skipped", file=sys.stderr)
                continue
            merged.update(json.loads(done.stdout.strip().splitlines()[-1]))
        if "matmul_flops" not in merged:
            continue
        for r in merged.get("training", []):
            r["fraction_of_matmul"] = r["flop_rate"] / merged["matmul_flops"]
        results.append(merged)
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "argv": sys.argv[1:] if argv is None else argv, "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(table(results))
    print(f"wrote {args.json}")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
