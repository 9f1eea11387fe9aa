"""Python values as DuckDB SQL literals, for the few rows Python hands back to DuckDB.

Query parameters would do the same, but the first one makes DuckDB import numpy and
pandas, which costs more than validating a million rows' worth of SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from catalog.casting import quote_literal

ROWS_PER_INSERT = 2000


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return " || chr(0) || ".join(quote_literal(part) for part in str(value).split("\x00"))


def insert_rows(con, table: str, types: list[str], rows: Iterable[tuple]) -> None:
    """Append rows to ``table``, each value cast to its column's type (NULL where it cannot be)."""
    batch: list[str] = []

    def flush():
        if batch:
            con.execute(f"INSERT INTO {table} VALUES {', '.join(batch)}")
            batch.clear()

    for row in rows:
        batch.append("(" + ", ".join(f"TRY_CAST({sql_literal(v)} AS {t})" for v, t in zip(row, types)) + ")")
        if len(batch) >= ROWS_PER_INSERT:
            flush()
    flush()
