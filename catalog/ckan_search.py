"""CKAN's ``package_search`` over the public catalogue: Solr-style ``q`` and ``fq``, sorting, paging, facets.

Free words are ranked by the catalogue's own search (``catalog.search``: BM25 over titles,
descriptions, keywords, columns, agencies and themes). Around them ``q`` and ``fq`` accept the
part of Solr's syntax CKAN clients send: ``field:value``, ``field:"a phrase"``,
``field:(a OR b)``, ``field:prefix*``, ranges ``metadata_modified:[2024-01-01T00:00:00Z TO *]``
(with ``NOW`` and ``NOW-7DAYS``), ``AND`` / ``OR`` / ``NOT`` (``&&``, ``||``, ``+``, ``-``),
parentheses and ``*:*``. The fields are those of ``FIELDS``; any other is refused with a
Search Query Error naming them.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass

import duckdb
import numpy as np

from catalog import search
from catalog.ckan_shapes import CkanCatalogue, SearchQueryError

MAX_QUERY_CHARS = 5_000
MAX_DEPTH = 20
MAX_ROWS = 1000
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
TEXT_FIELDS = ("title", "notes", "text")
EXACT_FIELDS = ("name", "id", "tags", "organization", "owner_org", "groups", "license_id", "res_format")
RANGE_FIELDS = ("metadata_modified", "metadata_created", "num_resources", "num_tags")
ALWAYS = {"capacity": "public", "state": "active", "type": "dataset", "dataset_type": "dataset", "private": "false"}
FIELDS = (*TEXT_FIELDS, *EXACT_FIELDS, *RANGE_FIELDS, *ALWAYS)
SORT_FIELDS = {"score": "score", "metadata_modified": "metadata_modified", "metadata_created": "metadata_created",
               "name": "name", "title": "title", "title_string": "title", "num_resources": "num_resources",
               "num_tags": "num_tags"}
DEFAULT_SORT = "score desc, metadata_modified desc"

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<all>\*:\*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<op>&&|\|\|)
  | (?P<field>[A-Za-z_][A-Za-z0-9_.]*):(?=[^\s)])
  | (?P<range>[\[{][^\]}]*[\]}])
  | (?P<phrase>"(?:[^"\\]|\\.)*")
  | (?P<sign>[+\-!](?=[^\s]))
  | (?P<word>[^\s()"]+)
""", re.VERBOSE)


# --------------------------------------------------------------------------------------- the query tree

@dataclass(frozen=True)
class All:
    pass


@dataclass(frozen=True)
class Text:
    words: str


@dataclass(frozen=True)
class Term:
    field: str
    value: str
    kind: str  # word, phrase or range


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class And:
    nodes: tuple


@dataclass(frozen=True)
class Or:
    nodes: tuple


def parse(text: str, parameter: str = "q"):
    """The tree of a Solr-style query; SearchQueryError for what cannot be read."""
    if not isinstance(text, str):
        raise SearchQueryError(f"{parameter} must be text")
    if len(text) > MAX_QUERY_CHARS:
        raise SearchQueryError(f"{parameter} is longer than {MAX_QUERY_CHARS} characters")
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group(kind)))
    parser = _Parser(tokens, parameter)
    tree = parser.expression(None, 0)
    if parser.at < len(tokens):
        raise SearchQueryError(f"{parameter}: unexpected “{tokens[parser.at][1][:40]}”; parentheses must pair up")
    return tree


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], parameter: str):
        self.tokens, self.at, self.parameter = tokens, 0, parameter

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1] in words

    def expression(self, field: str | None, depth: int):
        if depth > MAX_DEPTH:
            raise SearchQueryError(f"{self.parameter} nests parentheses too deeply")
        parts = [self.conjunction(field, depth)]
        while self.is_word("OR") or self.peek() == ("op", "||"):
            self.at += 1
            parts.append(self.conjunction(field, depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self, field: str | None, depth: int):
        parts = []
        while True:
            token = self.peek()
            if token is None or token[0] == "close" or self.is_word("OR") or token == ("op", "||"):
                break
            if self.is_word("AND") or token == ("op", "&&"):
                self.at += 1
                continue
            parts.append(self.unary(field, depth))
        if not parts:
            raise SearchQueryError(f"{self.parameter}: a term is missing (around “AND”, “OR” or parentheses)")
        merged = []
        for part in parts:  # neighbouring free words are ranked together, as one search
            if isinstance(part, Text) and merged and isinstance(merged[-1], Text):
                merged[-1] = Text(f"{merged[-1].words} {part.words}")
            else:
                merged.append(part)
        return merged[0] if len(merged) == 1 else And(tuple(merged))

    def unary(self, field: str | None, depth: int):
        token = self.peek()
        if self.is_word("NOT") or (token is not None and token[0] == "sign" and token[1] in "-!"):
            self.at += 1
            return Not(self.unary(field, depth + 1))
        if token is not None and token[0] == "sign":  # '+': required, as every AND term is
            self.at += 1
            return self.unary(field, depth + 1)
        return self.primary(field, depth)

    def primary(self, field: str | None, depth: int):
        kind, value = self.tokens[self.at]
        self.at += 1
        if kind == "all":
            return All()
        if kind == "open":
            inner = self.expression(field, depth + 1)
            if self.peek() is None or self.peek()[0] != "close":
                raise SearchQueryError(f"{self.parameter}: a “(” is not closed")
            self.at += 1
            return inner
        if kind == "field":
            name = value.lower()
            if name not in FIELDS:
                raise SearchQueryError(f"{self.parameter}: there is no field “{value[:40]}” to search; the "
                                       f"fields are {', '.join(FIELDS)}")
            if self.peek() is None:
                raise SearchQueryError(f"{self.parameter}: “{value}:” needs a value")
            return self.unary(name, depth + 1)
        if kind == "close":
            raise SearchQueryError(f"{self.parameter}: a “)” has no “(”")
        if kind == "op":
            raise SearchQueryError(f"{self.parameter}: “{value}” needs a term on each side")
        if kind == "phrase":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word":
            value = re.sub(r"\\(.)", r"\1", value)
        if field is None:
            if kind == "range":
                raise SearchQueryError(f"{self.parameter}: a range needs a field, as in metadata_modified:{value}")
            return All() if value == "*" else Text(value)
        return Term(field, value, kind)


# --------------------------------------------------------------------------------------- evaluation

@dataclass
class _Rows:
    """The public packages in the search index's order, with what each field matches against."""

    names: list[str]
    packages: list[dict]

    def __post_init__(self):
        p = self.packages
        self.values = {
            "name": [[x["name"]] for x in p], "id": [[x["id"], x["name"]] for x in p],
            "tags": [[t["name"] for t in x["tags"]] for x in p],
            "organization": [[x["organization"]["name"]] if x["organization"] else [] for x in p],
            "owner_org": [[x["owner_org"]] if x["owner_org"] else [] for x in p],
            "groups": [[g["name"] for g in x["groups"]] for x in p],
            "license_id": [[x["license_id"]] for x in p],
            "res_format": [sorted({r["format"] for r in x["resources"]}) for x in p],
            "metadata_modified": [[x["metadata_modified"]] if x["metadata_modified"] else [] for x in p],
            "metadata_created": [[x["metadata_created"]] if x["metadata_created"] else [] for x in p],
            "num_resources": [[x["num_resources"]] for x in p], "num_tags": [[x["num_tags"]] for x in p],
        }
        self.words = {"title": [set(search.tokenize(x["title"] or "")) for x in p],
                      "notes": [set(search.tokenize(x["notes"] or "")) for x in p]}
        self.stems: dict[str, list[set[str]]] = {}


class PackageSearch:
    """``package_search`` over one catalogue version (built once per version)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalogue: CkanCatalogue):
        self.con = con
        self.catalogue = catalogue
        self.index = search.search_index(con)
        names = [str(n) for n in self.index.results["id"].tolist()]
        self.known = np.array([n in catalogue.packages for n in names], dtype=bool)
        self.rows = _Rows(names, [catalogue.packages.get(n, _EMPTY) for n in names])
        for name, per_row in self.rows.words.items():  # titles and notes match by stem, as Solr's text fields do
            vocabulary = sorted(set().union(*per_row)) if per_row else []
            stem_of = dict(zip(vocabulary, self.index.stem_words(con, vocabulary)))
            self.rows.stems[name] = [{stem_of[w] for w in words} for words in per_row]

    def run(self, q, fq_list: list, sort, rows: int, start: int, facet_fields: list[str] | None,
            facet_limit: int = 50, facet_mincount: int = 1) -> dict:
        q = "*:*" if q is None or (isinstance(q, str) and not q.strip()) else q
        trees = [parse(q, "q"), *(parse(f, "fq") for f in fq_list if isinstance(f, str) and f.strip())]
        selected = self.known.copy()
        for tree in trees:
            selected &= self._mask(tree)
        wanted_words = " ".join(_free_words(trees[0]))
        scores = self.index.match(self.con, search.clean_text(wanted_words))[1] if wanted_words else \
            np.zeros(len(self.rows.names))
        sort = DEFAULT_SORT if sort is None or (isinstance(sort, str) and not sort.strip()) else sort
        order = self._order(np.flatnonzero(selected), scores, sort)
        page = order[start: start + rows]
        facets = {name: self._facet(name, order, facet_limit, facet_mincount) for name in facet_fields or ()}
        return {
            "count": int(len(order)), "sort": sort,
            "facets": {name: {value: count for value, _, count in items} for name, items in facets.items()},
            "search_facets": {name: {"title": name, "items": [{"name": value, "display_name": label, "count": count}
                                                              for value, label, count in items]}
                              for name, items in facets.items()},
            "results": [self.rows.packages[i] for i in page],
        }

    # -- matching

    def _mask(self, node) -> np.ndarray:
        size = len(self.rows.names)
        if isinstance(node, All):
            return np.ones(size, dtype=bool)
        if isinstance(node, Text):
            return self.index.match(self.con, search.clean_text(node.words))[0].copy()
        if isinstance(node, Not):
            return ~self._mask(node.node)
        if isinstance(node, And):
            mask = np.ones(size, dtype=bool)
            for part in node.nodes:
                mask &= self._mask(part)
            return mask
        if isinstance(node, Or):
            mask = np.zeros(size, dtype=bool)
            for part in node.nodes:
                mask |= self._mask(part)
            return mask
        return self._term(node)

    def _term(self, term: Term) -> np.ndarray:
        size = len(self.rows.names)
        if term.field in ALWAYS:
            return np.full(size, term.value.lower() in (ALWAYS[term.field], "*"), dtype=bool)
        if term.field == "text":
            return self._mask(Text(term.value)) if term.value != "*" else np.ones(size, dtype=bool)
        if term.kind == "range":
            low, high, inclusive = _range(term)
            return np.array([any(_within(v, low, high, inclusive) for v in values)
                             for values in self.rows.values[term.field]], dtype=bool)
        if term.field in self.rows.words:
            if term.value == "*":
                return np.ones(size, dtype=bool)
            if "*" in term.value or "?" in term.value:
                pattern = term.value.lower()
                return np.array([any(fnmatch.fnmatchcase(w, pattern) for w in words)
                                 for words in self.rows.words[term.field]], dtype=bool)
            wanted = set(self.index.stem_words(self.con, search.tokenize(term.value)))
            return np.array([bool(wanted) and wanted <= stems for stems in self.rows.stems[term.field]], dtype=bool)
        pattern = term.value.lower()
        wild = "*" in pattern or "?" in pattern
        return np.array([any(fnmatch.fnmatchcase(str(v).lower(), pattern) if wild else str(v).lower() == pattern
                             for v in values) for values in self.rows.values[term.field]], dtype=bool)

    # -- order and facets

    def _order(self, rows: np.ndarray, scores: np.ndarray, sort: str) -> list[int]:
        keys = []
        for part in str(sort).split(","):
            words = part.split()
            if not words:
                continue
            name = words[0].lower()
            direction = words[1].lower() if len(words) > 1 else "asc"
            if name not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
                raise SearchQueryError(f"sort: “{part.strip()[:60]}” is not “<field> asc” or “<field> desc”; the "
                                       f"fields are {', '.join(SORT_FIELDS)}")
            keys.append((SORT_FIELDS[name], direction == "desc"))
        ordered = sorted(rows.tolist(), key=lambda i: self.rows.names[i])
        for field, descending in reversed(keys):
            value = self._sort_value(field, scores)
            present = [i for i in ordered if value(i) is not None]
            missing = [i for i in ordered if value(i) is None]
            ordered = sorted(present, key=value, reverse=descending) + missing
        return ordered

    def _sort_value(self, field: str, scores: np.ndarray):
        packages = self.rows.packages
        if field == "score":
            return lambda i: float(scores[i])
        if field == "title":
            return lambda i: (packages[i]["title"] or "").lower()
        return lambda i: packages[i][field]

    def _facet(self, name: str, rows: list[int], limit: int, mincount: int) -> list[tuple[str, str, int]]:
        if name not in FACET_FIELDS:
            raise SearchQueryError(f"facet.field: “{str(name)[:40]}” cannot be counted; the facet fields are "
                                   f"{', '.join(FACET_FIELDS)}")
        counts: dict[str, int] = {}
        for i in rows:
            for value in dict.fromkeys(self.rows.values[name][i]):
                counts[value] = counts.get(value, 0) + 1
        items = sorted(((v, self._label(name, v), c) for v, c in counts.items() if c >= mincount),
                       key=lambda item: (-item[2], item[0]))
        return items if limit < 0 else items[:limit]

    def _label(self, name: str, value: str) -> str:
        if name == "organization":
            return self.catalogue.organizations.get(value, {}).get("title", value)
        if name == "groups":
            return self.catalogue.groups.get(value, {}).get("title", value)
        if name == "license_id":
            return next((p["license_title"] for p in self.catalogue.packages.values()
                         if p["license_id"] == value), value)
        return value


_EMPTY = {"name": "", "id": "", "title": "", "notes": "", "tags": [], "organization": None, "owner_org": None,
          "groups": [], "license_id": "", "resources": [], "metadata_modified": None, "metadata_created": None,
          "num_resources": 0, "num_tags": 0}


def _free_words(node) -> list[str]:
    """The free words a query asks for (not those under NOT): what ranks the results."""
    if isinstance(node, Text):
        return [node.words]
    if isinstance(node, Term) and node.field == "text" and node.value != "*":
        return [node.value]
    if isinstance(node, (And, Or)):
        return [w for part in node.nodes for w in _free_words(part)]
    return []


_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")
_NOW = re.compile(r"NOW(?:-(\d{1,6})(DAY|DAYS|HOUR|HOURS|MINUTE|MINUTES))?(?:/DAY)?")


def _range(term: Term) -> tuple[object, object, tuple[bool, bool]]:
    match = _RANGE.fullmatch(term.value)
    if not match:
        raise SearchQueryError(f"{term.field}: a range is written [from TO to], e.g. [2024-01-01T00:00:00Z TO *]")
    opening, low, high, closing = match.groups()
    return (_bound(term.field, low), _bound(term.field, high), (opening == "[", closing == "]"))


def _bound(field: str, text: str):
    if text == "*":
        return None
    if field in ("num_resources", "num_tags"):
        if not re.fullmatch(r"-?\d{1,9}", text):
            raise SearchQueryError(f"{field}: “{text[:40]}” is not a whole number")
        return int(text)
    now = _NOW.fullmatch(text)
    if now:
        moment = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        if now.group(1):
            unit = {"D": "days", "H": "hours", "M": "minutes"}[now.group(2)[0]]
            moment -= dt.timedelta(**{unit: int(now.group(1))})
        if text.endswith("/DAY"):
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment.isoformat(timespec="microseconds")
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchQueryError(f"{field}: “{text[:40]}” is not a date and time such as 2024-01-31T00:00:00Z, "
                               f"NOW or NOW-7DAYS") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _within(value, low, high, inclusive: tuple[bool, bool]) -> bool:
    if value is None:
        return False
    if low is not None and (value < low if inclusive[0] else value <= low):
        return False
    if high is not None and (value > high if inclusive[1] else value >= high):
        return False
    return True
