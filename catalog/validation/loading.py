"""A table's cells into DuckDB, numbered as frictionless numbers rows.

Table ``cells`` holds ``rn`` (frictionless's row number), ``odd`` (true when the row could
not be held as text cells and its original cells are kept in Python) and ``c1``..``cW``,
each row's cells as text, NULL past the row's end. W is one more than the widest header,
so a row with one cell too many still shows it.

Two ways in: DuckDB reads a plain CSV file itself in parallel, and that read is kept only
when it provably split the file as Python's csv module does (no rejected row, and one row
per physical line); otherwise frictionless's own row stream is copied in, in chunks.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from catalog.casting import quote_literal

CHUNK_ROWS = 50_000
NATIVE_ENCODINGS = {"utf-8", "utf8", "ascii", "us-ascii", "utf-8-sig"}
TRANSCODED_ENCODINGS = {"iso8859-1", "latin-1", "latin1", "cp1252", "windows-1252", "iso-8859-1"}


@dataclass
class LoadedCells:
    width: int
    rows: int
    path: str                      # "duckdb" or "stream": how the cells came in
    originals: dict[int, list[Any]] = field(default_factory=dict)

    def column(self, number: int) -> str:
        return f"c{number}"


def load_cells(con: duckdb.DuckDBPyConnection, resource, width: int, work: Path) -> LoadedCells:
    """Fill table ``cells`` from an open frictionless table resource."""
    plain = _plain_csv(resource, work)
    if plain is not None:
        loaded = _duckdb_read(con, plain, _dialect_options(resource), width,
                              header_lines=len(resource.dialect.header_rows or []))
        if loaded is not None:
            return loaded
    return _stream(con, resource, width)


def _plain_csv(resource, work: Path) -> Path | None:
    """The UTF-8 file DuckDB can read with the dialect frictionless detected, or None."""
    if resource.format != "csv" or resource.compression or not resource.normpath or resource.data is not None:
        return None
    path = Path(resource.normpath)
    if not path.is_file() or resource.remote:
        return None
    dialect = resource.dialect
    control = dialect.get_control("csv") if dialect.has_control("csv") else None
    if dialect.comment_char or dialect.comment_rows or (dialect.header_rows not in ([1], [])) \
            or getattr(dialect, "skip_blank_rows", False):
        return None
    if control is not None:
        if not control.double_quote or control.escape_char or control.skip_initial_space \
                or len(control.delimiter) != 1 or len(control.quote_char or '"') != 1:
            return None
    encoding = (resource.encoding or "utf-8").lower()
    if encoding in NATIVE_ENCODINGS:
        return path
    if encoding in TRANSCODED_ENCODINGS:
        return _transcode(path, encoding, work)
    return None


def _transcode(path: Path, encoding: str, work: Path) -> Path:
    target = work / "transcoded.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := source.read(1 << 22):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))
    return target


def _dialect_options(resource) -> tuple[str, str]:
    control = resource.dialect.get_control("csv") if resource.dialect.has_control("csv") else None
    delimiter = control.delimiter if control is not None else ","
    quote = (control.quote_char if control is not None else '"') or '"'
    return delimiter, quote


def _duckdb_read(con, path: Path, dialect: tuple[str, str], width: int, *, header_lines: int) -> LoadedCells | None:
    resource_delimiter, quote = dialect
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, width + 1))
    sql = (f"CREATE OR REPLACE TEMP TABLE raw_cells AS SELECT * FROM read_csv({quote_literal(str(path))}, "
           f"auto_detect = false, header = false, columns = {{{columns}}}, delim = {quote_literal(resource_delimiter)}, "
           f"quote = {quote_literal(quote)}, escape = {quote_literal(quote)}, nullstr = '\u0001\u0002', "
           f"null_padding = true, strict_mode = true, ignore_errors = true, store_rejects = true, "
           f"rejects_table = 'govcat_rejects', rejects_scan = 'govcat_reject_scans', max_line_size = 67108864)")
    try:
        con.execute(sql)
    except duckdb.Error:
        return None   # e.g. a quoted line break, which DuckDB's parallel reader cannot pad
    if con.execute("SELECT count(*) FROM govcat_rejects").fetchone()[0]:
        return None
    loaded = con.execute("SELECT count(*) FROM raw_cells").fetchone()[0]
    if loaded != _physical_lines(path):
        return None   # a blank line or a line break inside quotes: rows and lines differ
    # one row per line and the header on line 1: the first data row is row header_lines + 1
    con.execute(f"CREATE OR REPLACE TEMP VIEW cells AS SELECT rowid + 1 AS rn, false AS odd, * "
                f"FROM raw_cells WHERE rowid >= {header_lines}")
    return LoadedCells(width=width, rows=loaded - header_lines, path="duckdb")


def _physical_lines(path: Path) -> int:
    count, last, size = 0, b"", 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            count += chunk.count(b"\n")
            last, size = chunk[-1:], size + len(chunk)
    return count + (1 if size and last != b"\n" else 0)


def _stream(con, resource, width: int) -> LoadedCells:
    """Copy frictionless's own numbered row stream into DuckDB."""
    schema = pa.schema([("rn", pa.int64()), ("odd", pa.bool_())]
                       + [(f"c{i}", pa.string()) for i in range(1, width + 1)])
    con.execute("CREATE OR REPLACE TEMP TABLE stream_cells ("
                + ", ".join(["rn BIGINT", "odd BOOLEAN"] + [f"c{i} VARCHAR" for i in range(1, width + 1)]) + ")")
    originals: dict[int, list[Any]] = {}
    batch: list[list[Any]] = [[] for _ in range(width + 2)]
    rows = 0

    def flush():
        if batch[0]:
            table = pa.Table.from_arrays([pa.array(col, type=schema.field(i).type) for i, col in enumerate(batch)],
                                         schema=schema)
            con.register("stream_batch", table)
            con.execute("INSERT INTO stream_cells SELECT * FROM stream_batch")
            con.unregister("stream_batch")
            for col in batch:
                col.clear()

    for row_number, cells in resource.dialect.read_enumerated_content_stream(resource.cell_stream):
        rows += 1
        odd = len(cells) > width or any(not isinstance(c, str) for c in cells)
        batch[0].append(row_number)
        batch[1].append(odd)
        if odd:
            originals[row_number] = list(cells)
        for i in range(width):
            batch[i + 2].append(None if odd or i >= len(cells) else cells[i])
        if len(batch[0]) >= CHUNK_ROWS:
            flush()
    flush()
    con.execute("CREATE OR REPLACE TEMP VIEW cells AS SELECT * FROM stream_cells")
    return LoadedCells(width=width, rows=rows, path="stream", originals=originals)


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="govcat-validate-", dir=os.environ.get("TMPDIR"))
