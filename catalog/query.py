"""The one query sandbox: read-only SQL over the current releases of public datasets.

Each public dataset is a table named by its id, holding its current release; each release N
stays readable as the table ``"<id>@N"``, so a result can be cited and reproduced. The tables
are views over the release Parquet files, read by DuckDB itself (several times faster than
through Arrow), or, for a large release, over its serving copy in DuckDB's own storage,
attached read-only (``catalog.serving``). The connection may open exactly those files
(``allowed_paths``) and nothing else: external access is switched off and the configuration
locked before any query runs. Each query runs on a cursor of its own, so queries run side by
side.

Only one SELECT statement is accepted, and its syntax tree is checked before it runs: it may
name the published tables and its own CTEs, call ordinary functions and a few table
functions (``range``, ``generate_series``, ``unnest``), and nothing that describes the
server (``duckdb_*()``, ``information_schema``, ``current_setting``), so no view definition,
setting or server path ever shows (SQL that govcat's own code composes, every name quoted and
every value a parameter, skips that check: ``query_built``). A watchdog interrupts a query at
its time limit, at most ``row_limit`` rows and ``byte_limit`` bytes come back, and every error
message is stripped of server paths. The explorer, ``govcat sql`` and the API all go through
``Sandbox``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from catalog import catalogue_db, serving
from catalog.errors import QueryError
from catalog.settings import HomeLayout

TIME_LIMIT_SECONDS = 10.0
ROW_LIMIT = 10_000
BYTE_LIMIT = 64 * 1024 * 1024
BATCH_ROWS = 1024
STREAM_BATCH_ROWS = 65_536  # rows per batch of a stream: a few MB, whatever the release's size
NOWHERE_HOME = "/sandbox"  # DuckDB derives its secret and extension folders from this; it names no real place
OUT_OF_REACH = ("files, URLs and extensions are out of reach here: query the published tables by name "
                "(each public dataset is a table named by its id)")
MAX_SQL_CHARS = 20_000
log = logging.getLogger(__name__)
LEADING_COMMENTS = re.compile(r"^(\s*(--[^\n]*(\n|$)|/\*.*?\*/))*", re.DOTALL)
REFUSED_PREFIXES = ("pragma", "call", "set", "reset", "attach", "detach", "install", "load", "copy", "export",
                    "import", "checkpoint", "vacuum")
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
REFUSED_FUNCTIONS = frozenset({"current_setting", "getvariable"})
REFUSED_FUNCTION_PREFIXES = ("duckdb_", "pragma_")


@dataclass
class QueryResult:
    table: pa.Table
    truncated: bool
    seconds: float

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame; a column holding a value Python cannot (a date in year 5877642, an
        infinite date) is shown as text."""
        try:
            return self.table.to_pandas()
        except (ValueError, OverflowError, pa.ArrowException):
            columns = []
            for column in self.table.columns:
                try:
                    columns.append(column.to_pandas())
                except (ValueError, OverflowError, pa.ArrowException):
                    columns.append(_as_text(column))
            frame = pd.concat(columns, axis=1, ignore_index=True)
            frame.columns = self.table.column_names  # names may repeat: SELECT 1 AS a, 2 AS a
            return frame


class Sandbox:
    """A locked-down DuckDB connection over one version of the published catalogue."""

    def __init__(self, home: Path, memory_limit: str = "1GB", as_of: dict[str, int] | None = None,
                 agency: str | None = None, threads: int = 2):
        """``as_of`` pins datasets to an earlier release under their own names; every release N of a
        dataset is also its own table, ``"<id>@N"``. ``agency``: a signed-in steward's agency, which
        adds its own restricted datasets and those shared with it (the caller logs those reads).
        ``threads``: DuckDB's threads for one query; a server answering many small queries side by side
        does better with 1 (each query then runs on its caller's thread, with no hand-offs)."""
        self.layout = HomeLayout(Path(home))
        self.version = catalogue_db.file_version(self.layout.catalogue)
        releases = _readable_releases(self.layout, agency)
        self.restricted = sorted({r.dataset_id for r in releases if r.access != "public"})
        self.tables = _tables(releases, as_of or {})
        copies = {r.path: serving.copy_path(self.layout.root, r.dataset_id, r.release, r.data_sha256)
                  for r in releases if r.rows >= serving.MIN_ROWS}
        self._copies = {name: copies[path] for name, path in self.tables.items() if path in copies}
        self._order: dict[str, tuple[str, ...]] = {}
        self._aliases: dict[Path, str] = {}  # serving copy -> the name it is attached as
        self._lock = threading.Lock()
        folders = {self.layout.root, self.layout.root.resolve(), Path.home()}
        self._hidden = sorted((str(f) for f in folders if len(f.parts) > 1), key=len, reverse=True)
        self._names = {name.lower(): name for name in self.tables}
        self._views: set[str] = set()
        self._con = duckdb.connect(config={
            "threads": threads, "max_memory": memory_limit, "autoinstall_known_extensions": False,
            "autoload_known_extensions": False, "temp_directory": "", "home_directory": NOWHERE_HOME,
            "allow_persistent_secrets": False,
        })
        readable = set(self.tables.values())
        readable.update(path for copy in self._copies.values() for path in (str(copy), f"{copy}.wal"))
        self._con.execute("SET allowed_paths = ?", [sorted(readable)])
        self._con.execute("SET parquet_metadata_cache = true")  # each footer is read once, not per query
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def query(self, sql: str, params: list | None = None, row_limit: int = ROW_LIMIT,
              time_limit: float = TIME_LIMIT_SECONDS, byte_limit: int = BYTE_LIMIT) -> QueryResult:
        """Run one SELECT; raise QueryError with a reason a person can act on."""
        check_select(sql)
        cursor = self._cursor()
        try:
            self._open_views(self._referenced_tables(sql, cursor))
            return self._run(sql, params, row_limit, time_limit, byte_limit, cursor)
        finally:
            cursor.close()

    def query_built(self, sql: str, params: list | None, tables: set[str], row_limit: int = ROW_LIMIT,
                    time_limit: float = TIME_LIMIT_SECONDS, byte_limit: int = BYTE_LIMIT) -> QueryResult:
        """Run a SELECT that govcat's own code composed over ``tables`` (every name quoted, every value
        a parameter), without reading it back through the syntax-tree check that a person's SQL needs;
        the connection's own locks hold all the same. QueryError for a table that is not served."""
        unknown = sorted(name for name in tables if name not in self.tables)
        if unknown:
            raise QueryError(f"there is no published table {unknown[0]!r}")
        self._open_views(set(tables))
        return self._run(sql, params, row_limit, time_limit, byte_limit)

    def _run(self, sql: str, params: list | None, row_limit: int, time_limit: float,
             byte_limit: int, cursor: duckdb.DuckDBPyConnection | None = None) -> QueryResult:
        """Run checked (or the sandbox's own) SQL on ``cursor`` (by default one of its own), whose
        views are open: queries on separate cursors run side by side, each with its own time limit."""
        if cursor is None:
            cursor = self._cursor()
            try:
                return self._run(sql, params, row_limit, time_limit, byte_limit, cursor)
            finally:
                cursor.close()
        watch = WATCHDOG.watch(cursor, time_limit)
        started = time.perf_counter()
        try:
            reader = cursor.execute(sql, params or []).to_arrow_reader(min(row_limit + 1, BATCH_ROWS))
            batches, count, size = [], 0, 0
            for batch in reader:
                batches.append(batch)
                count += batch.num_rows
                size += batch.nbytes
                if size > byte_limit:
                    raise QueryError(f"the result is larger than {byte_limit // 2**20} MB; select fewer "
                                     f"columns or rows, or aggregate") from None
                if count > row_limit:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema) if batches else reader.schema.empty_table()
        except duckdb.InterruptException:
            raise QueryError(f"the query took longer than {time_limit:g} seconds and was stopped") from None
        except duckdb.OutOfMemoryException:
            raise QueryError("the query needs more memory than the sandbox allows; "
                             "aggregate or filter before selecting so many rows") from None
        except duckdb.PermissionException:
            raise QueryError(OUT_OF_REACH) from None
        except duckdb.CatalogException as exc:
            tables = ", ".join(t for t in self.tables if "@" not in t) or "none yet"
            hint = '; an earlier release N of a table is "<table>@N"' if self.tables else ""
            raise QueryError(f"{self._scrubbed(exc)} (published tables: {tables}{hint})") from None
        except duckdb.Error as exc:
            raise QueryError(self._scrubbed(exc)) from None
        finally:
            WATCHDOG.release(watch)
        seconds = time.perf_counter() - started
        truncated = table.num_rows > row_limit
        return QueryResult(table.slice(0, row_limit) if truncated else table, truncated, seconds)

    def columns(self) -> dict[str, list[tuple[str, str]]]:
        """Every table this sandbox serves, with its (column, SQL type) pairs in order, read from
        the Parquet files' footers (a serving copy holds the same columns, and none is made here)."""
        found: dict[str, list[tuple[str, str]]] = {}
        for name in sorted(self.tables):
            path = "'" + self.tables[name].replace("'", "''") + "'"
            described = self._run(f"DESCRIBE SELECT * FROM read_parquet({path})", None, 100_000,
                                  TIME_LIMIT_SECONDS, BYTE_LIMIT).table
            found[name] = list(zip(described.column("column_name").to_pylist(),
                                   described.column("column_type").to_pylist()))
        return found

    def stream(self, sql: str, params: list | None = None, batch_rows: int = STREAM_BATCH_ROWS,
               time_limit: float = TIME_LIMIT_SECONDS) -> QueryStream:
        """Run one SELECT for a download of any size: its rows come as Arrow batches, never all at once.

        The statement is checked exactly as ``query`` checks it, and starts before this returns, so a
        refused or failing one raises QueryError here. Like every query, it runs on a cursor of its
        own, beside any others. Each batch must come within
        ``time_limit``; there is no row or byte limit (the caller sends each batch on, then drops it)."""
        check_select(sql)
        cursor = self._cursor()
        try:
            self._open_views(self._referenced_tables(sql, cursor))
        except BaseException:
            cursor.close()
            raise
        return QueryStream(cursor, sql, params, batch_rows, time_limit, self)

    def close(self) -> None:
        self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the sandbox's database: same views, settings and limits."""
        with self._lock:
            return self._con.cursor()

    def storage_order(self, name: str) -> tuple[str, ...]:
        """The columns the table's rows are stored in the order of (a scan without ORDER BY gives
        them so), or () when that is not known."""
        self._open_views({name})
        return self._order.get(name, ())

    def open_order(self, name: str) -> tuple[str, ...]:
        """``storage_order`` of a table whose view is already open; () for any other."""
        return self._order.get(name, ()) if name in self._views else ()

    def _open_views(self, names: set[str]) -> None:
        """Create the views a query needs, once each: over the release's serving copy where it has
        one (made on first use), else over its Parquet file (a view costs a footer read)."""
        if names <= self._views:
            return
        with self._lock:
            for name in sorted(names - self._views):
                quoted = '"' + name.replace('"', '""') + '"'
                source = self._attached_copy(name)
                if source is None:
                    source = "read_parquet('" + self.tables[name].replace("'", "''") + "')"
                self._con.execute(f"CREATE VIEW {quoted} AS SELECT * FROM {source}")
                self._views.add(name)

    def _attached_copy(self, name: str) -> str | None:
        """The serving copy of table ``name``, attached read-only, as a FROM source; None without one."""
        copy = self._copies.get(name)
        if copy is None or not serving.ensure_copy(Path(self.tables[name]), copy):
            return None
        alias = self._aliases.get(copy)
        try:
            if alias is None:
                alias = f"copy_{len(self._aliases) + 1}"
                self._con.execute(f"ATTACH '{str(copy).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
                self._aliases[copy] = alias
            self._order[name] = serving.sorted_by(self._con, alias)
        except duckdb.Error as exc:
            log.warning("the serving copy of %s could not be read (%s); reading its Parquet file, and the "
                        "copy will be made again", name, self._scrubbed(exc))
            copy.unlink(missing_ok=True)
            return None
        return f"{alias}.{serving.ROWS_TABLE}"

    def _referenced_tables(self, sql: str, cursor: duckdb.DuckDBPyConnection) -> set[str]:
        """The published tables ``sql`` reads; refuses anything else it names (see the module's doc)."""
        try:
            tree = json.loads(cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        except duckdb.Error as exc:
            raise QueryError(self._scrubbed(exc)) from None
        if tree.get("error"):
            raise QueryError("this kind of statement is not supported here; write it as a plain SELECT "
                             "(for a pivot, use GROUP BY)")
        ctes, tables, refused = set(), set(), []
        _walk(tree, ctes, tables, refused)
        if refused:
            raise QueryError(f"{OUT_OF_REACH}; {refused[0]} is not available")
        wanted = set()
        for schema, name in tables:
            if not schema and name.lower() in ctes:
                continue
            known = self._names.get(name.lower())
            if known is None and (any(mark in name for mark in "/:\\") or "." in name.strip(".")):
                raise QueryError(OUT_OF_REACH)
            if schema or known is None:
                shown = f"{schema}.{name}" if schema else name
                listed = ", ".join(t for t in self.tables if "@" not in t) or "none yet"
                hint = '; an earlier release N of a table is "<table>@N"' if self.tables else ""
                raise QueryError(f"there is no published table {shown!r} (published tables: {listed}{hint})")
            wanted.add(known)
        return wanted

    def _scrubbed(self, exc: Exception) -> str:
        """The error's first line, with any server folder it names cut out."""
        message = _first_line(exc)
        for folder in self._hidden:
            message = message.replace(folder, "…")
        return message


class QueryStream:
    """The rows of one checked query, batch by batch (see ``Sandbox.stream``); iterate it once. Its
    cursor closes when the rows run out, on any error, or on ``close()``."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, sql: str, params: list | None, batch_rows: int,
                 time_limit: float, sandbox: Sandbox):
        self._cursor, self._time_limit, self._sandbox = cursor, time_limit, sandbox
        try:
            self._reader = self._timed(lambda: cursor.execute(sql, params or []).to_arrow_reader(batch_rows))
        except BaseException:
            cursor.close()
            raise
        self.schema: pa.Schema = self._reader.schema

    def __iter__(self):
        try:
            while True:
                try:
                    batch = self._timed(self._reader.read_next_batch)
                except StopIteration:
                    return
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        self._cursor.close()

    def _timed(self, step):
        """``step()`` interrupted at the time limit, any DuckDB error turned into a QueryError."""
        watch = WATCHDOG.watch(self._cursor, self._time_limit)
        try:
            return step()
        except duckdb.InterruptException:
            raise QueryError(f"the query took longer than {self._time_limit:g} seconds to give its next rows "
                             f"and was stopped") from None
        except duckdb.OutOfMemoryException:
            raise QueryError("the query needs more memory than the sandbox allows; filter before sorting "
                             "so many rows") from None
        except duckdb.PermissionException:
            raise QueryError(OUT_OF_REACH) from None
        except duckdb.Error as exc:
            raise QueryError(self._sandbox._scrubbed(exc)) from None
        finally:
            WATCHDOG.release(watch)


class Watchdog:
    """One thread that interrupts each query at its time limit, to within ``tick`` seconds. (A timer
    thread per query costs more than a short query does.)"""

    def __init__(self, tick: float = 0.05):
        self._tick = tick
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._count = 0
        self._thread: threading.Thread | None = None

    def watch(self, cursor: duckdb.DuckDBPyConnection, seconds: float) -> int:
        """Interrupt ``cursor`` in ``seconds`` unless ``release`` comes first; a number for ``release``."""
        with self._lock:
            self._count += 1
            self._deadlines[self._count] = (time.monotonic() + seconds, cursor)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="govcat-query-time-limits", daemon=True)
                self._thread.start()
            return self._count

    def release(self, number: int) -> None:
        with self._lock:
            self._deadlines.pop(number, None)

    def _run(self) -> None:
        while True:
            time.sleep(self._tick)
            now = time.monotonic()
            with self._lock:
                due = [number for number, (deadline, _) in self._deadlines.items() if deadline <= now]
                cursors = [self._deadlines.pop(number)[1] for number in due]
            for cursor in cursors:
                try:
                    cursor.interrupt()
                except duckdb.Error:  # the query ended, and its cursor closed, in the meantime
                    pass


WATCHDOG = Watchdog()


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


def _walk(node, ctes: set[str], tables: set[tuple[str, str]], refused: list[str]) -> None:
    """Collect CTE names and table references, and note what a query may not call."""
    if isinstance(node, list):
        for item in node:
            _walk(item, ctes, tables, refused)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("cte_map"), dict):
        ctes.update(entry["key"].lower() for entry in node["cte_map"].get("map", []) if "key" in entry)
    kind = node.get("type")
    if kind == "BASE_TABLE":
        schema = ".".join(part for part in (node.get("catalog_name"), node.get("schema_name")) if part)
        tables.add((schema, node.get("table_name", "")))
    elif kind == "TABLE_FUNCTION":
        name = (node.get("function") or {}).get("function_name", "").lower()
        if name not in TABLE_FUNCTIONS:
            refused.append(f"{name}()")
    elif node.get("class") == "FUNCTION":
        name = node.get("function_name", "").lower()
        if name in REFUSED_FUNCTIONS or name.startswith(REFUSED_FUNCTION_PREFIXES):
            refused.append(f"{name}()")
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(value, ctes, tables, refused)


def _as_text(column: pa.ChunkedArray) -> pd.Series:
    """A column as DuckDB writes its values (``5877642-06-25``, ``infinity``), for values Python cannot hold."""
    con = duckdb.connect(config={"enable_external_access": False})
    try:
        con.register("shown", pa.table({"value": column}))
        return con.execute("SELECT value::VARCHAR AS value FROM shown").df()["value"].astype(object)
    finally:
        con.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Readable:
    """A release a reader may see."""
    dataset_id: str
    release: int
    path: str            # its Parquet file, absolute
    access: str
    rows: int
    data_sha256: str | None


def _readable_releases(layout: HomeLayout, agency: str | None) -> list[Readable]:
    """Every release a reader may see: public datasets', and restricted ones shared with ``agency``
    (never non-public ones)."""
    if not layout.catalogue.exists():
        return []
    con = catalogue_db.open_reader(layout.catalogue)
    try:
        rows = con.execute("""
            SELECT d.id, r.release, r.path, d.access, coalesce(r.rows, 0), r.data_sha256
            FROM datasets d JOIN releases r ON r.dataset_id = d.id
            WHERE d.access = 'public' OR (d.access = 'restricted' AND (d.agency = $1 OR list_contains(d.shared_with, $1)))
            ORDER BY d.id, r.release""", [agency or ""]).fetchall()
    finally:
        con.close()
    return [Readable(dataset_id, release, str(layout.root / path), access, rows, sha)
            for dataset_id, release, path, access, rows, sha in rows]


def _tables(releases: list[Readable], as_of: dict[str, int]) -> dict[str, str]:
    """Table name -> Parquet path: each dataset's current (or pinned) release, and ``<id>@<N>``."""
    numbers: dict[str, dict[int, str]] = {}
    for readable in releases:
        numbers.setdefault(readable.dataset_id, {})[readable.release] = readable.path
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
