"""The public catalogue as CKAN describes a site: packages, organizations, groups, tags, resources.

One catalogue version is read once into a ``CkanCatalogue``: every public dataset becomes a
package (its ``name`` is the dataset id, its ``id`` a UUID derived from that name, so both stay
the same from version to version), every agency an organization and every theme a group.
A published dataset has one resource per download format; the CSV one is ``datastore_active``
and its id is the dataset id, which is also the dataset's table in the query sandbox, so
``datastore_search(resource_id=...)`` and ``datastore_search_sql('SELECT * FROM "<id>"')``
both work with the id a client reads from ``package_show``. Release N of a dataset is the
datastore resource ``<id>@N``.

Links are stored as paths (``/downloads/...``) and made absolute for each answer
(``with_base``), since the site's address is only known from the request.

Errors an action raises are ``CkanError``s, each with the ``__type`` and HTTP status CKAN uses.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import pyarrow as pa

from catalog import downloads
from catalog.errors import CatalogError
from catalog.vocabulary import THEMES

NAMESPACE = uuid.UUID("5b0f7d1e-3c1a-5d0e-9a51-6f0c0a7c2b11")  # fixed: ids never change between versions
DATASTORE_FORMAT = "csv"  # the format whose resource is the datastore table


# --------------------------------------------------------------------------------------- errors


class CkanError(CatalogError):
    """An action's refusal, as CKAN reports it: ``{"__type": ..., "message": ..., <field>: [...]}``."""

    status = 400
    kind = "Bad Request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict:
        return {"__type": self.kind, "message": self.message, **self.fields}


class NotFound(CkanError):
    status, kind = 404, "Not Found Error"


class ValidationError(CkanError):
    status, kind = 409, "Validation Error"

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}", {field_name: [problem]})


class Forbidden(CkanError):
    status, kind = 403, "Authorization Error"


class SearchQueryError(CkanError):
    status, kind = 400, "Search Query Error"


class BadRequest(CkanError):
    status, kind = 400, "Bad Request"


# --------------------------------------------------------------------------------------- ids, times


def uuid_for(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def ckan_time(epoch_us) -> str | None:
    """A moment as CKAN writes it: UTC, ISO 8601, no zone (``2022-11-23T00:29:53.533713``)."""
    if epoch_us is None or (isinstance(epoch_us, float) and math.isnan(epoch_us)):
        return None
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(epoch_us))
    return moment.isoformat(timespec="microseconds")


# --------------------------------------------------------------------------------------- the catalogue


@dataclass
class CkanCatalogue:
    """One catalogue version in CKAN's terms; public datasets only."""

    packages: dict[str, dict] = field(default_factory=dict)        # name -> package, by name
    organizations: dict[str, dict] = field(default_factory=dict)   # name -> organization (with package_count)
    groups: dict[str, dict] = field(default_factory=dict)          # name -> group (with package_count)
    package_ids: dict[str, str] = field(default_factory=dict)      # uuid -> name
    organization_ids: dict[str, str] = field(default_factory=dict)
    group_ids: dict[str, str] = field(default_factory=dict)
    resources: dict[str, tuple[str, int]] = field(default_factory=dict)  # resource id -> (package, position)
    schemas: dict[str, dict] = field(default_factory=dict)         # package name -> published Table Schema

    def package(self, key) -> dict:
        name = self._name(key, self.packages, self.package_ids)
        if name is None:
            raise NotFound("Not found: there is no public dataset with this id or name")
        return self.packages[name]

    def organization(self, key) -> dict:
        name = self._name(key, self.organizations, self.organization_ids)
        if name is None:
            raise NotFound("Not found: there is no organization with this id or name")
        return self.organizations[name]

    def group(self, key) -> dict:
        name = self._name(key, self.groups, self.group_ids)
        if name is None:
            raise NotFound("Not found: there is no group with this id or name")
        return self.groups[name]

    def resource(self, key) -> dict:
        found = self.resources.get(key) if isinstance(key, str) else None
        if found is None:
            raise NotFound(f'Resource "{str(key)[:100]}" was not found.')
        package, position = found
        return self.packages[package]["resources"][position]

    @staticmethod
    def _name(key, by_name: dict, by_id: dict) -> str | None:
        if not isinstance(key, str):
            return None
        if key in by_name:
            return key
        return by_id.get(key.lower())


def load(con: duckdb.DuckDBPyConnection) -> CkanCatalogue:
    """Read the catalogue ``con`` has attached as ``cat`` into CKAN's shapes."""
    cur = con.cursor()
    try:
        cur.execute("USE cat")
        datasets = _records(cur, """
            SELECT d.id, d.agency, d.title, d.description, d.keywords, d.theme, d.licence, d.licence_title,
                   d.licence_url, d.licence_open, d.frequency, d.contact_name, d.contact_email, d.temporal_start,
                   d.temporal_end, d.spatial, d.origin_url, d.schema, d.release, d.rows, d.data_start, d.data_end,
                   epoch_us(d.published_at) AS modified_us, epoch_us(f.first_us) AS created_us,
                   c.bytes AS parquet_bytes, c.data_sha256 AS parquet_sha256
            FROM datasets d
            LEFT JOIN (SELECT dataset_id, min(published_at) AS first_us FROM releases GROUP BY dataset_id) f
                   ON f.dataset_id = d.id
            LEFT JOIN current_releases c ON c.dataset_id = d.id
            WHERE d.access = 'public' ORDER BY d.id""")
        agencies = _records(cur, "SELECT slug, name, description, homepage FROM agencies ORDER BY slug")
    finally:
        cur.close()
    catalogue = CkanCatalogue()
    first_release: dict[str, int] = {}
    for row in datasets:
        if row["created_us"] is not None:
            first_release[row["agency"]] = min(first_release.get(row["agency"], row["created_us"]), row["created_us"])
    for agency in agencies:
        org = _organization(agency, first_release.get(agency["slug"]))
        catalogue.organizations[org["name"]] = org
        catalogue.organization_ids[org["id"]] = org["name"]
    for slug, (label, code) in THEMES.items():
        group = _group(slug, label, code)
        catalogue.groups[slug] = group
        catalogue.group_ids[group["id"]] = slug
    for row in datasets:
        package = _package(row, catalogue.organizations.get(row["agency"]), catalogue.groups.get(row["theme"]))
        catalogue.packages[package["name"]] = package
        catalogue.package_ids[package["id"]] = package["name"]
        catalogue.schemas[package["name"]] = _json(row["schema"]) or {"fields": []}
        for position, resource in enumerate(package["resources"]):
            catalogue.resources[resource["id"]] = (package["name"], position)
        if package["organization"] is not None:
            catalogue.organizations[row["agency"]]["package_count"] += 1
        if row["theme"] in catalogue.groups:
            catalogue.groups[row["theme"]]["package_count"] += 1
    return catalogue


def _records(cur, sql: str) -> list[dict]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, values)) for values in cur.fetchall()]


def _json(text) -> dict | None:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _organization(agency: dict, first_release_us) -> dict:
    return {
        "id": uuid_for("organization", agency["slug"]), "name": agency["slug"], "title": agency["name"],
        "display_name": agency["name"], "type": "organization", "description": agency["description"] or "",
        "image_url": "", "image_display_url": "", "created": ckan_time(first_release_us),
        "is_organization": True, "approval_status": "approved", "state": "active",
        "package_count": 0, "num_followers": 0,
        "extras": [{"key": "homepage", "value": agency["homepage"]}] if agency["homepage"] else [],
    }


def _group(slug: str, label: str, code: str) -> dict:
    return {
        "id": uuid_for("group", slug), "name": slug, "title": label, "display_name": label, "type": "group",
        "description": f"Datasets on the theme “{label}” (EU data theme {code}).", "image_url": "",
        "image_display_url": "", "created": None, "is_organization": False, "approval_status": "approved",
        "state": "active", "package_count": 0, "num_followers": 0,
        "extras": [{"key": "eu_data_theme", "value": code}],
    }


ORGANIZATION_IN_PACKAGE = ("id", "name", "title", "type", "description", "image_url", "created", "is_organization",
                           "approval_status", "state")
GROUP_IN_PACKAGE = ("id", "name", "title", "display_name", "description", "image_display_url")


def _package(row: dict, org: dict | None, group: dict | None) -> dict:
    name = row["id"]
    package_id = uuid_for("package", name)
    created, modified = ckan_time(row["created_us"]), ckan_time(row["modified_us"])
    keywords = list(row["keywords"] or [])
    tags = [{"id": uuid_for("tag", k.lower()), "name": k, "display_name": k, "state": "active",
             "vocabulary_id": None} for k in keywords]
    resources = _resources(row, package_id, created, modified)
    extras = [{"key": key, "value": str(value)} for key, value in (
        ("frequency", row["frequency"]), ("temporal_start", row["temporal_start"]),
        ("temporal_end", row["temporal_end"]), ("spatial", row["spatial"]), ("release", row["release"]),
        ("rows", row["rows"]), ("data_start", row["data_start"]), ("data_end", row["data_end"]),
    ) if value is not None and value == value and value != ""]
    return {
        "id": package_id, "name": name, "title": row["title"], "notes": row["description"] or "",
        "type": "dataset", "state": "active", "private": False,
        "author": org["title"] if org else "", "author_email": "",
        "maintainer": row["contact_name"] or "", "maintainer_email": row["contact_email"] or "",
        "license_id": row["licence"], "license_title": row["licence_title"], "license_url": row["licence_url"] or "",
        "isopen": bool(row["licence_open"]), "url": row["origin_url"] or "",
        "version": str(row["release"]) if row["release"] is not None else "",
        "metadata_created": created, "metadata_modified": modified, "creator_user_id": None,
        "owner_org": org["id"] if org else None,
        "organization": {k: org[k] for k in ORGANIZATION_IN_PACKAGE} if org else None,
        "groups": [{k: group[k] for k in GROUP_IN_PACKAGE}] if group else [],
        "tags": tags, "num_tags": len(tags), "extras": extras,
        "resources": resources, "num_resources": len(resources),
        "relationships_as_object": [], "relationships_as_subject": [],
    }


def _resources(row: dict, package_id: str, created: str | None, modified: str | None) -> list[dict]:
    """One resource per download format of the current release; none before a first release."""
    if row["release"] is None:
        return []
    dataset_id, release = row["id"], int(row["release"])
    rows = int(row["rows"] or 0)
    resources = []
    for fmt, about in downloads.FORMATS.items():
        if fmt == "xlsx" and rows > downloads.EXCEL_MAX_ROWS - 1:
            continue  # more rows than a sheet holds: that download is refused
        is_datastore = fmt == DATASTORE_FORMAT
        parquet = fmt == "parquet"
        resources.append({
            "id": dataset_id if is_datastore else f"{dataset_id}.{fmt}", "package_id": package_id,
            "name": f"{row['title']} ({about.label})",
            "description": f"Release {release}: {about.description}.", "format": fmt.upper(),
            "url": f"/downloads/{dataset_id}.{fmt}", "url_type": None,
            "mimetype": about.media_type.split(";")[0], "mimetype_inner": None,
            "hash": (row["parquet_sha256"] or "") if parquet else "",
            "size": int(row["parquet_bytes"]) if parquet and row["parquet_bytes"] is not None else None,
            "created": created, "last_modified": modified, "metadata_modified": modified,
            "cache_url": None, "cache_last_updated": None, "resource_type": None,
            "state": "active", "position": len(resources), "datastore_active": is_datastore,
        })
    return resources


# --------------------------------------------------------------------------------------- answers


def with_base(value, base: str):
    """A copy of a package (or a list of them, or a resource) with its download links made absolute."""
    if isinstance(value, list):
        return [with_base(item, base) for item in value]
    shown = copy.deepcopy(value)
    for resource in shown.get("resources", [shown] if "package_id" in shown else []):
        if isinstance(resource.get("url"), str) and resource["url"].startswith("/"):
            resource["url"] = base.rstrip("/") + resource["url"]
    return shown


def without_count(record: dict, count: bool = True) -> dict:
    return record if count else {k: v for k, v in record.items() if k != "package_count"}


# --------------------------------------------------------------------------------------- datastore values

def field_type(kind: pa.DataType) -> str:
    """The PostgreSQL type name CKAN's datastore reports for a column of this Arrow type."""
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_integer(kind):
        return "int8" if kind.bit_width > 32 else "int4"
    if pa.types.is_floating(kind):
        return "float8"
    if pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    if pa.types.is_time(kind):
        return "time"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "_" + field_type(kind.value_type)
    if pa.types.is_struct(kind) or pa.types.is_map(kind):
        return "json"
    return "text"


def json_value(value):
    """A cell as JSON holds it: ISO dates and times, numbers (no NaN), text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
