"""Drop folders: a steward puts a file into ``<home>/inbox/<agency>/<dataset>/``; it is processed once.

A file is *claimed* before its run starts: renamed into ``processing/`` under a name that starts
with its checksum, so a second look at the folder never processes it twice and the run reads a
file nobody is still writing. Once the store has an outcome for that checksum, the file is
*filed* into ``published/`` or ``quarantined/``. The same file dropped twice is processed twice
and filed twice, but makes one release: the store publishes nothing for a delivery whose
checksum is the current release's.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from catalog.errors import SourceError
from catalog.settings import HomeLayout
from catalog.sources import file_sha256
from catalog.spec import DatasetSpec
from catalog.store import Store

PROCESSING, PUBLISHED, QUARANTINED = "processing", "published", "quarantined"
SETTLE_SECONDS = 2.0          # a file changed more recently may still be being copied in
MAX_NAME = 120
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def drop_folder(spec: DatasetSpec, home: Path) -> Path:
    return HomeLayout(Path(home)).inbox / spec.agency / spec.id


def waiting(spec: DatasetSpec, home: Path, now: float | None = None) -> list[Path]:
    """Files dropped and settled, oldest first (hidden and partial files are left alone)."""
    folder = drop_folder(spec, home)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    found = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~"))
             and not p.name.endswith((".part", ".tmp", ".crdownload")) and now - p.stat().st_mtime >= SETTLE_SECONDS]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def claim(spec: DatasetSpec, home: Path, path: Path) -> Path:
    """Move a dropped file into ``processing/`` as ``<sha256 prefix>-<name>``; return its new path."""
    processing = drop_folder(spec, home) / PROCESSING
    processing.mkdir(parents=True, exist_ok=True)
    target = processing / f"{file_sha256(path)[:16]}-{safe_name(path.name)}"
    os.replace(path, target)
    return target


def receive(spec: DatasetSpec, home: Path, name: str, content: bytes) -> Path:
    """An uploaded file, written whole and claimed at once (the explorer's steward page uses this)."""
    if not content:
        raise SourceError("the uploaded file is empty")
    processing = drop_folder(spec, home) / PROCESSING
    processing.mkdir(parents=True, exist_ok=True)
    partial = processing / f".upload-{os.getpid()}-{time.time_ns()}.part"
    partial.write_bytes(content)
    target = processing / f"{file_sha256(partial)[:16]}-{safe_name(name)}"
    os.replace(partial, target)
    return target


def claimed(spec: DatasetSpec, home: Path) -> list[Path]:
    folder = drop_folder(spec, home) / PROCESSING
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []


def file_processed(spec: DatasetSpec, home: Path) -> dict[str, str]:
    """File every claimed delivery the store has an outcome for; return {file name: where it went}."""
    history = Store(home).history(spec.id)
    published = {a.source_sha256 for a in history if a.outcome == "published"}
    quarantined = {a.source_sha256 for a in history if a.outcome == "quarantined"}
    filed = {}
    for path in claimed(spec, home):
        checksum = file_sha256(path)
        place = PUBLISHED if checksum in published else QUARANTINED if checksum in quarantined else None
        if place is None:
            continue
        target = path.parent.parent / place
        target.mkdir(exist_ok=True)
        os.replace(path, target / path.name)
        filed[path.name] = place
    return filed


def safe_name(name: str) -> str:
    """A file name with nothing that could climb out of the folder or confuse a shell."""
    stem = SAFE_NAME.sub("_", Path(str(name)).name).strip("._") or "delivery"
    return stem[-MAX_NAME:]
