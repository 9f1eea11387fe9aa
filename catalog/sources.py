"""The pull step: find a dataset's deliveries and stage one of them as UTF-8 CSV.

A *delivery* is one file the agency handed over (a source ``path`` that is a glob
matches several, oldest first). Pulling copies it into the run's staging folder in one
shape, whatever its format, and records its checksum so an unchanged delivery is never
published twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from catalog import readers
from catalog.errors import SourceError
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


def find_delivery(spec: DatasetSpec, name: str | None = None) -> Path:
    """The delivery called ``name``, or the newest one."""
    deliveries = spec.source.deliveries(spec.folder)
    if not deliveries:
        raise SourceError(f"{spec.id}: source file missing: nothing matches {spec.source.path!r}")
    if name is None:
        return deliveries[-1]
    for path in deliveries:
        if path.name == name:
            return path
    raise SourceError(f"{spec.id}: no delivery named {name!r}; known: {[p.name for p in deliveries]}")


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
