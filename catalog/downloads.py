"""Files people download: a release's Parquet as published, or the same rows as CSV."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from catalog.casting import quote_literal
from catalog.errors import StoreError
from catalog.settings import HomeLayout


def release_parquet(home: Path, relative_path: str) -> Path:
    """The Parquet file of a release, refusing any path that would leave the releases folder."""
    releases = HomeLayout(Path(home)).releases.resolve()
    path = (Path(home) / relative_path).resolve()
    if releases not in path.parents or not path.is_file():
        raise StoreError("that release file is not available")
    return path


def csv_bytes(parquet: Path) -> bytes:
    """The release as UTF-8 CSV with a header row (dates as YYYY-MM-DD, times without zero fractions)."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "release.csv"
        con = duckdb.connect()
        try:
            con.execute(f"COPY (SELECT * FROM read_parquet({quote_literal(str(parquet))})) "
                        f"TO {quote_literal(str(target))} (FORMAT csv, HEADER)")
        finally:
            con.close()
        return target.read_bytes()
