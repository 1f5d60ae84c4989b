"""Trade-like flows read from either side.

A table of flows is reported by one party (the reporter) about another (the partner): its columns
are the reporter's imports from and exports to the partner, maybe a balance and a total. Both
parties come from the document's own wording: a column header such as "Imports from B"
names the partner, sentences such as "A's exports to B" or "A exported …"
name the reporter. A question is then resolved from the asker's side: "what did B sell to A" is
A's imports from B, "B's surplus with A" is A's deficit with B.

Only general language is used here: flow verbs, prepositions and possessives; country aliases
come from ``pycountry`` plus the name's own words and adjectival forms ("Xian" for "Xia").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from chatbot.facts.extract import TableData
from chatbot.text import normalise, stem

OUT_WORDS = {"export", "exports", "exported", "exporting", "exporter", "exporters", "sell", "sells", "sold", "selling",
             "sale", "sales", "ship", "ships", "shipped", "shipping", "shipment", "shipments", "supply", "supplied",
             "supplies", "outflow", "outflows"}
IN_WORDS = {"import", "imports", "imported", "importing", "importer", "importers", "buy", "buys", "bought", "buying",
            "purchase", "purchases", "purchased", "purchasing", "inflow", "inflows", "spend", "spent"}
BALANCE_KINDS = ("surplus", "deficit", "balance")
NAME = r"(?:the\s+)?([A-Z][\w\-]+(?:\s+[A-Z][\w\-]+){0,3})"
POSSESSIVE = r"(?:['’]s?)?"
SUFFIX = r"(?:['’]s|s|n|ns|an|ans|ian|ians|i|is|ese)?"
GENERIC_NAME_WORDS = {"republic", "kingdom", "federation", "islands", "the", "of", "and", "united", "democratic", "people's"}


@dataclass(frozen=True)
class Party:
    name: str
    aliases: tuple[str, ...]  # lower-case words or phrases that name it in a question

    def position(self, q: str) -> int:
        """Where the (lower-cased) question first names this party, or -1."""
        best = -1
        for a in self.aliases:
            for m in re.finditer(rf"\b{re.escape(a)}{SUFFIX}\b", q):
                if best < 0 or m.start() < best:
                    best = m.start()
        return best


@dataclass(frozen=True)
class FlowTable:
    """Which columns are the reporter's imports, exports, balance and total."""

    reporter: Party
    partner: Party
    imports: int
    exports: int
    balance: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class FlowAsk:
    """What a question asks of a flow table, stated from the reporter's columns."""

    column: int | None  # a flow column, or None for a balance
    holder: Party | None  # whose balance (surplus / deficit)
    kind: str = "flow"  # "flow" | "surplus" | "deficit" | "balance"
    name: str = ""  # how to name it in the answer, from the asker's side


def _col_kind(col: str) -> str:
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", col)}
    if words & IN_WORDS:
        return "imports"
    if words & OUT_WORDS:
        return "exports"
    if words & set(BALANCE_KINDS):
        return "balance"
    if {stem(w) for w in words} & {"total", "turnov", "turnover", "sum"}:
        return "total"
    return ""


def _header_partner(cols: tuple[str, ...]) -> str:
    for c in cols:
        m = re.search(rf"\b(?:from|to|with)\s+{NAME}", c)
        if m:
            return m.group(1)
    return ""


@lru_cache(maxsize=256)
def aliases(name: str) -> tuple[str, ...]:
    """Ways a question may name a party: the name, its country codes and names (pycountry), the
    distinctive words of a multi-word name ("Kingdom" for "United Kingdom"), and its stem for adjectives."""
    out = {name.lower()}
    try:
        import pycountry

        c = pycountry.countries.lookup(name)
        for attr in ("name", "official_name", "common_name", "alpha_2", "alpha_3"):
            v = getattr(c, attr, None)
            if v:
                out.add(v.lower())
    except (LookupError, ImportError):
        pass
    for full in list(out):
        words = full.split()
        if len(words) > 1:
            out |= {w for w in words if w not in GENERIC_NAME_WORDS and len(w) > 3}
    out |= {normalise(a).strip() for a in out}  # as a question reads once country names are folded
    stems = {re.sub(r"[aeiouy]$", "", a) for a in out if len(a) > 4 and " " not in a}
    return tuple(sorted(out | stems, key=len, reverse=True))


def _party(name: str) -> Party:
    return Party(name, aliases(name))


def _same(a: str, b: str) -> bool:
    return bool(set(aliases(a)) & set(aliases(b)))


def find_flow_table(t: TableData, document: str) -> FlowTable | None:
    kinds = [_col_kind(c) for c in t.columns]
    if "imports" not in kinds[1:] or "exports" not in kinds[1:]:
        return None
    partner = _header_partner(t.columns)
    reporters: Counter[str] = Counter()
    partners: Counter[str] = Counter()
    flow = "|".join(sorted(OUT_WORDS | IN_WORDS, key=len, reverse=True))
    for m in re.finditer(rf"\b{NAME}{POSSESSIVE}\s+(?:\w+\s+){{0,2}}?(?:{flow})\b", document):
        reporters[m.group(1)] += 1
    for m in re.finditer(rf"\b(?:{flow})\s+(?:to|from|with)\s+{NAME}", document):
        partners[m.group(1)] += 1
    for m in re.finditer(r"\b([A-Z][a-z]+)\s+(?:customs|statistics|data|figures)\b", document):
        name = _name_of_adjective(m.group(1), document)
        if name:
            reporters[name] += 2  # "<adjective> customs data"
    if not partner:
        partner = partners.most_common(1)[0][0] if partners else ""
    if not partner:
        return None
    reporter = next((n for n, _ in reporters.most_common() if not _same(n, partner) and n.lower() not in GENERIC_NAME_WORDS), "")
    if not reporter:
        return None
    return FlowTable(_party(reporter), _party(partner), kinds.index("imports"), kinds.index("exports"),
                     kinds.index("balance") if "balance" in kinds else None,
                     kinds.index("total") if "total" in kinds else None)


def _name_of_adjective(word: str, document: str) -> str:
    """An adjective back to the name: the shortest-suffix stripping that leaves a
    word the document also uses on its own."""
    for suffix in ("n", "an", "ian", "ns", "i", "ese"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if re.search(rf"\b{re.escape(base)}\b", document):
                return base
    return ""


def ask_flows(ft: FlowTable, q: str) -> list[FlowAsk]:
    """The flow columns or the balance a question asks for, in the order it names them, when it
    names a party (``q`` lower-case). A later verb with no party ("… than it imported") keeps the
    previous actor."""
    if ft.partner.position(q) < 0:
        return []  # only the reporter named ("A's exports in total"): not necessarily this flow
    tokens = [(m.start(), m.group(0)) for m in re.finditer(r"[a-z]+", q)]
    balance = next(((p, w) for p, w in tokens if w in BALANCE_KINDS), None)
    if balance is not None:
        holder = _actor(ft, q, balance[0]) or ft.reporter
        other = ft.partner if holder is ft.reporter else ft.reporter
        return [FlowAsk(None, holder, balance[1], f"{_possessive(holder.name)} trade {balance[1]} with {display(other.name)}")]
    asks: list[FlowAsk] = []
    actor: Party | None = None
    for at, word in tokens:
        if word not in OUT_WORDS and word not in IN_WORDS:
            continue
        actor = _actor(ft, q, at) or actor
        if actor is None:
            # only a counterpart is named ("exports to B"): the actor is the other party
            after = _named_after(ft, q, at)
            if after is None:
                continue
            actor = ft.partner if after is ft.reporter else ft.reporter
        outward = word in OUT_WORDS
        seller = actor if outward else (ft.partner if actor is ft.reporter else ft.reporter)
        buyer = ft.partner if seller is ft.reporter else ft.reporter
        col = ft.exports if seller is ft.reporter else ft.imports
        name = (f"{_possessive(seller.name)} exports to {display(buyer.name)}" if outward
                else f"{_possessive(buyer.name)} imports from {display(seller.name)}")
        if all(a.column != col for a in asks):
            asks.append(FlowAsk(col, None, "flow", name))
    return asks


def _actor(ft: FlowTable, q: str, at: int) -> Party | None:
    """The party named before position ``at`` (subject or possessive), nearest first; a party named
    right after "to/from/with" is a counterpart, not the actor."""
    best: tuple[int, Party] | None = None
    for party in (ft.reporter, ft.partner):
        for a in party.aliases:
            for m in re.finditer(rf"\b{re.escape(a)}{SUFFIX}\b", q[:at]):
                if re.search(r"\b(?:to|from|with|by|than)\s+(?:the\s+)?$", q[: m.start()]):
                    continue
                if best is None or m.start() > best[0]:
                    best = (m.start(), party)
    return best[1] if best else None


def _named_after(ft: FlowTable, q: str, at: int) -> Party | None:
    found = [(p, party) for party in (ft.reporter, ft.partner) if (p := _first_after(party, q, at)) >= 0]
    return min(found, key=lambda x: x[0])[1] if found else None


def _first_after(party: Party, q: str, at: int) -> int:
    pos = [m.start() for a in party.aliases for m in re.finditer(rf"\b{re.escape(a)}{SUFFIX}\b", q[at:])]
    return min(pos) + at if pos else -1


def _possessive(name: str) -> str:
    name = display(name)
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def display(name: str) -> str:
    """An initialism takes the article ("the XY"); other names as written."""
    return f"the {name}" if re.fullmatch(r"[A-Z]{2,4}", name) else name
