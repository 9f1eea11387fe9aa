"""The dataset page's Download tab: the release in every format with its checksum, the rows of
the Data tab's current filter, and code that fetches the data from the HTTP API.

A release's files are built once and kept (see catalog.downloads). Up to EAGER_ROWS rows they
are built when the tab is drawn, so every checksum shows at once; above that a format not built
before waits for a click, so a page of a million-row dataset opens without waiting for its
spreadsheet. Filtered rows are always prepared on a click: the filter changes as a person works.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from catalog import downloads, snippets
from catalog import filters as flt
from catalog.errors import CatalogError, QueryError
from catalog.table_view import Sort, table_name
from dashboards import data
from dashboards.i18n import day, number as digits, t
from dashboards.widgets.table_panel import escaped, url_filters

EAGER_ROWS = 200_000
PREFIX = "download_"


def show(record: dict, release: pd.Series | None, pinned: bool) -> None:
    """Downloads of ``release`` (a row of the releases table); ``pinned``: the reader asked for it by number."""
    if release is None:
        st.info(t("download.nothing"))
        return
    number = int(release["release"])
    try:
        about = data.public_release(record["id"], number)
    except CatalogError as exc:
        st.error(t("download.unreadable", release=number, reason=escaped(exc)))
        return
    st.caption(t("download.release", release=number, rows=t("common.rows", count=about.rows),
                 at=day(about.published_at)))
    ready = _whole_release(about)
    st.caption(t("download.neutralised"))
    _filtered(record, about, pinned)
    _elsewhere(record["id"], number, {fmt: export.sha256 for fmt, export in ready.items()})


def _whole_release(about: downloads.Release) -> dict[str, downloads.Export]:
    ready: dict[str, downloads.Export] = {}
    for fmt, form in downloads.FORMATS.items():
        text, action = st.columns([3, 1], vertical_alignment="center")
        export, problem = None, None
        try:
            export = data.release_export(about, fmt, build=about.rows <= EAGER_ROWS)
            if export is None and action.button(t("download.prepare", format=form.short),
                                                key=f"{PREFIX}prepare_{fmt}", icon=":material/build:"):
                with st.spinner(t("download.writing", rows=about.rows, format=form.label)):
                    export = data.release_export(about, fmt)
        except CatalogError as exc:
            problem = str(exc)
        text.markdown(f"**{form.label}** · {form.description}" + (f" · {_size(export.size)}" if export else ""))
        if export is not None:
            ready[fmt] = export
            text.caption(f"SHA-256 `{export.sha256}`")
            _button(action, export, t("download.download", format=form.short), f"{PREFIX}{fmt}")
        elif problem:
            text.caption(escaped(problem[:1].upper() + problem[1:]) + ".")
        else:
            text.caption(t("download.on_demand", rows=about.rows))
    return ready


def _filtered(record: dict, about: downloads.Release, pinned: bool) -> None:
    """The rows the Data tab's filters keep, when the link has filters."""
    table = table_name(record["id"], about.release if pinned else None)
    try:
        columns = data.columns(table)
    except QueryError:
        return
    chosen, _ = url_filters(columns)
    if not chosen:
        return
    try:
        sort = Sort.from_query(st.query_params.get("sort"))
    except QueryError:
        sort = None
    st.subheader(t("download.filtered_title"))
    described = escaped("; ".join(f.describe(columns.get(f.column)) for f in chosen))
    if sort:
        order = t("table.descending") if sort.descending else t("table.ascending")
        st.markdown(t("download.filtered_sorted", filters=described, column=escaped(sort.column), order=order))
    else:
        st.markdown(t("download.filtered", filters=described))
    key = "|".join(flt.to_query(chosen)) + "|" + (sort.to_query() if sort else "")
    if st.session_state.get(f"{PREFIX}filtered_for") != key:
        st.button(t("download.prepare_filtered"), key=f"{PREFIX}filtered_prepare", icon=":material/filter_alt:",
                  on_click=st.session_state.__setitem__, args=(f"{PREFIX}filtered_for", key))
        return
    with st.spinner(t("download.selecting")):
        for fmt, form in downloads.FORMATS.items():
            text, action = st.columns([3, 1], vertical_alignment="center")
            try:
                export = data.filtered_export(about, table, chosen, sort, fmt)
            except CatalogError as exc:
                text.markdown(f"**{form.label}**")
                text.caption(escaped(str(exc)))
                continue
            text.markdown(f"**{form.label}** · {t('common.rows', count=export.rows)} · {_size(export.size)}")
            text.caption(f"SHA-256 `{export.sha256}`")
            if export.truncated:
                text.warning(t("download.truncated", rows=export.rows))
            _button(action, export, t("download.filtered_button", format=form.short), f"{PREFIX}filtered_{fmt}")


def _elsewhere(dataset_id: str, release: int, checksums: dict[str, str]) -> None:
    st.subheader(t("download.elsewhere"))
    try:
        shown = snippets.snippets(dataset_id, release, checksums)
        base = snippets.api_url()
    except CatalogError as exc:
        st.warning(t("download.no_snippets", reason=escaped(exc)))
        return
    st.caption(t("download.snippets", release=release, base=base))
    for snippet in shown:
        st.markdown(f"**{snippet.title}**")
        st.code(snippet.code, language=snippet.language)


def _button(place, export: downloads.Export, label: str, key: str) -> None:
    place.download_button(label, data=export.path.read_bytes, file_name=export.filename,
                           mime=export.media_type.split(";")[0], on_click="ignore", icon=":material/download:",
                           key=key)


def _size(size: int) -> str:
    units = {"bytes": "", "KB": t("download.kb"), "MB": t("download.mb"), "GB": t("download.gb")}
    for unit, written in units.items():
        if size < 1024 or unit == "GB":
            return t("download.bytes", size=size) if unit == "bytes" else f"{digits(size, decimals=1)} {written}"
        size /= 1024
    return ""
