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
from dashboards.widgets.table_panel import escaped, filter_controls, url_filters

CHART_ROWS = 40
AREA_WORDS = re.compile(r"(?i)(district|area|region|ward|borough|county|country|postcode|neighbou?rhood|zone|"
                        r"municipality|province|state|parish|constituency|lsoa|msoa)")
PERIODS = {None: "each value", "month": "months", "quarter": "quarters", "year": "years"}


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
        st.caption(f"“{measure}” is not a number, so it is not charted; the table below has it.")
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
    st.altair_chart(chart.properties(title=f"{measure} by {' and '.join(result.groups)}"), alt=words)
    if len(shown) < len(frame):
        st.caption(f"The chart shows the first {len(shown)} rows of the result; the table below has all "
                   f"{len(frame):,}.")
    if not period and any(AREA_WORDS.search(g) for g in result.groups):
        st.caption("No area boundaries come with the catalogue, so areas are compared in this bar chart "
                   "rather than drawn on a map.")


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _map(table: str, chosen: list, kinds: dict[str, str]) -> None:
    pair = calc.coordinate_columns(kinds)
    if pair is None:
        return
    st.subheader("Where the matching rows are")
    try:
        cells, sql = data.locations(table, chosen)
    except QueryError as exc:
        st.error(f"The map cannot be drawn: {escaped(exc)}")
        return
    if cells.empty:
        st.caption(f"No matching row has a {pair[0]} and {pair[1]}.")
        return
    busiest = cells.iloc[0]
    most = int(cells["records"].max())
    words = (f"{len(cells):,} map cells of about 100 m hold {int(cells['records'].sum()):,} matching rows "
             f"(from the columns {pair[0]} and {pair[1]}); the busiest, at {busiest['latitude']:.3f}, "
             f"{busiest['longitude']:.3f}, holds {int(busiest['records']):,}."
             + (f" Only the {calc.MAP_CELLS:,} busiest cells are drawn." if len(cells) >= calc.MAP_CELLS else ""))
    st.map(cells.assign(size=20 + 80 * (cells["records"] / most) ** 0.5), latitude="latitude",
           longitude="longitude", size="size", alt=words)
    st.caption(f"In words: {words}")
    with st.expander("The SQL behind the map"):
        st.code(sql, language="sql")


dataset_id = st.query_params.get("id", "")
record = data.dataset(dataset_id) if data.published() and dataset_id else None
if record is None:
    st.title("Calculate")
    if dataset_id:
        st.error(f"There is no published public dataset with the id “{escaped(dataset_id[:80])}”.")
    else:
        st.info("Open a dataset first: the calculation works on its rows.")
    st.page_link("views/search.py", label="Search the catalogue", icon=":material/search:")
    st.stop()

st.title(f"Calculate: {record['title']}")
asked_release = st.query_params.get("release", "")
pinned = int(asked_release) if asked_release.isdigit() and len(asked_release) < 10 else None
back = {"id": record["id"], **({"release": str(pinned)} if pinned else {})}
st.page_link("views/dataset.py", label=f"Back to the dataset “{escaped(record['title'])}”",
             icon=":material/arrow_back:", query_params=back)
if pd.isna(record["release"]):
    st.info("No release of this dataset has been published yet.")
    st.stop()

table = table_name(record["id"], pinned)
try:
    kinds = data.columns(table)
except QueryError:
    st.error(f"This dataset has no release {escaped(asked_release)}; showing the current one.")
    del st.query_params["release"]
    pinned, table = None, record["id"]
    kinds = data.columns(table)
release = pinned or int(record["release"])
st.caption(f"Release {release} · in SQL the table \"{table}\" · the calculation runs on the server over every row; "
           "only the result is sent.")

chosen, problems = url_filters(kinds)
try:
    asked = calc.Calculation.from_query(_query_lists())
except QueryError as exc:
    problems.append(str(exc))
    asked = calc.Calculation()
for problem in problems:
    st.warning(f"Part of this link was left out: {escaped(problem)}", icon=":material/link_off:")

filter_controls(table, kinds, chosen)

st.markdown("**Calculate**")
columns_list = list(kinds)
options = calc.measure_options(kinds)
options += [m for m in asked.measures if m not in options]
measures = st.multiselect("What to calculate (one or more)", options, default=list(dict.fromkeys(asked.measures)),
                          format_func=lambda m: m.name, max_selections=calc.MAX_MEASURES,
                          key=f"calc_measures:{table}", placeholder="e.g. rows, sum of a number column")
if not measures:
    st.caption("Nothing picked yet, so the rows are counted.")
grouping, periods = st.columns([3, 2])
asked_groups = [g.column for g in asked.group_by if g.column in kinds]
group_columns = grouping.multiselect(f"Group by (up to {calc.MAX_GROUPS} columns)", columns_list,
                                     default=list(dict.fromkeys(asked_groups))[:calc.MAX_GROUPS],
                                     max_selections=calc.MAX_GROUPS, key=f"calc_groups:{table}",
                                     placeholder="no grouping: one row of totals")
asked_buckets = {g.column: g.bucket for g in asked.group_by}
groups = []
for column in group_columns:
    bucket = None
    if kinds[column] in (flt.DATE, flt.DATETIME):
        choices = [None, *calc.BUCKETS]
        default = asked_buckets.get(column) if asked_buckets.get(column) in choices else "month"
        bucket = periods.selectbox(f"Group {column} by", choices, index=choices.index(default),
                                   format_func=PERIODS.get, key=f"calc_bucket:{table}:{column}")
    groups.append(calc.GroupBy(column, bucket))

draft = calc.Calculation(filters=tuple(chosen), group_by=tuple(groups),
                         measures=tuple(measures) or (calc.Measure("count"),))
names = [g.name for g in draft.group_by] + [m.name for m in draft.measures]
natural, natural_descending = calc.order(draft)
sort_by, direction, cap = st.columns([3, 2, 2])
sort_options = ["", *names]
sort = sort_by.selectbox("Sort the result by", sort_options,
                         index=sort_options.index(asked.sort) if asked.sort in names else 0,
                         format_func=lambda n: n or f"the usual order ({natural or 'one row'})",
                         key=f"calc_sort:{table}")
descending = direction.selectbox("Order", ["descending", "ascending"], disabled=not sort,
                                 index=0 if asked.descending else 1, key=f"calc_order:{table}") == "descending"
limit = cap.number_input("Most rows in the result", min_value=1, max_value=calc.MAX_LIMIT,
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

st.subheader("Result")
summary = calc.summary(result)
_chart(result, summary)
st.markdown(f"**In words:** {escaped(summary)}")
percent = {m: st.column_config.NumberColumn(m, format="%.2f%%") for m in result.measures if m.startswith("share of")}
st.dataframe(result.table, hide_index=True, key="calc_result", column_config=percent)
rows_note = f"{len(result.table):,} row{'s' if len(result.table) != 1 else ''}"
if result.truncated:
    rows_note += f", cut at the cap of {spec.limit:,}: raise “Most rows in the result” to see more"
st.caption(f"{rows_note}. Calculated on the server in {result.seconds:.2f} s.")

st.download_button("Download the result (CSV)", data=calc.result_csv(result.table),
                   file_name=f"{record['id']}-calculation.csv", mime="text/csv", on_click="ignore",
                   icon=":material/download:", key="calc_csv")
st.markdown("**Link to this calculation** (copy it with the button in the box; opening it shows this result)")
st.code(_link(params), language=None, wrap_lines=True)
with st.expander("The SQL of this calculation"):
    st.code(result.sql, language="sql")
    st.caption("It runs as it is in the SQL console.")

_map(table, chosen, kinds)
