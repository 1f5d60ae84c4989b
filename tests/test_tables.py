"""Tables in real layouts, typed cells, operations over name-keyed rows, and flows from either side.

Documents here are written in the test, in several layouts and with invented names, so nothing in
``chatbot/`` can know them; expected values are computed from the cells by the test itself.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.corpus import parse_document
from chatbot.facts.cells import type_cell
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB, extract_all
from chatbot.types import Document

RST = """Sensor readings
===============

:Number of Stations: 1,204
:Summary:

================ ===== ====== ======
                   Low   High   Mean
================ ===== ====== ======
Soil moisture:    12.5   48.0   30.2
Leaf temperature: 14.0  162.5   71.3
Wind speed:        0.4    9.8    3.1
================ ===== ====== ======

The readings were taken over a season.
"""

MARKDOWN = """# Supported boards

| Board   | System  | Toolchain |
| ------- | ------- | --------- |
| Quill   | Linux   | GCC       |
| Quill   | Windows | MSVC      |
| Heron   | Linux   | GCC       |
| Heron   | Solaris | Sun Studio |
| Osprey  | Linux   | Clang     |

Other boards may work.
"""

FLOWS = """Marrow and Tessaly trade

Figures from the Marrowan statistics office. Marrow's exports to Tessaly grew again.

Year  Imports from Tessaly  Exports to Tessaly
2022  ¥1,204.5m             ¥980.25m
2023  ¥1,310.0m             ¥1,402.75m

Product  Imports from Tessaly  Exports to Tessaly
Grain    ¥210.5m               ¥88.0m
Cloth    ¥95.25m               ¥301.5m
"""

VANS = """Van trial

| Model | Range | Price |
|---|---|---|
| Alder 2 | 268 km | €41,900 |
| Birch L | 312 km | €47,350 |
| Cedar X | 287 km | €52,600 |
"""


def _qa(name: str, text: str, suffix: str = ".md") -> tuple[Document, NumericQA]:
    doc = Document(doc_id=name, path=name + suffix, text=text, title=name)
    passages, tables = parse_document(doc)
    facts, typed = extract_all([doc], passages, {doc.doc_id: tables})
    return doc, NumericQA(FactsDB(facts, typed), {doc.doc_id: doc.text})


def _cells_exact(doc: Document, qa: NumericQA) -> None:
    for t in qa.db.tables:
        for row, spans in zip(t.cells, t.cell_spans, strict=True):
            assert [doc.text[a:b] for a, b in spans] == list(row)


def test_rst_simple_table_with_unnamed_label_column() -> None:
    doc, qa = _qa("sensors", RST, ".rst")
    (t,) = qa.db.tables
    assert t.columns == ("", "Low", "High", "Mean")
    assert t.labels == ("Soil moisture", "Leaf temperature", "Wind speed")
    assert t.exact[1][2] == "162.5"
    _cells_exact(doc, qa)
    ans = qa.answer("What is the high leaf temperature?")
    assert ans is not None and "162.5" in ans.text
    ans = qa.answer("Which reading has the highest mean?")
    assert ans is not None and ans.text.startswith("Leaf temperature")
    ans = qa.answer("How many stations are there?")
    assert ans is not None and "1,204" in ans.text and doc.text[ans.evidence[0].start : ans.evidence[0].end] == ans.evidence[0].quote
    ans = qa.answer("What's the range of wind speed, high minus low?")
    assert ans is not None and "9.4" in ans.text and any("9.8 − 0.4 = 9.4" in a for a in ans.arithmetic)


def test_markdown_text_table_lookup_and_counts() -> None:
    doc, qa = _qa("boards", MARKDOWN)
    (t,) = qa.db.tables
    assert t.layout == "markdown" and len(t.labels) == 5
    _cells_exact(doc, qa)
    ans = qa.answer("Which toolchain is listed for Quill on Windows?")
    assert ans is not None and "MSVC" in ans.text and "GCC" not in ans.text
    assert "4" in qa.answer("How many rows use a toolchain other than Clang?").text
    assert "2" in qa.answer("How many Heron configurations are in the table?").text
    assert "5 rows" in qa.answer("How many boards are listed in total?").text


def test_extreme_and_compare_over_named_rows() -> None:
    _, qa = _qa("vans", VANS)
    ans = qa.answer("Which van has the longest range?")
    assert ans is not None and ans.text.startswith("Birch L") and "312" in ans.text
    ans = qa.answer("Is Alder 2 or Cedar X cheaper, by price?")
    assert ans is not None and "Alder 2" in ans.text and "10,700" in ans.text


def test_flows_from_either_side() -> None:
    _, qa = _qa("marrow", FLOWS, ".txt")
    (ft, _) = qa.flow_tables.values()
    assert (ft.reporter.name, ft.partner.name) == ("Marrow", "Tessaly")
    # Tessaly's sales to Marrow are Marrow's imports from Tessaly
    ans = qa.answer("How much did Tessaly sell to Marrow in 2023?")
    assert ans is not None and "1,310.0" in ans.text.replace("1,310.00", "1,310.0")
    ans = qa.answer("How much did Tessaly buy from Marrow in 2022?")
    assert ans is not None and "980.25" in ans.text
    # Tessaly's surplus is Marrow's deficit: 1,204.5 − 980.25 in 2022
    ans = qa.answer("What was Tessaly's trade surplus with Marrow in 2022?")
    assert ans is not None and "224.25" in ans.text
    ans = qa.answer("Did Tessaly have a trade surplus with Marrow in 2023?")
    assert ans is not None and "no" in ans.text.lower() and "deficit" in ans.text
    # by product, from the partner's side
    ans = qa.answer("How much cloth did Tessaly buy from Marrow?")
    assert ans is not None and "301.5" in ans.text


@pytest.mark.parametrize(
    ("cell", "value", "unit"),
    [("€389.1m", "389100000", "EUR"), ("312 km", "312", "km"), ("18.5%", "18.5", "percent"),
     ("−1,230.6", "-1230.6", ""), ("$8.13M", "8130000", "USD"), ("+€26.6m", "26600000", "EUR")],
)
def test_cells_typed_exactly(cell: str, value: str, unit: str) -> None:
    c = type_cell(cell)
    assert c.value == Decimal(value) and c.unit == unit


def test_text_cell_is_not_a_number() -> None:
    assert type_cell("Sun Studio").value is None and type_cell("").value is None


def test_a_table_that_cannot_be_typed_is_still_one_passage() -> None:
    doc = Document(doc_id="x", path="x.md", text=MARKDOWN, title="x")
    passages, _ = parse_document(doc)
    (table,) = [p for p in passages if p.kind == "table"]
    assert "| Osprey  | Linux   | Clang     |" in table.text


def test_answering_keeps_no_state_on_the_shared_object() -> None:
    _, qa = _qa("marrow", FLOWS, ".txt")
    before = {k: id(v) for k, v in vars(qa).items()}
    for q in ("What was Tessaly's trade surplus with Marrow in 2022?", "How much grain did Marrow buy from Tessaly?"):
        qa.answer(q)
    assert {k: id(v) for k, v in vars(qa).items()} == before


INLINE = """Seed trial

The trial sowed four beds last spring. Germinated seedlings: Bed North (420), Bed East (385), Bed South (455) and the Old Bed (230).
The beds were watered by hand (twice a day).
"""


def test_an_enumeration_of_named_counts_is_a_table() -> None:
    doc, qa = _qa("seed-trial", INLINE)
    inline = [t for t in qa.db.tables if t.layout == "inline"]
    assert len(inline) == 1
    t = inline[0]
    assert t.labels == ("Bed North", "Bed East", "Bed South", "Old Bed")
    assert [v[1] for v in t.values] == [420, 385, 455, 230]
    assert t.columns[1] == "Germinated seedlings"
    for row, ((a, b), (c, d)) in zip(t.cells, t.cell_spans, strict=True):
        assert doc.text[a:b] == row[0] and doc.text[c:d] == row[1]


def test_is_one_named_row_the_extreme_is_answered_yes_or_no() -> None:
    _, qa = _qa("seed-trial", INLINE)
    yes = qa.answer("Is Bed South the bed with the most germinated seedlings?")
    assert yes is not None and yes.verdict == "Yes" and "455" in yes.text
    no = qa.answer("Is Bed East the bed with the most germinated seedlings?")
    assert no is not None and no.verdict == "No" and "Bed South" in no.text
    share = qa.answer("What share of the germinated seedlings came from the Old Bed?")
    assert share is not None and "15.4%" in share.text  # 230 / 1,490


PLANTS = """# Pressley district water report

The district runs four treatment plants. Volumes treated, in megalitres (ML):

| Plant | 2022 | 2023 | 2024 |
|-------|------|------|------|
| Ashgrove | 1,240 | 1,310 | 1,405 |
| Bellmoor | 860 | 842 | 910 |
| Corran Bridge | 2,015 | 2,120 | 2,090 |
| Dunmere | 455 | 470 | 512 |
| Total | 4,570 | 4,742 | 4,917 |
"""


def test_a_table_with_years_as_columns_answers_changes_by_row() -> None:
    _, qa = _qa("plants", PLANTS)
    grew = qa.answer("By how much did Ashgrove's volume grow from 2022 to 2024?")
    assert grew is not None and "1,240" in grew.text and "1,405" in grew.text and "up 165 (+13.3%)" in grew.text
    assert "1,405 − 1,240 = 165" in " ".join(grew.arithmetic)
    fell = qa.answer("Did Bellmoor treat more water in 2023 than in 2022?")
    assert fell is not None and "down 18" in fell.text and fell.compared == (842.0, 860.0)  # in the order the question names them
    fastest = qa.answer("Which plant grew fastest between 2022 and 2024?")
    assert fastest is not None and fastest.text.startswith("Ashgrove") and "+13.3%" in fastest.text and "Total" not in fastest.text
    most = qa.answer("Which plant treated the most water in 2024?")  # "most" of a noun: a level, not a change
    assert most is not None and most.text.startswith("Corran Bridge") and "2,090" in most.text
    count = qa.answer("How many plants are there?")
    assert count is not None and "4 rows" in count.text and "Total" not in count.text


def test_a_row_of_years_gives_its_peak_and_the_rows_that_moved() -> None:
    _, qa = _qa("plants", PLANTS)
    peak = qa.answer("In which year did Corran Bridge treat the most water?")
    assert peak is not None and "highest in 2023: 2,120" in peak.text
    fell = qa.answer("Which plant's volume fell between 2023 and 2024?")
    assert fell is not None and "1 of 4 rows fell" in fell.text and "Corran Bridge 2,120 → 2,090 (−30)" in fell.text
    share = qa.answer("What is Corran Bridge's share of the total in 2022?")  # the Total row is the whole, not a second row
    assert share is not None and "44.1%" in share.text and "2,015" in share.text and "4,570" in share.text


BIKES = """Courier bike trial: results after twelve months

Four cargo bikes were run by the courier's city hub from March 2024 to February 2025.

    Bike           Distance (km)   Charging cost   Downtime (days)   Battery loss
    Strada C2          9,420           €231             4              −6.5%
    Kivi Long          7,980           €204            11              −9.0%
    Ferro 3            11,300          €289             2              −4.2%
    Tandil Box         6,750           €176            19             −12.8%

The trial budget was €18,000, of which €12,450 was spent.
"""


def test_per_unit_ratios_losses_and_what_is_left() -> None:
    _, qa = _qa("bikes", BIKES)
    per_km = qa.answer("Which bike had the lowest charging cost per km?")  # divided by the column measured in km
    assert per_km is not None and per_km.text.startswith("Strada C2") and "0.0245" in " ".join(per_km.arithmetic)
    lost = qa.answer("Which bike lost the most battery capacity?")  # the largest loss, not the least negative number
    assert lost is not None and lost.text.startswith("Tandil Box") and "−12.8%" in lost.text
    least = qa.answer("Which bike had the smallest battery loss?")
    assert least is not None and least.text.startswith("Ferro 3")
    together = qa.answer("How much did charging cost for all four bikes together?")
    assert together is not None and "€900" in together.text  # 231 + 204 + 289 + 176
    left = qa.answer("How much of the trial budget was left?")
    assert left is not None and "That leaves €5,550" in left.text and "18,000 − 12,450 = 5,550" in " ".join(left.arithmetic)


ROLLOUT = """Hollin Valley broadband rollout: year two

The Hollin Valley Digital Partnership connected 4,820 homes to full-fibre broadband in 2024, up from
2,950 in 2023. The partnership's contractor laid 212 kilometres of cable during the year.

The partnership expects to connect a further 6,000 homes in 2025 at a cost of £7.9 million.
"""


def test_a_count_from_a_sentence_is_for_the_year_asked() -> None:
    _, qa = _qa("rollout", ROLLOUT)
    later = qa.answer("How many homes will be connected in 2025?")
    assert later is not None and "6,000" in later.text  # not 4,820, whose sentence is about 2024 and 2023
    this = qa.answer("How many homes were connected in 2024?")
    assert this is not None and "4,820" in this.text
    # a total over the two years is not the figure of one of them
    assert qa.answer("How many homes have been connected in total over the two years?") is None


SOIL = """Soil survey dataset
-------------------

:Summary Statistics:

============== ==== ===== ======= ===== ====================
                Min  Max   Mean    SD   Yield Correlation
============== ==== ===== ======= ===== ====================
moisture:       4.3  17.9   9.84   2.83    0.6126
acidity:        5.0   7.4   6.05   0.43   -0.3194
nitrogen:       1.0  16.9   5.76   3.76    0.8490
============== ==== ===== ======= ===== ====================
"""


def test_rows_within_a_bound_and_the_range_of_a_row() -> None:
    _, qa = _qa("soil", SOIL, ".rst")
    negative = qa.answer("Which attribute has a negative correlation with yield?")
    assert negative is not None and "1 of 3 rows" in negative.text and "acidity −0.3194" in negative.text
    above = qa.answer("Which attributes have a mean above 6?")
    assert above is not None and "2 of 3 rows have Mean > 6" in above.text and "nitrogen" not in above.text
    spread = qa.answer("What is the range of nitrogen?")  # Max minus Min, the columns a range is made of
    assert spread is not None and "15.9" in spread.text and "16.9 − 1.0 = 15.9" in " ".join(spread.arithmetic)
    _, plants = _qa("plants", PLANTS)
    big = plants.answer("Which plants treated more than 1,000 ML in 2024?")
    assert big is not None and "Ashgrove" in big.text and "Corran Bridge" in big.text and "Total" not in big.text


FLEET = """Harbour launches: annual figures

Passenger journeys by launch route, counted at the gates:

    Route            2022      2023      2024
    North Quay     120,400   131,800   129,300
    Salt Steps      64,250    70,900    78,400
    Eel Point       21,900    20,200    23,450
    All routes     206,550   222,900   231,150

  Launch    Built   Capacity   Fuel (l/h)
  Wren      2004      120         95
  Heron     2012      180        120
  Kite      2019       90         70

Fare revenue reached €3.4 million in 2024, up from €3.1 million in 2023.
"""


def test_years_over_whitespace_columns_and_the_words_that_ask_for_a_total() -> None:
    _, qa = _qa("launches", FLEET)
    routes = next(t for t in qa.db.tables if t.columns[0] == "Route")
    assert routes.columns[1:] == ("2022", "2023", "2024") and routes.labels[-1] == "All routes"
    most = qa.answer("which route carried the most passengers in 2024?")  # "route" does not name the All routes row
    assert most is not None and most.text.startswith("North Quay")
    whole = qa.answer("total passengers across all routes in 2023?")
    assert whole is not None and "222,900" in whole.text
    capacity = qa.answer("what's the total capacity of the launches?")  # no Total row: the column is added up
    assert capacity is not None and "390" in capacity.text
    assert qa.answer("what fuel does the Wren run on?") is None  # which fuel, not how much of it
    assert qa.answer("how much fuel does the Wren use per hour?") is not None
    rise = qa.answer("by how much did fare revenue rise in 2024?")  # one sentence gives both years
    assert rise is not None and "up €0.30 million (+9.7%)" in rise.text


def test_the_newest_and_oldest_read_the_column_of_years() -> None:
    _, qa = _qa("launches", FLEET)
    newest = qa.answer("which launch is the newest?")
    assert newest is not None and newest.text.startswith("Kite is the newest") and "2019" in newest.text and "2,019" not in newest.text
    oldest = qa.answer("which is the oldest launch?")
    assert oldest is not None and oldest.text.startswith("Wren is the oldest")


SOURCES = """Quill toolkit: source files
===========================

==================  ================================================  ========
File                Purpose                                           Lines
==================  ================================================  ========
qpack.c             Packs archives and writes the index               2,410
qhash.c             Checksums (CRC-32 and xxHash)                       640
qcli.c              Command-line front end                            1,120
==================  ================================================  ========
"""


def test_a_question_about_a_row_that_asks_no_quantity_gets_no_number() -> None:
    _, qa = _qa("sources", SOURCES, ".rst")
    assert qa.answer("What does qhash.c do?") is None  # its purpose, not its line count
    lines = qa.answer("How many lines is qcli.c?")
    assert lines is not None and "1,120" in lines.text


KETTLES = """# Kettle test 2026

Six cordless kettles were boiled, weighed and priced by the Brightwell consumer panel.

| Kettle | Price | Boil time (1 l) | Weight | Capacity |
|---|---|---|---|---|
| Zorvik Steam 2 | £34.99 | 3.9 min | 1.1 kg | 1.7 l |
| Halden Brew S | £49.50 | 2.8 min | 1.4 kg | 1.5 l |
| Quorra Mini | £22.00 | 4.6 min | 0.8 kg | 1.0 l |
| Ostby Classic 17 | £41.25 | 3.2 min | 1.3 kg | 1.7 l |
| **Average** | **£36.94** | **3.6 min** | **1.15 kg** | **1.5 l** |

The Halden Brew S comes with a two-year heating element warranty.
Capacity is the volume of water a kettle holds when filled to its max line.
"""


def test_bold_summary_rows_are_read_but_never_counted_ranked_or_added() -> None:
    doc, qa = _qa("kettles", KETTLES)
    (t,) = qa.db.tables
    assert t.labels[-1] == "Average" and t.exact[-1][1] == "36.94"  # "**£36.94**": the cell inside the emphasis
    _cells_exact(doc, qa)
    above = qa.answer("how many kettles cost more than the average price?")
    assert above is not None and above.text.startswith("2 of 4 rows") and "Average row's £36.94" in above.text
    assert "Halden Brew S" in above.text and "Ostby Classic 17" in above.text
    mean = qa.answer("what is the average weight of the kettles, leaving out the Quorra?")
    assert mean is not None and "over the 3 rows (leaving out Quorra Mini)" in mean.text and "1.267 kg" in mean.text
    assert qa.answer("what is the average weight?").text.startswith("Weight for Average: 1.15 kg")  # type: ignore[union-attr]


def test_names_no_dictionary_knows_name_rows_and_adjectives_name_columns() -> None:
    _, qa = _qa("kettles", KETTLES)
    cheaper = qa.answer("which is cheaper, the Zorvik or the Ostby?")  # brand names alone; "cheaper" → the prices
    assert cheaper is not None and cheaper.text.startswith("Zorvik Steam 2 has the lower Price: £34.99")
    lightest = qa.answer("which kettle is the lightest?")
    assert lightest is not None and lightest.text.startswith("Quorra Mini")
    _, barges = _qa("barges", "| Barge | Length | Payload |\n|---|---|---|\n| Merle | 80 m | 1,200 t |\n| Tove | 95 m | 1,650 t |\n")
    carries = barges.answer("which barge carries more, Merle or Tove?")  # a verb of carrying weight → the column in tonnes
    assert carries is not None and carries.text.startswith("Tove has the higher Payload: 1,650 t")


def test_quicker_over_a_column_of_minutes_is_the_smaller_number() -> None:
    _, qa = _qa("kettles", KETTLES)
    quick = qa.answer("is the Zorvik or the Ostby quicker to boil?")
    assert quick is not None and quick.text.startswith("Ostby Classic 17 has the lower Boil time")
    fastest = qa.answer("which kettle boils fastest?")
    assert fastest is not None and fastest.text.startswith("Halden Brew S") and "2.8 min" in fastest.text
    slowest = qa.answer("which kettle is the slowest to boil?")
    assert slowest is not None and slowest.text.startswith("Quorra Mini")


def test_the_gap_between_the_highest_and_the_lowest_row() -> None:
    _, qa = _qa("kettles", KETTLES)
    gap = qa.answer("what's the price gap between the most expensive and the cheapest kettle?")
    assert gap is not None and gap.operation == "difference" and "£27.50" in gap.text
    assert gap.arithmetic == ["Halden Brew S − Quorra Mini = 49.50 − 22.00 = 27.50"]


def test_a_column_word_that_only_modifies_what_the_text_says_of_a_row_names_no_column() -> None:
    _, qa = _qa("kettles", KETTLES)
    assert qa.answer("how long is the heating element warranty on the Halden?") is None  # the prose says it; "Weight" is not asked


def test_a_column_named_only_by_its_modifier_is_looked_up_only_when_a_quantity_is_asked() -> None:
    _, qa = _qa("bikes", BIKES)
    assert qa.answer("what happened to the Ferro's battery during the trial?") is None  # "battery" is not "Battery loss"
    much = qa.answer("how much battery did the Ferro 3 lose?")
    assert much is not None and "−4.2%" in much.text


def test_an_extreme_among_the_rows_a_bound_with_a_unit_keeps() -> None:
    _, qa = _qa("kettles", KETTLES)
    cheap = qa.answer("of the kettles that hold at least 1.5 l, which is the cheapest?")  # "l" names Capacity, "cheapest" Price
    assert cheap is not None and cheap.text.startswith("Of the rows with Capacity ≥ 1.5 l, Zorvik Steam 2 has the lowest Price: £34.99")
    assert cheap.arithmetic and "Quorra Mini" not in cheap.arithmetic[0]
    held = qa.answer("which kettles hold at least 1.5 l?")  # a bound alone lists the rows, no extreme ("at least" is not "least")
    assert held is not None and held.text.startswith("3 of 4 rows")


def test_a_column_the_text_defines_is_named_by_the_words_of_its_definition() -> None:
    _, qa = _qa("kettles", KETTLES)
    water = qa.answer("how much water does the Quorra Mini take?")  # "Capacity is the volume of water …"
    assert water is not None and water.text.startswith("Capacity for Quorra Mini: 1.0 l")
    assert qa.answer("how much does the Quorra Mini weigh?").text.startswith("Weight")  # type: ignore[union-attr]


MUSEUM = """Corvane City Museums: visitors 2022-2024

The Corvane Heritage Trust reports its visitor numbers every spring.

    Year   Visitors   School groups
    2022   214,500    1,120
    2023   251,900    1,340
    2024   268,300    1,410

Visitors in 2019, before the museum wing closed for repairs, were 259,000.
The trust's director said 2024 was "a record year for school groups".
"""

TRADE = """Velsk and Ormary: trade in goods

Velsk customs data show that Velsk exported grain worth €52.0m to Ormary in 2024.

    Year   Imports from Ormary   Exports to Ormary
    2023   €40.2m                €47.5m
    2024   €44.8m                €52.0m

    Product        Imports from Ormary   Exports to Ormary
    Grain          €1.2m                 €30.4m
    Machinery      €28.9m                €6.1m
    Textiles       €14.7m                €15.5m

Velsk's exports to Ormary grew for a second year. The trade minister said the figures "make the case"
for the deal and that grain prices were back to normal.
"""


def test_a_year_the_table_lacks_but_a_sentence_gives_is_compared_with_the_table() -> None:
    _, qa = _qa("museum", MUSEUM)
    beat = qa.answer("did visitors in 2024 beat the 2019 level?")
    assert beat is not None and beat.verdict == "Yes" and "268,300" in beat.text and "259,000 in 2019" in beat.text
    assert beat.evidence[1].quote == "Visitors in 2019, before the museum wing closed for repairs, were 259,000."
    below = qa.answer("were visitors in 2022 higher than in 2019?")
    assert below is not None and below.verdict == "No" and "44,500 less (−17.2%)" in below.text
    gone = qa.answer("how many visitors were there in 2018?")  # no sentence gives 2018: the table's refusal stands
    assert gone is not None and gone.abstain


def test_verbs_and_adverbs_of_a_question_do_not_make_it_about_something_else() -> None:
    _, qa = _qa("trade", TRADE)
    sold = qa.answer("how much money did ormary make selling stuff to velsk back in 2023?")  # "make", "back": how, not what
    assert sold is not None and "€40.2m" in sold.text


def test_a_column_about_one_counterpart_does_not_answer_for_another() -> None:
    _, qa = _qa("trade", TRADE)
    assert qa.answer("what were Velsk's total exports to all countries in 2024?") is None  # the table is exports to Ormary only
    to_ormary = qa.answer("what were Velsk's exports to Ormary in 2024?")
    assert to_ormary is not None and "€52.0m" in to_ormary.text


PUNCH = """Harvest fair punch bowls: what went in

The fair's twelve punch bowls were sampled by the tasting committee.

=========  =====  =====  =====
Content    Min    Max    Mean
=========  =====  =====  =====
Alcohol    4.1    11.6   7.3
Sugar      21.0   48.5   33.9
=========  =====  =====  =====
"""


def test_a_word_the_document_never_uses_finds_the_row_its_dictionary_sense_names() -> None:
    _, qa = _qa("punch", PUNCH, ".rst")
    strongest = qa.answer("what's the strongest a bowl got, booze-wise?")  # "booze" → Alcohol (WordNet); "strongest" → its Max
    assert strongest is not None and strongest.text.startswith("Max for Alcohol: 11.6")
    assert qa.answer("what's the most fruit in a bowl?") is None  # no row is fruit


RESIZERS = """# Thumbnail resizer benchmark

Resizing 10,000 photos to 256 px on one core. [vips] and [pillow] are linked below.

| Resizer                 | Quality | Throughput | Memory  |
| ----------------------- | ------- | ---------- | ------- |
| **shrink 2.4 --q=80**   | 0.981   | 410 img/s  | 38 MB   |
| **shrink 2.4 --q=95**   | 0.993   | 260 img/s  | 41 MB   |
| [vips] 8.15 -fast       | 0.968   | 720 img/s  | 22 MB   |
| [pillow] 10.2           | 0.975   | 180 img/s  | 95 MB   |
| px3 1.1                 | 0.959   | 840 img/s  | 17 MB   |

Quality Chart | Throughput Chart
--------------|-----------------
![Quality](img/q.png "Quality") | ![Throughput](img/t.png "Throughput")

The shrink quality setting is a level from 1 to 100; higher quality levels are slower.
Tools such as magick were not included.

[vips]: https://example.org/vips
[pillow]: https://example.org/pillow
"""


def test_benchmark_rows_by_shared_names_versions_and_links() -> None:
    doc, qa = _qa("resizers", RESIZERS)
    (t,) = qa.db.tables  # the grid of chart images is no table
    assert t.labels[2] == "[vips] 8.15 -fast" and t.exact[2][2] == "720"
    _cells_exact(doc, qa)
    one = qa.answer("what throughput does shrink --q=95 get?")  # the shrink row whose other words the question uses
    assert one is not None and one.text.startswith("Throughput for shrink 2.4 --q=95: 260 img/s")
    vips = qa.answer("how much memory does vips use?")  # link brackets are not part of the name
    assert vips is not None and vips.text.startswith("Memory for vips 8.15 -fast: 22 MB")
    px3 = qa.answer("what is the quality of px3?")  # a three-letter name with a digit names its row
    assert px3 is not None and "0.959" in px3.text
    both = qa.answer("what's the average throughput of the shrink settings?")  # a word two labels share: both rows
    assert both is not None and "over the 2 rows" in both.text and "335 img/s" in both.text
    count = qa.answer("how many rows in the table are shrink settings?")
    assert count is not None and count.text.startswith("The table lists 2 rows with “shrink”")


def test_a_name_the_table_lacks_is_said_to_be_missing_when_the_table_is_asked() -> None:
    _, qa = _qa("resizers", RESIZERS)
    gone = qa.answer("what throughput did magick get in the benchmark table?")
    assert gone is not None and gone.abstain and gone.text.startswith("The table has no row for “magick”")


def test_a_column_word_modifying_a_term_of_the_text_is_not_that_column() -> None:
    _, qa = _qa("resizers", RESIZERS)
    assert qa.answer("what's the highest quality level shrink supports?") is None  # "quality levels" is the text's term
    speed = qa.answer("px3 throughput rate?")  # "rate" says what a column in img/s measures
    assert speed is not None and "840 img/s" in speed.text
    slowest = qa.answer("which resizer has the lowest throughput?")
    assert slowest is not None and slowest.text.startswith("pillow 10.2")


ORCHARDS = """Brell Valley orchards: harvest report

    Year   Harvest (t)
    2023   5,120
    2024   6,400

Harvest by fruit, 2024:

    Fruit       Harvest (t)
    Apples      2,300
    Pears       1,450
    Plums       980
    Cherries    410

The four fruits listed are the main crops; smaller crops make up the rest of the 2024 harvest.
"""


def test_the_top_rows_their_sum_and_their_share_of_the_year_total() -> None:
    _, qa = _qa("orchards", ORCHARDS)
    top = qa.answer("what were the three biggest fruits by harvest in 2024?")
    assert top is not None and top.text.startswith("The top 3 by Harvest (t): Apples 2,300 t")
    assert top.arithmetic == ["2,300 + 1,450 + 980 = 4,730 (the top 3 of 4 rows)"]
    share = qa.answer("what share of the 2024 harvest came from the top two fruits?")  # the whole is the year's total, not the rows
    assert share is not None and "58.6% of the Harvest (t) total for 2024" in share.text
    assert share.arithmetic[-1] == "3,750 / 6,400 = 58.6%"


def test_a_condition_the_text_speaks_of_and_the_table_does_not_keeps_the_table_out() -> None:
    text = RESIZERS + "\nWith a GPU, shrink resizes far more photos per second.\n"
    _, qa = _qa("resizers", text)
    assert qa.answer("what throughput does px3 reach with a GPU?") is None  # the table is one core, no GPU
    assert qa.answer("what throughput does px3 reach?") is not None


def test_better_and_best_follow_the_end_the_document_calls_better() -> None:
    text = RESIZERS + "\nMemory is the peak resident memory of the process; lower is better.\n"
    _, qa = _qa("resizers", text)
    yes = qa.answer("is vips's memory better than pillow's?")
    assert yes is not None and yes.verdict == "Yes" and yes.text.startswith("vips 8.15 -fast has the lower Memory: 22 MB")
    no = qa.answer("is pillow's memory better than vips's?")
    assert no is not None and no.verdict == "No"
    best = qa.answer("which resizer has the best memory?")
    assert best is not None and best.text.startswith("px3 1.1 has the lowest Memory: 17 MB")


SHELTERS = """Fellwick mountain huts: overnight stays

    Hut           2022      2023      2024
    Crag End     1,840     2,010     2,230
    Sorrel Tarn              640     1,120
    High Moss    1,310     1,290     1,405

Sorrel Tarn hut opened in May 2023.

| Hut | Wardens | Stays per night | Closed |
|---|---|---|---|
| Crag End | 3 | 12.4 | 18 days |
| Sorrel Tarn | 2 | 6.1 | 44 days |
| High Moss | 4 | 9.8 | 9 days |
"""


def test_a_row_with_an_empty_cell_keeps_its_values_under_their_columns() -> None:
    doc, qa = _qa("huts", SHELTERS)
    years = next(t for t in qa.db.tables if t.columns[1] == "2022")
    assert years.labels == ("Crag End", "Sorrel Tarn", "High Moss")
    assert years.cells[1] == ("Sorrel Tarn", "", "640", "1,120")
    _cells_exact(doc, qa)
    grew = qa.answer("which hut grew fastest from 2023 to 2024?")
    assert grew is not None and grew.text.startswith("Sorrel Tarn")


def test_the_dividing_per_is_not_the_one_inside_a_column_name() -> None:
    _, qa = _qa("huts", SHELTERS)
    per = qa.answer("at High Moss, how many stays per night is that per warden?")
    assert per is not None and per.arithmetic == ["High Moss: Stays per night / Wardens = 9.8 / 4 = 2.45"]


def test_a_superlative_of_time_reads_the_column_in_days_not_the_noun_it_mentions() -> None:
    _, qa = _qa("huts", SHELTERS)
    longest = qa.answer("which hut had its wardens away the longest?")  # "longest": the column in days, not Wardens
    assert longest is not None and longest.text.startswith("Sorrel Tarn has the highest Closed: 44 days")



def test_a_word_for_the_person_who_does_it_does_not_name_the_column_of_the_thing() -> None:
    _, qa = _qa("orchard", "| Orchard | Trees | Pick errors |\n|---|---|---|\n| Aske | 410 | 0.4% |\n| Brill | 380 | 0.7% |\n")
    assert qa.answer("what's the average wage for a picker?") is None  # "picker" is not "Pick errors"
    assert qa.answer("what's the average of the pick errors?") is not None


def test_what_figure_a_row_has_is_its_value_what_kind_it_runs_on_is_not() -> None:
    _, qa = _qa("vans", VANS)
    has = qa.answer("what price does Birch L have?")  # "what … have": the figure it holds
    assert has is not None and "€47,350" in has.text
    assert qa.answer("what range does Cedar X come in?") is None  # another verb: a kind, not the figure


FERRY_CO = """# Pellow Sound Ferries: annual review 2024

The company runs three crossings from the harbour at Pellow.

| Crossing | Sailings | Passengers 2024 | Fare income | Staff |
|---|---:|---:|---:|---:|
| Quay Run | 2,100 | 188,400 | £1.12m | 14 FTE |
| Gull Point | 1,450 | 96,300 | £0.71m | 9 FTE |
| Tarrock Isle | 620 | 41,800 | £0.48m | 6 FTE |
| Total | 4,170 | 326,500 | £2.31m | 29 FTE |

## Five years of service

    Measure                     2020     2021     2022     2023     2024
    Passengers (thousands)     201.5    188.0*   290.2    318.9    326.5
    Cancelled sailings            61       88       40       35       52

\\* The Gull Point ramp was closed for repairs for nine weeks in 2021.

## Grants

The Pellow Harbour Trust backs local causes. The Tarrock Rowing Club asked for nothing this year.

==========================  =========
Recipient                   Grant (£)
==========================  =========
Pellow Sea Scouts           4,500
Tarrock Lifeboat Station    7,250
==========================  =========
"""


def test_several_tables_each_question_reaches_the_table_it_is_about() -> None:
    _, qa = _qa("ferries", FERRY_CO)
    money = qa.answer("which crossing brought in the most money?")  # money itself: the one column in pounds
    assert money is not None and money.text.startswith("Quay Run") and "1.12" in money.text
    lowest = qa.answer("which year had the fewest passengers?")  # a year: only the table of years can say
    assert lowest is not None and "2021" in lowest.text and "Quay Run" not in lowest.text
    mean = qa.answer("what was the average number of cancelled sailings over the five years?")
    assert mean is not None and mean.arithmetic[0].startswith("(61 + 88 + 40 + 35 + 52) / 5 = 276 / 5 = 55.2")
    went = qa.answer("how much did cancelled sailings go up in 2024?")  # one year named: from the year before
    assert went is not None and "35 in 2023" in went.text and "52 in 2024" in went.text and "up 17" in went.text


def test_a_name_that_shares_one_word_with_a_row_is_not_that_row() -> None:
    _, qa = _qa("ferries", FERRY_CO)
    # the document names the Tarrock Rowing Club; the table's Tarrock row is the lifeboat station
    assert qa.answer("how much did the Tarrock Rowing Club get?") is None
    got = qa.answer("how much did the Tarrock Lifeboat Station get?")
    assert got is not None and "7,250" in got.text


def test_staff_in_fte_is_not_money() -> None:
    _, qa = _qa("ferries", FERRY_CO.split("## Five years")[0].replace("| Fare income ", "| Fare share ").replace("£", ""))
    assert qa.answer("which crossing brought in the most money?") is None  # no currency column; FTE is no currency code
    assert qa.answer("which crossing is the cheapest?") is None


def test_a_cell_with_a_footnote_mark_comes_with_its_footnote() -> None:
    doc, qa = _qa("ferries", FERRY_CO)
    ans = qa.answer("which year had the fewest passengers?")
    assert ans is not None and "2021" in ans.text
    note = ans.evidence[-1]
    assert note.quote == "The Gull Point ramp was closed for repairs for nine weeks in 2021." == doc.text[note.start : note.end]
    plain = qa.answer("how many passengers were there in 2022?")  # no mark on the cell: no note
    assert plain is not None and "ramp" not in plain.text


def test_a_verb_names_the_column_of_its_noun() -> None:
    text = ("| Plant | Staff | Output | Spending |\n|---|---:|---:|---:|\n| Ashby | 12 | 4,100 MWh | €1.2m |\n"
            "| Brigg | 9 | 3,650 MWh | €0.9m |\n\nOutput is the power the plant sold to the grid.\n")
    _, qa = _qa("plants", text)
    more = qa.answer("how much more did Ashby generate than Brigg?")  # generate → output (WordNet)
    assert more is not None and "450" in more.text and "Output" in more.text
    spent = qa.answer("which plant spent the most?")  # spend → spending
    assert spent is not None and spent.text.startswith("Ashby") and "1.2" in spent.text


INTAKE = """# Northmere College intake 2025

Entry points are the tariff points of the entrants' school qualifications.

| School | Applications | Offers | Offer rate | Entrants | Average tariff |
|---|---:|---:|---:|---:|---:|
| Design | 2,400 | 1,500 | 62.5% | 410 | 121 pts |
| Nursing | 1,800 | 1,350 | 75.0% | 520 | 112 pts |
| Total | 4,200 | 2,850 | 67.9% | 930 | 116 pts |

Grants by household income:

=================  =========  ==========
Household income   Grant      Recipients
=================  =========  ==========
Under £20,000      £1,500     300
£20,000 or more    £800       210
=================  =========  ==========
"""


def test_percent_and_count_questions_read_the_column_of_that_kind() -> None:
    _, qa = _qa("intake", INTAKE)
    rate = qa.answer("what % of nursing applicants got an offer?")  # Applications and Offers named: the Offer rate column
    assert rate is not None and "75.0%" in rate.text and "total" not in rate.text.lower()
    many = qa.answer("how many students get a grant altogether?")  # students are counted: Recipients, not pounds
    assert many is not None and "510" in many.text and "£" not in many.text
    low = qa.answer("which school takes students with the lowest tariff points?")  # "with … tariff points": the column, not a condition
    assert low is not None and low.text.startswith("Nursing")


def test_an_adjective_the_table_says_nothing_of_sets_it_aside() -> None:
    text = INTAKE + "\nOverseas applicants pay their own fees; international students are counted apart from the schools.\n"
    _, qa = _qa("intake", text)
    assert qa.answer("how many international students entered nursing?") is None  # the table counts all entrants
    entered = qa.answer("how many students entered nursing last year?")  # "last year" sets a time, not a kind of student
    assert entered is not None and "520" in entered.text
