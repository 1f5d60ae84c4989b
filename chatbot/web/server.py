"""One server: FastAPI carrying the JSON API, the embed page, the widget script and the Gradio UI.

    from chatbot.web.server import create_app, serve
    app = create_app(bot, settings)      # an already loaded Chatbot (tests pass theirs)
    serve(settings)                      # load the bot once, warm it, run uvicorn

``uvicorn --factory chatbot.web.server:build_app`` works too (settings from the environment).
``serve(settings, workers=N)`` (``chatbot serve --workers N``) builds the index once if needed, then
runs N uvicorn worker processes on one port, each loading the index read-only through ``build_app``.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot.settings import Settings
from chatbot.web import api, ui_mount
from chatbot.web.feedback import FeedbackStore
from chatbot.web.protocol import PROTOCOL, HTTPProtocol

if TYPE_CHECKING:
    from chatbot.bot import Chatbot

log = logging.getLogger("chatbot.web")
STATIC = Path(__file__).parent / "static"
WARM_QUESTION = "What is this document about?"

# The embed page runs only its own script and talks only to its own origin.
EMBED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'"
)


def prepare_environment(settings: Settings) -> None:
    """Gradio settings that must be in place before ``import gradio``."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if "GRADIO_TEMP_DIR" not in os.environ:
        tmp = Path(settings.data_dir) / "gradio-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        os.environ["GRADIO_TEMP_DIR"] = str(tmp)


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]


def api_token(settings: Settings) -> str | None:
    value = os.environ.get(settings.api_token_env, "").strip() if settings.api_token_env else ""
    return value or None


def ui_auth(settings: Settings) -> tuple[str, str] | None:
    if not settings.ui_auth:
        return None
    user, sep, password = settings.ui_auth.partition(":")
    if not sep or not user or not password:
        from chatbot.errors import ConfigError

        raise ConfigError("CHATBOT_UI_AUTH must look like 'user:password'.")
    return user, password


class RootPathPrefix:
    """With root path ``/chat``, accept both ``/chat/...`` (direct access or a proxy that keeps the
    prefix) and ``/...`` (a proxy that strips it): the prefix is moved from ``path`` to
    ``root_path`` so routes, OpenAPI and Gradio's URLs all see the same public prefix."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.prefix and scope["type"] in ("http", "websocket"):
            root = scope.get("root_path", "")
            path = scope.get("path", "")
            rel = path[len(root) :] if root and path.startswith(root) else path
            if rel == self.prefix or rel.startswith(self.prefix + "/"):
                scope = dict(scope)
                scope["root_path"] = self.prefix
                scope["path"] = self.prefix + (rel[len(self.prefix) :] or "/")
                scope["raw_path"] = quote(scope["path"]).encode()
            elif not root:
                scope = dict(scope)
                scope["root_path"] = self.prefix
                scope["path"] = self.prefix + path
                scope["raw_path"] = quote(scope["path"]).encode()
        await self.app(scope, receive, send)


def create_app(
    bot: Chatbot,
    settings: Settings | None = None,
    *,
    ui: bool | Literal["background"] = True,
    token: str | None = None,
    feedback: FeedbackStore | None = None,
    examples: list[str] | None = None,
) -> FastAPI:
    """The whole web app around a loaded ``Chatbot``. ``token`` overrides the env var named by
    ``settings.api_token_env``; ``ui=False`` leaves out Gradio (API, embed and widget only);
    ``ui="background"`` serves at once and mounts the UI when Gradio is imported (``ui_mount``)."""
    settings = settings or bot.settings
    prepare_environment(settings)
    from chatbot.bot import version

    app = FastAPI(
        title="Document chatbot API",
        version=version(),
        description=(
            "Question answering over the indexed document, with checkable citations. "
            "Errors are JSON `{\"error\": \"...\"}`. When the environment variable named by "
            "CHATBOT_API_TOKEN_ENV is set, every /api/* call needs `Authorization: Bearer <token>`."
        ),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.bot = bot
    app.state.settings = settings
    app.state.api_token = token if token is not None else api_token(settings)
    app.state.feedback = feedback or FeedbackStore.in_dir(settings.data_dir)
    app.state.gradio_rules = None  # set below with the UI
    api.install(app)
    # Always installed (even with no origin listed) so that this allow-list, not Gradio's own
    # localhost-only middleware, decides cross-origin access for the API and the UI alike.
    origins = cors_origins(settings)
    if settings.root_path.strip("/"):
        app.add_middleware(RootPathPrefix, prefix=settings.root_path)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],  # the origins are trusted; Gradio's client sends its own headers
        allow_credentials=False,
        max_age=600,
    )

    title = ", ".join(d.title or d.doc_id for d in bot.index.documents.values()) or "the document"
    embed_page = (STATIC / "embed.html").read_text(encoding="utf-8").replace("{{TITLE}}", html.escape(f"Ask: {title}", quote=True))
    widget_js = (STATIC / "widget.js").read_text(encoding="utf-8")

    @app.get("/embed", response_class=HTMLResponse, include_in_schema=False)
    def embed() -> HTMLResponse:
        return HTMLResponse(embed_page, headers={"Content-Security-Policy": EMBED_CSP, "X-Content-Type-Options": "nosniff"})

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response(
            widget_js,
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    app.state.ui = "off"
    if ui == "background":
        app.router.lifespan_context = ui_mount.in_background(app, examples)
    elif ui:
        ui_mount.mount_now(app, examples)
    return app


def load_bot(settings: Settings) -> Any:
    """Load the Chatbot once (building the index when missing); the whole chain is warmed by one
    question in the background, so the server answers as soon as the index is loaded (a question
    arriving meanwhile waits only for the part it needs, e.g. the spaCy pipeline)."""
    import threading

    from chatbot.bot import Chatbot

    t0 = time.perf_counter()
    bot = Chatbot.load(settings, warm=True)
    bot.watch_index()  # a new index/current (chatbot index --rebuild) is loaded in the background
    log.info("chatbot loaded in %.1f s", time.perf_counter() - t0)

    def warm() -> None:
        try:
            bot.ask(WARM_QUESTION)
        except Exception:  # noqa: BLE001 - warming is best effort
            log.warning("warm-up question failed", exc_info=True)
        log.info("chatbot warmed %.1f s after the start of its load", time.perf_counter() - t0)

    threading.Thread(target=warm, name="warm-chain", daemon=True).start()
    return bot


def build_app(settings: Settings | None = None) -> FastAPI:
    """App factory for ``uvicorn --factory chatbot.web.server:build_app``."""
    settings = settings or Settings.from_env()
    _configure_logging(settings)
    prepare_environment(settings)
    HTTPProtocol.configure(settings.header_timeout_s)  # this worker's connections
    return create_app(load_bot(settings), settings, ui="background" if settings.ui else False)


def public_url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    host = host or settings.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port or settings.port}{settings.root_path.rstrip('/')}/"


def _configure_logging(settings: Settings) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("chatbot").setLevel(settings.log_level)
    for noisy in ("httpx", "bm25s", "sentence_transformers", "chromadb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as a ``CHATBOT_*`` variable: how worker processes receive this process's settings."""
    return settings.to_env()


def build_index_apart(settings: Settings) -> None:
    """Build the index in a child process when it is missing or stale, so that the serving process
    never imports torch (the ONNX export needs it; answering does not). A corrupt index that looks up
    to date is still caught, and rebuilt, by the load itself."""
    import subprocess
    import sys

    from chatbot.errors import ChatbotError, IndexBuildError
    from chatbot.index import IndexManager

    mgr = IndexManager(settings)
    try:
        ok, reason = mgr.status()  # manifest and corpus hash only
    except ChatbotError as exc:  # the corpus cannot be read: a build would fail the same way
        if mgr.current_build() is None:
            raise
        log.error("Cannot read the corpus (%s); serving the last good index %s.", exc, mgr.current_build())
        return
    if ok:
        return
    log.info("Building the index (%s) in a separate process", reason)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chatbot.cli", "index"],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        failure = (proc.stderr or proc.stdout).strip()
        if mgr.current_build() is None:
            raise IndexBuildError(f"Building the index failed: {failure[-2000:]}")
        log.error("Building the index failed (%s); serving the last good index %s.",
                  failure.splitlines()[-1][:300] if failure else "no output", mgr.current_build())
        return
    log.info("Index built in %.1f s", time.perf_counter() - t0)


def serve_workers(settings: Settings, workers: int) -> None:
    """N worker processes on one port (uvicorn's supervisor). A missing or stale index is built
    first, once, so that workers never race to build it; each worker then loads it read-only."""
    import uvicorn

    _configure_logging(settings)
    prepare_environment(settings)
    build_index_apart(settings)
    os.environ.update(settings_env(settings))
    log.info("Document chat starting on %s with %d workers", public_url(settings), workers)
    uvicorn.run(
        "chatbot.web.server:build_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        root_path=settings.root_path.rstrip("/"),
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,  # in-flight requests finish first
        timeout_keep_alive=settings.keep_alive_timeout_s,
        http=PROTOCOL,  # its timeout is set in each worker by build_app
    )


def serve(settings: Settings, workers: int | None = None) -> None:
    """Load the bot, build the app and run uvicorn until interrupted. Logs the URLs once listening.
    ``workers`` (default ``settings.workers``) above 1 runs that many processes (``serve_workers``)."""
    import uvicorn

    workers = settings.workers if workers is None else workers
    if workers < 1:
        from chatbot.errors import ConfigError

        raise ConfigError(f"--workers / CHATBOT_WORKERS must be 1 or more (got {workers}).")
    if workers > 1:
        serve_workers(settings, workers)
        return
    _configure_logging(settings)
    prepare_environment(settings)
    build_index_apart(settings)
    bot = load_bot(settings)
    app = create_app(bot, settings, ui="background" if settings.ui else False)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        root_path=settings.root_path.rstrip("/"),
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,  # in-flight requests finish first
        timeout_keep_alive=settings.keep_alive_timeout_s,
        http=HTTPProtocol,
    )
    HTTPProtocol.configure(settings.header_timeout_s)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            url = public_url(settings)
            log.info(
                "Document chat ready: %s  (API docs %sdocs, embed page %sembed, widget %swidget.js)", url, url, url, url
            )
            if app.state.api_token:
                log.info("/api/* requires a bearer token (from $%s)", settings.api_token_env)
        await task

    asyncio.run(run())
