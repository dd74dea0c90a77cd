"""The web app's "Learn my hand": POST/GET /api/adapt on the tiny checkpoint."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

import handwriting
from handwriting.training.adapt import AdaptConfig
from handwriting.web.app import create_app

#: How long a test waits for a job at most.
WAIT_S = 120


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_USER_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def make_client(checkpoint, **config):
    # The tiny network cannot judge whether ink says its text: every line is accepted.
    fields = {"min_fit": -math.inf, "steps": 2, "learning_rate": 1e-2, **config}
    return TestClient(create_app(handwriting.load(checkpoint), AdaptConfig(**fields)))


def lines(n: int = 3) -> list[dict]:
    """``n`` lines as the page sends them: text and strokes in screen px (y down)."""
    out = []
    for k in range(n):
        t = np.linspace(0, 3, 60)
        points = [[float(x * 40 + 20), float(80 - 30 * np.sin(2 * np.pi * x + k)), float(i / 60)] for i, x in enumerate(t)]
        out.append({"text": ["abc", "bad", "cab"][k % 3], "strokes": [points[:30], points[30:]]})
    return out


def wait_done(client) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = client.get("/api/adapt").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError("the adaptation did not finish")


def test_a_hand_is_learnt_in_the_background_and_written_with(tiny_checkpoint, user_dir):
    with make_client(tiny_checkpoint) as client:
        idle = client.get("/api/adapt").json()
        assert idle["state"] == "idle" and len(idle["sentences"]) >= 3
        started = client.post("/api/adapt", json={"name": "mine", "lines": lines(), "strength": 0.5})
        assert started.status_code == 202 and started.json()["state"] == "running"
        state = wait_done(client)
        assert state["state"] == "done" and state["step"] == state["steps"] == 2, state
        styles = {s["name"]: s for s in client.get("/api/styles").json()["styles"]}
        assert styles["mine"]["kind"] == "yours"
        written = client.post("/api/write", json={"text": "ab", "style": "mine", "seed": 0})
        assert written.status_code == 200 and written.json()["lines"][0]
    (personal,) = (user_dir / "styles").glob("mine.*.adapt.npz")
    from handwriting.writing.personal import load_personal_model

    assert load_personal_model(personal, handwriting.load(tiny_checkpoint).sampler.config)[2]["strength"] == 0.5


def test_a_second_adaptation_is_told_busy(tiny_checkpoint, user_dir):
    with make_client(tiny_checkpoint, steps=1000, minutes=0.05) as client:
        assert client.post("/api/adapt", json={"name": "one", "lines": lines()}).status_code == 202
        second = client.post("/api/adapt", json={"name": "two", "lines": lines()})
        assert second.status_code == 409 and second.json()["error"].startswith("busy: the hand 'one'")
        assert wait_done(client)["state"] == "done"
        assert client.post("/api/adapt", json={"name": "two", "lines": lines()}).status_code == 202
        assert wait_done(client)["name"] == "two"


@pytest.mark.parametrize("body, status, message", [
    ({"name": "x", "lines": []}, 400, "'lines' must be a list"),
    ({"name": "x", "lines": [{"text": "ab"}]}, 400, "line 1: 'strokes'"),
    ({"name": "x", "lines": lines(), "minutes": 0}, 400, "'minutes'"),
    ({"name": "x", "lines": lines(), "strength": 1.5}, 400, "'strength' must be a number in (0, 1]"),
    ({"name": "none", "lines": lines()}, 400, "reserved"),
    ({"name": "x", "lines": [{**lines(1)[0], "text": "a~b"}] * 3}, 400, "line 1: characters outside the alphabet"),
])
def test_bad_adaptation_requests_are_refused_at_once(tiny_checkpoint, user_dir, body, status, message):
    with make_client(tiny_checkpoint) as client:
        answer = client.post("/api/adapt", json=body)
        assert answer.status_code == status and message in answer.json()["error"]
        assert client.get("/api/adapt").json()["state"] == "idle"


def test_too_few_usable_lines_fail_the_job_with_the_reason(tiny_checkpoint, user_dir):
    with make_client(tiny_checkpoint) as client:
        assert client.post("/api/adapt", json={"name": "mine", "lines": lines(2)}).status_code == 202
        state = wait_done(client)
        assert state["state"] == "failed" and "only 2 usable lines" in state["error"]
