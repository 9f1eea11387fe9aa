"""Calculations without code: filter, group, aggregate a release, through the sandbox.

A ``Calculation`` holds what a person picked: filters, up to three columns to group by (a date
or datetime column optionally cut into months, quarters or years), one or more aggregates, the
result column to sort by, and a cap on the rows of the result. ``to_sql`` writes it as one
readable SELECT with every value a safely quoted literal: the statement shown is the one that
runs in the SQL console as is. ``run`` executes the same statement with the values bound as
parameters (and one row over the cap, to tell whether the result was cut). In a link a calculation is ``f=`` filters (see catalog.filters), ``g=column`` or
``g=column~month``, ``a=function~column`` (``a=count`` counts rows), ``sort=name~desc`` and
``limit=N``, so a calculation is reproduced from its address.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import pandas as pd

from catalog import filters as flt
from catalog.casting import quote_ident, quote_literal
from catalog.downloads import neutralised
from catalog.errors import QueryError
from catalog.query import ROW_LIMIT, Sandbox

MAX_GROUPS = 3
MAX_MEASURES = 6
DEFAULT_LIMIT = 1_000
MAX_LIMIT = ROW_LIMIT
MAP_CELLS = 5_000
BUCKETS = ("month", "quarter", "year")
_ORDERED = (flt.NUMBER, flt.DATE, flt.DATETIME, flt.TIME, flt.TEXT)


@dataclass(frozen=True)
class Function:
    code: str
    label: str
    kinds: tuple[str, ...]   # column kinds it applies to
    column: str               # "required" or "optional"


FUNCTIONS: dict[str, Function] = {f.code: f for f in (
    Function("count", "count", tuple(flt.KIND_OPERATORS), "optional"),
    Function("sum", "sum", (flt.NUMBER,), "required"),
    Function("mean", "mean", (flt.NUMBER,), "required"),
    Function("median", "median", (flt.NUMBER, flt.DATE, flt.DATETIME, flt.TIME), "required"),
    Function("min", "minimum", _ORDERED, "required"),
    Function("max", "maximum", _ORDERED, "required"),
    Function("distinct", "distinct count", tuple(flt.KIND_OPERATORS), "required"),
    Function("share", "share of total", (flt.NUMBER,), "optional"),
)}


@dataclass(frozen=True)
class GroupBy:
    column: str
    bucket: str | None = None

    @property
    def name(self) -> str:
        return f"{self.column} ({self.bucket})" if self.bucket else self.column

    def encode(self) -> str:
        return flt.encode_parts((self.column, self.bucket) if self.bucket else (self.column,))


@dataclass(frozen=True)
class Measure:
    function: str
    column: str | None = None

    @property
    def name(self) -> str:
        """The result column's heading."""
        if self.function == "count":
            return f"count of {self.column}" if self.column else "rows"
        if self.function == "share":
            return f"share of {self.column or 'rows'} (%)"
        if self.function == "distinct":
            return f"distinct {self.column}"
        return f"{FUNCTIONS[self.function].label if self.function in FUNCTIONS else self.function} of {self.column}"

    def encode(self) -> str:
        return flt.encode_parts((self.function, self.column) if self.column else (self.function,))


@dataclass(frozen=True)
class Calculation:
    filters: tuple[flt.Filter, ...] = ()
    group_by: tuple[GroupBy, ...] = ()
    measures: tuple[Measure, ...] = (Measure("count"),)
    sort: str | None = None        # a result column's heading; None: the natural order (see ``order``)
    descending: bool = True
    limit: int = DEFAULT_LIMIT

    def to_query(self) -> dict[str, list[str] | str]:
        """The calculation as query parameters (lists are repeated parameters)."""
        params: dict[str, list[str] | str] = {}
        if self.filters:
            params["f"] = flt.to_query(self.filters)
        if self.group_by:
            params["g"] = [g.encode() for g in self.group_by]
        params["a"] = [m.encode() for m in self.measures]
        if self.sort:
            params["sort"] = flt.encode_parts((self.sort, "desc" if self.descending else "asc"))
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        return params

    @staticmethod
    def from_query(params) -> Calculation:
        """A calculation from query parameters: ``params[key]`` is the list of that key's values."""
        def values(key):
            got = params.get(key) or []
            return [got] if isinstance(got, str) else list(got)

        groups, measures = [], []
        for text in values("g"):
            parts = flt.decode_parts(text)
            if len(parts) > 2 or not parts[0]:
                _bad_link("g", text)
            groups.append(GroupBy(parts[0], parts[1].lower() if len(parts) == 2 else None))
        for text in values("a"):
            parts = flt.decode_parts(text)
            if len(parts) > 2 or not parts[0]:
                _bad_link("a", text)
            measures.append(Measure(parts[0].lower(), parts[1] if len(parts) == 2 else None))
        sort, descending = None, True
        if values("sort"):
            parts = flt.decode_parts(values("sort")[0])
            if len(parts) != 2 or not parts[0] or parts[1].lower() not in ("asc", "desc"):
                _bad_link("sort", values("sort")[0])
            sort, descending = parts[0], parts[1].lower() == "desc"
        limit_text = (values("limit") or [str(DEFAULT_LIMIT)])[0]
        if not limit_text.isdigit() or len(limit_text) > 9:
            raise QueryError(f"the row cap “{limit_text[:20]}” in the link is not a whole number")
        return Calculation(filters=tuple(flt.from_query(values("f"))), group_by=tuple(groups),
                           measures=tuple(measures) or (Measure("count"),), sort=sort, descending=descending,
                           limit=int(limit_text))


def _bad_link(key: str, text: str):
    raise QueryError(f"the part {key}=“{text[:80]}” of the link is not understood")


@dataclass
class CalculationResult:
    table: pd.DataFrame
    sql: str
    truncated: bool
    seconds: float
    groups: list[str] = field(default_factory=list)      # headings of the group columns
    measures: list[str] = field(default_factory=list)    # headings of the aggregate columns
    periods: list[str] = field(default_factory=list)     # headings of the group columns cut into time periods

    @property
    def bucketed(self) -> bool:
        return bool(self.periods)


def check(calc: Calculation, kinds: dict[str, str]) -> None:
    """Raise QueryError with what to change when the calculation does not fit the release."""
    flt.compile_filters(calc.filters, kinds)
    if len(calc.group_by) > MAX_GROUPS:
        raise QueryError(f"group by at most {MAX_GROUPS} columns; this groups by {len(calc.group_by)}")
    if not calc.measures:
        raise QueryError("pick at least one thing to calculate, such as the count of rows")
    if len(calc.measures) > MAX_MEASURES:
        raise QueryError(f"calculate at most {MAX_MEASURES} things at once; this asks for {len(calc.measures)}")
    if not 1 <= calc.limit <= MAX_LIMIT:
        raise QueryError(f"the row cap must be between 1 and {MAX_LIMIT:,}; it is {calc.limit:,}")
    for group in calc.group_by:
        _known(group.column, kinds)
        if group.bucket is not None:
            if group.bucket not in BUCKETS:
                raise QueryError(f"“{group.bucket[:20]}” is not a time period; use month, quarter or year")
            if kinds[group.column] not in (flt.DATE, flt.DATETIME):
                raise QueryError(f"only date and datetime columns can be cut into {group.bucket}s; "
                                 f"“{group.column}” is a {kinds[group.column]} column")
    for measure in calc.measures:
        function = FUNCTIONS.get(measure.function)
        if function is None:
            raise QueryError(f"“{measure.function[:30]}” is not a calculation; use one of: "
                             + ", ".join(f"{f.label} ({f.code})" for f in FUNCTIONS.values()))
        if measure.column is None and function.column == "required":
            raise QueryError(f"the {function.label} needs a column to work on")
        if measure.column is not None:
            _known(measure.column, kinds)
            if kinds[measure.column] not in function.kinds:
                raise QueryError(f"the {function.label} cannot be taken of “{measure.column}”, a "
                                 f"{kinds[measure.column]} column; it works on {' and '.join(function.kinds)} columns")
    names = [g.name for g in calc.group_by] + [m.name for m in calc.measures]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise QueryError(f"“{repeated[0]}” is asked for twice; remove one")
    if calc.sort is not None and calc.sort not in names:
        raise QueryError(f"cannot sort by “{calc.sort[:80]}”: it is not a column of the result "
                         f"({', '.join(names)})")


def measure_options(kinds: dict[str, str]) -> list[Measure]:
    """Every aggregate that fits the release, for a pick list: rows first, then number columns."""
    options = [Measure("count"), Measure("share")]
    numbers = [c for c, k in kinds.items() if k == flt.NUMBER]
    for column in numbers:
        options += [Measure(code, column) for code in ("sum", "mean", "median", "min", "max", "share")]
    for column, kind in kinds.items():
        if kind != flt.NUMBER:
            options += [Measure(code, column) for code in ("distinct", "min", "max", "median")
                        if kind in FUNCTIONS[code].kinds]
    return options


def _known(column: str, kinds: dict[str, str]) -> None:
    if column not in kinds:
        shown = ", ".join(list(kinds)[:30]) + (", …" if len(kinds) > 30 else "")
        raise QueryError(f"there is no column “{column[:80]}” in this release; its columns are: {shown}")


def order(calc: Calculation) -> tuple[str | None, bool]:
    """The result column the rows are sorted by, and whether descending: as asked, else the time
    periods in order, else the first aggregate from the largest."""
    if calc.sort is not None:
        return calc.sort, calc.descending
    buckets = [g for g in calc.group_by if g.bucket]
    if buckets:
        return buckets[0].name, False
    if calc.group_by:
        return calc.measures[0].name, True
    return None, True


def _pieces(calc: Calculation, table: str, kinds: dict[str, str], limit: int) -> list:
    check(calc, kinds)
    selected, grouped = [], []
    for group in calc.group_by:
        column = quote_ident(group.column)
        if group.bucket is None:
            selected.append(column)
            grouped.append(column)
            continue
        cut = f"date_trunc({quote_literal(group.bucket)}, {column})"
        label = {"month": f"strftime({cut}, '%Y-%m')", "quarter": f"printf('%d-Q%d', year({cut}), quarter({cut}))",
                 "year": f"year({cut})"}[group.bucket]
        selected.append(f"{label} AS {quote_ident(group.name)}")
        grouped.append(cut)
    for measure in calc.measures:
        selected.append(f"{_aggregate(measure)} AS {quote_ident(measure.name)}")
    sort, descending = order(calc)
    terms = [f"{quote_ident(sort)} {'DESC' if descending else 'ASC'} NULLS LAST"] if sort else []
    terms += [quote_ident(g.name) for g in calc.group_by if g.name != sort]  # ties in one stable order
    conditions = flt.compile_filters(calc.filters, kinds)
    return [
        "SELECT ", ", ".join(selected), f"\nFROM {quote_ident(table)}",
        *(["\nWHERE ", *conditions] if conditions else []),
        *([f"\nGROUP BY {', '.join(grouped)}"] if grouped else []),
        *([f"\nORDER BY {', '.join(terms)}"] if terms else []),
        f"\nLIMIT {int(limit)}",
    ]


def _aggregate(measure: Measure) -> str:
    column = quote_ident(measure.column) if measure.column else None
    if measure.function == "share":
        amount = f"sum({column})" if column else "count(*)"
        return f"100 * {amount} / nullif(sum({amount}) OVER (), 0)"
    return {"count": f"count({column or '*'})", "sum": f"sum({column})", "mean": f"avg({column})",
            "median": f"median({column})", "min": f"min({column})", "max": f"max({column})",
            "distinct": f"count(DISTINCT {column})"}[measure.function]


def to_sql(calc: Calculation, table: str, kinds: dict[str, str]) -> str:
    """The calculation as one SELECT with its values inlined as quoted literals, ready to run as is."""
    return flt.render(_pieces(calc, table, kinds, calc.limit), inline=True)[0]


def run(sandbox: Sandbox, table: str, calc: Calculation, kinds: dict[str, str]) -> CalculationResult:
    """Execute the calculation (values bound as parameters); one row more than the cap tells whether
    the result was cut."""
    started = time.perf_counter()
    sql, params = flt.render(_pieces(calc, table, kinds, calc.limit + 1))
    result = sandbox.query(sql, params, row_limit=calc.limit + 1)
    frame = result.to_pandas()
    truncated = len(frame) > calc.limit
    return CalculationResult(table=frame.iloc[:calc.limit], sql=to_sql(calc, table, kinds), truncated=truncated,
                             seconds=time.perf_counter() - started, groups=[g.name for g in calc.group_by],
                             measures=[m.name for m in calc.measures],
                             periods=[g.name for g in calc.group_by if g.bucket])


# --- maps -----------------------------------------------------------------------------------------

_LATITUDE = re.compile(r"(?i)^(lat|latitude)$|(^|_)lat(itude)?$")
_LONGITUDE = re.compile(r"(?i)^(lon|lng|long|longitude)$|(^|_)(lon|lng|longitude)$")


def coordinate_columns(kinds: dict[str, str]) -> tuple[str, str] | None:
    """The latitude and longitude columns of a release, when it has one numeric pair of them."""
    numbers = [c for c, k in kinds.items() if k == flt.NUMBER]
    latitude = [c for c in numbers if _LATITUDE.search(c)]
    longitude = [c for c in numbers if _LONGITUDE.search(c)]
    return (latitude[0], longitude[0]) if len(latitude) == 1 and len(longitude) == 1 else None


def location_counts(sandbox: Sandbox, table: str, filters, kinds: dict[str, str],
                    decimals: int = 3) -> tuple[pd.DataFrame, str]:
    """Matching rows counted per map cell (coordinates rounded to ``decimals``, 3 is about 100 m),
    the busiest ``MAP_CELLS`` cells; and the SQL, for display."""
    pair = coordinate_columns(kinds)
    if pair is None:
        raise QueryError("this release has no latitude and longitude columns to map")
    lat, lon = (quote_ident(c) for c in pair)
    conditions = flt.compile_filters(filters, kinds)
    pieces = [f"SELECT round({lat}, {int(decimals)}) AS latitude, round({lon}, {int(decimals)}) AS longitude, "
              f"count(*) AS records\nFROM {quote_ident(table)}\nWHERE {lat} BETWEEN -90 AND 90 "
              f"AND {lon} BETWEEN -180 AND 180", *([" AND ", *conditions] if conditions else []),
              f"\nGROUP BY 1, 2\nORDER BY records DESC, 1, 2\nLIMIT {MAP_CELLS}"]
    sql, params = flt.render(pieces)
    return sandbox.query(sql, params, row_limit=MAP_CELLS).to_pandas(), flt.render(pieces, inline=True)[0]


def result_csv(frame: pd.DataFrame) -> bytes:
    """A result as UTF-8 CSV; a text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(neutralised).astype(object)
    safe.columns = [neutralised(str(c)) for c in safe.columns]
    return safe.to_csv(index=False).encode("utf-8")


# --- words ------------------------------------------------------------------------------------

def number_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 0.01 else f"{value:.3g}"
    return str(value)


def summary(result: CalculationResult) -> str:
    """The result in words, the chart's text alternative: highest, lowest and how many groups."""
    frame = result.table
    if frame.empty:
        return "No rows match the filters."
    if not result.groups:
        row = frame.iloc[0]
        return "; ".join(f"{m}: {number_text(_plain(row[m]))}" for m in result.measures) + "."
    measure = result.measures[0]
    labels = frame[result.groups].astype(str).agg(" · ".join, axis=1)
    values = frame[measure]
    known = values.notna()
    unit = "period" if result.bucketed and len(result.groups) == 1 else "group"
    count = f"{len(frame):,} {unit}{'s' if len(frame) != 1 else ''}" + (
        " shown (more were cut by the row cap)" if result.truncated else "")
    if not known.any():
        return f"{measure}: no values; {count}."
    comparable = values[known]
    if not pd.api.types.is_numeric_dtype(comparable):
        return f"{measure} for {count}."
    top, bottom = comparable.idxmax(), comparable.idxmin()
    if len(frame) == 1:
        return f"{measure}: {labels[top]} with {number_text(_plain(values[top]))}; {count}."
    text = (f"{measure}: highest {labels[top]} with {number_text(_plain(values[top]))}; "
            f"lowest {labels[bottom]} with {number_text(_plain(values[bottom]))}; {count}")
    if result.bucketed and len(result.groups) == 1:
        text = f"From {labels.iloc[0]} to {labels.iloc[-1]}, {text}" if len(frame) > 1 else text
    return text + "."


def _plain(value):
    return value.item() if hasattr(value, "item") else value
