"""The HTTP API: downloads of public releases in every format, and a health check.

    GET /downloads/<dataset>.<fmt>          the current release
    GET /downloads/<dataset>@<n>.<fmt>      release n, which never changes
    GET /downloads/<...>.<fmt>.sha256       its checksum, as ``sha256sum -c`` reads it
    GET /healthz

``fmt`` is csv, parquet, json, xlsx or zip (a Frictionless data package). Every answer that
is not a file is JSON; an error is ``{"error": "..."}``. A dataset that does not exist, is not
public, or has no such release gets the same 404, so nothing restricted can be told apart
from nothing at all. Files are streamed from disk, with their SHA-256 as ETag, ``Digest`` and
``Repr-Digest``, and named in Content-Disposition.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from catalog import downloads
from catalog.api import middleware
from catalog.api.ckan import create_router as ckan_router
from catalog.api.data import build_router as data_router
from catalog.api.metadata import metadata_router
from catalog.errors import CatalogError

DOWNLOAD_NAME = re.compile(r"(?P<dataset>[a-z][a-z0-9_]{1,62})(?:@(?P<release>[1-9][0-9]{0,8}))?"
                           r"\.(?P<fmt>" + "|".join(downloads.FORMATS) + r")(?P<checksum>\.sha256)?")
IMMUTABLE = "public, max-age=31536000, immutable"
CURRENT = "public, max-age=60"
DOWNLOAD_ANSWERS = {
    200: {"description": "The file; with .sha256, its checksum line",
          "content": {**{f.media_type.split(";")[0]: {} for f in downloads.FORMATS.values()}, "text/plain": {}}},
    304: {"description": "Not modified: If-None-Match holds the file's ETag"},
    404: {"description": "No public dataset, release or format by that name",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    422: {"description": "The release cannot be given in that format",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
log = logging.getLogger("govcat.api")


def create_app(home: str | Path) -> FastAPI:
    """The API over the published data in ``home`` (read when each request comes, so new
    releases show without a restart)."""
    home = Path(home).expanduser().resolve()
    app = FastAPI(title="govcat", summary="Download the public datasets of the catalogue.",
                  docs_url=None, redoc_url=None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "not found"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "the request is not valid"}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)

    @app.get("/", include_in_schema=False)
    def index() -> dict:
        return {"name": "govcat",
                "downloads": "/downloads/{dataset}.{format} or /downloads/{dataset}@{release}.{format}",
                "formats": {key: f.description for key, f in downloads.FORMATS.items()}, "health": "/healthz",
                "metadata": {"DCAT-AP 3": "/catalog.jsonld, /catalog.ttl, /catalog.rdf, /datasets/{dataset}.jsonld",
                             "Project Open Data": "/data.json", "sitemap": "/sitemap.xml",
                             "data package": "/datasets/{dataset}/releases/{release}/datapackage.json"}}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    app.include_router(metadata_router(home))  # before any /datasets/{id} route, which would take "<id>.ttl"
    app.include_router(ckan_router(home))  # CKAN's Action API under /api/3/action/
    app.include_router(data_router(home))  # rows of a release, /api/data/..., and SQL, /api/sql

    @app.get("/downloads/{name}", summary="Download a release", response_class=Response, responses=DOWNLOAD_ANSWERS)
    def download(name: str, request: Request) -> Response:
        """``<dataset>.<fmt>`` (current release) or ``<dataset>@<n>.<fmt>`` (release n); add ``.sha256``
        for the checksum alone."""
        wanted = DOWNLOAD_NAME.fullmatch(name)
        if wanted is None:
            return _error(404, f"no download is called {name[:100]!r}: ask for <dataset>.<format> or "
                               f"<dataset>@<release>.<format>, the format one of {', '.join(downloads.FORMATS)}")
        release = int(wanted["release"]) if wanted["release"] else None
        try:
            export = downloads.export_release(home, wanted["dataset"], wanted["fmt"], release)
        except downloads.NotPublished as exc:
            return _error(404, str(exc))
        except CatalogError as exc:
            return _error(422, str(exc))
        headers = _file_headers(export, wanted["dataset"], release)
        if wanted["checksum"]:
            return PlainTextResponse(f"{export.sha256}  {export.filename}\n", headers=headers)
        if _matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        return FileResponse(export.path, media_type=export.media_type, filename=export.filename, headers=headers)

    app.add_api_route("/downloads/{name}", download, methods=["HEAD"], include_in_schema=False)
    middleware.install(app)
    return app


def _file_headers(export: downloads.Export, dataset_id: str, release: int | None) -> dict[str, str]:
    base64_digest = export.digest_header.split("=", 1)[1]
    return {
        "ETag": f'"{export.sha256}"',
        "Digest": export.digest_header,                   # RFC 3230
        "Repr-Digest": f"sha-256=:{base64_digest}:",      # RFC 9530
        "X-Checksum-SHA256": export.sha256,
        "Cache-Control": IMMUTABLE if release is not None else CURRENT,
        "Content-Location": f"/downloads/{dataset_id}@{export.release}.{export.fmt}",
    }


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return if_none_match.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
