"""The command line over the real index: index, search, facts, ask, settings, and its errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from chatbot.cli import main


@pytest.fixture()
def cli_env(bot, settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Point the CLI at the session's already-built index."""
    monkeypatch.setenv("CHATBOT_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("CHATBOT_CORPUS_DIR", str(settings.corpus_dir))
    return settings


def test_index_up_to_date(cli_env, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["index"]) == 0
    assert "up to date, nothing to do" in capsys.readouterr().out


def test_search_json(cli_env, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["search", "trade turnover table", "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert {"passage_id", "section", "start", "end", "score", "text"} <= set(hits[0])
    assert any(h["kind"] == "table" for h in hits)


def test_facts_csv_and_json(cli_env, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["facts", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert any(r["kind"] == "table" and r["period"] == "2024" for r in rows)
    assert main(["facts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tables"][0]["checks"]
    assert main(["facts"]) == 0
    assert "check:" in capsys.readouterr().out


def test_ask_json(cli_env, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["ask", "What were imports in 2023?", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert "888.1" in ans["text"] and ans["citations"][0]["quote"].startswith("2023")


def test_ask_errors_are_one_line(cli_env, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["ask", "   "]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The question is empty") and "Traceback" not in err


def test_bad_setting_names_the_variable(cli_env, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHATBOT_TOP_K", "many")
    assert main(["ask", "What were imports in 2023?"]) == 2
    assert "CHATBOT_TOP_K" in capsys.readouterr().err


def test_settings_lists_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "CHATBOT_CHROMA_URL" in out and "CHATBOT_LLM_BASE_URL" in out


def test_bad_log_level_and_missing_files_are_one_line(cli_env, monkeypatch, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHATBOT_LOG_LEVEL", "LOUD")
    assert main(["settings"]) == 2
    assert "CHATBOT_LOG_LEVEL" in capsys.readouterr().err
    monkeypatch.delenv("CHATBOT_LOG_LEVEL")
    assert main(["eval", "--set", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_chat_keeps_history_and_resets(cli_env, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    lines = iter(["What were imports in 2023?", "And in 2024?", "/new", "And in 2024?", "   ", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "888.1" in out and "1,617.93" in out
    assert "no earlier question" in out  # after /new the follow-up has nothing to follow
