"""The JSON API: ``/api/ask``, ``/api/facts``, ``/api/health``, ``/api/feedback``.

Errors are always ``{"error": "<message for the user>"}`` (422 bad input, 413 too long, 401 bad
token, 500 unexpected — logged with a request id, never a traceback). The endpoints are plain
``def`` so FastAPI runs ``bot.ask`` in its thread pool.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot.errors import ChatbotError, QuestionError
from chatbot.types import Citation

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
MAX_HISTORY_MESSAGES = 200


# ---- request / response models ------------------------------------------------------------------
class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: StrictStr


class AskRequest(BaseModel):
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
    question: StrictStr = Field(description="The question (1 to CHATBOT_MAX_QUESTION_CHARS characters after trimming).")
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


class FeedbackRequest(BaseModel):
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
    422: {"model": ErrorOut, "description": "Empty question, malformed JSON or wrong types."},
    500: {"model": ErrorOut, "description": "Unexpected error (logged with the request id)."},
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


def _internal(exc: BaseException, where: str) -> JSONResponse:
    rid = uuid.uuid4().hex[:12]
    log.error("%s failed (request %s)", where, rid, exc_info=exc)
    return _error(500, f"Internal error while answering; nothing was changed. Quote request id {rid} when reporting it.")


@router.post(
    "/ask",
    response_model=None,
    responses={200: {"model": AnswerOut, "description": "The answer (``Answer.to_dict()``)."}, **ERRORS, 413: {"model": ErrorOut, "description": "Question longer than CHATBOT_MAX_QUESTION_CHARS."}},
    summary="Answer a question, with citations",
)
def ask(body: AskRequest, request: Request) -> Any:
    bot = request.app.state.bot
    limit = bot.settings.max_question_chars
    if len(body.question.strip()) > limit:
        return _error(
            413,
            f"The question is {len(body.question.strip()):,} characters long; the limit is {limit:,} "
            "(CHATBOT_MAX_QUESTION_CHARS). Shorten it.",
        )
    history = [m.model_dump() for m in body.history or []]
    try:
        answer = bot.ask(body.question, history, documents=body.documents)
    except QuestionError as exc:
        return _error(422, str(exc))
    except ChatbotError as exc:
        log.warning("ask failed: %s", exc)
        return _error(503, str(exc))
    except Exception as exc:  # noqa: BLE001 - never leak internals to the client
        return _internal(exc, "ask")
    return answer.to_dict()


@router.get("/facts", summary="The structured facts table and the parsed tables with their checks")
def facts(request: Request) -> dict[str, Any]:
    db = request.app.state.bot.facts_db
    tables = []
    for t in db.tables:
        d = asdict(t)
        tables.append({k: d[k] for k in ("id", "doc_id", "caption", "columns", "labels", "cells", "checks") if k in d})
    return {"facts": [f.to_dict() for f in db.facts], "tables": tables}


@router.get("/health", summary="Index and model status")
def health(request: Request) -> dict[str, Any]:
    return request.app.state.bot.health()


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
        if e.get("type") == "missing" and where == "body":
            details.append("the request body is missing: send JSON such as {\"question\": \"...\"}")
        else:
            details.append(f"{where}: {msg}")
    return _error(422, "Invalid request: " + "; ".join(details) + ".")


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return _internal(exc, f"{request.method} {request.url.path}")


class BodyLimit:
    """Reject request bodies over ``limit`` bytes under /api/ with 413 before reading them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "/api/" in scope.get("path", ""):
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.limit):
                resp = _error(413, f"The request body is larger than {self.limit:,} bytes.")
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
            headers = dict(scope.get("headers") or [])
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
    app.add_middleware(BodyLimit)
    app.add_middleware(RefusedOriginLog)
