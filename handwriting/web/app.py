"""The local web app (``handwriting serve``): a page and the JSON API it uses, on Starlette.

Routes (all JSON errors are ``{"error": "one line"}`` with a 4xx status):

- ``GET /``: the page (``static/index.html``, its script and style ship in the package).
- ``GET /api/styles``: ``{"default", "reserved", "styles": [{"name", "text", "kind", "preview"}]}``;
  ``kind`` is ``shipped`` or ``yours``, ``preview`` an SVG of the style's own sample.
- ``POST /api/write``: ``{"text", "style", "bias", "seed", "max_line_chars", "align", "color",
  "width", "line_height", "page_width", "margin", "normalise_text", "page", "paper", "neat"}``
  (only ``text`` required; ``page``: ``a4``, ``letter``, ``a5`` or ``WxHmm`` writes on sheets of
  paper, as ``handwriting write --page``) -> ``{"texts", "lines", "page_width", "page_height",
  "svg", "seed", "hit_cap", "pages": [{"lines", "texts", "page_width", "page_height", "unit",
  "ruling"}], ...}``; the top-level page is the first.
- ``POST /api/render``: ``{"pages": [...]}`` as ``/api/write`` returned them (or one page's
  fields at the top level) plus ``format`` (``svg``, ``png``, ``animated-svg`` of the first page;
  ``pdf`` of them all) and ``speed`` -> the file, exactly as ``handwriting write`` writes it.
- ``POST /api/styles``: ``{"name", "text", "strokes": [[[x, y, t?], ...], ...], "replace"}`` ->
  201 and the new style; processed as ``handwriting style add`` does and saved where it saves.
- ``DELETE /api/styles/NAME``: removes the user's style ``NAME`` (its sample and personal model),
  as ``handwriting style remove`` does -> ``{"removed"}``; 400 for a shipped style, 404 for no
  such style of the user's, 409 while that hand is being learnt.
- ``POST /api/adapt``: ``{"name", "lines": [{"text", "strokes"}], "minutes", "steps", "strength", "replace"}`` ->
  202 and the job's state: the network learns the hand in the background, as ``handwriting style
  add --adapt`` does (:mod:`.adapting`); 409 "busy" while another adaptation runs.
- ``GET /api/adapt``: ``{"state": idle|running|done|failed, "name", "step", "steps", "error",
  "refused", "sentences"}``; the sentences are those the page asks a person to write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import inkio
from ..errors import HandwritingError
from ..strokes import offsets_to_coords
from ..version import __version__
from ..output import render
from ..output.pdf import pdf_bytes
from ..writing.hand import RESERVED_STYLE_NAMES, Drawing, Hand, Style, load_styles, text_lines
from ..writing.styles import StyleExistsError, remove_user_style, save_user_style
from .adapting import AdaptJobs, sentences
from .batcher import WriteBatcher
from .requests import (
    MAX_BODY_BYTES,
    MAX_LINES,
    MAX_SEED,
    MAX_TEXT_CHARS,
    AdaptRequest,
    ApiError,
    RenderRequest,
    ruling_json,
    StyleRequest,
    WriteRequest,
    parse_json,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Preview of a style's sample on the page.
PREVIEW_COLOR = "#222"
PREVIEW_WIDTH = 1.5
MEDIA_TYPES = {"svg": "image/svg+xml", "animated-svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}
#: Write options that a sheet of paper sets itself (its margin comes in mm with the sheet).
SHEET_SETS = ("max_line_chars", "align", "page_width", "margin")
EXTENSIONS = {"svg": "svg", "animated-svg": "svg", "png": "png", "pdf": "pdf"}

log = logging.getLogger("handwriting.web")
#: matplotlib's pyplot (PNG rendering) is not thread-safe.
_PNG_LOCK = threading.Lock()

Handler = Callable[[Request], Awaitable[Response]]


def json_error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def api(handler: Handler) -> Handler:
    """Answer every problem of a request as a JSON error: never a crash, never a traceback."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_error(str(exc), exc.status)
        except StyleExistsError as exc:
            return json_error(f'style {exc.name!r} exists already (send "replace": true to replace it)', 409)
        except HandwritingError as exc:
            return json_error(str(exc), 400)
        except Exception:  # a bug: log it, answer, keep serving
            log.exception("error while answering %s %s", request.method, request.url.path)
            return json_error("internal error (see the server's log)", 500)

    return wrapped


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, refusing bodies over ``MAX_BODY_BYTES`` before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(f"the body is too large: at most {MAX_BODY_BYTES} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(f"the body is too large: at most {MAX_BODY_BYTES} bytes", 413)
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


def float32_rows(coords: np.ndarray) -> list[list[float]]:
    """``[N, 3]`` coords as JSON numbers that read back as the same float32 values (shortest form),
    so that ``/api/render`` draws exactly what ``/api/write`` wrote."""
    return [[float(str(v)) for v in row] for row in np.asarray(coords, np.float32)]


def page_json(page) -> dict[str, Any]:
    """One page (coords in its unit, y up, as ``Page.lines``) as ``/api/render`` reads it back."""
    return {
        "texts": list(page.texts),
        "lines": [None if c is None else float32_rows(c) for c in page.lines],
        "page_width": float(page.width),
        "page_height": float(page.height),
        "unit": page.unit,
        "ruling": ruling_json(page.ruling),
        "colors": list(page.colors),
        "widths": [float(w) for w in page.widths],
    }


def drawing_json(drawing: Drawing, seed: int | None) -> dict[str, Any]:
    """What ``/api/write`` answers for one drawing: its first page's fields, every page, the SVG."""
    pages = [page_json(page) for page in drawing.pages]
    return {**pages[0], "pages": pages, "svg": drawing.svg(), "seed": seed,
            "hit_cap": [bool(h) for h in drawing.hit_cap]}


class WebApp:
    """The app's state: one hand, its writer thread, the styles' previews."""

    def __init__(self, hand: Hand, adapt_config=None):
        self.hand = hand
        self.batcher = WriteBatcher(hand)
        self.shipped = set(load_styles(hand.checkpoint)) if hand.checkpoint else set(hand.styles)
        self._previews: dict[tuple[str, int], str] = {}
        self.jobs = AdaptJobs(hand.checkpoint, self._learnt, adapt_config) if hand.checkpoint else None

    def _learnt(self, style: Style) -> None:
        self.hand.styles = {**self.hand.styles, style.name: style}  # one swap: writers see old or new

    def preview(self, style: Style) -> str:
        """An SVG of a style's own sample, cached."""
        key = (style.name, id(style))
        if key not in self._previews:
            coords = offsets_to_coords(style.offsets)
            coords[:, :2] *= self.hand.px_per_unit
            page = render.Page.fit([coords], color=PREVIEW_COLOR, width=PREVIEW_WIDTH)
            self._previews[key] = render.svg_text(page)
        return self._previews[key]

    def style_json(self, name: str, style: Style) -> dict[str, Any]:
        kind = "shipped" if name in self.shipped else "yours"
        return {"name": name, "text": style.text, "kind": kind, "preview": self.preview(style)}

    async def list_styles(self, request: Request) -> Response:
        styles = dict(self.hand.styles)
        items = await run_in_threadpool(lambda: [self.style_json(n, s) for n, s in sorted(styles.items())])
        items.sort(key=lambda item: item["kind"] != "shipped")  # shipped first, each group by name
        return JSONResponse({"default": self.hand.default_style, "reserved": sorted(RESERVED_STYLE_NAMES),
                             "styles": items})

    async def info(self, request: Request) -> Response:
        return JSONResponse({"version": __version__, "checkpoint": str(self.hand.checkpoint),
                             "default_bias": self.hand.default_bias, "max_text_chars": MAX_TEXT_CHARS,
                             "max_lines": MAX_LINES, "max_body_bytes": MAX_BODY_BYTES})

    async def write(self, request: Request) -> Response:
        req = WriteRequest.parse(await read_json(request))
        lines = text_lines(req.text, normalise_text=req.options["normalise_text"],
                           max_line_chars=None if req.sheet else req.options["max_line_chars"])
        if len(lines) > MAX_LINES:
            raise ApiError(f"the text makes {len(lines)} lines, at most {MAX_LINES}", 413)
        self.hand.style(req.options["style"], req.seed)  # an unknown style fails before waiting
        if req.sheet is None:
            drawing, seed = await asyncio.wrap_future(self.batcher.submit(req.text, req.seed, req.options))
        else:
            seed = req.seed if req.seed is not None else int(np.random.default_rng().integers(MAX_SEED))
            options = {k: v for k, v in req.options.items() if k not in SHEET_SETS}
            drawing = await asyncio.wrap_future(self.batcher.call(
                lambda hand: hand.write(req.text, seed=seed, **req.sheet, **options)))
        payload = await run_in_threadpool(drawing_json, drawing, seed)
        payload["style"] = req.options["style"]
        return JSONResponse(payload)

    async def render(self, request: Request) -> Response:
        req = RenderRequest.parse(await read_json(request))
        if req.format == "png":
            def png() -> bytes:
                with _PNG_LOCK:
                    return render.png_bytes(req.page)

            body: bytes | str = await run_in_threadpool(png)
        elif req.format == "pdf":
            body = await run_in_threadpool(pdf_bytes, req.pages)
        elif req.format == "animated-svg":
            body = await run_in_threadpool(render.animated_svg_text, req.page, req.speed)
        else:
            body = await run_in_threadpool(render.svg_text, req.page)
        name = f"handwriting.{EXTENSIONS[req.format]}"
        return Response(body, media_type=MEDIA_TYPES[req.format],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def add_style(self, request: Request) -> Response:
        req = StyleRequest.parse(await read_json(request))
        coords = inkio.strokes_to_coords(req.strokes, source="the sample")
        _path, style = await run_in_threadpool(
            lambda: save_user_style(self.hand.checkpoint, req.name, coords, req.text, force=req.replace))
        self.hand.styles = {**self.hand.styles, req.name: style}  # one swap: writers see old or new
        return JSONResponse(self.style_json(req.name, style), status_code=201)

    async def remove_style(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in self.shipped:
            raise ApiError(f"style {name!r} ships with the model and cannot be removed", 400)
        if self.jobs is not None and self.jobs.learning(name):
            raise ApiError(f"busy: the hand {name!r} is being learnt; remove it when that is done", 409)
        try:
            await run_in_threadpool(remove_user_style, name)
        except HandwritingError as exc:
            raise ApiError(str(exc), 404) from exc
        self.hand.styles = {k: v for k, v in self.hand.styles.items() if k != name}  # one swap, as when added
        return JSONResponse({"removed": name})

    async def start_adapt(self, request: Request) -> Response:
        if self.jobs is None:
            raise ApiError("this server's model has no checkpoint directory to adapt", 400)
        req = AdaptRequest.parse(await read_json(request))
        state = await run_in_threadpool(self.jobs.start, req)
        return JSONResponse(state.to_dict(), status_code=202)

    async def adapt_state(self, request: Request) -> Response:
        state = self.jobs.status.to_dict() if self.jobs is not None else {"state": "idle"}
        return JSONResponse({**state, "sentences": sentences()})

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return json_error(exc.detail or "error", exc.status_code)


def create_app(hand: Hand, adapt_config=None) -> Starlette:
    """The web app around a loaded hand; its writer thread stops when the app shuts down.
    ``adapt_config``: the adaptation settings of ``POST /api/adapt`` (default: the defaults)."""
    web = WebApp(hand, adapt_config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        await run_in_threadpool(web.batcher.close)

    routes = [
        Route("/", web.page),
        Route("/api/info", api(web.info)),
        Route("/api/styles", api(web.list_styles), methods=["GET"]),
        Route("/api/styles", api(web.add_style), methods=["POST"]),
        Route("/api/styles/{name}", api(web.remove_style), methods=["DELETE"]),
        Route("/api/write", api(web.write), methods=["POST"]),
        Route("/api/render", api(web.render), methods=["POST"]),
        Route("/api/adapt", api(web.start_adapt), methods=["POST"]),
        Route("/api/adapt", api(web.adapt_state), methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error})
    app.state.web = web
    return app
