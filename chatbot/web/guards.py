"""ASGI guards in front of every route (API, embed page, Gradio UI), applied before the token check.

- ``BodyLimit``: the request body is counted while it streams in, chunked or not; past
  ``settings.max_body_bytes`` the client gets 413 and the rest is never read.
- ``RateLimit``: questions per client (``/api/ask`` and the Gradio queue) through a token bucket;
  past it, 429 with ``Retry-After``. Per process: with N workers a client may get up to N times it.
- ``MethodGuard``: a known ``/api/*`` path with the wrong method gets 405 with ``Allow``, an
  unknown one 404 (otherwise the Gradio app mounted at ``/`` would answer 404 ``{"detail"}``), and
  Gradio's file upload is refused (the UI uploads nothing).

What Gradio's own routes accept is checked by ``chatbot.web.gradio_guard``. Every refusal has the
API's error shape ``{"error": "..."}``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _relative_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class BodyTooLarge(Exception):
    """Raised from ``receive`` once the body passes the limit (the guard answers 413)."""


class BodyLimit:
    """413 for bodies over ``limit`` bytes: at once from ``Content-Length``, else while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _refuse(413, f"The request body is larger than {self.limit:,} bytes.", {"Connection": "close"})
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.limit):
            await too_large(scope, receive, send)
            return
        seen = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the interrupted body, the client gets the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await too_large(scope, receive, send)


class TokenBuckets:
    """``per_minute`` events per key with bursts of ``burst``; thread-safe, bounded in keys."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds to wait before the next event is allowed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


# Paths whose POSTs are questions: the JSON API and the Gradio queue (the UI's chat).
LIMITED_PATHS = ("/api/ask", "/gradio_api/queue/join", "/gradio_api/call/")


class RateLimit:
    def __init__(self, app: ASGIApp, per_minute: int, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute, burst) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is not None and scope["type"] == "http" and scope.get("method") == "POST":
            path = _relative_path(scope)
            if any(path == p or (p.endswith("/") and path.startswith(p)) for p in LIMITED_PATHS):
                client = scope.get("client") or ("unknown", 0)
                wait = self.buckets.take(str(client[0]))
                if wait > 0:
                    retry = str(max(1, math.ceil(wait)))
                    await _refuse(
                        429,
                        f"Too many questions from this address; try again in {retry} s "
                        "(CHATBOT_RATE_LIMIT_PER_MINUTE).",
                        {"Retry-After": retry},
                    )(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class MethodGuard:
    """405 in the API's shape for a known path with another method; Gradio uploads refused."""

    def __init__(self, app: ASGIApp, allowed: Mapping[str, Iterable[str]]) -> None:
        self.app = app
        self.allowed = {path: set(methods) | {"HEAD"} if "GET" in methods else set(methods) for path, methods in allowed.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = _relative_path(scope)
            methods = self.allowed.get(path.rstrip("/") or "/")
            if methods is not None and scope.get("method") not in methods | {"OPTIONS"}:
                allow = ", ".join(sorted(methods))
                await _refuse(405, f"{scope.get('method')} is not allowed here; use {allow}.", {"Allow": allow})(
                    scope, receive, send
                )
                return
            if methods is None and path.startswith("/api/"):  # else the Gradio app at / answers {"detail"}
                await _refuse(404, f"No such API endpoint: {path[:200]}.")(scope, receive, send)
                return
            if path.startswith("/gradio_api/upload"):
                await _refuse(403, "File uploads are not accepted by this server.")(scope, receive, send)
                return
        await self.app(scope, receive, send)
