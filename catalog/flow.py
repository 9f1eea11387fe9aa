"""The flow of one delivery, as plain steps: pull → validate → protect → guard → publish.

Each step reads what the previous one left in the run's staging folder
(``<home>/staging/<dataset>/<run id>/``) and writes its own result there, so Dagster can
run them as separate assets and checks, and ``publish_delivery`` can run them in a row
without Dagster. A step that rejects the delivery records a quarantine and raises
``Rejected``; nothing published changes.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import duckdb

from catalog import casting, privacy
from catalog.errors import CatalogError, SourceError
from catalog.references import release_lookups
from catalog.settings import HomeLayout
from catalog.sources import (Pulled, download_path, fetch_delivery, file_sha256, find_delivery, load_pulled,
                             pull)
from catalog.spec import Declarations, DatasetSpec
from catalog.store import Outcome, Store
from catalog.validate import ValidationReport, read_report, validate_pulled, write_report, write_steward_report

PROTECTED = "protected.parquet"
# Rows a row group of a release holds: the smallest unit DuckDB reads. Small enough that a look-up
# decodes a few thousand rows; large enough that a scan of the whole release costs little more.
RELEASE_ROW_GROUP_ROWS = 16_384
STALE_STAGING_SECONDS = 24 * 3600


class Rejected(CatalogError):
    """The delivery was quarantined; ``outcome`` says why."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(outcome.describe())


def staging_dir(home: Path, dataset_id: str, run_id: str) -> Path:
    return HomeLayout(Path(home)).staging_dir(dataset_id, run_id)


def steward_report_path(home: Path, dataset_id: str, run_id: str) -> Path:
    return HomeLayout(Path(home)).rejected / dataset_id / run_id / "validation.json"


def next_delivery(spec: DatasetSpec, store: Store) -> Path | None:
    """The delivery to process next, or None when everything delivered is already done.

    Deliveries after the last one attempted are processed in order; when there is none,
    the newest is processed again only if the rules that shape its data have changed.
    """
    deliveries = spec.source.deliveries(spec.folder)
    if not deliveries:
        return None
    history = store.history(spec.id)
    if not history:
        return deliveries[0]
    last = history[-1]
    checksums = [file_sha256(p) for p in deliveries]
    if last.source_sha256 not in checksums:
        return deliveries[-1]
    position = len(checksums) - 1 - checksums[::-1].index(last.source_sha256)
    if position + 1 < len(deliveries):
        return deliveries[position + 1]
    return deliveries[-1] if last.fingerprint != spec.fingerprint() else None


# --------------------------------------------------------------------------- steps


def step_pull(declarations: Declarations, spec: DatasetSpec, home: Path, run_id: str,
              delivery: str | None = None) -> Pulled:
    """Stage the named delivery (default: the next one due, else the newest).

    A url source is fetched first (a conditional request: an unchanged file is not downloaded
    again); a failed fetch is quarantined and keeps the last good copy as it was."""
    _sweep_stale_staging(home, spec.id, run_id)
    store = Store(home)
    dropped = HomeLayout(Path(home)).inbox / spec.agency / spec.id / "processing" / Path(delivery or ".").name
    if delivery and dropped.is_file():
        path = dropped          # a steward's drop or upload, whatever the declared source is
    elif spec.source.url is not None:
        try:
            fetch_delivery(spec, home)
        except SourceError as exc:
            outcome = store.quarantine(declarations, spec, delivery=download_path(spec, home).name, source_sha256="",
                                       stage="pull", reason=str(exc),
                                       report={"stage": "pull", "url": spec.source.url, "error": str(exc)})
            raise Rejected(outcome) from None
        path = find_delivery(spec, delivery, home)
    else:
        path = find_delivery(spec, delivery, home) if delivery else (next_delivery(spec, store) or find_delivery(spec))
    staging = staging_dir(home, spec.id, run_id)
    try:
        return pull(spec, path, staging)
    except SourceError as exc:
        outcome = store.quarantine(declarations, spec, delivery=path.name, source_sha256=file_sha256(path),
                                   stage="pull", reason=str(exc), report={"stage": "pull", "error": str(exc)})
        raise Rejected(outcome) from None


def step_validate(declarations: Declarations, spec: DatasetSpec, home: Path, run_id: str) -> ValidationReport:
    staging = staging_dir(home, spec.id, run_id)
    pulled = load_pulled(staging)
    report, full = validate_pulled(spec, pulled, lookups=release_lookups(declarations.datasets, spec, home))
    write_report(report, staging / "validation.json")
    if not report.valid:
        write_steward_report(report, full, steward_report_path(home, spec.id, run_id))
        outcome = Store(home).quarantine(declarations, spec, delivery=pulled.delivery,
                                         source_sha256=pulled.source_sha256, stage="validation",
                                         reason=report.summary(), report=report.to_json())
        raise Rejected(outcome)
    return report


def step_protect(spec: DatasetSpec, home: Path, run_id: str) -> privacy.PrivacyReport:
    """Type the validated cells, apply the privacy rules, write ``protected.parquet``."""
    staging = staging_dir(home, spec.id, run_id)
    pulled = load_pulled(staging)
    report_path = staging / "validation.json"
    if not report_path.exists() or not read_report(report_path).valid:
        raise CatalogError(f"{spec.id}: the delivery has not passed validation; nothing to protect")
    con = duckdb.connect()
    try:
        source = casting.read_text_csv(pulled.path, spec.field_names, pulled.delimiter)
        con.execute(f"CREATE TABLE typed AS {casting.typed_select(spec.schema, source)}")
        report = privacy.protect(con, spec, "typed", "protected", lambda: privacy.load_key(Path(home)), run_id)
        target = staging / PROTECTED
        con.execute(f"COPY ({release_rows(spec, 'protected')}) TO {casting.quote_literal(str(target))} "
                    f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {RELEASE_ROW_GROUP_ROWS})")
    finally:
        con.close()
    _write_json(staging / "privacy.json", report.to_json())
    return report


def release_rows(spec: DatasetSpec, table: str) -> str:
    """The SELECT a release is written from: its rows in primary-key order, where it has one, so
    a look-up by key or the first page in key order reads one small row group, not the file."""
    declared = spec.published_schema().get("primaryKey") or []
    key = [declared] if isinstance(declared, str) else list(declared)
    order = f" ORDER BY {', '.join(casting.quote_ident(name) for name in key)}" if key else ""
    return f"SELECT * FROM {table}{order}"


def step_guard(declarations: Declarations, spec: DatasetSpec, home: Path, run_id: str) -> privacy.PrivacyReport:
    """Scan the protected table; quarantine it if a column looks personal and nothing covers it, or if
    a rule could not be met (k-anonymity needing more suppression than declared)."""
    staging = staging_dir(home, spec.id, run_id)
    pulled = load_pulled(staging)
    report = privacy.PrivacyReport.from_json(json.loads((staging / "privacy.json").read_text()))
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW protected AS SELECT * FROM read_parquet("
                    f"{casting.quote_literal(str(staging / PROTECTED))})")
        report.findings = privacy.guard(con, spec, "protected")
    finally:
        con.close()
    _write_json(staging / "privacy.json", report.to_json())
    if not report.passed:
        outcome = Store(home).quarantine(declarations, spec, delivery=pulled.delivery,
                                         source_sha256=pulled.source_sha256, stage="privacy",
                                         reason=report.summary(), report=report.to_json())
        raise Rejected(outcome)
    return report


def step_publish(declarations: Declarations, spec: DatasetSpec, home: Path, run_id: str, note: str = "",
                 published_by: str = "") -> Outcome:
    staging = staging_dir(home, spec.id, run_id)
    try:
        return publish_prepared(declarations, spec, home, staging, note, published_by)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_prepared(declarations: Declarations, spec: DatasetSpec, home: Path, folder: Path, note: str = "",
                     published_by: str = "") -> Outcome:
    """Publish a folder the steps before ``step_publish`` filled (a staging folder, or a held release's).
    The folder is left in place; its owner removes it."""
    pulled = load_pulled(folder)
    report = json.loads((folder / "privacy.json").read_text())
    if not report.get("passed"):
        raise CatalogError(f"{spec.id}: the privacy guard has not passed; nothing to publish")
    return Store(home).publish(declarations, spec, folder / PROTECTED, delivery=pulled.delivery,
                               source_sha256=pulled.source_sha256,
                               validation=json.loads((folder / "validation.json").read_text()),
                               privacy=report, note=note, published_by=published_by)


def publish_delivery(declarations: Declarations, spec: DatasetSpec, home: Path, delivery: str | None = None,
                     note: str = "", published_by: str = "") -> Outcome:
    """Run every step for one delivery, without Dagster. Returns what happened."""
    run_id = uuid.uuid4().hex
    try:
        prepare_delivery(declarations, spec, home, run_id, delivery)
        return step_publish(declarations, spec, home, run_id, note, published_by)
    except Rejected as rejected:
        return rejected.outcome
    finally:
        shutil.rmtree(staging_dir(home, spec.id, run_id), ignore_errors=True)


def prepare_delivery(declarations: Declarations, spec: DatasetSpec, home: Path, run_id: str,
                     delivery: str | None = None) -> Path:
    """Run every step but the publish; return the staging folder, ready for ``publish_prepared``.
    Raises ``Rejected`` (after recording the quarantine) when a step rejects the delivery."""
    step_pull(declarations, spec, home, run_id, delivery)
    step_validate(declarations, spec, home, run_id)
    step_protect(spec, home, run_id)
    step_guard(declarations, spec, home, run_id)
    return staging_dir(home, spec.id, run_id)


def discard_staging(home: Path, dataset_id: str, run_id: str) -> None:
    shutil.rmtree(staging_dir(home, dataset_id, run_id), ignore_errors=True)


def _sweep_stale_staging(home: Path, dataset_id: str, run_id: str) -> None:
    """Remove staging folders that runs killed long ago left behind."""
    parent = HomeLayout(Path(home)).staging / dataset_id
    if not parent.is_dir():
        return
    cutoff = time.time() - STALE_STAGING_SECONDS
    for folder in parent.iterdir():
        if folder.name != run_id and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))
