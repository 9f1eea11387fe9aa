"""What the steward page does, as plain functions the page calls (and tests call without a browser).

Every function takes the signed-in ``Steward`` and refuses anything outside their agency: a
steward uploads only to their own agency's datasets, reads only restricted datasets shared with
it, and sees only the audit entries about its datasets or their own actions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd

from catalog import audit, browse, catalogue_db, downloads, inbox, pending
from catalog.accounts import Steward
from catalog.audit import AuditEntry
from catalog.errors import CatalogError
from catalog.pending import Held
from catalog.query import Sandbox
from catalog.settings import HomeLayout
from catalog.spec import EXTENSIONS, Declarations, DatasetSpec
from catalog.store import Outcome

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
UPLOAD_TYPES = ("csv", "tsv", "xlsx", "json", "xml")
PREVIEW_ROWS = 20


class StewardError(CatalogError):
    """A steward asked for something the page refuses (another agency's data, an oversized file)."""


def own_datasets(declarations: Declarations, steward: Steward) -> list[DatasetSpec]:
    """The datasets the steward's agency declares, by id: the only ones they may upload to."""
    return sorted((s for s in declarations.datasets.values() if s.agency == steward.agency), key=lambda s: s.id)


def dataset_status(home: Path, declarations: Declarations, steward: Steward) -> pd.DataFrame:
    """The agency's datasets with their status, current release and rows, and how many releases are held."""
    catalogued = {}
    catalogue = HomeLayout(Path(home)).catalogue
    if catalogue.exists():
        con = catalogue_db.open_reader(catalogue)
        try:
            catalogued = {row["id"]: row for _, row in browse.list_datasets(con).iterrows()}
        finally:
            con.close()
    rows = []
    for spec in own_datasets(declarations, steward):
        known = catalogued.get(spec.id)
        release = known["release"] if known is not None and pd.notna(known["release"]) else None
        rows.append({"dataset": spec.id, "title": spec.title, "access": spec.access,
                     "status": known["status"] if known is not None else "unpublished",
                     "release": int(release) if release is not None else None,
                     "rows": int(known["rows"]) if release is not None else None,
                     "held": len(pending.held(home, spec.id))})
    return pd.DataFrame(rows, columns=["dataset", "title", "access", "status", "release", "rows", "held"])


def upload(declarations: Declarations, home: Path, steward: Steward, dataset_id: str, file_name: str,
           content: bytes, note: str, embargo_until: dt.datetime | None = None) -> Outcome | Held:
    """Receive an upload into the dataset's drop folder, log it, and publish, hold or quarantine it."""
    spec = declarations.datasets.get(dataset_id)
    if spec is None or spec.agency != steward.agency:
        raise StewardError(f"{steward.user} may upload only to datasets of {steward.agency}")
    if len(content) > MAX_UPLOAD_BYTES:
        raise StewardError(f"the file is {len(content) / 1024 ** 2:,.0f} MB; "
                           f"uploads are limited to {MAX_UPLOAD_BYTES // 1024 ** 2} MB")
    suffix = Path(file_name or "").suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise StewardError(f"upload a {', '.join(UPLOAD_TYPES)} file (not {suffix or 'a file without an extension'})")
    expected = spec.source.format if spec.source else None
    if expected and EXTENSIONS.get(f".{suffix}") != expected:
        raise StewardError(f"{spec.title} is delivered as {expected.upper()} files; "
                           f"this file is .{suffix}: choose the right dataset, or export the file as {expected.upper()}")
    note = " ".join((note or "").split())
    if not note:
        raise StewardError("write a release note saying what this release changes")
    embargo_until = pending.check_embargo(embargo_until)
    received = inbox.receive(spec, home, file_name, content)
    audit.record(home, actor=steward.user, action="upload", target=spec.id,
                 checksum=hashlib.sha256(content).hexdigest(), detail=Path(file_name).name)
    try:
        return pending.submit(declarations, spec, home, received.name, note=note, uploaded_by=steward.user,
                              embargo_until=embargo_until)
    finally:
        inbox.file_processed(spec, home)


def awaiting(home: Path, steward: Steward) -> list[Held]:
    """The agency's held releases, oldest first."""
    return [h for h in pending.held(home) if h.agency == steward.agency]


def quarantine_report(home: Path, dataset_id: str) -> dict | None:
    """The public report of the dataset's latest quarantine (groups and messages, never the values)."""
    catalogue = HomeLayout(Path(home)).catalogue
    if not catalogue.exists():
        return None
    con = catalogue_db.open_reader(catalogue)
    try:
        latest = browse.quarantines(con, dataset_id)
    finally:
        con.close()
    return json.loads(latest.iloc[0]["report"]) if not latest.empty else None


def shared_restricted(home: Path, declarations: Declarations, steward: Steward) -> list[DatasetSpec]:
    """Published restricted datasets the steward's agency may read under a sharing agreement."""
    sandbox = Sandbox(Path(home), agency=steward.agency)
    try:
        names = sandbox.restricted
    finally:
        sandbox.close()
    return [declarations.datasets[name] for name in names if name in declarations.datasets]


def read_restricted(home: Path, steward: Steward, dataset_id: str, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows of a restricted dataset shared with the steward's agency; the read is logged."""
    sandbox = _restricted_sandbox(home, steward, dataset_id)
    try:
        audit.record(home, actor=steward.user, action="read-restricted", target=dataset_id, detail="preview")
        quoted = '"' + dataset_id.replace('"', '""') + '"'
        return sandbox.query(f"SELECT * FROM {quoted} LIMIT {int(rows)}", row_limit=rows).to_pandas()
    finally:
        sandbox.close()


def restricted_csv(home: Path, steward: Steward, dataset_id: str) -> bytes:
    """The whole current release of a shared restricted dataset as CSV; the download is logged."""
    sandbox = _restricted_sandbox(home, steward, dataset_id)
    try:
        parquet = Path(sandbox.tables[dataset_id])
    finally:
        sandbox.close()
    audit.record(home, actor=steward.user, action="read-restricted", target=dataset_id, detail="download")
    return downloads.csv_bytes(parquet)


def audit_trail(home: Path, declarations: Declarations, steward: Steward) -> list[AuditEntry]:
    """Audit entries about the agency's datasets, and everything the steward did, newest first."""
    own = {spec.id for spec in own_datasets(declarations, steward)}
    found = [e for e in audit.entries(home) if e.target in own or e.actor == steward.user]
    return found[::-1]


def _restricted_sandbox(home: Path, steward: Steward, dataset_id: str) -> Sandbox:
    sandbox = Sandbox(Path(home), agency=steward.agency)
    if dataset_id not in sandbox.restricted:
        sandbox.close()
        raise StewardError(f"{dataset_id!r} is not a restricted dataset shared with {steward.agency}")
    return sandbox
