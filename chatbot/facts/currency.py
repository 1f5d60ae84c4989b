"""Currency knowledge from the Unicode CLDR (through Babel): ISO 4217 codes, symbols and English
names, so amounts in any currency are read and shown the same way. Nothing here names a currency;
everything is read from the data once, on first use (loading it takes a few hundred milliseconds,
so importing this module costs nothing).

Rules, all decided from the data:

* **Codes**: every ISO 4217 code the English locale names that some territory has used as money
  (metals, funds and test codes are left out). Codes are read only as written, in capitals.
* **Who a symbol belongs to**: the currency whose English symbol it is; failing that, whose
  international (root) symbol it is (``US$``); failing that, the one current currency that
  writes it so in the main official language of a territory where it is legal tender (``₼``,
  ``Kč``). A symbol no source settles (``kr``, shared by several currencies locally) belongs to
  none, and a bare sign stays with its English owner even where other currencies use it locally
  (``$`` is the US dollar, ``£`` the pound sterling, ``¥`` the yen).
* **Display symbol** of a code: the first of its English, international and local symbols that
  holds a currency sign (Unicode category Sc) and belongs to it; a currency without one is shown
  by its code after the amount (``2.1 billion CHF``).
* **Label** for arithmetic lines: the English or international symbol when it is plain ASCII and
  names its country (``US$``, ``A$``), else the code (``EUR``).
* **Names**: the English singular and plural (``euro``/``euros``), lower case, without the dated
  variants CLDR writes with parentheses. A last word (``dollars``, ``rupees``) stands for its
  currency when one currency has it; when several do, for the one whose display symbol is a bare
  sign, provided every other one with a sign-bearing symbol builds it on that same sign
  (``A$``, ``CA$`` extend ``$``, so "dollars" are US dollars); otherwise for none (``francs``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from chatbot.text import trie_pattern

_OFFICIAL = ("official", "de_facto_official")
_SCALE_WORDS = r"thousand|million|billion|trillion|crore|lakh|bn|mn|mln|tn|[kKmMbB]"


@dataclass(frozen=True)
class Currencies:
    codes: frozenset[str]  # every known ISO code
    current: frozenset[str]  # legal tender somewhere today
    by_symbol: dict[str, str]  # symbol as written → code
    by_name: dict[str, str]  # lower-case English name or last word → code
    plain_names: frozenset[str]  # those that cannot be an ordinary word: full names, plural-only words
    symbol: dict[str, str]  # code → display symbol (holds a currency sign)
    label: dict[str, str]  # code → ASCII label for arithmetic lines


def _has_sign(s: str) -> bool:
    return any(unicodedata.category(ch) == "Sc" for ch in s)


def _bare_sign(s: str) -> bool:
    return bool(s) and all(unicodedata.category(ch) == "Sc" for ch in s)


def _one(codes: Iterable[str]) -> str:
    found = set(codes)
    return found.pop() if len(found) == 1 else ""


# The table derived in another process (an index build stores it, ``chatbot.index``): reading it
# takes a millisecond where deriving takes ≈ 0.4 s of every cold start. Used only when made from the
# same Babel data by this very code (``stored_key``).
_preloaded: Currencies | None = None


def stored_key() -> str:
    """What the table depends on: the Babel release (its CLDR data) and this module's code."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    try:
        babel = version("babel")
    except PackageNotFoundError:
        babel = "missing"
    return hashlib.sha256(babel.encode() + b"\0" + Path(__file__).read_bytes()).hexdigest()[:32]


def stored() -> dict[str, Any]:
    """The table as JSON data, with its ``stored_key``."""
    cur = currencies()
    return {"key": stored_key(), "codes": sorted(cur.codes), "current": sorted(cur.current), "by_symbol": cur.by_symbol,
            "by_name": cur.by_name, "plain_names": sorted(cur.plain_names), "symbol": cur.symbol, "label": cur.label}


def from_stored(data: dict[str, Any]) -> Currencies | None:
    """The table ``stored()`` wrote, or None when it was made from other Babel data or code."""
    if data.get("key") != stored_key():
        return None
    return Currencies(frozenset(data["codes"]), frozenset(data["current"]), dict(data["by_symbol"]), dict(data["by_name"]),
                      frozenset(data["plain_names"]), dict(data["symbol"]), dict(data["label"]))


def preload(data: dict[str, Any]) -> bool:
    """Use a table ``stored()`` wrote instead of deriving it on first use; ignored (False) when
    made from other data or code, or when the table is already in use."""
    global _preloaded
    table = None if currencies.cache_info().currsize else from_stored(data)
    if table is not None:
        _preloaded = table
    return table is not None


@cache
def currencies() -> Currencies:
    if _preloaded is not None:
        return _preloaded
    from babel import Locale, localedata
    from babel.core import get_global

    en = Locale("en")
    root: dict[str, str] = {str(k): str(v) for k, v in localedata.load("root").get("currency_symbols", {}).items()}
    en_symbols: dict[str, str] = {str(k): str(v) for k, v in en.currency_symbols.items()}
    en_names: dict[str, str] = {str(k): str(v) for k, v in en.currencies.items()}
    territory_currencies = get_global("territory_currencies")
    used = {c for rows in territory_currencies.values() for c, _start, _end, is_tender in rows if is_tender}
    codes = frozenset(c for c in en_names if c in used and re.fullmatch(r"[A-Z]{3}", c))

    # Local symbols: how the main official language of each territory writes its current money.
    available = set(localedata.locale_identifiers())
    likely = get_global("likely_subtags")
    languages = get_global("territory_languages")

    @cache
    def own_symbols(ident: str) -> dict[str, str]:
        if ident not in available:
            return {}
        data = localedata.load(ident, merge_inherited=False).get("currency_symbols", {})
        symbols = {str(k): str(v) for k, v in data.items()}
        # Babel keeps every loaded locale (its whole data, ~300 of them here): keep only the symbols
        getattr(localedata, "_cache", {}).pop(ident, None)
        return symbols

    local: dict[str, set[str]] = defaultdict(set)
    current: set[str] = set()
    for territory, rows in territory_currencies.items():
        tender = [str(c) for c, _start, end, is_tender in rows if end is None and is_tender and c in codes]
        current.update(tender)
        langs = sorted(
            languages.get(territory, {}).items(),
            key=lambda kv: (kv[1].get("official_status") not in _OFFICIAL, -kv[1].get("population_percent", 0)),
        )
        if not tender or not langs:
            continue
        lang = str(langs[0][0])
        parts = str(likely.get(lang, lang)).split("_")
        script = parts[1] if len(parts) == 3 else ""
        chain = [lang, f"{lang}_{territory}"]
        if script:
            chain[1:1] = [f"{lang}_{script}", f"{lang}_{script}_{territory}"]
        merged = dict(root)
        for ident in chain:
            merged.update(own_symbols(ident))
        for c in tender:
            if merged.get(c):
                local[c].add(merged[c])

    def usable(s: str | None) -> bool:
        return bool(s) and s not in codes and not re.fullmatch(r"[A-Za-z]", s or "")

    by_symbol: dict[str, str] = {}
    every = {s for c in codes for s in (en_symbols.get(c), root.get(c), *local[c]) if s and usable(s)}
    for s in every:
        owner = (_one(c for c in codes if en_symbols.get(c) == s) if any(en_symbols.get(c) == s for c in codes)
                 else _one(c for c in codes if root.get(c) == s) if any(root.get(c) == s for c in codes)
                 else _one(c for c in current if s in local[c]))
        if owner:
            by_symbol[s] = owner

    symbol: dict[str, str] = {}
    label: dict[str, str] = {}
    for c in sorted(codes):
        for s in (en_symbols.get(c, ""), root.get(c, ""), *sorted(local[c])):
            if s and _has_sign(s) and by_symbol.get(s) == c:
                symbol[c] = s
                break
        label[c] = next((s for s in (en_symbols.get(c, ""), root.get(c, ""))
                         if s and s.isascii() and _has_sign(s) and not _bare_sign(s) and by_symbol.get(s) == c), c)

    names: dict[str, set[str]] = defaultdict(set)
    last: dict[str, set[str]] = defaultdict(set)
    singular_last: set[str] = set()
    plurals = en._data["currency_names_plural"]
    for c in codes:
        forms = {en_names.get(c, "")}
        if c in plurals:
            forms.update(str(v) for v in plurals[c].values())
        one = str(plurals[c].get("one", "")) if c in plurals else ""
        for form in forms:
            form = " ".join(form.lower().split())
            if not form or "(" in form:
                continue
            names[form].add(c)
            last[form.rsplit(" ", 1)[-1]].add(c)
            if form == " ".join(one.lower().split()) or form == en_names.get(c, "").lower():
                singular_last.add(form.rsplit(" ", 1)[-1])

    def resolve(candidates: set[str]) -> str:
        if len(candidates) == 1:
            return next(iter(candidates))
        bare = [c for c in candidates if _bare_sign(symbol.get(c, ""))]
        if len(bare) != 1:
            return ""
        sign = symbol[bare[0]]
        others = [symbol[c] for c in candidates if c != bare[0] and c in symbol]
        return bare[0] if all(sign in s for s in others) else ""

    by_name = {w: code for w, cs in last.items() if (code := resolve(cs))}
    by_name.update({n: code for n, cs in names.items() if (code := resolve(cs))})
    plain = frozenset(w for w in by_name if w in names or w not in singular_last)
    return Currencies(codes, frozenset(current), by_symbol, by_name, plain, symbol, label)


def currency_of(token: str) -> str:
    """The ISO code a symbol, code or English name stands for (``US$``, ``CHF``, ``Swiss francs``),
    or ``""``. Codes count only in capitals."""
    t = " ".join(token.split())
    cur = currencies()
    if t in cur.by_symbol:
        return cur.by_symbol[t]
    if t in cur.codes:
        return t
    return cur.by_name.get(t.lower(), "")


def currency_symbol(code: str) -> str:
    """The sign an amount in ``code`` is written with (``$``, ``€``), or ``""`` to write the code."""
    return currencies().symbol.get(code, "")


def is_currency_unit(unit: str) -> bool:
    """Is a column's unit a currency (a sign such as ``£`` or an ISO code such as ``CHF``)?"""
    return bool(unit) and (bool(currency_symbol(unit)) or unit in currencies().codes)


def currency_label(code: str) -> str:
    """``US$`` for US dollars, the code itself for a currency whose sign is not plain ASCII."""
    return currencies().label.get(code, code)


def _guarded(words: Iterable[str]) -> str:
    """Alternation of words; one that begins with a letter may not continue a word."""
    words = set(words)
    alpha = [w for w in words if w[:1].isalpha()]
    other = [w for w in words if not w[:1].isalpha()]
    parts = []
    if other:
        parts.append(trie_pattern(other))
    if alpha:
        parts.append(r"(?<![^\W\d_])" + trie_pattern(alpha))
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


@cache
def prefix_pattern(running_text: bool = False) -> str:
    """Symbols and codes written before an amount (``US$``, ``€``, ``CHF ``, ``Kč ``); one that
    ends in a letter may be followed by a space. In running text only current codes count (a
    retired code is more often something else: ``ARM64``)."""
    cur = currencies()
    marks = set(cur.by_symbol) | set(cur.current if running_text else cur.codes)
    tight = _guarded(w for w in marks if not w[-1:].isalpha())
    spaced = _guarded(w for w in marks if w[-1:].isalpha())
    return rf"(?:{tight}|{spaced}(?:\s(?=\d))?)"


@cache
def postfix_pattern(running_text: bool = False) -> str:
    """Codes, symbols and names written after an amount (``USD``, ``Kč``, ``Swiss francs``);
    names in any case; in running text only current codes."""
    cur = currencies()
    marks = _guarded(set(cur.by_symbol) | set(cur.current if running_text else cur.codes))
    names = trie_pattern(cur.by_name)
    return rf"(?:{marks}|(?i:{names}))(?!\w)"


@cache
def _in_text(unit_position: bool) -> re.Pattern[str]:
    cur = currencies()
    # Symbols holding a sign or a non-ASCII letter; plain ASCII local symbols (``Rs``) read as
    # currency only next to a number. A current code counts only where units are written: before
    # a scale word, alone in parentheses or after "in" ("EUR million", "(EUR)", "in EUR", not
    # "BSD licence"). Outside a unit position (running text) a name counts only when it cannot
    # be an ordinary word: a full name or a plural-only last word ("dollars", not "won", "real").
    marks = _guarded(s for s in cur.by_symbol if _has_sign(s) or not s.isascii())
    codes = trie_pattern(cur.current)
    codes = (rf"(?:(?<=\()(?:{codes})(?=\))|(?<![^\W\d_])(?:{codes})(?=\s?(?:{_SCALE_WORDS})(?![^\W\d_]))"
             rf"|(?<=\bin\s)(?:{codes}))")
    names = cur.by_name if unit_position else cur.plain_names
    return re.compile(rf"(?:{marks}|{codes}|(?<![^\W\d_])(?i:{trie_pattern(names)}))(?![^\W\d_])")


def currency_in_text(text: str, unit_position: bool = False) -> str:
    """The currency a caption names (``Revenue (EUR million)`` → EUR), or ``""``; with
    ``unit_position`` (a header's parentheses) any name or last word counts. A sign outranks a
    code and a code a name (``AMD revenue ($ million)`` is in dollars), then the first wins."""
    found = []
    for m in _in_text(unit_position).finditer(text):
        code = currency_of(m.group(0))
        if code:
            rank = 0 if _has_sign(m.group(0)) else 1 if m.group(0) in currencies().codes else 2
            found.append((rank, m.start(), code))
    return min(found)[2] if found else ""
