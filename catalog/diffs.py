"""What changed between two releases of a dataset: its columns, and its rows by primary key.

Computed once, at publish, from the two Parquet files, and kept with the new release, so
the dataset page, the feeds and an oversight body can see every correction, silent or not.
A change that breaks consumers (a column removed or retyped, a different primary key) is
flagged as such; adding a column or rows is not breaking.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from catalog.casting import quote_ident, quote_literal


def schema_fingerprint(schema: dict) -> str:
    """A short hash of the published columns, their types and the primary key (not descriptions)."""
    shape = {"fields": [[f["name"], f.get("type", "string"), f.get("format", "default")] for f in schema["fields"]],
             "primaryKey": _key(schema)}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def release_diff(old: Path | None, new: Path, old_schema: dict | None, new_schema: dict) -> dict:
    """The change from release ``old`` (None: there was none) to ``new``, as plain data."""
    if old is None or old_schema is None:
        rows = _count(new)
        return {"first": True, "rows_added": rows, "rows_removed": 0, "rows_changed": 0, "columns_added": [],
                "columns_removed": [], "columns_retyped": [], "key": _key(new_schema), "breaking": False,
                "breaking_reasons": [], "summary": f"first release: {rows:,} rows"}
    old_types = {f["name"]: f.get("type", "string") for f in old_schema["fields"]}
    new_types = {f["name"]: f.get("type", "string") for f in new_schema["fields"]}
    added = [n for n in new_types if n not in old_types]
    removed = [n for n in old_types if n not in new_types]
    retyped = [{"column": n, "from": old_types[n], "to": new_types[n]}
               for n in new_types if n in old_types and old_types[n] != new_types[n]]
    old_key, new_key = _key(old_schema), _key(new_schema)
    reasons = [f"column '{n}' removed" for n in removed]
    reasons += [f"column '{r['column']}' changed type from {r['from']} to {r['to']}" for r in retyped]
    if old_key != new_key:
        reasons.append(f"primary key changed from {old_key or 'none'} to {new_key or 'none'}")
    shared = [n for n in new_types if n in old_types and n not in {r["column"] for r in retyped}]
    key = new_key if new_key and new_key == old_key and set(new_key) <= set(shared) else []
    counts = _row_changes(old, new, shared, key)
    diff = {"first": False, **counts, "columns_added": added, "columns_removed": removed, "columns_retyped": retyped,
            "key": key, "breaking": bool(reasons), "breaking_reasons": reasons}
    diff["summary"] = summary(diff)
    return diff


def summary(diff: dict) -> str:
    """One line a reader takes in at a glance."""
    if diff.get("first"):
        return diff.get("summary", "first release")
    by = "by primary key" if diff["key"] else "comparing whole rows"
    added = diff["rows_added"]
    parts = [f"{added:,} {'row' if added == 1 else 'rows'} added, {diff['rows_removed']:,} removed"
             + (f", {diff['rows_changed']:,} changed" if diff["key"] else "") + f" ({by})"]
    if diff["columns_added"]:
        parts.append("columns added: " + ", ".join(diff["columns_added"]))
    if diff["breaking_reasons"]:
        parts.append("BREAKING: " + "; ".join(diff["breaking_reasons"]))
    return "; ".join(parts)


def _key(schema: dict) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def _count(parquet: Path) -> int:
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet({quote_literal(str(parquet))})").fetchone()[0]
    finally:
        con.close()


def _row_changes(old: Path, new: Path, shared: list[str], key: list[str]) -> dict:
    """Rows added, removed and changed: matched by ``key`` when there is one, else as whole rows
    over the columns both releases have (then a changed row counts as one removed and one added)."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW old AS SELECT * FROM read_parquet({quote_literal(str(old))})")
        con.execute(f"CREATE VIEW new AS SELECT * FROM read_parquet({quote_literal(str(new))})")
        columns = ", ".join(quote_ident(n) for n in shared) or "1"
        if not key:
            added, removed = con.execute(f"""
                SELECT (SELECT count(*) FROM (SELECT {columns} FROM new EXCEPT ALL SELECT {columns} FROM old)),
                       (SELECT count(*) FROM (SELECT {columns} FROM old EXCEPT ALL SELECT {columns} FROM new))
            """).fetchone()
            return {"rows_added": added, "rows_removed": removed, "rows_changed": 0}
        on = " AND ".join(f"o.{quote_ident(k)} IS NOT DISTINCT FROM n.{quote_ident(k)}" for k in key)
        others = [n for n in shared if n not in key]
        changed = " OR ".join(f"o.{quote_ident(c)} IS DISTINCT FROM n.{quote_ident(c)}" for c in others) or "false"
        added, removed, changed_rows = con.execute(f"""
            SELECT count(*) FILTER (WHERE o_present IS NULL),
                   count(*) FILTER (WHERE n_present IS NULL),
                   count(*) FILTER (WHERE o_present AND n_present AND ({changed}))
            FROM (SELECT *, true AS o_present FROM old) o
            FULL OUTER JOIN (SELECT *, true AS n_present FROM new) n ON {on}
        """).fetchone()
        return {"rows_added": added, "rows_removed": removed, "rows_changed": changed_rows}
    finally:
        con.close()
