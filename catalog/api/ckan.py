"""CKAN's Action API, read-only, so CKAN clients (ckanapi, harvesters, notebooks) work unchanged.

    GET|POST /api/3/action/<action>   (also /api/action/<action>, as ckanapi calls it)

Parameters come from the query string, or from a JSON object (or a form) in a POST body; a
list or object in the query string is written as JSON (``facet.field=["tags"]``). Every answer
is CKAN's envelope, ``{"help": ..., "success": true, "result": ...}``, and every refusal
``{"help": ..., "success": false, "error": {"__type": ..., "message": ...}}`` with CKAN's status:
404 Not Found Error (a restricted dataset is not found, exactly like a missing one), 409
Validation Error, 400 Search Query Error or Bad Request, 403 Authorization Error for every action
that would change the catalogue.

Actions: package_search, package_show, package_list, organization_list, organization_show,
group_list, group_show (groups are the themes), tag_list, resource_show, datastore_search,
datastore_search_sql, status_show, help_show. The mapping to CKAN's shapes is in
``catalog.ckan_shapes``, the search in ``catalog.ckan_search``, the datastore in
``catalog.ckan_datastore``. Each catalogue version is read once, with one sandbox.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from catalog import catalogue_db, ckan_datastore, ckan_search, ckan_shapes
from catalog.api import data as data_api
from catalog.api.threads import in_thread
from catalog.ckan_shapes import BadRequest, CkanCatalogue, CkanError, Forbidden, ValidationError, with_base
from catalog.errors import CatalogError
from catalog.query import Sandbox
from catalog.settings import HomeLayout

API_VERSION = 3
CKAN_VERSION = "2.10.0"  # the version of CKAN's API these answers follow
MAX_BODY_BYTES = 1024 * 1024
VERSIONS_KEPT = 2
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
WRITES = re.compile(r"(_create|_update|_patch|_delete|_purge|_revise|_upsert|_submit|_run|_run_batch|_insert"
                    r"|_invite|_reorder|_make_public|_make_private|_clear)$|^(follow_|unfollow_|bulk_)")
LIST_SORTS = ("name", "title", "package_count")
log = logging.getLogger("govcat.api.ckan")


# --------------------------------------------------------------------------------------- one version

class _Version:
    """What the actions read from one catalogue version: its CKAN shapes, its search, its sandbox."""

    def __init__(self, home: Path, version: str):
        self.home = home
        self.con = catalogue_db.open_reader(HomeLayout(home).catalogue) if version else None
        self.catalogue = ckan_shapes.load(self.con) if self.con is not None else CkanCatalogue()
        self._search: ckan_search.PackageSearch | None = None
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    @property
    def search(self) -> ckan_search.PackageSearch | None:
        with self._lock:
            if self._search is None and self.con is not None:
                self._search = ckan_search.PackageSearch(self.con, self.catalogue)
            return self._search

    @property
    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(self.home, threads=data_api.QUERY_THREADS)
            return self._sandbox


class _Versions:
    def __init__(self, home: Path):
        self.home = home
        self._kept: OrderedDict[str, _Version] = OrderedDict()
        self._lock = threading.Lock()

    def current(self) -> _Version:
        version = catalogue_db.file_version(HomeLayout(self.home).catalogue)
        with self._lock:
            found = self._kept.get(version)
            if found is None:
                found = _Version(self.home, version)
                self._kept[version] = found
                while len(self._kept) > VERSIONS_KEPT:  # not closed by hand: a request may still read it
                    self._kept.popitem(last=False)
            return found


# --------------------------------------------------------------------------------------- the router

def create_router(home: str | Path) -> APIRouter:
    home = Path(home).expanduser().resolve()
    versions = _Versions(home)
    router = APIRouter()

    async def action(name: str, request: Request) -> JSONResponse:
        base = str(request.base_url)
        help_url = f"{base}api/{API_VERSION}/action/help_show?name={name[:100]}"
        try:
            params = await _params(request)
            answer = await in_thread(_dispatch, versions, name, params, _Context(base, request))
            return JSONResponse({"help": help_url, "success": True, "result": answer})
        except CkanError as exc:
            return _failure(help_url, exc)
        except CatalogError as exc:
            return _failure(help_url, ValidationError("query", str(exc)))
        except Exception:  # a fault of ours, not of the request: logged, and told in CKAN's shape
            log.exception("CKAN action %s failed", name[:100])
            return JSONResponse({"help": help_url, "success": False, "error": {
                "__type": "Internal Server Error", "message": "Internal server error: the answer could not be made; "
                                                              "try again later"}}, status_code=500)

    for prefix in ("/api/action", f"/api/{API_VERSION}/action"):
        for method in ("GET", "POST"):
            router.add_api_route(prefix + "/{name}", action, methods=[method], summary="A CKAN action",
                                 name=f"ckan_{method.lower()}{prefix.replace('/', '_')}",
                                 include_in_schema=prefix != "/api/action")

    @router.get(f"/api/{API_VERSION}", include_in_schema=False)
    def api_version() -> dict:
        return {"version": API_VERSION}

    return router


class _Context:
    def __init__(self, base: str, request: Request):
        self.base = base
        self.path = request.url.path
        self.query = dict(request.query_params)


def _failure(help_url: str, exc: CkanError) -> JSONResponse:
    return JSONResponse({"help": help_url, "success": False, "error": exc.body()}, status_code=exc.status)


async def _params(request: Request) -> dict:
    """The action's parameters: the query string, then a POST body's JSON object or form on top."""
    params = _flat(request.query_params.multi_items())
    if request.method != "POST":
        return params
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"Bad request - the body is larger than {MAX_BODY_BYTES // 1024} KB")
    if not body.strip():
        return params
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {**params, **_flat((k, v) for k, v in form.multi_items() if isinstance(v, str))}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Bad request - JSON Error: the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("Bad request - JSON Error: the body must be a JSON object of parameters")
    return {**params, **data}


def _flat(items) -> dict:
    params: dict = {}
    for key, value in items:
        if key in params:
            params[key] = (params[key] if isinstance(params[key], list) else [params[key]]) + [value]
        else:
            params[key] = value
    return params


# --------------------------------------------------------------------------------------- the actions

def _dispatch(versions: _Versions, name: str, params: dict, context: _Context):
    if not ACTION_NAME.fullmatch(name):
        raise BadRequest(f"Bad request - Action name not known: {name[:100]}")
    handler = ACTIONS.get(name)
    if handler is None:
        if WRITES.search(name):
            raise Forbidden(f"Access denied: {name} would change the catalogue, and this API is read-only; "
                            f"datasets are published by their agencies' stewards")
        raise BadRequest(f"Bad request - Action name not known: {name}")
    return handler(versions.current(), params, context)


def package_search(v: _Version, p: dict, c: _Context) -> dict:
    """Search the public datasets. Parameters: q (free words and Solr-style field:value terms), fq, fq_list,
    sort ("score desc, metadata_modified desc"), rows (10, at most 1000), start, facet, facet.field,
    facet.limit (50; -1 for all), facet.mincount."""
    rows = _integer(p, "rows", 10, maximum=ckan_search.MAX_ROWS)
    start = _integer(p, "start", 0)
    fq_list = [_text(p, "fq"), *_list(p, "fq_list")]
    facet_fields = _list(p, "facet.field") if _boolean(p, "facet", True) else []
    if v.search is None:
        return {"count": 0, "sort": p.get("sort") or ckan_search.DEFAULT_SORT, "facets": {f: {} for f in facet_fields},
                "search_facets": {f: {"title": f, "items": []} for f in facet_fields}, "results": []}
    found = v.search.run(_text(p, "q"), fq_list, p.get("sort"), rows, start, facet_fields,
                         facet_limit=_integer(p, "facet.limit", 50, minimum=-1),
                         facet_mincount=_integer(p, "facet.mincount", 1))
    found["results"] = with_base(found["results"], c.base)
    return found


def package_show(v: _Version, p: dict, c: _Context) -> dict:
    """One public dataset, by its name (the dataset id) or its id."""
    return with_base(v.catalogue.package(_required(p, "id")), c.base)


def package_list(v: _Version, p: dict, c: _Context) -> list[str]:
    """The names of every public dataset, in order; limit and offset page through them."""
    names = sorted(v.catalogue.packages)
    offset = _integer(p, "offset", 0)
    limit = _integer(p, "limit", None)
    return names[offset: None if limit is None else offset + limit]


def organization_list(v: _Version, p: dict, c: _Context) -> list:
    """The agencies. all_fields for whole records; sort (name, title or package_count, asc or desc),
    limit, offset, q, organizations (names to keep), include_dataset_count, include_extras."""
    return _owners(v.catalogue.organizations, p)


def group_list(v: _Version, p: dict, c: _Context) -> list:
    """The themes, as CKAN groups; the same parameters as organization_list (groups instead of organizations)."""
    return _owners(v.catalogue.groups, p, "groups")


def organization_show(v: _Version, p: dict, c: _Context) -> dict:
    """One agency by name or id; include_datasets adds its public datasets."""
    return _owner(v, v.catalogue.organization(_required(p, "id")), "organization", p, c)


def group_show(v: _Version, p: dict, c: _Context) -> dict:
    """One theme by name or id; include_datasets adds its public datasets."""
    return _owner(v, v.catalogue.group(_required(p, "id")), "groups", p, c)


def tag_list(v: _Version, p: dict, c: _Context) -> list:
    """Every keyword of the public datasets; q keeps those containing it, all_fields gives records."""
    tags: dict[str, dict] = {}
    for package in v.catalogue.packages.values():
        for tag in package["tags"]:
            tags.setdefault(tag["name"], tag)
    query = str(p.get("q") or p.get("query") or "").lower()
    chosen = [tags[n] for n in sorted(tags, key=str.lower) if query in n.lower()]
    return chosen if _boolean(p, "all_fields", False) else [t["name"] for t in chosen]


def resource_show(v: _Version, p: dict, c: _Context) -> dict:
    """One resource (a download of a dataset's current release) by its id."""
    return with_base(v.catalogue.resource(_required(p, "id")), c.base)


def datastore_search(v: _Version, p: dict, c: _Context) -> dict:
    """Rows of a datastore resource (a dataset's CSV resource, or "<dataset>@<release>"). Parameters:
    resource_id, filters, q, full_text, fields, sort, limit (100, at most 32000), offset, distinct,
    include_total, records_format (objects, lists, csv or tsv)."""
    resource_id = _required(p, "resource_id", alias="id")
    ckan_datastore.table_for(v.sandbox, resource_id)
    package = resource_id.split("@", 1)[0]
    info = {f["name"]: {k: val for k, val in (("label", f.get("title")), ("notes", f.get("description"))) if val}
            for f in v.catalogue.schemas.get(package, {}).get("fields", []) if isinstance(f, dict) and "name" in f}
    return ckan_datastore.search(
        v.sandbox, resource_id, filters=_json_param(p, "filters", dict), q=_json_param(p, "q", (dict, str)) or
        p.get("full_text"), fields=_json_param(p, "fields", (list, str)), sort=_json_param(p, "sort", (list, str)),
        limit=p.get("limit"), offset=p.get("offset"), distinct=_boolean(p, "distinct", False),
        include_total=_boolean(p, "include_total", _boolean(p, "total", True)),
        records_format=str(p.get("records_format") or "objects"), field_info={k: i for k, i in info.items() if i},
        link_path=c.path, link_args=c.query)


def datastore_search_sql(v: _Version, p: dict, c: _Context) -> dict:
    """One read-only SELECT over the datastore; each public dataset is a table named by its datastore
    resource id ("<dataset>", or "<dataset>@<release>" for one release). At most 32000 rows."""
    return ckan_datastore.search_sql(v.sandbox, _required(p, "sql"))


def status_show(v: _Version, p: dict, c: _Context) -> dict:
    """What this site is and which version of CKAN's API it answers."""
    return {"site_title": "govcat", "site_description": "An open government data catalogue",
            "site_url": c.base.rstrip("/"), "ckan_version": CKAN_VERSION, "error_emails_to": None,
            "locale_default": "en", "extensions": ["datastore"]}


def help_show(v: _Version, p: dict, c: _Context) -> str:
    """What an action does and the parameters it takes."""
    name = _required(p, "name")
    handler = ACTIONS.get(name) if isinstance(name, str) else None
    if handler is None:
        raise ckan_shapes.NotFound(f"Action {str(name)[:100]} not found")
    return " ".join((handler.__doc__ or "").split())


ACTIONS = {f.__name__: f for f in (
    package_search, package_show, package_list, organization_list, organization_show, group_list, group_show,
    tag_list, resource_show, datastore_search, datastore_search_sql, status_show, help_show)}


def _owners(records: dict[str, dict], p: dict, names_param: str = "organizations") -> list:
    chosen = list(records.values())
    wanted = _list(p, names_param)
    if wanted:
        chosen = [r for r in chosen if r["name"] in wanted]
    query = str(p.get("q") or "").lower()
    if query:
        chosen = [r for r in chosen if query in r["name"].lower() or query in r["title"].lower()
                  or query in (r["description"] or "").lower()]
    sort = str(p.get("sort") or "title asc").split()
    if not sort or sort[0] not in LIST_SORTS or len(sort) > 2 or (len(sort) == 2 and sort[1] not in ("asc", "desc")):
        raise ValidationError("sort", f"sort by one of {', '.join(LIST_SORTS)}, then asc or desc")
    key = (lambda r: r[sort[0]].lower()) if sort[0] != "package_count" else (lambda r: r["package_count"])
    chosen.sort(key=key, reverse=len(sort) == 2 and sort[1] == "desc")
    offset = _integer(p, "offset", 0)
    limit = _integer(p, "limit", None)
    chosen = chosen[offset: None if limit is None else offset + limit]
    if not _boolean(p, "all_fields", False):
        return [r["name"] for r in chosen]
    counted, extras = _boolean(p, "include_dataset_count", True), _boolean(p, "include_extras", False)
    return [{k: val for k, val in r.items() if (k != "package_count" or counted) and (k != "extras" or extras)}
            for r in chosen]


def _owner(v: _Version, record: dict, field: str, p: dict, c: _Context) -> dict:
    shown = {**record, "users": [], "groups": [], "tags": []}
    if _boolean(p, "include_datasets", False):
        def belongs(package: dict) -> bool:
            if field == "organization":
                return (package["organization"] or {}).get("name") == record["name"]
            return any(g["name"] == record["name"] for g in package["groups"])

        shown["packages"] = with_base([pkg for pkg in v.catalogue.packages.values() if belongs(pkg)][:1000], c.base)
    return shown


# --------------------------------------------------------------------------------------- parameters

def _required(p: dict, name: str, alias: str | None = None):
    value = p.get(name, p.get(alias) if alias else None)
    if value is None or value == "":
        raise ValidationError(name, "Missing value")
    if not isinstance(value, str):
        raise ValidationError(name, "must be text")
    return value


def _text(p: dict, name: str) -> str | None:
    value = p.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(name, "must be text")


def _integer(p: dict, name: str, default: int | None, minimum: int = 0, maximum: int | None = None) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not re.fullmatch(r"\s*[+-]?\d{1,15}\s*", str(value)):
        raise ValidationError(name, "Invalid integer")
    number = int(value)
    if number < minimum:
        raise ValidationError(name, "Must be a natural number" if minimum == 0 else f"Must be at least {minimum}")
    return min(number, maximum) if maximum is not None else number


def _boolean(p: dict, name: str, default: bool) -> bool:
    value = p.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1", "on"):
        return True
    if text in ("false", "f", "no", "n", "0", "off"):
        return False
    raise ValidationError(name, "Invalid boolean: true or false")


def _list(p: dict, name: str) -> list:
    value = p.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError(name, "is not a valid JSON list") from None
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in values):
        raise ValidationError(name, "must be a list of text")
    return values


def _json_param(p: dict, name: str, kinds):
    """A parameter that may arrive as JSON text in a query string (a list or an object)."""
    value = p.get(name)
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError(name, "is not valid JSON") from None
    if value is not None and not isinstance(value, kinds):
        raise ValidationError(name, "has the wrong type")
    return value
