"""Plain-text tables in the layouts documents use, each cell with its exact span.

Layouts (tried in this order at a line):
- Markdown pipe tables, found with ``markdown-it-py`` (so a table inside a code block is not one);
- reStructuredText grid tables (``+----+`` borders, a ``+====+`` border under the header); each
  text line between borders is a row, so every cell keeps an exact one-line span;
- reStructuredText simple tables between ``====`` rules; a token belongs to the rule column it
  overlaps most, so right-aligned numbers and a label column with no header name both work;
- tab-separated and whitespace-aligned tables: a header line over two or more rows with the same
  number of cells whose cells after the first are numbers (with units, currency, scale or %) or,
  in rows aligned by runs of spaces or tabs, at least half numbers and otherwise short words;
  a header one cell short names the columns after an unnamed label column; a header on two lines
  (``Read`` over ``(MB/s)``) is joined column by column, each chunk placed by its position;
- an enumeration of named numbers inside a sentence ("class_0 (59), class_1 (71) and class_2 (48)")
  is a two-column table named by the words that introduce it (``inline_tables``, layout ``inline``);
- cells may carry footnote marks (``41.2*``, ``530¹``, ``2,501.0 [1]``, ``12.0 (a)``).
A cell's ``(start, end)`` always satisfies ``document[start:end] == cell`` (an empty cell has
``start == end``). The label cell drops a trailing colon (``Alcohol:`` → ``Alcohol``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

Spans = tuple[tuple[int, int], ...]

NUMERIC_CELL = re.compile(
    r"^[(+\-−–]?(?:US\$|[$€£¥₼]|[A-Z]{3})?[+\-−–]?\d[\d,]*(?:\.\d+)?"
    r"(?:%|(?:[kKmMbBtT]n?|bn|mn|mln|thousand|million|billion|trillion)(?![a-z]))?"
    r"(?:[A-Za-zµ°²³/]{1,8}(?:/[A-Za-z]{1,4})?)?\)?(?:\[\w{1,3}\]|\([a-z]\)|[*†‡§¹²³⁴⁵⁶⁷⁸⁹])?$"
)
EMPTY_CELL = re.compile(r"^(?:|[-–—]|n/?a|N/?A|\.\.\.|…)$")
PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
RST_RULE = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
GRID_BORDER = re.compile(r"^\s*\+(?:-+\+)+\s*$")
GRID_HEAD_BORDER = re.compile(r"^\s*\+(?:=+\+)+\s*$")


@dataclass(frozen=True)
class Line:
    text: str  # without the line ending
    start: int
    end: int

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass(frozen=True)
class Table:
    """A parsed plain-text table: column names, rows of cell texts, and the exact span of each."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_spans: Spans
    header_span: tuple[int, int]
    cell_spans: tuple[Spans, ...] = ()
    layout: str = "whitespace"  # markdown | grid | rst | tab | whitespace


def is_numeric(cell: str) -> bool:
    return bool(NUMERIC_CELL.match(cell.replace(" ", "").replace("\u00a0", "")))


def numeric_share(cells: list[str]) -> float:
    return sum(is_numeric(c) for c in cells) / max(1, len(cells))


def find_table(lines: list[Line], i: int, markdown_tables: dict[int, int] | None = None) -> tuple[Table, int] | None:
    """A table starting at ``lines[i]``; returns it and the index of the first line after it."""
    if markdown_tables and i in markdown_tables:
        found = _pipe_table(lines, i, markdown_tables[i])
        if found:
            return found
    if RST_RULE.match(lines[i].text):
        return _rst_table(lines, i)
    if GRID_BORDER.match(lines[i].text):
        return _grid_table(lines, i)
    return _aligned_table(lines, i)


# ---- Markdown ------------------------------------------------------------------------------------


def markdown_table_lines(text: str) -> dict[int, int]:
    """First line → line after the last row, for every pipe table markdown-it finds."""
    if "|" not in text or not any(PIPE_SEPARATOR.match(ln) for ln in text.splitlines()):
        return {}
    out: dict[int, int] = {}
    for tok in _markdown().parse(text):
        if tok.type == "table_open" and tok.map:
            out[tok.map[0]] = tok.map[1]
    return out


@lru_cache(maxsize=1)
def _markdown():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


EMPHASIS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*\S)?)\1")


IMAGE_CELL = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def pipe_cells(line: Line) -> tuple[list[str], list[tuple[int, int]]]:
    """Cells of a ``| a | b |`` line with their spans (escaped ``\\|`` and code spans kept)."""
    text = line.text
    bounds, in_code, k = [], False, 0
    while k < len(text):
        ch = text[k]
        if ch == "\\":
            k += 2
            continue
        if ch == "`":
            in_code = not in_code
        elif ch == "|" and not in_code:
            bounds.append(k)
        k += 1
    edges = [-1, *bounds, len(text)]
    cells, spans = [], []
    for a, b in zip(edges, edges[1:], strict=False):
        raw = text[a + 1 : b]
        if (a == -1 and not raw.strip() and bounds and bounds[0] == b) or (b == len(text) and not raw.strip() and a >= 0):
            continue  # outside a leading or trailing pipe
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        emphasis = EMPHASIS.fullmatch(body)
        if emphasis:  # "**€45,100**": the cell is what the emphasis marks wrap
            lead += emphasis.start(2)
            body = emphasis.group(2)
        s = line.start + a + 1 + lead
        cells.append(body)
        spans.append((s, s + len(body)))
    return cells, spans


def _pipe_table(lines: list[Line], i: int, end: int) -> tuple[Table, int] | None:
    if end - i < 3 or not PIPE_SEPARATOR.match(lines[i + 1].text):
        return None
    columns, _ = pipe_cells(lines[i])
    n = len(columns)
    rows, row_spans, cell_spans = [], [], []
    for ln in lines[i + 2 : end]:
        if not ln.stripped:
            break
        cells, spans = pipe_cells(ln)
        cells, spans = (cells + [""] * n)[:n], (spans + [(ln.end, ln.end)] * n)[:n]
        rows.append(tuple(cells))
        row_spans.append((ln.start, ln.end))
        cell_spans.append(tuple(spans))
    if not rows or all(not c or IMAGE_CELL.fullmatch(c) for row in rows for c in row):
        return None  # no rows, or a grid of pictures laid out with pipes: no data to type
    header = lines[i]
    typed_spans = _label_without_colon(rows, cell_spans)
    return Table(tuple(columns), tuple(rows), tuple(row_spans), (header.start, header.end),
                 typed_spans, "markdown"), i + 2 + len(rows)


# ---- reStructuredText simple tables --------------------------------------------------------------


def _rst_table(lines: list[Line], i: int) -> tuple[Table, int] | None:
    cols = [(m.start(), m.end()) for m in re.finditer(r"=+", lines[i].text)]
    rules, k, blanks = [i], i + 1, 0
    while k < len(lines) and len(rules) < 3 and k - i < 1000:
        text = lines[k].text
        if RST_RULE.match(text):
            if [(m.start(), m.end()) for m in re.finditer(r"=+", text)] != cols:
                break
            rules.append(k)
        blanks = blanks + 1 if not text.strip() else 0
        if blanks >= 2:
            break
        k += 1
    if len(rules) < 2:
        return None
    if len(rules) == 3 and rules[1] - rules[0] <= 4:
        head, body, close = lines[rules[0] + 1 : rules[1]], lines[rules[1] + 1 : rules[2]], rules[2]
    else:
        head, body, close = [], lines[rules[0] + 1 : rules[1]], rules[1]
    names = [""] * len(cols)
    for ln in head:
        for j, (cell, _) in enumerate(_rst_cells(ln, cols)):
            names[j] = f"{names[j]} {cell}".strip()
    rows, row_spans, cell_spans = [], [], []
    for ln in body:
        if not ln.stripped:
            continue
        cells = _rst_cells(ln, cols)
        rows.append(tuple(c for c, _ in cells))
        row_spans.append((ln.start, ln.end))
        cell_spans.append(tuple(s for _, s in cells))
    if len(rows) < 1:
        return None
    header_span = (head[0].start, head[-1].end) if head else (lines[i].start, lines[i].end)
    typed_spans = _label_without_colon(rows, cell_spans)
    return Table(tuple(names), tuple(rows), tuple(row_spans), header_span, typed_spans, "rst"), close + 1


def _rst_cells(line: Line, cols: list[tuple[int, int]]) -> list[tuple[str, tuple[int, int]]]:
    """Each token goes to the rule column it overlaps most (or the nearest one)."""
    found: list[list[tuple[int, int]]] = [[] for _ in cols]
    for m in re.finditer(r"\S+", line.text):
        a, b = m.span()
        best = max(range(len(cols)), key=lambda j: (min(b, cols[j][1]) - max(a, cols[j][0]),
                                                   -min(abs(a - cols[j][1]), abs(cols[j][0] - b))))
        found[best].append((a, b))
    out = []
    for j, toks in enumerate(found):
        if toks:
            a, b = toks[0][0], toks[-1][1]
            out.append((line.text[a:b], (line.start + a, line.start + b)))
        else:
            pos = line.start + min(cols[j][0], len(line.text))
            out.append(("", (pos, pos)))
    return out


# ---- reStructuredText grid tables ----------------------------------------------------------------


def _grid_table(lines: list[Line], i: int) -> tuple[Table, int] | None:
    border = lines[i].text
    plus = [k for k, ch in enumerate(border) if ch == "+"]
    cols = list(zip(plus, plus[1:], strict=False))
    head: list[Line] = []
    body: list[Line] = []
    k = i + 1
    while k < len(lines):
        text = lines[k].text
        if GRID_HEAD_BORDER.match(text) and not head and len(text.rstrip()) == len(border.rstrip()):
            head, body = body, []
        elif GRID_BORDER.match(text):
            pass
        elif text.lstrip().startswith("|") and all(len(text) > b and text[b] in "|+" for _, b in cols):
            body.append(lines[k])
        else:
            break
        k += 1
    if not GRID_BORDER.match(lines[k - 1].text) and not GRID_HEAD_BORDER.match(lines[k - 1].text):
        return None
    names = [""] * len(cols)
    for ln in head:
        for j, (cell, _) in enumerate(_grid_cells(ln, cols)):
            names[j] = f"{names[j]} {cell}".strip()
    rows, row_spans, cell_spans = [], [], []
    for ln in body:
        cells = _grid_cells(ln, cols)
        if not any(c for c, _ in cells):
            continue
        rows.append(tuple(c for c, _ in cells))
        row_spans.append((ln.start, ln.end))
        cell_spans.append(tuple(sp for _, sp in cells))
    if not rows:
        return None
    header_span = (head[0].start, head[-1].end) if head else (lines[i].start, lines[i].end)
    typed_spans = _label_without_colon(rows, cell_spans)
    return Table(tuple(names), tuple(rows), tuple(row_spans), header_span, typed_spans, "grid"), k


def _grid_cells(line: Line, cols: list[tuple[int, int]]) -> list[tuple[str, tuple[int, int]]]:
    out = []
    for a, b in cols:
        raw = line.text[a + 1 : b]
        body = raw.strip()
        s = line.start + a + 1 + (len(raw) - len(raw.lstrip()))
        out.append((body, (s, s + len(body))))
    return out


# ---- whitespace-aligned and tab-separated --------------------------------------------------------


def split_cells(s: str) -> list[str]:
    s = s.strip()
    if s.startswith("|") or s.count("|") >= 2:
        return [c.strip() for c in s.strip("|").split("|")]
    if "\t" in s:
        return [c.strip() for c in s.split("\t") if c.strip()]
    if re.search(r"\S {2,}\S", s):
        return [c.strip() for c in re.split(r" {2,}", s) if c.strip()]
    return s.split()


def _is_row(cells: list[str]) -> bool:
    rest = cells[1:]
    return (len(cells) >= 2 and len(cells[0]) <= 60 and all(is_numeric(c) or EMPTY_CELL.match(c) for c in rest)
            and any(is_numeric(c) for c in rest))


def _is_mixed_row(line: str, cells: list[str]) -> bool:
    """An aligned row (cells apart by two or more spaces or a tab) whose value cells are mostly numbers
    and otherwise short words (``on call``, ``yes``, ``CWI``), never a sentence."""
    if not re.search(r"\S(?: {2,}|\t)\S", line.strip()) or len(cells) < 3 or len(cells[0]) > 60:
        return False
    rest = [c for c in cells[1:] if not EMPTY_CELL.match(c)]
    numbers = sum(is_numeric(c) for c in rest)
    words = [c for c in rest if not is_numeric(c)]
    short = all(len(c) <= 24 and len(c.split()) <= 3 and not re.search(r"[.;:!?]\s|[.;!?]$", c) for c in words)
    return numbers >= 1 and numbers * 2 >= len(rest) and short


def group_header(header: str, n: int) -> tuple[str, ...] | None:
    """Split a header line into ``n`` column names (or ``n - 1`` after an unnamed label column)."""
    cells = split_cells(header)
    if len(cells) == n:
        return tuple(cells)
    if len(cells) == n - 1 and re.search(r"\S(?: {2,}|\t)\S", header.strip()):
        return ("", *cells)
    words = header.split()
    if len(words) < n - 1:
        return None
    if len(words) == n - 1:
        return ("", *words)
    # New column at each capitalised word, if that gives exactly n groups.
    groups: list[list[str]] = []
    for w in words:
        if not groups or w[0].isupper() or w[0].isdigit():
            groups.append([w])
        else:
            groups[-1].append(w)
    if len(groups) == n:
        return tuple(" ".join(g) for g in groups)
    # Otherwise one word per column, the rest joined into the last column.
    return tuple(words[: n - 1]) + (" ".join(words[n - 1 :]),)


def _cell_spans(line: Line, cells: list[str]) -> Spans:
    spans, pos = [], 0
    for c in cells:
        k = line.text.find(c, pos)
        if k < 0:
            k = pos
        spans.append((line.start + k, line.start + k + len(c)))
        pos = k + len(c)
    return tuple(spans)


def _aligned_table(lines: list[Line], i: int) -> tuple[Table, int] | None:
    header = lines[i]
    if not _header_like(header):
        return None
    head = [header]
    body = _aligned_rows(lines, i + 1)
    if body is None and i + 2 < len(lines) and _header_like(lines[i + 1]) and _may_stack(header):
        head = [header, lines[i + 1]]  # a two-line header ("Read" over "(MB/s)")
        body = _aligned_rows(lines, i + 2)
    if body is None:
        return None
    rows, spans, cell_spans, j = body
    n = len(rows[0])
    columns = group_header(header.text, n) if len(head) == 1 else _stacked_header(head, spans, cell_spans, n)
    if columns is None or (numeric_share([c for c in columns if c]) > 0.5 and not year_header(columns)):
        return None
    layout = "tab" if "\t" in header.text else "whitespace"
    typed_spans = _label_without_colon(rows, cell_spans)
    return Table(columns, tuple(rows), tuple(spans), (head[0].start, head[-1].end), typed_spans, layout), j


def _header_like(line: Line) -> bool:
    cells = split_cells(line.text)
    return bool(line.stripped) and not line.stripped.endswith((".", ":")) and not PIPE_SEPARATOR.match(line.text) \
        and (not _is_row(cells) or year_header(cells))


YEAR_CELL = re.compile(r"(?:1[89]|20)\d{2}")


def year_header(cells: list[str] | tuple[str, ...]) -> bool:
    """A header naming years over the value columns ("Route  2021  2022  2023"): two or more
    distinct years, in order, after a label (which may be empty)."""
    years = [c for c in cells[1:]] if len(cells) > 2 and not YEAR_CELL.fullmatch(cells[0]) else list(cells)
    return len(years) >= 2 and all(YEAR_CELL.fullmatch(c) for c in years) and (years == sorted(years) or years == sorted(years, reverse=True)) \
        and len(set(years)) == len(years)


def _may_stack(line: Line) -> bool:
    """A first header line: short aligned chunks (two or more, or one indented over the value
    columns), not prose (a sentence with two spaces after its full stop has long chunks)."""
    chunks = re.findall(r"\S+(?: \S+)*", line.text)
    return all(len(c.split()) <= 4 for c in chunks) and (len(chunks) >= 2 or line.text.startswith("  "))


def _aligned_rows(lines: list[Line], j: int) -> tuple[list[tuple[str, ...]], list[tuple[int, int]], list[Spans], int] | None:
    """Two or more consecutive rows with the same number of cells, starting at ``lines[j]``."""
    rows, spans, cell_spans = [], [], []
    n = None
    while j < len(lines):
        cells = split_cells(lines[j].text)
        if not (_is_row(cells) or _is_mixed_row(lines[j].text, cells) or _is_short_row(cells, n)):
            break
        if n is not None and len(cells) != n:
            placed = _by_position(lines[j], cells, n, spans, cell_spans) if len(cells) < n else None
            if placed is None:
                break
            row, row_spans = placed
        else:
            n = len(cells)
            row, row_spans = tuple(cells), _cell_spans(lines[j], cells)
        rows.append(row)
        spans.append((lines[j].start, lines[j].end))
        cell_spans.append(row_spans)
        j += 1
    return (rows, spans, cell_spans, j) if len(rows) >= 2 else None


def _is_short_row(cells: list[str], n: int | None) -> bool:
    """A row with some cells left empty ("Marsby      6,300   9,850" under four years): a label and numbers."""
    return n is not None and 2 <= len(cells) < n and all(is_numeric(c) for c in cells[1:])


def _by_position(line: Line, cells: list[str], n: int, spans: list[tuple[int, int]],
                 cell_spans: list[Spans]) -> tuple[tuple[str, ...], Spans] | None:
    """Place the cells of a row with empty cells under the columns they line up with: each value goes
    to the column whose cells above end nearest to where it ends (numbers are right-aligned)."""
    if not cell_spans:
        return None
    ends = [sum(cs[k][1] - s for cs, (s, _) in zip(cell_spans, spans, strict=True)) / len(cell_spans) for k in range(n)]
    found = _cell_spans(line, cells)
    row = [cells[0]] + [""] * (n - 1)
    out = [found[0]] + [(line.end, line.end)] * (n - 1)
    last = 0
    for cell, (a, b) in zip(cells[1:], found[1:], strict=True):
        k = min(range(1, n), key=lambda c: abs(ends[c] - (b - line.start)))
        if k <= last or row[k]:
            return None  # cells out of order: not this table's row
        row[k], out[k], last = cell, (a, b), k
    return tuple(row), tuple(out)


def _stacked_header(head: list[Line], spans: list[tuple[int, int]], cell_spans: list[Spans], n: int) -> tuple[str, ...]:
    """Column names from header lines stacked over the rows: each chunk of words goes to the column
    whose cells it overlaps most (by position in the line), or the nearest one."""
    lo = [min(cs[k][0] - s for cs, (s, _) in zip(cell_spans, spans, strict=True)) for k in range(n)]
    hi = [max(cs[k][1] - s for cs, (s, _) in zip(cell_spans, spans, strict=True)) for k in range(n)]
    names: list[list[str]] = [[] for _ in range(n)]
    for line in head:
        for m in re.finditer(r"\S+(?: \S+)*", line.text):
            a, b = m.span()
            k = max(range(n), key=lambda c: (min(b, hi[c]) - max(a, lo[c]), -min(abs(a - hi[c]), abs(lo[c] - b))))
            names[k].append(m.group(0))
    return tuple(" ".join(w) for w in names)


def _label_without_colon(rows: list[tuple[str, ...]], cell_spans: list[Spans]) -> tuple[Spans, ...]:
    """Drop a trailing colon from label cells (rows are rewritten in place)."""
    out = []
    for r, (row, spans) in enumerate(zip(rows, cell_spans, strict=True)):
        label = row[0]
        if label.endswith(":") and len(label) > 1:
            a, b = spans[0]
            rows[r] = (label[:-1].rstrip(), *row[1:])
            spans = ((a, a + len(rows[r][0])), *spans[1:])
        out.append(tuple(spans))
    return tuple(out)


# An enumeration of named counts inside running text ("class_0 (59), class_1 (71) and class_2 (48)")
# is a two-column table: the names keyed to their numbers. Three items at least, joined only by
# commas and stop words ("and the"); a name is the last one to three words before its bracket that are not stop words.
ENUM_ITEM = re.compile(r"(?P<label>[^\s,;:()\[\]][^,;:()\[\]\n]{0,60}?)\s*\((?P<num>[−\-]?\d[\d,]*(?:\.\d+)?\s?%?)\)")
ENUM_MIN_ITEMS = 3
ENUM_NAME_WORDS = 3


def inline_tables(text: str, offset: int, stopwords: frozenset[str]) -> list[Table]:
    """The enumerations of named numbers in ``text`` (found at ``offset``) as two-column tables."""
    items = list(ENUM_ITEM.finditer(text))
    runs: list[list[tuple[tuple[int, int], tuple[int, int]]]] = []
    run: list[tuple[tuple[int, int], tuple[int, int]]] = []
    last_end = -1
    for m in items:
        name = _enum_name(m.group("label"), stopwords)
        if name is None:
            last_end = -1
            continue
        a = m.start("label") + m.group("label").rindex(name)
        between = text[last_end:a] if last_end >= 0 else None
        gap = between.replace(",", " ").split() if between is not None else []
        joined = between is not None and ("," in between or bool(gap)) and all(w.lower() in stopwords for w in gap)
        if not joined and run:
            runs.append(run)
            run = []
        run.append(((a, a + len(name)), (m.start("num"), m.end("num"))))
        last_end = m.end()
    if run:
        runs.append(run)
    tables = []
    for r in runs:
        if len(r) < ENUM_MIN_ITEMS:
            continue
        rows = tuple((text[n[0] : n[1]], text[v[0] : v[1]]) for n, v in r)
        cell_spans = tuple(((n[0] + offset, n[1] + offset), (v[0] + offset, v[1] + offset)) for n, v in r)
        row_spans = tuple((n[0] + offset, v[1] + offset + 1) for n, v in r)  # the name to its closing bracket
        # the column is named by the words that introduce the list ("Class Distribution:", "The branches were")
        lead = re.split(r"[:.;!?]\s+", text[: r[0][0][0]].rsplit("\n", 1)[-1].strip().rstrip(":").strip())[-1]
        column = " ".join(w for w in re.findall(r"[\w'’\-]+", lead) if w.lower() not in stopwords) or "value"
        tables.append(Table(columns=("", column), rows=rows, row_spans=row_spans, header_span=(r[0][0][0] + offset, r[0][0][0] + offset),
                            cell_spans=cell_spans, layout="inline"))
    return tables


def _enum_name(label: str, stopwords: frozenset[str]) -> str | None:
    words = label.split()
    name: list[str] = []
    for w in reversed(words):
        if w.lower() in stopwords or len(name) == ENUM_NAME_WORDS:
            break
        name.insert(0, w)
    return " ".join(name) if name else None
