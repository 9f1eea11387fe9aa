"""The validate step: check a staged delivery against its Table Schema with frictionless.

The report keeps frictionless's vocabulary and positions (error type, row number counted
with the header as row 1, field number from 1) and adds one plain sentence per error.
It never copies a cell's value: a rejected cell may be someone's personal data.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from frictionless import Dialect, Resource, Schema, formats

from catalog.sources import Pulled
from catalog.spec import DatasetSpec

ERROR_LIMIT = 1000
PLAIN = {
    "type-error": "the value is not a valid {type}{form}",
    "constraint-error": "the value {constraint}",
    "missing-cell": "the row has no cell for this field",
    "extra-cell": "the row has more cells than the header",
    "blank-row": "the row is empty",
    "primary-key": "the primary key {repeats}",
    "unique-error": "the value {repeats}, but must be unique",
    "foreign-key": "the value has no match in the referenced data",
    "incorrect-label": "the header says something other than the schema's field name",
    "missing-label": "the header has no column for this field",
    "extra-label": "the header has a column the schema does not declare",
    "duplicate-label": "the header names this column twice",
    "blank-label": "the header cell is empty",
}


@dataclass
class Problem:
    type: str
    row: int | None
    field_number: int | None
    field_name: str | None
    rule: str
    message: str


@dataclass
class ValidationReport:
    valid: bool
    rows: int
    error_count: int
    truncated: bool
    problems: list[Problem] = field(default_factory=list)
    encoding: str | None = None
    format: str | None = None

    def summary(self, limit: int = 3) -> str:
        """One line for a steward: how many errors, and the first few with row, field and rule."""
        if self.valid:
            return f"valid: {self.rows} rows"
        more = "+" if self.truncated else ""
        head = f"{self.error_count}{more} error{'s' if self.error_count != 1 else ''}"
        shown = "; ".join(p.message for p in self.problems[:limit])
        rest = f"; and {self.error_count - limit} more" if self.error_count > limit else ""
        return f"{head}: {shown}{rest}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ValidationReport":
        return cls(**{**data, "problems": [Problem(**p) for p in data.get("problems", [])]})


def validate_pulled(spec: DatasetSpec, pulled: Pulled) -> ValidationReport:
    """Validate a staged delivery against ``spec``'s schema."""
    dialect = Dialect(controls=[formats.CsvControl(delimiter=pulled.delimiter)])
    resource = Resource(path=pulled.path.name, basepath=str(pulled.path.parent), format="csv",
                        encoding="utf-8", dialect=dialect, schema=Schema.from_descriptor(spec.schema))
    report = resource.validate(limit_errors=ERROR_LIMIT)
    task = report.tasks[0]
    problems = [_problem(error, spec, pulled.format) for error in task.errors]
    truncated = any("error limit" in w for w in task.warnings)
    return ValidationReport(valid=report.valid, rows=task.stats.get("rows") or 0, error_count=len(problems),
                            truncated=truncated, problems=problems, encoding=pulled.encoding, format=pulled.format)


def _problem(error, spec: DatasetSpec, source_format: str) -> Problem:
    row = getattr(error, "row_number", None)
    number = getattr(error, "field_number", None)
    name = getattr(error, "field_name", None)
    if name is None and number and number <= len(spec.field_names):
        name = spec.field_names[number - 1]
    field = next((f for f in spec.schema["fields"] if f["name"] == name), {})
    fmt = field.get("format", "default")
    repeats = "is empty" if '"None"' in error.note else re.sub(r"^the same as in the row at position (\d+)$",
                                                               r"repeats row \1", error.note)
    plain = PLAIN.get(error.type, error.title.lower()).format(
        type=field.get("type", "string"), form="" if fmt in ("default", "any") else f" in the form {fmt}",
        constraint=_broken_constraint(error.note, field), repeats=repeats)
    where = []
    if row is not None:
        where.append(f"record {row - 1}" if source_format in ("json", "xml") else f"row {row}")
    if name is not None or number is not None:
        where.append(f"field {name!r}" if name else f"field {number}")
    message = f"{', '.join(where)}: {plain}" if where else plain
    return Problem(type=error.type, row=row, field_number=number, field_name=name, rule=error.note, message=message)


CONSTRAINTS = {
    "required": "is missing, but the field is required",
    "minimum": "is below the minimum of {}",
    "maximum": "is above the maximum of {}",
    "exclusiveMinimum": "must be greater than {}",
    "exclusiveMaximum": "must be less than {}",
    "minLength": "is shorter than {} characters",
    "maxLength": "is longer than {} characters",
    "pattern": "does not match the pattern {}",
    "enum": "is not one of: {}",
}


def _broken_constraint(note: str, field: dict) -> str:
    """'constraint "minimum" is "0"' as words: 'is below the minimum of 0'."""
    match = re.match(r'^constraint "(\w+)" is "(.*)"$', note, re.DOTALL)
    if not match or match.group(1) not in CONSTRAINTS:
        return f"breaks a rule: {note}"
    name, value = match.groups()
    if name == "enum":
        value = ", ".join(str(v) for v in (field.get("constraints") or {}).get("enum", [])) or value
    return CONSTRAINTS[name].format(value)


def write_report(report: ValidationReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_json(), indent=2))


def read_report(path: Path) -> ValidationReport:
    return ValidationReport.from_json(json.loads(path.read_text()))
