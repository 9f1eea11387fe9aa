"""The validate step: check a staged delivery against its Table Schema.

The rows are checked by ``catalog.validation`` (frictionless's answers at DuckDB's speed).
The report keeps frictionless's vocabulary and positions (error type, row number counted
with the header as row 1, field number from 1), adds one plain sentence per error, and
groups the errors by field and rule with a count and a hint on how to fix them.

This report is public (it is shown on the dataset page), so it never copies a cell's
value: a rejected cell may be someone's personal data. The steward's copy, written inside
the govcat home with ``write_steward_report``, holds the values as examples and
frictionless's full machine report.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import os
from collections import Counter

from frictionless import Dialect, Resource, Schema, formats, system

from catalog.sources import Pulled
from catalog.spec import DatasetSpec
from catalog.validation.engine import Lookup
from catalog.validation.run import validate_table

ERROR_LIMIT_ENV = "GOVCAT_ERROR_LIMIT"
DEFAULT_ERROR_LIMIT = 1000
EXAMPLES = 3
HINTS = {
    "type-error": "write every value of this field as a {type}{form}, or correct the field's type in schema.yaml",
    "constraint-error": "correct the values, or the constraint in schema.yaml if the rule is wrong",
    "missing-cell": "each row needs a cell for every column: look for a missing delimiter",
    "extra-cell": "each row must have as many cells as the header: look for an unquoted delimiter inside a value",
    "blank-row": "remove the empty rows",
    "primary-key": "each row needs its own primary key: remove the repeated row or correct the key",
    "unique-error": "this field must not repeat: remove the repeated row or correct the value",
    "foreign-key": "the value must exist in the referenced data: correct it or publish the referenced row first",
    "incorrect-label": "rename the column in the file, or the field in schema.yaml, so that they agree",
    "missing-label": "add the column to the file, or remove the field from schema.yaml",
    "extra-label": "remove the column from the file, or declare it in schema.yaml",
    "duplicate-label": "give each column its own name",
    "blank-label": "give every column a name in the header row",
}
PLAIN = {
    "type-error": "the value is not a valid {type}{form}",
    "constraint-error": "the value {constraint}",
    "missing-cell": "the row has no cell for this field",
    "extra-cell": "the row has more cells than the header",
    "blank-row": "the row is empty",
    "primary-key": "the primary key {repeats}",
    "unique-error": "the value {repeats}, but must be unique",
    "foreign-key": "the value has no match in {reference}",
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
    groups: list[dict] = field(default_factory=list)

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


def error_limit() -> int:
    """The error cap: ``$GOVCAT_ERROR_LIMIT`` (0 means no cap), 1000 by default."""
    raw = os.environ.get(ERROR_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_ERROR_LIMIT
    try:
        return max(int(raw), 0)
    except ValueError:
        return DEFAULT_ERROR_LIMIT


def validate_pulled(spec: DatasetSpec, pulled: Pulled, *, limit_errors: int | None = None,
                    lookups: dict[str, Lookup] | None = None):
    """Validate a staged delivery against ``spec``'s schema: (public report, frictionless's report).
    ``lookups`` holds the values of the datasets its foreign keys refer to."""
    limit = error_limit() if limit_errors is None else limit_errors
    dialect = Dialect(controls=[formats.CsvControl(delimiter=pulled.delimiter)])
    with system.use_context(trusted=True):
        resource = Resource(path=pulled.path.name, basepath=str(pulled.path.parent), format="csv",
                            encoding="utf-8", dialect=dialect, schema=Schema.from_descriptor(spec.schema))
        full = validate_table(resource, limit_errors=limit, lookups=lookups)
    task = full.tasks[0]
    problems = [_problem(error, spec, pulled.format) for error in task.errors]
    truncated = any("error limit" in w for w in task.warnings)
    report = ValidationReport(valid=full.valid, rows=task.stats.get("rows") or 0, error_count=len(problems),
                              truncated=truncated, problems=problems, encoding=pulled.encoding,
                              format=pulled.format, groups=_groups(problems, spec))
    return report, full


def _groups(problems: list[Problem], spec: DatasetSpec) -> list[dict]:
    """Errors by field and rule, most frequent first, each with its first rows and a fix hint."""
    counts = Counter(_group_key(p.field_name, p.type, p.rule) for p in problems)
    first_rows: dict[tuple, list[int]] = {}
    for p in problems:
        key = _group_key(p.field_name, p.type, p.rule)
        if p.row is not None and len(first_rows.setdefault(key, [])) < 5:
            first_rows[key].append(p.row)
    fields = {f["name"]: f for f in spec.schema["fields"]}
    groups = []
    for (name, kind, rule), count in counts.most_common():
        declared = fields.get(name, {})
        fmt = declared.get("format", "default")
        hint = HINTS.get(kind, "see the frictionless documentation for this error").format(
            type=declared.get("type", "string"), form="" if fmt in ("default", "any") else f" in the form {fmt}")
        groups.append({"field": name or None, "type": kind, "rule": rule, "count": count,
                       "rows": first_rows.get((name, kind, rule), []), "hint": hint})
    return groups


def _group_key(field_name: str | None, kind: str, note: str | None) -> tuple[str, str, str]:
    """(field, error type, rule): the rule is the constraint's name, or the error type itself."""
    match = re.match(r'^constraint "(\w+)"', note or "")
    return field_name or "", kind, match.group(1) if match else kind


def write_steward_report(report: ValidationReport, full, path: Path) -> None:
    """The steward's copy: frictionless's full report plus, per group, the first offending values.

    It is written inside the govcat home, never into the catalogue the public reads."""
    task = full.tasks[0]
    examples: dict[tuple, list[dict]] = {}
    for error in task.errors:
        row = getattr(error, "row_number", None)
        key = _group_key(getattr(error, "field_name", None), error.type, error.note)
        if row is not None and len(examples.setdefault(key, [])) < EXAMPLES:
            examples[key].append({"row": row, "value": getattr(error, "cell", None)})
    groups = [{**g, "examples": examples.get((g["field"] or "", g["type"], g["rule"]), [])} for g in report.groups]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"summary": report.summary(), "groups": groups, "frictionless": full.to_descriptor()},
                               indent=2, ensure_ascii=False, default=str))



def _problem(error, spec: DatasetSpec, source_format: str) -> Problem:
    row = getattr(error, "row_number", None)
    number = getattr(error, "field_number", None)
    name = getattr(error, "field_name", None)
    if name is None and number and number <= len(spec.field_names):
        name = spec.field_names[number - 1]
    rule = error.note
    if error.type == "foreign-key":        # frictionless's note quotes the values: name the reference instead
        names = list(getattr(error, "field_names", []) or [])
        name = ", ".join(names) if names else name
        referenced = getattr(error, "reference_name", "") or "this dataset"
        rule = f"refers to {referenced} ({', '.join(getattr(error, 'reference_field_names', []) or [])})"
    field = next((f for f in spec.schema["fields"] if f["name"] == name), {})
    fmt = field.get("format", "default")
    repeats = "is empty" if '"None"' in error.note else re.sub(r"^the same as in the row at position (\d+)$",
                                                               r"repeats row \1", error.note)
    plain = PLAIN.get(error.type, error.title.lower()).format(
        type=field.get("type", "string"), form="" if fmt in ("default", "any") else f" in the form {fmt}",
        constraint=_broken_constraint(error.note, field), repeats=repeats,
        reference=rule.removeprefix("refers to ").split(" (")[0])
    where = []
    if row is not None:
        where.append(f"record {row - 1}" if source_format in ("json", "xml") else f"row {row}")
    if name is not None or number is not None:
        where.append(f"field {name!r}" if name else f"field {number}")
    message = f"{', '.join(where)}: {plain}" if where else plain
    return Problem(type=error.type, row=row, field_number=number, field_name=name, rule=rule, message=message)


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
