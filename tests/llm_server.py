"""A small, real OpenAI-compatible chat-completions server for the LLM tests.

It listens on 127.0.0.1 (a free port), in a background thread, and speaks:

- ``POST /v1/chat/completions``: non-streaming (JSON ``chat.completion``) and streaming
  (``stream: true`` → ``text/event-stream`` of ``data: {chat.completion.chunk}`` events, then
  ``data: [DONE]``), with a usage chunk when ``stream_options.include_usage`` is set;
- ``GET /v1/models``.

Each test scripts the reply (``server.reply``: a text, or a function of the received messages,
or ``server.tokens`` for exact streaming tokens) and reads ``server.requests`` (method, path,
headers, JSON body) to check what the model was sent. Failure modes:

- ``mode = "hang"``: accept the connection and the request, then send nothing for ``hang_s``;
- ``mode = "error"``: answer with HTTP ``status`` and an OpenAI-style error body;
- ``token_delay_s``: seconds between streamed tokens (a slow, trickling model);
- ``first_token_gate``: after the first streamed token, wait (up to ``gate_wait_s``) for the
  test to set this event: proves tokens reach the caller while the model is still "generating";
- ``dead_url()``: a base URL on a port where nothing listens (connection refused).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conftest import free_port

Reply = str | Callable[[list[dict[str, Any]]], str]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        """Text of the first message with ``role`` ("system", "user", ...)."""
        for m in self.messages:
            if m.get("role") == role:
                c = m.get("content")
                if isinstance(c, list):  # content parts
                    return "".join(p.get("text", "") for p in c if isinstance(p, dict))
                return str(c)
        return ""


def split_tokens(text: str) -> list[str]:
    """Word-sized tokens that join back to ``text`` exactly."""
    return re.findall(r"\s*\S+\s*", text) or [text]


class ScriptedLLM:
    """The server's state: the scripted behaviour and the recorded requests."""

    def __init__(self, model: str = "test-model") -> None:
        self.model = model
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.reset()

    # ---- script ------------------------------------------------------------------------------
    def reset(self) -> None:
        self.reply: Reply = "NOT_IN_DOCUMENT"
        self.tokens: list[str] | None = None
        self.mode = "answer"  # "answer" | "hang" | "error"
        self.status = 500
        self.hang_s = 60.0
        self.token_delay_s = 0.0
        self.first_token_gate: threading.Event | None = None
        self.gate_wait_s = 5.0
        self.gate_opened: bool | None = None
        with self._lock:
            self.requests = []

    def reply_for(self, messages: list[dict[str, Any]]) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last(self) -> RecordedRequest:
        reqs = self.chat_requests
        assert reqs, "the LLM server received no chat request"
        return reqs[-1]

    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ScriptedLLM:
        handler = type("Handler", (_Handler,), {"llm": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False  # a hanging handler must not block shutdown
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="scripted-llm")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging / gated handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops; True when interrupted by the stop."""
        return self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    llm: ScriptedLLM
    protocol_version = "HTTP/1.0"  # one request per connection; a stream ends when it closes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        return

    # ---- helpers -----------------------------------------------------------------------------
    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        req = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.llm.record(req)
        return req

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _event(self, obj: dict[str, Any] | str) -> None:
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        self.wfile.write(f"data: {payload}\n\n".encode())
        self.wfile.flush()

    # ---- routes ------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._record()
        if self.path.rstrip("/").endswith("/v1/models"):
            self._json(200, {"object": "list", "data": [{"id": self.llm.model, "object": "model", "created": 0, "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        req = self._record()
        llm = self.llm
        if not self.path.rstrip("/").endswith("/v1/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if llm.mode == "hang":
            llm.sleep(llm.hang_s)  # the connection stays open and silent
            return
        if llm.mode == "error":
            self._json(llm.status, {"error": {"message": "scripted failure", "type": "server_error", "code": llm.status}})
            return
        text = llm.reply_for(req.messages)
        model = req.body.get("model", llm.model)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())
        if not req.body.get("stream"):
            self._json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            })
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        try:
            self._event(chunk({"role": "assistant", "content": ""}))
            tokens = list(llm.tokens) if llm.tokens is not None else split_tokens(text)
            for i, tok in enumerate(tokens):
                if i and llm.token_delay_s and llm.sleep(llm.token_delay_s):
                    return
                self._event(chunk({"content": tok}))
                if i == 0 and llm.first_token_gate is not None:
                    llm.gate_opened = llm.first_token_gate.wait(llm.gate_wait_s)
            self._event(chunk({}, "stop"))
            if (req.body.get("stream_options") or {}).get("include_usage"):
                self._event({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                             "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": len(tokens), "total_tokens": 10 + len(tokens)}})
            self._event("[DONE]")
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout): nothing to do


@contextmanager
def serve(model: str = "test-model") -> Iterator[ScriptedLLM]:
    """Run a ``ScriptedLLM`` for the duration of the block."""
    server = ScriptedLLM(model).start()
    try:
        yield server
    finally:
        server.stop()


def dead_url() -> str:
    """A base URL where nothing listens: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}/v1"
