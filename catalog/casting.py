"""From text cells to typed columns, in DuckDB, following the Table Schema.

``typed_select`` builds one SELECT that reads a staged CSV as text and turns every field
into the SQL type its Table Schema type calls for, honouring missingValues, trueValues /
falseValues, decimalChar / groupChar / bareNumber and date format patterns. It runs
after validation has passed, so every cast it makes is known to succeed.
"""

from __future__ import annotations

from pathlib import Path

SQL_TYPES = {
    "string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
    "datetime": "TIMESTAMP", "time": "TIME", "year": "INTEGER", "yearmonth": "VARCHAR", "duration": "VARCHAR",
    "geopoint": "VARCHAR", "geojson": "VARCHAR", "object": "VARCHAR", "array": "VARCHAR", "list": "VARCHAR",
    "any": "VARCHAR",
}
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_type(field: dict) -> str:
    return SQL_TYPES.get(field.get("type", "string"), "VARCHAR")


def read_text_csv(path: Path, names: list[str], delimiter: str) -> str:
    """A DuckDB table function call reading ``path`` with every column as text."""
    columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
    return (f"read_csv({quote_literal(str(path))}, header = true, auto_detect = false, "
            f"delim = {quote_literal(delimiter)}, quote = '\"', escape = '\"', "
            f"columns = {{{columns}}}, null_padding = false, strict_mode = true)")


def typed_select(schema: dict, source_sql: str) -> str:
    """SELECT every schema field from ``source_sql`` cast to its SQL type."""
    default_missing = schema.get("missingValues", [""])
    columns = []
    for field in schema["fields"]:
        missing = field.get("missingValues", default_missing)
        column = quote_ident(field["name"])
        cast = _cast(field, column)
        if missing:
            listed = ", ".join(quote_literal(str(m)) for m in missing)
            cast = f"CASE WHEN {column} IN ({listed}) THEN NULL ELSE {cast} END"
        columns.append(f"{cast} AS {column}")
    return f"SELECT {', '.join(columns)} FROM {source_sql}"


def _cast(field: dict, column: str) -> str:
    kind = field.get("type", "string")
    fmt = field.get("format", "default")
    if kind in ("integer", "number"):
        return f"CAST({_numeric_text(field, column)} AS {SQL_TYPES[kind]})"
    if kind == "boolean":
        trues = ", ".join(quote_literal(v) for v in field.get("trueValues", DEFAULT_TRUE))
        falses = ", ".join(quote_literal(v) for v in field.get("falseValues", DEFAULT_FALSE))
        return f"(CASE WHEN {column} IN ({trues}) THEN true WHEN {column} IN ({falses}) THEN false END)"
    if kind in ("date", "datetime", "time"):
        target = SQL_TYPES[kind]
        if fmt not in ("default", "any") and "%" in fmt:
            return f"CAST(strptime({column}, {quote_literal(fmt)}) AS {target})"
        if kind == "datetime":
            return f"TRY_CAST(regexp_replace({column}, '(Z|[+-]\\d\\d:?\\d\\d)$', '') AS TIMESTAMP)"
        return f"TRY_CAST({column} AS {target})"
    if kind == "year":
        return f"CAST({column} AS INTEGER)"
    return column


def _numeric_text(field: dict, column: str) -> str:
    """The cell as plain digits: currency signs or units stripped when bareNumber is false,
    the group separator removed, the decimal separator made a point."""
    text = f"trim({column})"
    if not field.get("bareNumber", True):
        text = f"regexp_replace({text}, '^[^0-9+\\-.]+|[^0-9.]+$', '', 'g')"
    if field.get("groupChar"):
        text = f"replace({text}, {quote_literal(field['groupChar'])}, '')"
    if field.get("decimalChar", ".") != ".":
        text = f"replace({text}, {quote_literal(field['decimalChar'])}, '.')"
    return text
