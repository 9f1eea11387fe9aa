"""Who publishes what: the agencies and themes of the catalogue, each with its public datasets.

Every agency declared is listed (that an agency exists is public), but its counts, dates and
lists hold public datasets only.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from catalog.vocabulary import THEMES

LISTED_COLUMNS = ("id", "title", "description", "agency", "agency_name", "theme", "theme_label", "frequency",
                  "frequency_label", "release", "rows", "published_at", "status", "licence", "licence_title")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    cur = con.cursor()
    try:
        cur.execute("USE cat")
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def agencies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every agency, by name, with how many public datasets it has and when it last published one."""
    return _rows(con, """
        SELECT a.slug, a.name, a.homepage, a.contact_name, a.contact_email, a.description,
               count(d.id) AS datasets, max(d.published_at) AS last_published
        FROM agencies a LEFT JOIN datasets d ON d.agency = a.slug AND d.access = 'public'
        GROUP BY a.slug, a.name, a.homepage, a.contact_name, a.contact_email, a.description
        ORDER BY lower(a.name), a.slug""")


def agency(con: duckdb.DuckDBPyConnection, slug: str) -> dict | None:
    """One agency's record (as in ``agencies``), or None when there is no such agency."""
    found = agencies(con)
    found = found[found["slug"] == slug]
    return None if found.empty else found.iloc[0].to_dict()


def themes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every theme of the vocabulary, in its order, with its public datasets' count and last release."""
    counts = _rows(con, """
        SELECT theme, count(*) AS datasets, max(published_at) AS last_published
        FROM datasets WHERE access = 'public' GROUP BY theme""").set_index("theme")
    rows = [{"slug": slug, "label": label, "code": code,
             "datasets": int(counts["datasets"].get(slug, 0)),
             "last_published": counts["last_published"].get(slug, pd.NaT)}
            for slug, (label, code) in THEMES.items()]
    return pd.DataFrame(rows, columns=["slug", "label", "code", "datasets", "last_published"])


def theme(con: duckdb.DuckDBPyConnection, slug: str) -> dict | None:
    found = themes(con)
    found = found[found["slug"] == slug]
    return None if found.empty else found.iloc[0].to_dict()


def datasets(con: duckdb.DuckDBPyConnection, agency: str | None = None, theme: str | None = None) -> pd.DataFrame:
    """The public datasets of one agency and/or theme, by title."""
    where, params = ["access = 'public'"], []
    for column, value in (("agency", agency), ("theme", theme)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return _rows(con, f"""
        SELECT {', '.join(LISTED_COLUMNS)} FROM datasets
        WHERE {' AND '.join(where)} ORDER BY lower(title), id""", params)
