"""The web app's adaptation job: one person's hand learnt in a background thread, one at a time.

``POST /api/adapt`` starts a job (:meth:`AdaptJobs.start`); while one runs, another is refused
at once with a "busy" answer (HTTP 409), never queued. ``GET /api/adapt`` reports the job's
state for the page's progress bar; when it is done the new style joins the hand's styles.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import inkio
from ..errors import HandwritingError
from ..resources import own_hand_sentences
from .requests import AdaptRequest, ApiError

IDLE, RUNNING, DONE, FAILED = "idle", "running", "done", "failed"

log = logging.getLogger("handwriting.web")


def sentences() -> list[str]:
    """The shipped sentences a person writes for "Learn my hand"."""
    return own_hand_sentences()


@dataclass
class JobState:
    """What ``GET /api/adapt`` reports."""

    state: str = IDLE
    name: str | None = None
    step: int = 0
    steps: int = 0
    error: str | None = None
    refused: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "name": self.name, "step": self.step, "steps": self.steps,
                "error": self.error, "refused": self.refused}


class AdaptJobs:
    """Runs at most one adaptation at a time in a thread of its own.

    ``on_done(style)`` is called (in the job's thread) with the new style when a job succeeds;
    ``config`` (an :class:`~handwriting.training.adapt.AdaptConfig`) holds the settings a request
    does not choose (default: its defaults).
    """

    def __init__(self, checkpoint: Path, on_done: Callable[[Any], None], config=None):
        from ..training.adapt import AdaptConfig

        self.config = config or AdaptConfig()
        self.checkpoint = checkpoint
        self.on_done = on_done
        self.status = JobState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, request: AdaptRequest) -> JobState:
        """Check the request's lines and start the job; :class:`ApiError` 409 while one runs."""
        from dataclasses import replace

        from ..tools.adaptation import Sample, checked_text
        from ..writing.hand import load_styles
        from ..writing.styles import check_style_name

        check_style_name(request.name, load_styles(self.checkpoint), force=request.replace)

        samples = []
        for i, (text, strokes) in enumerate(request.lines, 1):
            source = f"line {i}"
            samples.append(Sample(source, inkio.strokes_to_coords(strokes, source=source), checked_text(source, text)))
        config = replace(self.config, minutes=request.minutes or self.config.minutes,
                         steps=request.steps or self.config.steps, strength=request.strength or self.config.strength)
        with self._lock:
            if self.status.state == RUNNING:
                raise ApiError(f"busy: the hand {self.status.name!r} is being learnt (step {self.status.step} of "
                               f"{self.status.steps}); try again when it is done", 409)
            self.status = JobState(RUNNING, request.name, 0, config.steps)
            self._thread = threading.Thread(target=self._run, args=(request, samples, config), daemon=True,
                                            name="handwriting-adapt")
            self._thread.start()
            return self.status

    def learning(self, name: str) -> bool:
        """Whether the hand ``name`` is being learnt now."""
        with self._lock:
            return self.status.state == RUNNING and self.status.name == name

    def _run(self, request: AdaptRequest, samples: list, config) -> None:
        from ..tools.adaptation import adapt_style

        status = self.status

        def progress(step: int, steps: int, loss: float) -> None:
            status.step, status.steps = step, steps

        def checked(result) -> None:
            status.refused = [{"line": r.source, "text": r.text, "reason": r.reason} for r in result.refused]

        try:
            done = adapt_style(self.checkpoint, request.name, samples, config=config, force=request.replace,
                               progress=progress, on_checked=checked)
            self.on_done(done.style)
            status.state = DONE
        except HandwritingError as exc:
            status.error, status.state = str(exc), FAILED
        except Exception:  # a bug: log it, report it, keep serving
            log.exception("error while adapting %s", request.name)
            status.error, status.state = "internal error (see the server's log)", FAILED

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running job's thread (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
