"""The web app's JSON API through Starlette's test client, on the tiny checkpoint."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

import handwriting
from handwriting.web import requests as limits
from handwriting.web.app import create_app
from handwriting.writing.styles import load_user_styles


@pytest.fixture(scope="module")
def web_hand(tiny_checkpoint):
    """A hand of its own: saving a style through the app changes the hand's styles."""
    return handwriting.load(tiny_checkpoint)


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_USER_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


@pytest.fixture
def client(web_hand, user_dir):
    with TestClient(create_app(web_hand)) as client:
        yield client


def sample_strokes(chars: int = 4, points_per_char: int = 30, px_per_char: float = 40.0) -> list:
    """Handwriting as the page's canvas sends it: screen px (y down), [x, y, t] per point."""
    t = np.linspace(0, chars, chars * points_per_char)
    points = [[float(x * px_per_char + 20), float(80 - 30 * np.sin(2 * np.pi * x)), float(i / 60)]
              for i, x in enumerate(t)]
    return [points[: len(points) // 2], points[len(points) // 2:]]


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/app.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    assert "http" not in client.get("/static/app.js").text.replace("http://www.w3.org", "")  # no CDN


def test_styles_are_listed_with_their_sample(client):
    data = client.get("/api/styles").json()
    (toy,) = data["styles"]
    assert toy["name"] == "toy" and toy["kind"] == "shipped" and toy["text"]
    assert toy["preview"].startswith("<svg") and "<path" in toy["preview"]
    assert {"none", "default", "random"} <= set(data["reserved"])


def test_write_returns_lines_and_the_svg_of_hand_write(client, web_hand):
    body = {"text": "ab cd", "style": "toy", "bias": 1.0, "seed": 7, "color": "navy", "width": 2, "align": "left"}
    answer = client.post("/api/write", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["seed"] == 7 and data["texts"] == ["ab cd"] and data["style"] == "toy"
    expected = web_hand.write("ab cd", style="toy", bias=1.0, seed=7, color="navy", width=2,
                              max_line_chars=limits.DEFAULT_MAX_LINE_CHARS)
    assert data["svg"] == expected.svg()
    np.testing.assert_allclose(np.array(data["lines"][0]), expected.lines[0], atol=1e-3)
    assert client.post("/api/write", json=body).json()["lines"] == data["lines"]  # same seed, same drawing
    upright = client.post("/api/write", json={**body, "slant": 0}).json()
    expected = web_hand.write("ab cd", style="toy", bias=1.0, seed=7, slant=0, max_line_chars=limits.DEFAULT_MAX_LINE_CHARS)
    np.testing.assert_allclose(np.array(upright["lines"][0]), expected.lines[0], atol=1e-3)


def test_long_text_is_wrapped_into_lines(client):
    data = client.post("/api/write", json={"text": "ab cd ab cd ab", "max_line_chars": 5, "seed": 1}).json()
    assert data["texts"] == ["ab cd", "ab cd", "ab"] and len(data["lines"]) == 3


def test_downloads_are_the_files_the_cli_writes(client, web_hand):
    data = client.post("/api/write", json={"text": "bad", "seed": 3, "color": "#336699", "width": 2.5}).json()
    page = {k: data[k] for k in ("lines", "page_width", "page_height")} | {"color": "#336699", "width": 2.5}
    svg = client.post("/api/render", json=page | {"format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text == data["svg"]
    png = client.post("/api/render", json=page | {"format": "png"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    animated = client.post("/api/render", json=page | {"format": "animated-svg", "speed": 2})
    assert animated.status_code == 200 and "<animate" in animated.text
    assert 'filename="handwriting.png"' in png.headers["content-disposition"]


def test_a_page_of_paper_is_written_and_downloads_as_one_pdf(client, web_hand, tmp_path):
    body = {"text": "ab cd ab\n\ncd ab", "seed": 4, "page": "a5", "paper": "lined", "color": "navy",
            "margin": 5}
    answer = client.post("/api/write", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["unit"] == "mm" and data["page_width"] == 148 and data["ruling"]["kind"] == "lined"
    expected = web_hand.write(body["text"], seed=4, page="a5", paper="lined", color="navy", margin=5)
    assert len(data["pages"]) == len(expected.pages) and data["svg"] == expected.svg()
    pdf = client.post("/api/render", json={"pages": data["pages"], "format": "pdf", "color": "navy",
                                           "width": data["widths"][0]})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.content.count(b"/Type /Page\n") == len(expected.pages)
    bad = client.post("/api/write", json={**body, "page": "b9"})
    assert bad.status_code == 400 and "unknown page size" in bad.json()["error"]
    assert client.post("/api/write", json={"text": "ab", "paper": "grid"}).status_code == 400


def test_a_style_saved_on_the_page_is_used_at_once(client, user_dir):
    answer = client.post("/api/styles", json={"name": "mine", "text": "abcd", "strokes": sample_strokes()})
    assert answer.status_code == 201, answer.text
    assert answer.json()["kind"] == "yours" and answer.json()["preview"].startswith("<svg")
    assert (user_dir / "styles" / "mine.json").is_file() and "mine" in load_user_styles()
    listed = {s["name"]: s["kind"] for s in client.get("/api/styles").json()["styles"]}
    assert listed == {"toy": "shipped", "mine": "yours"}
    written = client.post("/api/write", json={"text": "dab", "style": "mine", "seed": 2})
    assert written.status_code == 200, written.text
    again = client.post("/api/styles", json={"name": "mine", "text": "abcd", "strokes": sample_strokes()})
    assert again.status_code == 409 and "exists already" in again.json()["error"]
    assert '"replace": true' in again.json()["error"] and "--force" not in again.json()["error"]
    replaced = client.post("/api/styles", json={"name": "mine", "text": "dcba", "strokes": sample_strokes(),
                                                 "replace": True})
    assert replaced.status_code == 201 and load_user_styles()["mine"].text == "dcba"


def test_a_style_of_yours_is_removed_and_a_shipped_one_is_not(client, user_dir):
    assert client.post("/api/styles", json={"name": "mine", "text": "abcd", "strokes": sample_strokes()}).status_code == 201
    assert client.delete("/api/styles/mine").json() == {"removed": "mine"}
    assert not (user_dir / "styles" / "mine.json").exists()
    assert [s["name"] for s in client.get("/api/styles").json()["styles"]] == ["toy"]
    gone = client.post("/api/write", json={"text": "ab", "style": "mine"})
    assert gone.status_code == 400 and "mine" in gone.json()["error"]
    missing = client.delete("/api/styles/mine")
    assert missing.status_code == 404 and "no style of yours is named 'mine'" in missing.json()["error"]
    shipped = client.delete("/api/styles/toy")
    assert shipped.status_code == 400 and "ships with the model" in shipped.json()["error"]


def test_requests_that_arrive_together_share_a_batch(web_hand, user_dir):
    app = create_app(web_hand)
    batcher = app.state.web.batcher
    texts = ["ab", "cd", "bad", "dab", "ace", "dead", "bead", "cab"]

    async def send_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*[http.post("/api/write", json={"text": t, "style": "toy"}) for t in texts])

    before = batcher.batches_written
    answers = asyncio.run(send_all())
    assert [a.status_code for a in answers] == [200] * len(texts)
    assert [a.json()["texts"] for a in answers] == [[t] for t in texts]
    assert batcher.batches_written - before < len(texts)  # some shared a sampler batch
    seeded = asyncio.run(_send_seeded(app))
    assert seeded[0] == seeded[1]  # a seeded request is written alone: the same drawing under load
    batcher.close()


async def _send_seeded(app) -> list:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answers = await asyncio.gather(*[http.post("/api/write", json={"text": t, "seed": 5, "style": "toy"})
                                         for t in ["ab", "ab", "cd", "dab"]])
    return [a.json()["lines"] for a in answers]


BIG_STROKE = [[[float(i), 0.0] for i in range(limits.MAX_SAMPLE_POINTS + 1)]]
GOOD_STROKES = sample_strokes()
RENDER_PAGE = {"lines": [[[0, 0, 0], [5, -5, 1]]], "page_width": 20, "page_height": 20}
MALFORMED = [
    ("/api/write", b"not json"),
    ("/api/write", b"[1, 2]"),
    ("/api/write", {}),
    ("/api/write", {"text": 5}),
    ("/api/write", {"text": ""}),
    ("/api/write", {"text": "   \n  "}),
    ("/api/write", {"text": "ab \u6f22\u5b57"}),
    ("/api/write", {"text": "a" * (limits.MAX_TEXT_CHARS + 1)}),
    ("/api/write", {"text": "ab\n" * (limits.MAX_LINES + 1)}),
    ("/api/write", {"text": "ab", "style": "nope"}),
    ("/api/write", {"text": "ab", "style": 5}),
    ("/api/write", {"text": "ab", "bias": "high"}),
    ("/api/write", {"text": "ab", "bias": -1}),
    ("/api/write", {"text": "ab", "bias": 1e9}),
    ("/api/write", {"text": "ab", "slant": "sideways"}),
    ("/api/write", {"text": "ab", "slant": 90}),
    ("/api/write", {"text": "ab", "slant": True}),
    ("/api/write", {"text": "ab", "seed": -1}),
    ("/api/write", {"text": "ab", "seed": 1.5}),
    ("/api/write", {"text": "ab", "seed": True}),
    ("/api/write", {"text": "ab", "align": "middle"}),
    ("/api/write", {"text": "ab", "color": "notacolour"}),
    ("/api/write", {"text": "ab", "width": 0}),
    ("/api/write", {"text": "ab", "max_line_chars": 0}),
    ("/api/write", {"text": "ab", "normalise_text": "yes"}),
    ("/api/write", b'{"text": "ab", "bias": NaN}'),
    ("/api/styles", {"name": "../../etc/passwd", "text": "ab", "strokes": GOOD_STROKES}),
    ("/api/styles", {"name": "sub/dir", "text": "ab", "strokes": GOOD_STROKES}),
    ("/api/styles", {"name": "none", "text": "ab", "strokes": GOOD_STROKES}),
    ("/api/styles", {"name": "toy", "text": "ab", "strokes": GOOD_STROKES}),
    ("/api/styles", {"name": "ok", "text": "ab", "strokes": "abc"}),
    ("/api/styles", {"name": "ok", "text": "ab", "strokes": [[["a", "b"]]]}),
    ("/api/styles", {"name": "ok", "text": "ab", "strokes": [[[0, 0], [1, 1]]]}),
    ("/api/styles", b'{"name": "ok", "text": "ab", "strokes": [[[0, NaN], [1, 1]]]}'),
    ("/api/styles", {"name": "ok", "text": "ab", "strokes": BIG_STROKE}),
    ("/api/styles", {"name": "ok", "text": "\u6f22", "strokes": GOOD_STROKES}),
    ("/api/styles", {"name": "ok", "strokes": GOOD_STROKES}),
    ("/api/render", {"lines": "x"}),
    ("/api/render", RENDER_PAGE | {"format": "tiff"}),
    ("/api/render", RENDER_PAGE | {"lines": [[[0, 0]]]}),
    ("/api/render", {"lines": RENDER_PAGE["lines"]}),
    ("/api/render", RENDER_PAGE | {"page_width": 1e9}),
    ("/api/render", RENDER_PAGE | {"lines": [None]}),
]


def test_malformed_requests_get_a_4xx_json_error_and_the_server_keeps_answering(client):
    assert len(MALFORMED) >= 30
    for path, body in MALFORMED:
        kwargs = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) \
            else {"json": body}
        answer = client.post(path, **kwargs)
        assert 400 <= answer.status_code < 500, (path, body if len(str(body)) < 200 else "...", answer.text)
        message = answer.json()["error"]
        assert message and "\n" not in message and "Traceback" not in message
    for method, path in [("get", "/api/nope"), ("put", "/api/write"), ("get", "/static/../app.py")]:
        answer = getattr(client, method)(path)
        assert 400 <= answer.status_code < 500
    assert not (limits.MAX_BODY_BYTES < 10)
    huge = client.post("/api/write", content=b"{" + b" " * (limits.MAX_BODY_BYTES + 1) + b"}",
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "too large" in huge.json()["error"]
    assert client.post("/api/write", json={"text": "ab", "seed": 1}).status_code == 200


def test_error_messages_name_the_problem(client):
    unknown = client.post("/api/write", json={"text": "ab \u6f22"}).json()["error"]
    assert "U+6F22" in unknown
    assert "nope" in client.post("/api/write", json={"text": "ab", "style": "nope"}).json()["error"]
    assert "reserved" in client.post("/api/styles", json={"name": "random", "text": "ab",
                                                          "strokes": GOOD_STROKES}).json()["error"]
    assert json.loads(client.get("/api/info").text)["max_text_chars"] == limits.MAX_TEXT_CHARS
