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
from dashboards.widgets.table_panel import escaped, url_filters

EAGER_ROWS = 200_000
PREFIX = "download_"
NEUTRALISED_NOTE = ("In CSV and Excel files a text cell that begins with =, +, -, @ or a tab gets a leading "
                    "apostrophe, so that a spreadsheet shows it as text instead of running it as a formula. "
                    "Parquet, JSON and the data package hold every value exactly as published.")


def show(record: dict, release: pd.Series | None, pinned: bool) -> None:
    """Downloads of ``release`` (a row of the releases table); ``pinned``: the reader asked for it by number."""
    if release is None:
        st.info("Nothing to download yet: no release has been published.")
        return
    number = int(release["release"])
    try:
        about = data.public_release(record["id"], number)
    except CatalogError as exc:
        st.error(f"The files of release {number} cannot be read just now: {escaped(exc)}")
        return
    st.caption(f"Release {number}, {about.rows:,} rows, published "
                f"{pd.Timestamp(about.published_at).strftime('%d %b %Y')}. Every file holds the same rows; "
                f"check a file against its SHA-256 checksum to know it arrived exactly as published.")
    ready = _whole_release(about)
    st.caption(NEUTRALISED_NOTE)
    _filtered(record, about, pinned)
    _elsewhere(record["id"], number, {fmt: export.sha256 for fmt, export in ready.items()})


def _whole_release(about: downloads.Release) -> dict[str, downloads.Export]:
    ready: dict[str, downloads.Export] = {}
    for fmt, form in downloads.FORMATS.items():
        text, action = st.columns([3, 1], vertical_alignment="center")
        export, problem = None, None
        try:
            export = data.release_export(about, fmt, build=about.rows <= EAGER_ROWS)
            if export is None and action.button(f"Prepare {form.short}", key=f"{PREFIX}prepare_{fmt}",
                                                icon=":material/build:"):
                with st.spinner(f"Writing {about.rows:,} rows as {form.label}…"):
                    export = data.release_export(about, fmt)
        except CatalogError as exc:
            problem = str(exc)
        text.markdown(f"**{form.label}** · {form.description}" + (f" · {_size(export.size)}" if export else ""))
        if export is not None:
            ready[fmt] = export
            text.caption(f"SHA-256 `{export.sha256}`")
            _button(action, export, f"Download {form.short}", f"{PREFIX}{fmt}")
        elif problem:
            text.caption(escaped(problem[:1].upper() + problem[1:]) + ".")
        else:
            text.caption(f"Written the first time someone asks ({about.rows:,} rows take a few seconds).")
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
    st.subheader("Only the rows of the current filter")
    described = "; ".join(f.describe(columns.get(f.column)) for f in chosen)
    order = f", sorted by {sort.column} ({'descending' if sort.descending else 'ascending'})" if sort else ""
    st.markdown(f"The Data tab shows the rows where {escaped(described)}{escaped(order)}.")
    key = "|".join(flt.to_query(chosen)) + "|" + (sort.to_query() if sort else "")
    if st.session_state.get(f"{PREFIX}filtered_for") != key:
        st.button("Prepare these rows in every format", key=f"{PREFIX}filtered_prepare", icon=":material/filter_alt:",
                  on_click=st.session_state.__setitem__, args=(f"{PREFIX}filtered_for", key))
        return
    with st.spinner("Selecting and writing the rows…"):
        for fmt, form in downloads.FORMATS.items():
            text, action = st.columns([3, 1], vertical_alignment="center")
            try:
                export = data.filtered_export(about, table, chosen, sort, fmt)
            except CatalogError as exc:
                text.markdown(f"**{form.label}**")
                text.caption(escaped(str(exc)))
                continue
            text.markdown(f"**{form.label}** · {export.rows:,} rows · {_size(export.size)}")
            text.caption(f"SHA-256 `{export.sha256}`")
            if export.truncated:
                text.warning(f"Only the first {export.rows:,} matching rows fit in one download: narrow the "
                             f"filter, or download the whole release.")
            _button(action, export, f"Filtered {form.short}", f"{PREFIX}filtered_{fmt}")


def _elsewhere(dataset_id: str, release: int, checksums: dict[str, str]) -> None:
    st.subheader("Use it elsewhere")
    try:
        shown = snippets.snippets(dataset_id, release, checksums)
        base = snippets.api_url()
    except CatalogError as exc:
        st.warning(f"The code snippets cannot be shown: {escaped(exc)}")
        return
    st.caption(f"Each snippet fetches release {release} from the catalogue's HTTP API ({base}), so it keeps "
               f"giving exactly these rows after the next release; the comment names the address that always "
               f"gives the latest one.")
    for snippet in shown:
        st.markdown(f"**{snippet.title}**")
        st.code(snippet.code, language=snippet.language)


def _button(place, export: downloads.Export, label: str, key: str) -> None:
    place.download_button(label, data=export.path.read_bytes, file_name=export.filename,
                           mime=export.media_type.split(";")[0], on_click="ignore", icon=":material/download:",
                           key=key)


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""
