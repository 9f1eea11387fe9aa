"""Calculate page: filter a release, group it, count and sum it, without writing code.

Address ``/calculate?id=<dataset>`` with the calculation in the URL (see catalog.calculate):
``f=`` filters, ``g=`` group-by columns (``column~month`` cuts a date into months), ``a=``
aggregates, ``sort=`` and ``limit=``; ``release=N`` reads release N. The result comes as a
chart, the same in words, a table, its SQL, a CSV file and a link that reproduces it.
"""

import re
from urllib.parse import urlencode

import altair as alt
import pandas as pd
import streamlit as st

from catalog import calculate as calc
from catalog import filters as flt
from catalog.errors import QueryError
from catalog.table_view import table_name
from dashboards import data
from dashboards.i18n import number, t
from dashboards.widgets.table_panel import escaped, filter_controls, url_filters

CHART_ROWS = 40
AREA_WORDS = re.compile(r"(?i)(district|area|region|ward|borough|county|country|postcode|neighbou?rhood|zone|"
                        r"municipality|province|state|parish|constituency|lsoa|msoa)")


def _periods() -> dict[str | None, str]:
    return {None: t("calculate.period_none"), "month": t("calculate.period_month"),
            "quarter": t("calculate.period_quarter"), "year": t("calculate.period_year")}


def _query_lists() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _link(params: dict) -> str:
    """This page's address with the calculation in it."""
    base = (st.context.url or "").split("?")[0] or "/calculate"
    pairs = [(k, v) for k, values in params.items() for v in ([values] if isinstance(values, str) else values)]
    return f"{base}?{urlencode(pairs)}"


def _chart(result: calc.CalculationResult, words: str) -> None:
    """A bar chart, or a line chart over time periods, of the first aggregate; ``words`` says the same."""
    frame = result.table
    measure = result.measures[0]
    if frame.empty:
        return
    if not result.groups:
        for place, name in zip(st.columns(len(result.measures)), result.measures):
            place.metric(name, calc.number_text(_plain(frame[name].iloc[0])))
        return
    if not pd.api.types.is_numeric_dtype(frame[measure]):
        st.caption(t("calculate.not_charted", measure=measure))
        return
    if result.bucketed:
        period = result.periods[0]
        others = [g for g in result.groups if g != period]
        shown = frame
    else:
        period, others = None, result.groups[1:]
        shown = frame.head(CHART_ROWS)
    label = period or result.groups[0]
    plot = pd.DataFrame({"label": shown[label].astype(str), "value": shown[measure]})
    tooltip = [alt.Tooltip("label:N", title=label), alt.Tooltip("value:Q", title=measure, format=",.2f")]
    color = None
    if others:
        plot["series"] = shown[others].astype(str).agg(" · ".join, axis=1)
        color = alt.Color("series:N", title=" · ".join(others))
        tooltip.append(alt.Tooltip("series:N", title=" · ".join(others)))
    if period:
        chart = alt.Chart(plot).mark_line(point=True).encode(
            x=alt.X("label:O", title=period, sort=None), y=alt.Y("value:Q", title=measure), tooltip=tooltip)
    else:
        chart = alt.Chart(plot).mark_bar().encode(
            y=alt.Y("label:N", title=label, sort=None), x=alt.X("value:Q", title=measure), tooltip=tooltip)
    if color is not None:
        chart = chart.encode(color=color)
    title = t("calculate.chart_title", measure=measure, groups=t("calculate.and").join(result.groups))
    st.altair_chart(chart.properties(title=title), alt=words)
    if len(shown) < len(frame):
        st.caption(t("calculate.chart_cut", shown=len(shown), rows=len(frame)))
    if not period and any(AREA_WORDS.search(g) for g in result.groups):
        st.caption(t("calculate.no_map"))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _map(table: str, chosen: list, kinds: dict[str, str]) -> None:
    pair = calc.coordinate_columns(kinds)
    if pair is None:
        return
    st.subheader(t("calculate.map_title"))
    try:
        cells, sql = data.locations(table, chosen)
    except QueryError as exc:
        st.error(t("calculate.map_failed", reason=escaped(exc)))
        return
    if cells.empty:
        st.caption(t("calculate.map_empty", latitude=pair[0], longitude=pair[1]))
        return
    busiest = cells.iloc[0]
    most = int(cells["records"].max())
    words = (t("calculate.map_words", cells=len(cells), rows=int(cells["records"].sum()), latitude=pair[0],
               longitude=pair[1], at_latitude=number(busiest["latitude"], decimals=3),
               at_longitude=number(busiest["longitude"], decimals=3), busiest=int(busiest["records"]))
             + (" " + t("calculate.map_capped", cells=calc.MAP_CELLS) if len(cells) >= calc.MAP_CELLS else ""))
    st.map(cells.assign(size=20 + 80 * (cells["records"] / most) ** 0.5), latitude="latitude",
           longitude="longitude", size="size", alt=words)
    st.caption(t("calculate.in_words_plain", words=words))
    with st.expander(t("calculate.map_sql")):
        st.code(sql, language="sql")


dataset_id = st.query_params.get("id", "")
record = data.dataset(dataset_id) if data.published() and dataset_id else None
if record is None:
    st.title(t("calculate.title"))
    if dataset_id:
        st.error(t("calculate.unknown", id=escaped(dataset_id[:80])))
    else:
        st.info(t("calculate.open_first"))
    st.page_link("views/search.py", label=t("calculate.search"), icon=":material/search:")
    st.stop()

st.title(t("calculate.title_of", title=record["title"]))
asked_release = st.query_params.get("release", "")
pinned = int(asked_release) if asked_release.isdigit() and len(asked_release) < 10 else None
back = {"id": record["id"], **({"release": str(pinned)} if pinned else {})}
st.page_link("views/dataset.py", label=t("calculate.back", title=escaped(record["title"])),
             icon=":material/arrow_back:", query_params=back)
if pd.isna(record["release"]):
    st.info(t("calculate.no_release"))
    st.stop()

table = table_name(record["id"], pinned)
try:
    kinds = data.columns(table)
except QueryError:
    st.error(t("calculate.no_such_release", release=escaped(asked_release)))
    del st.query_params["release"]
    pinned, table = None, record["id"]
    kinds = data.columns(table)
release = pinned or int(record["release"])
st.caption(t("calculate.release", release=release, table=table))

chosen, problems = url_filters(kinds)
try:
    asked = calc.Calculation.from_query(_query_lists())
except QueryError as exc:
    problems.append(str(exc))
    asked = calc.Calculation()
for problem in problems:
    st.warning(t("calculate.left_out", problem=escaped(problem)), icon=":material/link_off:")

filter_controls(table, kinds, chosen)

st.markdown(f"**{t('calculate.heading')}**")
columns_list = list(kinds)
options = calc.measure_options(kinds)
options += [m for m in asked.measures if m not in options]
measures = st.multiselect(t("calculate.measures"), options, default=list(dict.fromkeys(asked.measures)),
                          format_func=lambda m: m.name, max_selections=calc.MAX_MEASURES,
                          key=f"calc_measures:{table}", placeholder=t("calculate.measures_placeholder"))
if not measures:
    st.caption(t("calculate.nothing_picked"))
grouping, periods = st.columns([3, 2])
asked_groups = [g.column for g in asked.group_by if g.column in kinds]
group_columns = grouping.multiselect(t("calculate.group_by", most=calc.MAX_GROUPS), columns_list,
                                     default=list(dict.fromkeys(asked_groups))[:calc.MAX_GROUPS],
                                     max_selections=calc.MAX_GROUPS, key=f"calc_groups:{table}",
                                     placeholder=t("calculate.no_grouping"))
asked_buckets = {g.column: g.bucket for g in asked.group_by}
groups = []
for column in group_columns:
    bucket = None
    if kinds[column] in (flt.DATE, flt.DATETIME):
        choices = [None, *calc.BUCKETS]
        default = asked_buckets.get(column) if asked_buckets.get(column) in choices else "month"
        bucket = periods.selectbox(t("calculate.group_column_by", column=column), choices,
                                   index=choices.index(default), format_func=_periods().get,
                                   key=f"calc_bucket:{table}:{column}")
    groups.append(calc.GroupBy(column, bucket))

draft = calc.Calculation(filters=tuple(chosen), group_by=tuple(groups),
                         measures=tuple(measures) or (calc.Measure("count"),))
names = [g.name for g in draft.group_by] + [m.name for m in draft.measures]
natural, natural_descending = calc.order(draft)
sort_by, direction, cap = st.columns([3, 2, 2])
sort_options = ["", *names]
sort = sort_by.selectbox(t("calculate.sort_by"), sort_options,
                         index=sort_options.index(asked.sort) if asked.sort in names else 0,
                         format_func=lambda n: n or t("calculate.usual_order",
                                                      order=natural or t("calculate.one_row")),
                         key=f"calc_sort:{table}")
directions = {"descending": t("calculate.descending"), "ascending": t("calculate.ascending")}
descending = direction.selectbox(t("calculate.order"), list(directions), disabled=not sort,
                                 format_func=directions.get, index=0 if asked.descending else 1,
                                 key=f"calc_order:{table}") == "descending"
limit = cap.number_input(t("calculate.limit"), min_value=1, max_value=calc.MAX_LIMIT,
                         value=min(max(asked.limit, 1), calc.MAX_LIMIT), step=100, key=f"calc_limit:{table}")
spec = calc.Calculation(filters=draft.filters, group_by=draft.group_by, measures=draft.measures,
                        sort=sort or None, descending=descending if sort else True, limit=int(limit))

params = {"id": record["id"], **({"release": str(pinned)} if pinned else {}), **spec.to_query()}
st.query_params.from_dict(params)

try:
    result = data.calculation(table, spec)
except QueryError as exc:
    st.error(escaped(str(exc)[:1].upper() + str(exc)[1:]), icon=":material/error:")
    st.stop()

st.subheader(t("calculate.result"))
summary = calc.summary(result)
_chart(result, summary)
st.markdown(t("calculate.in_words", words=escaped(summary)))
percent = {m: st.column_config.NumberColumn(m, format="%.2f%%") for m in result.measures if m.startswith("share of")}
st.dataframe(result.table, hide_index=True, key="calc_result", column_config=percent)
rows_note = t("common.rows", count=len(result.table))
if result.truncated:
    rows_note += t("calculate.capped", cap=spec.limit, limit=t("calculate.limit"))
st.caption(t("calculate.took", rows=rows_note, seconds=number(result.seconds, decimals=2)))

st.download_button(t("calculate.download"), data=calc.result_csv(result.table),
                   file_name=f"{record['id']}-calculation.csv", mime="text/csv", on_click="ignore",
                   icon=":material/download:", key="calc_csv")
st.markdown(t("calculate.link"))
st.code(_link(params), language=None, wrap_lines=True)
with st.expander(t("calculate.sql")):
    st.code(result.sql, language="sql")
    st.caption(t("calculate.sql_runs"))

_map(table, chosen, kinds)
