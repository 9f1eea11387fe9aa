"""Checking a Frictionless Table Schema descriptor before anything is pulled with it.

frictionless checks the shape of the descriptor; this adds what it lets through and a
steward would still want to hear about: misspelt field keys, constraint values that do
not fit the field's type, regular expressions that do not compile, keys that name
fields that do not exist.
"""

from __future__ import annotations

import re
from typing import Any

from frictionless import Schema

FIELD_KEYS = {
    "name", "title", "description", "type", "format", "example", "constraints", "trueValues", "falseValues",
    "decimalChar", "groupChar", "bareNumber", "floatNumber", "rdfType", "missingValues", "arrayItem",
    "categories", "categoriesOrdered", "unit",
}
SCHEMA_KEYS = {"fields", "primaryKey", "foreignKeys", "missingValues", "name", "title", "description",
               "fieldsMatch", "uniqueKeys", "$schema", "profile"}
VALUE_CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def schema_problems(descriptor: Any) -> list[str]:
    """Every problem in a Table Schema descriptor, each as 'key: what is wrong'."""
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
        return ["fields: a Table Schema is a mapping with a 'fields' list"]
    if not descriptor["fields"]:
        return ["fields: the schema declares no fields"]
    problems = [f"{key}: unknown schema key" for key in descriptor if key not in SCHEMA_KEYS]
    for index, field in enumerate(descriptor["fields"], start=1):
        if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not field["name"].strip():
            problems.append(f"fields[{index}]: each field needs a non-empty 'name'")
            continue
        for key in field:
            if key not in FIELD_KEYS and "@" not in key:
                problems.append(f"fields[{index}] ({field['name']}).{key}: unknown field key")
    if problems:
        return problems
    report = Schema.validate_descriptor(descriptor)
    if not report.valid:
        return [f"schema: {error.note}" for error in report.errors]
    schema = Schema.from_descriptor(descriptor)
    for index, field in enumerate(schema.fields, start=1):
        where = f"fields[{index}] ({field.name}).constraints"
        constraints = field.constraints or {}
        for key in VALUE_CONSTRAINTS:
            if key in constraints and _cell_error(field, constraints[key]):
                problems.append(f"{where}.{key}: {constraints[key]!r} is not a valid {field.type}")
        for value in constraints.get("enum", []) or []:
            if _cell_error(field, value):
                problems.append(f"{where}.enum: {value!r} is not a valid {field.type}")
        if "pattern" in constraints:
            try:
                re.compile(constraints["pattern"])
            except (re.error, TypeError) as exc:
                problems.append(f"{where}.pattern: not a valid regular expression ({exc})")
    names = set(schema.field_names)
    for fk_index, fk in enumerate(descriptor.get("foreignKeys") or [], start=1):
        fields = fk.get("fields") if isinstance(fk, dict) else None
        fields = [fields] if isinstance(fields, str) else fields or []
        for name in fields:
            if name not in names:
                problems.append(f"foreignKeys[{fk_index}].fields: unknown field {name!r}")
    return problems


def _cell_error(field, value: Any) -> bool:
    """True when ``value`` cannot be read as a cell of ``field``'s type."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and field.type in ("integer", "number", "year"):
        return field.type in ("integer", "year") and isinstance(value, float) and not value.is_integer()
    return field.create_value_reader()(value if isinstance(value, str) else str(value)) is None
