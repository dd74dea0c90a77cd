"""Lines per second of `handwriting dataset` on 1 and 2 local processes and a local Ray instance of 2 CPUs.

    python scripts/dataset_throughput.py --lines 600 --repeats 2

Each setup runs the command (the public prompts, every shipped style, the default variety) into
a fresh folder. The table gives the rate the command reports (its writing, from the first shard
to the last, worker start-up included), the CPU seconds per line of the command and its worker
processes and the cores they had on average (CPU seconds over wall seconds; not for Ray, whose
workers belong to the cluster), and the load average before each run: the development machine
is shared, so read the rates against it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str]) -> tuple[float, float, float]:
    """``(lines/s the command reports, CPU seconds it and its waited-for workers used, its wall seconds)``."""
    before, start = cpu_seconds_of_children(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    rate = float(re.search(r"\(([\d.]+) lines/s\)", done.stdout).group(1))
    return rate, cpu_seconds_of_children() - before, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=600)
    parser.add_argument("--shard-lines", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--texts", type=Path, default=ROOT / "data" / "prompts" / "public.txt")
    args = parser.parse_args()
    import ray

    address = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False).address_info["gcs_address"]
    base = [sys.executable, "-m", "handwriting", "dataset", "--texts", str(args.texts), "--lines", str(args.lines),
            "--shard-lines", str(args.shard_lines)]
    setups = {"1 process": ["--workers", "1"], "2 processes": ["--workers", "2"], "Ray, 2 CPUs": ["--ray", address]}
    run(base + ["-o", tempfile.mkdtemp() + "/warm", "--ray", address])  # the cluster's workers started
    print("| setup | run | load average before | lines/s | CPU s/line | cores used (CPU s / wall s) |\n"
          "|---|---|---|---|---|---|")
    for repeat in range(args.repeats):
        for name, flags in setups.items():
            load = os.getloadavg()[0]
            rate, cpu, wall = run(base + flags + ["-o", tempfile.mkdtemp() + "/ds"])
            ray_run = "--ray" in flags
            cpu_text = "- | -" if ray_run else f"{cpu / args.lines:.4f} | {cpu / wall:.2f}"
            print(f"| {name} | {repeat + 1} | {load:.1f} | {rate:.1f} | {cpu_text} |", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
