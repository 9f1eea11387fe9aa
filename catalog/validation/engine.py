"""Validate a table resource: frictionless opens it, DuckDB checks its rows.

frictionless does the work that is the size of a sample (encoding, dialect, header,
schema inference, the header's errors) and the exact check of the few rows that may hold
an error. DuckDB does the work that is the size of the file: reading it, the fast type
and constraint tests, and the unique, primary-key and foreign-key checks. Errors come out
as frictionless's own error objects, in the order frictionless would list them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb
from frictionless import errors as ferrors
from frictionless.table.row import Row, create_cell_handlers

from catalog.casting import quote_ident
from catalog.validation.fields import FieldSQL, field_sql
from catalog.validation.literals import insert_rows
from catalog.validation.loading import CellSource, duckdb_source, scratch_dir, stream_source, trim_padding

MEMORY_LIMIT = os.environ.get("GOVCAT_VALIDATE_MEMORY", "512MB")
FETCH_ROWS = 20_000

# A lookup for a foreign key: given the referenced field names, a DuckDB relation of their keys.
Lookup = Callable[[duckdb.DuckDBPyConnection, list[str]], str | None]


@dataclass
class RowCheck:
    errors: list                  # frictionless Error objects, in frictionless's order
    rows: int                     # rows read (up to the error limit's stop, as frictionless counts)
    partial: bool
    path: str                     # how the rows were read: "duckdb" or "stream"


def connect(work: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(work / "spill"),
                                 "preserve_insertion_order": True})
    con.execute("SET enable_progress_bar = false")
    return con


def check_rows(resource, *, limit_errors: int, lookups: dict[str, Lookup] | None = None,
               start_errors: int = 0) -> RowCheck:
    """All row errors of an open table resource, as frictionless reports them."""
    fields = resource.header.get_expected_fields()
    width = max(len(fields), len(resource.labels or [])) + 1
    sql_fields = [field_sql(f, resource.schema.missing_values) for f in fields]
    integrity = _integrity_fields(resource, fields)
    with scratch_dir() as tmp:
        work = Path(tmp)
        con = connect(work)
        try:
            source = duckdb_source(resource, width, work)
            if source is None or not _scan(con, source, sql_fields, integrity):
                source = stream_source(con, resource, width)
                _scan(con, source, sql_fields, integrity)
            return _check(con, resource, fields, sql_fields, integrity, source, limit_errors, lookups or {},
                          start_errors)
        finally:
            con.close()


def _scan(con, source: CellSource, sql_fields: list[FieldSQL], integrity: "IntegrityFields") -> bool:
    """One pass over the cells: table ``checked`` with each row's number, suspicion, keys and, for a
    suspicious row, its cells. False when DuckDB's own read turns out not to match Python's csv module."""
    n = len(sql_fields)
    suspicious = _suspicious_sql(sql_fields, [f"c{i}" for i in range(1, n + 1)], n)
    cells = "[" + ", ".join(f"c{i}" for i in range(1, source.width + 1)) + "]"
    keys = "".join(
        f", CASE WHEN {sql_fields[i].missing_sql(f'c{i + 1}')} THEN NULL ELSE "
        f"TRY_CAST({sql_fields[i].key_sql(f'c{i + 1}')} AS {sql_fields[i].key_type}) END AS {_key_column(i)}"
        for i in integrity.keyed)
    numbered = "" if source.first_row is not None else "rn, "
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE scanned AS SELECT {numbered}odd, ({suspicious}) AS suspicious, "
                    f"CASE WHEN suspicious THEN {cells} END AS cells{keys} FROM {source.from_sql}")
    except duckdb.Error:
        if source.plain is None:
            raise
        return False      # e.g. a line break inside quotes, which DuckDB's parallel reader cannot pad
    loaded = con.execute("SELECT count(*) FROM scanned").fetchone()[0]
    if not source.confirm(con, loaded):
        return False
    numbering = "" if numbered else f"{source.rn_sql()} AS rn, "
    con.execute(f"CREATE OR REPLACE TEMP VIEW checked AS SELECT {numbering}*, rowid FROM scanned")
    return True


def _check(con, resource, fields, sql_fields: list[FieldSQL], integrity: "IntegrityFields", source: CellSource,
           limit_errors: int, lookups: dict[str, Lookup], start_errors: int) -> RowCheck:
    handlers = create_cell_handlers(fields)
    names = [f.name for f in fields]
    rows = _python_rows(con, "suspicious", source, handlers, [names[i] for i in integrity.read_first])

    found: dict[int, list] = {}
    if integrity.any:
        _build_keys(con, sql_fields, integrity, rows)
        found = _integrity_findings(con, resource, integrity, lookups)
        missing_rows = sorted(set(found) - set(rows))
        for rn, values in source.fetch_cells(con, missing_rows).items():
            rows[rn] = Row(values, handlers=handlers, row_number=rn)

    by_row: dict[int, list] = {}
    for rn in sorted({*(rn for rn, row in rows.items() if row.errors), *found}):
        if rn in found:     # its integrity errors go between its cells' errors: read it again in that order
            by_row[rn] = _row_errors(Row(rows[rn].cells, handlers=handlers, row_number=rn), names, integrity,
                                     found[rn])
        else:
            by_row[rn] = list(rows[rn].errors)

    errors, partial, last_row = [], False, None
    for rn in sorted(by_row):
        errors.extend(by_row[rn])
        if limit_errors and start_errors + len(errors) >= limit_errors:
            errors = errors[: max(limit_errors - start_errors, 0)]
            partial, last_row = True, rn
            break
    where = "" if last_row is None else f" WHERE rn <= {int(last_row)}"
    counted = con.execute(f"SELECT count(*) FROM checked{where}").fetchone()[0]
    return RowCheck(errors=errors, rows=counted, partial=partial, path=source.path)


def _suspicious_sql(sql_fields: list[FieldSQL], columns: list[str], n: int) -> str:
    """True for a row that may hold any row-level error: frictionless then checks it exactly."""
    terms = ["odd", f"c{n + 1} IS NOT NULL"]
    if n:
        terms.append(f"c{n} IS NULL")              # fewer cells than fields (or a blank line)
    missing_all = []
    for spec, col in zip(sql_fields, columns):
        is_missing = spec.missing_sql(col)
        missing_all.append(f"({is_missing})")
        bad = f"NOT ({spec.surely_valid_sql(col)})"
        if spec.required:
            terms.append(f"(({is_missing}) OR {bad})")
        elif spec.missing:
            terms.append(f"(NOT ({is_missing}) AND {bad})")
        else:
            terms.append(bad)
    if missing_all:
        terms.append("(" + " AND ".join(missing_all) + ")")    # a blank row
    return " OR ".join(f"({t})" for t in terms)


def _python_rows(con, where: str, source: CellSource, handlers, first: list[str]) -> dict[int, Row]:
    """frictionless's own Row for each row the condition picks: exact errors and parsed values. The
    ``first`` cells are read first, as frictionless's integrity checks read them."""
    rows: dict[int, Row] = {}
    cursor = con.execute(f"SELECT rn, odd, cells FROM checked WHERE {where}")
    while batch := cursor.fetchmany(FETCH_ROWS):
        for rn, odd, cells in batch:
            values = source.originals[rn] if odd else trim_padding(cells)
            row = Row(values, handlers=handlers, row_number=rn)
            for name in first:
                row[name]  # noqa: B018 - reading a cell parses it, and records its errors
            row.errors  # noqa: B018 - reading errors processes every cell once, as frictionless does
            rows[rn] = row
    return rows


@dataclass
class IntegrityFields:
    unique: list[int]                        # indexes of fields with the unique constraint
    primary: list[int]                       # indexes of the primary key's fields
    foreign: list[tuple[dict, list[int]]]    # each foreign key and its fields' indexes

    @property
    def any(self) -> bool:
        return bool(self.unique or self.primary or self.foreign)

    @property
    def read_first(self) -> list[int]:
        """The fields frictionless's integrity checks read, in their order: before any other cell."""
        return [*self.unique, *self.primary, *(i for _, idx in self.foreign for i in idx)]

    @property
    def keyed(self) -> list[int]:
        return sorted({*self.unique, *self.primary, *(i for _, idx in self.foreign for i in idx)})


def _integrity_fields(resource, fields) -> IntegrityFields:
    names = [f.name for f in fields]
    unique = [i for i, f in enumerate(fields) if f.constraints.get("unique")]
    primary_names = list(resource.schema.primary_key)
    primary = [names.index(p) for p in primary_names] if primary_names and set(primary_names) <= set(names) else []
    foreign = []
    for fk in resource.schema.foreign_keys:
        target = list(fk["fields"])
        if set(target) <= set(names):
            foreign.append((fk, [names.index(t) for t in target]))
    return IntegrityFields(unique=unique, primary=primary, foreign=foreign)


def _key_column(i: int) -> str:
    return f"k{i + 1}"


def _build_keys(con, sql_fields: list[FieldSQL], integrity: "IntegrityFields", rows: dict[int, Row]) -> None:
    """Table ``keys``: each row's key for every field an integrity check compares; the SQL key for
    surely-valid rows, frictionless's parsed value for the rows it checked."""
    keyed = integrity.keyed
    names = ", ".join(_key_column(i) for i in keyed)
    columns = ", ".join(f"{_key_column(i)} {sql_fields[i].key_type}" for i in keyed)
    con.execute(f"CREATE OR REPLACE TEMP TABLE python_keys (rn BIGINT, {columns})")
    parsed = [[rn] + [sql_fields[i].python_key(row[sql_fields[i].name]) for i in keyed] for rn, row in rows.items()]
    insert_rows(con, "python_keys", ["BIGINT"] + [sql_fields[i].key_type for i in keyed], parsed)
    con.execute(f"CREATE OR REPLACE TEMP VIEW keys AS SELECT rn, {names} FROM checked WHERE NOT suspicious "
                f"UNION ALL SELECT rn, {names} FROM python_keys")


def _integrity_findings(con, resource, integrity: IntegrityFields,
                        lookups: dict[str, Lookup]) -> dict[int, list[tuple[str, Any]]]:
    """Rows breaking a unique, primary-key or foreign-key rule, with what frictionless's note needs."""
    found: dict[int, list[tuple[str, Any]]] = {}
    fields = resource.header.get_expected_fields()
    repeats_of: dict[tuple[str, ...], list[tuple[int, int]]] = {}    # a unique field is often the primary key

    def repeats(key_cols: list[str]) -> list[tuple[int, int]]:
        if tuple(key_cols) not in repeats_of:
            repeats_of[tuple(key_cols)] = _repeats(con, key_cols)
        return repeats_of[tuple(key_cols)]

    for i in integrity.unique:
        for rn, previous in repeats([_key_column(i)]):
            found.setdefault(rn, []).append(("unique", (fields[i].name, previous)))
    if integrity.primary:
        key_cols = [_key_column(i) for i in integrity.primary]
        all_null = " AND ".join(f"{c} IS NULL" for c in key_cols)
        blanks = [r[0] for r in con.execute(f"SELECT rn FROM keys WHERE {all_null}").fetchall()]
        earlier = dict(repeats(key_cols))
        for rn in sorted({*blanks, *earlier}):
            found.setdefault(rn, []).append(("primary", earlier.get(rn)))
    for fk, idx in integrity.foreign:
        for rn in _orphans(con, resource, fk, idx, lookups):
            found.setdefault(rn, []).append(("foreign", fk))
    return found


def _row_errors(row: Row, names: list[str], integrity: IntegrityFields, found: list[tuple[str, Any]]) -> list:
    """A row's errors in frictionless's order, which follows the order its checks read the cells:
    unique fields, then the primary key, then foreign keys, then every cell."""
    for i in integrity.unique:
        row[names[i]]  # noqa: B018 - reading a cell parses it, and records its errors first
        for kind, detail in found:
            if kind == "unique" and detail[0] == names[i]:
                row.errors.append(_integrity_error(row, kind, detail))
    if integrity.primary:
        for i in integrity.primary:
            row[names[i]]  # noqa: B018
        for kind, detail in found:
            if kind == "primary":
                row.errors.append(_integrity_error(row, kind, detail))
    for fk, idx in integrity.foreign:
        for i in idx:
            row[names[i]]  # noqa: B018
        for kind, detail in found:
            if kind == "foreign" and detail is fk:
                row.errors.append(_integrity_error(row, kind, detail))
    return list(row.errors)


def _repeats(con, key_cols: list[str]) -> list[tuple[int, int]]:
    """(row, the last earlier row with the same key) for every repeated key that is not all empty:
    the row frictionless's note names."""
    group = ", ".join(key_cols)
    where = " OR ".join(f"{c} IS NOT NULL" for c in key_cols)
    sql = (f"WITH dup AS (SELECT {group} FROM keys WHERE {where} GROUP BY {group} HAVING count(*) > 1), "
           f"hit AS (SELECT rn, {group} FROM keys SEMI JOIN dup USING ({group})) "
           f"SELECT rn, previous FROM (SELECT rn, lag(rn) OVER (PARTITION BY {group} ORDER BY rn) AS previous "
           f"FROM hit) WHERE previous IS NOT NULL ORDER BY rn")
    return con.execute(sql).fetchall()


def _orphans(con, resource, fk: dict, idx: list[int], lookups: dict[str, Lookup]) -> list[int]:
    """Rows whose foreign key is not among the referenced values (skipping all-empty keys)."""
    reference = fk["reference"]
    source = reference.get("resource") or ""
    key_cols = [_key_column(i) for i in idx]
    if source in ("", resource.name):
        names = [f.name for f in resource.header.get_expected_fields()]
        ref_cols = [_key_column(names.index(r)) for r in reference["fields"]]
        lookup = f"(SELECT DISTINCT {', '.join(f'{r} AS {c}' for r, c in zip(ref_cols, key_cols))} FROM keys " \
                 f"WHERE NOT ({' AND '.join(f'{r} IS NULL' for r in ref_cols)}))"
    else:
        relation = lookups[source](con, list(reference["fields"])) if source in lookups else None
        if relation is None:
            return []
        lookup = f"(SELECT DISTINCT {', '.join(f'{quote_ident(r)} AS {c}' for r, c in zip(reference['fields'], key_cols))} " \
                 f"FROM {relation})"
    present = " OR ".join(f"{c} IS NOT NULL" for c in key_cols)
    match = " AND ".join(f"k.{c} IS NOT DISTINCT FROM l.{c}" for c in key_cols)
    sql = (f"SELECT rn FROM keys k WHERE ({present}) AND NOT EXISTS "
           f"(SELECT 1 FROM {lookup} l WHERE {match}) ORDER BY rn")
    return [r[0] for r in con.execute(sql).fetchall()]


def _integrity_error(row: Row, kind: str, detail):
    if kind == "unique":
        name, previous = detail
        return ferrors.UniqueError.from_row(row, note=f"the same as in the row at position {previous}",
                                            field_name=name)
    if kind == "primary":
        note = ('cells composing the primary keys are all "None"' if detail is None
                else f"the same as in the row at position {detail}")
        return ferrors.PrimaryKeyError.from_row(row, note=note)
    fk = detail
    target, source = list(fk["fields"]), fk["reference"]
    cells = [row[name] for name in target]
    note = 'for "%s": values "%s" not found in the lookup table "%s" as "%s"' % (
        ", ".join(target), ", ".join(str(c) for c in cells), source.get("resource") or "",
        ", ".join(source["fields"]))
    return ferrors.ForeignKeyError.from_row(row, note=note, field_names=target, field_values=cells,
                                            reference_name=source.get("resource") or "",
                                            reference_field_names=list(source["fields"]))
