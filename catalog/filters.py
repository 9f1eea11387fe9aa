"""Row filters a person builds with controls, checked against a release and turned into SQL.

A filter is ``(column, operator, values)``, the values kept as the text the person typed so a
filter survives a round trip through a link unchanged. ``compile_filters`` checks each one
against the release's columns and their kinds, parses its values, and returns SQL *pieces*:
text, and ``Param`` objects holding typed values. ``render`` turns pieces into a parameterised
statement for execution (values never enter the SQL text) or, for display, into one with every
value written as a safely quoted literal, runnable as it stands in the SQL console.

In a link a filter is ``f=column~operator~value[~value...]``, repeated, with ``%`` and ``~``
inside a part written ``%25`` and ``%7E``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import pyarrow as pa

from catalog.casting import quote_ident, quote_literal
from catalog.errors import QueryError

MAX_FILTERS = 20
MAX_CHOICES = 200
MAX_VALUE_CHARS = 1_000

TEXT, NUMBER, DATE, DATETIME, TIME, BOOLEAN, OTHER = "text", "number", "date", "datetime", "time", "boolean", "other"


@dataclass(frozen=True)
class Operator:
    code: str
    label: str
    arity: int | None  # number of values; None: one or more


OPERATORS: dict[str, Operator] = {o.code: o for o in (
    Operator("eq", "equals", 1), Operator("in", "is one of", None), Operator("contains", "contains", 1),
    Operator("starts", "starts with", 1), Operator("empty", "is empty", 0), Operator("notempty", "is not empty", 0),
    Operator("ne", "is not", 1), Operator("lt", "less than", 1), Operator("le", "at most", 1),
    Operator("gt", "more than", 1), Operator("ge", "at least", 1), Operator("between", "between", 2),
    Operator("on", "on", 1), Operator("before", "before", 1), Operator("after", "after", 1),
    Operator("true", "is true", 0), Operator("false", "is false", 0),
    Operator("missing", "is missing", 0), Operator("present", "is not missing", 0),
)}

_ANY = ("missing", "present")
KIND_OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("eq", "in", "contains", "starts", "empty", "notempty", *_ANY),
    NUMBER: ("eq", "ne", "lt", "le", "gt", "ge", "between", *_ANY),
    DATE: ("on", "before", "after", "between", *_ANY),
    DATETIME: ("on", "before", "after", "between", *_ANY),
    TIME: ("on", "before", "after", "between", *_ANY),
    BOOLEAN: ("true", "false", *_ANY),
    OTHER: _ANY,
}
# How an operator reads for a kind of column (numbers get symbols, as people write them).
NUMBER_LABELS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "between": "between"}
VALUE_HINTS = {NUMBER: "a number such as 1234.5 (a dot for decimals, no thousands separators)",
               DATE: "a date written 2024-03-31", DATETIME: "a date (2024-03-31) or a date and time (2024-03-31 14:30)",
               TIME: "a time written 14:30 or 14:30:00"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def operator_label(code: str, kind: str) -> str:
    return NUMBER_LABELS.get(code, OPERATORS[code].label) if kind == NUMBER else OPERATORS[code].label


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    values: tuple[str, ...] = ()

    def describe(self, kind: str | None = None) -> str:
        """The filter as a sentence fragment: ``amount between 10 and 20``."""
        label = operator_label(self.op, kind) if self.op in OPERATORS else self.op
        if self.op == "between" and len(self.values) == 2:
            return f"{self.column} between {self.values[0]} and {self.values[1]}"
        if self.op == "in":
            return f"{self.column} is one of {', '.join(self.values)}"
        return " ".join([self.column, label, *self.values])


@dataclass(frozen=True)
class Param:
    """A value bound at execution; written as a quoted literal only when SQL is shown."""
    value: object


Piece = str | Param


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """Each column of a release and the kind of filter it takes, in the release's order."""
    return {f.name: _kind(f.type) for f in schema}


def _kind(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return TEXT
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return NUMBER
    if pa.types.is_date(kind):
        return DATE
    if pa.types.is_timestamp(kind):
        return DATETIME
    if pa.types.is_time(kind):
        return TIME
    if pa.types.is_boolean(kind):
        return BOOLEAN
    return OTHER


# --- links ------------------------------------------------------------------------------------

def encode_parts(parts) -> str:
    """Parts joined with ``~``; a ``%`` or ``~`` inside a part is written ``%25`` or ``%7E``."""
    return "~".join(str(p).replace("%", "%25").replace("~", "%7E") for p in parts)


def decode_parts(text: str) -> list[str]:
    return [re.sub(r"%(25|7[Ee])", lambda m: "%" if m.group(1) == "25" else "~", p) for p in str(text).split("~")]


def to_query(filters) -> list[str]:
    """Each filter as the value of one ``f=`` query parameter."""
    return [encode_parts((f.column, f.op, *f.values)) for f in filters]


def from_query(encoded) -> list[Filter]:
    """Filters from the values of repeated ``f=`` parameters (checked later, against a release)."""
    if len(encoded) > MAX_FILTERS:
        raise QueryError(f"a link can hold at most {MAX_FILTERS} filters; this one has {len(encoded)}")
    filters = []
    for text in encoded:
        parts = decode_parts(text)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise QueryError(f"the filter “{str(text)[:80]}” in the link is not written column~operator~value")
        filters.append(Filter(parts[0], parts[1].lower(), tuple(parts[2:])))
    return filters


# --- checking and SQL -------------------------------------------------------------------------

def compile_filters(filters, kinds: dict[str, str]) -> list[Piece]:
    """The conditions of all filters joined with AND, as pieces; [] when there is no filter."""
    filters = list(filters)
    if len(filters) > MAX_FILTERS:
        raise QueryError(f"at most {MAX_FILTERS} filters can be combined; remove {len(filters) - MAX_FILTERS}")
    pieces: list[Piece] = []
    for number, f in enumerate(filters):
        if number:
            pieces.append(" AND ")
        pieces.extend(_condition(f, kinds))
    return pieces


def where(pieces: list[Piece]) -> list[Piece]:
    return [" WHERE ", *pieces] if pieces else []


def _condition(f: Filter, kinds: dict[str, str]) -> list[Piece]:
    if f.column not in kinds:
        shown = ", ".join(list(kinds)[:30]) + (", …" if len(kinds) > 30 else "")
        raise QueryError(f"there is no column “{f.column[:80]}” in this release; its columns are: {shown}")
    kind = kinds[f.column]
    allowed = KIND_OPERATORS[kind]
    if f.op not in allowed:
        what = f"“{OPERATORS[f.op].label}”" if f.op in OPERATORS else f"the operator “{f.op[:30]}”"
        choices = ", ".join(f"{operator_label(o, kind)} ({o})" for o in allowed)
        raise QueryError(f"{what} does not apply to the {kind} column “{f.column}”; use one of: {choices}")
    arity = OPERATORS[f.op].arity
    values = f.values
    if arity is None and not 1 <= len(values) <= MAX_CHOICES:
        raise QueryError(f"“{f.column} is one of” needs between 1 and {MAX_CHOICES} values; it has {len(values)}")
    if arity is not None and len(values) != arity:
        wanted = {0: "no value", 1: "one value", 2: "two values"}[arity]
        raise QueryError(f"“{f.column} {operator_label(f.op, kind)}” takes {wanted}; it was given {len(values)}")
    for value in values:
        if len(value) > MAX_VALUE_CHARS:
            raise QueryError(f"a value for “{f.column}” is longer than {MAX_VALUE_CHARS} characters")
    column = quote_ident(f.column)
    if f.op == "missing":
        return [f"{column} IS NULL"]
    if f.op == "present":
        return [f"{column} IS NOT NULL"]
    if kind == TEXT:
        return _text(f, column)
    if kind == BOOLEAN:
        return [f"{column} = {'TRUE' if f.op == 'true' else 'FALSE'}"]
    parsed = [_parse(value, kind, f.column) for value in values]
    if f.op == "between" and _sort_key(parsed[0]) > _sort_key(parsed[1]):
        raise QueryError(f"“{f.column} between {values[0]} and {values[1]}”: the first value must not be "
                         "after the second; swap them")
    if kind == NUMBER:
        return _number(f.op, column, parsed)
    return _moment(f.op, column, parsed, kind)


def _text(f: Filter, column: str) -> list[Piece]:
    if f.op == "eq":
        return [f"{column} = ", Param(f.values[0])]
    if f.op == "in":
        pieces: list[Piece] = [f"{column} IN ("]
        for number, value in enumerate(dict.fromkeys(f.values)):
            pieces += [", "] * bool(number) + [Param(value)]
        return pieces + [")"]
    if f.op == "contains":
        return [f"contains(lower({column}), ", Param(f.values[0].lower()), ")"]
    if f.op == "starts":
        return [f"starts_with(lower({column}), ", Param(f.values[0].lower()), ")"]
    if f.op == "empty":
        return [f"({column} IS NULL OR {column} = '')"]
    return [f"({column} IS NOT NULL AND {column} <> '')"]


def _number(op: str, column: str, values: list) -> list[Piece]:
    if op == "between":
        return [f"{column} BETWEEN ", Param(values[0]), " AND ", Param(values[1])]
    symbol = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
    return [f"{column} {symbol} ", Param(values[0])]


def _moment(op: str, column: str, values: list, kind: str) -> list[Piece]:
    """Dates, times of day, and datetimes compared with a day: ``on 2024-03-01`` is that whole day."""
    day = kind == DATETIME

    def start(v):
        return dt.datetime.combine(v, dt.time()) if day and type(v) is dt.date else v

    def end(v):  # the first instant after ``v`` (after its whole day, for a day)
        return dt.datetime.combine(v + dt.timedelta(days=1), dt.time()) if day and type(v) is dt.date else None

    if op == "on":
        (v,) = values
        if end(v) is not None:
            return [f"{column} >= ", Param(start(v)), f" AND {column} < ", Param(end(v))]
        return [f"{column} = ", Param(v)]
    if op == "before":
        return [f"{column} < ", Param(start(values[0]))]
    if op == "after":
        (v,) = values
        return [f"{column} >= ", Param(end(v))] if end(v) is not None else [f"{column} > ", Param(v)]
    low, high = values
    if end(high) is not None:
        return [f"{column} >= ", Param(start(low)), f" AND {column} < ", Param(end(high))]
    return [f"{column} BETWEEN ", Param(start(low)), " AND ", Param(high)]


def _sort_key(value):
    return dt.datetime.combine(value, dt.time()) if type(value) is dt.date else value


def _parse(text: str, kind: str, column: str):
    value = text.strip()
    try:
        if kind == NUMBER:
            if _INTEGER.fullmatch(value) and abs(int(value)) < 2**63:
                return int(value)
            if _NUMBER.fullmatch(value) and math.isfinite(float(value)):
                return float(value)
            raise ValueError
        if kind == DATE:
            return dt.date.fromisoformat(value) if len(value) == 10 else _fail()
        if kind == DATETIME:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            parsed = dt.datetime.fromisoformat(value)
            return _fail() if parsed.tzinfo else parsed
        if kind == TIME:
            parsed = dt.time.fromisoformat(value)
            return _fail() if parsed.tzinfo else parsed
    except ValueError:
        pass
    raise QueryError(f"“{text[:80]}” is not {VALUE_HINTS.get(kind, 'a value')} (column “{column}”)")


def _fail():
    raise ValueError


def render(pieces: list[Piece], inline: bool = False) -> tuple[str, list]:
    """SQL text and its parameters; ``inline`` writes each value as a quoted literal instead of ``?``."""
    text, params = [], []
    for piece in pieces:
        if isinstance(piece, Param):
            if inline:
                text.append(literal(piece.value))
            else:
                text.append("?")
                params.append(piece.value)
        else:
            text.append(piece)
    return "".join(text), params


def literal(value) -> str:
    """A value as a SQL literal that reads back as exactly that value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError("a number must be finite")
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, dt.time):
        return f"TIME '{value.isoformat()}'"
    return quote_literal(str(value))
