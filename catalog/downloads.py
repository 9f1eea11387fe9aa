"""Files people download: a release's Parquet as published, or the same rows as CSV."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from catalog.errors import StoreError
from catalog.settings import HomeLayout


def release_parquet(home: Path, relative_path: str) -> Path:
    """The Parquet file of a release, refusing any path that would leave the releases folder."""
    releases = HomeLayout(Path(home)).releases.resolve()
    path = (Path(home) / relative_path).resolve()
    if releases not in path.parents or not path.is_file():
        raise StoreError("that release file is not available")
    return path


def csv_bytes(parquet: Path) -> bytes:
    """The release as UTF-8 CSV with a header row."""
    buffer = io.BytesIO()
    with pq.ParquetFile(parquet) as source:
        with pacsv.CSVWriter(buffer, source.schema_arrow) as writer:
            for batch in source.iter_batches(batch_size=65_536):
                writer.write_batch(batch)
    return buffer.getvalue()
