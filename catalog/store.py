"""Publishing: releases written beside the old ones, made current in one atomic step.

Order of a publish, each step safe to be killed at any moment:

1. under the dataset's lock, write ``releases/<id>/<N>/`` into a temporary folder, fsync
   it and rename it into place (a leftover from a killed run is removed first);
2. under the catalogue lock, build a whole new catalogue file beside the current one and
   ``os.replace`` it over the old one. That rename is the commit: until it happens,
   release N is invisible and N-1 stays current; after it, N is current and complete.

Readers never take a lock: they open whichever catalogue file is there.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from catalog import audit, catalogue_db, feeds, metric_history
from catalog.diffs import release_diff, schema_fingerprint
from catalog.errors import CatalogError, StoreError
from catalog.files import exclusive_lock
from catalog.profile import profile_parquet
from catalog.settings import HomeLayout
from catalog.sources import file_sha256
from catalog.spec import Declarations, DatasetSpec


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery: published (with its release), unchanged, or quarantined."""

    dataset_id: str
    status: str
    release: int | None = None
    rows: int | None = None
    delivery: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.status == "published":
            return f"published release {self.release} ({self.rows} rows from {self.delivery})"
        if self.status == "unchanged":
            current = f"release {self.release} is current" if self.release else "nothing published yet"
            return f"unchanged ({current}; {self.reason})" if self.reason else f"unchanged ({current})"
        if self.status == "held":
            return f"held {self.delivery}: {self.reason}"
        return f"quarantined {self.delivery}: {self.reason}"


@dataclass(frozen=True)
class Attempt:
    delivery: str
    source_sha256: str
    fingerprint: str
    outcome: str
    release: int | None
    stage: str | None
    reason: str | None


class Store:
    """The published side of a govcat home."""

    def __init__(self, home: Path):
        self.layout = HomeLayout(Path(home))

    # ------------------------------------------------------------------ reading state

    def history(self, dataset_id: str) -> list[Attempt]:
        """Every release, quarantine and confirmation (an unchanged delivery that ended a quarantine)
        of a dataset, oldest first."""
        if not self.layout.catalogue.exists():
            return []
        con = catalogue_db.open_reader(self.layout.catalogue)
        try:
            parts = ["""SELECT published_at AS happened_at, delivery, source_sha256, fingerprint, 'published' AS outcome,
                               release, NULL AS stage, NULL AS reason FROM releases WHERE dataset_id = $1""",
                     """SELECT attempted_at, delivery, source_sha256, fingerprint, 'quarantined', NULL, stage, reason
                        FROM quarantines WHERE dataset_id = $1"""]
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'confirmations'").fetchone()[0]:
                parts.append("""SELECT confirmed_at, delivery, source_sha256, fingerprint, 'confirmed', NULL, NULL, NULL
                                FROM confirmations WHERE dataset_id = $1""")
            rows = con.execute(f"""
                SELECT delivery, source_sha256, fingerprint, outcome, release, stage, reason
                FROM ({" UNION ALL ".join(parts)}) ORDER BY happened_at""", [dataset_id]).fetchall()
        finally:
            con.close()
        return [Attempt(*row) for row in rows]

    def current_release(self, dataset_id: str) -> Attempt | None:
        published = [a for a in self.history(dataset_id) if a.outcome == "published"]
        return published[-1] if published else None

    # ------------------------------------------------------------------ writing

    def publish(self, declarations: Declarations, spec: DatasetSpec, data: Path, *, delivery: str,
                source_sha256: str, validation: dict, privacy: dict, note: str = "",
                published_by: str = "") -> Outcome:
        """Make ``data`` (a Parquet file) release N+1 of ``spec``, unless it changes nothing."""
        fingerprint = spec.fingerprint()
        with exclusive_lock(self.layout.releases / spec.id / ".lock"):
            history = self.history(spec.id)
            published = [a for a in history if a.outcome == "published"]
            current = published[-1] if published else None
            if current and (current.source_sha256, current.fingerprint) == (source_sha256, fingerprint):
                if history[-1].outcome == "quarantined":
                    # the source is good again and unchanged: the quarantine before it is over
                    record = {"dataset_id": spec.id, "confirmed_at": _now(), "delivery": delivery,
                              "source_sha256": source_sha256, "fingerprint": fingerprint}
                    self._commit(declarations, lambda con: _insert(con, "confirmations", record))
                else:
                    self.refresh(declarations)
                return Outcome(spec.id, "unchanged", release=current.release, delivery=delivery)
            number = current.release + 1 if current else 1
            folder = self.layout.release_dir(spec.id, number)
            schema = spec.published_schema()
            diff = self._diff(spec.id, current.release if current else None, data, schema)
            profile = _profile(data, schema, privacy)
            rows = self._write_release_folder(folder, data, {
                "dataset": spec.id, "release": number, "delivery": delivery, "source_sha256": source_sha256,
                "fingerprint": fingerprint, "schema_fingerprint": schema_fingerprint(schema), "schema": schema,
                "note": note, "published_by": published_by, "diff": diff, "profile": profile})
            start, end = _time_span(folder / "data.parquet", spec.published_schema())
            record = {
                "dataset_id": spec.id, "release": number, "published_at": _now(), "delivery": delivery,
                "source_sha256": source_sha256, "fingerprint": fingerprint,
                "data_sha256": file_sha256(folder / "data.parquet"), "rows": rows,
                "bytes": (folder / "data.parquet").stat().st_size, "columns": json.dumps(spec.published_names),
                "path": str(folder.relative_to(self.layout.root) / "data.parquet"), "note": note,
                "validation": json.dumps(validation), "privacy": json.dumps(privacy),
                "data_start": start, "data_end": end, "schema_fingerprint": schema_fingerprint(schema),
                "diff": json.dumps(diff), "breaking": diff["breaking"], "published_by": published_by,
                "profile": json.dumps(profile) if profile is not None else None,
            }
            self._commit(declarations, lambda con: _insert(con, "releases", record))
        audit.record(self.layout.root, actor=published_by or "pipeline", action="publish", target=spec.id,
                     checksum=record["data_sha256"], detail=f"release {number} from {delivery}")
        return Outcome(spec.id, "published", release=number, rows=rows, delivery=delivery)

    def quarantine(self, declarations: Declarations, spec: DatasetSpec, *, delivery: str, source_sha256: str,
                   stage: str, reason: str, report: dict, actor: str = "") -> Outcome:
        """Record that a delivery was rejected; what is published stays exactly as it was."""
        fingerprint = spec.fingerprint()
        history = self.history(spec.id)
        last = history[-1] if history else None
        repeat = last is not None and last.outcome == "quarantined" and (
            last.source_sha256, last.fingerprint, last.stage) == (source_sha256, fingerprint, stage)
        if not repeat:
            record = {"dataset_id": spec.id, "attempted_at": _now(), "delivery": delivery,
                      "source_sha256": source_sha256, "fingerprint": fingerprint, "stage": stage,
                      "reason": reason, "report": json.dumps(report)}
            self._commit(declarations, lambda con: _insert(con, "quarantines", record))
            audit.record(self.layout.root, actor=actor or "pipeline", action="quarantine", target=spec.id,
                         checksum=source_sha256, detail=f"{delivery} stopped at {stage}")
        return Outcome(spec.id, "quarantined", delivery=delivery, reason=reason)

    def refresh(self, declarations: Declarations) -> None:
        """Rewrite the catalogue's descriptive tables from the declarations; history is kept."""
        self._commit(declarations, None)

    def release_schema(self, dataset_id: str, release: int) -> dict | None:
        """The published schema a release was written with (from its own manifest)."""
        manifest = self.layout.release_dir(dataset_id, release) / "release.json"
        try:
            return json.loads(manifest.read_text())["schema"]
        except (FileNotFoundError, KeyError, json.JSONDecodeError):
            return None

    # ------------------------------------------------------------------ internals

    def _diff(self, dataset_id: str, previous: int | None, data: Path, schema: dict) -> dict:
        old = self.layout.release_dir(dataset_id, previous) / "data.parquet" if previous else None
        old_schema = self.release_schema(dataset_id, previous) if previous else None
        if old is not None and not old.is_file():
            old, old_schema = None, None
        return release_diff(old, data, old_schema, schema)

    def _write_release_folder(self, folder: Path, data: Path, manifest: dict) -> int:
        parent = folder.parent
        parent.mkdir(parents=True, exist_ok=True)
        for stale in parent.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if folder.exists():  # written by a run killed before its commit: never visible, safe to replace
            shutil.rmtree(folder)
        temporary = parent / f".tmp-{folder.name}-{os.getpid()}"
        temporary.mkdir()
        shutil.copyfile(data, temporary / "data.parquet")
        rows = pq.ParquetFile(temporary / "data.parquet").metadata.num_rows
        (temporary / "release.json").write_text(json.dumps({**manifest, "rows": rows}, indent=2, default=str))
        for name in ("data.parquet", "release.json"):
            _fsync(temporary / name)
        os.rename(temporary, folder)
        _fsync_dir(parent)
        return rows

    def _commit(self, declarations: Declarations, change) -> None:
        layout = self.layout
        layout.root.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(layout.catalogue_lock):
            for stale in layout.root.glob(f"{layout.catalogue.name}.tmp-*"):
                stale.unlink(missing_ok=True)
            temporary = layout.root / f"{layout.catalogue.name}.tmp-{os.getpid()}"
            try:
                catalogue_db.build(temporary, declarations, layout.catalogue, change)
                _fsync(temporary)
                os.replace(temporary, layout.catalogue)
                _fsync_dir(layout.root)
                self._write_feeds()
                self._record_measures(declarations)
            except duckdb.Error as exc:
                raise StoreError(f"could not write the catalogue: {exc}") from exc
            finally:
                temporary.unlink(missing_ok=True)
                Path(f"{temporary}.wal").unlink(missing_ok=True)

    def _write_feeds(self) -> None:
        """Refresh the Atom feeds beside the catalogue they describe. The release is already
        committed, so a failure here is reported, not raised."""
        try:
            feeds.write_feeds(self.layout.catalogue, self.layout.feeds,
                              base_url=os.environ.get("GOVCAT_BASE_URL", feeds.DEFAULT_BASE_URL))
        except (CatalogError, duckdb.Error, OSError) as exc:
            logging.getLogger("govcat").warning("the Atom feeds were not refreshed: %s", exc)


    def _record_measures(self, declarations: Declarations) -> None:
        """Add the transparency measures after this change to their history (``catalog.metric_history``).
        The change is already committed, so any failure here is reported, never raised."""
        try:
            metric_history.take(self.layout.root, declarations, trigger="publish")
        except Exception as exc:  # noqa: BLE001 - a measure must never undo or fail a committed publish
            logging.getLogger("govcat").warning("the transparency measures were not recorded: %s: %s",
                                                type(exc).__name__, exc)


def _insert(con: duckdb.DuckDBPyConnection, table: str, record: dict) -> None:
    names = ", ".join(record)
    marks = ", ".join("?" for _ in record)
    con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(record.values()))


def _profile(data: Path, schema: dict, privacy: dict) -> dict | None:
    """The column profile of the rows being published. A release is not held back for want of
    one: the dataset page computes a missing profile when it is first asked for."""
    try:
        return profile_parquet(data, schema, privacy)
    except (duckdb.Error, ValueError, OverflowError) as exc:
        logging.getLogger("govcat").warning("no column profile was stored for this release: %s", exc)
        return None


def _time_span(parquet: Path, schema: dict) -> tuple[str | None, str | None]:
    """First and last day (or year) the data itself covers, from its first date-like column."""
    field = next((f for f in schema["fields"] if f.get("type") in ("date", "datetime", "year")), None)
    if field is None:
        return None, None
    column = '"' + field["name"].replace('"', '""') + '"'
    con = duckdb.connect()
    try:
        low, high = con.execute(f"SELECT min({column}), max({column}) FROM read_parquet(?)", [str(parquet)]).fetchone()
    finally:
        con.close()
    return _day(low), _day(high)


def _day(value) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
