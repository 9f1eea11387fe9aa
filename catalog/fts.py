"""DuckDB's full-text search, loaded from the ``duckdb-extension-fts`` wheel (never downloaded)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb
import duckdb_extension_fts


@lru_cache(maxsize=1)
def extension_path() -> Path:
    folder = Path(duckdb_extension_fts.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(folder.glob("fts.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-fts has no build for duckdb {duckdb.__version__}; "
                           "install the duckdb-extension-fts release that matches duckdb")
    return found[0]


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    escaped = str(extension_path()).replace("'", "''")
    con.execute(f"LOAD '{escaped}'")
