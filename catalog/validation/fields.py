"""Each Table Schema field as SQL: a fast test that a text cell is surely valid, and its key.

The rule that keeps govcat exact: the SQL test may only say "surely valid" for cells
frictionless accepts with the same value. Anything else (a different spelling frictionless
still accepts, a non-ASCII value under a pattern, a type with no fast form) is sent back
to frictionless's own cell reader, row by row. Errors are rare, so that set is small.

A field's key is the value the integrity checks (unique, primaryKey, foreignKeys) compare:
the SQL expression for surely-valid cells, and ``python_key`` for the values frictionless
parsed, giving equal keys exactly when frictionless's values are equal.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable

import duckdb

from catalog.casting import quote_literal

INTEGER = r"[+-]?[0-9]{1,18}"
# at most 15 significant digits, so two different decimals never share a double
NUMBER = r"[+-]?([0-9]{1,15}(\.[0-9]{0,15})?|\.[0-9]{1,15})"
# a dot-atom local part and a dotted host name; the whole address is kept under 64 characters, so
# no part can pass the length limits of frictionless's email check (64 local, 63 per label)
EMAIL = r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]+(-+[A-Za-z0-9]+)*\.)+[A-Za-z]{2,12}"
EMAIL_LENGTH = 64
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
URI = r"https?://[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?)*(/[A-Za-z0-9._~/-]*)?"
BINARY = r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
ISO_DATE = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
ISO_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
DATE_CODES = {"%Y": "[1-9][0-9]{3}", "%m": "[0-9]{2}", "%d": "[0-9]{2}",
              "%H": "([01][0-9]|2[0-3])", "%M": "[0-5][0-9]", "%S": "[0-5][0-9]"}
# a brace Python's re reads as a repeat but RE2 as text, or the other way round
UNCLEAR_REPEAT = re.compile(r"\{(?!\d+(,\d*)?\})")
ORDERED = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
COMPARE = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


@dataclass(frozen=True)
class FieldSQL:
    """How one field is checked in SQL. ``ok`` and ``key`` are templates over ``{x}``."""

    name: str
    ok: str | None           # None: no fast form, every present cell goes to frictionless
    key: str                 # SQL key of a surely-valid cell
    key_type: str            # DuckDB type of the key
    python_key: Callable[[Any], Any]
    missing: tuple[str, ...]
    required: bool

    def missing_sql(self, x: str) -> str:
        return one_of(x, [quote_literal(m) for m in self.missing])

    def surely_valid_sql(self, x: str) -> str:
        """True when frictionless surely reports nothing for this present, non-missing cell."""
        return "false" if self.ok is None else "coalesce(" + self.ok.replace("{x}", x) + ", false)"

    def key_sql(self, x: str) -> str:
        return self.key.replace("{x}", x)


def field_sql(field, missing_values: list[str]) -> FieldSQL:
    """Translate a frictionless ``Field`` into its SQL checks."""
    ok, key, key_type, python_key = _type_sql(field)
    if ok is not None:
        extra = _constraints_sql(field, key, key_type)
        ok = None if extra is None else " AND ".join([f"({ok})", *extra])
    field_missing = field.missing_values if field.has_defined("missing_values") else missing_values
    return FieldSQL(name=field.name, ok=ok, key=key, key_type=key_type, python_key=python_key,
                    missing=tuple(str(m) for m in field_missing),
                    required=bool(field.constraints.get("required")))


def one_of(x: str, literals: list[str]) -> str:
    """``x`` equals one of the SQL literals. Never ``IN (...)``: DuckDB may plan a long IN list as
    a join, and a join does not keep the file's row order, which the row numbers rely on."""
    if not literals:
        return "false"
    if len(literals) <= 4:
        return "(" + " OR ".join(f"{x} = {lit}" for lit in literals) + ")"
    return f"list_contains([{', '.join(literals)}], {x})"


def _full(pattern: str) -> str:
    return f"regexp_full_match({{x}}, {quote_literal(pattern)})"


def _type_sql(field) -> tuple[str | None, str, str, Callable[[Any], Any]]:
    kind, fmt = field.type, getattr(field, "format", "default")
    text = ("{x}", "VARCHAR", _text)
    if kind == "string":
        fast = {"default": "true", "email": f"strlen({{x}}) <= {EMAIL_LENGTH} AND {_full(EMAIL)}", "uuid": _full(UUID), "uri": _full(URI),
                "binary": _full(BINARY)}.get(fmt)
        return (fast, *text)
    if kind == "any":
        return ("true", *text)
    if kind == "integer":
        return (_full(INTEGER), "TRY_CAST({x} AS HUGEINT)", "HUGEINT", _integer)
    if kind == "year":
        return (_full("[0-9]{4}"), "TRY_CAST({x} AS HUGEINT)", "HUGEINT", _integer)
    if kind == "number":
        return _number_sql(field)
    if kind == "boolean":
        allowed = [quote_literal(v) for v in (*field.true_values, *field.false_values)]
        return (one_of("{x}", allowed), one_of("{x}", [quote_literal(v) for v in field.true_values]),
                "BOOLEAN", _boolean)
    if kind == "date":
        if fmt == "default":
            return (f"{_full(ISO_DATE)} AND TRY_CAST({{x}} AS DATE) IS NOT NULL",
                    "TRY_CAST({x} AS DATE)", "DATE", _date)
        return _strptime_sql(fmt, time_codes=False, key="CAST({parsed} AS DATE)", key_type="DATE",
                             python_key=_date)
    if kind == "datetime":
        if fmt == "default":
            return (f"{_full(ISO_DATE + 'T' + ISO_TIME)} AND TRY_CAST({{x}} AS TIMESTAMP) IS NOT NULL",
                    "{x}", "VARCHAR", _datetime)
        return _strptime_sql(fmt, time_codes=True, key="strftime({parsed}, '%Y-%m-%dT%H:%M:%S')",
                             key_type="VARCHAR", python_key=_datetime)
    if kind == "time" and fmt == "default":
        return (_full(ISO_TIME), "{x}", "VARCHAR", _time)
    if kind == "yearmonth":
        return (_full("[0-9]{4}-(0[1-9]|1[0-2])"), "{x}", "VARCHAR", _yearmonth)
    return (None, "NULL", "VARCHAR", _text)


def _strptime_sql(fmt: str, *, time_codes: bool, key: str, key_type: str, python_key):
    """A date or datetime in a strptime format: a strict shape test, then DuckDB's strptime."""
    pattern = _format_regex(fmt, time_codes=time_codes)
    if pattern is None:
        return (None, "NULL", key_type, python_key)
    parsed = f"TRY_STRPTIME({{x}}, {quote_literal(fmt)})"
    return (f"{_full(pattern)} AND {parsed} IS NOT NULL", key.format(parsed=parsed), key_type, python_key)


def _number_sql(field):
    """``decimalChar``/``groupChar``/``bareNumber`` as frictionless applies them, then the plain form."""
    value = "{x}"
    defined = set(field.list_defined())
    if {"group_char", "decimal_char", "bare_number"} & defined:
        if field.group_char:
            value = f"replace({value}, {quote_literal(field.group_char)}, '')"
        if field.decimal_char != ".":
            value = f"replace({value}, {quote_literal(field.decimal_char)}, '.')"
    plain = NUMBER if field.bare_number else r"-?[0-9]{1,15}(\.[0-9]{1,15})?"
    ok = f"regexp_full_match({value}, {quote_literal(plain)})"
    if field.decimal_char != "." and {"group_char", "decimal_char", "bare_number"} & defined:
        # frictionless refuses a "." once another decimal character is declared
        before = "{x}" if not field.group_char else f"replace({{x}}, {quote_literal(field.group_char)}, '')"
        ok = f"strpos({before}, '.') = 0 AND {ok}"
    return (ok, f"TRY_CAST({value} AS DOUBLE)", "DOUBLE", _number)


def _format_regex(fmt: str, *, time_codes: bool) -> str | None:
    """A strict regex for a strptime format made of zero-padded codes, or None."""
    allowed = DATE_CODES if time_codes else {k: v for k, v in DATE_CODES.items() if k in ("%Y", "%m", "%d")}
    parts, rest = [], fmt
    while rest:
        if rest.startswith("%"):
            code = rest[:2]
            if code not in allowed:
                return None
            parts.append(allowed[code])
            rest = rest[2:]
        elif rest[0].isalnum() or rest[0] in "%":
            return None
        else:
            parts.append(re.escape(rest[0]))
            rest = rest[1:]
    return "".join(parts)


def _constraints_sql(field, key: str, key_type: str) -> list[str] | None:
    """SQL conditions for the field's constraints on a surely-typed cell; None if one has no SQL form."""
    supported = set(field.supported_constraints)
    value_reader = field.create_value_reader()
    conditions, bounds = [], {}
    for name, constraint in field.constraints.items():
        if name not in supported or name in ("required", "unique"):
            continue
        if name in ("minLength", "maxLength") and field.type == "string":
            op = ">=" if name == "minLength" else "<="
            conditions.append(f"length({{x}}) {op} {int(constraint)}")
        elif name == "pattern" and field.type == "string":
            if not _re2_compiles(constraint) or UNCLEAR_REPEAT.search(constraint):
                return None
            match = f"regexp_full_match({{x}}, {quote_literal(constraint)})"
            conditions.append(f"NOT regexp_matches({{x}}, '[^ -~]') AND {match}" if _needs_ascii(constraint) else match)
        elif name in ORDERED and key_type in ("HUGEINT", "DOUBLE", "DATE") and field.type in ("integer", "number", "year", "date"):
            bound = value_reader(constraint)
            if bound is None:
                return None
            bounds[name] = _literal(bound, field.type)
        elif name == "enum" and field.type in ("string", "integer", "number", "year", "date", "boolean"):
            values = [value_reader(v) for v in constraint]
            if any(v is None for v in values):
                return None
            conditions.append(one_of(_typed(key, field.type), [_literal(v, field.type) for v in values]))
        else:
            return None
    if bounds:
        typed = _typed(key, field.type)
        if set(bounds) == {"minimum", "maximum"}:      # one cast for both ends
            conditions.append(f"{typed} BETWEEN {bounds['minimum']} AND {bounds['maximum']}")
        else:
            conditions.extend(f"{typed} {COMPARE[name]} {bound}" for name, bound in bounds.items())
    return conditions


def _needs_ascii(pattern: str) -> bool:
    """Whether RE2 could accept a non-ASCII or control character that Python's re refuses under this
    pattern. Literals, ranges, ``.``, and ``\\d \\w \\s`` outside a negated class match no more in RE2
    than in Python; negated escapes, word boundaries, flags and other letter escapes may."""
    if not pattern.isascii() or "(?" in pattern:
        return True
    escapes = set(re.findall(r"\\([A-Za-z0-9])", pattern))
    if escapes - {"d", "w", "s"}:
        return True
    return bool(escapes) and "[^" in pattern


def _typed(key: str, kind: str) -> str:
    return "TRY_CAST({x} AS HUGEINT)" if kind in ("integer", "year") else key


def _literal(value: Any, kind: str) -> str:
    if kind in ("integer", "year"):
        return f"CAST({int(value)} AS HUGEINT)"
    if kind == "number":
        return f"CAST({quote_literal(str(value))} AS DOUBLE)"
    if kind == "date":
        return f"DATE {quote_literal(value.isoformat())}"
    if kind == "boolean":
        return "true" if value else "false"
    return quote_literal(str(value))


_RE2_CACHE: dict[str, bool] = {}


def _re2_compiles(pattern: str) -> bool:
    if pattern not in _RE2_CACHE:
        try:
            duckdb.sql(f"SELECT regexp_full_match('', {quote_literal(pattern)})").fetchall()
            _RE2_CACHE[pattern] = True
        except duckdb.Error:
            _RE2_CACHE[pattern] = False
    return _RE2_CACHE[pattern]


# Keys of values frictionless parsed, in the same form as the SQL keys above.

def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _integer(value: Any) -> Any:
    return None if value is None else str(int(value))


def _number(value: Any) -> Any:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _boolean(value: Any) -> Any:
    return None if value is None else bool(value)


def _date(value: Any) -> Any:
    return value if isinstance(value, dt.date) else None


def _datetime(value: Any) -> Any:
    if not isinstance(value, dt.datetime):
        return None if value is None else str(value)
    if value.tzinfo is not None:
        return "Z" + value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()
    return value.isoformat()


def _time(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _yearmonth(value: Any) -> Any:
    return None if value is None else f"{int(value[0]):04d}-{int(value[1]):02d}"

