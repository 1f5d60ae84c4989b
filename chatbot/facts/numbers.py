"""Parsing and formatting amounts: ``$2,450.75M`` → 2,450,750,000 USD, and back for display."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from chatbot.facts.currency import (
    currency_in_text,
    currency_label,
    currency_of,
    currency_symbol,
    postfix_pattern,
    prefix_pattern,
)

SCALES = {
    "thousand": 1e3, "k": 1e3,
    "lakh": 1e5, "crore": 1e7,
    "million": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9,
    "trillion": 1e12, "tn": 1e12, "t": 1e12,
}
SCALE_NAMES = {1.0: "", 1e3: "thousand", 1e5: "lakh", 1e6: "million", 1e7: "crore", 1e9: "billion", 1e12: "trillion"}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"trillion|billion|million|thousand|crore|lakh|bn|mn|mln|tn|[MBKkT](?![a-zA-Z])"


@cache
def money_pattern() -> re.Pattern[str]:
    """An amount with its currency written before (symbol or code) or after (code or name); the
    currencies come from CLDR on first use (see ``chatbot.facts.currency``)."""
    return re.compile(
        rf"(?P<pre>{prefix_pattern(running_text=True)})?(?P<num>{_NUM})(?:\s?(?P<scale>{_SCALE}))?"
        rf"(?:\s(?:of\s)?(?P<post>{postfix_pattern(running_text=True)}))?"
    )


@dataclass(frozen=True)
class Amount:
    value: float  # in base units (e.g. dollars)
    unit: str  # currency code, "percent", "count" or ""
    scale: float  # the scale written in the source (1e6 for "M"/"million")
    text: str
    start: int
    end: int


def parse_cell(cell: str, default_unit: str = "", default_scale: float = 1.0) -> Amount | None:
    """A table cell as an amount, or None when it is not numeric."""
    s = cell.strip()
    if s.endswith("%"):
        try:
            return Amount(float(Decimal(s[:-1].replace(",", "").strip())), "percent", 1.0, cell, 0, len(cell))
        except ArithmeticError:
            return None
    neg = s.startswith(("-", "−", "(")) and not s.startswith("(+")
    s = s.strip("()−-+ ")
    m = money_pattern().fullmatch(s)
    if not m:
        return None
    amount = _amount(m, default_unit, default_scale)
    if amount is None:
        return None
    value = -amount.value if neg else amount.value
    return Amount(value, amount.unit, amount.scale, cell, 0, len(cell))


def _amount(m: re.Match[str], default_unit: str = "", default_scale: float = 1.0) -> Amount | None:
    num = Decimal(m.group("num").replace(",", ""))
    scale_word = (m.group("scale") or "").lower()
    scale = SCALES.get(scale_word, default_scale if not scale_word else 1.0)
    cur = (m.group("pre") or m.group("post") or "").strip()
    unit = currency_of(cur) if cur else default_unit
    value = float(num * Decimal(repr(scale)))  # exact: $8.13M is 8130000, not 8130000.000000001
    return Amount(value, unit, scale, m.group(0), m.start(), m.end())


def find_money(text: str) -> list[Amount]:
    """Amounts with an explicit currency in running text."""
    out = []
    for m in money_pattern().finditer(text):
        if not (m.group("pre") or m.group("post")):
            continue
        a = _amount(m)
        if a is not None:
            out.append(a)
    return out


def unit_from_text(text: str) -> tuple[str, float]:
    """Currency and scale named in a header or caption, e.g. '(EUR thousand)' or 'in $ million'."""
    low = text.lower()
    unit = currency_in_text(text)
    scale = 1.0
    for word in ("trillion", "billion", "million", "thousand", "crore", "lakh", "bn", "mn", "mln"):
        if re.search(rf"\b{word}\b", low):
            scale = SCALES[word]
            break
    return unit, scale


def fmt_number(x: float, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 0 if abs(x - round(x)) < 1e-9 else 2
    s = f"{abs(x):,.{decimals}f}"
    return ("−" if x < 0 else "") + s


def fmt_scaled(value: float, scale: float, decimals: int = 2) -> str:
    """2_450_750_000, 1e6 → '2,450.75'."""
    x = value / scale
    if scale == 1.0 and abs(x - round(x)) < 1e-9:
        return fmt_number(x, 0)  # plain counts stay whole: 412,000
    return fmt_number(x, min(max(decimals, _decimals_needed(x)), decimals if abs(x) >= 1 else 4))


def _decimals_needed(x: float) -> int:
    for d in range(0, 5):
        if abs(round(x, d) - x) < 1e-9:
            return d
    return 4


def fmt_money(value: float, unit: str, scale: float) -> str:
    """'$2,450.75 million'."""
    sym = currency_symbol(unit)
    scale_name = SCALE_NAMES.get(scale, "")
    body = fmt_scaled(value, scale)
    neg = body.startswith("−")
    body = body.lstrip("−")
    if unit == "percent":
        return f"{'−' if neg else ''}{body}%"
    prefix = sym if sym else ""
    suffix = f" {scale_name}" if scale_name else ""
    code = f" {unit}" if unit and not sym and unit not in ("count",) else ""
    return f"{'−' if neg else ''}{prefix}{body}{suffix}{code}"


def unit_label(unit: str, scale: float) -> str:
    """'US$ million' for the arithmetic lines."""
    scale_name = SCALE_NAMES.get(scale, "")
    cur = currency_label(unit)
    return " ".join(x for x in (cur, scale_name) if x) or "units"
