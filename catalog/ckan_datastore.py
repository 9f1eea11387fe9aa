"""CKAN's ``datastore_search`` and ``datastore_search_sql``, answered by the query sandbox.

A datastore resource is a sandbox table: a public dataset's current release (``<id>``) or one
release of it (``<id>@N``). CKAN's parameters are translated into the explorer's own filter
language (``catalog.filters``), so values are bound as parameters and every column is checked:

    filters   {"col": value}            equals (a date: that day; a datetime: that moment)
              {"col": [v1, v2]}         any of them
              {"col": null}             is missing
              {"col": {"lt": v, ...}}   lt, lte, gt, gte, eq, ne (numbers, dates, times)
    q         "words"                   every word appears in some column (text contains it,
                                        a number or date equals it); {"col": "words"} for one column
    fields, sort ("a, b desc nulls last"), limit (100, at most 32,000), offset, distinct,
    include_total, records_format (objects, lists, csv, tsv)

Like CKAN every row has an ``_id``: its position in the release, from 1, which is also the
default order, so paging with ``offset`` neither skips nor repeats rows.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

import pyarrow as pa

from catalog import filters as flt
from catalog.casting import quote_ident
from catalog.ckan_shapes import Forbidden, NotFound, ValidationError, field_type, json_value
from catalog.errors import QueryError
from catalog.query import OUT_OF_REACH, Sandbox

DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000
MAX_OFFSET = 10**12
MAX_Q_WORDS = 20
ROW_ID = "_id"
ROWS_CTE = "datastore_rows"
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")
COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
_SORT = re.compile(r'\s*("(?:[^"]|"")+"|[^\s,"]+)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*', re.IGNORECASE)
FORBIDDEN_SQL = (OUT_OF_REACH, "only SELECT queries are allowed")


def table_for(sandbox: Sandbox, resource_id) -> str:
    """The sandbox table a datastore resource id names; NotFound for anything else."""
    if isinstance(resource_id, str) and resource_id in sandbox.tables:
        return resource_id
    raise NotFound(f'Resource "{str(resource_id)[:100]}" was not found.')


def search(sandbox: Sandbox, resource_id, *, filters=None, q=None, fields=None, sort=None, limit=None,
           offset=None, distinct: bool = False, include_total: bool = True, records_format: str = "objects",
           field_info: dict[str, dict] | None = None, link_path: str = "/api/3/action/datastore_search",
           link_args: dict | None = None) -> dict:
    """One page of a resource's rows, in CKAN's shape."""
    table = table_for(sandbox, resource_id)
    if records_format not in RECORDS_FORMATS:
        raise ValidationError("records_format", f"must be one of {', '.join(RECORDS_FORMATS)}")
    schema = sandbox.query(f"SELECT * FROM {quote_ident(table)} LIMIT 0", row_limit=1).table.schema
    own_id = ROW_ID in schema.names
    kinds = {ROW_ID: flt.NUMBER, **flt.column_kinds(schema)}
    types = {ROW_ID: "int", **{f.name: field_type(f.type) for f in schema}}
    if own_id:
        source = f"FROM {quote_ident(table)}"
        prefix = ""
    else:
        source = f"FROM {ROWS_CTE}"
        prefix = f"WITH {ROWS_CTE} AS (SELECT row_number() OVER () AS {ROW_ID}, * FROM {quote_ident(table)}) "

    chosen = _fields(fields, kinds, distinct)
    conditions = [*_filter_pieces(filters, kinds), *_q_pieces(q, kinds)]
    where: list = []
    for number, pieces in enumerate(conditions):
        where += [" WHERE " if number == 0 else " AND ", "(", *pieces, ")"]
    order = _order(sort, kinds, chosen, distinct)
    limit_value = _natural(limit, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset_value = _natural(offset, "offset", 0, MAX_OFFSET)

    selected = ", ".join(quote_ident(c) for c in chosen)
    head = f"{prefix}SELECT {'DISTINCT ' if distinct else ''}{selected} {source}"
    page = [head, *where, order, f" LIMIT {limit_value} OFFSET {offset_value}"]
    rows = _run(sandbox, page, limit_value)
    result = {
        "include_total": include_total, "resource_id": table,
        "fields": [_field(name, types[name], (field_info or {}).get(name)) for name in chosen],
        "records_format": records_format, "records": _records(rows, chosen, records_format),
    }
    for name, value in (("filters", filters), ("q", q), ("sort", sort), ("limit", limit), ("offset", offset),
                        ("distinct", distinct or None)):
        if value not in (None, ""):
            result[name] = {"limit": limit_value, "offset": offset_value}.get(name, value)
    result["_links"] = _links(link_path, {**(link_args or {}), "resource_id": table}, offset_value, limit_value)
    if include_total:
        counted = [f"{prefix}SELECT count(*) FROM (SELECT {'DISTINCT ' if distinct else ''}{selected} {source}",
                   *where, ")"]
        result["total"] = int(_run(sandbox, counted, 1).column(0)[0].as_py())
        result["total_was_estimated"] = False
    return result


def search_sql(sandbox: Sandbox, sql) -> dict:
    """``datastore_search_sql``: one SELECT through the sandbox, at most MAX_LIMIT rows."""
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError("sql", "Missing value")
    try:
        result = sandbox.query(sql, row_limit=MAX_LIMIT)
    except QueryError as exc:
        message = str(exc)
        if message.startswith(FORBIDDEN_SQL):
            raise Forbidden(f"Not authorized to run this query: {message}") from None
        raise ValidationError("query", message) from None
    names = result.table.column_names
    answer = {"sql": sql, "fields": [{"id": f.name, "type": field_type(f.type)} for f in result.table.schema],
              "records": _records(result.table, names, "objects")}
    if result.truncated:
        answer["records_truncated"] = True
    return answer


# --------------------------------------------------------------------------------------- parameters

def _natural(value, name: str, default: int, most: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not re.fullmatch(r"\s*\+?\d{1,15}\s*", str(value)):
        raise ValidationError(name, "Must be a natural number")
    return min(int(value), most)


def _fields(fields, kinds: dict[str, str], distinct: bool) -> list[str]:
    if fields is None or fields == "" or fields == []:
        names = list(kinds)
        return [n for n in names if n != ROW_ID] if distinct else names
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ValidationError("fields", "must be a list of column names or a comma-separated string")
    for name in fields:
        if name not in kinds:
            raise ValidationError("fields", f'field "{name[:80]}" not in table')
    return list(dict.fromkeys(fields))


def _order(sort, kinds: dict[str, str], chosen: list[str], distinct: bool) -> str:
    if sort is None or sort == "" or sort == []:
        return "" if distinct else f" ORDER BY {ROW_ID}"
    parts = sort if isinstance(sort, list) else str(sort).split(",") if isinstance(sort, str) else None
    if parts is None or not all(isinstance(p, str) for p in parts):
        raise ValidationError("sort", "must be text such as “amount desc, name”")
    terms, named = [], []
    for part in parts:
        match = _SORT.fullmatch(part)
        if not match:
            raise ValidationError("sort", f"“{part.strip()[:80]}” is not “<field> [asc|desc] [nulls first|last]”")
        name = match.group(1)
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name
        if name not in kinds:
            raise ValidationError("sort", f'field "{name[:80]}" not in table')
        if distinct and name not in chosen:
            raise ValidationError("sort", f'field "{name[:80]}" must be among the fields of a distinct search')
        direction = (match.group(2) or "asc").upper()
        nulls = (match.group(3) or "last").upper()
        terms.append(f"{quote_ident(name)} {direction} NULLS {nulls}")
        named.append(name)
    if not distinct and ROW_ID not in named:
        terms.append(ROW_ID)  # rows that tie keep one order from page to page
    return " ORDER BY " + ", ".join(terms)


def _filter_pieces(filters, kinds: dict[str, str]) -> list[list]:
    if filters is None or filters == "":
        return []
    if not isinstance(filters, dict):
        raise ValidationError("filters", "must be a JSON object of column: value")
    if len(filters) > flt.MAX_FILTERS:
        raise ValidationError("filters", f"at most {flt.MAX_FILTERS} columns can be filtered at once")
    found = []
    for column, wanted in filters.items():
        if column not in kinds:
            raise ValidationError("filters", f'field "{str(column)[:80]}" not in table')
        kind = kinds[column]
        if isinstance(wanted, list):
            if not 1 <= len(wanted) <= flt.MAX_CHOICES:
                raise ValidationError("filters", f"a list for “{column}” holds 1 to {flt.MAX_CHOICES} values")
            if kind == flt.TEXT and all(isinstance(v, str) for v in wanted):
                found.append(_compiled(flt.Filter(column, "in", tuple(wanted)), kinds))
            else:
                found.append(_any_of([_equals(column, kind, v, kinds) for v in wanted]))
        elif isinstance(wanted, dict):
            found.append(_comparisons(column, kind, wanted, kinds))
        else:
            found.append(_equals(column, kind, wanted, kinds))
    return found


def _equals(column: str, kind: str, value, kinds: dict[str, str]) -> list:
    if value is None:
        return _compiled(flt.Filter(column, "missing"), kinds)
    if isinstance(value, (dict, list)):
        raise ValidationError("filters", f"a value for “{column}” must be text, a number or null")
    if kind == flt.BOOLEAN:
        text = str(value).strip().lower()
        if text not in ("true", "false", "t", "f", "1", "0", "yes", "no"):
            raise ValidationError("filters", f"“{column}” is true or false, not “{str(value)[:40]}”")
        return _compiled(flt.Filter(column, "true" if text in ("true", "t", "1", "yes") else "false"), kinds)
    if kind == flt.OTHER:
        raise ValidationError("filters", f"“{column}” can only be filtered for null")
    op = "on" if kind in (flt.DATE, flt.DATETIME, flt.TIME) else "eq"
    return _compiled(flt.Filter(column, op, (_text(value),)), kinds)


def _comparisons(column: str, kind: str, wanted: dict, kinds: dict[str, str]) -> list:
    moments = kind in (flt.DATE, flt.DATETIME, flt.TIME)
    if kind != flt.NUMBER and not moments and set(wanted) - {"eq", "ne"}:
        raise ValidationError("filters", f"“{column}” is {kind}: it takes eq or ne, not lt, lte, gt or gte")
    pieces: list = []
    for op, value in wanted.items():
        if op not in COMPARISONS:
            raise ValidationError("filters", f"“{str(op)[:20]}” is not a comparison; use {', '.join(COMPARISONS)}")
        if op in ("eq", "ne"):
            condition = _equals(column, kind, value, kinds)
        else:
            if value is None or isinstance(value, (dict, list, bool)):
                raise ValidationError("filters", f"“{column} {op}” needs a number or a date")
            code = {"lt": "lt", "lte": "le", "gt": "gt", "gte": "ge"}[op] if not moments else \
                {"lt": "before", "lte": "after", "gt": "after", "gte": "before"}[op]
            condition = _compiled(flt.Filter(column, code, (_text(value),)), kinds)
            if moments and op in ("lte", "gte"):  # at most = not after, at least = not before
                condition = [f"{quote_ident(column)} IS NOT NULL AND NOT (", *condition, ")"]
        if op == "ne":
            condition = [f"{quote_ident(column)} IS NOT NULL AND NOT (", *condition, ")"]
        pieces += ([" AND "] if pieces else []) + ["(", *condition, ")"]
    if not pieces:
        raise ValidationError("filters", f"the comparisons for “{column}” are empty")
    return pieces


def _q_pieces(q, kinds: dict[str, str]) -> list[list]:
    if q is None or q == "":
        return []
    if isinstance(q, str):
        searched = {None: q}
    elif isinstance(q, dict):
        searched = q
    else:
        raise ValidationError("q", "must be text, or a JSON object of column: text")
    found = []
    for column, text in searched.items():
        if column is not None and column not in kinds:
            raise ValidationError("q", f'field "{str(column)[:80]}" not in table')
        if not isinstance(text, (str, int, float)) or isinstance(text, bool):
            raise ValidationError("q", "the text to search for must be text")
        words = str(text).split()
        if len(words) > MAX_Q_WORDS:
            raise ValidationError("q", f"at most {MAX_Q_WORDS} words can be searched for at once")
        columns = [column] if column is not None else [c for c in kinds if c != ROW_ID]
        for word in words:
            places = [p for p in (_word_in(c, kinds[c], word, kinds) for c in columns) if p]
            found.append(_any_of(places) if places else ["FALSE"])
    return found


def _word_in(column: str, kind: str, word: str, kinds: dict[str, str]) -> list | None:
    """Where ``word`` can be in this column: text containing it, or a number or date equal to it."""
    if kind == flt.TEXT:
        return _compiled(flt.Filter(column, "contains", (word,)), kinds)
    if kind in (flt.NUMBER, flt.DATE, flt.DATETIME, flt.TIME):
        try:
            return _compiled(flt.Filter(column, "eq" if kind == flt.NUMBER else "on", (word,)), kinds)
        except ValidationError:
            return None
    return None


def _any_of(conditions: list[list]) -> list:
    pieces: list = []
    for condition in conditions:
        pieces += ([" OR "] if pieces else []) + ["(", *condition, ")"]
    return pieces


def _compiled(one: flt.Filter, kinds: dict[str, str]) -> list:
    try:
        return flt.compile_filters([one], kinds)
    except QueryError as exc:
        raise ValidationError("filters", str(exc)) from None


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------- answers

def _run(sandbox: Sandbox, pieces: list, row_limit: int) -> pa.Table:
    sql, params = flt.render(pieces)
    try:
        return sandbox.query(sql, params, row_limit=max(row_limit, 1)).table
    except QueryError as exc:
        raise ValidationError("query", str(exc)) from None


def _field(name: str, kind: str, info: dict | None) -> dict:
    field = {"id": name, "type": kind}
    if info:
        field["info"] = info
    return field


def _records(table: pa.Table, names: list[str], records_format: str):
    columns = [[json_value(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    rows = list(zip(*columns)) if columns else []
    if records_format == "objects":
        return [dict(zip(names, row)) for row in rows]
    if records_format == "lists":
        return [list(row) for row in rows]
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if records_format == "tsv" else ",", lineterminator="\n")
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _links(path: str, args: dict, offset: int, limit: int) -> dict:
    start = {k: v for k, v in args.items() if k != "offset" and isinstance(v, (str, int, float))}
    links = {"start": f"{path}?{urlencode(start)}", "next": f"{path}?{urlencode({**start, 'offset': offset + limit})}"}
    if offset > 0:
        links["prev"] = f"{path}?{urlencode({**start, 'offset': max(0, offset - limit)})}" if offset > limit else \
            links["start"]
    return links
