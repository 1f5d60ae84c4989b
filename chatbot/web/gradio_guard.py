"""Gradio's routes accept what the chat UI's own Blocks send, and nothing else.

The rules are read from the Blocks that ``ui.build_ui`` made, never written by hand: each
dependency's ``fn_index``, whether it is queued, its ``api_name`` and visibility, its input
components (a ``Textbox``'s ``max_length``, a ``Dropdown``'s or ``Radio``'s choices, a ``State``
the browser always sends as ``null``, the JSON type of a ``gr.api`` parameter) and whether its
function takes event data. From those:

- ``POST /gradio_api/queue/join``: a queued ``fn_index`` and a session hash;
- ``POST /gradio_api/run/<name>``: with ``fn_index`` (how the page sends its unqueued events, as
  ``run/predict``) an unqueued function; without, a named one;
- ``POST /gradio_api/call/<name>`` and ``call/v2/<name>``: a named (public) function;
- ``POST /gradio_api/cancel`` and ``reset``: small JSON; every other POST under ``/gradio_api/``
  (uploads included) is refused.

Each body is read up to the largest size its function can need (a question of ``max_length``
characters and a few ids: a few KB; the scriptable ``ask``, which takes a history: the API's
``max_body_bytes``), must be UTF-8 JSON without unpaired surrogates, and its ``data`` must fit
the function's inputs. Refusals are 4xx in the API's ``{"error"}`` shape, where Gradio itself
would answer 500 (an unknown ``fn_index`` or name, undecodable bytes, arguments it cannot map).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/gradio_api/"
ENVELOPE_BYTES = 2048  # fn_index, trigger_id, session_hash, event_data: null and the JSON around them
SMALL_BODY_BYTES = 4096  # cancel / reset: an event id, a session hash, an fn_index
SESSION_HASH = re.compile(r"[A-Za-z0-9_-]{1,64}")
JSON_CHAR_BYTES = 6  # the most one character can take in JSON text (``\\u00XX``)

InputKind = Literal["state", "text", "choice", "schema", "any"]
MISSING = object()  # an optional keyword argument left out of a ``call/v2`` body


@dataclass(frozen=True)
class InputRule:
    """What one input component accepts in ``data``."""

    kind: InputKind
    max_chars: int = 0
    choices: tuple[Any, ...] = ()
    multiselect: bool = False
    schema: Mapping[str, Any] = field(default_factory=dict)
    max_bytes: int = 0

    def problem(self, value: Any) -> str:
        if value is MISSING:
            return ""
        if self.kind == "state":
            return "" if value is None else "a state value is kept by the server; send null"
        if self.kind == "text":
            if value is None:
                return ""
            if not isinstance(value, str):
                return "expected text"
            return f"longer than {self.max_chars:,} characters" if len(value) > self.max_chars else ""
        if self.kind == "choice":
            values = value if self.multiselect and isinstance(value, list) else [value]
            return "" if all(v is None or v in self.choices for v in values) else "not one of the choices"
        if self.kind == "schema":
            return "" if _fits(value, self.schema) else f"expected {json.dumps(self.schema)[:120]}"
        return ""


@dataclass(frozen=True)
class FnRule:
    """One dependency of the Blocks, as the guard sees it."""

    fn_index: int
    queued: bool
    named: bool  # callable by its api_name (public or undocumented), not only by fn_index from the page
    inputs: tuple[InputRule, ...]
    params: tuple[str, ...]  # the parameter names ``call/v2`` maps keywords to
    required: int  # inputs without a default (the page always sends all of them)
    event_data: bool  # the function reads gr.EventData (a like, a select): the page sends some
    max_body: int

    def data_problem(self, data: Any, by_name: bool) -> str:
        if not isinstance(data, list):
            return "'data' must be a list"
        least = self.required if by_name else len(self.inputs)
        if not least <= len(data) <= len(self.inputs):
            want = f"{least}–{len(self.inputs)}" if least != len(self.inputs) else str(least)
            return f"'data' has {len(data)} values; this function takes {want}"
        for i, (rule, value) in enumerate(zip(self.inputs, data, strict=False)):
            problem = rule.problem(value)
            if problem:
                return f"'data'[{i}]: {problem}"
        return ""


def _input_rule(component: Any, api_type: Mapping[str, Any] | None, text_cap: int, body_cap: int) -> InputRule:
    import gradio as gr

    if isinstance(component, gr.State):
        return InputRule("state", max_bytes=4)
    if isinstance(component, gr.Dropdown | gr.Radio) and component.choices and not getattr(component, "allow_custom_value", False):
        values = tuple(value for _label, value in component.choices)
        multiselect = bool(getattr(component, "multiselect", False))
        width = max(len(json.dumps(v)) for v in values) + 2
        return InputRule("choice", choices=values, multiselect=multiselect,
                         max_bytes=width * (len(values) if multiselect else 1))
    if isinstance(component, gr.Textbox | gr.Button):
        chars = getattr(component, "max_length", None) or text_cap
        return InputRule("text", max_chars=chars, max_bytes=JSON_CHAR_BYTES * chars + 2)
    if api_type:
        return InputRule("schema", schema=api_type, max_bytes=body_cap)
    return InputRule("any", max_bytes=body_cap)


def _takes_event_data(fn: Any) -> bool:
    from gradio.events import EventData
    from gradio.utils import get_type_hints

    hints = get_type_hints(fn) if callable(fn) else {}
    return any(inspect.isclass(h) and issubclass(h, EventData) for h in hints.values())


@dataclass(frozen=True)
class GradioRules:
    fns: Mapping[int, FnRule]
    names: Mapping[str, FnRule]
    body_cap: int

    @classmethod
    def from_blocks(cls, blocks: Any, *, text_cap: int, body_cap: int) -> GradioRules:
        """``text_cap``: the longest text for a text input with no ``max_length`` of its own;
        ``body_cap``: the most any body may take (the API's ``max_body_bytes``)."""
        endpoints = blocks.get_api_info(all_endpoints=True)["named_endpoints"]
        fns: dict[int, FnRule] = {}
        names: dict[str, FnRule] = {}
        for index, dep in blocks.fns.items():
            endpoint = endpoints.get(f"/{dep.api_name}") if dep.api_name else None
            params = (endpoint or {}).get("parameters", [])
            api_types = [p.get("type") for p in params] if len(params) == len(dep.inputs) else [None] * len(dep.inputs)
            inputs = tuple(_input_rule(c, t, text_cap, body_cap) for c, t in zip(dep.inputs, api_types, strict=True))
            event_data = _takes_event_data(dep.fn)
            size = ENVELOPE_BYTES + sum(r.max_bytes for r in inputs) + (body_cap if event_data else 0)
            rule = FnRule(
                fn_index=int(index),
                queued=bool(dep.queue),
                named=endpoint is not None,
                inputs=inputs,
                params=tuple(p.get("parameter_name", "") for p in params),
                required=sum(1 for p in params if not p.get("parameter_has_default")) if params else len(inputs),
                event_data=event_data,
                max_body=min(size, body_cap),
            )
            fns[rule.fn_index] = rule
            if rule.named:
                names[str(dep.api_name)] = rule
        return cls(fns=fns, names=names, body_cap=body_cap)

    # ---- per route ----------------------------------------------------------------------------
    def route(self, path: str) -> tuple[str, str] | None:
        """``(kind, name)`` for a Gradio POST route the UI may use, None for any other."""
        rest = path[len(PREFIX) :].rstrip("/")
        if rest in ("queue/join", "cancel", "reset"):
            return rest, ""
        for kind in ("call/v2/", "call/", "run/", "api/"):
            if rest.startswith(kind) and "/" not in rest[len(kind) :]:
                return kind.rstrip("/").replace("api", "run"), rest[len(kind) :]
        return None

    def read_cap(self, kind: str, name: str) -> int:
        """The most bytes worth reading for this route before the function is known."""
        if kind in ("cancel", "reset"):
            return SMALL_BODY_BYTES
        if kind.startswith("call") or (kind == "run" and name in self.names and name != "predict"):
            rule = self.names.get(name)
            return rule.max_body if rule else 0
        candidates = [r.max_body for r in self.fns.values() if r.queued == (kind == "queue/join")]
        if kind == "run":
            candidates += [r.max_body for r in self.names.values() if not r.queued]
        return max(candidates, default=0)

    def problem(self, kind: str, name: str, body: Any, size: int) -> tuple[int, str] | None:
        """Why Gradio should not see this (already parsed) body, as ``(status, message)``."""
        if kind in ("cancel", "reset"):
            return None if isinstance(body, dict) else (422, "Expected a JSON object.")
        if not isinstance(body, dict):
            return 422, "Expected a JSON object."
        session = body.get("session_hash")
        if session is not None and not (isinstance(session, str) and SESSION_HASH.fullmatch(session)):
            return 422, "'session_hash' must be 1–64 letters, digits, '-' or '_'."
        if kind == "call/v2":
            rule = self.names.get(name)
            if rule is None:
                return 404, "No such UI function."
            unknown = sorted(set(body) - set(rule.params) - {"oauth_token"})
            if unknown:
                return 422, f"Unknown argument(s) {', '.join(map(repr, unknown))[:200]}; this function takes {', '.join(rule.params)}."
            missing = [p for p in rule.params[: rule.required] if p not in body]
            if missing:
                return 422, f"Missing argument(s): {', '.join(missing)}."
            return self._check(rule, [body.get(p, MISSING) for p in rule.params], size, by_name=True)
        fn_index = body.get("fn_index")
        if kind == "queue/join" or (kind == "run" and fn_index is not None):
            if not isinstance(fn_index, int) or isinstance(fn_index, bool):
                return 422, "'fn_index' must be the integer of one of the UI's functions."
            rule = self.fns.get(fn_index)
            if rule is None or rule.queued != (kind == "queue/join"):
                return 422, f"Unknown fn_index {fn_index} for this route."
            if kind == "queue/join" and session is None:
                return 422, "'session_hash' is required."
            return self._check(rule, body.get("data"), size, by_name=rule.named)
        rule = self.names.get(name)  # call/<name>, or run/<name> without fn_index
        if rule is None or (kind == "run" and rule.queued):
            return 404, "No such UI function."
        if fn_index is not None and fn_index != rule.fn_index:
            return 422, f"'fn_index' {fn_index!r} is not the function named {name!r}."
        return self._check(rule, body.get("data"), size, by_name=True)

    @staticmethod
    def _check(rule: FnRule, data: Any, size: int, by_name: bool) -> tuple[int, str] | None:
        if size > rule.max_body:
            return 413, f"The request body is larger than this function accepts ({rule.max_body:,} bytes)."
        problem = rule.data_problem(data, by_name)
        return (422, problem) if problem else None


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """The subset of JSON Schema that Gradio's API info uses for ``gr.api`` parameters."""
    if "oneOf" in schema or "anyOf" in schema:
        return any(_fits(value, s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    kind = schema.get("type")
    if kind is None:
        return True
    checks: dict[str, Any] = {
        "null": lambda v: v is None,
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "array": lambda v: isinstance(v, list) and all(_fits(x, schema.get("items", {})) for x in v),
        "object": lambda v: isinstance(v, dict) and all(
            _fits(x, schema.get("properties", {}).get(k, schema.get("additionalProperties") or {}))
            for k, x in v.items()
        ),
    }
    kinds = kind if isinstance(kind, list) else [kind]
    return any(checks.get(k, lambda v: True)(value) for k in kinds)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _refuse(status: int, message: str) -> JSONResponse:
    headers = {"Connection": "close"} if status == 413 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class GradioInputGuard:
    """Checks every POST to ``/gradio_api/`` against the rules in ``app.state.gradio_rules`` (set
    when the UI is built; until then, and without a UI, Gradio's routes are not there to reach)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _relative_path(scope) if scope["type"] == "http" else ""
        rules: GradioRules | None = getattr(getattr(scope.get("app"), "state", None), "gradio_rules", None)
        if rules is None or scope.get("method") != "POST" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        route = rules.route(path)
        if route is None:
            await _refuse(404, "No such UI endpoint.")(scope, receive, send)
            return
        kind, name = route
        cap = rules.read_cap(kind, name)
        if cap == 0:
            await _refuse(404, "No such UI function.")(scope, receive, send)
            return
        body = await _read(receive, cap)
        if body is None:
            await _refuse(413, f"The request body is larger than this route accepts ({cap:,} bytes).")(scope, receive, send)
            return
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            await _refuse(422, "The request body must be JSON in UTF-8.")(scope, receive, send)
            return
        if _has_surrogate(parsed):
            await _refuse(422, "The request contains characters that are not valid text (unpaired surrogates).")(scope, receive, send)
            return
        refusal = rules.problem(kind, name, parsed, len(body))
        if refusal is not None:
            await _refuse(*refusal)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or None once it passes ``cap`` bytes (the rest is never read)."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client left; an empty body is refused as not JSON
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _relative_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
