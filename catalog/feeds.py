"""Atom 1.0 feeds (RFC 4287) of new releases: everything, one agency, one theme or one dataset.

Only datasets whose access is ``public`` ever reach a feed: every query below filters on it,
and ``write_feeds`` removes the feed files it did not write, so a dataset that stops being
public loses its feed on the next run. The XML is built with ElementTree, never by pasting
strings, so a steward's release note cannot break (or inject into) the document.

``release_news`` is also what the email digests list, so both surfaces agree on what is new.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import duckdb

from catalog import catalogue_db
from catalog.errors import CatalogError, StoreError
from catalog.files import write_atomically
from catalog.vocabulary import THEMES

SCOPES = ("all", "agency", "theme", "dataset")
DEFAULT_BASE_URL = "http://localhost:8501"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TAG_DATE = "2025"  # the date part of every feed's tag: URI; never change it, readers key on the id

ET.register_namespace("", ATOM_NS)

# Characters XML 1.0 cannot hold at all, not even escaped; a note pasted from elsewhere may have them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ReleaseNews:
    """One published release of a public dataset, as feeds and digests show it."""

    dataset_id: str
    release: int
    title: str
    agency: str
    agency_name: str
    agency_homepage: str | None
    theme: str
    theme_label: str
    published_at: dt.datetime
    rows: int | None
    note: str
    diff_summary: str | None

    def link(self, base_url: str) -> str:
        """The dataset page showing this release."""
        return f"{_base(base_url)}/dataset?{urlencode({'id': self.dataset_id, 'release': self.release})}"

    @property
    def heading(self) -> str:
        return f"{self.title}: release {self.release}"


@dataclass(frozen=True)
class Scope:
    """What a feed or a subscription covers, checked against the catalogue."""

    kind: str
    value: str | None
    label: str

    @property
    def filename(self) -> str:
        return "all.atom" if self.kind == "all" else f"{self.kind}-{self.value}.atom"

    @property
    def phrase(self) -> str:
        """Completes "New releases ...": "from City of Testville", "in Health", ..."""
        if self.kind == "all":
            return "of open government data"
        return f"{_PREPOSITIONS[self.kind]} {self.label}"


# --------------------------------------------------------------------------- reading the catalogue


def open_catalogue(catalogue_path: Path) -> duckdb.DuckDBPyConnection:
    """The catalogue, read-only; a clear error when nothing has been published yet."""
    if not Path(catalogue_path).is_file():
        raise StoreError(f"there is no catalogue at {catalogue_path}: publish a dataset first (govcat publish)")
    try:
        return catalogue_db.open_reader(Path(catalogue_path))
    except duckdb.Error as exc:
        raise StoreError(f"cannot read the catalogue at {catalogue_path}: {exc}") from exc


def resolve_scope(con: duckdb.DuckDBPyConnection, kind: str, value: str | None) -> Scope:
    """Check ``kind``/``value`` and name what they cover; unknown values raise CatalogError."""
    if kind not in SCOPES:
        raise CatalogError(f"unknown feed scope {kind!r}: use one of {', '.join(SCOPES)}")
    if kind == "all":
        if value:
            raise CatalogError("the 'all' scope takes no value")
        return Scope("all", None, "all public datasets")
    if not value:
        raise CatalogError(f"the {kind!r} scope needs a value (the {_VALUE_NAMES[kind]})")
    if kind == "theme":
        if value not in THEMES:
            raise CatalogError(f"unknown theme {value!r}: use one of {', '.join(sorted(THEMES))}")
        return Scope("theme", value, THEMES[value][0])
    if kind == "agency":
        found = con.execute("SELECT name FROM agencies WHERE slug = ?", [value]).fetchone()
        if found is None:
            known = [slug for (slug,) in con.execute("SELECT slug FROM agencies ORDER BY slug").fetchall()]
            raise CatalogError(f"unknown agency {value!r}: use one of {', '.join(known) or '(none declared)'}")
        return Scope("agency", value, found[0])
    found = con.execute("SELECT title FROM datasets WHERE id = ? AND access = 'public'", [value]).fetchone()
    if found is None:
        raise CatalogError(f"there is no public dataset {value!r}")
    return Scope("dataset", value, found[0])


_VALUE_NAMES = {"agency": "agency slug", "theme": "theme id", "dataset": "dataset id"}
_PREPOSITIONS = {"agency": "from", "theme": "in", "dataset": "of"}
_SCOPE_COLUMNS = {"agency": "d.agency", "theme": "d.theme", "dataset": "d.id"}


def release_news(con: duckdb.DuckDBPyConnection, scope: Scope, *, since: dt.datetime | None = None,
                 limit: int | None = None) -> list[ReleaseNews]:
    """Releases of public datasets in ``scope``, newest first; only those after ``since`` if given."""
    diff = "r.diff" if _has_diff_column(con) else "NULL"
    where = ["d.access = 'public'"]
    params: list = []
    if scope.kind != "all":
        where.append(f"{_SCOPE_COLUMNS[scope.kind]} = ?")
        params.append(scope.value)
    if since is not None:
        where.append("r.published_at > ?")
        params.append(as_utc(since))
    sql = f"""
        SELECT r.dataset_id, r.release, d.title, d.agency, d.agency_name, a.homepage, d.theme, d.theme_label,
               r.published_at, r.rows, coalesce(r.note, ''), {diff}
        FROM releases r
        JOIN datasets d ON d.id = r.dataset_id
        LEFT JOIN agencies a ON a.slug = d.agency
        WHERE {' AND '.join(where)}
        ORDER BY r.published_at DESC, r.dataset_id, r.release DESC"""
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, params).fetchall()
    return [ReleaseNews(*row[:8], as_utc(row[8]), row[9], row[10], _diff_summary(row[11])) for row in rows]


def _has_diff_column(con: duckdb.DuckDBPyConnection) -> bool:
    """Catalogues built before release diffs existed have no ``releases.diff`` column."""
    found = con.execute("""
        SELECT count(*) FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_name = 'releases' AND column_name = 'diff'""").fetchone()
    return bool(found[0])


def _diff_summary(raw: str | None) -> str | None:
    """The one-line summary inside a release's diff JSON; None when absent or unreadable."""
    if not raw:
        return None
    try:
        summary = json.loads(raw).get("summary")
    except (ValueError, AttributeError):
        return None
    if not isinstance(summary, str):
        return None
    return " ".join(summary.split()) or None


def built_at(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    return as_utc(con.execute("SELECT built_at FROM meta").fetchone()[0])


# --------------------------------------------------------------------------- building feeds


def feed_xml(catalogue_path: Path, *, scope: str = "all", value: str | None = None,
             base_url: str = DEFAULT_BASE_URL, limit: int = 50) -> bytes:
    """The Atom document of the newest ``limit`` releases in one scope, as UTF-8 bytes."""
    con = open_catalogue(catalogue_path)
    try:
        return _feed(con, resolve_scope(con, scope, value), base_url, limit)
    finally:
        con.close()


def write_feeds(catalogue_path: Path, out_dir: Path, base_url: str = DEFAULT_BASE_URL,
                limit: int = 50) -> list[Path]:
    """Write every feed (all, each agency, each theme, each public dataset) into ``out_dir``.

    Each file is replaced atomically; ``.atom`` files from earlier runs that are not written
    this time (a dataset no longer public, an agency gone) are removed.
    """
    out_dir = Path(out_dir)
    con = open_catalogue(catalogue_path)
    try:
        scopes = [resolve_scope(con, "all", None)]
        scopes += [resolve_scope(con, "agency", slug)
                   for (slug,) in con.execute("SELECT slug FROM agencies ORDER BY slug").fetchall()]
        scopes += [resolve_scope(con, "theme", theme) for theme in sorted(THEMES)]
        scopes += [resolve_scope(con, "dataset", dataset_id) for (dataset_id,) in con.execute(
            "SELECT id FROM datasets WHERE access = 'public' ORDER BY id").fetchall()]
        documents = {scope.filename: _feed(con, scope, base_url, limit) for scope in scopes}
    finally:
        con.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_atomically(out_dir / name, document) for name, document in documents.items()]
    for stale in out_dir.glob("*.atom"):
        if stale.name not in documents:
            stale.unlink(missing_ok=True)
    return written


def _feed(con: duckdb.DuckDBPyConnection, scope: Scope, base_url: str, limit: int) -> bytes:
    if limit < 1:
        raise CatalogError("the feed limit must be at least 1")
    base = _base(base_url)
    host = urlsplit(base).hostname or "localhost"
    news = release_news(con, scope, limit=limit)
    feed = ET.Element(_atom("feed"))
    _text(feed, "id", f"tag:{host},{FEED_TAG_DATE}:govcat/feeds/{scope.filename}")
    _text(feed, "title", f"New releases {scope.phrase}")
    _text(feed, "updated", _rfc3339(news[0].published_at if news else built_at(con)))
    _link(feed, f"{base}/feeds/{scope.filename}", rel="self", type="application/atom+xml")
    _link(feed, _scope_page(base, scope), rel="alternate", type="text/html")
    _text(feed, "generator", "govcat")
    for item in news:
        _entry(feed, item, base, host)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, item: ReleaseNews, base: str, host: str) -> None:
    entry = ET.SubElement(feed, _atom("entry"))
    published = item.published_at.date().isoformat()
    _text(entry, "id", f"tag:{host},{published}:govcat/dataset/{item.dataset_id}/release/{item.release}")
    _text(entry, "title", item.heading)
    _text(entry, "updated", _rfc3339(item.published_at))
    _text(entry, "published", _rfc3339(item.published_at))
    author = ET.SubElement(entry, _atom("author"))
    _text(author, "name", item.agency_name)
    if item.agency_homepage:
        _text(author, "uri", item.agency_homepage)
    _link(entry, item.link(base), rel="alternate", type="text/html")
    category = ET.SubElement(entry, _atom("category"))
    category.set("term", item.theme)
    category.set("label", _clean(item.theme_label))
    summary = _text(entry, "summary", describe(item))
    summary.set("type", "text")


def describe(item: ReleaseNews) -> str:
    """The release note, the diff summary and the size of a release, as plain text lines."""
    lines = [item.note.strip() or "No release note."]
    if item.diff_summary:
        lines.append(f"Changes: {item.diff_summary}")
    if item.rows is not None:
        lines.append(f"{item.rows:,} rows.")
    return "\n".join(lines)


def _scope_page(base: str, scope: Scope) -> str:
    """The explorer page that lists what the feed covers."""
    if scope.kind == "all":
        return f"{base}/"
    if scope.kind == "dataset":
        return f"{base}/dataset?{urlencode({'id': scope.value})}"
    return f"{base}/?{urlencode({scope.kind: scope.value})}"


# --------------------------------------------------------------------------- small helpers


def _base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CatalogError(f"the base URL {base_url!r} must start with http:// or https:// and name a host")
    return base_url.rstrip("/")


def _atom(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, _atom(tag))
    element.text = _clean(text)
    return element


def _link(parent: ET.Element, href: str, **attributes: str) -> None:
    link = ET.SubElement(parent, _atom("link"))
    link.set("href", _clean(href))
    for name, value in attributes.items():
        link.set(name, value)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC time; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _rfc3339(moment: dt.datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
