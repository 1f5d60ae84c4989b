"""Helpers for the real-browser tests: the real app served by uvicorn on a free 127.0.0.1 port (in
a thread, around an already loaded ``Chatbot``), host pages on other origins, and UI shortcuts."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conftest import free_port

TIMEOUT = 20_000


class StaticSite:
    """A second origin: a tiny stdlib HTTP server serving fixed HTML pages by path."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.port = free_port()
        encoded = {path: html.encode() for path, html in pages.items()}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib API
                body = encoded.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serve(bot: Any, settings: Any, port: int | None = None, **create_kw: Any) -> Iterator[str]:
    """Run ``create_app(bot, settings)`` on a free port until the block ends; yields its URL."""
    import uvicorn

    from chatbot.web.server import create_app

    port = port or free_port()
    app = create_app(bot, settings.replace(port=port), token="", **create_kw)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


def ask_ui(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#cb-question textarea")
    box.fill(question)
    box.press("Enter")


def answers(page):  # type: ignore[no-untyped-def]
    return page.locator("#cb-chat .cb-answer:not(.cb-streaming)")


def last_answer(page):  # type: ignore[no-untyped-def]
    return answers(page).last


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()``/``rgba()`` colours (alpha ignored)."""

    def lum(css: str) -> float:
        parts = [float(x) for x in css[css.index("(") + 1 : css.index(")")].replace("/", ",").split(",")[:3]]
        lin = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
