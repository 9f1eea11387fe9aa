"""A table's cells as a DuckDB source, numbered as frictionless numbers rows.

A source yields ``odd`` (true when the row could not be held as text cells; its original
cells are then kept in Python) and ``c1``..``cW``, each row's cells as text, NULL past the
row's end. W is one more than the widest header, so a row with one cell too many shows it.

Two ways in: DuckDB reads a plain CSV file itself in parallel, and that read is kept only
when it provably split the file as Python's csv module does (no rejected row, and one row
per physical line); otherwise frictionless's own row stream is copied in, in chunks.

The scan keeps the cells of suspicious rows only; ``fetch_cells`` brings back any other
row an integrity check names: from its physical line, as Python's csv module splits it.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from catalog.casting import quote_literal
from catalog.validation.lines import LineIndex, index_lines, read_lines
from catalog.validation.literals import insert_rows

CHUNK_ROWS = 50_000
NATIVE_ENCODINGS = {"utf-8", "utf8", "ascii", "us-ascii", "utf-8-sig"}
TRANSCODED_ENCODINGS = {"iso8859-1", "latin-1", "latin1", "cp1252", "windows-1252", "iso-8859-1"}


@dataclass
class CellSource:
    """A FROM clause yielding ``odd``, ``c1``..``cW`` (and ``rn`` unless ``first_row`` is set)."""

    from_sql: str
    width: int
    path: str                          # "duckdb" or "stream": how the cells came in
    first_row: int | None = None       # rows are numbered by order: rowid + first_row
    plain: Path | None = None
    header_lines: int = 0
    delimiter: str = ","
    quote: str = '"'
    originals: dict[int, list[Any]] = field(default_factory=dict)
    lines: Future | None = None        # the plain file's LineIndex, built while DuckDB reads it

    def rn_sql(self) -> str:
        return f"rowid + {self.first_row}" if self.first_row is not None else "rn"

    def confirm(self, con: duckdb.DuckDBPyConnection, loaded_rows: int) -> bool:
        """Whether DuckDB split the file as Python's csv module does: no reject, one row per line."""
        if self.plain is None:
            return True
        if con.execute("SELECT count(*) FROM govcat_rejects").fetchone()[0]:
            return False
        return loaded_rows + self.header_lines == self._line_index().count

    def _line_index(self) -> LineIndex:
        return self.lines.result() if self.lines is not None else index_lines(self.plain)

    def fetch_cells(self, con: duckdb.DuckDBPyConnection, numbers: list[int]) -> dict[int, list[Any]]:
        """The cells of these rows, as frictionless's row stream gives them."""
        if not numbers:
            return {}
        if self.plain is None:
            cells = ", ".join(f"c{i}" for i in range(1, self.width + 1))
            con.execute("CREATE OR REPLACE TEMP TABLE wanted (rn BIGINT)")
            insert_rows(con, "wanted", ["BIGINT"], ((n,) for n in numbers))
            found = {}
            for rn, odd, *values in con.execute(f"SELECT rn, odd, {cells} FROM stream_cells SEMI JOIN wanted "
                                                f"USING (rn)").fetchall():
                found[rn] = self.originals[rn] if odd else trim_padding(values)
            return found
        # one row per physical line here (``confirm``), so row number n is line n of the file
        lines = read_lines(self._line_index(), set(numbers))
        found = {}
        for n, raw in lines.items():
            text = raw.decode("utf-8")
            if n == 1:
                text = text.removeprefix("\ufeff")
            text = text.removesuffix("\r")
            found[n] = next(csv.reader([text], delimiter=self.delimiter, quotechar=self.quote, doublequote=True),
                            [])
        return found


def trim_padding(cells) -> list[Any]:
    """A row's cells without the NULL padding past its end."""
    cells = list(cells)
    return cells[: next((i for i, c in enumerate(cells) if c is None), len(cells))]


def duckdb_source(resource, width: int, work: Path) -> CellSource | None:
    """DuckDB's own parallel read of a plain CSV file, when the dialect allows it."""
    plain = _plain_csv(resource, work)
    if plain is None:
        return None
    delimiter, quote = _dialect_options(resource)
    header_lines = len(resource.dialect.header_rows or [])
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, width + 1))
    from_sql = (f"(SELECT false AS odd, * FROM read_csv({quote_literal(str(plain))}, auto_detect = false, "
                f"header = false, skip = {header_lines}, columns = {{{columns}}}, delim = {quote_literal(delimiter)}, "
                f"quote = {quote_literal(quote)}, escape = {quote_literal(quote)}, nullstr = '\u0001\u0002', "
                f"null_padding = true, strict_mode = true, ignore_errors = true, store_rejects = true, "
                f"rejects_table = 'govcat_rejects', rejects_scan = 'govcat_reject_scans'))")
    counting = ThreadPoolExecutor(max_workers=1)
    lines = counting.submit(index_lines, plain)
    counting.shutdown(wait=False)
    return CellSource(from_sql=from_sql, width=width, path="duckdb", first_row=header_lines + 1, plain=plain,
                      header_lines=header_lines, delimiter=delimiter, quote=quote, lines=lines)


def _plain_csv(resource, work: Path) -> Path | None:
    """The UTF-8 file DuckDB can read with the dialect frictionless detected, or None."""
    if resource.format != "csv" or resource.compression or not resource.normpath or resource.data is not None:
        return None
    path = Path(resource.normpath)
    if not path.is_file() or resource.remote or any("\n" in l or "\r" in l for l in resource.labels or []):
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


def stream_source(con, resource, width: int) -> CellSource:
    """Copy frictionless's own numbered row stream into DuckDB."""
    import pyarrow as pa      # only this slower path needs it

    schema = pa.schema([("rn", pa.int64()), ("odd", pa.bool_())]
                       + [(f"c{i}", pa.string()) for i in range(1, width + 1)])
    con.execute("CREATE OR REPLACE TEMP TABLE stream_cells ("
                + ", ".join(["rn BIGINT", "odd BOOLEAN"] + [f"c{i} VARCHAR" for i in range(1, width + 1)]) + ")")
    originals: dict[int, list[Any]] = {}
    batch: list[list[Any]] = [[] for _ in range(width + 2)]

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
    return CellSource(from_sql="stream_cells", width=width, path="stream", originals=originals)


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="govcat-validate-", dir=os.environ.get("TMPDIR"))
