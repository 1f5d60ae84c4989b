"""Names folded for matching: country names from pycountry, codes the corpus itself uses, and a
corpus's own alias groups (``aliases.yaml``). Nothing here is written for one document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatbot import text
from chatbot.corpus import ALIASES_FILE, load_aliases, load_corpus
from chatbot.errors import CorpusError
from chatbot.text import add_aliases, content_terms, country_code_groups, words

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_corpus_aliases() -> Iterator[None]:
    """Each test starts with no corpus groups; the process's own (other tests' indexes) come back after."""
    saved = (text._folder, text._groups)
    text._folder, text._groups = None, frozenset()
    text._fold_cached.cache_clear()
    yield
    text._folder, text._groups = saved
    text._fold_cached.cache_clear()


def test_country_names_and_dotted_codes_fold_to_one_token() -> None:
    assert words("the United Kingdom") == ["the", "unitedkingdom"]
    assert words("United Kingdom of Great Britain and Northern Ireland") == ["unitedkingdom"]
    assert words("U.S.A.") == words("United States") == words("United States of America") == words("America")
    assert words("Americans") == words("American") == words("America")
    assert words("South Korea") == ["southkorea"]
    assert words("Iraqi imports") == words("Iraq imports")
    assert words("Italian wine") == words("Italy wine")


def test_ambiguous_forms_are_not_folded() -> None:
    # "Korea" names two countries; "Nigerian" could be of Niger or Nigeria
    assert words("Korea") == ["korea"]
    assert words("Nigerian") == ["nigerian"]
    # words that only look like adjectives of a country name stay themselves
    assert words("chili francis peri") == ["chili", "francis", "peri"]


def test_bare_codes_fold_only_when_the_corpus_uses_them_as_names() -> None:
    assert words("AI and GB") == ["ai", "and", "gb"]
    groups = country_code_groups(["The United Kingdom (GB) sold more. AI is a technology here, not a country code."])
    assert groups == [["United Kingdom", "GB"]]
    add_aliases(groups)
    assert words("GB exports") == words("United Kingdom exports")
    assert words("AI") == ["ai"]


def test_corpus_alias_groups_fold_to_their_first_name(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text(
        "The Republic of Norland and Kestavia signed the pact. Norlanders voted for it; the RN cabinet agreed.\n",
        encoding="utf-8",
    )
    (tmp_path / ALIASES_FILE).write_text("- [Republic of Norland, Norland, RN, Norlanders]\n", encoding="utf-8")
    load_corpus(tmp_path)
    assert content_terms("What did the RN cabinet say?")[:1] == content_terms("Republic of Norland")
    assert words("Norlanders") == words("Norland") == words("republic of norland")


@pytest.mark.parametrize(
    "text, message",
    [("- [only one]\n", "two or more names"), ("key: [a, b]\n", "list of groups"), ("- [a, b\n", "not valid YAML")],
)
def test_bad_aliases_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ALIASES_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(message.split()[0])):
        load_aliases(path)


def test_core_code_holds_no_country_alias() -> None:
    """Country names come from pycountry and the corpus, never from a list in the code."""
    pattern = re.compile(r"united states|america|\busa\b|azerbaij|manat", re.IGNORECASE)
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in (ROOT / "chatbot").rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders
