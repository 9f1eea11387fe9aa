"""Files people download: a public release, or the rows of a sandbox query, in five formats.

Formats: CSV (UTF-8, header), Parquet, JSON (an array of objects), XLSX (one sheet) and a
Frictionless data package (a zip of ``datapackage.json`` and the CSV). In the CSV and XLSX
files a text cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab
or a carriage return) gets a leading apostrophe; numbers, dates and the data package's CSV are
left exactly as published, since that CSV must match its Table Schema.

A whole release is exported once per format and kept beside the other exports in
``<home>/exports/``: a release never changes, so its files and their SHA-256 checksums never
do either, and the explorer, the HTTP API and a checksum printed in a snippet all agree. The
files are written by DuckDB (``COPY``, and for XLSX see catalog.xlsx) into a temporary file,
one thread so rows keep their published order, never held whole in memory, and byte-for-byte
reproducible.

Only datasets whose access is ``public`` are ever exported here; anything else is reported as
not found, exactly like a dataset that does not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from catalog import catalogue_db, xlsx
from catalog.casting import quote_ident, quote_literal
from catalog.errors import CatalogError, StoreError
from catalog.files import exclusive_lock, write_atomically
from catalog.settings import HomeLayout

EXPORT_VERSION = 1          # bump when any writer's output changes: cached files are rebuilt
EXCEL_MAX_ROWS = xlsx.MAX_ROWS  # rows in one Excel sheet, the header row included
QUERY_ROW_LIMIT = 1_000_000  # most rows a download of a query (a filtered table) carries
QUERY_TIME_LIMIT = 60.0
QUERY_BYTE_LIMIT = 512 * 2**20  # the rows of a query are held in memory (as Arrow) while they are written
SELECTION_DAYS = 1  # how long the files of a filtered selection are kept for a second asking
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry times keep zips byte-for-byte reproducible


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    short: str  # for a button
    media_type: str
    description: str


FORMATS: dict[str, Format] = {f.key: f for f in (
    Format("csv", "CSV", "CSV", "text/csv; charset=utf-8", "comma-separated text with a header row, UTF-8"),
    Format("parquet", "Parquet", "Parquet", "application/vnd.apache.parquet", "typed columns, as published"),
    Format("json", "JSON", "JSON", "application/json", "an array of objects, dates in ISO 8601"),
    Format("xlsx", "Excel", "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "one sheet with a header row"),
    Format("zip", "Data package", "zip", "application/zip",
           "a Frictionless data package: datapackage.json (metadata, licence, Table Schema) and the CSV"),
)}


class DownloadError(CatalogError):
    """A download cannot be made in the format asked for (the message says why and what instead)."""


class NotPublished(StoreError):
    """No public dataset, or no such release of one: the same answer for both, and for restricted ones."""


@dataclass(frozen=True)
class Release:
    """One published release of a public dataset, with what its data package describes."""

    dataset_id: str
    release: int
    current: int
    parquet: Path
    data_sha256: str
    rows: int
    published_at: dt.datetime
    title: str
    description: str
    agency_name: str
    licence: str
    licence_title: str
    licence_url: str | None
    keywords: tuple[str, ...]
    origin_title: str | None
    origin_url: str | None
    schema: dict

    @property
    def stem(self) -> str:
        return f"{self.dataset_id}-release-{self.release}"


@dataclass(frozen=True)
class Export:
    """A file ready to hand to someone, with the checksum they can verify it by."""

    path: Path
    fmt: str
    filename: str
    sha256: str
    size: int
    rows: int
    truncated: bool = False
    release: int | None = None  # the release it holds whole, when it does

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt].media_type

    @property
    def digest_header(self) -> str:
        """The checksum as an HTTP ``Digest`` value (RFC 3230): base64 of the raw SHA-256."""
        return "sha-256=" + base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")


# ---------------------------------------------------------------------------------------- releases


def release_parquet(home: Path, relative_path: str) -> Path:
    """The Parquet file of a release, refusing any path that would leave the releases folder."""
    releases = HomeLayout(Path(home)).releases.resolve()
    path = (Path(home) / relative_path).resolve()
    if releases not in path.parents or not path.is_file():
        raise StoreError("that release file is not available")
    return path


def public_release(home: Path, dataset_id: str, release: int | None = None) -> Release:
    """Release ``release`` (default: the current one) of a public dataset, or NotPublished."""
    layout = HomeLayout(Path(home))
    if not isinstance(dataset_id, str) or not layout.catalogue.exists():
        raise NotPublished(_not_found(dataset_id, release))
    con = catalogue_db.open_reader(layout.catalogue)
    try:
        cur = con.cursor()
        cur.execute("USE cat")
        rows = cur.execute("""
            SELECT r.release, r.path, r.data_sha256, r.rows, r.published_at, d.title, d.description, d.agency_name,
                   d.licence, d.licence_title, d.licence_url, d.keywords, d.origin_title, d.origin_url, d.schema
            FROM datasets d JOIN releases r ON r.dataset_id = d.id
            WHERE d.id = ? AND d.access = 'public' ORDER BY r.release""", [dataset_id]).fetchall()
    finally:
        con.close()
    if not rows:
        raise NotPublished(_not_found(dataset_id, release))
    chosen = rows[-1] if release is None else next((r for r in rows if r[0] == release), None)
    if chosen is None:
        raise NotPublished(_not_found(dataset_id, release))
    (number, path, data_sha256, count, published_at, title, description, agency_name, licence, licence_title,
     licence_url, keywords, origin_title, origin_url, current_schema) = chosen
    try:
        parquet = release_parquet(layout.root, path)
    except StoreError:
        raise NotPublished(_not_found(dataset_id, release)) from None
    return Release(dataset_id, int(number), int(rows[-1][0]), parquet, data_sha256, int(count or 0), published_at,
                   title, description or "", agency_name or "", licence or "", licence_title or "", licence_url,
                   tuple(keywords or ()), origin_title, origin_url,
                   _release_schema(parquet.parent, current_schema))


def _not_found(dataset_id, release: int | None) -> str:
    shown = str(dataset_id)[:80]
    if release is None:
        return f"there is no published public dataset {shown!r}"
    return f"there is no release {release} of a published public dataset {shown!r}"


def _release_schema(folder: Path, fallback: str) -> dict:
    """The Table Schema a release was published with (its manifest), else the dataset's current one."""
    try:
        return json.loads((folder / "release.json").read_text(encoding="utf-8"))["schema"]
    except (OSError, KeyError, ValueError):
        return json.loads(fallback) if fallback else {"fields": []}


def export_release(home: Path, dataset_id: str, fmt: str, release: int | None = None, *,
                   about: Release | None = None) -> Export:
    """A whole public release in ``fmt``, built once and then served from ``<home>/exports``.
    ``about``: the release, when the caller has already looked it up."""
    _check_format(fmt)
    about = about or public_release(home, dataset_id, release)
    if fmt == "parquet":  # the published file itself
        return Export(about.parquet, fmt, f"{about.stem}.parquet", about.data_sha256,
                      about.parquet.stat().st_size, about.rows, release=about.release)
    if fmt == "xlsx":
        _check_excel_rows(about.rows)
    folder = _export_folder(home, about)
    target = folder / f"{about.stem}.{fmt}"
    sidecar = folder / f".{about.stem}.{fmt}.checksum"
    found = _cached(target, sidecar, fmt, about.release)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / f".{fmt}.lock"):
        found = _cached(target, sidecar, fmt, about.release)
        if found is not None:
            return found
        for stale in folder.glob(f".{target.name}.tmp-*"):
            stale.unlink(missing_ok=True)
        temporary = folder / f".{target.name}.tmp-{os.getpid()}"
        try:
            con = _connection(folder)
            try:
                source, numbered = _parquet_source(con, about.parquet, fmt)
                _write(con, source, fmt, temporary, about, about.stem, row_number=numbered)
            finally:
                con.close()
            checksum = file_sha256(temporary)
            write_atomically(sidecar, json.dumps({"sha256": checksum, "bytes": temporary.stat().st_size,
                                                  "rows": about.rows}))
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    return Export(target, fmt, target.name, checksum, target.stat().st_size, about.rows, release=about.release)


def ready_export(home: Path, about: Release, fmt: str) -> Export | None:
    """The release in ``fmt`` if it needs no building (Parquet, or an export made before), else None."""
    _check_format(fmt)
    if fmt == "parquet":
        return export_release(home, about.dataset_id, fmt, about=about)
    folder = _export_folder(home, about)
    return _cached(folder / f"{about.stem}.{fmt}", folder / f".{about.stem}.{fmt}.checksum", fmt, about.release)


def _export_folder(home: Path, about: Release) -> Path:
    return (HomeLayout(Path(home)).root / "exports" / f"v{EXPORT_VERSION}" / about.dataset_id / str(about.release)
            / about.data_sha256[:16])


def _cached(target: Path, sidecar: Path, fmt: str, release: int | None) -> Export | None:
    try:
        known = json.loads(sidecar.read_text(encoding="utf-8"))
        size = target.stat().st_size
    except (OSError, ValueError):
        return None
    if known.get("bytes") != size or not isinstance(known.get("sha256"), str):
        return None
    return Export(target, fmt, target.name, known["sha256"], size, int(known.get("rows") or 0), release=release)


# ---------------------------------------------------------------------------------------- query results


def export_query(sandbox, sql: str, params: list | None, fmt: str, folder: Path, *, name: str = "query-result",
                 about: Release | None = None, row_limit: int = QUERY_ROW_LIMIT) -> Export:
    """The rows of one sandbox query (e.g. a filtered table: ``SELECT * FROM t WHERE ...`` and its
    params) written into ``folder``. At most ``row_limit`` rows: ``truncated`` says when there were more.
    ``about``: the release the rows come from, for the data package's metadata and licence."""
    _check_format(fmt)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,120}", name):
        raise DownloadError("a download name is letters, digits, '.', '_', '@' or '-'")
    excel_bound = fmt == "xlsx" and row_limit >= EXCEL_MAX_ROWS - 1
    result = sandbox.query(sql, params or [], row_limit=EXCEL_MAX_ROWS - 1 if excel_bound else row_limit,
                           time_limit=QUERY_TIME_LIMIT, byte_limit=QUERY_BYTE_LIMIT)
    if excel_bound and result.truncated:
        raise DownloadError(f"these are more than {EXCEL_MAX_ROWS - 1:,} rows, more than an Excel sheet holds: "
                            f"narrow the filter, or download CSV or Parquet instead")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.{fmt}"
    con = _connection(folder)
    try:
        con.register("query_result", result.table)
        _write(con, "SELECT * FROM query_result", fmt, target, about, name)
    finally:
        con.close()
    return Export(target, fmt, target.name, file_sha256(target), target.stat().st_size, result.table.num_rows,
                  result.truncated)


def export_selection(home: Path, sandbox, about: Release, sql: str, params: list | None, fmt: str) -> Export:
    """Rows selected from a public release (a filtered table: ``sql`` and ``params`` run in the
    sandbox), in ``fmt``, named ``<dataset>-release-<n>-filtered``. Kept under the release's exports
    for a day, so asking again for the same rows costs nothing."""
    _check_format(fmt)
    key = hashlib.sha256(json.dumps([sql, [_param_text(p) for p in params or []]]).encode()).hexdigest()[:20]
    selections = _export_folder(home, about) / "selections"
    folder = selections / key
    name = f"{about.stem}-filtered"
    sidecar = folder / f".{name}.{fmt}.checksum"
    try:
        known = json.loads(sidecar.read_text(encoding="utf-8"))
        target = folder / f"{name}.{fmt}"
        if known.get("bytes") == target.stat().st_size:
            return Export(target, fmt, target.name, known["sha256"], known["bytes"], known["rows"], known["truncated"])
    except (OSError, ValueError, KeyError):
        pass
    _prune(selections, keep=folder)
    selections.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{key}-{fmt}-", dir=selections))
    try:
        made = export_query(sandbox, sql, params, fmt, building, name=name, about=about)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(sidecar, json.dumps({"sha256": made.sha256, "bytes": made.size, "rows": made.rows,
                                              "truncated": made.truncated}))
        os.replace(made.path, folder / made.filename)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Export(folder / made.filename, fmt, made.filename, made.sha256, made.size, made.rows, made.truncated)


def _prune(selections: Path, keep: Path) -> None:
    """Remove selections made more than SELECTION_DAYS ago (a release's own files are kept)."""
    cutoff = dt.datetime.now().timestamp() - SELECTION_DAYS * 86400
    for folder in selections.iterdir() if selections.is_dir() else ():
        try:
            if folder != keep and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _param_text(value) -> str:
    return f"{type(value).__name__}:{value.isoformat() if hasattr(value, 'isoformat') else value!r}"


# ---------------------------------------------------------------------------------------- writers


def csv_bytes(parquet: Path) -> bytes:
    """A Parquet file as UTF-8 CSV with a header row, formulas neutralised (for small files)."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "release.csv"
        con = _connection(Path(folder))
        try:
            _write_csv(con, f"SELECT * FROM read_parquet({quote_literal(str(parquet))})", target, neutralise=True)
        finally:
            con.close()
        return target.read_bytes()


def neutralised(value):
    """A text cell a spreadsheet would run as a formula, with a leading apostrophe; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _connection(spill: Path) -> duckdb.DuckDBPyConnection:
    """One thread: DuckDB's parallel COPY reordered the rows of a projected release (measured on
    1M rows); in one thread the files keep the published order and are reproducible. ``spill``:
    where DuckDB may put what does not fit in memory."""
    con = duckdb.connect(config={"threads": 1, "preserve_insertion_order": True, "memory_limit": "256MB",
                                 "temp_directory": str(Path(spill) / ".spill")})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # a long export must not print to a server's output
    return con


ROW_NUMBER = "file_row_number"


def _parquet_source(con, parquet: Path, fmt: str) -> tuple[str, str | None]:
    """The SELECT reading a release, and the column numbering its rows when it has one: for XLSX,
    read_parquet's own row numbers (cheaper than a window function, see catalog.xlsx)."""
    plain = f"SELECT * FROM read_parquet({quote_literal(str(parquet))})"
    if fmt != "xlsx" or ROW_NUMBER in {name for name, _ in _columns(con, plain)}:
        return plain, None
    return f"SELECT * FROM read_parquet({quote_literal(str(parquet))}, file_row_number = true)", ROW_NUMBER


def _write(con, source: str, fmt: str, target: Path, about: Release | None, stem: str,
           row_number: str | None = None) -> None:
    if fmt == "csv":
        _write_csv(con, source, target, neutralise=True)
    elif fmt == "parquet":
        con.execute(f"COPY ({source}) TO {quote_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)")
    elif fmt == "json":
        _write_json(con, source, target)
    elif fmt == "xlsx":
        _write_xlsx(con, source, target, row_number)
    else:
        _write_package(con, source, target, about, stem)


def _columns(con, source: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {source}").fetchall()]


def _text_cell(column: str, sql_type: str) -> str:
    """The SQL that writes one column as CSV text: ISO 8601 dates and times, everything else DuckDB's way."""
    name = quote_ident(column)
    if sql_type == "TIMESTAMP WITH TIME ZONE":
        return f"replace(CAST(timezone('UTC', {name}) AS VARCHAR), ' ', 'T') || 'Z'"
    if sql_type.startswith("TIMESTAMP"):
        return f"replace(CAST({name} AS VARCHAR), ' ', 'T')"
    return name


def _formula_safe(expression: str) -> str:
    starts = ", ".join(quote_literal(c) for c in FORMULA_STARTS)
    return f"CASE WHEN left({expression}, 1) IN ({starts}) THEN '''' || {expression} ELSE {expression} END"


def _write_csv(con, source: str, target: Path, neutralise: bool) -> None:
    parts = []
    for column, sql_type in _columns(con, source):
        expression = _text_cell(column, sql_type)
        if neutralise and sql_type == "VARCHAR":
            expression = _formula_safe(expression)
        header = neutralised(column) if neutralise else column
        parts.append(f"{expression} AS {quote_ident(header)}")
    select = f"SELECT {', '.join(parts) or '*'} FROM ({source})"
    con.execute(f"COPY ({select}) TO {quote_literal(str(target))} (FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"')")


def _write_json(con, source: str, target: Path) -> None:
    parts = []
    for column, sql_type in _columns(con, source):
        name = quote_ident(column)
        if sql_type in ("DOUBLE", "FLOAT"):  # NaN and infinities are not JSON numbers
            expression = f"CASE WHEN isfinite({name}) THEN {name} END"
        elif sql_type.startswith("TIMESTAMP"):
            expression = _text_cell(column, sql_type)
        else:
            expression = name
        parts.append(f"{expression} AS {name}")
    select = f"SELECT {', '.join(parts) or '*'} FROM ({source})"
    con.execute(f"COPY ({select}) TO {quote_literal(str(target))} (FORMAT json, ARRAY true)")


def _check_excel_rows(rows: int) -> None:
    if rows > EXCEL_MAX_ROWS - 1:
        raise DownloadError(f"this release has {rows:,} rows, and an Excel sheet holds at most "
                            f"{EXCEL_MAX_ROWS - 1:,} below its header row: download CSV or Parquet instead")


def _write_xlsx(con, source: str, target: Path, row_number: str | None) -> None:
    columns = [(name, kind) for name, kind in _columns(con, source) if name != row_number]
    xlsx.write_sheet(con, source, columns, target, text=_formula_safe, header=neutralised, row_number=row_number)


# ---------------------------------------------------------------------------------------- data package


_SOURCE_ONLY_KEYS = {"missingValues", "trueValues", "falseValues", "decimalChar", "groupChar", "bareNumber"}
_TYPE_OF_SQL = {"VARCHAR": "string", "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer",
                "TINYINT": "integer", "UBIGINT": "integer", "UINTEGER": "integer", "USMALLINT": "integer",
                "UTINYINT": "integer", "HUGEINT": "integer", "DOUBLE": "number", "FLOAT": "number",
                "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "datetime", "TIMESTAMP WITH TIME ZONE": "datetime",
                "TIME": "time"}


def package_schema(columns: list[tuple[str, str]], declared: dict | None) -> dict:
    """The Table Schema of the exported CSV: the declared field (title, description, constraints)
    for each column, with the source-reading options dropped, since the CSV is written canonically."""
    by_name = {f.get("name"): f for f in (declared or {}).get("fields", [])}
    fields = []
    for column, sql_type in columns:
        field = {k: v for k, v in by_name.get(column, {}).items() if k not in _SOURCE_ONLY_KEYS}
        derived = _TYPE_OF_SQL.get(sql_type, "number" if sql_type.startswith("DECIMAL") else "string")
        if not field:
            field = {"name": column, "type": derived}
        else:
            field["name"] = column
            field.setdefault("type", "string")
            if field["type"] in ("date", "datetime", "time"):  # written in ISO 8601, whatever the source's pattern
                field.pop("format", None)
            typed = ("integer", "number", "boolean", "date", "datetime", "time")
            if field["type"] in typed and field["type"] != derived:  # the published column says otherwise
                field = {k: v for k, v in field.items() if k != "constraints"} | {"type": derived}
        fields.append(field)
    schema = {"fields": fields, "missingValues": [""]}
    names = {f["name"] for f in fields}
    key = (declared or {}).get("primaryKey")
    if key and set([key] if isinstance(key, str) else key) <= names:
        schema["primaryKey"] = key
    return schema


def _write_package(con, source: str, target: Path, about: Release | None, stem: str) -> None:
    columns = _columns(con, source)
    folder = target.parent
    csv_path = folder / f".{target.name}.csv-{os.getpid()}"
    try:
        _write_csv(con, source, csv_path, neutralise=False)
        csv_name = f"{stem}.csv"
        descriptor = _descriptor(about, stem, csv_name, package_schema(columns, about.schema if about else None),
                                 file_sha256(csv_path), csv_path.stat().st_size)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as package:
            package.writestr(_zip_entry("datapackage.json"), json.dumps(descriptor, indent=2, ensure_ascii=False))
            with csv_path.open("rb") as reading, package.open(_zip_entry(csv_name), "w",
                                                             force_zip64=csv_path.stat().st_size > 2**31) as writing:
                shutil.copyfileobj(reading, writing, 1 << 20)
    finally:
        csv_path.unlink(missing_ok=True)


def _zip_entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    return entry


def _package_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return name or "data"


def _descriptor(about: Release | None, stem: str, csv_name: str, schema: dict, checksum: str, size: int) -> dict:
    resource = {"name": _package_name(about.dataset_id if about else stem), "path": csv_name,
                "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                "hash": f"sha256:{checksum}", "bytes": size, "schema": schema}
    if about is None:
        return {"name": _package_name(stem), "profile": "tabular-data-package", "resources": [resource]}
    descriptor = {"name": _package_name(about.dataset_id), "title": about.title, "description": about.description,
                  "version": f"{about.release}.0.0",
                  "created": about.published_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "profile": "tabular-data-package",
                  "licenses": [{k: v for k, v in (("name", about.licence), ("title", about.licence_title),
                                                  ("path", about.licence_url)) if v}],
                  "contributors": [{"title": about.agency_name, "role": "publisher"}],
                  "keywords": list(about.keywords)}
    if about.origin_url:
        descriptor["sources"] = [{"title": about.origin_title or about.origin_url, "path": about.origin_url}]
    if stem != about.stem:  # rows chosen from the release (a filter), not the whole of it
        resource["description"] = f"Rows selected from release {about.release} of {about.dataset_id}."
    descriptor["resources"] = [resource]
    return descriptor


# ---------------------------------------------------------------------------------------- helpers


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise DownloadError(f"unknown format {str(fmt)[:20]!r}; choose one of {', '.join(FORMATS)}")
