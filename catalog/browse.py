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
