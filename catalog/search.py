"""Searching the catalogue: BM25 ranking, facets, sorting, paging and "did you mean", public datasets only.

The words come from DuckDB's full-text index (built in ``catalog.catalogue_db`` over titles,
descriptions, keywords, column names and descriptions, agency names and theme labels, with
English stemming and accents folded). Scoring with the index's own ``match_bm25`` macro takes
30-70 ms on 10,000 datasets, so each catalogue version is read once into a ``SearchIndex``:
the public datasets, their postings per stemmed word, one code array per facet and the words
they use with their stems. A search is then numpy work, plus DuckDB only to stem a word the
catalogue does not hold or to look for the word nearest to a misspelt one. Only public
datasets go into the index, so the others are never found, never counted, never weigh on a
score, and their words are never suggested.

Scores are BM25 (k1 1.2, b 0.75) with natural logarithms, over public datasets: the order of
``match_bm25`` (which takes base-10 logarithms) over the same rows. A word the index cannot
match (a prefix, a fragment of an id) still finds datasets whose id, title, keywords or
columns contain the whole query, ranked after every scored match.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
import weakref
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from catalog.vocabulary import FREQUENCIES

MAX_QUERY_CHARS = 200
MAX_PAGE = 1000
RESULT_COLUMNS = ("id", "title", "description", "agency", "agency_name", "theme", "theme_label", "keywords",
                  "licence", "licence_title", "frequency", "frequency_label", "release", "rows", "published_at",
                  "status", "source_format")
# facet -> (column holding its value, column holding the label shown)
FACETS: dict[str, tuple[str, str]] = {
    "agency": ("agency", "agency_name"),
    "theme": ("theme", "theme_label"),
    "licence": ("licence", "licence_title"),
    "format": ("source_format", "format_label"),
    "frequency": ("frequency", "frequency_label"),
    "updated": ("updated", "updated_label"),
}
ORDERED_FACETS = ("updated", "frequency")          # listed in their natural order, the others by count
# "last updated" buckets, newest first: (value, label, at most this many days since the last release)
UPDATED = (("week", "Past 7 days", 7), ("month", "8 to 30 days ago", 30), ("year", "1 to 12 months ago", 365),
           ("older", "More than a year ago", None), ("never", "Never published", None))
SORTS = {"relevance": "Relevance", "updated": "Recently updated", "name": "Name A–Z"}
BM25_K, BM25_B = 1.2, 0.75          # the defaults of DuckDB's match_bm25
# what the index's tokenize macro turns into spaces (catalogue_db builds it with DuckDB's defaults)
VOCABULARY_TABLE = "memory.main.search_vocabulary"   # in the reader's own in-memory database, not the catalogue
_SEPARATORS = re.compile(r"[0-9!@#$%^&*()_+={}\[\]:;<>,.?~\\/|'\"`-]+")


@dataclass
class SearchResult:
    hits: pd.DataFrame
    total: int
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    suggestion: str | None = None     # the query with misspelt words corrected, when that finds datasets
    sort: str = "relevance"


def search(con: duckdb.DuckDBPyConnection, text: str = "", agencies: Iterable[str] = (),
           themes: Iterable[str] = (), limit: int = 20, offset: int = 0, *,
           filters: Mapping[str, Iterable[str]] | None = None, sort: str = "relevance",
           now: dt.datetime | None = None) -> SearchResult:
    """Public datasets matching ``text`` (all of them when empty), sorted, one page of them, with facets.

    ``filters`` maps a facet of ``FACETS`` to the values wanted (any of them); ``agencies`` and
    ``themes`` are shorthands for two of them. Each facet's counts apply every other facet's filter.
    ``sort`` is one of ``SORTS``; relevance without words is name order. ``now`` places the
    "last updated" buckets (default: the current time).
    """
    text = clean_text(text)
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: one of {', '.join(SORTS)}")
    chosen: dict[str, set[str]] = {}
    for name, values in [*(filters or {}).items(), ("agency", agencies), ("theme", themes)]:
        values = {values} if isinstance(values, str) else set(values or ())
        if name in FACETS and values:                       # an empty list filters nothing
            chosen[name] = chosen.get(name, set()) | values
    limit, offset = max(0, min(int(limit), MAX_PAGE)), max(0, int(offset))
    index = search_index(con)
    matched, scores = index.match(con, text)
    codes = dict(index.codes, updated=index.updated_codes(now or dt.datetime.now(dt.timezone.utc)))
    masks = {name: index.allowed(name, values)[codes[name]] for name, values in chosen.items()}
    selected = _all(matched, masks.values())
    rows = np.flatnonzero(selected)                          # the index is in name order
    if sort == "relevance" and text:
        rows = rows[np.lexsort((rows, -scores[rows]))]
    elif sort == "updated":
        rows = rows[np.argsort(index.updated_rank[rows], kind="stable")]
    page = rows[offset: offset + limit]
    hits = index.results.iloc[page].reset_index(drop=True)
    hits["score"] = scores[page]
    hits["updated"] = [UPDATED[code][0] for code in codes["updated"][page]]
    facets = {name: index.facet(name, codes[name], _all(matched, [m for n, m in masks.items() if n != name]))
              for name in FACETS}
    suggestion = _suggestion(con, index, text, masks) if text else None
    return SearchResult(hits=hits, total=len(rows), facets=facets, suggestion=suggestion, sort=sort)


def clean_text(text: str | None) -> str:
    """The query as searched: whitespace collapsed, at most MAX_QUERY_CHARS."""
    return " ".join((text or "")[: MAX_QUERY_CHARS * 4].split())[:MAX_QUERY_CHARS]


def tokenize(text: str) -> list[str]:
    """The words of ``text`` as the full-text index cuts them: accents stripped, lower case, no digits."""
    folded = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)).lower()
    return _SEPARATORS.sub(" ", folded).split()


def _all(start: np.ndarray, masks: Iterable[np.ndarray]) -> np.ndarray:
    result = start.copy()
    for mask in masks:
        result &= mask
    return result


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cur = con.cursor()
    cur.execute("USE cat")
    return cur


# --------------------------------------------------------------------------- the index


class SearchIndex:
    """Everything a search needs from one catalogue version, held in memory."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        cur = _cursor(con)
        try:
            frame = cur.execute(f"""
                SELECT d.*, upper(d.source_format) AS format_label, docs.docid AS docid,
                       epoch_us(d.published_at) AS published_us,
                       lower(concat_ws(' ', d.id, d.title, d.keywords_text, d.columns_text)) AS haystack,
                       concat_ws(' ', d.title, d.description, d.keywords_text, d.columns_text, d.agency_name,
                                 d.theme_label) AS words
                FROM (SELECT {', '.join(dict.fromkeys([*RESULT_COLUMNS, 'keywords_text', 'columns_text']))}
                      FROM datasets WHERE access = 'public') d
                JOIN fts_main_datasets.docs docs ON docs.name = d.id
                ORDER BY lower(d.title), d.id""").df()
            self.size = len(frame)
            results = frame[list(RESULT_COLUMNS)]
            # plain Python objects: taking one page of them is a third of the cost of Arrow-backed strings
            texts = [c for c in results.columns if pd.api.types.is_string_dtype(results[c])]
            self.results = results.astype({c: object for c in texts})
            self.haystack = frame["haystack"].tolist()
            self._facets(frame)
            published = frame["published_us"].to_numpy(dtype="float64", na_value=np.nan)
            self.published_us = published
            never_last = np.where(np.isnan(published), np.inf, -np.nan_to_num(published, nan=0.0))
            self.updated_rank = np.empty(self.size, dtype=np.int64)
            self.updated_rank[np.lexsort((np.arange(self.size), never_last))] = np.arange(self.size)
            self._postings(cur, frame["docid"].to_numpy(dtype=np.int64))
            self._vocabulary(cur, frame["words"])
        finally:
            cur.close()

    def _facets(self, frame: pd.DataFrame) -> None:
        """Per facet: its values (sorted; frequencies in the vocabulary's order), labels, and a code per row."""
        self.values: dict[str, list[str]] = {}
        self.labels: dict[str, list[str]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for name, (column, label) in FACETS.items():
            if name == "updated":
                continue
            codes, values = pd.factorize(frame[column], sort=True)
            values = [str(v) for v in values]
            if name == "frequency":
                order = sorted(range(len(values)), key=lambda i: list(FREQUENCIES).index(values[i])
                               if values[i] in FREQUENCIES else len(FREQUENCIES))
                position = np.empty(len(order), dtype=np.int64)
                position[order] = np.arange(len(order))
                codes, values = position[codes], [values[i] for i in order]
            labels = frame.groupby(column)[label].first()
            self.values[name] = values
            self.labels[name] = [str(labels[v]) for v in values]
            self.codes[name] = np.asarray(codes, dtype=np.int64)
        self.values["updated"] = [value for value, _, _ in UPDATED]
        self.labels["updated"] = [label for _, label, _ in UPDATED]

    def _postings(self, cur: duckdb.DuckDBPyConnection, docids: np.ndarray) -> None:
        """Per stemmed word, the public rows holding it and how often; BM25 statistics over public rows."""
        row_of_doc = np.full(int(docids.max(initial=-1)) + 1, -1, dtype=np.int64)
        row_of_doc[docids] = np.arange(len(docids))
        terms = cur.execute("""
            SELECT t.termid, t.docid, count(*)::INTEGER AS tf, any_value(d.term) AS term
            FROM fts_main_datasets.terms t JOIN fts_main_datasets.dict d USING (termid)
            GROUP BY t.termid, t.docid ORDER BY t.termid, t.docid""").fetchnumpy()
        docid = terms["docid"].astype(np.int64)
        public = docid < len(row_of_doc)
        public[public] = row_of_doc[docid[public]] >= 0
        self.rows = row_of_doc[docid[public]]
        self.tf = terms["tf"][public].astype(np.float64)
        termid, words = terms["termid"][public], terms["term"][public]
        starts = np.flatnonzero(np.r_[True, termid[1:] != termid[:-1]]) if len(termid) else np.array([], int)
        ends = np.r_[starts[1:], len(termid)]
        self.postings = {str(words[s]): (int(s), int(e)) for s, e in zip(starts, ends)}
        lengths = np.bincount(self.rows, weights=self.tf, minlength=self.size)
        average = lengths.mean() if self.size else 1.0
        self.length_norm = BM25_K * (1 - BM25_B + BM25_B * lengths / max(average, 1e-9))

    def _vocabulary(self, cur: duckdb.DuckDBPyConnection, texts: pd.Series) -> None:
        """The public datasets' words, how many datasets use each, and each word's stem."""
        counts: dict[str, int] = {}
        for text in texts:
            for word in set(tokenize(text or "")):
                counts[word] = counts.get(word, 0) + 1
        self.words = sorted(w for w in counts if len(w) >= 2)
        (stems,) = cur.execute("SELECT list_transform($1::VARCHAR[], w -> stem(w, 'english'))",
                               [self.words]).fetchone()
        self.stem_of = dict(zip(self.words, stems or []))
        self.other_stems: dict[str, str] = {}                # stems of query words no dataset uses
        self.stems = set(self.stem_of.values())
        self.vocabulary = pa.table({"word": pa.array(self.words, pa.string()),
                                    "datasets": pa.array([counts[w] for w in self.words], pa.int64())})

    # ------------------------------------------------------------------ per query

    def match(self, con: duckdb.DuckDBPyConnection, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(matched, score) per public row; everything matches an empty query with score 0."""
        scores = np.zeros(self.size)
        if not text:
            return np.ones(self.size, dtype=bool), scores
        hit = np.zeros(self.size, dtype=bool)
        words = tokenize(text)
        unmatched = " ".join(words) != text.lower()         # digits or signs the index leaves out
        for word, stem in zip(words, self.stem_words(con, words)):
            span = self.postings.get(stem)
            if span is None:
                unmatched |= word not in self.stem_of          # not a stop word of the public datasets
                continue
            start, end = span
            rows, tf = self.rows[start:end], self.tf[start:end]
            df = end - start
            idf = np.log((self.size - df + 0.5) / (df + 0.5) + 1)
            scores[rows] += idf * tf * (BM25_K + 1) / (tf + self.length_norm[rows])
            hit[rows] = True
        return (hit | self.containing(text.lower()) if unmatched else hit), scores

    def stem_words(self, con: duckdb.DuckDBPyConnection, words: list[str]) -> list[str]:
        """The stems of ``words``, from the vocabulary or (for words it does not hold) from DuckDB."""
        unknown = [w for w in dict.fromkeys(words) if w not in self.stem_of and w not in self.other_stems]
        if unknown:
            cur = con.cursor()
            try:
                (stems,) = cur.execute("SELECT list_transform($1::VARCHAR[], w -> stem(w, 'english'))",
                                       [unknown]).fetchone()
            finally:
                cur.close()
            if len(self.other_stems) > 50_000:
                self.other_stems.clear()
            self.other_stems.update(zip(unknown, stems))
        return [self.stem_of.get(w) or self.other_stems.get(w, w) for w in words]

    def containing(self, needle: str) -> np.ndarray:
        """Rows whose id, title, keywords or columns contain ``needle``."""
        return np.fromiter((needle in h for h in self.haystack), dtype=bool, count=self.size)

    def allowed(self, name: str, values: Iterable[str]) -> np.ndarray:
        """A boolean per code of facet ``name``: is it one of ``values``."""
        wanted = set(values)
        return np.array([v in wanted for v in self.values[name]], dtype=bool)

    def updated_codes(self, now: dt.datetime) -> np.ndarray:
        """The "last updated" bucket of every public row, as its position in ``UPDATED``."""
        age_days = (pd.Timestamp(now).timestamp() * 1e6 - self.published_us) / 86_400e6
        codes = np.full(self.size, len(UPDATED) - 2, dtype=np.int64)       # "older"
        for code in range(len(UPDATED) - 3, -1, -1):
            codes[age_days <= UPDATED[code][2]] = code
        codes[np.isnan(self.published_us)] = len(UPDATED) - 1               # "never"
        return codes

    def facet(self, name: str, codes: np.ndarray, rows: np.ndarray) -> list[tuple[str, str, int]]:
        """(value, label, count) of facet ``name`` over the rows selected by ``rows``; values counted 0 left out."""
        counts = np.bincount(codes[rows], minlength=len(self.values[name]))
        found = [(value, label, int(count)) for value, label, count in
                 zip(self.values[name], self.labels[name], counts) if count]
        if name in ORDERED_FACETS:
            return found
        return sorted(found, key=lambda item: (-item[2], item[1].lower()))

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Copy the vocabulary into ``con``'s own in-memory database, where ``closest`` looks words up."""
        cur = con.cursor()
        try:
            cur.register("search_vocabulary_rows", self.vocabulary)
            cur.execute(f"CREATE OR REPLACE TABLE {VOCABULARY_TABLE} AS SELECT * FROM search_vocabulary_rows")
            cur.unregister("search_vocabulary_rows")
        finally:
            cur.close()

    def known(self, word: str) -> bool:
        """Would the index make something of this word: a word, a stem or the start of one it holds."""
        if len(word) < 3 or not word.isalpha():
            return True
        at = bisect_left(self.words, word)
        return (at < len(self.words) and self.words[at].startswith(word)) or word in self.stems

    def closest(self, con: duckdb.DuckDBPyConnection, word: str) -> str | None:
        """The public word nearest to ``word`` by edit distance, when it is near enough to be a misspelling."""
        most = 1 if len(word) <= 5 else 2
        cur = con.cursor()
        try:
            found = cur.execute(f"""
                SELECT word FROM {VOCABULARY_TABLE}
                WHERE abs(length(word) - length($1)) <= $2 AND length(word) >= 3
                  AND damerau_levenshtein(word, $1) <= $2 AND jaro_winkler_similarity(word, $1) >= 0.8
                ORDER BY damerau_levenshtein(word, $1), jaro_winkler_similarity(word, $1) DESC, datasets DESC, word
                LIMIT 1""", [word, most]).fetchone()
        finally:
            cur.close()
        return found[0] if found else None


def _suggestion(con: duckdb.DuckDBPyConnection, index: SearchIndex, text: str,
                masks: dict[str, np.ndarray]) -> str | None:
    """``text`` with each word the catalogue does not know replaced by the closest public word, if that finds
    datasets with the same filters; None otherwise."""
    if not index.size:
        return None
    changed, corrected = False, []
    for word in tokenize(text):
        better = None if index.known(word) else index.closest(con, word)
        changed |= better is not None
        corrected.append(better or word)
    if not changed:
        return None
    suggestion = " ".join(corrected)
    matched, _ = index.match(con, suggestion)
    return suggestion if _all(matched, masks.values()).any() else None


# --------------------------------------------------------------------------- one index per catalogue version

_BY_CONNECTION: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, SearchIndex]" = weakref.WeakKeyDictionary()
_BY_VERSION: dict[tuple, SearchIndex] = {}
_LOCK = threading.Lock()
_VERSIONS_KEPT = 2


def search_index(con: duckdb.DuckDBPyConnection) -> SearchIndex:
    """The index of the catalogue ``con`` reads (attached as ``cat``), built on first use of each version.

    A reader connection sees one catalogue file for its whole life, so the index is kept per
    connection; a new connection to a version already indexed (same file, same build time)
    shares its index.
    """
    index = _BY_CONNECTION.get(con)
    if index is not None:
        return index
    with _LOCK:
        index = _BY_CONNECTION.get(con)
        if index is None:
            cur = _cursor(con)
            try:
                key = cur.execute("""
                    SELECT (SELECT path FROM duckdb_databases() WHERE database_name = 'cat'),
                           (SELECT built_at FROM meta)""").fetchone()
            finally:
                cur.close()
            index = _BY_VERSION.get(key)
            if index is None:
                index = SearchIndex(con)
                _BY_VERSION[key] = index
                while len(_BY_VERSION) > _VERSIONS_KEPT:
                    _BY_VERSION.pop(next(iter(_BY_VERSION)))
            index.attach(con)
            _BY_CONNECTION[con] = index
        return index
