"""The data API: the rows of any public release, filtered, sorted and paged; and read-only SQL.

    GET /api/data/<dataset>[.<fmt>]          the current release
    GET /api/data/<dataset>@<n>[.<fmt>]      release n
    GET|POST /api/sql[.<fmt>]?sql=...        one SELECT over the published tables

Rows are chosen with Datasette's parameters: ``column=value`` or ``column__<op>=value`` (the
operators are in ``OPERATORS``), ``_sort`` or ``_sort_desc``, ``_col`` (repeated: the columns and
their order), ``_size`` (rows a page, at most ``MAX_PAGE_SIZE``) and ``_next``, the token of the
next page. Each condition is checked against the release and turned into SQL by
catalog.filters, the explorer's own filter language; the operators it lacks are written here from
its pieces, values always bound as parameters. A page starts after the last row's sort value and
primary key (keyset), or, for a release without a primary key, at an offset. The token is signed:
it only works for the query it came from, it pins the release, and a forged one is refused.

Formats, by extension or ``_format``: json (rows, total, next, next_url, sql, columns), csv, ndjson
and parquet. With ``_stream=1`` (or ``_size=max``) csv, ndjson and parquet carry every matching row
in one response, read from the sandbox batch by batch, so memory stays flat whatever the size.
Every answer gives the count of matching rows and the SQL that selects them: in the JSON, or as
``X-Total-Count`` and ``X-Query`` (percent-encoded) headers.

A dataset that is unknown, not public, or has no such release gets the same 404.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import logging
import math
import os
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from catalog import catalogue_db, downloads, snippets
from catalog import filters as flt
from catalog.casting import quote_ident, quote_literal
from catalog.errors import CatalogError, QueryError
from catalog.api.threads import in_thread
from catalog.query import ROW_LIMIT, Sandbox, _as_text
from catalog.settings import HomeLayout

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000
SQL_DEFAULT_ROWS = 1_000
# DuckDB threads per query: the API answers many small queries side by side, and one thread each
# spares them the hand-offs between threads (at concurrency 8, a third less CPU for each request).
QUERY_THREADS = 1
STREAM_BATCH_ROWS = 16_384  # rows the sandbox hands a stream at a time: each batch is encoded, sent, dropped
STREAM_BATCH_TIME_LIMIT = 30.0  # seconds the sandbox may take over each batch of a stream
MAX_HEADER_SQL = 8_000
SECRET_ENV = "GOVCAT_API_SECRET"
DATA_NAME = re.compile(r"(?P<dataset>[a-z][a-z0-9_]{1,62})(?:@(?P<release>[1-9][0-9]{0,8}))?"
                       r"(?:\.(?P<fmt>[^.]{1,20}))?")
FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson",
           "parquet": "application/vnd.apache.parquet"}
FORMAT_ALIASES = {"jsonl": "ndjson"}
STREAMED = ("csv", "ndjson", "parquet")
YES, NO = ("1", "on", "true", "yes"), ("0", "off", "false", "no", "")
PAGE_PARAMETERS = ("_sort", "_sort_desc", "_col", "_nocol", "_size", "_next", "_format", "_stream")
log = logging.getLogger("govcat.api")

OPERATORS = {  # Datasette's operators, and what each means here
    "exact": "equals", "not": "is not", "contains": "contains (ignoring case)",
    "notcontains": "does not contain (ignoring case)", "startswith": "starts with (ignoring case)",
    "endswith": "ends with (ignoring case)", "gt": "greater than", "gte": "greater than or equal to",
    "lt": "less than", "lte": "less than or equal to", "in": "is one of (comma-separated, or a JSON list)",
    "notin": "is none of", "like": "matches a LIKE pattern (% and _, ignoring case)",
    "notlike": "does not match a LIKE pattern", "glob": "matches a GLOB pattern (* and ?)",
    "date": "falls on the day", "isnull": "is missing", "notnull": "is not missing",
    "isblank": "is missing or empty", "notblank": "is neither missing nor empty",
}
_ANY = ("isnull", "notnull", "isblank", "notblank")
_ORDERED = ("exact", "not", "gt", "gte", "lt", "lte", "in", "notin")
KIND_OPERATORS = {
    flt.TEXT: ("exact", "not", "contains", "notcontains", "startswith", "endswith", "gt", "gte", "lt", "lte", "in",
               "notin", "like", "notlike", "glob", *_ANY),
    flt.NUMBER: (*_ORDERED, *_ANY), flt.DATE: (*_ORDERED, "date", *_ANY), flt.DATETIME: (*_ORDERED, "date", *_ANY),
    flt.TIME: (*_ORDERED, *_ANY), flt.BOOLEAN: ("exact", "not", "in", "notin", *_ANY), flt.OTHER: _ANY,
}
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "t"), ("false", "0", "no", "f")


class BadRequest(CatalogError):
    """The request cannot be answered as asked; the message says why and what instead."""

    status = 400


class UnsupportedBody(BadRequest):
    status = 415


class NotFound(CatalogError):
    """No public dataset, or no such release of one (the same answer for restricted ones)."""


# ------------------------------------------------------------------------------ the published catalogue


@dataclass(frozen=True)
class ReleaseTable:
    """One public release as the sandbox serves it."""

    dataset_id: str
    release: int
    current: int
    schema: pa.Schema
    primary_key: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"{self.dataset_id}@{self.release}"

    @functools.cached_property
    def kinds(self) -> dict[str, str]:
        return flt.column_kinds(self.schema)

    @functools.cached_property
    def types(self) -> dict[str, pa.DataType]:
        return {f.name: f.type for f in self.schema}


class Published:
    """The sandbox and the release look-ups of one version of the catalogue file."""

    def __init__(self, home: Path):
        self.home = home
        self.sandbox = Sandbox(home, threads=QUERY_THREADS)
        self._releases: dict[tuple[str, int | None], ReleaseTable] = {}
        self._lock = threading.Lock()

    def cached_release(self, dataset_id: str, release: int | None) -> ReleaseTable | None:
        """The release if it has been looked up before, without looking."""
        with self._lock:
            return self._releases.get((dataset_id, release))

    def release(self, dataset_id: str, release: int | None) -> ReleaseTable:
        found = self.cached_release(dataset_id, release)
        if found is not None:
            return found
        try:
            about = downloads.public_release(self.home, dataset_id, release)
        except downloads.NotPublished as exc:
            raise NotFound(str(exc)) from None
        table = f"{dataset_id}@{about.release}"
        if table not in self.sandbox.tables:  # published after this catalogue version was read
            raise NotFound(_not_found(dataset_id, release))
        schema = self.sandbox.query(f"SELECT * FROM {quote_ident(table)} LIMIT 0", row_limit=1).table.schema
        declared = about.schema.get("primaryKey") or ()
        key = (declared,) if isinstance(declared, str) else tuple(declared)
        key = key if key and all(name in schema.names for name in key) else ()
        found = ReleaseTable(dataset_id, about.release, about.current, schema, key)
        with self._lock:
            if len(self._releases) > 512:
                self._releases.clear()
            self._releases[(dataset_id, release)] = found
        return found


def _not_found(dataset_id: str, release: int | None) -> str:
    if release is None:
        return f"there is no published public dataset {dataset_id[:80]!r}"
    return f"there is no release {release} of a published public dataset {dataset_id[:80]!r}"


_published: dict[tuple[str, str], Published] = {}
_published_lock = threading.Lock()


def published(home: Path) -> Published:
    """The one sandbox of the catalogue version now in ``home`` (a publish makes a new one; the
    one before is dropped, and closes once no request reads through it any more)."""
    version = catalogue_db.file_version(HomeLayout(home).catalogue)
    key = (str(home), version)
    with _published_lock:
        found = _published.get(key)
        if found is None:
            found = _published[key] = Published(home)
            for old in [k for k in _published if k[0] == key[0] and k != key]:
                del _published[old]
        return found


# ------------------------------------------------------------------------------ filters


def conditions(params: list[tuple[str, str]], table: ReleaseTable) -> tuple[list[flt.Piece], list[tuple[str, str]]]:
    """The WHERE pieces of Datasette-style ``column__op=value`` parameters, and the filters as read
    (for the page token); the page's own parameters (``PAGE_PARAMETERS``) are left to the caller."""
    kinds = table.kinds
    pieces: list[flt.Piece] = []
    read = []
    for name, value in params:
        if name in PAGE_PARAMETERS:
            continue
        column, op = _column_and_operator(name, kinds)
        if len(read) == flt.MAX_FILTERS:
            raise BadRequest(f"at most {flt.MAX_FILTERS} filters can be combined")
        pieces += [" AND "] * bool(pieces) + ["(", *_condition(column, op, value, kinds), ")"]
        read.append((name, value))
    return pieces, read


def _column_and_operator(name: str, kinds: dict[str, str]) -> tuple[str, str]:
    if name in kinds:
        return name, "exact"
    column, _, op = name.rpartition("__")
    if column in kinds and op in OPERATORS:
        return column, op
    if column in kinds:
        raise BadRequest(f"“{op[:40]}” is not an operator; after “{column}__” use one of: {', '.join(OPERATORS)}")
    if name.startswith("_"):
        raise BadRequest(f"“{name[:60]}” is not a parameter here; the parameters are {', '.join(PAGE_PARAMETERS)}, "
                         f"and column filters written column=value or column__operator=value")
    shown = ", ".join(list(kinds)[:40]) + (", …" if len(kinds) > 40 else "")
    raise BadRequest(f"there is no column “{(column or name)[:80]}” in this release; its columns are: {shown}")


def _condition(column: str, op: str, value: str, kinds: dict[str, str]) -> list[flt.Piece]:
    kind = kinds[column]
    if op not in KIND_OPERATORS[kind]:
        raise BadRequest(f"“{op}” does not apply to the {kind} column “{column}”; use one of: "
                         f"{', '.join(KIND_OPERATORS[kind])}")
    if op in ("isnull", "notnull") or (op in ("isblank", "notblank") and kind != flt.TEXT):
        return _compiled(column, "missing" if op in ("isnull", "isblank") else "present", (), kinds)
    if op in ("isblank", "notblank"):
        return _compiled(column, "empty" if op == "isblank" else "notempty", (), kinds)
    if op in ("in", "notin"):
        choices = _choices(value, column)
        if kind == flt.TEXT:
            pieces = _compiled(column, "in", tuple(choices), kinds)
        else:
            pieces = ["("]
            for number, choice in enumerate(choices):
                pieces += [" OR "] * bool(number) + _equals(column, choice, kinds)
            pieces.append(")")
        return pieces if op == "in" else _negated(pieces)
    if op in ("exact", "not"):
        pieces = _equals(column, value, kinds)
        return pieces if op == "exact" else _negated(pieces)
    if op == "date":
        if len(value.strip()) != 10:
            raise BadRequest(f"“{column}__date” takes a day written 2024-03-31, not “{value[:40]}”")
        return _compiled(column, "on", (value,), kinds)
    if kind == flt.TEXT:
        return _text_condition(column, op, value, kinds)
    if kind == flt.NUMBER:
        return _compiled(column, {"gt": "gt", "gte": "ge", "lt": "lt", "lte": "le"}[op], (value,), kinds)
    # dates, times and datetimes: a day given for a datetime column means that whole day
    if op in ("gt", "lt"):
        return _compiled(column, "after" if op == "gt" else "before", (value,), kinds)
    return _negated(_compiled(column, "before" if op == "gte" else "after", (value,), kinds))


def _text_condition(column: str, op: str, value: str, kinds: dict[str, str]) -> list[flt.Piece]:
    if op in ("contains", "notcontains"):
        pieces = _compiled(column, "contains", (value,), kinds)
        return pieces if op == "contains" else _negated(pieces)
    if op == "startswith":
        return _compiled(column, "starts", (value,), kinds)
    if len(value) > flt.MAX_VALUE_CHARS:
        raise BadRequest(f"a value for “{column}” is longer than {flt.MAX_VALUE_CHARS} characters")
    name = quote_ident(column)
    if op == "endswith":
        return [f"ends_with(lower({name}), ", flt.Param(value.lower()), ")"]
    if op in ("like", "notlike"):
        return [f"{name} {'NOT ' if op == 'notlike' else ''}ILIKE ", flt.Param(value)]
    if op == "glob":
        return [f"{name} GLOB ", flt.Param(value)]
    symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return [f"{name} {symbol} ", flt.Param(value)]


def _equals(column: str, value: str, kinds: dict[str, str]) -> list[flt.Piece]:
    kind = kinds[column]
    if kind == flt.BOOLEAN:
        word = value.strip().lower()
        if word not in TRUE_WORDS + FALSE_WORDS:
            raise BadRequest(f"“{value[:40]}” is not true or false (column “{column}”)")
        return _compiled(column, "true" if word in TRUE_WORDS else "false", (), kinds)
    return _compiled(column, "eq" if kind in (flt.TEXT, flt.NUMBER) else "on", (value,), kinds)


def _compiled(column: str, op: str, values: tuple[str, ...], kinds: dict[str, str]) -> list[flt.Piece]:
    return flt.compile_filters([flt.Filter(column, op, values)], kinds)


def _negated(pieces: list[flt.Piece]) -> list[flt.Piece]:
    return ["NOT (", *pieces, ")"]


def _choices(value: str, column: str) -> list[str]:
    if value.lstrip().startswith("["):
        try:
            listed = json.loads(value)
        except ValueError:
            listed = None
        if not isinstance(listed, list) or not all(isinstance(v, (str, int, float)) for v in listed):
            raise BadRequest(f"the list for “{column}” is not a JSON list of values")
        choices = [v if isinstance(v, str) else json.dumps(v) for v in listed]
    else:
        choices = value.split(",")
    if not 1 <= len(choices) <= flt.MAX_CHOICES:
        raise BadRequest(f"“{column}” can be one of 1 to {flt.MAX_CHOICES} values; {len(choices)} were given")
    return list(dict.fromkeys(choices))


# ------------------------------------------------------------------------------ order and pages


KEYSET_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_string,
                pa.types.is_large_string, pa.types.is_date, pa.types.is_timestamp, pa.types.is_time,
                pa.types.is_boolean)


@dataclass(frozen=True)
class Order:
    """How rows are ordered, and by what a page says where the next one starts."""

    sort: str | None
    descending: bool
    key: tuple[str, ...]  # the primary key, when pages are found by keyset; () pages by offset
    stored: bool = False  # the table's rows are stored in key order: a scan gives them so, unsorted

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns whose values in a page's last row its keyset token holds."""
        return ((self.sort,) if self.sort else ()) + self.key if self.key else ()

    def clause(self, columns: list[str]) -> str:
        if self.stored and not self.sort and self.key:
            return ""
        terms = []
        if self.sort:
            terms.append(f"{quote_ident(self.sort)} {'DESC' if self.descending else 'ASC'} NULLS LAST")
        ties = self.key or (tuple(c for c in columns if c != self.sort) if self.sort else ())
        terms += [f"{quote_ident(c)} ASC NULLS LAST" for c in ties]
        return f" ORDER BY {', '.join(terms)}" if terms else ""

    def after(self, values: list) -> list[flt.Piece]:
        """The condition of rows after the row whose key values are ``values``."""
        key_values = values[1:] if self.sort else values
        later = _key_after(list(self.key), key_values)
        if not self.sort:
            return later
        column, last = quote_ident(self.sort), values[0]
        if last is None:
            return [f"({column} IS NULL AND ", *later, ")"]
        beyond = "<" if self.descending else ">"
        return [f"({column} {beyond} ", flt.Param(last), f" OR ({column} = ", flt.Param(last), " AND ", *later,
                f") OR {column} IS NULL)"]


def _key_after(columns: list[str], values: list) -> list[flt.Piece]:
    column, rest = quote_ident(columns[0]), columns[1:]
    if not rest:
        return [f"{column} > ", flt.Param(values[0])]
    return [f"({column} > ", flt.Param(values[0]), f" OR ({column} = ", flt.Param(values[0]), " AND ",
            *_key_after(rest, values[1:]), "))"]


def order_for(table: ReleaseTable, sort: str | None, descending: bool, stored: tuple[str, ...] = ()) -> Order:
    """How to order the rows; ``stored``: the columns the table's rows are stored in the order of."""
    types = table.types
    keyset = table.primary_key and all(any(test(types[c]) for test in KEYSET_TYPES)
                                       for c in ((sort,) if sort else ()) + table.primary_key)
    key = table.primary_key if keyset else ()
    return Order(sort, descending, key, stored=bool(key) and stored == key)


# ------------------------------------------------------------------------------ page tokens


def _key_for(home: Path) -> bytes:
    """The key page tokens are signed with: $GOVCAT_API_SECRET, else one kept in the home's secrets
    (so tokens survive a restart and work across workers), else one for this process."""
    if os.environ.get(SECRET_ENV):
        return hashlib.sha256(os.environ[SECRET_ENV].encode()).digest()
    with _keys_lock:
        if home in _keys:
            return _keys[home]
        path = HomeLayout(home).secrets / "api-paging.key"
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "w") as handle:
                        handle.write(secrets.token_hex(32) + "\n")
                except FileExistsError:
                    pass
            key = bytes.fromhex(path.read_text().strip())
            if len(key) < 16:
                raise ValueError
        except (OSError, ValueError):
            log.warning("no paging key could be kept in the home's secrets; page tokens last until a restart")
            key = secrets.token_bytes(32)
        _keys[home] = key
        return key


_keys: dict[Path, bytes] = {}
_keys_lock = threading.Lock()
BAD_TOKEN = ("the _next token is not one this server gave for this query (it was changed, cut short, or "
             "belongs to other filters or another sort): start again from the first page, without _next")


def make_token(home: Path, identity: str, release: int, served: int, keys: list | None, total: int) -> str:
    """A signed token of the next page: the rows served so far, the last row's key values, and the
    total (a release never changes, so the next pages need not count it again)."""
    body = {"r": release, "n": served, "t": total}
    if keys is not None:
        body["k"] = [_packed(v) for v in keys]
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=")
    return f"{payload.decode()}.{_signature(home, identity, payload)}"


def read_token(home: Path, identity: str, token: str) -> tuple[int, int, list | None, int | None]:
    """(release, rows already served, key values of the last row or None, the total if the token
    holds it); BadRequest if forged."""
    payload, _, signature = token.strip().partition(".")
    expected = _signature(home, identity, payload.encode("utf-8", "replace")).encode()
    if not (payload and signature and len(token) < 20_000
            and hmac.compare_digest(signature.encode("utf-8", "replace"), expected)):
        raise BadRequest(BAD_TOKEN)
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        release, served = int(body["r"]), int(body["n"])
        keys = [_unpacked(v) for v in body["k"]] if "k" in body else None
        total = int(body["t"]) if body.get("t") is not None else None
    except (ValueError, KeyError, TypeError, IndexError):
        raise BadRequest(BAD_TOKEN) from None
    if release < 1 or served < 0 or total is not None and total < served:
        raise BadRequest(BAD_TOKEN)
    return release, served, keys, total


def _signature(home: Path, identity: str, payload: bytes) -> str:
    digest = hmac.new(_key_for(home), payload + b"\n" + identity.encode("utf-8", "replace"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


def _packed(value):
    """A key value as JSON that reads back as exactly the same Python value (see ``UNPACK``)."""
    if value is None:
        return None
    if isinstance(value, (bool, str)):
        return ["b" if isinstance(value, bool) else "s", value]
    if isinstance(value, float):
        return ["f", repr(value)]  # repr reads back as the same double, nan and inf included
    if isinstance(value, (int, Decimal)):
        return ["i" if isinstance(value, int) else "m", str(value)]
    for tag, kind in (("dt", dt.datetime), ("d", dt.date), ("t", dt.time)):  # a datetime is also a date
        if isinstance(value, kind):
            return [tag, value.isoformat()]
    raise TypeError(type(value).__name__)


UNPACK = {"b": bool, "i": int, "f": float, "m": Decimal, "s": str, "dt": dt.datetime.fromisoformat,
          "d": dt.date.fromisoformat, "t": dt.time.fromisoformat}


def _unpacked(value):
    if value is None:
        return None
    tag, text = value
    if tag == "b" and not isinstance(text, bool) or tag != "b" and not isinstance(text, str):
        raise ValueError
    return UNPACK[tag](text)


# ------------------------------------------------------------------------------ SQL for each format


def _shaped(field: pa.Field, fmt: str) -> str:
    """The SQL giving one column as ``fmt`` writes it: times in ISO 8601; in JSON no NaN or infinity;
    in CSV the cell's text as the download files write it (formulas neutralised, see _csv_cell)."""
    name, kind = quote_ident(field.name), field.type
    if pa.types.is_timestamp(kind) and fmt != "parquet":
        if kind.tz is not None:
            return f"(replace(CAST(timezone('UTC', {name}) AS VARCHAR), ' ', 'T') || 'Z')"
        return f"replace(CAST({name} AS VARCHAR), ' ', 'T')"
    if fmt in ("json", "ndjson") and pa.types.is_floating(kind):
        return f"CASE WHEN isfinite({name}) THEN {name} END"
    if fmt == "csv" and _is_text(kind):
        starts = ", ".join(quote_literal(c) for c in downloads.FORMULA_STARTS)
        return f"CASE WHEN left({name}, 1) IN ({starts}) THEN '''' || {name} ELSE {name} END"
    if fmt == "csv":
        return f"CAST({name} AS VARCHAR)"
    return name


def _csv_cell(field: pa.Field) -> str:
    """A CSV cell from the column's text (``_shaped``): quoted when it holds a comma, a quote or a line
    break, or is empty (so it differs from a missing value, an empty cell), as DuckDB's COPY writes it.
    Numbers, dates, times and booleans never need quotes."""
    name = quote_ident(field.name)
    if not (_is_text(field.type) or _is_nested(field.type)):
        return f"coalesce({name}, '')"
    return (f"CASE WHEN {name} IS NULL THEN '' WHEN {name} = '' OR regexp_matches({name}, '[,\"\\n\\r]') "
            f"THEN '\"' || replace({name}, '\"', '\"\"') || '\"' ELSE {name} END")


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _is_nested(kind: pa.DataType) -> bool:
    return not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
                or pa.types.is_temporal(kind) or pa.types.is_boolean(kind))


@functools.lru_cache(maxsize=1024)
def _shaped_select(fields: tuple[pa.Field, ...], fmt: str, source: str, extra: tuple[str, ...]) -> str:
    return shaped_select(list(fields), fmt, source, list(extra))


def shaped_select(fields: list[pa.Field], fmt: str, source: str, extra: list[str] = ()) -> str:
    """SELECT the ``fields`` of ``source`` (a subquery) shaped for ``fmt``: for csv, json and ndjson one
    column holding each row as a line of text; for parquet the columns as they are. Then the ``extra``
    columns (a page's key values), as they are."""
    keys = [f'{quote_ident(name)} AS "_key_{number}"' for number, name in enumerate(extra)]
    if fmt == "csv":
        cells = [f"{_shaped(f, fmt)} AS {quote_ident(f.name)}" for f in fields]
        line = " || ',' || ".join(_csv_cell(f) for f in fields)
        keyed = [f'"_key_{number}"' for number in range(len(extra))]
        source = f'SELECT {", ".join(cells + keys)} FROM ({source}) AS "rows"'
        return f'SELECT {", ".join([line + " AS " + chr(34) + "line" + chr(34)] + keyed)} FROM ({source}) AS "cells"'
    if fmt in ("json", "ndjson"):
        members = ", ".join(f"{quote_literal(f.name)}: {_shaped(f, fmt)}" for f in fields)
        columns = [f'to_json({{{members}}}) AS "line"']
    else:
        columns = [f"{_shaped(f, fmt)} AS {quote_ident(f.name)}" for f in fields]
    return f'SELECT {", ".join(columns + keys)} FROM ({source}) AS "rows"'


class _Sink(io.RawIOBase):
    """A file that keeps what is written until it is taken: Arrow's writers write into it."""

    def __init__(self):
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def encoded(batches, fields: list[pa.Field], fmt: str):
    """The bytes of ``batches`` (shaped by ``shaped_select``) in ``fmt``, piece by piece: csv with a
    header row, ndjson one object a line, parquet with one row group a batch."""
    names = [f.name for f in fields]
    if fmt == "csv":
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow([downloads.neutralised(n) for n in names])
        yield header.getvalue().encode("utf-8")
    if fmt != "parquet":
        for batch in batches:
            if batch.num_rows:
                yield _joined(batch.column(0))
                yield b"\n"
    else:
        sink, writer = _Sink(), None
        try:
            for batch in batches:
                batch = _first(batch, len(names), names)
                if writer is None:
                    writer = pq.ParquetWriter(sink, batch.schema, compression="zstd")
                if batch.num_rows:
                    writer.write_batch(batch)
                    yield sink.take()
            if writer is None:
                writer = pq.ParquetWriter(sink, pa.schema(fields), compression="zstd")
        finally:
            if writer is not None:
                writer.close()
        yield sink.take()


def _joined(column: pa.Array) -> bytes:
    """Text values joined by line breaks, by Arrow: a batch's strings never become Python objects."""
    text = column if column.type == pa.string() else column.cast(pa.string())
    listed = pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text)
    return pc.binary_join(listed, "\n")[0].as_buffer().to_pybytes()


def _first(batch: pa.RecordBatch, count: int, names: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(batch.columns[:count], names=names)


# ------------------------------------------------------------------------------ the routes



DATA_ANSWERS = {200: {"description": "The rows: a JSON page, or CSV, NDJSON or Parquet (paged or streamed)",
                      "content": {"application/json": {}, "text/csv": {}, "application/x-ndjson": {},
                                  "application/vnd.apache.parquet": {}}}}
SQL_ANSWERS = {200: {"description": "The result as JSON or CSV",
                     "content": {"application/json": {}, "text/csv": {}}}}

def build_router(home: Path) -> APIRouter:
    """The data and SQL endpoints over the published data in ``home``."""
    home = Path(home)
    router = APIRouter()

    @router.get("/api/data/{name}", summary="Rows of a public release: filtered, sorted, paged or streamed",
                response_class=Response, responses=DATA_ANSWERS,
                description="``<dataset>`` (its current release) or ``<dataset>@<n>`` (release n), with an "
                            "optional .json, .csv, .ndjson or .parquet. Filter with column=value or "
                            "column__op=value, op one of: " + ", ".join(OPERATORS) + ".")
    async def data(name: str, request: Request,
                   sort: str | None = Query(None, alias="_sort", description="sort by this column, ascending"),
                   sort_desc: str | None = Query(None, alias="_sort_desc",
                                                 description="sort by this column, descending"),
                   col: list[str] | None = Query(None, alias="_col", description="a column to include (repeat)"),
                   nocol: list[str] | None = Query(None, alias="_nocol",
                                                   description="a column to leave out (repeat)"),
                   size: str | None = Query(None, alias="_size", description=f"rows a page, 0 to {MAX_PAGE_SIZE}, "
                                            "or max (every row, streamed, for csv, ndjson and parquet)"),
                   next_token: str | None = Query(None, alias="_next", description="the token of the next page"),
                   fmt: str | None = Query(None, alias="_format", description="json, csv, ndjson or parquet"),
                   stream: str | None = Query(None, alias="_stream",
                                              description="1: every matching row, streamed"),
                   ) -> Response:
        # The parameters above are declared for the OpenAPI description; all are read from the query
        # string itself, where the column filters have names of their own.
        try:
            if _by_indexed_key(home, name, request):
                return _data(home, name, request)
            return await in_thread(_data, home, name, request)
        except CatalogError as exc:
            return _error(exc)

    sql_text = Query(None, description='one SELECT; each public dataset is a table named by its id, and its '
                                       'release n is "<id>@n"')
    sql_size = Query(None, alias="_size", description=f"most rows (default {SQL_DEFAULT_ROWS}, at most {ROW_LIMIT})")
    sql_format = Query(None, alias="_format", description="json or csv")

    @router.get("/api/sql", summary="Run one read-only SELECT over the published tables",
                response_class=Response, responses=SQL_ANSWERS)
    async def sql_get(request: Request, sql: str | None = sql_text, size: str | None = sql_size,
                      format_: str | None = sql_format) -> Response:
        return await _sql(home, request, None, post=False)

    @router.get("/api/sql.{fmt}", summary="Run one read-only SELECT, the rows as json or csv",
                response_class=Response, responses=SQL_ANSWERS)
    async def sql_get_as(request: Request, fmt: str, sql: str | None = sql_text, size: str | None = sql_size,
                         format_: str | None = sql_format) -> Response:
        return await _sql(home, request, fmt, post=False)

    @router.post("/api/sql", summary="Run one read-only SELECT (a form or JSON body: sql, _size, _format)",
                 response_class=Response, responses=SQL_ANSWERS)
    async def sql_post(request: Request) -> Response:
        return await _sql(home, request, None, post=True)

    @router.post("/api/sql.{fmt}", summary="Run one read-only SELECT, the rows as json or csv",
                 response_class=Response, responses=SQL_ANSWERS)
    async def sql_post_as(request: Request, fmt: str) -> Response:
        return await _sql(home, request, fmt, post=True)

    return router


def _by_indexed_key(home: Path, name: str, request: Request) -> bool:
    """Whether the request asks for a row by the whole primary key of a release whose indexed
    serving copy is already open: the index finds the row in about a millisecond, so it is answered
    on the event loop; handing it to a thread would cost a third as much again. Anything else, or
    anything that may have to open or look up something first, goes to a thread."""
    wanted = DATA_NAME.fullmatch(name)
    if wanted is None:
        return False
    with _published_lock:
        catalogue = _published.get((str(home), catalogue_db.file_version(HomeLayout(home).catalogue)))
    if catalogue is None:
        return False
    table = catalogue.cached_release(wanted["dataset"], int(wanted["release"]) if wanted["release"] else None)
    if table is None or not table.primary_key or catalogue.sandbox.open_order(table.table) != table.primary_key:
        return False
    names = [key for key, _ in request.query_params.multi_items()]
    filters = [key for key in names if key not in PAGE_PARAMETERS]
    return (sorted(filters) == sorted(table.primary_key) and "_next" not in names and "_stream" not in names
            and request.query_params.get("_size", "").strip().lower() != "max"
            and all(table.kinds[column] in (flt.TEXT, flt.NUMBER) for column in filters))


def _data(home: Path, name: str, request: Request) -> Response:
    started = time.perf_counter()
    wanted = DATA_NAME.fullmatch(name)
    if wanted is None:
        raise NotFound(f"there is no published public dataset {name[:80]!r}: ask for /api/data/<dataset> or "
                       f"/api/data/<dataset>@<release>")
    params = list(request.query_params.multi_items())
    single = _single_parameters(params)
    fmt = _format(wanted["fmt"], single.get("_format"))
    streaming = _streaming(single, fmt)
    size = _page_size(single.get("_size"))
    dataset_id, path_release = wanted["dataset"], int(wanted["release"]) if wanted["release"] else None
    catalogue = published(home)
    table = catalogue.release(dataset_id, path_release)
    sort, descending = _sort(single, table)
    where, filters_read = conditions(params, table)
    identity = json.dumps([dataset_id, path_release, sort, descending, sorted(filters_read)])
    served, last_keys, total = 0, None, None
    if "_next" in single:
        if streaming:
            raise BadRequest("_next pages through rows; a stream (_stream=1 or _size=max) already sends them all")
        release, served, last_keys, total = read_token(home, identity, single["_next"])
        if release != table.release:
            table = catalogue.release(dataset_id, release)
    columns = _columns(params, table)
    order = order_for(table, sort, descending, catalogue.sandbox.storage_order(table.table) if not sort else ())
    if last_keys is not None and len(last_keys) != len(order.keys):
        raise BadRequest(BAD_TOKEN)
    selection = Selection(table, columns, where, order, fmt)
    if streaming:
        return _streamed(catalogue.sandbox, selection, _counted(catalogue.sandbox, selection))
    return _page(home, catalogue.sandbox, request, selection, total, size, served, last_keys, identity, started)


@dataclass(frozen=True)
class Selection:
    """The rows a request asks for: which release, columns, conditions and order, in what format."""

    table: ReleaseTable
    columns: list[str]
    where: list[flt.Piece]
    order: Order
    fmt: str

    @property
    def fields(self) -> list[pa.Field]:
        return [self.table.schema.field(c) for c in self.columns]

    def pieces(self, extra: list[str] = (), after: list[flt.Piece] = (), tail: str = "",
               ordered: bool = True) -> list[flt.Piece]:
        condition = self.where + ([" AND "] if self.where and after else []) + list(after)
        named = ", ".join(quote_ident(c) for c in dict.fromkeys([*self.columns, *extra]))
        order = self.order.clause(list(self.table.schema.names)) if ordered else ""
        return [f"SELECT {named} FROM {quote_ident(self.table.table)}", *flt.where(condition), order, tail]

    def headers(self, total: int, shown_sql: str) -> dict[str, str]:
        return {"X-Total-Count": str(total), "X-Release": self.table.table, **_query_headers(shown_sql)}


def _counted(sandbox: Sandbox, chosen: Selection) -> int:
    """How many rows match the selection's conditions."""
    sql, params = flt.render([f"SELECT count(*) AS total FROM {quote_ident(chosen.table.table)}",
                              *flt.where(chosen.where)])
    return int(sandbox.query_built(sql, params, {chosen.table.table}, row_limit=1).table.column(0)[0].as_py())


def _streamed(sandbox: Sandbox, chosen: Selection, total: int) -> Response:
    """Every matching row, in the release's own order unless a sort is asked for (sorting holds the
    rows in the sandbox while it sorts; reading in order does not)."""
    pieces = chosen.pieces(ordered=chosen.order.sort is not None)
    sql, params = flt.render(pieces)
    rows = sandbox.stream(shaped_select(chosen.fields, chosen.fmt, sql), params, batch_rows=STREAM_BATCH_ROWS,
                          time_limit=STREAM_BATCH_TIME_LIMIT)
    headers = chosen.headers(total, flt.render(pieces, inline=True)[0])
    table = chosen.table
    headers["Content-Disposition"] = (f'attachment; filename="{table.dataset_id}-release-{table.release}-rows.'
                                      f'{chosen.fmt}"')
    return StreamingResponse(_logged(encoded(rows, chosen.fields, chosen.fmt), table.table),
                             media_type=FORMATS[chosen.fmt], headers=headers)


def _page(home: Path, sandbox: Sandbox, request: Request, chosen: Selection, total: int | None, size: int,
          served: int, last_keys: list | None, identity: str, started: float) -> Response:
    """One page: ``size`` rows after the last row of the page before (or, without its keys, after
    the rows served so far). One row more is asked for, to know whether another page follows;
    the rows are counted only when the total is not known otherwise (the page is the last one,
    or the token of the page before holds it)."""
    keys = list(chosen.order.keys)
    after = chosen.order.after(last_keys) if last_keys is not None else []
    offset = f" OFFSET {served}" if last_keys is None and served else ""
    pieces = chosen.pieces(extra=keys, after=after, tail=f" LIMIT {size + 1}{offset}")
    sql, params = flt.render(pieces)
    page = sandbox.query_built(_shaped_select(tuple(chosen.fields), chosen.fmt, sql, tuple(keys)), params,
                               {chosen.table.table},
                               row_limit=size + 1).table
    more = page.num_rows > size
    page = page.slice(0, size)
    if total is None:
        total = served + page.num_rows if not more else _counted(sandbox, chosen)
    shown_sql = flt.render(pieces, inline=True)[0]
    token = None
    if size and more:
        last = _last_keys(page, keys, chosen.order)
        token = make_token(home, identity, chosen.table.release, served + size, last, total)
    next_url = _next_url(request, token) if token else None
    headers = chosen.headers(total, shown_sql)
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
        headers["X-Next"] = token
    if chosen.fmt != "json":
        return Response(b"".join(encoded(page.to_batches(), chosen.fields, chosen.fmt)),
                        media_type=FORMATS[chosen.fmt], headers=headers)
    table = chosen.table
    about = {"dataset": table.dataset_id, "release": table.release, "current_release": table.current,
             "total": total, "size": size, "next": token, "next_url": next_url, "sql": shown_sql,
             "columns": chosen.columns, "types": {c: table.kinds[c] for c in chosen.columns},
             "seconds": round(time.perf_counter() - started, 4)}
    rows = ",".join(page.column(0).to_pylist()) if page.num_rows else ""
    body = '{"rows":[' + rows + "]," + json.dumps(about, ensure_ascii=False, separators=(",", ":"))[1:]
    return Response(body.encode("utf-8"), media_type=FORMATS["json"], headers=headers)


def _last_keys(page: pa.Table, keys: list[str], order: Order) -> list | None:
    """The key values of the page's last row, for the next page's token; None (go on by offset, in the
    same order) when there are none, or one cannot be held (a key value Python cannot represent)."""
    if not keys:
        return None
    try:
        values = [page.column(page.num_columns - len(keys) + i)[-1].as_py() for i in range(len(keys))]
        for value in values:
            _packed(value)
    except (ValueError, OverflowError, TypeError, pa.ArrowException):
        return None
    if any(v is None for v in values[len(values) - len(order.key):]):
        return None
    return values


def _single_parameters(params: list[tuple[str, str]]) -> dict[str, str]:
    """The page's own parameters that may be given once."""
    found: dict[str, str] = {}
    for name, value in params:
        if name in PAGE_PARAMETERS and name not in ("_col", "_nocol"):
            if name in found:
                raise BadRequest(f"give {name} once")
            found[name] = value
    return found


def _format(extension: str | None, asked: str | None, offered=tuple(FORMATS)) -> str:
    chosen = [FORMAT_ALIASES.get(f.lower(), f.lower()) for f in (extension, asked) if f]
    for fmt in chosen:
        if fmt not in offered:
            raise BadRequest(f"“{fmt[:20]}” is not a format here: use {', '.join(offered)}"
                             + (" (a whole release in more formats is at /downloads/<dataset>.<format>)"
                                if offered == tuple(FORMATS) else ""))
    if len(set(chosen)) > 1:
        raise BadRequest(f"the address asks for {chosen[0]} and _format for {chosen[1]}: ask for one")
    return chosen[0] if chosen else "json"


def _streaming(single: dict[str, str], fmt: str) -> bool:
    stream = single.get("_stream", "").strip().lower()
    if stream not in YES + NO:
        raise BadRequest("_stream is 1 (every matching row, streamed) or 0")
    wanted = stream in YES or (single.get("_size", "").strip().lower() == "max" and fmt != "json")
    if wanted and fmt not in STREAMED:
        raise BadRequest("a stream of every row comes as csv, ndjson or parquet: add .csv, .ndjson or .parquet")
    return wanted


def _page_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    if text.strip().lower() == "max":
        return MAX_PAGE_SIZE
    if not re.fullmatch(r"\s*[0-9]{1,9}\s*", text):
        raise BadRequest(f"_size is a number of rows, 0 to {MAX_PAGE_SIZE} (more are capped), or max")
    return min(int(text), MAX_PAGE_SIZE)


def _sort(single: dict[str, str], table: ReleaseTable) -> tuple[str | None, bool]:
    if "_sort" in single and "_sort_desc" in single:
        raise BadRequest("sort by one column: give _sort or _sort_desc, not both")
    column = single.get("_sort", single.get("_sort_desc"))
    if column is None:
        return None, False
    if column not in table.schema.names:
        raise BadRequest(f"there is no column “{column[:80]}” to sort by in this release")
    return column, "_sort_desc" in single


def _columns(params: list[tuple[str, str]], table: ReleaseTable) -> list[str]:
    wanted = [v for k, v in params if k == "_col"]
    dropped = {v for k, v in params if k == "_nocol"}
    for name in [*wanted, *dropped]:
        if name not in table.schema.names:
            raise BadRequest(f"there is no column “{name[:80]}” in this release")
    chosen = [c for c in dict.fromkeys(wanted or table.schema.names) if c not in dropped]
    if not chosen:
        raise BadRequest("no column is left to show: _nocol leaves out every one")
    return chosen


def _next_url(request: Request, token: str) -> str:
    """The next page's address: on $GOVCAT_API_URL when it is set, else where this request came."""
    try:
        base = snippets.api_url() if os.environ.get(snippets.API_URL_ENV) else ""
    except CatalogError:
        base = ""
    base = base or str(request.base_url).rstrip("/")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "_next"]
    return f"{base}{request.url.path}?{urllib.parse.urlencode([*kept, ('_next', token)])}"


def _query_headers(sql: str) -> dict[str, str]:
    """The SQL as a header: percent-encoded where it is not printable ASCII (and ``%`` itself); cut
    short past MAX_HEADER_SQL characters, which ``X-Query-Truncated`` then says."""
    text = urllib.parse.quote(sql, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")
    if len(text) <= MAX_HEADER_SQL:
        return {"X-Query": text}
    return {"X-Query": re.sub(r"%[0-9A-F]?$", "", text[:MAX_HEADER_SQL]), "X-Query-Truncated": "1"}


def _logged(pieces, table: str):
    """A stream's bytes. A failure part-way is logged and ends the response cut short: the client
    sees an incomplete transfer, never a file that looks whole."""
    try:
        yield from pieces
    except QueryError as exc:
        log.warning("a stream of %s stopped: %s", table, exc)
        raise


def _error(exc: CatalogError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else getattr(exc, "status", 400)
    return JSONResponse({"error": str(exc)}, status_code=status)


# ------------------------------------------------------------------------------ SQL


async def _sql(home: Path, request: Request, fmt: str | None, post: bool) -> Response:
    try:
        params = await _body_parameters(request) if post else dict(request.query_params)
        fmt = _format(fmt, params.get("_format"), offered=("json", "csv"))
        sql = params.get("sql")
        if not sql or not sql.strip():
            raise BadRequest("send the query as sql=SELECT ...; each public dataset is a table named by its id")
        size = params.get("_size")
        if size is not None and not re.fullmatch(r"\s*[0-9]{1,9}\s*", size):
            raise BadRequest(f"_size is a number of rows, 1 to {ROW_LIMIT}")
        limit = max(1, min(int(size), ROW_LIMIT)) if size is not None else SQL_DEFAULT_ROWS
        result = await in_thread(lambda: published(home).sandbox.query(sql, None, limit))
    except CatalogError as exc:
        return _error(exc)
    names = _unique(result.columns)
    columns = [_plain_column(column) for column in result.table.columns]
    rows = list(zip(*columns)) if columns else [()] * result.table.num_rows
    headers = {"X-Row-Count": str(len(rows)), "X-Truncated": "1" if result.truncated else "0",
               **_query_headers(sql)}
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([downloads.neutralised(n) for n in names])
        writer.writerows([_csv_text(v) for v in row] for row in rows)
        return Response(text.getvalue().encode("utf-8"), media_type=FORMATS["csv"], headers=headers)
    body = {"rows": [dict(zip(names, row)) for row in rows], "columns": names, "truncated": result.truncated,
            "row_count": len(rows), "sql": sql, "seconds": round(result.seconds, 4)}
    return JSONResponse(body, headers=headers)


async def _body_parameters(request: Request) -> dict[str, str]:
    """The query string's parameters, and the body's over them (a form, or a JSON object)."""
    params = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
            params.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif kind:
            raise UnsupportedBody('send the query as a form (sql=...) or as JSON ({"sql": "..."})')
    except (ValueError, UnicodeDecodeError, AssertionError):
        raise BadRequest("the body is not a form or a JSON object holding sql") from None
    return params


def _unique(names: list[str]) -> list[str]:
    """Column names made distinct (``SELECT 1 AS a, 2 AS a`` gives a and a_2), for JSON objects."""
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, number = name, 1
        while candidate in seen:
            number += 1
            candidate = f"{name}_{number}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _plain_column(column: pa.ChunkedArray) -> list:
    """A result column's values for JSON or CSV; intervals, and values Python cannot hold (a date in
    year 5877642), as DuckDB writes them."""
    if pa.types.is_interval(column.type) or pa.types.is_duration(column.type):
        return _as_text(column).tolist()
    try:
        values = column.to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):
        return _as_text(column).tolist()
    return [_plain(v) for v in values]


def _plain(value):
    """A value as JSON holds it: dates and times in ISO 8601, no NaN, bytes in base64."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _csv_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return downloads.neutralised(value)
