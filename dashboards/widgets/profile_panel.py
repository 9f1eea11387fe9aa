"""The dataset page's Columns tab: what each column of a release holds.

One table, a row per column (type, description, missing share, distinct count, range, a small
chart of its distribution and the same in words), then a larger labelled chart of one column.
It only formats a profile made by ``catalog.profile``; what may be shown was settled there.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from catalog.browse import fields
from catalog.profile import MIN_SHOWN
from dashboards.i18n import DEFAULT, number, t, translate

MOST = 0.8
NARROW = 2 / 3
LISTED_RULE = 5
LONGEST_VALUE = 40
TOP_IN_WORDS = 3
ROW_HEIGHT = 35
TALLEST = 720
# the English words of two cells, for whoever checks a table
PSEUDONYMISED = translate("profile.pseudonymised", DEFAULT)
SMALL_COUNTS = translate("profile.small_counts", DEFAULT, least=MIN_SHOWN)
COLUMNS = ["column", "type", "distribution", "in words", "missing", "distinct", "min", "max", "description",
           "rules"]


def summary_table(profile: dict, schema: dict | None = None) -> pd.DataFrame:
    """One row per column of the release, every cell ready to show."""
    declared = {}
    if schema and schema.get("fields"):
        declared = {row["column"]: row for row in fields({"schema": schema}).to_dict("records")}
        for f in schema["fields"]:
            declared[f["name"]]["rules"] = rules_text(f.get("constraints") or {})
    rows = []
    for column in profile.get("columns", []):
        field = declared.get(column["name"], {})
        low, high = range_text(column)
        rows.append({
            "column": column["name"], "type": column.get("type") or field.get("type") or "",
            "description": field.get("description") or column.get("description") or "",
            "missing": missing_text(column, profile.get("rows", 0)), "distinct": distinct_text(column),
            "min": low, "max": high, "distribution": distribution(column) or None,
            "in words": in_words(column, profile.get("rows", 0)), "rules": field.get("rules", ""),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def rules_text(constraints: dict) -> str:
    """A field's constraints in a few words (a long list of allowed values is counted, not listed)."""
    parts = []
    for name, value in constraints.items():
        if value is True:
            parts.append(name)
        elif name == "enum" and isinstance(value, list) and len(value) > LISTED_RULE:
            parts.append(t("profile.one_of_many", count=len(value)))
        elif name == "enum" and isinstance(value, list):
            parts.append(t("profile.one_of", values=", ".join(_short(str(v)) for v in value)))
        elif value is not False:
            parts.append(f"{name} {_short(str(value))}")
    return ", ".join(parts)


def missing_text(column: dict, rows: int) -> str:
    missing = column.get("missing") or 0
    if not rows:
        return "—"
    if missing == 0:
        return t("profile.none")
    share = missing / rows
    if share < 0.001:
        return t("profile.tiny_share", count=missing)
    return t("profile.percent", share=number(share * 100, decimals=1))


def distinct_text(column: dict) -> str:
    distinct = column.get("distinct")
    if distinct is None:
        return ""
    if column.get("distinct_exact", True):
        return number(distinct)
    return t("profile.about", count=_rounded(distinct))


def range_text(column: dict) -> tuple[str, str]:
    """The smallest and largest value, or text lengths when the values themselves are not shown."""
    if column.get("range") == "values" and column.get("min") is not None:
        return value_text(column["min"], column), value_text(column["max"], column)
    length = column.get("length") or {}
    if column.get("range") == "lengths" and length.get("min") is not None:
        return _characters(length["min"]), _characters(length["max"])
    return "", ""


def distribution(column: dict) -> list[int]:
    """The counts drawn in the small chart: equal-width bins, or the most common values."""
    if column.get("bins"):
        return [b["count"] for b in column["bins"]]
    return [item["count"] for item in column.get("top") or []]


def chart_frame(column: dict) -> pd.DataFrame:
    """The labelled counts of the larger chart, in their natural order."""
    if column.get("bins"):
        pairs = [(b["label"], b["count"]) for b in column["bins"]]
    else:
        pairs = [(_short(str(item["value"])), item["count"]) for item in column.get("top") or []]
    return pd.DataFrame(pairs, columns=["value", "records"])


def in_words(column: dict, rows: int) -> str:
    """The text alternative of a column's chart."""
    present = rows - (column.get("missing") or 0)
    if rows and present <= 0:
        return t("profile.all_missing")
    if not rows:
        return t("profile.no_records")
    if column.get("withheld") == "pseudonymised":
        return t("profile.pseudonymised")
    parts = []
    if column.get("bins"):
        parts.append(_spread(column))
    elif column.get("top"):
        top = column["top"]
        listed = ", ".join(f"{_short(str(item['value']))} ({number(item['count'])})" for item in top[:TOP_IN_WORDS])
        parts.append(t("profile.most_common", values=listed))
        if column.get("small_values"):
            parts.append(t("profile.small_values", count=column["small_values"], least=MIN_SHOWN))
    elif column.get("withheld") == "small_counts":
        parts.append(t("profile.small_counts", least=MIN_SHOWN))
    if column.get("not_a_number"):
        parts.append(t("profile.not_a_number", count=column["not_a_number"]))
    return "; ".join(parts)


def value_text(value, column: dict) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if column.get("type") == "year":
            return str(int(value))
        if float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.12g}"
    text = str(value)
    if column.get("kind") in ("datetime", "date"):
        text = text.replace("T", " ")
    return _short(text)


def _spread(column: dict) -> str:
    bins = column["bins"]
    low, high = column.get("min"), column.get("max")
    if low is None:
        return ""
    if low == high:
        return t("profile.every_value", value=value_text(low, column))
    text = t("profile.ranges", low=value_text(low, column), high=value_text(high, column))
    counts = [b["count"] for b in bins]
    first, last = _densest(counts, MOST)
    if last - first + 1 > NARROW * len(bins):
        return text
    share = sum(counts[first:last + 1]) / sum(counts)
    start = _clamped(bins[first]["from"], low, max)
    end = _clamped(bins[last]["to"], high, min)
    return t("profile.mostly", range=text, share=t("profile.percent", share=number(share * 100)),
             start=value_text(start, column), end=value_text(end, column))


def _densest(counts: list[int], share: float) -> tuple[int, int]:
    """The fewest neighbouring bins that hold at least ``share`` of the values (the fullest such run)."""
    total = sum(counts)
    best = (0, len(counts) - 1)
    best_key = (len(counts), -total)
    for first in range(len(counts)):
        held = 0
        for last in range(first, len(counts)):
            held += counts[last]
            if held >= share * total:
                key = (last - first + 1, -held)
                if key < best_key:
                    best, best_key = (first, last), key
                break
    return best


def _clamped(edge, bound, pick):
    """A bin edge kept inside the observed range (bins start and end on round values)."""
    if isinstance(edge, (int, float)) and isinstance(bound, (int, float)):
        return pick(edge, bound)
    if isinstance(edge, str) and isinstance(bound, str):
        width = min(len(edge), len(bound))
        return bound if pick(edge[:width], bound[:width]) == bound[:width] else edge
    return edge


def _characters(n: int) -> str:
    return t("profile.characters", count=n)


def _short(text: str) -> str:
    return text if len(text) <= LONGEST_VALUE else text[:LONGEST_VALUE - 1] + "…"


def _rounded(n: int) -> int:
    if n < 1000:
        return n
    digits = len(str(n)) - 2
    return round(n, -digits)


def show(profile: dict | None, schema: dict | None, release: int | None) -> None:
    """Draw the Columns tab for one release (``profile`` None: only the declared schema)."""
    if profile is None:
        if release is not None:
            st.info(t("profile.unavailable"), icon=":material/info:")
        st.table(fields({"schema": schema or {"fields": []}}).set_index("column"))
        return
    table = summary_table(profile, schema)
    rows = profile.get("rows", 0)
    estimated = not all(c.get("distinct_exact", True) for c in profile.get("columns", []))
    note = t("profile.note", columns=len(table), release=release, rows=rows,
             exact=t("profile.estimated") if estimated else t("profile.exact"), least=MIN_SHOWN)
    st.caption(note)
    st.dataframe(
        table, hide_index=True, key="column_profile", alt=t("profile.alt", release=release),
        height=min(ROW_HEIGHT * (len(table) + 1) + 3, TALLEST),
        column_order=[c for c in COLUMNS if c != "rules" or table["rules"].astype(bool).any()],
        column_config={
            "missing": st.column_config.TextColumn(t("profile.missing"), help=t("profile.missing_help")),
            "distinct": st.column_config.TextColumn(t("profile.distinct"), help=t("profile.distinct_help")),
            "min": st.column_config.TextColumn(t("profile.min"), help=t("profile.min_help")),
            "max": st.column_config.TextColumn(t("profile.max"), help=t("profile.max_help")),
            "distribution": st.column_config.BarChartColumn(
                t("profile.distribution"), help=t("profile.distribution_help"), y_min=0),
            "column": st.column_config.TextColumn(t("profile.column"), pinned=True),
            "type": st.column_config.TextColumn(t("profile.type")),
            "in words": st.column_config.TextColumn(t("profile.in_words"), width="large"),
            "description": st.column_config.TextColumn(t("profile.description"), width="large"),
            "rules": st.column_config.TextColumn(t("profile.rules")),
        })
    _closer_look(profile)


def _closer_look(profile: dict) -> None:
    columns = profile.get("columns", [])
    if not columns:
        return
    names = [c["name"] for c in columns]
    name = st.selectbox(t("profile.closer"), names, key="column_detail", bind="query-params")
    column = columns[names.index(name)] if name in names else columns[0]
    words = in_words(column, profile.get("rows", 0))
    frame = chart_frame(column)
    if column.get("withheld") or frame.empty:
        st.info(_sentence(words) if words else t("profile.nothing_to_draw"))
        return
    title = t("profile.per_range") if column.get("bins") else t("profile.per_value")
    st.bar_chart(frame, x="value", y="records", sort=False, horizontal=not column.get("bins"),
                 x_label=column["name"], y_label=t("profile.records"),
                 alt=f"{column['name']}: {title}. {words}")
    st.caption(_sentence(words))
    if column.get("top") and column.get("top_other"):
        st.caption(t("profile.top_other", count=column["top_other"]))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""
