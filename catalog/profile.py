"""What each column of a release holds: missing share, distinct count, range, distribution.

Computed once, at publish, from the release's own Parquet file (the published rows, after
every privacy rule), and kept with the release, so the dataset page only reads it back.

Privacy, on top of the rules already applied to the rows:
- a column's most common values are listed only if each listed value occurs at least
  ``MIN_SHOWN`` times; when none does, no value is listed;
- a pseudonymised column shows no values at all (no common values, no first or last code);
- a text column's first and last values (alphabetically) are shown only when each occurs at
  least ``MIN_SHOWN`` times; otherwise its range is given as text lengths.

Every count is exact; the one exception is a distinct count flagged ``distinct_exact: false``
(releases longer than ``EXACT_DISTINCT_ROWS``), which readers must label as approximate.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path

import duckdb

from catalog.casting import quote_ident, quote_literal

FORMAT = 1
MIN_SHOWN = 5
TOP_VALUES = 10
MAX_BINS = 20
TARGET_BINS = 15
EXACT_DISTINCT_ROWS = 20_000_000
LONG_TEXT = 80

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
TABLE_SCHEMA_TYPES = {"integer": "integer", "number": "number", "date": "date", "datetime": "datetime",
                      "time": "time", "text": "string", "boolean": "boolean", "other": "any"}
NICE_STEPS = (1, 2, 2.5, 5)
YEAR_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
MONTH_STEPS = (1, 2, 3, 6)
DAY_STEPS = (1, 2, 7, 14)
HOUR_STEPS = (1, 2, 3, 6, 12)


def pseudonymised_columns(*privacy: dict | None) -> set[str]:
    """Columns replaced by codes, from a release's privacy report or a dataset's declared rules."""
    names: set[str] = set()
    for report in privacy:
        if not isinstance(report, dict):
            continue
        for rule in report.get("rules") or []:
            if isinstance(rule, dict) and rule.get("rule") == "pseudonymise":
                names.update(rule.get("columns") or [])
        declared = report.get("pseudonymise")
        if isinstance(declared, dict):
            names.update(declared.get("columns") or [])
    return names


def profile_parquet(parquet: Path, schema: dict | None = None, privacy: dict | None = None, *,
                    exact_distinct_rows: int = EXACT_DISTINCT_ROWS) -> dict:
    """The profile of one release file, as plain JSON-ready data."""
    con = duckdb.connect()
    try:
        source = f"read_parquet({quote_literal(str(parquet))})"
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        fields = {f["name"]: f for f in (schema or {}).get("fields", [])}
        protected = pseudonymised_columns(privacy)
        columns = [_column(name, sql_type, fields.get(name, {}), name in protected)
                   for name, sql_type, *_ in described]
        rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        exact = rows <= exact_distinct_rows
        _first_pass(con, source, columns, exact)
        _histograms(con, source, columns)
        for column in columns:
            if column["kind"] in ("text", "boolean"):
                _value_counts(con, source, column, exact)
    finally:
        con.close()
    for column in columns:
        column["missing"] = rows - column.pop("_present")
        for key in [k for k in column if k.startswith("_")]:
            del column[key]
    return {"format": FORMAT, "rows": rows, "min_shown": MIN_SHOWN, "columns": columns}


def withhold(profile: dict, columns: set[str]) -> dict:
    """A copy of ``profile`` showing no value of ``columns`` (for rules declared after it was made)."""
    shown = dict(profile)
    shown["columns"] = []
    for column in profile.get("columns", []):
        if column.get("name") in columns and not column.get("pseudonymised"):
            column = {**column, "pseudonymised": True, "withheld": "pseudonymised", "min": None, "max": None,
                      "bins": None, "top": None, "top_other": None,
                      "range": "lengths" if column.get("length") else None}
        shown["columns"].append(column)
    return shown


def _column(name: str, sql_type: str, field: dict, protected: bool) -> dict:
    kind = _kind(sql_type)
    return {"name": name, "type": field.get("type") or TABLE_SCHEMA_TYPES[kind], "sql_type": sql_type,
            "description": field.get("description") or field.get("title") or "", "kind": kind,
            "pseudonymised": protected, "missing": 0, "distinct": None, "distinct_exact": True,
            "min": None, "max": None, "range": None, "bins": None, "top": None, "top_other": None,
            "withheld": None}


def _kind(sql_type: str) -> str:
    base = sql_type.split("(")[0].strip().upper()
    if base in INTEGER_TYPES:
        return "integer"
    if base in FLOAT_TYPES or base == "DECIMAL":
        return "number"
    if base == "DATE":
        return "date"
    if base.startswith("TIMESTAMP"):
        return "datetime"
    if base == "TIME":
        return "time"
    if base == "BOOLEAN":
        return "boolean"
    if base == "VARCHAR":
        return "text"
    return "other"


def _first_pass(con: duckdb.DuckDBPyConnection, source: str, columns: list[dict], exact: bool) -> None:
    """Presence, range and (for columns not counted value by value) distinct count, in one scan."""
    parts: list[str] = []
    for column in columns:
        c, kind = quote_ident(column["name"]), column["kind"]
        finite = f" FILTER (WHERE isfinite({c}))" if kind == "number" else ""
        parts.append(f"count({c})")
        if kind in ("integer", "number", "date", "datetime", "time"):
            parts += [f"min({c}){finite}", f"max({c}){finite}"]
        if kind == "number":
            parts.append(f"count({c}) FILTER (WHERE NOT isfinite({c}))")
        if kind == "text":
            parts += [f"min(length({c}))", f"max(length({c}))"]
        if kind not in ("text", "boolean") or column["pseudonymised"]:
            parts.append(f"count(DISTINCT {c})" if exact else f"approx_count_distinct({c})")
    values = iter(con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone())
    for column in columns:
        kind = column["kind"]
        column["_present"] = next(values)
        if kind in ("integer", "number", "date", "datetime", "time"):
            low, high = next(values), next(values)
            column["_low"], column["_high"] = low, high
            if not column["pseudonymised"]:
                column["min"], column["max"] = _plain(low), _plain(high)
                column["range"] = "values" if low is not None else None
        if kind == "number":
            column["not_a_number"] = next(values)
        if kind == "text":
            column["length"] = {"min": next(values), "max": next(values)}
        if kind not in ("text", "boolean") or column["pseudonymised"]:
            column["distinct"] = next(values)
            column["distinct_exact"] = exact
        if column["pseudonymised"]:
            column["withheld"] = "pseudonymised"


def _histograms(con: duckdb.DuckDBPyConnection, source: str, columns: list[dict]) -> None:
    """Equal-width bins of every number, date and time column, all in one scan."""
    planned = []
    for column in columns:
        if column["pseudonymised"] or column.get("_low") is None:
            continue
        plan = _bin_plan(column)
        if plan is not None:
            planned.append((column, plan))
    if not planned:
        return
    parts = []
    for column, plan in planned:
        index = f"least(greatest({plan['sql']}, 0), {len(plan['bins']) - 1})"
        if column["kind"] == "number":  # NaN and infinity are counted apart, never binned
            index = f"CASE WHEN isfinite({quote_ident(column['name'])}) THEN {index} END"
        parts.append(f"histogram({index})")
    results = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    for (column, plan), counts in zip(planned, results):
        counts = counts or {}
        column["bins"] = [{"label": label, "from": start, "to": end, "count": int(counts.get(i, 0))}
                          for i, (label, start, end) in enumerate(plan["bins"])]


def _bin_plan(column: dict) -> dict | None:
    kind, low, high = column["kind"], column["_low"], column["_high"]
    c = quote_ident(column["name"])
    if kind in ("integer", "number"):
        return _number_bins(c, float(low), float(high), integer=kind == "integer", digits_only=column["type"] == "year")
    if kind == "date":
        return _calendar_bins(c, low, high, with_hours=False)
    if kind == "datetime":
        return _calendar_bins(c, low, high, with_hours=True)
    if kind == "time":
        return _time_bins(c, low, high)
    return None


def _number_bins(c: str, low: float, high: float, integer: bool, digits_only: bool = False) -> dict:
    text = (lambda v: str(int(v))) if digits_only else _number_text  # noqa: E731
    if low == high:
        value = int(low) if integer else low
        return {"sql": "0", "bins": [(text(low), value, value)]}
    if integer and high - low < MAX_BINS:
        width = 1.0
    else:
        width = _nice_width((high - low) / TARGET_BINS, integer)
    start = math.floor(low / width) * width
    count = int(math.floor((high - start) / width + 1e-9)) + 1
    while count > MAX_BINS:
        width = _nice_width(width * 1.01, integer)
        start = math.floor(low / width) * width
        count = int(math.floor((high - start) / width + 1e-9)) + 1
    bins = []
    for i in range(count):
        lower, upper = _tidy(start + i * width), _tidy(start + (i + 1) * width)
        if integer:
            top = int(upper) - 1
            label = text(lower) if width == 1 else f"{text(lower)} to {text(top)}"
            bins.append((label, int(lower), top))
        else:
            bins.append((f"{text(lower)} to {text(upper)}", lower, upper))
    sql = f"floor((CAST({c} AS DOUBLE) - {start!r}) / {width!r} + 1e-9)::BIGINT"
    return {"sql": sql, "bins": bins}


def _nice_width(raw: float, integer: bool) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in (*NICE_STEPS, 10):
        width = step * magnitude
        if width >= raw and not (integer and width != int(width)):
            return max(width, 1.0) if integer else width
    return 10 * magnitude


def _tidy(value: float) -> float:
    return float(f"{value:.12g}")


def _calendar_bins(c: str, low, high, with_hours: bool) -> dict:
    first, last = _as_datetime(low), _as_datetime(high)
    days = (last - first).total_seconds() / 86400
    if days >= 3 * 365:
        step = _step(last.year - first.year + 1, YEAR_STEPS)
        origin = first.year // step * step
        count = (last.year - origin) // step + 1
        bins = [(str(y) if step == 1 else f"{y} to {y + step - 1}", f"{y}-01-01", f"{y + step - 1}-12-31")
                for y in range(origin, origin + count * step, step)]
        return {"sql": f"((year({c}) - {origin}) // {step})::BIGINT", "bins": bins}
    if days >= 60:
        months = lambda d: d.year * 12 + d.month - 1  # noqa: E731
        step = _step(months(last) - months(first) + 1, MONTH_STEPS)
        origin = months(first) // step * step
        count = (months(last) - origin) // step + 1
        bins = []
        for m in range(origin, origin + count * step, step):
            end = m + step - 1
            label = _month(m) if step == 1 else f"{_month(m)} to {_month(end)}"
            bins.append((label, f"{_month(m)}-01", _month_end(end)))
        return {"sql": f"((year({c}) * 12 + month({c}) - 1 - {origin}) // {step})::BIGINT", "bins": bins}
    if not with_hours or days >= 2:
        step = _step(int(days) + 1, DAY_STEPS)
        origin = first.date()
        count = int(days) // step + 1
        bins = []
        for i in range(count):
            day = origin + dt.timedelta(days=i * step)
            end = day + dt.timedelta(days=step - 1)
            label = day.isoformat() if step == 1 else f"{day.isoformat()} to {end.isoformat()}"
            bins.append((label, day.isoformat(), end.isoformat()))
        return {"sql": f"((CAST({c} AS DATE) - DATE '{origin.isoformat()}') // {step})::BIGINT", "bins": bins}
    origin = first.replace(minute=0, second=0, microsecond=0)
    hours = int((last - origin).total_seconds() // 3600)
    step = _step(hours + 1, HOUR_STEPS)
    count = hours // step + 1
    bins = []
    for i in range(count):
        moment = origin + dt.timedelta(hours=i * step)
        bins.append((moment.strftime("%Y-%m-%d %H:00"), moment.isoformat(),
                     (moment + dt.timedelta(hours=step)).isoformat()))
    since = int((origin if origin.tzinfo else origin.replace(tzinfo=dt.timezone.utc)).timestamp())
    sql = f"floor((epoch({c}) - {since}) / {3600 * step})::BIGINT"
    return {"sql": sql, "bins": bins}


def _time_bins(c: str, low: dt.time, high: dt.time) -> dict:
    step = _step(high.hour - low.hour + 1, HOUR_STEPS)
    origin = low.hour // step * step
    count = (high.hour - origin) // step + 1
    bins = [(f"{h:02d}:00" if step == 1 else f"{h:02d}:00 to {h + step - 1:02d}:59", f"{h:02d}:00:00",
             f"{h + step - 1:02d}:59:59") for h in range(origin, origin + count * step, step)]
    return {"sql": f"((hour({c}) - {origin}) // {step})::BIGINT", "bins": bins}


def _step(units: int, steps: tuple) -> int:
    for step in steps:
        if math.ceil(units / step) <= MAX_BINS:
            return step
    step = steps[-1]
    while math.ceil(units / step) > MAX_BINS:
        step *= 10
    return step


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day)


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_end(index: int) -> str:
    year, month = index // 12, index % 12 + 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).isoformat()


def _value_counts(con: duckdb.DuckDBPyConnection, source: str, column: dict, exact: bool) -> None:
    """Distinct count, the most common values and the first and last value, from one grouping."""
    c = quote_ident(column["name"])
    value = f"CAST({c} AS VARCHAR)" if column["kind"] == "boolean" else c
    if column["pseudonymised"]:
        column["range"] = "lengths" if column["kind"] == "text" else None
        return
    if not exact:
        column["distinct"] = con.execute(f"SELECT approx_count_distinct({c}) FROM {source}").fetchone()[0]
        column["distinct_exact"] = False
    distinct, low, high, at_low, at_high, others_small, top = con.execute(f"""
        WITH groups AS (SELECT {value} AS v, count(*) AS n FROM {source} WHERE {c} IS NOT NULL GROUP BY ALL)
        SELECT count(*), min(v), max(v), arg_min(n, v), arg_max(n, v), count(*) FILTER (WHERE n < {MIN_SHOWN}),
               (SELECT list([v, CAST(n AS VARCHAR)]) FROM (
                   SELECT v, n FROM groups WHERE n >= {MIN_SHOWN} ORDER BY n DESC, v LIMIT {TOP_VALUES}))
        FROM groups""").fetchone()
    if exact:
        column["distinct"] = distinct
    shown = [{"value": v, "count": int(n)} for v, n in (top or [])]
    column["top"] = shown
    column["top_other"] = column["_present"] - sum(item["count"] for item in shown)
    if not shown and distinct:
        column["withheld"] = "small_counts"
    column["small_values"] = others_small
    if column["kind"] == "text":
        alphabetical = (low is not None and at_low >= MIN_SHOWN and at_high >= MIN_SHOWN
                        and column["length"]["max"] <= LONG_TEXT)
        if alphabetical:
            column["min"], column["max"], column["range"] = low, high, "values"
        elif low is not None:
            column["range"] = "lengths"


def _plain(value):
    """A JSON-ready form: numbers stay numbers, dates and times become ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    return value


def _number_text(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.12g}"
