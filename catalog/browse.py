"""Read-only look-ups on the catalogue for pages and commands: one dataset, its history, the list."""

from __future__ import annotations

import json

import duckdb
import pandas as pd


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    cur = con.cursor()
    try:
        cur.execute("USE cat")
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def list_datasets(con: duckdb.DuckDBPyConnection, public_only: bool = False) -> pd.DataFrame:
    where = "WHERE access = 'public'" if public_only else ""
    return _rows(con, f"""
        SELECT id, agency, title, release, rows, status, status_reason, access, theme, published_at
        FROM datasets {where} ORDER BY agency, id""")


def dataset(con: duckdb.DuckDBPyConnection, dataset_id: str) -> dict | None:
    """Everything the dataset page shows about a public dataset, or None."""
    frame = _rows(con, "SELECT * FROM datasets WHERE id = ? AND access = 'public'", [dataset_id])
    if frame.empty:
        return None
    record = frame.iloc[0].to_dict()
    record["schema"] = json.loads(record["schema"])
    record["privacy"] = json.loads(record["privacy"])
    return record


def fields(record: dict) -> pd.DataFrame:
    """The published schema as a table: one row per column."""
    rows = []
    for f in record["schema"]["fields"]:
        constraints = f.get("constraints") or {}
        rows.append({
            "column": f["name"], "type": f.get("type", "string"), "format": f.get("format", ""),
            "description": f.get("description", "") or f.get("title", ""),
            "rules": ", ".join(f"{k} {v}" if v is not True else k for k, v in constraints.items()),
        })
    return pd.DataFrame(rows, columns=["column", "type", "format", "description", "rules"])


def releases(con: duckdb.DuckDBPyConnection, dataset_id: str) -> pd.DataFrame:
    return _rows(con, """
        SELECT release, published_at, rows, delivery, data_sha256, bytes, note, privacy, path,
               schema_fingerprint, diff, breaking
        FROM releases WHERE dataset_id = ? ORDER BY release DESC""", [dataset_id])


def diff_summary(diff_json) -> str:
    """The one-line change a release made, for tables and feeds ('' when unknown)."""
    if not isinstance(diff_json, str) or not diff_json:
        return ""
    try:
        return json.loads(diff_json).get("summary", "")
    except (json.JSONDecodeError, AttributeError):
        return ""


def quarantines(con: duckdb.DuckDBPyConnection, dataset_id: str) -> pd.DataFrame:
    return _rows(con, """
        SELECT attempted_at, delivery, stage, reason, report
        FROM quarantines WHERE dataset_id = ? ORDER BY attempted_at DESC""", [dataset_id])


def release_profile(con: duckdb.DuckDBPyConnection, dataset_id: str, release: int) -> dict | None:
    """A public release's stored column profile, with what computing a missing one needs:
    ``{"profile": dict | None, "path": ..., "privacy": dict}``; None for no such public release.
    Catalogues built before profiles existed have no ``releases.profile`` column: profile None."""
    stored = "r.profile" if _has_column(con, "releases", "profile") else "NULL"
    frame = _rows(con, f"""
        SELECT {stored} AS profile, r.path, r.privacy FROM releases r JOIN datasets d ON d.id = r.dataset_id
        WHERE r.dataset_id = ? AND r.release = ? AND d.access = 'public'""", [dataset_id, int(release)])
    if frame.empty:
        return None
    row = frame.iloc[0]
    return {"profile": _json(row["profile"]), "path": row["path"], "privacy": _json(row["privacy"]) or {}}


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = _rows(con, """
        SELECT count(*) AS n FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_name = ? AND column_name = ?""", [table, column])
    return bool(found["n"].iloc[0])


def _json(text) -> dict | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
