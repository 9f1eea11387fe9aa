"""Releases held before going live: awaiting a second steward's approval, or embargoed until a set time.

A held release has passed validation and the privacy guard. Its prepared folder is moved out of
staging (which is swept after a day) into ``<home>/pending/<dataset>/<run id>/``, beside a
``pending.json`` saying who uploaded it, why it is held and who approved it. Nothing about it is
in the catalogue, so no reader can see it, until it is published; a rejected one is removed.

Who may do what:
    approve  a steward of the dataset's agency marked ``approver``, never the one who uploaded it
    reject   an approver of the agency, or the uploader withdrawing their own upload
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator

from catalog import audit, flow, inbox
from catalog.accounts import Steward
from catalog.errors import CatalogError
from catalog.files import exclusive_lock, write_atomically
from catalog.settings import HomeLayout
from catalog.spec import SLUG, Declarations, DatasetSpec
from catalog.store import Outcome, Store

RECORD = "pending.json"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class PendingError(CatalogError):
    """A held release could not be found, approved, rejected or published."""


@dataclass(frozen=True)
class Held:
    """A release prepared but not published, and why it waits."""

    dataset: str
    agency: str
    run_id: str
    delivery: str
    uploaded_by: str
    note: str
    embargo_until: dt.datetime | None
    needs_approval: bool
    approved_by: str | None
    received_at: dt.datetime
    fingerprint: str
    folder: Path

    @property
    def awaiting_approval(self) -> bool:
        return self.needs_approval and not self.approved_by

    def embargoed(self, now: dt.datetime | None = None) -> bool:
        return self.embargo_until is not None and (now or _now()) < self.embargo_until

    def due(self, now: dt.datetime | None = None) -> bool:
        """Ready to publish: approved if it had to be, and past its embargo if it has one."""
        return not self.awaiting_approval and not self.embargoed(now)

    def describe(self, now: dt.datetime | None = None) -> str:
        waits = []
        if self.awaiting_approval:
            waits.append("awaiting approval by a second steward")
        if self.embargoed(now):
            waits.append(f"embargoed until {self.embargo_until:%d %b %Y, %H:%M} UTC")
        return f"held: {' and '.join(waits) or 'due to be published'}"


def submit(declarations: Declarations, spec: DatasetSpec, home: Path, delivery: str, *, note: str,
           uploaded_by: str, embargo_until: dt.datetime | None = None,
           now: dt.datetime | None = None) -> Outcome | Held:
    """Run a delivery through every check; publish it at once when the dataset needs no approval and
    no embargo is set, otherwise hold it. A rejected delivery comes back as its quarantine ``Outcome``."""
    now = now or _now()
    embargo_until = check_embargo(embargo_until, now)
    if not spec.approval and embargo_until is None:
        return flow.publish_delivery(declarations, spec, home, delivery=delivery, note=note,
                                     published_by=uploaded_by)
    run_id = uuid.uuid4().hex
    try:
        staging = flow.prepare_delivery(declarations, spec, home, run_id, delivery)
        return hold_prepared(spec, home, staging, note=note, uploaded_by=uploaded_by, embargo_until=embargo_until,
                             now=now)
    except flow.Rejected as rejected:
        return rejected.outcome
    finally:
        flow.discard_staging(home, spec.id, run_id)  # nothing left once the folder has moved


def hold_prepared(spec: DatasetSpec, home: Path, staging: Path, *, note: str, uploaded_by: str,
                  embargo_until: dt.datetime | None = None, now: dt.datetime | None = None) -> Outcome | Held:
    """Hold a delivery that has passed every check (a run's staging folder), instead of publishing it."""
    now = now or _now()
    run_id = staging.name
    folder = HomeLayout(Path(home)).pending / spec.id / run_id
    current = Store(home).current_release(spec.id)
    pulled = json.loads((staging / "pulled.json").read_text())
    if current and (current.source_sha256, current.fingerprint) == (pulled["source_sha256"], spec.fingerprint()):
        return Outcome(spec.id, "unchanged", release=current.release, delivery=pulled["delivery"],
                       reason="the same file is already the current release")
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, folder)
    held_release = Held(dataset=spec.id, agency=spec.agency, run_id=run_id,
                        delivery=json.loads((folder / "pulled.json").read_text())["delivery"],
                        uploaded_by=uploaded_by, note=note, embargo_until=embargo_until,
                        needs_approval=spec.approval, approved_by=None, received_at=now,
                        fingerprint=spec.fingerprint(), folder=folder)
    _write(held_release)
    return held_release


def check_embargo(embargo_until: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The embargo time in UTC; refuses one without a time zone or already past."""
    if embargo_until is None:
        return None
    if embargo_until.tzinfo is None:
        raise PendingError("an embargo time needs a time zone (give it in UTC)")
    embargo_until = embargo_until.astimezone(dt.timezone.utc)
    if embargo_until <= (now or _now()):
        raise PendingError(f"the embargo time {embargo_until:%d %b %Y, %H:%M} UTC has already passed")
    return embargo_until


def held(home: Path, dataset_id: str | None = None) -> list[Held]:
    """Every held release (of one dataset, if named), oldest first."""
    root = HomeLayout(Path(home)).pending
    if dataset_id is not None and not SLUG.match(dataset_id):
        raise PendingError(f"{dataset_id!r} is not a dataset id")
    pattern = f"{dataset_id}/*/{RECORD}" if dataset_id else f"*/*/{RECORD}"
    found = [_read(path.parent) for path in root.glob(pattern)] if root.is_dir() else []
    return sorted(found, key=lambda h: (h.received_at, h.dataset, h.run_id))


def approve(declarations: Declarations, home: Path, dataset_id: str, run_id: str, approver: Steward, *,
            now: dt.datetime | None = None) -> Outcome | Held:
    """Approve a held release; it is published at once unless it is still embargoed."""
    with _locked(home, dataset_id):
        release = _find(home, dataset_id, run_id)
        if approver.agency != release.agency:
            raise PendingError(f"{approver.user} is a steward of {approver.agency}, not of {release.agency}, "
                               f"and cannot approve its releases")
        if not approver.approver:
            raise PendingError(f"{approver.user} may not approve releases (ask an approver of {release.agency})")
        if approver.user == release.uploaded_by:
            raise PendingError("a release must be approved by a second steward, not by the one who uploaded it")
        if not release.awaiting_approval:
            reason = f"was already approved by {release.approved_by}" if release.approved_by else "needs no approval"
            raise PendingError(f"this release of {dataset_id} {reason}")
        _publishable_spec(declarations, release)
        audit.record(home, actor=approver.user, action="approve", target=dataset_id, checksum=_checksum(release),
                     detail=f"{release.delivery} (run {run_id})")
        release = replace(release, approved_by=approver.user)
        _write(release)
        if release.embargoed(now):
            return release
        return _publish(declarations, home, release)


def reject(home: Path, dataset_id: str, run_id: str, steward: Steward, reason: str) -> None:
    """Refuse a held release (or withdraw one's own upload); it is removed and never published."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise PendingError("say why the release is rejected")
    with _locked(home, dataset_id):
        release = _find(home, dataset_id, run_id)
        if steward.agency != release.agency:
            raise PendingError(f"{steward.user} is a steward of {steward.agency}, not of {release.agency}, "
                               f"and cannot reject its releases")
        if not steward.approver and steward.user != release.uploaded_by:
            raise PendingError(f"{steward.user} may not reject releases (ask an approver of {release.agency})")
        audit.record(home, actor=steward.user, action="reject", target=dataset_id, checksum=_checksum(release),
                     detail=f"{release.delivery}: {reason}")
        _file_claimed(home, release, inbox.QUARANTINED)
        shutil.rmtree(release.folder, ignore_errors=True)


def release_due(declarations: Declarations, home: Path, now: dt.datetime | None = None) -> list[Outcome]:
    """Publish every held release that is approved (or needs no approval) and past its embargo.
    One whose dataset is no longer declared, or whose declaration changed since, is left held."""
    now = now or _now()
    outcomes = []
    for candidate in held(home):
        spec = declarations.datasets.get(candidate.dataset)
        if not candidate.due(now) or spec is None or spec.fingerprint() != candidate.fingerprint:
            continue
        with _locked(home, candidate.dataset):
            if not (candidate.folder / RECORD).is_file():
                continue  # published or rejected meanwhile
            outcomes.append(_publish(declarations, home, _read(candidate.folder)))
    return outcomes


# ---------------------------------------------------------------------- internals


def _publishable_spec(declarations: Declarations, release: Held) -> DatasetSpec:
    """The dataset's declaration, if it is still the one the release was prepared under."""
    spec = declarations.datasets.get(release.dataset)
    if spec is None:
        raise PendingError(f"{release.dataset} is no longer declared; reject this release")
    if spec.fingerprint() != release.fingerprint:
        raise PendingError(f"the declaration of {release.dataset} changed after this release was prepared; "
                           f"reject it and upload the file again")
    return spec


def _publish(declarations: Declarations, home: Path, release: Held) -> Outcome:
    spec = _publishable_spec(declarations, release)
    outcome = flow.publish_prepared(declarations, spec, home, release.folder, note=release.note,
                                    published_by=release.uploaded_by)
    shutil.rmtree(release.folder, ignore_errors=True)
    inbox.file_processed(spec, home)
    return outcome


def _find(home: Path, dataset_id: str, run_id: str) -> Held:
    folder = HomeLayout(Path(home)).pending / dataset_id / run_id
    if not RUN_ID.match(run_id or "") or not (folder / RECORD).is_file():
        raise PendingError(f"there is no held release {run_id!r} of {dataset_id!r} (it may have been "
                           f"published or rejected already)")
    return _read(folder)


def _read(folder: Path) -> Held:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        embargo = data["embargo_until"]
        return Held(dataset=data["dataset"], agency=data["agency"], run_id=data["run_id"],
                    delivery=data["delivery"], uploaded_by=data["uploaded_by"], note=data["note"],
                    embargo_until=dt.datetime.fromisoformat(embargo) if embargo else None,
                    needs_approval=bool(data["needs_approval"]), approved_by=data["approved_by"],
                    received_at=dt.datetime.fromisoformat(data["received_at"]),
                    fingerprint=data["fingerprint"], folder=folder)
    except (OSError, ValueError, KeyError, TypeError):
        raise PendingError(f"the held release {folder.parent.name}/{folder.name} is damaged; "
                           f"remove its folder under pending/ and upload the file again") from None


def _write(release: Held) -> None:
    """Rewrite ``pending.json`` in one step, so a reader never sees half of it."""
    data = {k: v for k, v in asdict(release).items() if k != "folder"}
    data["embargo_until"] = release.embargo_until.isoformat() if release.embargo_until else None
    data["received_at"] = release.received_at.isoformat()
    write_atomically(release.folder / RECORD, json.dumps(data, indent=2))


def _checksum(release: Held) -> str:
    try:
        return json.loads((release.folder / "pulled.json").read_text())["source_sha256"]
    except (OSError, ValueError, KeyError):
        return ""


def _file_claimed(home: Path, release: Held, place: str) -> None:
    """Move the uploaded file of a release that will never be published out of the inbox's processing/."""
    processing = HomeLayout(Path(home)).inbox / release.agency / release.dataset / inbox.PROCESSING
    claimed = processing / release.delivery
    if claimed.is_file():
        (processing.parent / place).mkdir(exist_ok=True)
        os.replace(claimed, processing.parent / place / claimed.name)


@contextmanager
def _locked(home: Path, dataset_id: str) -> Iterator[None]:
    """One approval, rejection or release of a dataset's held releases at a time."""
    if not SLUG.match(dataset_id or ""):
        raise PendingError(f"{dataset_id!r} is not a dataset id")
    with exclusive_lock(HomeLayout(Path(home)).pending / dataset_id / ".lock"):
        yield


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
