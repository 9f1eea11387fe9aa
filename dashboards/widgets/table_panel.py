"""The dataset page's Data tab: a release's rows, filtered, sorted and paged by the server.

Only one page of rows reaches the browser. The whole state lives in the URL, so a filtered,
sorted view is a link: ``f=column~operator~value`` (repeated, see catalog.filters),
``sort=column~asc|desc``, ``page=N`` and ``size=N`` beside the page's ``id`` and ``release``.
"""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from catalog import filters as flt
from catalog.errors import QueryError
from catalog.table_view import DEFAULT_PAGE_SIZE, PAGE_SIZES, Sort, table_name
from dashboards import data

PREFIX = "table_"
PICK_LIST_MOST = 200
EARLIEST, LATEST = dt.date(1800, 1, 1), dt.date(2200, 12, 31)
VALUE_PLACEHOLDERS = {flt.NUMBER: "a number, e.g. 1234.5", flt.TIME: "a time, e.g. 14:30", flt.TEXT: "text"}


def escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$:-])", r"\\\1", str(text))


def url_filters(columns: dict[str, str]) -> tuple[list[flt.Filter], list[str]]:
    """The filters in the URL that fit the release, and a message for each one that does not."""
    try:
        asked = flt.from_query(st.query_params.get_all("f"))
    except QueryError as exc:
        return [], [str(exc)]
    good, problems = [], []
    for f in asked:
        try:
            flt.compile_filters([f], columns)
            good.append(f)
        except QueryError as exc:
            problems.append(str(exc))
    return good, problems


def _set_filters(chosen: list[flt.Filter]) -> None:
    st.query_params.pop("page", None)
    if chosen:
        st.query_params["f"] = flt.to_query(chosen)
    else:
        st.query_params.pop("f", None)


def _value_text(value) -> str:
    """A widget's value as a filter holds it: dates written 2024-03-31, text exactly as given."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _add_filter(chosen: list[flt.Filter], columns: dict[str, str]) -> None:
    column = st.session_state.get(f"{PREFIX}filter_column")
    kind = columns.get(column)
    op = st.session_state.get(f"{PREFIX}filter_op:{column}")
    if kind is None or op is None:
        return
    arity = flt.OPERATORS[op].arity
    if arity is None:
        raw = st.session_state.get(_value_key(column, op), [])
        values = tuple(dict.fromkeys(str(v) for v in (raw.splitlines() if isinstance(raw, str) else raw)
                                     if str(v).strip()))
    else:
        values = tuple(_value_text(st.session_state.get(_value_key(column, op, n))) for n in range(arity))
    new = flt.Filter(column, op, values)
    try:
        if any(not v.strip() for v in values) or (arity is None and not values):
            raise QueryError(f"give a value for “{column} {flt.operator_label(op, kind)}” before adding it")
        flt.compile_filters([new], columns)
    except QueryError as exc:
        st.session_state[f"{PREFIX}filter_problem"] = str(exc)
        return
    st.session_state.pop(f"{PREFIX}filter_problem", None)
    _set_filters([*chosen, new])


def _remove_filter(chosen: list[flt.Filter], number: int) -> None:
    _set_filters([f for n, f in enumerate(chosen) if n != number])


def _value_key(column: str, op: str, number: int = 0) -> str:
    return f"{PREFIX}filter_value:{number}:{column}:{op}"


def filter_builder(table: str, columns: dict[str, str], chosen: list[flt.Filter]) -> None:
    """Pick a column, a condition that fits its type and its value(s); then add the filter."""
    pick, condition, value, add = st.columns([3, 2, 3.4, 1.6], vertical_alignment="bottom")
    column = pick.selectbox("Column to filter", list(columns), key=f"{PREFIX}filter_column",
                            format_func=lambda c: f"{c} ({columns[c]})")
    kind = columns[column]
    op = condition.selectbox("Condition", flt.KIND_OPERATORS[kind], key=f"{PREFIX}filter_op:{column}",
                             format_func=lambda o: flt.operator_label(o, kind))
    arity = flt.OPERATORS[op].arity
    with value:
        if arity == 0:
            st.caption("This condition needs no value.")
        elif kind == flt.TEXT and op in ("eq", "in"):
            known = data.distinct_values(table, column, PICK_LIST_MOST)
            if known is not None and op == "eq":
                st.selectbox("Value", known, key=_value_key(column, op), index=None, placeholder="pick a value")
            elif known is not None:
                st.multiselect("Values", known, key=_value_key(column, op), placeholder="pick one or more")
            elif op == "eq":
                st.text_input("Value", key=_value_key(column, op), placeholder="the exact text")
            else:
                st.text_area("Values, one per line", key=_value_key(column, op), height=80)
        elif kind in (flt.DATE, flt.DATETIME):
            labels = ("From (inclusive)", "To (inclusive)") if arity == 2 else ("Day",)
            for number, (place, label) in enumerate(zip(st.columns(arity), labels)):
                place.date_input(label, value=None, min_value=EARLIEST, max_value=LATEST, format="YYYY-MM-DD",
                                 key=_value_key(column, op, number))
        else:
            labels = ("From (inclusive)", "To (inclusive)") if arity == 2 else ("Value",)
            for number, (place, label) in enumerate(zip(st.columns(arity), labels)):
                place.text_input(label, key=_value_key(column, op, number),
                                 placeholder=VALUE_PLACEHOLDERS.get(kind, "a value"))
    add.button("Add filter", key=f"{PREFIX}filter_add", icon=":material/filter_alt:", on_click=_add_filter,
               args=(chosen, columns))
    problem = st.session_state.get(f"{PREFIX}filter_problem")
    if problem:
        st.error(escaped(problem[:1].upper() + problem[1:]), icon=":material/error:")


def filter_controls(table: str, columns: dict[str, str], chosen: list[flt.Filter]) -> None:
    """The filter builder and the filters in force, each with a button that removes it."""
    st.markdown("**Filter rows**")
    filter_builder(table, columns, chosen)
    if chosen:
        with st.container(horizontal=True, gap="small", key=f"{PREFIX}active"):
            for number, f in enumerate(chosen):
                said = f.describe(columns.get(f.column))
                st.button(escaped(said if len(said) <= 60 else said[:59] + "…"), key=f"{PREFIX}remove:{number}",
                          icon=":material/close:", help=f"Remove this filter: {said}", on_click=_remove_filter,
                          args=(chosen, number))
            st.button("Clear all filters", key=f"{PREFIX}clear", type="tertiary", on_click=_set_filters, args=([],))


def _set_sort(columns: dict[str, str]) -> None:
    column = st.session_state.get(f"{PREFIX}sort")
    descending = st.session_state.get(f"{PREFIX}order") == "descending"
    st.query_params.pop("page", None)
    if column in columns:
        st.query_params["sort"] = Sort(column, descending).to_query()
    else:
        st.query_params.pop("sort", None)


def _set_size() -> None:
    st.query_params.pop("page", None)
    size = st.session_state.get(f"{PREFIX}size", DEFAULT_PAGE_SIZE)
    if size == DEFAULT_PAGE_SIZE:
        st.query_params.pop("size", None)
    else:
        st.query_params["size"] = str(size)


def _go_to(page: int) -> None:
    if page > 1:
        st.query_params["page"] = str(page)
    else:
        st.query_params.pop("page", None)
    st.session_state.pop(f"{PREFIX}page", None)


def _typed_page() -> None:
    _go_to(int(st.session_state.get(f"{PREFIX}page") or 1))


def _url_sort(columns: dict[str, str]) -> tuple[Sort | None, str | None]:
    try:
        sort = Sort.from_query(st.query_params.get("sort"))
    except QueryError as exc:
        return None, str(exc)
    if sort is not None and sort.column not in columns:
        return None, f"there is no column “{sort.column[:80]}” to sort by in this release"
    return sort, None


def _url_int(name: str, default: int) -> int:
    text = st.query_params.get(name, "")
    return int(text) if text.isdigit() and len(text) < 10 else default


def key_column(record: dict) -> str | None:
    """The dataset's primary key when it is one column: a page is then fetched by key (faster)."""
    key = (record.get("schema") or {}).get("primaryKey")
    if isinstance(key, list):
        key = key[0] if len(key) == 1 else None
    return key if isinstance(key, str) else None


def show(record: dict, release: int, pinned: bool) -> None:
    """The rows of release ``release``; ``pinned``: the reader asked for that release by number."""
    table = table_name(record["id"], release if pinned else None)
    try:
        columns = data.columns(table)
    except QueryError as exc:
        st.error(f"The rows of this release cannot be read just now: {escaped(exc)}")
        return
    chosen, problems = url_filters(columns)
    sort, sort_problem = _url_sort(columns)
    for problem in problems + ([sort_problem] if sort_problem else []):
        st.warning(f"Part of this link was left out: {escaped(problem)}", icon=":material/link_off:")

    links = {"id": record["id"], **({"release": str(release)} if pinned else {})}
    if chosen:
        links["f"] = flt.to_query(chosen)
    st.page_link("views/calculate.py", label="Calculate with these rows: counts, sums, averages by group",
                 icon=":material/functions:", query_params=links)
    filter_controls(table, columns, chosen)

    order, direction, size = st.columns([3, 2, 2])
    options = ["", *columns]
    order.selectbox("Sort by", options, key=f"{PREFIX}sort", on_change=_set_sort, args=(columns,),
                    index=options.index(sort.column) if sort else 0,
                    format_func=lambda c: c or "the release's own order")
    direction.selectbox("Order", ["ascending", "descending"], key=f"{PREFIX}order", on_change=_set_sort,
                        args=(columns,), index=1 if sort and sort.descending else 0, disabled=sort is None)
    page_size = _url_int("size", DEFAULT_PAGE_SIZE)
    page_size = page_size if page_size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    size.selectbox("Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(page_size), key=f"{PREFIX}size",
                   on_change=_set_size)

    try:
        page = data.table_page(table, chosen, sort, _url_int("page", 1), page_size, key=key_column(record))
    except QueryError as exc:
        st.error(f"These rows cannot be shown: {escaped(exc)}")
        return
    if page.page > 1:
        st.query_params["page"] = str(page.page)
    else:
        st.query_params.pop("page", None)

    matching = "matching rows" if chosen else "rows"
    st.markdown(f"Rows {page.first_row:,}–{page.last_row:,} of **{page.total:,}** {matching} in release {release}."
                if page.total else f"**No row of release {release} matches** these filters.")
    st.dataframe(page.rows, hide_index=True, key=f"{PREFIX}rows")

    if st.session_state.get(f"{PREFIX}page", page.page) != page.page:
        st.session_state.pop(f"{PREFIX}page")  # the page moved (a new filter, the last page): follow it
    if page.pages > 1:
        back, where, forward = st.columns([1, 2, 1], vertical_alignment="bottom")
        back.button("← Previous", key=f"{PREFIX}previous", disabled=page.page <= 1, on_click=_go_to,
                    args=(page.page - 1,))
        where.number_input(f"Page (of {page.pages:,})", min_value=1, max_value=page.pages, value=page.page, step=1,
                           key=f"{PREFIX}page", on_change=_typed_page)
        forward.button("Next →", key=f"{PREFIX}next", disabled=page.page >= page.pages, on_click=_go_to,
                       args=(page.page + 1,))
    st.caption(f"Filtered, sorted and counted on the server in {page.seconds:.2f} s; only this page was sent. "
               f"In SQL this release is the table \"{table}\". The Download tab has every row.")
    with st.expander("The SQL behind this page"):
        st.code(page.sql, language="sql")
        st.code(page.count_sql, language="sql")
        st.caption("Both run as they are in the SQL console.")
