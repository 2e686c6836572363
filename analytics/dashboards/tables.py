"""Tables and CSV from one description, for every chart.

The selectors (`analytics.selectors_*`) aggregate in SQL; nothing here adds up rows of the
database. A chart's table and its CSV come from the same records and the same `Column`s, so
the table view, the export and the bars always carry the same numbers: the table formatted
for people (grouping, currency, "42.4 %", a dash for "nothing to divide by"), the CSV plain
(ISO dates, money to the cent, rates as fractions to four places, empty for none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.dashboards.format import DASH, count, days, decimal, money, multiple, pct, rounded
from growth.formats.localized import local_date, local_month

# --- Tables and CSV from one description ----------------------------------------------------

SHOW: dict[str, Callable[[Any], str]] = {
    "text": lambda v: DASH if v in (None, "") else str(v),
    "int": count,
    "maybe_int": count,
    "money": money,
    "rate": pct,
    "multiple": multiple,
    "days": days,
    "decimal": decimal,
    "date": lambda v: local_date(v) if v else DASH,
    "month": lambda v: local_month(v) if v else DASH,
}
RAW: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: "" if v is None else str(v),
    "int": lambda v: 0 if v is None else int(v),
    "maybe_int": lambda v: "" if v is None else int(v),
    "money": lambda v: "" if v is None else str(rounded(v, 2)),
    "rate": lambda v: "" if v is None else f"{float(v):.4f}",
    "multiple": lambda v: "" if v is None else f"{float(v):.4f}",
    "days": lambda v: "" if v is None else f"{float(v):.2f}",
    "decimal": lambda v: "" if v is None else f"{float(v):.4f}",
    "date": lambda v: v.isoformat() if v else "",
    "month": lambda v: v.strftime("%Y-%m") if v else "",
}


@dataclass(frozen=True)
class Column:
    name: str  # CSV header: plain English field names, stable from one export to the next
    label: Any  # table header, translated
    kind: str = "int"
    key: str = ""  # the record's key; the name when blank

    def value(self, record: dict[str, Any]) -> Any:
        return record.get(self.key or self.name)


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    tone: str = ""  # "good" / "bad": a target met or missed


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    foot: list[list[Cell]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)


@dataclass
class Csv:
    header: list[str]
    rows: Iterable[Sequence[Any]]


Links = dict[str, Callable[[dict[str, Any]], str]]


def table_of(
    columns: Sequence[Column], records: Iterable[dict[str, Any]], links: Links | None = None
) -> Table:
    links = links or {}
    rows = []
    for record in records:
        row = []
        for column in columns:
            value = column.value(record)
            link = links.get(column.name)
            row.append(Cell(SHOW[column.kind](value), link(record) if link else ""))
        rows.append(row)
    return Table(header=[str(c.label) for c in columns], rows=rows)


def csv_of(columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> Csv:
    return Csv(
        header=[c.name for c in columns],
        rows=[[RAW[c.kind](c.value(r)) for c in columns] for r in records],
    )
