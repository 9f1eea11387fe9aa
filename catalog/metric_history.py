"""The history of the transparency measures: what they were at each publish and at least once a day.

Snapshots are appended to ``<home>/metrics/snapshots.jsonl``, one JSON object a line, and never
rewritten: ``{"version", "at", "trigger", "window_days", "grace_days", "answer_days", "weights",
"agencies": [one object per agency, as in catalog.metrics.agency_rows]}``. ``trigger`` says what
took it: ``publish`` (any change to the catalogue: a release, a quarantine, a refresh), ``daily``
(the Dagster schedule) or ``manual`` (``govcat metrics --snapshot``). A ``publish`` snapshot equal
to the last one of the same UTC day is not written, so a refresh that changes nothing adds
nothing; daily and manual snapshots are always written.

The file is appended to under its lock with one write per line, fsynced; it is not rewritten
with an atomic replace, which would cost the whole history at every publish. A line left torn
by a crash is ended before the next one is written, and readers skip it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from catalog import metrics
from catalog.files import append_line, exclusive_lock

SNAPSHOT_VERSION = 1
TRIGGERS = ("publish", "daily", "manual")


def snapshots_path(home: Path) -> Path:
    return Path(home) / "metrics" / "snapshots.jsonl"


def take(home: Path, declarations=None, *, trigger: str, at: dt.datetime | None = None) -> dict | None:
    """Measure now (or at ``at``) and append the snapshot; None when a publish changed nothing measured today."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown snapshot trigger {trigger!r}")
    at = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    found = metrics.report(metrics.evidence(home, declarations), at)
    snapshot = {"version": SNAPSHOT_VERSION, "at": found["at"], "trigger": trigger,
                **{key: found[key] for key in ("window_days", "grace_days", "answer_days", "weights", "agencies")}}
    path = snapshots_path(home)
    with exclusive_lock(path.with_name(".lock")):
        last = _last(path)
        if trigger == "publish" and last is not None and _same_day(last, snapshot) \
                and _measures(last) == _measures(snapshot):
            return None
        append_line(path, snapshot, mode=0o644)
    return snapshot


def history(home: Path) -> list[dict]:
    """Every snapshot, oldest first; a damaged line is skipped."""
    path = snapshots_path(home)
    if not path.exists():
        return []
    found = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            snapshot = _parse(line)
            if snapshot is not None:
                found.append(snapshot)
    return sorted(found, key=lambda s: s["at"])


def trend(snapshots: list[dict], measure: str, agency: str | None = None) -> list[dict]:
    """One row per snapshot and agency: when, the agency, the measure's value, numerator and denominator."""
    rows = []
    for snapshot in snapshots:
        for row in snapshot.get("agencies", []):
            if agency is not None and row.get("agency") != agency:
                continue
            rows.append({"at": snapshot["at"], "trigger": snapshot.get("trigger"), "agency": row.get("agency"),
                         "agency_name": row.get("agency_name"), "value": row.get(measure),
                         "numerator": row.get(f"{measure}_numerator"),
                         "denominator": row.get(f"{measure}_denominator")})
    return rows


def _measures(snapshot: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "at"} for row in snapshot.get("agencies", [])]


def _same_day(one: dict, other: dict) -> bool:
    return one["at"][:10] == other["at"][:10]


def _parse(line: str) -> dict | None:
    try:
        snapshot = json.loads(line)
    except ValueError:
        return None
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("at"), str) \
            or not isinstance(snapshot.get("agencies"), list):
        return None
    try:
        dt.datetime.fromisoformat(snapshot["at"])
    except ValueError:
        return None
    return snapshot


def _last(path: Path) -> dict | None:
    """The last whole snapshot, read from the end of the file."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        block, tail = 65536, b""
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            tail = handle.read(end - start) + tail
            end = start
            lines = tail.split(b"\n")
            for line in reversed(lines[1:] if end > 0 else lines):
                snapshot = _parse(line.decode("utf-8", errors="replace")) if line.strip() else None
                if snapshot is not None:
                    return snapshot
            tail = lines[0] if end > 0 else b""
    return None


