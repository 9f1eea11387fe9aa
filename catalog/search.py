"""Searching the catalogue: BM25 full-text ranking plus facet counts, public datasets only.

The index (DuckDB FTS, built in ``catalog.catalogue_db``) covers titles, descriptions,
keywords, column names and descriptions, agency names and theme labels, with English
stemming and accents folded. A word that the index cannot match (a prefix, a fragment of
an id) still finds datasets whose title, keywords or columns contain it, ranked last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

MAX_QUERY_CHARS = 200
FACETS = {"agency": "agency_name", "theme": "theme_label"}
RESULT_COLUMNS = ("id", "title", "description", "agency", "agency_name", "theme", "theme_label", "keywords",
                  "licence", "frequency_label", "release", "rows", "published_at", "status", "source_format")


@dataclass
class SearchResult:
    hits: pd.DataFrame
    total: int
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)


def search(con: duckdb.DuckDBPyConnection, text: str = "", agencies: list[str] | tuple = (),
           themes: list[str] | tuple = (), limit: int = 20, offset: int = 0) -> SearchResult:
    """Public datasets matching ``text`` (all of them when empty), best first, with facets."""
    text = " ".join((text or "").split())[:MAX_QUERY_CHARS]
    cur = con.cursor()
    try:
        cur.execute("USE cat")
        matched = _matched(cur, text)
        filters = {"agency": list(agencies), "theme": list(themes)}
        chosen = matched[_mask(matched, filters)]
        ordered = chosen.sort_values(["score", "title"], ascending=[False, True], kind="stable")
        hits = ordered.iloc[offset: offset + limit][list(RESULT_COLUMNS) + ["score"]].reset_index(drop=True)
        facets = {name: _facet(matched, filters, name) for name in FACETS}
        return SearchResult(hits=hits, total=len(chosen), facets=facets)
    finally:
        cur.close()


def _matched(cur: duckdb.DuckDBPyConnection, text: str) -> pd.DataFrame:
    if not text:
        return cur.execute("SELECT *, 0.0 AS score FROM datasets WHERE access = 'public'").df()
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return cur.execute(
        """
        SELECT * FROM (
            SELECT *, coalesce(fts_main_datasets.match_bm25(id, $1),
                               CASE WHEN lower(concat_ws(' ', id, title, keywords_text, columns_text))
                                         LIKE $2 ESCAPE '\\' THEN 0.0 END) AS score
            FROM datasets WHERE access = 'public')
        WHERE score IS NOT NULL
        """, [text, like]).df()


def _mask(frame: pd.DataFrame, filters: dict[str, list[str]], skip: str | None = None) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for name, values in filters.items():
        if values and name != skip:
            mask &= frame[name].isin(values)
    return mask


def _facet(matched: pd.DataFrame, filters: dict[str, list[str]], name: str) -> list[tuple[str, str, int]]:
    """(value, label, count) for one facet, counted with every other facet's filter applied."""
    subset = matched[_mask(matched, filters, skip=name)]
    counts = subset.groupby([name, FACETS[name]]).size().reset_index(name="count")
    counts = counts.sort_values(["count", FACETS[name]], ascending=[False, True])
    return [(row[name], row[FACETS[name]], int(row["count"])) for _, row in counts.iterrows()]
