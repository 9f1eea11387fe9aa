"""The catalogue database: what is declared, what was released, what was quarantined.

One small DuckDB file, ``<home>/catalogue.duckdb``, rebuilt whole on every change and
swapped in with ``os.replace`` (see ``catalog.store``): readers open it read-only through
ATTACH in a fresh in-memory connection and so always see one complete version.

Tables:
    agencies     one row per declared agency
    datasets     one row per declared dataset, with its current release and status
    fields       one row per schema field, for the schema table and the search index
    releases     every release ever published (append-only); ``profile`` (JSON, see
                 ``catalog.profile``) is NULL for releases published before profiles existed
    quarantines  every rejected delivery, with its report (append-only)
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa

from catalog.fts import load_fts
from catalog.spec import Declarations, DatasetSpec
from catalog.vocabulary import ACCESS_LEVELS, FREQUENCIES, THEMES

FORMAT_VERSION = 1

HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS releases (
    dataset_id VARCHAR NOT NULL, release INTEGER NOT NULL, published_at TIMESTAMPTZ NOT NULL,
    delivery VARCHAR, source_sha256 VARCHAR, fingerprint VARCHAR, data_sha256 VARCHAR,
    rows BIGINT, bytes BIGINT, columns VARCHAR, path VARCHAR, note VARCHAR,
    validation VARCHAR, privacy VARCHAR, data_start VARCHAR, data_end VARCHAR,
    schema_fingerprint VARCHAR, diff VARCHAR, breaking BOOLEAN, published_by VARCHAR, profile VARCHAR,
    PRIMARY KEY (dataset_id, release));
CREATE TABLE IF NOT EXISTS confirmations (
    dataset_id VARCHAR NOT NULL, confirmed_at TIMESTAMPTZ NOT NULL, delivery VARCHAR,
    source_sha256 VARCHAR, fingerprint VARCHAR);
CREATE TABLE IF NOT EXISTS quarantines (
    dataset_id VARCHAR NOT NULL, attempted_at TIMESTAMPTZ NOT NULL, delivery VARCHAR,
    source_sha256 VARCHAR, fingerprint VARCHAR, stage VARCHAR, reason VARCHAR, report VARCHAR);
"""

DERIVED_VIEWS = """
CREATE VIEW current_releases AS
    SELECT * FROM releases QUALIFY row_number() OVER (PARTITION BY dataset_id ORDER BY release DESC) = 1;
CREATE VIEW last_confirmations AS
    SELECT * FROM confirmations QUALIFY row_number() OVER (PARTITION BY dataset_id ORDER BY confirmed_at DESC) = 1;
CREATE VIEW last_quarantines AS
    SELECT * FROM quarantines QUALIFY row_number() OVER (PARTITION BY dataset_id ORDER BY attempted_at DESC) = 1;
"""


def agency_rows(declarations: Declarations) -> pa.Table:
    rows = [{"slug": a.slug, "name": a.name, "homepage": a.homepage, "contact_name": a.contact.name,
             "contact_email": a.contact.email, "description": a.description}
            for a in declarations.agencies.values()]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in
                                ("slug", "name", "homepage", "contact_name", "contact_email", "description")]))


def dataset_rows(declarations: Declarations) -> pa.Table:
    rows = [_dataset_row(spec, declarations) for spec in declarations.datasets.values()]
    schema = pa.schema([
        *[(k, pa.string()) for k in (
            "id", "agency", "agency_name", "title", "description", "keywords_text", "theme", "theme_label",
            "licence", "licence_title", "licence_url", "frequency", "frequency_label", "contact_name",
            "contact_email", "temporal_start", "temporal_end", "spatial", "access", "access_label",
            "source_format", "origin_title", "origin_url", "columns_text", "schema", "privacy", "legal_basis")],
        ("keywords", pa.list_(pa.string())), ("licence_open", pa.bool_()), ("shared_with", pa.list_(pa.string())),
        ("approval", pa.bool_()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def _dataset_row(spec: DatasetSpec, declarations: Declarations) -> dict:
    agency = declarations.agencies[spec.agency]
    origin = spec.source.origin
    descriptions = " ".join(f"{f['name']} {f.get('title', '')} {f.get('description', '')}"
                            for f in spec.schema["fields"] if f["name"] in spec.published_names)
    return {
        "id": spec.id, "agency": spec.agency, "agency_name": agency.name, "title": spec.title,
        "description": spec.description, "keywords": list(spec.keywords), "keywords_text": " ".join(spec.keywords),
        "theme": spec.theme, "theme_label": THEMES[spec.theme][0], "licence": spec.licence.id,
        "licence_title": spec.licence.title, "licence_url": spec.licence.url, "licence_open": spec.licence.open,
        "frequency": spec.frequency, "frequency_label": FREQUENCIES[spec.frequency][0],
        "contact_name": spec.contact.name, "contact_email": spec.contact.email,
        "temporal_start": spec.temporal_start, "temporal_end": spec.temporal_end, "spatial": spec.spatial,
        "access": spec.access, "access_label": ACCESS_LEVELS[spec.access], "source_format": spec.source.format,
        "origin_title": origin.title if origin else None, "origin_url": origin.url if origin else None,
        "columns_text": descriptions.replace("_", " "),
        "schema": json.dumps(spec.published_schema()), "privacy": json.dumps(spec.privacy.as_dict()),
        "shared_with": list(spec.sharing.agencies) if spec.sharing else [],
        "legal_basis": spec.sharing.legal_basis if spec.sharing else None, "approval": spec.approval,
    }


def build(path: Path, declarations: Declarations, previous: Path | None, change=None) -> None:
    """Write a complete catalogue to ``path``: history copied from ``previous``, then ``change(con)``."""
    con = duckdb.connect(str(path))
    try:
        con.execute(HISTORY_DDL)
        if previous is not None and previous.exists():
            con.execute(f"ATTACH '{_sql_path(previous)}' AS previous (READ_ONLY)")
            con.execute("INSERT INTO releases BY NAME SELECT * FROM previous.releases")
            con.execute("INSERT INTO quarantines BY NAME SELECT * FROM previous.quarantines")
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' "
                           "AND table_name = 'confirmations'").fetchone()[0]:
                con.execute("INSERT INTO confirmations BY NAME SELECT * FROM previous.confirmations")
            con.execute("DETACH previous")
        if change is not None:
            change(con)
        con.execute(DERIVED_VIEWS)
        con.register("declared_agencies", agency_rows(declarations))
        con.register("declared", dataset_rows(declarations))
        con.execute("CREATE TABLE agencies AS SELECT * FROM declared_agencies ORDER BY slug")
        con.execute("""
            CREATE TABLE datasets AS
            SELECT d.*, r.release, r.rows, r.published_at, r.data_start, r.data_end,
                   CASE WHEN q.attempted_at IS NOT NULL AND (r.published_at IS NULL OR q.attempted_at > greatest(r.published_at, c.confirmed_at))
                        THEN 'quarantined' WHEN r.release IS NOT NULL THEN 'published' ELSE 'unpublished' END AS status,
                   CASE WHEN q.attempted_at IS NOT NULL AND (r.published_at IS NULL OR q.attempted_at > greatest(r.published_at, c.confirmed_at))
                        THEN q.reason END AS status_reason,
                   greatest(r.published_at, q.attempted_at) AS last_activity
            FROM declared d
            LEFT JOIN current_releases r ON r.dataset_id = d.id
            LEFT JOIN last_quarantines q ON q.dataset_id = d.id
            LEFT JOIN last_confirmations c ON c.dataset_id = d.id
            ORDER BY d.id""")
        con.execute("CREATE TABLE meta AS SELECT ? AS format_version, ? AS built_at",
                    [FORMAT_VERSION, dt.datetime.now(dt.timezone.utc)])
        load_fts(con)
        con.execute("PRAGMA create_fts_index('datasets', 'id', 'title', 'description', 'keywords_text', "
                    "'columns_text', 'agency_name', 'theme_label', stemmer = 'english', "
                    "strip_accents = 1, overwrite = 1)")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def open_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with the catalogue attached read-only as ``cat``."""
    con = duckdb.connect(config={"threads": 1})
    load_fts(con)
    con.execute(f"ATTACH '{_sql_path(path)}' AS cat (READ_ONLY)")
    con.execute("USE cat")
    return con


def file_version(path: Path) -> str:
    """Changes whenever a new catalogue is swapped in; empty when there is none yet."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return ""
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"
