"""``handwriting serve``: load the model once, warm it up, and serve the page with uvicorn."""

from __future__ import annotations

import argparse
import errno
import socket
import time
from pathlib import Path
from typing import Callable

from ..errors import HandwritingError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Written once before serving, so that the first request does not pay for compilation.
WARM_UP_TEXT = "Warm up the hand, 0123."


def check_port(host: str, port: int) -> None:
    """Fail with one line, before the model loads, when the address cannot be served."""
    if not 1 <= port <= 65535:
        raise HandwritingError(f"--port must be 1-65535, not {port}")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise HandwritingError(f"port {port} on {host} is in use: choose another with --port") from None
        raise HandwritingError(f"cannot serve on {host}:{port} ({exc.strerror or exc})") from None


def serve(checkpoint: Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          say: Callable[[str], None] = print) -> None:
    """Serve the page on ``http://host:port/`` until interrupted."""
    import uvicorn

    from ..writing.hand import load
    from .app import create_app

    check_port(host, port)
    start = time.perf_counter()
    hand = load(checkpoint)
    hand.write(WARM_UP_TEXT, seed=0)
    say(f"model loaded and warmed up in {time.perf_counter() - start:.1f} s")
    shown = f"[{host}]" if ":" in host else host

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: only now is the address worth printing
                say(f"handwriting: serving on http://{shown}:{port}/ (Ctrl-C stops)")

    Server(uvicorn.Config(create_app(hand), host=host, port=port, log_level="warning")).run()


def add_serve_command(sub: argparse._SubParsersAction) -> None:
    """The ``handwriting serve`` subcommand."""
    serve_parser = sub.add_parser("serve", help="a local web page: type, pick a hand, watch it write, download",
                                  description="Serve the web page and its JSON API (see the README) until Ctrl-C.")
    serve_parser.add_argument("--host", default=DEFAULT_HOST,
                              help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    serve_parser.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    serve_parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    serve(args.checkpoint, host=args.host, port=args.port)
    return 0
