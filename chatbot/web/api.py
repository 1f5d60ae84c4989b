"""The JSON API: ``/api/ask``, ``/api/facts``, ``/api/health``, ``/api/feedback``.

Errors are always ``{"error": "<message for the user>"}`` (422 bad input, 413 too long, 401 bad
token, 405 wrong method, 429 too many questions, 503 a backend cannot answer now or the time
budget ran out — with ``Retry-After``, 500 unexpected — logged with a request id, never a
traceback). ``bot.ask`` runs in the thread pool under ``CHATBOT_REQUEST_TIMEOUT_S``; a client that
disconnects stops the wait. The guards in ``chatbot.web.guards`` run before everything else.
"""

from __future__ import annotations

import hmac
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot.errors import ChatbotError, QuestionError
from chatbot.types import Citation
from chatbot.web.gradio_guard import GradioInputGuard
from chatbot.web.guards import BodyLimit, MethodGuard, RateLimit

log = logging.getLogger(__name__)

MAX_HISTORY_MESSAGES = 200
RETRY_AFTER_S = 5  # what a 503 asks clients to wait: about one index reload or Chroma restart


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


class TextModel(BaseModel):
    """Rejects unpaired surrogates (``"\\ud800"`` in JSON) in every text field, nested or not."""

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        if _has_surrogate(data):
            raise ValueError("contains characters that are not valid text (unpaired surrogates)")
        return data


# ---- request / response models ------------------------------------------------------------------
class Message(TextModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: StrictStr


class AskRequest(TextModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "question": "And the year after?",
                    "history": [
                        {"role": "user", "content": "What was the total in 2020?"},
                        {"role": "assistant", "content": "Total in 2020: $12.5M [1]."},
                    ],
                }
            ]
        },
    )
    question: StrictStr = Field(
        min_length=1, description="The question (1 to CHATBOT_MAX_QUESTION_CHARS characters after trimming)."
    )
    history: list[Message] | None = Field(
        default=None,
        max_length=MAX_HISTORY_MESSAGES,
        description=(
            "Earlier messages of the conversation, oldest first. Only the last CHATBOT_MAX_HISTORY_TURNS "
            f"messages are used; longer histories are trimmed (more than {MAX_HISTORY_MESSAGES} is rejected)."
        ),
    )
    documents: list[StrictStr] | None = Field(
        default=None,
        max_length=1000,
        description="Answer only from these documents (ids as in GET /api/health `documents`); omitted or empty: all.",
    )


class AnswerOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = Field(description="The answer with [n] citation markers.")
    citations: list[Citation]  # the core dataclass: quote == document[start:end]
    abstained: bool
    route: str
    notes: list[str]
    timings: dict[str, float]
    question: str
    standalone_question: str


class FeedbackRequest(TextModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(max_length=20_000)
    answer: StrictStr = Field(max_length=100_000)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    vote: Literal["up", "down", 1, -1] = Field(description='"up" / 1 (helpful) or "down" / -1 (not helpful)')
    comment: StrictStr = Field(default="", max_length=2_000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or wrong bearer token (only when a token is configured)."},
    405: {"model": ErrorOut, "description": "Wrong method for this path (the Allow header lists the right one)."},
    413: {"model": ErrorOut, "description": "Request body over CHATBOT_MAX_BODY_BYTES."},
    422: {"model": ErrorOut, "description": "Empty question, malformed JSON or UTF-8, wrong types, unpaired surrogates."},
    500: {"model": ErrorOut, "description": "Unexpected error (logged with the request id)."},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "A backend (vector store, index) cannot answer now, or the time budget ran out; see Retry-After.",
        "headers": {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    }
}


# ---- auth ------------------------------------------------------------------------------------------
def require_token(request: Request) -> None:
    token: str | None = request.app.state.api_token
    if not token:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise StarletteHTTPException(
            401, "A valid bearer token is required: send 'Authorization: Bearer <token>'.", {"WWW-Authenticate": "Bearer"}
        )


# ---- endpoints ---------------------------------------------------------------------------------------
router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], tags=["chat"])


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _unavailable(message: str) -> JSONResponse:
    return _error(503, message, {"Retry-After": str(RETRY_AFTER_S)})


def _internal(exc: BaseException, where: str) -> JSONResponse:
    rid = uuid.uuid4().hex[:12]
    log.error("%s failed (request %s)", where, rid, exc_info=exc)
    return _error(500, f"Internal error while answering; nothing was changed. Quote request id {rid} when reporting it.")


@router.post(
    "/ask",
    response_model=None,
    responses={
        200: {"model": AnswerOut, "description": "The answer (``Answer.to_dict()``)."},
        **ERRORS,
        **UNAVAILABLE,
        413: {"model": ErrorOut, "description": "Question longer than CHATBOT_MAX_QUESTION_CHARS, or body over CHATBOT_MAX_BODY_BYTES."},
        429: {
            "model": ErrorOut,
            "description": "Too many questions from this client (CHATBOT_RATE_LIMIT_PER_MINUTE); see Retry-After.",
            "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
        },
    },
    summary="Answer a question, with citations",
)
async def ask(body: AskRequest, request: Request) -> Any:
    bot = request.app.state.bot
    limit = bot.settings.max_question_chars
    if len(body.question.strip()) > limit:
        return _error(
            413,
            f"The question is {len(body.question.strip()):,} characters long; the limit is {limit:,} "
            "(CHATBOT_MAX_QUESTION_CHARS). Shorten it.",
        )
    history = [m.model_dump() for m in body.history or []]
    budget = bot.settings.request_timeout_s
    try:
        stop = threading.Event()
        answer = await run_bounded(request, lambda: bot.ask(body.question, history, documents=body.documents, cancel=stop), budget, stop)
    except QuestionError as exc:
        return _error(422, str(exc))
    except TimeoutError:
        log.warning("ask took longer than %.1f s: %r", budget, body.question[:200])
        return _unavailable(f"The question took longer than {budget:g} s (CHATBOT_REQUEST_TIMEOUT_S). Try again later or ask something more specific.")
    except ClientGone:
        return _error(499, "The client closed the connection.")
    except ChatbotError as exc:
        log.warning("ask failed: %s", exc)
        return _unavailable(str(exc))
    except Exception as exc:  # noqa: BLE001 - never leak internals to the client
        return _internal(exc, "ask")
    return answer.to_dict()


class ClientGone(Exception):
    """The client disconnected before the answer was ready."""


async def run_bounded(request: Request, work: Callable[[], Any], budget_s: float, stop: threading.Event | None = None) -> Any:
    """Run ``work`` in the thread pool; raise ``TimeoutError`` past ``budget_s`` and ``ClientGone``
    when the client disconnects first. The request is answered at once; the thread is told to stop
    (``stop`` is set: the chain stops at its next step) and its result is dropped."""
    outcome: dict[str, Any] = {}

    async def run(scope: anyio.CancelScope) -> None:
        try:
            outcome["value"] = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except Exception as exc:  # noqa: BLE001 - re-raised below, in the caller's context
            outcome["error"] = exc
        scope.cancel()

    async def watch(scope: anyio.CancelScope) -> None:
        while not await request.is_disconnected():
            await anyio.sleep(0.25)
        outcome["gone"] = True
        scope.cancel()

    with anyio.move_on_after(budget_s):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, tg.cancel_scope)
            tg.start_soon(watch, tg.cancel_scope)
    if stop is not None and "value" not in outcome and "error" not in outcome:
        stop.set()  # abandoned: the work stops at its next step instead of running on for nobody
    if "error" in outcome:
        raise outcome["error"]
    if "value" in outcome:
        return outcome["value"]
    if outcome.get("gone"):
        raise ClientGone
    raise TimeoutError


@router.get("/facts", summary="The structured facts table and the parsed tables with their checks")
def facts(request: Request) -> dict[str, Any]:
    db = request.app.state.bot.facts_db
    tables = []
    for t in db.tables:
        d = asdict(t)
        tables.append({k: d[k] for k in ("id", "doc_id", "caption", "columns", "labels", "cells", "checks") if k in d})
    return {"facts": [f.to_dict() for f in db.facts], "tables": tables}


@router.get(
    "/health",
    summary="Readiness: a tiny query through each backend (cached about a second)",
    responses={
        503: {
            "description": "A component failed (named in `failed`); the body has the same fields as 200.",
            "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
        }
    },
)
def health(request: Request) -> Any:
    state = {**request.app.state.bot.health(), "ui": getattr(request.app.state, "ui", "off")}
    if state.get("status") != "ok":
        return JSONResponse(state, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    return state


@router.post("/feedback", status_code=201, response_model=FeedbackOut, responses=ERRORS, summary="Store a thumbs up/down")
def feedback(body: FeedbackRequest, request: Request) -> Any:
    vote = 1 if body.vote in ("up", 1) else -1
    try:
        fid = request.app.state.feedback.add(body.question, body.answer, body.citations, vote, source="api", comment=body.comment)
    except Exception as exc:  # noqa: BLE001
        return _internal(exc, "feedback")
    return {"id": fid, "stored": True}


# ---- error handlers and guards ---------------------------------------------------------------------
def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(422, "The request body is not valid JSON. Send {\"question\": \"...\"} with Content-Type: application/json.")
    details = []
    for e in errors[:5]:
        where = _loc(e.get("loc", ()))
        msg = str(e.get("msg", "invalid value"))
        if e.get("type") == "string_too_short" and where == "question":
            details.append("the question is empty: type a question about the article")
        elif e.get("type") == "missing" and where == "body":
            details.append("the request body is missing: send JSON such as {\"question\": \"...\"}")
        else:
            details.append(f"{where}: {msg}")
    return _error(422, "Invalid request: " + "; ".join(details) + ".")


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI's "error parsing the body": invalid UTF-8, JSON nested too deep
        return _error(422, "The request body is not valid JSON text (UTF-8). Send {\"question\": \"...\"}.")
    return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return _internal(exc, f"{request.method} {request.url.path}")


class RefusedOriginLog:
    """Log once per origin a browser request from an origin that ``CHATBOT_CORS_ORIGINS`` does not
    allow, naming the setting. It sits inside the CORS middleware, which answers refused preflights
    itself; simple requests do arrive here: Gradio's GETs for ``<gradio-app>`` and the widget's
    probe (``POST /api/origin-check``), which the widget sends when its call was blocked."""

    MAX_REMEMBERED = 1000

    def __init__(self, app: ASGIApp, allowed: list[str] | None = None) -> None:
        self.app = app
        self.allowed = allowed
        self.logged: set[str] = set()

    def _allowed(self, scope: Scope) -> list[str]:
        if self.allowed is None:
            settings = getattr(scope.get("app"), "state", None)
            raw = getattr(getattr(settings, "settings", None), "cors_origins", "") or ""
            self.allowed = [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
        return self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/")
            if origin and origin != "null" and origin not in self.logged:
                host = headers.get(b"x-forwarded-host", headers.get(b"host", b"")).decode("latin-1")
                own = {f"{scheme}://{host}" for scheme in ("http", "https")}
                allowed = self._allowed(scope)
                if origin not in own and "*" not in allowed and origin not in allowed and len(self.logged) < self.MAX_REMEMBERED:
                    self.logged.add(origin)
                    log.warning(
                        "Refused browser requests from origin %s: it is not in CHATBOT_CORS_ORIGINS. To let pages "
                        "there use the widget or <gradio-app>, add it (comma-separated) and restart: "
                        "CHATBOT_CORS_ORIGINS=%s",
                        origin,
                        ",".join([*allowed, origin]),
                    )
        await self.app(scope, receive, send)


def origin_check() -> Response:
    """Target of the widget's probe after a blocked call: reaching it proves the server is up (and
    lets :class:`RefusedOriginLog` see the page's origin). Public, empty, never cached."""
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def install(app: FastAPI) -> None:
    """Add the API routes and the JSON error handlers to ``app``."""
    app.include_router(router)
    app.add_api_route("/api/origin-check", origin_check, methods=["POST"], include_in_schema=False)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
    settings = app.state.settings
    allowed: dict[str, set[str]] = {}
    for route in router.routes:
        allowed.setdefault(getattr(route, "path", ""), set()).update(getattr(route, "methods", set()))
    allowed["/api/origin-check"] = {"POST"}
    app.add_middleware(GradioInputGuard)  # innermost: what is left after the caps, rate and method checks
    app.add_middleware(RefusedOriginLog)
    app.add_middleware(MethodGuard, allowed=allowed)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outermost of the three: before anything reads
