"""The audit log: one JSON line per publish, quarantine, upload, approval, sign-in, read of
restricted data and answer to the public's feedback, in ``<home>/audit/audit.log``.

The log is append-only. Each line carries ``chain``, the SHA-256 of the previous line's
chain followed by this line's content, so editing, deleting or reordering an earlier
line breaks every chain after it and ``verify`` names the first broken line. (Cutting
lines off the end leaves a shorter, still consistent chain: keep copies elsewhere if
that matters.) Writers append under an exclusive ``flock`` and fsync each line, so
concurrent processes never interleave or lose an entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from catalog.errors import CatalogError
from catalog.settings import HomeLayout

ACTIONS = ("publish", "quarantine", "upload", "approve", "reject", "sign-in", "failed-sign-in", "sign-out",
           "read-restricted", "answer-feedback", "withhold-feedback")
CONTENT_FIELDS = ("time", "actor", "action", "target", "checksum", "detail")
CSV_FIELDS = (*CONTENT_FIELDS, "chain")
GENESIS = "0" * 64

# A detail is free text; refuse the shapes a password or its hash takes when pasted in.
_PASSWORD_LIKE = re.compile(r"(?i)\b(password|passwd|passphrase|pwd)\s*[:=]|scrypt\$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TAIL_BLOCK = 4096


class AuditError(CatalogError):
    """An audit entry was refused, or the audit log cannot be read."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    time: dt.datetime
    actor: str
    action: str
    target: str
    checksum: str
    detail: str
    chain: str

    def as_row(self) -> dict[str, str]:
        return {"time": self.time.isoformat(), "actor": self.actor, "action": self.action, "target": self.target,
                "checksum": self.checksum, "detail": self.detail, "chain": self.chain}


def record(home: Path | str, *, actor: str, action: str, target: str = "", checksum: str = "",
           detail: str = "") -> AuditEntry:
    """Append one entry to the audit log and return it once it is on disk."""
    _check_action(action)
    if not isinstance(actor, str) or not actor.strip():
        raise AuditError("an audit entry needs an actor (who did it)")
    if _PASSWORD_LIKE.search(detail):
        raise AuditError("an audit entry's detail must not hold a password or a password hash")
    path = HomeLayout(Path(home)).audit_log
    created = not path.exists()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        content = {"time": _now().isoformat(), "actor": actor, "action": action, "target": target,
                   "checksum": checksum, "detail": detail}
        chain = _link(_last_chain(descriptor, path), content)
        line = json.dumps({**content, "chain": chain}, ensure_ascii=False, separators=(",", ":")) + "\n"
        _write_all(descriptor, line.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)  # also releases the lock
    if created:
        _fsync_dir(path.parent)
    return _entry({**content, "chain": chain})


def entries(home: Path | str, *, since: dt.datetime | str | None = None, action: str | None = None,
            actor: str | None = None) -> list[AuditEntry]:
    """The log's entries, oldest first, optionally only those at or after ``since``, of one
    action, or by one actor. A naive ``since`` is taken as UTC."""
    if action is not None:
        _check_action(action)
    start = _as_time(since) if since is not None else None
    found = []
    for number, line in _lines(home):
        fields = _parse(line)
        if fields is None:
            raise AuditError(f"line {number} of the audit log is damaged; run `govcat audit verify`")
        entry = _entry(fields)
        if (start is None or entry.time >= start) and action in (None, entry.action) and actor in (None, entry.actor):
            found.append(entry)
    return found


def verify(home: Path | str) -> int | None:
    """None when every line is intact and chained to the one before; else the number
    (from 1) of the first line that was edited, inserted, moved or follows a deleted one."""
    previous = GENESIS
    for number, line in _lines(home):
        fields = _parse(line) if line.endswith("\n") else None
        if fields is None:
            return number
        expected = _link(previous, {name: fields[name] for name in CONTENT_FIELDS})
        if not hmac.compare_digest(expected.encode(), fields["chain"].encode()):
            return number
        previous = fields["chain"]
    return None


def to_csv(rows: Iterable[AuditEntry]) -> str:
    """The entries as CSV with a header; a cell a spreadsheet would run as a formula is
    prefixed with a single quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for entry in rows:
        values = entry.as_row()
        writer.writerow([_inert(values[name]) for name in CSV_FIELDS])
    return buffer.getvalue()


# ---------------------------------------------------------------------- internals


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}; use one of: {', '.join(ACTIONS)}")


def _link(previous: str, content: dict[str, str]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()


def _parse(line: str) -> dict[str, str] | None:
    """The fields of one line, or None when it is not a well-formed entry."""
    try:
        fields = json.loads(line)
    except ValueError:
        return None
    if not isinstance(fields, dict) or set(fields) != set(CSV_FIELDS):
        return None
    if not all(isinstance(value, str) for value in fields.values()) or fields["action"] not in ACTIONS:
        return None
    try:
        _as_time(fields["time"])
    except AuditError:
        return None
    return fields


def _entry(fields: dict[str, str]) -> AuditEntry:
    return AuditEntry(time=_as_time(fields["time"]), **{name: fields[name] for name in CSV_FIELDS if name != "time"})


def _lines(home: Path | str) -> Iterator[tuple[int, str]]:
    path = HomeLayout(Path(home)).audit_log
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace", newline="\n") as handle:
        yield from enumerate(handle, start=1)


def _last_chain(descriptor: int, path: Path) -> str:
    """The chain of the log's last line, read backwards from the end (the log may be large)."""
    size = os.fstat(descriptor).st_size
    if size == 0:
        return GENESIS
    block = _TAIL_BLOCK
    while True:
        start = max(0, size - block)
        tail = os.pread(descriptor, size - start, start)
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0 or start == 0:
            break
        block *= 2
    fields = _parse(tail[cut + 1:].decode("utf-8", errors="replace")) if tail.endswith(b"\n") else None
    if fields is None:
        raise AuditError(f"the last line of {path} is damaged, so nothing can be chained to it; "
                         f"run `govcat audit verify`")
    return fields["chain"]


def _as_time(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise AuditError(f"{value!r} is not an ISO date or time (e.g. 2025-01-31 or 2025-01-31T08:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
