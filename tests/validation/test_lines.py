"""Physical lines: the count DuckDB's split is checked against, and lines read back by number."""

import random

import pytest

from catalog.validation.lines import index_lines, read_lines


@pytest.mark.parametrize("seed", range(5))
def test_every_line_is_read_back_as_it_is_in_the_file(tmp_path, monkeypatch, seed):
    monkeypatch.setattr("catalog.validation.lines.BLOCK", 16)
    monkeypatch.setattr("catalog.validation.lines.READ_BYTES", 64)
    rng = random.Random(seed)
    lines = ["".join(rng.choice("ab,\"\r") for _ in range(rng.choice([0, 1, 5, 15, 16, 17, 40, 100])))
             for _ in range(rng.randrange(1, 60))]
    text = "\n".join(lines) + rng.choice(["", "\n"])
    path = tmp_path / "lines.txt"
    path.write_bytes(text.encode())
    index = index_lines(path)
    expected = text.split("\n")
    if text.endswith("\n"):
        expected.pop()
    assert index.count == len(expected)
    wanted = set(range(0, len(expected) + 3))
    assert read_lines(index, wanted) == {n: line.encode() for n, line in enumerate(expected, start=1)}


def test_an_empty_file_has_no_lines(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    index = index_lines(path)
    assert index.count == 0 and read_lines(index, {1}) == {}
