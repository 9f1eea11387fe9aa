"""The metadata other portals and search engines harvest, over HTTP.

    GET /catalog                      DCAT-AP 3 of the whole catalogue, by content negotiation
    GET /catalog.{jsonld,ttl,rdf}     the same as JSON-LD, Turtle or RDF/XML
    GET /datasets/<id>.{jsonld,ttl,rdf}                 one dataset with its release history
    GET /data.json                    Project Open Data v1.1 (DCAT-US)
    GET /datasets/<id>/datapackage.json                 a Frictionless Data Package of the current release
    GET /datasets/<id>/releases/<n>/datapackage.json    ... of release n
    GET /sitemap.xml, /robots.txt

Restricted datasets never appear, and asking for one gets the same 404 as asking for nothing.
The sitemap lists the explorer's pages (``GOVCAT_BASE_URL``) beside the API's metadata: search
engines take URLs of another host only when that host's robots.txt points at this sitemap, so
serve both under one host, or add ``Sitemap: <api>/sitemap.xml`` to the explorer's robots.txt.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from catalog import catalogue_db, dcat, downloads, pod
from catalog.casting import quote_ident, quote_literal
from catalog.errors import CatalogError, StoreError
from catalog.settings import HomeLayout

CACHE_SECONDS = 60
CACHE = f"public, max-age={CACHE_SECONDS}"
RELEASE = re.compile(r"[1-9][0-9]{0,8}")
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# constraints a leading apostrophe can break, on a text column whose CSV cells carry one
TEXT_CONSTRAINTS = ("pattern", "enum", "minLength", "maxLength")


def _answers(media_types: list[str], *errors: int) -> dict:
    """What /openapi.json says a metadata route answers."""
    described = {404: "No public dataset, or no such release of one", 406: "None of the Accept header's types",
                 500: "The server's addresses (GOVCAT_API_URL, GOVCAT_BASE_URL) are wrong",
                 503: "The catalogue cannot be read just now"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {200: {"description": "The document", "content": {media: {} for media in media_types}},
            304: {"description": "Not modified: If-None-Match holds the document's ETag"},
            **{status: {"description": described[status], "content": error} for status in (*errors, 500, 503)}}


def metadata_router(home: str | Path) -> APIRouter:
    """The metadata endpoints over the published data in ``home``."""
    home = Path(home).expanduser().resolve()
    router = APIRouter()

    rdf_types = [media for _, media in dcat.SERIALISATIONS.values()]

    @router.get("/catalog", summary="The catalogue as DCAT-AP 3 (JSON-LD, Turtle or RDF/XML by Accept)",
                response_class=Response, responses=_answers(rdf_types, 406))
    def catalogue(request: Request) -> Response:
        key = _negotiate(request.headers.get("accept"))
        if key is None:
            return _error(406, "ask for one of " + ", ".join(rdf_types)
                          + ", or fetch /catalog.jsonld, /catalog.ttl or /catalog.rdf")
        return _answer(request, lambda: _catalogue_rdf(home, key), dcat.SERIALISATIONS[key][1], vary=True)

    for suffix in dcat.SERIALISATIONS:
        _add_rdf_routes(router, home, suffix)

    @router.get("/data.json", summary="The catalogue as Project Open Data v1.1 (DCAT-US)", response_class=Response,
                responses=_answers(["application/json"]))
    def data_json(request: Request) -> Response:
        return _answer(request, lambda: _remembered(
            home, "data.json", lambda catalogue, where: _json_bytes(pod.data_json(catalogue, where))),
            "application/json")

    @router.get("/datasets/{dataset_id}/datapackage.json", summary="A data package of the current release",
                response_class=Response, responses=_answers(["application/json"], 404))
    def current_package(dataset_id: str, request: Request) -> Response:
        return _answer(request, lambda: _package_json(home, dataset_id, None), "application/json")

    @router.get("/datasets/{dataset_id}/releases/{release}/datapackage.json", summary="A data package of release n",
                response_class=Response, responses=_answers(["application/json"], 404))
    def release_package(dataset_id: str, release: str, request: Request) -> Response:
        if not RELEASE.fullmatch(release):
            return _error(404, f"there is no release {release[:20]!r}: a release is a whole number from 1")
        return _answer(request, lambda: _package_json(home, dataset_id, int(release)), "application/json")

    @router.get("/sitemap.xml", summary="The explorer's dataset pages and the metadata, for search engines",
                response_class=Response, responses=_answers(["application/xml"]))
    def sitemap_xml(request: Request) -> Response:
        return _answer(request, lambda: _remembered(home, "sitemap", sitemap), "application/xml")

    @router.get("/robots.txt", include_in_schema=False)
    def robots_txt(request: Request) -> Response:
        return _answer(request, lambda: robots(dcat.Addresses.from_environment()).encode(), "text/plain; charset=utf-8")

    return router


def _add_rdf_routes(router: APIRouter, home: Path, key: str) -> None:
    """``/catalog.<key>`` and ``/datasets/<id>.<key>`` in one serialisation."""
    media = dcat.SERIALISATIONS[key][1]

    def catalogue_as(request: Request) -> Response:
        return _answer(request, lambda: _catalogue_rdf(home, key), media)

    def dataset_as(dataset_id: str, request: Request) -> Response:
        return _answer(request, lambda: _dataset_rdf(home, dataset_id, key), media)

    router.add_api_route(f"/catalog.{key}", catalogue_as, methods=["GET"], response_class=Response,
                         summary=f"The catalogue as DCAT-AP 3 ({media})", responses=_answers([media]))
    router.add_api_route(f"/datasets/{{dataset_id}}.{key}", dataset_as, methods=["GET"], response_class=Response,
                         summary=f"One dataset as DCAT-AP 3 ({media})", responses=_answers([media], 404))


# ---------------------------------------------------------------------------------------- documents


def _catalogue_rdf(home: Path, key: str) -> bytes:
    return _remembered(home, f"dcat.{key}",
                            lambda catalogue, where: dcat.serialise(dcat.catalogue_graph(catalogue, where), key))


_documents: dict[tuple, tuple[float, bytes]] = {}
_documents_lock = threading.Lock()


def _remembered(home: Path, kind: str, build) -> bytes:
    """The document ``build(catalogue, addresses)``, made at most once a minute per catalogue version
    and addresses: a harvester's second request costs nothing, and a new release (a new catalogue)
    shows at once. A download made meanwhile adds its checksum within the minute that clients may
    cache the document anyway."""
    where = dcat.Addresses.from_environment()
    key = (str(home), kind, catalogue_db.file_version(HomeLayout(home).catalogue), where)
    now = time.monotonic()
    found = _documents.get(key)
    if found is not None and found[0] > now:
        return found[1]
    body = build(dcat.public_catalogue(home), where)
    with _documents_lock:
        for stale in [k for k, (expires, _) in _documents.items() if expires <= now]:
            del _documents[stale]
        _documents[key] = (now + CACHE_SECONDS, body)
    return body


def _package_json(home: Path, dataset_id: str, release: int | None) -> bytes:
    """A release's data package, made once per catalogue version (it reads the catalogue and the
    release's file; an unknown or restricted dataset raises NotPublished and is never kept)."""
    return _remembered(home, f"datapackage {dataset_id} {release}",
                       lambda catalogue, where: _json_bytes(datapackage(home, dataset_id, release, where)))


def _dataset_rdf(home: Path, dataset_id: str, key: str) -> bytes:
    where = dcat.Addresses.from_environment()
    return dcat.serialise(dcat.dataset_graph(dcat.public_catalogue(home), dataset_id, where), key)


def datapackage(home: Path, dataset_id: str, release: int | None = None,
                where: dcat.Addresses | None = None) -> dict:
    """A Frictionless Data Package of one public release (default: the current one): its CSV
    download, with that file's SHA-256 and size, the Table Schema, the licence and the publisher.
    Makes the CSV download if no one has asked for it yet (it is kept, like every download)."""
    where = where or dcat.Addresses.from_environment()
    about = downloads.public_release(home, dataset_id, release)
    csv = downloads.export_release(home, about.dataset_id, "csv", about.release, about=about)
    columns = _columns(about.parquet)
    schema = downloads.package_schema(columns, about.schema)
    marked = _text_columns_with_formulas(about.parquet, [name for name, kind in columns if kind == "VARCHAR"])
    schema = _as_written(schema, marked)
    url = where.download(about.dataset_id, "csv", about.release)
    # the zip download's descriptor, pointed at the CSV download instead of the file inside the zip
    descriptor = downloads._descriptor(about, about.stem, url, schema, csv.sha256, csv.size)
    descriptor["id"] = where.release(about.dataset_id, about.release)
    descriptor["homepage"] = where.page(about.dataset_id, about.release)
    resource = descriptor["resources"][0]
    resource["title"] = f"{about.title}, release {about.release} (CSV)"
    if marked:
        resource["description"] = (
            "Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage "
            f"return) begin with an apostrophe in this file, as some in {', '.join(marked)} do. The data package "
            f"download ({where.download(about.dataset_id, 'zip', about.release)}) holds them exactly as published.")
    return descriptor


def _columns(parquet: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(config={"threads": 1})
    try:
        return [(row[0], row[1]) for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(parquet))})").fetchall()]
    finally:
        con.close()


def _text_columns_with_formulas(parquet: Path, text_columns: list[str]) -> list[str]:
    """The text columns in which at least one cell gets an apostrophe in the CSV download."""
    if not text_columns:
        return []
    starts = ", ".join(quote_literal(c) for c in downloads.FORMULA_STARTS)
    counts = ", ".join(f"count(*) FILTER (WHERE left({quote_ident(name)}, 1) IN ({starts}))" for name in text_columns)
    con = duckdb.connect(config={"threads": 1})
    try:
        found = con.execute(f"SELECT {counts} FROM read_parquet({quote_literal(str(parquet))})").fetchone()
    finally:
        con.close()
    return [name for name, count in zip(text_columns, found) if count]


def _as_written(schema: dict, marked: list[str]) -> dict:
    """The Table Schema of the CSV download as it is written: a header that a spreadsheet would run
    as a formula carries an apostrophe, and so must the field's name; a text column with such
    cells cannot promise a pattern, an enumeration or lengths that the apostrophe breaks."""
    renamed = {}
    fields = []
    for field in schema["fields"]:
        field = dict(field)
        name = field["name"]
        written = downloads.neutralised(name)
        if written != name:
            renamed[name] = written
            field["name"] = written
        if field.get("constraints") and name in marked:
            kept = {k: v for k, v in field["constraints"].items() if k not in TEXT_CONSTRAINTS}
            field = {k: v for k, v in field.items() if k != "constraints"} | ({"constraints": kept} if kept else {})
        fields.append(field)
    result = {**schema, "fields": fields}
    key = result.get("primaryKey")
    if key:
        result["primaryKey"] = ([renamed.get(k, k) for k in key] if isinstance(key, list)
                                else renamed.get(key, key))
    return result


def sitemap(catalogue: dcat.PublicCatalogue, where: dcat.Addresses) -> bytes:
    """The sitemaps.org document: the explorer's pages of public datasets, their agencies and themes,
    and the metadata of each, with when each last changed."""
    urlset = ET.Element(f"{{{SITEMAP_NS}}}urlset")

    def add(location: str, modified=None) -> None:
        url = ET.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = location
        if modified is not None:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = modified.strftime("%Y-%m-%dT%H:%M:%SZ")

    latest = catalogue.modified
    add(f"{where.explorer}/", latest)
    for dataset in catalogue.datasets:
        add(where.page(dataset.id), dataset.modified)
    for agency in catalogue.agencies:
        add(where.agency_page(agency.slug), max(d.modified for d in catalogue.datasets if d.agency == agency))
    for theme in sorted({d.theme for d in catalogue.datasets}):
        add(where.theme_page(theme), max(d.modified for d in catalogue.datasets if d.theme == theme))
    for suffix in dcat.SERIALISATIONS:
        add(f"{where.api}/catalog.{suffix}", latest)
    add(f"{where.api}/data.json", latest)
    for dataset in catalogue.datasets:
        for suffix in dcat.SERIALISATIONS:
            add(f"{where.dataset(dataset.id)}.{suffix}", dataset.modified)
        add(where.datapackage(dataset.id), dataset.modified)
    ET.register_namespace("", SITEMAP_NS)
    ET.indent(urlset)
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True)


def robots(where: dcat.Addresses) -> str:
    """Crawl the metadata, not the data files (they are large, and described in the metadata)."""
    return f"User-agent: *\nDisallow: /downloads/\nAllow: /\n\nSitemap: {where.api}/sitemap.xml\n"


# ---------------------------------------------------------------------------------------- answers


def _answer(request: Request, build, media_type: str, vary: bool = False) -> Response:
    """``build()``'s bytes with an ETag (a 304 when the client has them), or a JSON error."""
    try:
        body = build()
    except downloads.NotPublished as exc:
        return _error(404, str(exc))
    except StoreError as exc:
        return _error(503, str(exc))
    except CatalogError as exc:
        return _error(500, f"the server is not set up right: {exc}")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE}
    if vary:
        headers["Vary"] = "Accept"
    if etag in [tag.strip().removeprefix("W/") for tag in (request.headers.get("if-none-match") or "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _negotiate(accept: str | None) -> str | None:
    """The serialisation the Accept header prefers (JSON-LD when it takes anything), or None."""
    if not accept or not accept.strip():
        return "jsonld"
    offered = {media: key for key, (_, media) in dcat.SERIALISATIONS.items()}
    offered |= {"application/json": "jsonld", "application/xml": "rdf", "text/n3": "ttl"}
    best, best_q = None, 0.0
    for position, part in enumerate(accept.split(",")[:50]):
        media, _, parameters = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        if media in ("*/*", "application/*"):
            key = "jsonld"
        elif media == "text/*":
            key = "ttl"
        else:
            key = offered.get(media)
        if key is not None and q > best_q:
            best, best_q = key, q
    return best


def _json_bytes(document: dict) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
