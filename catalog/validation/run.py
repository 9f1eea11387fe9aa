"""``validate``: a drop-in for frictionless's, with the rows checked by DuckDB.

A source is resolved exactly as ``frictionless validate`` resolves it (a table file, a
resource descriptor, a data package descriptor, or a schema with ``type="schema"``).
Metadata-only sources and custom checklists go to frictionless unchanged; every table is
checked by ``engine.check_rows``; the report is frictionless's ``Report``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
from frictionless import Checklist, FrictionlessException, Package, Report, Resource, Schema, errors as ferrors, helpers
from frictionless import system
from frictionless.resources import TableResource

from catalog.casting import quote_ident
from catalog.validation.engine import Lookup, check_rows
from catalog.validation.literals import insert_rows
from catalog.validation.fields import field_sql

DEFAULT_LIMIT_ERRORS = 1000


def validate(source: Any, *, schema: Any = None, type: str | None = None, limit_errors: int = DEFAULT_LIMIT_ERRORS,
             checks: list[str] | None = None, basepath: str | None = None, trusted: bool = True,
             lookups: dict[str, Lookup] | None = None, **options: Any) -> Report:
    """Validate ``source`` and return frictionless's report for it."""
    with system.use_context(trusted=trusted):
        try:
            if isinstance(schema, dict):
                schema = Schema.from_descriptor(schema)
            resource = source if isinstance(source, Resource) else Resource(
                source, datatype=type, schema=schema, basepath=basepath, **options)
        except FrictionlessException as exception:
            return Report.from_validation(errors=exception.reasons or [exception.error])
        if checks:
            checklist = Checklist.from_descriptor({"checks": [{"type": c} for c in checks]})
            return resource.validate(checklist, limit_errors=limit_errors)
        return _validate_any(resource, limit_errors, lookups or {})


def _validate_any(resource, limit_errors: int, lookups: dict[str, Lookup]) -> Report:
    if isinstance(resource, TableResource):
        return validate_table(resource, limit_errors=limit_errors, lookups=lookups)
    if resource.datatype in ("package", "resource"):
        try:
            inner = resource.read_metadata()
        except FrictionlessException as exception:
            return Report.from_validation(errors=exception.to_errors())
        if isinstance(inner, Package):
            return _validate_package(inner, limit_errors)
        return _validate_any(inner, limit_errors, lookups)
    return resource.validate(limit_errors=limit_errors)


def _validate_package(package: Package, limit_errors: int) -> Report:
    timer = helpers.Timer()
    try:
        package.to_descriptor(validate=True)
    except FrictionlessException as exception:
        return Report.from_validation(time=timer.time, errors=exception.to_errors())
    reports = []
    for resource in package.resources:
        lookups = {other.name: _package_lookup(other) for other in package.resources if other is not resource}
        if isinstance(resource, TableResource):
            reports.append(validate_table(resource, limit_errors=limit_errors, lookups=lookups))
        else:
            reports.append(resource.validate(limit_errors=limit_errors))
    return Report.from_validation_reports(time=timer.time, reports=reports)


def _package_lookup(other) -> Lookup:
    """The referenced resource's key values, as frictionless reads them (lookup tables are small)."""
    def lookup(con: duckdb.DuckDBPyConnection, names: list[str]) -> str | None:
        copy = other.to_copy()
        if not isinstance(copy, TableResource):
            return None
        if copy.schema:
            copy.schema.foreign_keys = []
        try:
            with copy:
                specs = {f.name: field_sql(f, copy.schema.missing_values) for f in copy.schema.fields}
                if not set(names) <= set(specs):
                    return None
                values: dict[str, list] = {n: [] for n in names}
                for row in copy.row_stream:
                    cells = [row.get(n) for n in names]
                    if all(c is None for c in cells):
                        continue
                    for n, c in zip(names, cells):
                        values[n].append(specs[n].python_key(c))
        except FrictionlessException:
            return None
        table_name = f"lookup_{abs(hash((other.name, tuple(names))))}"
        columns = ", ".join(f"{quote_ident(n)} {specs[n].key_type}" for n in names)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name} ({columns})")
        insert_rows(con, table_name, [specs[n].key_type for n in names], zip(*(values[n] for n in names)))
        return table_name
    return lookup


def validate_table(resource: TableResource, *, limit_errors: int = DEFAULT_LIMIT_ERRORS,
                   lookups: dict[str, Lookup] | None = None) -> Report:
    """Validate one table resource as ``Resource.validate`` does, rows checked by DuckDB."""
    timer = helpers.Timer()
    try:
        resource.to_descriptor(validate=True)
    except FrictionlessException as exception:
        return Report.from_validation_task(resource, time=timer.time, errors=exception.to_errors())
    foreign_keys = list(resource.schema.foreign_keys) if resource.schema else []
    if foreign_keys:
        resource.schema.foreign_keys = []          # our own check reads the references, not frictionless's
    try:
        resource.open()
    except FrictionlessException as exception:
        resource.close()
        return Report.from_validation_task(resource, time=timer.time, errors=exception.to_errors())
    finally:
        if foreign_keys:
            resource.schema.foreign_keys = foreign_keys
    warnings: list[str] = []
    try:
        errors = []
        if not (resource.labels or resource.fragment):
            errors.append(ferrors.SourceError(note="the source is empty"))
        errors.extend(resource.header.errors)
        if limit_errors and len(errors) >= limit_errors:
            errors = errors[:limit_errors]
            warnings.append(f"reached error limit: {limit_errors}")
            return _finish(resource, timer, errors, warnings)
        try:
            checked = check_rows(resource, limit_errors=limit_errors, lookups=lookups, start_errors=len(errors))
        except FrictionlessException as exception:
            errors.append(exception.error)
            return _finish(resource, timer, errors, warnings)
        errors.extend(checked.errors)
        resource.stats.rows = checked.rows
        if checked.partial:
            warnings.append(f"reached error limit: {limit_errors}")
        else:
            errors.extend(_end_errors(resource))
        return _finish(resource, timer, errors, warnings, encoding=resource.encoding, reader=checked.path)
    finally:
        resource.close()


def _end_errors(resource) -> list:
    """The checks frictionless makes after the last row: declared bytes, hash, fields and rows."""
    found = []
    path = Path(resource.normpath) if resource.normpath and not resource.remote else None
    size = path.stat().st_size if path is not None and path.is_file() and not resource.compression else None
    if size is not None:
        resource.stats.bytes = size
    if resource.hash and path is not None:
        algorithm, expected = helpers.parse_resource_hash_v1(resource.hash)
        if algorithm in ("md5", "sha256"):
            actual = _digest(path, algorithm)
            setattr(resource.stats, algorithm, actual)
            if actual != expected:
                found.append(ferrors.HashCountError(note=f'expected is "{expected}" and actual is "{actual}"'))
    if resource.bytes and size is not None and resource.bytes != size:
        found.append(ferrors.ByteCountError(note=f'expected is "{resource.bytes}" and actual is "{size}"'))
    if resource.fields and resource.fields != resource.stats.fields:
        found.append(ferrors.FieldCountError(
            note=f'expected is "{resource.fields}" and actual is "{resource.stats.fields}"'))
    if resource.rows and resource.rows != resource.stats.rows:
        found.append(ferrors.RowCountError(note=f'expected is "{resource.rows}" and actual is "{resource.stats.rows}"'))
    return found


def _digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _finish(resource, timer, errors, warnings, **extra) -> Report:
    report = Report.from_validation_task(resource, time=timer.time, labels=resource.labels or [], errors=errors,
                                         warnings=warnings)
    report.tasks[0].custom.update({k: v for k, v in extra.items() if v is not None})
    return report
