"""Mounting the Gradio UI on the app: at once, or in the background once Gradio is imported.

Importing Gradio takes ~5 s here, longer than loading the index. With ``background=True`` the
server starts without it: the API, the embed page and the widget answer at once, ``/`` shows a
small page that reloads itself until the UI is there, and ``/api/health`` reports ``"ui":
"starting"`` then ``"ready"`` (or ``"failed"``, logged). The UI is then built in a worker thread,
mounted at ``/``, and Gradio's startup (its queue) is run, as ``gr.mount_gradio_app`` would at
startup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from chatbot.web.gradio_guard import GradioRules

log = logging.getLogger("chatbot.web")
UiState = Literal["off", "starting", "ready", "failed"]
STARTING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Document chat: starting</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 36rem; padding: 0 1rem">
<h1>Document chat is starting</h1><p role="status">The chat page will appear in a few seconds.
The API (<code>/api/ask</code>) already answers.</p></body></html>"""


def build(app: FastAPI, examples: list[str] | None) -> Any:
    """Import Gradio and build the UI's Blocks (slow: run it off the event loop when serving)."""
    from chatbot.web.ui import build_ui

    return build_ui(app.state.bot, app.state.settings, app.state.feedback, examples)


def mount(app: FastAPI, blocks: Any) -> Any:
    """Mount ``blocks`` at ``/`` (with Gradio's own loader at ``/gradio.js``); returns the Gradio app."""
    import gradio as gr

    from chatbot.web.server import ui_auth
    from chatbot.web.ui import CSS

    settings = app.state.settings
    gradio_js = Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js"
    if gradio_js.is_file():
        # Gradio's own web-component loader, so <gradio-app> needs no CDN (it imports ./assets/…).
        loader = gradio_js.read_text(encoding="utf-8")

        @app.get("/gradio.js", include_in_schema=False)
        def gradio_loader() -> Response:
            return Response(loader, media_type="application/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

    # What Gradio's routes accept, read from these Blocks (GradioInputGuard, installed by api.install)
    app.state.gradio_rules = GradioRules.from_blocks(blocks, text_cap=settings.max_question_chars, body_cap=settings.max_body_bytes)
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=ui_auth(settings),
        auth_message="Log in to use the document chat.",
        footer_links=["gradio", "settings"],
        run_history=False,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        css=CSS,
        theme=gr.themes.Soft(),
    )
    return app.routes[-1].app  # type: ignore[attr-defined]  # the Mount just added


def mount_now(app: FastAPI, examples: list[str] | None) -> None:
    mount(app, build(app, examples))
    app.state.ui = "ready"


def in_background(app: FastAPI, examples: list[str] | None) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan for ``app``: the starting page now, the UI when built (see the module doc)."""
    app.state.ui = "starting"

    @app.get("/", include_in_schema=False)
    def starting() -> HTMLResponse:
        return HTMLResponse(STARTING_PAGE, status_code=503, headers={"Retry-After": "2", "Cache-Control": "no-store"})

    placeholder = app.routes[-1]

    async def run_ui() -> None:
        try:
            blocks = await anyio.to_thread.run_sync(build, app, examples)
            gradio_app = mount(app, blocks)
        except Exception:  # noqa: BLE001 - the API keeps serving; the log says why
            log.exception("The web UI could not be started; the API keeps serving")
            app.state.ui = "failed"
            return
        app.router.routes.remove(placeholder)
        async with gradio_app.router.lifespan_context(gradio_app):
            gradio_app.get_blocks().run_startup_events()
            await gradio_app.get_blocks().run_extra_startup_events()
            app.state.ui = "ready"
            log.info("Web UI ready")
            await asyncio.Event().wait()  # until the server shuts down (cancelled)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_ui())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
