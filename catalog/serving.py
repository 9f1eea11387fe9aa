"""Serving copies: a large release's rows in DuckDB's own storage, for the query sandbox to read.

The release Parquet file is the record: what is published, checksummed and downloaded. Read
through it, one row costs a whole row group of every column to decode (about 5 ms for a row by
key in a 1,000,000-row release), and so does the first page of a filtered table. DuckDB's own
storage reads a vector at a time, and an index finds a row by key: the same row takes under
1 ms, the first page in key order about as little. A serving copy is derived data, made once
per release from its Parquet file, in primary-key order and indexed by that key when the
release has one, and written under a temporary name then renamed, so a reader sees a whole copy
or none; a copy that is damaged is made again, and a query never waits on one that cannot be
made (it reads the Parquet file instead).

Small releases get no copy: one row group decodes in well under a millisecond, and each copy
file takes DuckDB's fixed blocks on disk.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import duckdb

from catalog.casting import quote_ident, quote_literal
from catalog.files import exclusive_lock

FORMAT_VERSION = 2
MIN_ROWS = 50_000          # releases with fewer rows are read from their Parquet file
ROWS_TABLE = "rows"
ABOUT_TABLE = "about"      # one row: the columns the rows are sorted by
FOLDER = "serving"

log = logging.getLogger(__name__)


def copy_path(root: Path, dataset_id: str, release: int, data_sha256: str | None) -> Path:
    """Where the serving copy of a release lives in the home at ``root``; the checksum of its data
    keeps a copy from outliving a home whose release N was published again with other rows."""
    return (Path(root) / FOLDER / f"v{FORMAT_VERSION}" / dataset_id / str(release)
            / (data_sha256 or "unknown")[:16] / "rows.duckdb")


def ensure_copy(parquet: Path, target: Path) -> bool:
    """Make ``target`` from the release Parquet ``parquet`` unless it is there; True when it is."""
    if target.exists():
        return True
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(target.parent / ".lock"):
            if target.exists():
                return True
            _build(parquet, target)
        return True
    except (OSError, duckdb.Error) as exc:
        log.warning("no serving copy of %s could be made (%s); the release is read from its Parquet file",
                    parquet.parent.name, type(exc).__name__)
        return False


def sorted_by(con: duckdb.DuckDBPyConnection, alias: str) -> tuple[str, ...]:
    """The columns the rows of the copy attached as ``alias`` are in the order of."""
    row = con.execute(f"SELECT sorted_by FROM {quote_ident(alias)}.{ABOUT_TABLE}").fetchone()
    return tuple(row[0] or ()) if row else ()


def _build(parquet: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    key = _primary_key(parquet)
    con = duckdb.connect(str(temporary), config={"threads": 2, "max_memory": "1GB",
                                                  "temp_directory": str(target.parent / ".spill")})
    try:
        columns = {row[0] for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(parquet))})").fetchall()}
        key = key if key and set(key) <= columns else []
        order = f" ORDER BY {', '.join(quote_ident(c) for c in key)}" if key else ""
        con.execute(f"CREATE TABLE {ROWS_TABLE} AS SELECT * FROM read_parquet({quote_literal(str(parquet))}){order}")
        if key:  # a row by its key is then found without a scan (about half the time of one)
            con.execute(f"CREATE INDEX primary_key ON {ROWS_TABLE} ({', '.join(quote_ident(c) for c in key)})")
        con.execute(f"CREATE TABLE {ABOUT_TABLE} AS SELECT ?::VARCHAR[] AS sorted_by", [key])
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        temporary.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(temporary, target)


def _primary_key(parquet: Path) -> list[str]:
    """The primary key the release was published with (its manifest beside the Parquet file)."""
    try:
        declared = json.loads((parquet.parent / "release.json").read_text(encoding="utf-8"))["schema"].get(
            "primaryKey") or []
    except (OSError, ValueError, KeyError, AttributeError):
        return []
    return [declared] if isinstance(declared, str) else [c for c in declared if isinstance(c, str)]
