"""One page of a release's rows, filtered and sorted by the sandbox, with the count of matching rows.

Only the page travels: a million-row release is never read whole into the explorer. Two
statements run, the count and the page (``LIMIT``/``OFFSET``; DuckDB keeps only the top rows
while it sorts), and both are returned with their values written as literals, so each runs as
is in the SQL console and gives the same numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from catalog import filters as flt
from catalog.casting import quote_ident
from catalog.errors import QueryError
from catalog.query import Sandbox

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE = 1_000_000


def table_name(dataset_id: str, release: int | None = None) -> str:
    """The sandbox table of a dataset's current release, or of release ``release``."""
    return dataset_id if release is None else f"{dataset_id}@{int(release)}"


def release_columns(sandbox: Sandbox, table: str) -> dict[str, str]:
    """Column name -> kind (text, number, date, ...) of a release, read without reading any row."""
    return flt.column_kinds(sandbox.query(f"SELECT * FROM {quote_ident(table)} LIMIT 0", row_limit=1).table.schema)


def distinct_values(sandbox: Sandbox, table: str, column: str, most: int = 200) -> list | None:
    """The column's values, sorted, when it has at most ``most`` of them (missing left out); else None."""
    sql = (f"SELECT {quote_ident(column)} FROM {quote_ident(table)} WHERE {quote_ident(column)} IS NOT NULL "
           f"GROUP BY 1 LIMIT {int(most) + 1}")
    values = sandbox.query(sql, row_limit=most + 1).table.column(0).to_pylist()
    return None if len(values) > most else sorted(values)


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool = False

    def to_query(self) -> str:
        return flt.encode_parts((self.column, "desc" if self.descending else "asc"))

    @staticmethod
    def from_query(text: str | None) -> Sort | None:
        """``column~asc`` or ``column~desc`` (a bare column sorts ascending); None for no text."""
        if not text:
            return None
        parts = flt.decode_parts(text)
        if len(parts) == 1:
            parts.append("asc")
        if len(parts) != 2 or not parts[0] or parts[1].lower() not in ("asc", "desc"):
            raise QueryError(f"the sort “{text[:80]}” in the link is not written column~asc or column~desc")
        return Sort(parts[0], parts[1].lower() == "desc")


@dataclass
class TablePage:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int
    sql: str
    count_sql: str
    seconds: float
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_row(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.page * self.page_size)


def read_page(sandbox: Sandbox, table: str, filters=(), sort: Sort | None = None, page: int = 1,
              page_size: int = DEFAULT_PAGE_SIZE, key: str | None = None,
              columns: dict[str, str] | None = None) -> TablePage:
    """Rows ``(page-1)*page_size+1`` to ``page*page_size`` of the matching rows; a page past the
    end gives the last page. ``key``: a column whose values identify a row (the primary key), which
    orders rows that tie on the sort column, so that paging neither skips nor repeats them."""
    started = time.perf_counter()
    columns = columns if columns is not None else release_columns(sandbox, table)
    if page_size not in PAGE_SIZES:
        raise QueryError(f"a page holds {', '.join(map(str, PAGE_SIZES))} rows, not {page_size}")
    if sort is not None and sort.column not in columns:
        raise QueryError(f"there is no column “{sort.column[:80]}” to sort by in this release")
    condition = flt.where(flt.compile_filters(filters, columns))
    source = [f"FROM {quote_ident(table)}", *condition]

    count_pieces = ["SELECT count(*) AS rows ", *source]
    total = _scalar(sandbox, count_pieces)
    page = max(1, min(int(page), MAX_PAGE, max(1, -(-total // page_size))))
    offset = (page - 1) * page_size
    key = key if key in columns and (sort is None or key != sort.column) else None
    order = _order(sort, key)
    tail = f"{order} LIMIT {page_size}" + (f" OFFSET {offset}" if offset else "")
    page_pieces = ["SELECT * ", *source, tail]

    rows = _run(sandbox, page_pieces, page_size).to_pandas()
    return TablePage(rows=rows, total=total, page=page, page_size=page_size,
                     sql=flt.render(page_pieces, inline=True)[0], count_sql=flt.render(count_pieces, inline=True)[0],
                     seconds=time.perf_counter() - started, columns=columns)


def _order(sort: Sort | None, key: str | None) -> str:
    if sort is None:
        return ""  # the release's own row order
    terms = [f"{quote_ident(sort.column)} {'DESC' if sort.descending else 'ASC'} NULLS LAST"]
    if key is not None:
        terms.append(quote_ident(key))  # ties keep one order from page to page
    return " ORDER BY " + ", ".join(terms)


def _run(sandbox: Sandbox, pieces: list, row_limit: int):
    sql, params = flt.render(pieces)
    return sandbox.query(sql, params, row_limit=row_limit).table


def _scalar(sandbox: Sandbox, pieces: list) -> int:
    return int(_run(sandbox, pieces, 1).column(0)[0].as_py())
