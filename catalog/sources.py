"""The pull step: find a dataset's deliveries and stage one of them as UTF-8 CSV.

A *delivery* is one file the agency handed over (a source ``path`` that is a glob
matches several, oldest first). A ``url`` source has one delivery: the last good copy
of its file, fetched into ``<home>/downloads/<dataset id>/``. Pulling copies a delivery
into the run's staging folder in one shape, whatever its format, and records its
checksum so an unchanged delivery is never published twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from catalog import fetching, readers
from catalog.errors import SourceError
from catalog.settings import HomeLayout
from catalog.spec import DatasetSpec

STAGED_NAME = "pulled.csv"


@dataclass(frozen=True)
class Pulled:
    """One delivery, staged."""

    delivery: str
    source_sha256: str
    source_bytes: int
    format: str
    encoding: str | None
    delimiter: str
    sheet: str | None
    path: Path

    def to_json(self) -> dict:
        return {**asdict(self), "path": self.path.name}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download_path(spec: DatasetSpec, home: Path) -> Path:
    """Where a url source's last good copy is kept in the govcat ``home``."""
    folder = HomeLayout(Path(home)).downloads / spec.id
    return fetching.cached_path(spec.source.url, folder, spec.source.format)


def deliveries(spec: DatasetSpec, home: Path | None) -> list[Path]:
    """The files delivered so far, oldest first: the matches of ``path``, or a url source's
    last download (none before the first fetch). ``home`` matters only to a url source."""
    if spec.source.url is None:
        return spec.source.deliveries(spec.folder)
    if home is None:
        raise SourceError(f"{spec.id}: the source is a url, whose downloads are kept in a govcat home; "
                          "none was given")
    copy = download_path(spec, home)
    return [copy] if copy.is_file() else []


def fetch_delivery(spec: DatasetSpec, home: Path, *, opener=None) -> fetching.Fetched:
    """Download a url source's file into the home, unless the server says it has not changed.

    A failure raises SourceError and keeps the last good copy as it was."""
    source = spec.source
    if source.url is None:
        raise SourceError(f"{spec.id}: the source is the file path {source.path!r}, not a url")
    return fetching.fetch(source.url, download_path(spec, home).parent, timeout=source.timeout,
                          retries=source.retries, format=source.format, opener=opener)


def find_delivery(spec: DatasetSpec, name: str | None = None, home: Path | None = None) -> Path:
    """The delivery called ``name``, or the newest one."""
    found = deliveries(spec, home)
    if not found:
        if spec.source.url is not None:
            raise SourceError(f"{spec.id}: nothing has been downloaded from {spec.source.url} yet")
        raise SourceError(f"{spec.id}: source file missing: nothing matches {spec.source.path!r}")
    if name is None:
        return found[-1]
    for path in found:
        if path.name == name:
            return path
    raise SourceError(f"{spec.id}: no delivery named {name!r}; known: {[p.name for p in found]}")


def pull(spec: DatasetSpec, delivery: Path, staging: Path) -> Pulled:
    """Stage ``delivery`` as ``staging/pulled.csv`` and describe it in ``staging/pulled.json``."""
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / STAGED_NAME
    source = spec.source
    if not delivery.is_file():
        raise SourceError(f"{spec.id}: source file missing: {delivery.name}")
    encoding, sheet, delimiter = None, None, ","
    if source.format == "csv":
        encoding = readers.stage_csv(delivery, target, source.encoding)
        delimiter = source.delimiter or ("\t" if delivery.suffix.lower() == ".tsv" else ",")
    elif source.format == "xlsx":
        sheet = readers.stage_xlsx(delivery, target, source.sheet)
    elif source.format == "json":
        readers.stage_json(delivery, target, source.records)
    elif source.format == "xml":
        readers.stage_xml(delivery, target, source.record)
    else:  # the spec loader only lets known formats through
        raise SourceError(f"{spec.id}: unsupported format {source.format!r}")
    pulled = Pulled(delivery=delivery.name, source_sha256=file_sha256(delivery),
                    source_bytes=delivery.stat().st_size, format=source.format, encoding=encoding,
                    delimiter=delimiter, sheet=sheet, path=target)
    (staging / "pulled.json").write_text(json.dumps(pulled.to_json(), indent=2))
    return pulled


def load_pulled(staging: Path) -> Pulled:
    """The description a previous pull left in ``staging``."""
    try:
        data = json.loads((staging / "pulled.json").read_text())
    except FileNotFoundError:
        raise SourceError(f"nothing was pulled into {staging.name}; run the pull step first") from None
    return Pulled(**{**data, "path": staging / data["path"]})
