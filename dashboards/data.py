"""Every read the explorer makes, cached, through catalog/ only.

The catalogue connection is cached per catalogue *file version*: a publish swaps in a
new file, the version changes, and the next rerun opens it. An evicted connection is not
closed by hand: a session may still be reading through it, and it closes itself once no
one holds it. Query results are cached with the version in their key, so a new release
shows at once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from catalog import browse, catalogue_db, downloads, search, settings
from catalog.query import QueryResult, Sandbox
from catalog.settings import HomeLayout

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
def _search(text: str, agencies: tuple, themes: tuple, limit: int, offset: int, file_version: str):
    return search.search(catalogue(), text, agencies, themes, limit=limit, offset=offset)


def find(text: str, agencies: list[str], themes: list[str], limit: int, offset: int) -> search.SearchResult:
    return _search(text, tuple(sorted(agencies)), tuple(sorted(themes)), limit, offset, version())


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


def release_file(relative_path: str) -> Path:
    return downloads.release_parquet(home(), relative_path)
