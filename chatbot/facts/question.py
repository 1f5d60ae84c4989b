"""General question vocabulary (metric synonyms, operations, intents) and the numeric answer types.

Nothing here is taken from a document: document values come from the facts table at index time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chatbot.facts.extract import TableData
from chatbot.text import normalise, stem
from chatbot.types import Fact

# General vocabulary: question words that name a metric, mapped to words found in column names.
METRIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "import": ("import", "imports", "imported", "importing", "purchases", "purchase", "purchased", "bought", "buy",
               "buys", "buying", "spend", "spent", "spending on", "inflow", "inflows", "inbound"),
    "export": ("export", "exports", "exported", "exporting", "exporters", "sales", "sold", "sell", "sells", "selling",
               "shipments", "shipped", "outflow", "outbound"),
    "turnover": ("turnover", "total trade", "trade volume", "volume of trade", "overall trade", "bilateral trade",
                 "combined trade", "trade total", "total volume", "two-way trade", "trade value", "value of trade",
                 "total"),
    "revenue": ("revenue", "revenues", "sales", "income", "turnover"),
    "profit": ("profit", "profits", "earnings", "net income"),
    "cost": ("cost", "costs", "expenses", "spending", "expenditure"),
}
BALANCE_WORDS = ("deficit", "surplus", "balance", "imbalance", "gap between", "trade gap")
OPS: list[tuple[str, re.Pattern[str]]] = [
    ("ratio", re.compile(r"how many times|\bratio\b|\btimes (?:larger|bigger|higher|greater|more|smaller|lower)\b|\bmultiple\b|\bfold\b")),
    ("growth", re.compile(
        r"\bhow much (?:larger|bigger|smaller|greater)\b|\bgrowth\b|\bgr[eo]w|\bincrease|\bincreas|\brise\b|\brose\b"
        r"|\brisen\b|\bjump|\bfall\b|\bfell\b|\bfallen\b|\bdeclin|\bdecreas|\bdrop|\bchange"
        r"|\bhow much (?:more|less|higher|lower)\b|\bby how much\b|\bpercent(?:age)? change\b|\bshr[iu]nk|\bcontract"
    )),
    ("share", re.compile(r"\bshare\b|\bwhat percent(?:age)?\b|\bproportion\b|\bpercentage of\b|% of\b|\bportion\b|\bfraction\b")),
    ("average", re.compile(r"\baverage\b|\bmean\b|\bper year on average\b")),
    ("difference", re.compile(
        r"\bhow far apart\b|\bdiffer(?:ence)? between\b|\b(?:bigger|larger|higher|greater|smaller|lower)\b.*\bor\b"
        r"|\bdifference\b|\bgap\b|\bmore than\b|\bless than\b|\bcompared?\b|\bversus\b|\bvs\.?\b|\bexceed"
    )),
    ("max", re.compile(r"\bhighest\b|\bpeak(?:ed)?\b|\blargest\b|\bmaximum\b|\bbiggest\b|\brecord\b|\bmost\b|\bstrongest\b|\btop\b")),
    ("min", re.compile(r"\blowest\b|\bsmallest\b|\bminimum\b|\bleast\b|\bfewest\b|\bweakest\b|\bbottom\b")),
    ("trend", re.compile(
        r"\btrend|\bover the years\b|\bevolv|\bover time\b|\beach year\b|\bevery (?:single )?year\b|\bgo(?:ne)? up\b"
        r"|\bwent up\b|\bgo(?:ne)? down\b|\bwent down\b|\ball (?:the )?years\b|\bby year\b|\byear by year\b|\bdevelop"
    )),
    ("sum", re.compile(
        r"\btotal (?:that|this|it|them|those|up)\b|\bacross all\b|\badd(?:ed)? up\b|\bcombined\b(?! trade)|\bsum\b"
        r"|\bcumulative|\baltogether\b|\b(?:all|both|the) (?:\w+ )?\w+s together\b|\bcombined over\b|\bin total\b(?! (?:trade|two-way))"
        r"|\bacross (?:the|all) (?:\w+ )?(?:years|rows)\b|\btotal (?:over|across|for) (?:the|all)\b"
    )),
]
UP_WORDS = re.compile(r"\b(rise|rose|risen|increase[ds]?|grow|grew|grown|growth|jump(?:ed)?|surge[d]?|climb(?:ed)?|go up|went up|higher)\b")
DOWN_WORDS = re.compile(r"\b(fall|fell|fallen|decline[ds]?|decrease[ds]?|drop(?:ped)?|shr[iu]nk|plunge[d]?|go down|went down|lower|contract(?:ed)?)\b")
LAST_WORDS = re.compile(r"\b(latest|last|most recent|final|newest|current)\b")
FIRST_WORDS = re.compile(r"\b(first|earliest|oldest|initial|starting)\b")
AMOUNT_INTENT = re.compile(r"\bhow much\b|\bvalue\b|\bworth\b|\bamount\b|\btotal(?:ed|led)?\b|\$|\bsize\b|\bfigure\b|\bmillion\b|\bbillion\b")
COUNT_INTENT = re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b")
RANK_INTENT = re.compile(r"\brank(?:ed|ing)?\b|\bposition\b|\bplace\b|\bplaced\b")
WHEN_INTENT = re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b|\bwhat date\b|\bwhich date\b|\bdate\b|\bsince when\b|\bwhat day\b")
YEAR_RE = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")
# Questions asking for an entity, a place or a source rather than a number.
ENTITY_Q = re.compile(
    r"^\s*(?:who|whom|whose|where|which\s+(?!year)\w+|what\s+(?:kind|type|sort|products?|goods|items?|sectors?|companies|organi[sz]ations?)\b)"
    r"|\b(?:source|organi[sz]ation|agency|institution)\b"
)
YEARS_APART = re.compile(r"\bhow many years\b|\bhow long (?:after|before|ago|between)\b|\byears (?:later|after|before|apart|between)\b")
NAME_WORD = re.compile(r"(?<![.?!]\s)\b[A-Z][a-z][\w\-]*")
QUALIFIERS = {
    "half", "quarter", "quarterly", "month", "monthly", "weekly", "daily", "q1", "q2", "q3", "q4", "h1", "h2",
    "capita", "real", "nominal", "adjusted", "forecast", "forecasts", "projected", "projection", "expected",
    "target", "targets", "planned", "estimate", "estimated",
}  # and every currency's English name (chatbot.facts.currency): "in euros" when the table is in dollars
# English comparatives and superlatives: which way a comparison asks.
MORE_WORDS = {"more", "higher", "larger", "bigger", "greater", "longer", "heavier", "most", "highest", "largest", "biggest"}
LESS_WORDS = {"less", "lower", "smaller", "fewer", "shorter", "lighter", "least", "lowest", "smallest"}
LIST_Q = re.compile(r"^\s*(?:which|what|name|list)\b|\blist\b")
PART_WORDS = re.compile(r"\b(products?|items?|goods|commodit(?:y|ies)|categor(?:y|ies)|components?)\b")
SCOPE_FILLER = {stem(w) for w in (
    "two", "both", "countries", "country", "nations", "nation", "bilateral", "between", "data", "statistics", "figures",
    "number", "annual", "annually", "year", "years", "table", "trade", "total", "value", "overall", "combined", "each",
    "compare", "comparison", "change", "growth", "grow", "rise", "fall", "increase", "decrease", "percent", "percentage",
    "share", "ratio", "times", "difference", "highest", "lowest", "average", "sum", "trend", "period", "time", "level",
    "record", "peak", "latest", "recent", "first", "last", "much", "many", "larger", "smaller", "bigger", "higher", "lower",
    "economic", "relations", "relationship", "partner", "partners", "term", "terms", "commerce", "commercial",
    "business", "flow", "flows", "volume", "volumes", "amount", "worth", "dollars", "money", "stuff", "things",
)}
METRIC_TERMS = {stem(w) for syns in METRIC_SYNONYMS.values() for s in syns for w in s.split()} | {
    stem(w) for w in ("deficit", "surplus", "balance", "imbalance", "gap")
}
GENERIC = {stem(w) for w in ("how", "much", "many", "what", "which", "value", "amount", "total", "year", "was", "were", "did",
                             "the", "in", "of", "figure", "level", "size", "worth")}


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    start: int
    end: int
    quote: str


@dataclass
class NumericAnswer:
    """Text with ``{0}``, ``{1}`` … placeholders for citations to ``evidence[i]``."""

    text: str
    evidence: list[Evidence]
    arithmetic: list[str] = field(default_factory=list)
    operation: str = "value"
    abstain: bool = False
    notes: list[str] = field(default_factory=list)
    compared: tuple[float, float] | None = None  # two values in the order the question names them
    verdict: str = ""  # "Yes" / "No" when the figures themselves decide a yes/no question


@dataclass(frozen=True)
class Metric:
    name: str
    cols: tuple[int, ...]  # one column, or (export, import) for a balance
    kind: str = "column"  # "column" | "surplus" | "balance" | "deficit"
    partner_side: bool = False  # a balance held by the partner: the reporter's balance negated


def fold_question(question: str) -> str:
    return normalise(question)


def row_evidence(t: TableData, i: int) -> Evidence:
    a, b = t.row_spans[i]
    return Evidence(t.doc_id, a, b, t.row_quotes[i])


def fact_evidence(f: Fact) -> Evidence:
    return Evidence(f.doc_id, f.start, f.end, f.quote)
