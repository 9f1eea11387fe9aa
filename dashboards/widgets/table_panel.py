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
from dashboards.i18n import number as digits, t

PREFIX = "table_"
PICK_LIST_MOST = 200
EARLIEST, LATEST = dt.date(1800, 1, 1), dt.date(2200, 12, 31)


def escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$:-])", r"\\\1", str(text))


def _value_placeholders() -> dict[str, str]:
    return {flt.NUMBER: t("table.placeholder_number"), flt.TIME: t("table.placeholder_time"),
            flt.TEXT: t("table.placeholder_text")}


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
            raise QueryError(t("table.give_value", condition=f"{column} {flt.operator_label(op, kind)}"))
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
    column = pick.selectbox(t("table.column"), list(columns), key=f"{PREFIX}filter_column",
                            format_func=lambda c: f"{c} ({columns[c]})")
    kind = columns[column]
    op = condition.selectbox(t("table.condition"), flt.KIND_OPERATORS[kind], key=f"{PREFIX}filter_op:{column}",
                             format_func=lambda o: flt.operator_label(o, kind))
    arity = flt.OPERATORS[op].arity
    with value:
        if arity == 0:
            st.caption(t("table.no_value_needed"))
        elif kind == flt.TEXT and op in ("eq", "in"):
            known = data.distinct_values(table, column, PICK_LIST_MOST)
            if known is not None and op == "eq":
                st.selectbox(t("table.value"), known, key=_value_key(column, op), index=None,
                             placeholder=t("table.pick_value"))
            elif known is not None:
                st.multiselect(t("table.values"), known, key=_value_key(column, op),
                               placeholder=t("table.pick_values"))
            elif op == "eq":
                st.text_input(t("table.value"), key=_value_key(column, op), placeholder=t("table.exact_text"))
            else:
                st.text_area(t("table.values_per_line"), key=_value_key(column, op), height=80)
        elif kind in (flt.DATE, flt.DATETIME):
            labels = (t("table.from"), t("table.to")) if arity == 2 else (t("table.day"),)
            for number, (place, label) in enumerate(zip(st.columns(arity), labels)):
                place.date_input(label, value=None, min_value=EARLIEST, max_value=LATEST, format="YYYY-MM-DD",
                                 key=_value_key(column, op, number))
        else:
            labels = (t("table.from"), t("table.to")) if arity == 2 else (t("table.value"),)
            for number, (place, label) in enumerate(zip(st.columns(arity), labels)):
                place.text_input(label, key=_value_key(column, op, number),
                                 placeholder=_value_placeholders().get(kind, t("table.placeholder_any")))
    add.button(t("table.add_filter"), key=f"{PREFIX}filter_add", icon=":material/filter_alt:", on_click=_add_filter,
               args=(chosen, columns))
    problem = st.session_state.get(f"{PREFIX}filter_problem")
    if problem:
        st.error(escaped(problem[:1].upper() + problem[1:]), icon=":material/error:")


def filter_controls(table: str, columns: dict[str, str], chosen: list[flt.Filter]) -> None:
    """The filter builder and the filters in force, each with a button that removes it."""
    st.markdown(f"**{t('table.filter_rows')}**")
    filter_builder(table, columns, chosen)
    if chosen:
        with st.container(horizontal=True, gap="small", key=f"{PREFIX}active"):
            for number, f in enumerate(chosen):
                said = f.describe(columns.get(f.column))
                st.button(escaped(said if len(said) <= 60 else said[:59] + "…"), key=f"{PREFIX}remove:{number}",
                          icon=":material/close:", help=t("table.remove", filter=said), on_click=_remove_filter,
                          args=(chosen, number))
            st.button(t("common.clear_filters"), key=f"{PREFIX}clear", type="tertiary", on_click=_set_filters,
                      args=([],))


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
        return None, t("table.no_sort_column", column=sort.column[:80])
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
        st.error(t("table.unreadable", reason=escaped(exc)))
        return
    chosen, problems = url_filters(columns)
    sort, sort_problem = _url_sort(columns)
    for problem in problems + ([sort_problem] if sort_problem else []):
        st.warning(t("table.left_out", problem=escaped(problem)), icon=":material/link_off:")

    links = {"id": record["id"], **({"release": str(release)} if pinned else {})}
    if chosen:
        links["f"] = flt.to_query(chosen)
    st.page_link("views/calculate.py", label=t("table.calculate"),
                 icon=":material/functions:", query_params=links)
    filter_controls(table, columns, chosen)

    order, direction, size = st.columns([3, 2, 2])
    options = ["", *columns]
    order.selectbox(t("common.sort_by"), options, key=f"{PREFIX}sort", on_change=_set_sort, args=(columns,),
                    index=options.index(sort.column) if sort else 0,
                    format_func=lambda c: c or t("table.own_order"))
    directions = {"ascending": t("table.ascending"), "descending": t("table.descending")}
    direction.selectbox(t("table.order"), list(directions), key=f"{PREFIX}order", on_change=_set_sort,
                        args=(columns,), index=1 if sort and sort.descending else 0, disabled=sort is None,
                        format_func=directions.get)
    page_size = _url_int("size", DEFAULT_PAGE_SIZE)
    page_size = page_size if page_size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    size.selectbox(t("table.page_size"), PAGE_SIZES, index=PAGE_SIZES.index(page_size), key=f"{PREFIX}size",
                   on_change=_set_size)

    try:
        page = data.table_page(table, chosen, sort, _url_int("page", 1), page_size, key=key_column(record))
    except QueryError as exc:
        st.error(t("table.not_shown", reason=escaped(exc)))
        return
    if page.page > 1:
        st.query_params["page"] = str(page.page)
    else:
        st.query_params.pop("page", None)

    shown = {"first": page.first_row, "last": page.last_row, "total": page.total, "release": release}
    if not page.total:
        st.markdown(t("table.no_match", release=release))
    else:
        st.markdown(t("table.matching_rows", **shown) if chosen else t("table.rows", **shown))
    st.dataframe(page.rows, hide_index=True, key=f"{PREFIX}rows")

    if st.session_state.get(f"{PREFIX}page", page.page) != page.page:
        st.session_state.pop(f"{PREFIX}page")  # the page moved (a new filter, the last page): follow it
    if page.pages > 1:
        back, where, forward = st.columns([1, 2, 1], vertical_alignment="bottom")
        back.button(t("common.previous"), key=f"{PREFIX}previous", disabled=page.page <= 1, on_click=_go_to,
                    args=(page.page - 1,))
        where.number_input(t("table.page", pages=page.pages), min_value=1, max_value=page.pages, value=page.page,
                           step=1,
                           key=f"{PREFIX}page", on_change=_typed_page)
        forward.button(t("common.next"), key=f"{PREFIX}next", disabled=page.page >= page.pages, on_click=_go_to,
                       args=(page.page + 1,))
    st.caption(t("table.took", seconds=digits(page.seconds, decimals=2), table=table))
    with st.expander(t("table.sql")):
        st.code(page.sql, language="sql")
        st.code(page.count_sql, language="sql")
        st.caption(t("table.sql_runs"))
