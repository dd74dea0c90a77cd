"""Latency of the web API with a warm server: one 40-character line, and 8 requests sent at once.

    python scripts/benchmark_web.py                 # starts `handwriting serve` on a free port
    python scripts/benchmark_web.py --url http://127.0.0.1:8000/   # measure a running server

Prints the median over ``--repeats`` rounds of: one seeded request (written alone), one unseeded
request, 8 unseeded requests sent together (they may share a sampler batch) and 8 seeded ones
(each written alone, one after another). Every scenario is run once before it is timed, so that
compilation (the TensorFlow sampler compiles one program per batch shape) is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

LINE = "Dear Ada, thank you for the lovely cake!"
CONCURRENT = 8
START_TIMEOUT_S = 300


def post(url: str, body: dict) -> float:
    """POST ``body`` to ``url + api/write``; return the seconds until the answer was read."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(url + "api/write", data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:
        json.loads(answer.read())
    return time.perf_counter() - start


def together(url: str, bodies: list[dict]) -> float:
    """Send ``bodies`` at once; seconds until the last answer."""
    start = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        list(pool.map(lambda b: post(url, b), bodies))
    return time.perf_counter() - start


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    env = dict(os.environ, PYTHONUNBUFFERED="1", HANDWRITING_USER_DIR=tempfile.mkdtemp())
    process = subprocess.Popen([sys.executable, "-m", "handwriting", "serve", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "serving on" not in open(log.name).read():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"handwriting serve did not start:\n{open(log.name).read()[-2000:]}")
        time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}/"


def measure(url: str, repeats: int) -> dict[str, float]:
    assert len(LINE) == 40, len(LINE)
    seeded = {"text": LINE, "seed": 1}
    unseeded = {"text": LINE}
    scenarios = {
        "one line, seeded": lambda: post(url, seeded),
        "one line, unseeded": lambda: post(url, unseeded),
        f"{CONCURRENT} at once, unseeded (may share a batch)": lambda: together(url, [unseeded] * CONCURRENT),
        f"{CONCURRENT} at once, seeded (each alone)": lambda: together(
            url, [dict(seeded, seed=i) for i in range(CONCURRENT)]),
    }
    results = {}
    for name, run in scenarios.items():
        run()  # warm-up: compilation for this batch shape
        results[name] = statistics.median(run() for _ in range(repeats))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--url", help="a running server (default: start `handwriting serve`)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per scenario (median)")
    args = parser.parse_args()
    process, url = (None, args.url.rstrip("/") + "/") if args.url else start_server()
    try:
        results = measure(url, args.repeats)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    one = results["one line, unseeded"]
    for name, seconds in results.items():
        print(f"{name:45s} {seconds:7.3f} s   ({seconds / one:4.1f} x one unseeded line)")


if __name__ == "__main__":
    main()
