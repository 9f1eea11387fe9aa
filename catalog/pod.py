"""The public catalogue as a Project Open Data v1.1 (DCAT-US) ``data.json``, as data.gov harvests it.

Only public datasets with a release appear (read through ``catalog.dcat.public_catalogue``), so
``accessLevel`` is always ``public``. govcat is not a US federal agency: the file meets the
non-federal schema, and the federal one in everything but ``bureauCode`` and ``programCode``.
Each dataset's ``identifier`` is the same IRI its DCAT-AP description uses, so a harvester
reading both sees one dataset.
"""

from __future__ import annotations

import datetime as dt
import re

from catalog import downloads
from catalog.dcat import Addresses, PublicCatalogue, PublicDataset

SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
DESCRIBED_BY = "https://project-open-data.cio.gov/v1.1/schema/catalog.json"
DATA_PACKAGE_SPEC = "https://specs.frictionlessdata.io/data-package/"

# govcat's update frequencies -> ISO 8601 repeating durations, as the schema lists them
PERIODICITY = {"continuous": "R/PT1S", "daily": "R/P1D", "weekly": "R/P1W", "monthly": "R/P1M",
               "quarterly": "R/P3M", "biannual": "R/P6M", "annual": "R/P1Y", "irregular": "irregular"}
# the schema's own pattern for hasEmail: an address it refuses is left out rather than sent broken
POD_EMAIL = re.compile(r"^[\w\_\~\!\$\&\'\(\)\*\+\,\;\=\:.-]+@[\w.-]+\.[\w.-]+?$")
POD_MEDIA_TYPE = re.compile(r"^[-\w]+/[-\w]+(\.[-\w]+)*([+][-\w]+)?$")


def data_json(catalogue: PublicCatalogue, where: Addresses) -> dict:
    """The whole ``data.json`` document."""
    return {
        "@context": CONTEXT,
        "@id": f"{where.api}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": SCHEMA,
        "describedBy": DESCRIBED_BY,
        "dataset": [_dataset(dataset, where) for dataset in catalogue.datasets],
    }


def _dataset(dataset: PublicDataset, where: Addresses) -> dict:
    contact = {"@type": "vcard:Contact", "fn": dataset.contact_name}
    if POD_EMAIL.match(dataset.contact_email):
        contact["hasEmail"] = f"mailto:{dataset.contact_email}"
    entry = {
        "@type": "dcat:Dataset",
        "identifier": where.dataset(dataset.id),
        "title": dataset.title,
        "description": dataset.description or dataset.title,
        "keyword": list(dataset.keywords) or [dataset.theme_label],
        "modified": _moment(dataset.modified),
        "issued": _moment(dataset.issued),
        "publisher": {"@type": "org:Organization", "name": dataset.agency.name},
        "contactPoint": contact,
        "accessLevel": "public",
        "landingPage": where.page(dataset.id),
        "language": ["en"],
        "theme": [dataset.theme_label],
        "describedBy": where.datapackage(dataset.id),
        "describedByType": "application/json",
    }
    if dataset.licence_url:
        entry["license"] = dataset.licence_url
    else:
        entry["rights"] = (dataset.licence_title or "Reuse needs the publisher's permission")[:255]
    if dataset.spatial:
        entry["spatial"] = dataset.spatial
    if dataset.temporal_start and dataset.temporal_end:  # the schema has no open-ended interval
        entry["temporal"] = f"{dataset.temporal_start}/{dataset.temporal_end}"
    if dataset.frequency in PERIODICITY:
        entry["accrualPeriodicity"] = PERIODICITY[dataset.frequency]
    if dataset.origin_url:
        entry["references"] = [dataset.origin_url]
    entry["distribution"] = [_distribution(dataset, fmt, where) for fmt in downloads.FORMATS]
    return entry


def _distribution(dataset: PublicDataset, fmt: str, where: Addresses) -> dict:
    described = downloads.FORMATS[fmt]
    media_type = described.media_type.split(";")[0].strip()
    release = dataset.current.number
    entry = {
        "@type": "dcat:Distribution",
        "title": f"{described.label}, release {release}",
        "description": f"{dataset.title} as {described.description}.",
        "downloadURL": where.download(dataset.id, fmt, release),
        "mediaType": media_type if POD_MEDIA_TYPE.match(media_type) else "application/octet-stream",
        "format": described.label,
        "describedBy": where.datapackage(dataset.id, release),
        "describedByType": "application/json",
    }
    if fmt == "zip":
        entry["conformsTo"] = DATA_PACKAGE_SPEC
    return entry


def _moment(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
