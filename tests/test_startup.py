"""Start-up: what a fresh serving process loads, and that the shortcuts it takes give the same
objects as the long way (the currency table a build stores, spaCy without its CLI package, bm25s
without scipy). Timings are measured in eval/bench_cold.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chatbot.facts import currency
from chatbot.settings import PROJECT_ROOT, Settings


def test_the_stored_currency_table_is_the_derived_one() -> None:
    data = json.loads(json.dumps(currency.stored(), ensure_ascii=False))  # as a build writes and a load reads it
    assert currency.from_stored(data) == currency.currencies()
    assert currency.from_stored({**data, "key": "made by other code"}) is None
    assert currency.preload(data) is False  # the table is already in use in this process: nothing changes


PROBE = """
import json, sys
from chatbot.bot import Chatbot
from chatbot.understanding.nlp import pipeline
bot = Chatbot.load(warm=False)
answer = bot.ask("What were US exports to Azerbaijan in 2024?")
loaded = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("babel", "scipy", "torch")}
                | {m for m in sys.modules if m.startswith("spacy.cli")})
pipes = pipeline(bot.settings.spacy_model).pipe_names
import spacy.cli
print(json.dumps({"answer": answer.text, "loaded": loaded, "pipes": pipes, "cli": hasattr(spacy.cli, "app")}))
"""


@pytest.mark.slow
def test_a_fresh_process_answers_without_deriving_what_the_build_stored(bot, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Over a built index, a new process answers a figure question without Babel (the build's
    currencies.json), scipy or spaCy's CLI package; spaCy's config-disabled component is not
    loaded; `import spacy.cli` still gives the real package afterwards."""
    assert (bot.index.root / "currencies.json").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(
        CHATBOT_INDEX_DIR=str(settings.index_dir), CHATBOT_CORPUS_DIR=str(settings.corpus_dir),
        CHATBOT_DATA_DIR=str(settings.data_dir), CHATBOT_LOG_LEVEL="WARNING", HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["answer"] == bot.ask("What were US exports to Azerbaijan in 2024?").text
    assert out["loaded"] == []
    assert "senter" not in out["pipes"] and {"parser", "ner", "lemmatizer"} <= set(out["pipes"])
    assert out["cli"] is True
