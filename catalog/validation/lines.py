"""A text file's physical lines: counted in one pass, then any line read back by its number.

The count tells whether DuckDB split the file one row per line; the index kept while
counting (newlines before each 64 KiB block) lets a row be read back from its line
without reading the file again.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1 << 16
READ_BYTES = 1 << 22        # a multiple of BLOCK


@dataclass(frozen=True)
class LineIndex:
    path: Path
    count: int                       # physical lines; a last line without "\n" counts
    newlines_before: list[int]       # "\n" bytes before the start of each block


def index_lines(path: Path) -> LineIndex:
    newlines_before: list[int] = []
    count, size, last = 0, 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(READ_BYTES):
            for start in range(0, len(chunk), BLOCK):
                newlines_before.append(count)
                count += chunk.count(b"\n", start, start + BLOCK)
            size, last = size + len(chunk), chunk[-1:]
    return LineIndex(path, count + (1 if size and last != b"\n" else 0), newlines_before)


def read_lines(index: LineIndex, numbers: set[int]) -> dict[int, bytes]:
    """The lines with these numbers (from 1), without their "\\n"."""
    found = {}
    with index.path.open("rb") as handle:
        for n in sorted(numbers):
            if 1 <= n <= index.count:
                found[n] = _line(handle, index, n)
    return found


def _line(handle, index: LineIndex, n: int) -> bytes:
    # the last block starting before line n does: fewer than n - 1 newlines precede it
    block = max(bisect_left(index.newlines_before, n - 1) - 1, 0)
    skip = n - 1 - index.newlines_before[block]
    handle.seek(block * BLOCK)
    data = b""
    while True:
        more = handle.read(2 * BLOCK)
        data += more
        parts = data.split(b"\n", skip + 1)
        if len(parts) > skip + 1 or not more:
            return parts[skip] if len(parts) > skip else b""
