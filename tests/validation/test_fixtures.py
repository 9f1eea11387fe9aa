"""Every frictionless validation fixture: govcat must report what frictionless reported.

``EXPECTED-INDEX.csv`` lists, for each fixture, the ``frictionless validate`` command and
each error of its report as (type, row, field). The same command with ``govcat`` in place
of ``frictionless`` must give the same set, except for the differences listed in
``catalog/validation/README.md`` (today: none).
"""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest

from catalog.validation.run import validate

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "frictionless-fixtures"
KNOWN_DIFFERENCES: dict[str, str] = {}   # command -> reason; keep in step with catalog/validation/README.md


def _expected() -> "OrderedDict[str, set]":
    commands: OrderedDict[str, set] = OrderedDict()
    with (FIXTURES / "EXPECTED-INDEX.csv").open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            found = commands.setdefault(record["command"], set())
            if record["error_type"]:
                found.add((record["error_type"], record["row_number"], record["field_number"]))
    return commands


def _arguments(command: str) -> tuple[str, dict]:
    words, options, source = shlex.split(command)[2:], {}, None
    while words:
        word = words.pop(0)
        if word == "--json":
            continue
        if word in ("--schema", "--type", "--checks"):
            options[word[2:]] = words.pop(0)
        else:
            source = word
    if "checks" in options:
        options["checks"] = [options["checks"]]
    return source, options


def _triples(report: dict) -> set:
    errors = list(report.get("errors", [])) + [e for task in report.get("tasks", []) for e in task.get("errors", [])]
    return {(e["type"], str(e.get("rowNumber") or ""), str(e.get("fieldNumber") or "")) for e in errors}


COMMANDS = _expected() if FIXTURES.is_dir() else OrderedDict()


def test_the_fixture_set_is_there():
    assert len(COMMANDS) >= 70, f"the frictionless fixtures are missing from {FIXTURES}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_same_errors_as_frictionless(command, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    if command in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[command])
    source, options = _arguments(command)
    report = validate(source, **options).to_descriptor()
    assert _triples(report) == COMMANDS[command]
    assert report["valid"] == (not COMMANDS[command])


@pytest.mark.parametrize("command", [
    "frictionless validate --json data/invalid.csv",
    "frictionless validate --json --schema data/schema.json data/invalid.csv",
    "frictionless validate --json data/invalid/datapackage.json",
    "frictionless validate --json data/table.csv",
])
def test_the_govcat_command_is_a_drop_in(command):
    """The same command line with ``govcat``: exit code, JSON shape and errors."""
    govcat = Path(sys.executable).with_name("govcat")
    words = shlex.split(command)
    done = subprocess.run([str(govcat), *words[1:]], cwd=FIXTURES, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    expected = COMMANDS[command]
    assert done.returncode == (1 if expected else 0), done.stderr
    assert set(report) >= {"valid", "stats", "tasks"}
    assert all({"valid", "stats", "errors"} <= set(task) for task in report["tasks"])
    assert _triples(report) == expected
