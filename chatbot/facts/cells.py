"""Typing a table cell: ``€389.1m`` → 389,100,000 EUR (scale million), ``312 km`` → 312 km,
``18.5%`` → 18.5 percent, ``−1,230.6`` → −1230.6; anything else is a text cell.

Values are exact decimals (``Decimal``), so ``$8.13M`` is 8130000, never 8130000.000000001.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from chatbot.facts.currency import currency_in_text, currency_of, postfix_pattern, prefix_pattern
from chatbot.facts.numbers import SCALES

_SIGN = r"(?P<sign>[+\-−–]|\()?"
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SCALE = r"(?P<scale>bn|mn|mln|tn|[kKmMbB](?![A-Za-z])|\s?(?:thousand|lakh|million|crore|billion|trillion)\b)?"
_TAIL = r"\)?(?:\s?(?:\[\w{1,3}\]|\([a-z]\))|[*†‡§¹²³⁴⁵⁶⁷⁸⁹])?(?P<note>\s+\(.*\))?"  # footnote marks
SCALE_WORDS = ("trillion", "billion", "million", "thousand", "crore", "lakh")


@cache
def cell_pattern() -> re.Pattern[str]:
    """A numeric cell: sign, currency symbol or code, number, scale, then a currency or other unit
    (``%``, ``km``, ``TEU``, ``Swiss francs``) and footnote marks. Currencies come from CLDR."""
    cur = rf"(?P<cur>{prefix_pattern()}|[A-Z]{{3}}(?=\s?\d))?"
    unit = (rf"(?:\s?(?P<unit>%|{postfix_pattern()}|[A-Za-zµ°²³]{{1,8}}(?:/[A-Za-z]{{1,4}})?"
            r"|[A-Za-z]{1,8}/[A-Za-z]{1,4}))?")
    return re.compile(rf"^{_SIGN}\s?{cur}\s?[+\-−]?{_NUM}{_SCALE}{unit}{_TAIL}$")


@dataclass(frozen=True)
class CellValue:
    """A typed cell: ``value`` in base units (scale applied), ``unit`` a currency code, ``percent``,
    a unit word as written (``km``, ``TEU``) or ``""``; ``value`` is None for a text cell."""

    text: str
    value: Decimal | None
    unit: str = ""
    scale: Decimal = Decimal(1)

    @property
    def is_number(self) -> bool:
        return self.value is not None


def type_cell(cell: str, default_unit: str = "", default_scale: Decimal = Decimal(1)) -> CellValue:
    s = cell.strip()
    m = cell_pattern().match(s)
    if not s or not m:
        return CellValue(cell, None)
    try:
        num = Decimal(m.group("num").replace(",", ""))
    except InvalidOperation:
        return CellValue(cell, None)
    cur = (m.group("cur") or "").strip()
    scale_word = (m.group("scale") or "").strip()
    unit_word = m.group("unit") or ""
    unit = (currency_of(cur) or cur) if cur else ""
    if scale_word == "m" and not cur and not default_unit:
        unit_word, scale_word = scale_word + unit_word, ""  # "5m" without a currency is five metres
    scale = Decimal(str(int(SCALES[scale_word.lower()]))) if scale_word else default_scale
    if unit_word == "%":
        unit = "percent"
    elif unit_word:
        unit = currency_of(unit_word) or unit or unit_word
    unit = unit or default_unit
    sign = -1 if (m.group("sign") or "") in ("-", "−", "–", "(") else 1
    return CellValue(cell, sign * num * scale, unit, scale)


def header_unit(text: str) -> tuple[str, Decimal]:
    """Unit and scale a column header or caption names: ``Revenue (EUR million)`` → EUR, 1e6;
    ``Containers (TEU)`` → TEU; ``Tested range`` → nothing."""
    paren = re.findall(r"\(([^)]*)\)", text)
    body = " ".join(paren) if paren else text
    low = body.lower()
    unit = currency_in_text(f"({body})" if paren else body, unit_position=bool(paren))
    scale = Decimal(1)
    for word in (*SCALE_WORDS, "bn", "mn", "mln"):
        if re.search(rf"\b{word}\b", low):
            scale = Decimal(str(int(SCALES[word])))
            break
    if not unit and paren:
        words = [w for w in re.findall(r"[A-Za-z%/]+", body) if w.lower() not in (*SCALE_WORDS, "in", "of", "per")]
        if len(words) == 1 and len(words[0]) <= 12:
            unit = "percent" if words[0] == "%" else words[0]
    return unit, scale
