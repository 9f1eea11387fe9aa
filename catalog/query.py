"""The one query sandbox: read-only SQL over the current releases of public datasets.

Each public dataset is a table named by its id, holding its current release; each release N
stays readable as the table ``"<id>@N"``, so a result can be cited and reproduced. The tables are Arrow datasets over the
release Parquet files, registered into a fresh in-memory DuckDB before it is locked
down, so DuckDB itself never needs file access: external access is switched off, the
configuration is locked, and a query sees no server path. Only one SELECT statement is
accepted; a timer interrupts it at the time limit, and at most ``row_limit`` rows come
back. The explorer, ``govcat sql`` and any later API all go through ``Sandbox``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from catalog import catalogue_db
from catalog.errors import QueryError
from catalog.settings import HomeLayout

TIME_LIMIT_SECONDS = 10.0
ROW_LIMIT = 10_000
MAX_SQL_CHARS = 20_000
LEADING_COMMENTS = re.compile(r"^(\s*(--[^\n]*(\n|$)|/\*.*?\*/))*", re.DOTALL)
REFUSED_PREFIXES = ("pragma", "call", "set", "reset", "attach", "detach", "install", "load", "copy", "export",
                    "import", "checkpoint", "vacuum")


@dataclass
class QueryResult:
    table: pa.Table
    truncated: bool
    seconds: float

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def to_pandas(self):
        return self.table.to_pandas()


class Sandbox:
    """A locked-down DuckDB connection over one version of the published catalogue."""

    def __init__(self, home: Path, memory_limit: str = "1GB", as_of: dict[str, int] | None = None,
                 agency: str | None = None):
        """``as_of`` pins datasets to an earlier release under their own names; every release N of a
        dataset is also its own table, ``"<id>@N"``. ``agency``: a signed-in steward's agency, which
        adds its own restricted datasets and those shared with it (the caller logs those reads)."""
        self.layout = HomeLayout(Path(home))
        self.version = catalogue_db.file_version(self.layout.catalogue)
        releases = _readable_releases(self.layout, agency)
        self.restricted = sorted({d for d, _, _, access in releases if access != "public"})
        self.tables = _tables(releases, as_of or {})
        self._lock = threading.Lock()
        self._con = duckdb.connect(config={
            "threads": 2, "max_memory": memory_limit, "autoinstall_known_extensions": False,
            "autoload_known_extensions": False, "temp_directory": "",
        })
        for dataset_id, parquet in self.tables.items():
            self._con.register(dataset_id, ds.dataset(parquet, format="parquet"))
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def query(self, sql: str, params: list | None = None, row_limit: int = ROW_LIMIT,
              time_limit: float = TIME_LIMIT_SECONDS) -> QueryResult:
        """Run one SELECT; raise QueryError with a reason a person can act on."""
        check_select(sql)
        with self._lock:
            timer = threading.Timer(time_limit, self._con.interrupt)
            started = time.perf_counter()
            timer.start()
            try:
                reader = self._con.execute(sql, params or []).fetch_record_batch(min(row_limit + 1, 10_000))
                batches, count = [], 0
                for batch in reader:
                    batches.append(batch)
                    count += batch.num_rows
                    if count > row_limit:
                        break
                table = pa.Table.from_batches(batches, schema=reader.schema) if batches else reader.schema.empty_table()
            except duckdb.InterruptException:
                raise QueryError(f"the query took longer than {time_limit:g} seconds and was stopped") from None
            except duckdb.OutOfMemoryException:
                raise QueryError("the query needs more memory than the sandbox allows; "
                                 "aggregate or filter before selecting so many rows") from None
            except duckdb.CatalogException as exc:
                tables = ", ".join(t for t in self.tables if "@" not in t) or "none yet"
                hint = '; an earlier release N of a table is "<table>@N"' if self.tables else ""
                raise QueryError(f"{_first_line(exc)} (published tables: {tables}{hint})") from None
            except duckdb.Error as exc:
                raise QueryError(_first_line(exc)) from None
            finally:
                timer.cancel()
            seconds = time.perf_counter() - started
        truncated = table.num_rows > row_limit
        return QueryResult(table.slice(0, row_limit) if truncated else table, truncated, seconds)

    def close(self) -> None:
        self._con.close()


def check_select(sql: str) -> None:
    """Accept exactly one read-only SELECT statement."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryError(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    if len(statements) != 1:
        raise QueryError("send exactly one SQL statement (no semicolon-separated batches)")
    first_word = LEADING_COMMENTS.sub("", sql).lstrip("( \t\r\n").lower()
    if statements[0].type != duckdb.StatementType.SELECT or first_word.startswith(REFUSED_PREFIXES):
        raise QueryError("only SELECT queries are allowed: the published data is read-only")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _readable_releases(layout: HomeLayout, agency: str | None) -> list[tuple[str, int, str, str]]:
    """(dataset id, release, absolute Parquet path, access) of every release a reader may see:
    public datasets, and restricted ones shared with ``agency`` (never non-public ones)."""
    if not layout.catalogue.exists():
        return []
    con = catalogue_db.open_reader(layout.catalogue)
    try:
        rows = con.execute("""
            SELECT d.id, r.release, r.path, d.access FROM datasets d JOIN releases r ON r.dataset_id = d.id
            WHERE d.access = 'public' OR (d.access = 'restricted' AND (d.agency = $1 OR list_contains(d.shared_with, $1)))
            ORDER BY d.id, r.release""", [agency or ""]).fetchall()
    finally:
        con.close()
    return [(dataset_id, release, str(layout.root / path), access) for dataset_id, release, path, access in rows]


def _tables(releases: list[tuple[str, int, str, str]], as_of: dict[str, int]) -> dict[str, str]:
    """Table name -> Parquet path: each dataset's current (or pinned) release, and ``<id>@<N>``."""
    numbers: dict[str, dict[int, str]] = {}
    for dataset_id, release, path, _ in releases:
        numbers.setdefault(dataset_id, {})[release] = path
    for dataset_id, release in as_of.items():
        known = numbers.get(dataset_id)
        if not known:
            raise QueryError(f"there is no published dataset {dataset_id!r}")
        if release not in known:
            raise QueryError(f"{dataset_id} has no release {release}; its releases are {min(known)} to {max(known)}")
    tables = {}
    for dataset_id, known in numbers.items():
        tables[dataset_id] = known[as_of.get(dataset_id, max(known))]
        tables.update({f"{dataset_id}@{n}": path for n, path in known.items()})
    return tables
