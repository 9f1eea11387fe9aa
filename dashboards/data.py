"""Every read the explorer makes, cached, through catalog/ only.

The catalogue connection is cached per catalogue *file version*: a publish swaps in a
new file, the version changes, and the next rerun opens it. An evicted connection is not
closed by hand: a session may still be reading through it, and it closes itself once no
one holds it. Query results are cached with the version in their key, so a new release
shows at once.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from catalog import browse, catalogue_db, downloads, publishers, search, settings
from catalog.errors import CatalogError
from catalog import metric_history, metrics
from catalog.spec import load_declarations
from catalog.profile import profile_parquet, pseudonymised_columns, withhold
from catalog.query import QueryResult, Sandbox
from catalog import calculate, filters, table_view
from catalog.casting import quote_ident
from catalog.settings import HomeLayout
from catalog.store import Store

PREVIEW_ROWS = 100


def home() -> Path:
    return settings.home_dir()


def version() -> str:
    return catalogue_db.file_version(HomeLayout(home()).catalogue)


def published() -> bool:
    return bool(version())


@st.cache_resource(max_entries=2)
def _catalogue(path: str, file_version: str):
    return catalogue_db.open_reader(Path(path))


@st.cache_resource(max_entries=2)
def _sandbox(path: str, file_version: str) -> Sandbox:
    return Sandbox(Path(path))


def catalogue():
    return _catalogue(str(HomeLayout(home()).catalogue), version())


def sandbox() -> Sandbox:
    return _sandbox(str(home()), version())


@st.cache_data(ttl=600, max_entries=500, show_spinner=False)
def _search(text: str, filters: tuple, sort: str, limit: int, offset: int, file_version: str):
    return search.search(catalogue(), text, filters={name: list(values) for name, values in filters},
                         sort=sort, limit=limit, offset=offset)


def find(text: str, agencies: list[str] = (), themes: list[str] = (), limit: int = 20, offset: int = 0, *,
         filters: dict[str, list[str]] | None = None, sort: str = "relevance") -> search.SearchResult:
    """Search the public catalogue; ``filters`` maps facet names to the values wanted."""
    chosen = {**(filters or {}), **({"agency": list(agencies)} if agencies else {}),
              **({"theme": list(themes)} if themes else {})}
    key = tuple(sorted((name, tuple(sorted(set(values)))) for name, values in chosen.items() if values))
    return _search(text, key, sort, limit, offset, version())


@st.cache_data(ttl=600, max_entries=20, show_spinner=False)
def _agencies(file_version: str) -> pd.DataFrame:
    return publishers.agencies(catalogue())


def agencies() -> pd.DataFrame:
    """Every agency with its count of public datasets and its last release."""
    return _agencies(version())


@st.cache_data(ttl=600, max_entries=20, show_spinner=False)
def _themes(file_version: str) -> pd.DataFrame:
    return publishers.themes(catalogue())


def themes() -> pd.DataFrame:
    """Every theme with its count of public datasets and its last release."""
    return _themes(version())


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _published_by(agency: str | None, theme: str | None, file_version: str) -> pd.DataFrame:
    return publishers.datasets(catalogue(), agency=agency, theme=theme)


def published_by(agency: str | None = None, theme: str | None = None) -> pd.DataFrame:
    """The public datasets of one agency or theme, by title."""
    return _published_by(agency, theme, version())


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _dataset(dataset_id: str, file_version: str) -> dict | None:
    return browse.dataset(catalogue(), dataset_id)


def dataset(dataset_id: str) -> dict | None:
    return _dataset(dataset_id, version())


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _history(dataset_id: str, file_version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = catalogue()
    return browse.releases(con, dataset_id), browse.quarantines(con, dataset_id)


def history(dataset_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _history(dataset_id, version())


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _preview(table: str, rows: int, file_version: str) -> QueryResult:
    quoted = '"' + table.replace('"', '""') + '"'
    return sandbox().query(f"SELECT * FROM {quoted} LIMIT {int(rows)}", row_limit=rows)


def preview(dataset_id: str, rows: int = PREVIEW_ROWS, release: int | None = None) -> pd.DataFrame:
    """The first rows of the current release, or of release ``release`` when one is named."""
    table = dataset_id if release is None else f"{dataset_id}@{int(release)}"
    return _preview(table, rows, version()).to_pandas()


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _columns(table: str, file_version: str) -> dict[str, str]:
    return table_view.release_columns(sandbox(), table)


def columns(table: str) -> dict[str, str]:
    """Column -> kind (text, number, date, ...) of a sandbox table ("<id>" or "<id>@N")."""
    return _columns(table, version())


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _distinct(table: str, column: str, most: int, file_version: str) -> list | None:
    return table_view.distinct_values(sandbox(), table, column, most)


def distinct_values(table: str, column: str, most: int = 200) -> list | None:
    """The values of a column when it has at most ``most`` of them (for pick lists), else None."""
    return _distinct(table, column, most, version())


@st.cache_data(ttl=600, max_entries=500, show_spinner=False)
def _table_page(table: str, encoded: tuple, sort: str, page: int, page_size: int, key: str | None,
                file_version: str) -> table_view.TablePage:
    return table_view.read_page(sandbox(), table, filters.from_query(list(encoded)), table_view.Sort.from_query(sort),
                                page, page_size, key=key, columns=columns(table))


def table_page(table: str, chosen, sort: table_view.Sort | None, page: int, page_size: int,
               key: str | None = None) -> table_view.TablePage:
    """One page of a release's rows, filtered and sorted in the sandbox (see catalog.table_view)."""
    return _table_page(table, tuple(filters.to_query(chosen)), sort.to_query() if sort else "", int(page),
                       int(page_size), key, version())


@st.cache_data(ttl=600, max_entries=300, show_spinner=False)
def _calculation(table: str, encoded: str, file_version: str) -> calculate.CalculationResult:
    spec = calculate.Calculation.from_query(json.loads(encoded))
    return calculate.run(sandbox(), table, spec, columns(table))


def calculation(table: str, spec: calculate.Calculation) -> calculate.CalculationResult:
    """The result of a calculation on a release (see catalog.calculate); QueryError when it does not fit."""
    return _calculation(table, json.dumps(spec.to_query(), sort_keys=True), version())


@st.cache_data(ttl=600, max_entries=100, show_spinner=False)
def _locations(table: str, encoded: tuple, file_version: str) -> tuple[pd.DataFrame, str]:
    return calculate.location_counts(sandbox(), table, filters.from_query(list(encoded)), columns(table))


def locations(table: str, chosen) -> tuple[pd.DataFrame, str]:
    """Matching rows counted per map cell of about 100 m, and the SQL that counts them."""
    return _locations(table, tuple(filters.to_query(chosen)), version())


@st.cache_data(ttl=300, max_entries=16, show_spinner=False)
def _console(sql: str, file_version: str) -> QueryResult:
    return sandbox().query(sql)


def run_sql(sql: str) -> QueryResult:
    """A console query through the public sandbox; a refused or failed one raises QueryError."""
    return _console(sql, version())


@st.cache_data(ttl=600, max_entries=4, show_spinner=False)
def _sql_tables(file_version: str) -> dict[str, list[tuple[str, str]]]:
    return sandbox().columns()


def sql_tables() -> dict[str, list[tuple[str, str]]]:
    """Every table the public sandbox serves ("<id>" and "<id>@N"), with its columns and SQL types."""
    return _sql_tables(version())


def release_file(relative_path: str) -> Path:
    return downloads.release_parquet(home(), relative_path)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _public_release(dataset_id: str, release: int, file_version: str) -> downloads.Release:
    return downloads.public_release(home(), dataset_id, release)


def public_release(dataset_id: str, release: int) -> downloads.Release:
    """A public release with what its downloads describe (raises downloads.NotPublished)."""
    return _public_release(dataset_id, int(release), version())


def release_export(about: downloads.Release, fmt: str, build: bool = True) -> downloads.Export | None:
    """The whole release in ``fmt``; without ``build``, only if it is ready (else None)."""
    if build:
        return downloads.export_release(home(), about.dataset_id, fmt, about=about)
    return downloads.ready_export(home(), about, fmt)


def filtered_export(about: downloads.Release, table: str, chosen, sort: table_view.Sort | None,
                    fmt: str) -> downloads.Export:
    """The rows of ``table`` that the filters keep, in the table's sort order, in ``fmt``."""
    pieces = [f"SELECT * FROM {quote_ident(table)}", *filters.where(filters.compile_filters(chosen, columns(table)))]
    if sort is not None and sort.column in columns(table):
        pieces.append(f" ORDER BY {quote_ident(sort.column)} {'DESC' if sort.descending else 'ASC'}")
    sql, params = filters.render(pieces)
    return downloads.export_selection(home(), sandbox(), about, sql, params, fmt)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _profile(dataset_id: str, release: int, declared_json: str, file_version: str) -> dict | None:
    found = browse.release_profile(catalogue(), dataset_id, release)
    if found is None:
        return None
    protected = pseudonymised_columns(found["privacy"], json.loads(declared_json))
    if found["profile"] is not None:
        return withhold(found["profile"], protected)
    return _computed_profile(dataset_id, release, found["path"], json.dumps(sorted(protected)))


@st.cache_data(max_entries=50, show_spinner="Summarising the columns of this release…")
def _computed_profile(dataset_id: str, release: int, relative_path: str, protected_json: str) -> dict | None:
    """The profile of a release published before profiles were stored, computed once and kept."""
    try:
        parquet = release_file(relative_path)
        schema = Store(home()).release_schema(dataset_id, release)
        privacy = {"rules": [{"rule": "pseudonymise", "columns": json.loads(protected_json)}]}
        return profile_parquet(parquet, schema, privacy)
    except (CatalogError, duckdb.Error, OSError, ValueError):
        return None


def column_profile(dataset_id: str, release: int, declared_privacy: dict | None = None) -> dict | None:
    """What each column of a public release holds (see catalog.profile); None when unavailable."""
    declared = json.dumps(declared_privacy or {}, sort_keys=True, default=str)
    return _profile(dataset_id, int(release), declared, version())


def _stamp(path: Path) -> str:
    """Changes whenever the file does; empty when there is none."""
    try:
        found = path.stat()
    except OSError:
        return ""
    return f"{found.st_mtime_ns}-{found.st_size}"


@st.cache_data(ttl=600, max_entries=20, show_spinner="Measuring…")
def _transparency(home_path: str, at_iso: str | None, minute: str, file_version: str, feedback_version: str) -> dict:
    try:
        declarations = load_declarations(settings.datasets_dir())
    except CatalogError:
        declarations = None
    at = dt.datetime.fromisoformat(at_iso) if at_iso else dt.datetime.now(dt.timezone.utc)
    found = metrics.report(metrics.evidence(Path(home_path), declarations), at)
    return {**found, "calendars_read": declarations is not None}


def transparency(at: dt.datetime | None = None) -> dict:
    """The transparency measures (``catalog.metrics.report``) as of ``at``, by default now: measured again
    each minute, and at once when the catalogue or the public's messages change.
    ``calendars_read`` is False when the declarations, which hold the release calendars, could not be read."""
    minute = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M") if at is None else ""
    return _transparency(str(home()), at.isoformat() if at else None, minute, version(),
                         _stamp(home() / "feedback" / "messages.jsonl"))


@st.cache_data(ttl=600, max_entries=5, show_spinner=False)
def _measure_history(home_path: str, file_version: str) -> list[dict]:
    return metric_history.history(Path(home_path))


def measure_history() -> list[dict]:
    """Every snapshot of the transparency measures, oldest first."""
    return _measure_history(str(home()), _stamp(metric_history.snapshots_path(home())))
