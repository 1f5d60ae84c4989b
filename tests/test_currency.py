"""Currencies come from CLDR (Babel), not from a list in the code: a currency the code never
names is read and shown like the familiar ones, and the familiar ones look as they always did."""

import ast
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from chatbot.facts.cells import header_unit, type_cell
from chatbot.facts.currency import currencies, currency_in_text, currency_of, currency_symbol
from chatbot.facts.numbers import find_money, fmt_money, parse_cell, unit_from_text, unit_label

FACTS = Path(__file__).resolve().parents[1] / "chatbot" / "facts"


@pytest.mark.parametrize("cell, value, unit", [
    ("CHF 2.1bn", Decimal("2100000000"), "CHF"),
    ("1,200 Swiss francs", Decimal("1200"), "CHF"),
    ("₹450 crore", Decimal("4500000000"), "INR"),
    ("Kč 300", Decimal("300"), "CZK"),
    ("300 zł", Decimal("300"), "PLN"),
    ("R$12.5M", Decimal("12500000"), "BRL"),
    ("₼5.2 million", Decimal("5200000"), "AZN"),
    ("US$1,617.93M", Decimal("1617930000"), "USD"),
])
def test_cells_in_any_currency(cell, value, unit):
    typed = type_cell(cell)
    assert (typed.value, typed.unit) == (value, unit)
    amount = parse_cell(cell)
    assert amount is not None and amount.unit == unit and amount.value == float(value)


def test_running_text_amounts_in_unlisted_currencies():
    found = find_money("Sales reached CHF 2.1bn, and the Prague unit added Kč 300 million "
                       "while India brought in ₹450 crore and Korea 3 billion won.")
    assert [(a.unit, a.value) for a in found] == [
        ("CHF", 2.1e9), ("CZK", 3e8), ("INR", 4.5e9), ("KRW", 3e9)]


def test_formatting_from_cldr():
    assert fmt_money(2.1e9, "CHF", 1e9) == "2.10 billion CHF"  # no sign of its own: code after
    assert fmt_money(4.5e9, "INR", 1e7) == "₹450.00 crore"
    assert fmt_money(12.5e6, "BRL", 1e6) == "R$12.50 million"
    assert fmt_money(1200, "UAH", 1.0) == "₴1,200"
    assert unit_label("AUD", 1e6) == "A$ million"
    assert unit_label("CZK", 1e3) == "CZK thousand"


def test_familiar_currencies_unchanged():
    assert fmt_money(1_617_930_000, "USD", 1e6) == "$1,617.93 million"
    assert fmt_money(-1_482_900_000, "USD", 1e6) == "−$1,482.90 million"
    assert fmt_money(2_450_750, "EUR", 1e3) == "€2,450.75 thousand"
    assert fmt_money(5e6, "GBP", 1e6) == "£5.00 million"
    assert fmt_money(5e6, "JPY", 1e6) == "¥5.00 million"
    assert fmt_money(5e6, "AZN", 1e6) == "₼5.00 million"
    assert [unit_label(u, 1e6) for u in ("USD", "EUR", "GBP", "JPY", "AZN")] == [
        "US$ million", "EUR million", "GBP million", "JPY million", "AZN million"]


def test_ambiguous_symbols_and_words_resolve_from_data():
    # a bare sign stays with the currency whose English symbol it is
    assert [currency_of(s) for s in ("$", "US$", "¥", "£", "€")] == ["USD", "USD", "JPY", "GBP", "EUR"]
    assert currency_of("kr") == ""  # several Nordic currencies write it: nobody's
    assert currency_of("dollars") == "USD" and currency_of("pounds") == "GBP"
    assert currency_of("francs") == "" and currency_of("pesos") == ""  # no default in the data
    assert currency_of("Swiss francs") == "CHF" and currency_of("Mexican pesos") == "MXN"
    assert currency_of("chf") == ""  # codes only in capitals ("all", "top" are words)


def test_headers_and_captions():
    assert header_unit("Revenue (CHF million)") == ("CHF", Decimal(1_000_000))
    assert header_unit("Turnover (Swiss francs)")[0] == "CHF"
    assert unit_from_text("Table 2: sales in INR, crore") == ("INR", 1e7)
    assert unit_from_text("Trade, US$ million") == ("USD", 1e6)
    # ordinary words and acronyms that happen to be currency names or codes are not units
    assert currency_in_text("real GDP grew; the firm won two contracts") == ""
    assert currency_in_text("builds on Linux and BSD systems") == ""
    assert currency_in_text("AMD revenue ($ million)") == "USD"


def test_every_english_currency_is_known():
    cur = currencies()
    assert len(cur.codes) > 150 and {"CHF", "CZK", "INR", "XOF"} <= cur.codes
    assert {currency_symbol(c) for c in ("XOF", "CHF")} == {""}


def _literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("module", ["numbers.py", "cells.py", "currency.py", "keyed.py"])
def test_no_currency_listed_in_code(module):
    """The currency rule of the project: codes, names and signs come from CLDR, never from the code."""
    cur = currencies()
    words = {w for name in cur.by_name for w in name.split()} - {"of", "and", "the"}
    for text in _literals(FACTS / module):
        tokens = set(re.findall(r"[^\W\d_]+", text))
        assert not tokens & cur.codes, (module, text)
        assert not {t.lower() for t in tokens} & {w for w in words if len(w) > 3}, (module, text)
        assert not {ch for ch in text if unicodedata.category(ch) == "Sc" and ch != "$"}, (module, text)
        assert "\\$" not in text, (module, text)  # an escaped $ is a dollar, a bare one an anchor
