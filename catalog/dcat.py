"""The public catalogue as DCAT-AP 3: what other portals harvest, in JSON-LD, Turtle or RDF/XML.

``public_catalogue`` reads, once per catalogue version, every *public* dataset that has a
release: nothing else ever reaches an export. ``catalogue_graph`` and ``dataset_graph``
describe them with the EU vocabularies DCAT-AP asks for (data themes, frequencies, access
rights, file types, languages), IANA media types and SPDX checksums:

    dcat:Catalog       {api}/catalog
    dcat:Dataset       {api}/datasets/<id>            its current release's files as distributions
    dcat:Distribution  {api}/datasets/<id>/releases/<n>#<format>
    dcat:Dataset       {api}/datasets/<id>/releases/<n>   one per release, in the dataset's own
                                                          export only (dcat:hasVersion)

A release's versions are left out of the whole catalogue on purpose: harvesters such as
ckanext-dcat turn every dcat:Dataset they find into a dataset of their own.

Addresses come from the environment when a document is made: ``GOVCAT_API_URL`` (the API,
see catalog.snippets) and ``GOVCAT_BASE_URL`` (the explorer, whose pages are the landing
pages). The catalogue's own title and publisher come from ``GOVCAT_CATALOG_TITLE`` and
``GOVCAT_CATALOG_PUBLISHER``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from catalog import catalogue_db, downloads, snippets
from catalog.errors import CatalogError, StoreError
from catalog.settings import HomeLayout
from catalog.vocabulary import THEMES

BASE_URL_ENV = "GOVCAT_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8501"
TITLE_ENV = "GOVCAT_CATALOG_TITLE"
PUBLISHER_ENV = "GOVCAT_CATALOG_PUBLISHER"
DEFAULT_TITLE = "govcat · open government data"
DEFAULT_PUBLISHER = "govcat open data catalogue"
LANGUAGE = "en"

DCAT = Namespace("http://www.w3.org/ns/dcat#")  # open: rdflib's closed DCAT lacks DCAT 3's version terms
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
DATA_THEME = URIRef(EU + "data-theme")
ENGLISH = URIRef(EU + "language/ENG")
PUBLIC_ACCESS = URIRef(EU + "access-right/PUBLIC")
IANA = "https://www.iana.org/assignments/media-types/"
DATA_PACKAGE_SPEC = URIRef("https://specs.frictionlessdata.io/data-package/")

# govcat's update frequencies -> EU frequency authority table
FREQUENCY_CODES = {"continuous": "UPDATE_CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
                   "quarterly": "QUARTERLY", "biannual": "ANNUAL_2", "annual": "ANNUAL", "irregular": "IRREG",
                   "never": "NEVER"}
# download formats -> EU file-type authority table
FILE_TYPES = {"csv": "CSV", "parquet": "PARQUET", "json": "JSON", "xlsx": "XLSX", "zip": "ZIP"}

PREFIXES = {"dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "vcard": VCARD, "skos": SKOS, "spdx": SPDX, "adms": ADMS,
            "rdfs": RDFS, "xsd": XSD}
SERIALISATIONS = {  # key: (rdflib format, media type)
    "jsonld": ("json-ld", "application/ld+json"),
    "ttl": ("turtle", "text/turtle"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
}


# ---------------------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class Addresses:
    """Where the API and the explorer are reached, and what the catalogue calls itself."""

    api: str
    explorer: str
    title: str = DEFAULT_TITLE
    publisher: str = DEFAULT_PUBLISHER

    @classmethod
    def from_environment(cls) -> "Addresses":
        return cls(api=snippets.api_url(), explorer=explorer_url(),
                   title=_setting(TITLE_ENV, DEFAULT_TITLE), publisher=_setting(PUBLISHER_ENV, DEFAULT_PUBLISHER))

    def dataset(self, dataset_id: str) -> str:
        return f"{self.api}/datasets/{quote(dataset_id, safe='')}"

    def release(self, dataset_id: str, release: int) -> str:
        return f"{self.dataset(dataset_id)}/releases/{int(release)}"

    def download(self, dataset_id: str, fmt: str, release: int) -> str:
        return snippets.download_url(dataset_id, fmt, release, base_url=self.api)

    def datapackage(self, dataset_id: str, release: int | None = None) -> str:
        if release is None:
            return f"{self.dataset(dataset_id)}/datapackage.json"
        return f"{self.release(dataset_id, release)}/datapackage.json"

    def page(self, dataset_id: str, release: int | None = None) -> str:
        """The explorer's page of a dataset (of one release when given)."""
        query = {"id": dataset_id} | ({"release": int(release)} if release is not None else {})
        return f"{self.explorer}/dataset?{urlencode(query)}"

    def agency(self, slug: str) -> str:
        return f"{self.api}/agencies/{quote(slug, safe='')}"

    def agency_page(self, slug: str) -> str:
        return f"{self.explorer}/agency?{urlencode({'slug': slug})}"

    def theme_page(self, slug: str) -> str:
        return f"{self.explorer}/theme?{urlencode({'slug': slug})}"


def explorer_url(explicit: str | None = None) -> str:
    """Where the explorer is served: ``explicit``, else $GOVCAT_BASE_URL, else the default."""
    chosen = explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in chosen):
        raise CatalogError(f"the explorer address {chosen[:100]!r} ({BASE_URL_ENV}) must start with http:// or "
                           f"https:// and name a host")
    return chosen.rstrip("/")


def _setting(name: str, default: str) -> str:
    value = " ".join((os.environ.get(name) or "").split())
    return value[:300] or default


# ---------------------------------------------------------------------------------------- what is public


@dataclass(frozen=True)
class Agency:
    slug: str
    name: str
    homepage: str | None
    description: str


@dataclass(frozen=True)
class PublicRelease:
    number: int
    published_at: dt.datetime
    rows: int
    parquet_bytes: int | None
    parquet_sha256: str | None
    path: str
    note: str
    summary: str

    @property
    def notes(self) -> str:
        """What changed, in words: the steward's note and the computed summary."""
        return " ".join(part for part in (self.note.strip(), _sentence(self.summary)) if part)


@dataclass(frozen=True)
class PublicDataset:
    id: str
    title: str
    description: str
    keywords: tuple[str, ...]
    theme: str
    theme_label: str
    licence: str
    licence_title: str
    licence_url: str | None
    frequency: str
    frequency_label: str
    contact_name: str
    contact_email: str
    temporal_start: str | None
    temporal_end: str | None
    spatial: str | None
    origin_title: str | None
    origin_url: str | None
    agency: Agency
    schema: str
    releases: tuple[PublicRelease, ...]  # oldest first; never empty

    @property
    def current(self) -> PublicRelease:
        return self.releases[-1]

    @property
    def issued(self) -> dt.datetime:
        return self.releases[0].published_at

    @property
    def modified(self) -> dt.datetime:
        return self.current.published_at


@dataclass(frozen=True)
class PublicCatalogue:
    home: Path
    datasets: tuple[PublicDataset, ...]
    agencies: tuple[Agency, ...]  # those with at least one public dataset

    @property
    def modified(self) -> dt.datetime | None:
        return max((d.modified for d in self.datasets), default=None)

    @property
    def issued(self) -> dt.datetime | None:
        return min((d.issued for d in self.datasets), default=None)

    def dataset(self, dataset_id: str) -> PublicDataset:
        for found in self.datasets:
            if found.id == dataset_id:
                return found
        raise downloads.NotPublished(f"there is no published public dataset {str(dataset_id)[:80]!r}")


_cache: dict[Path, tuple[str, PublicCatalogue]] = {}
_cache_lock = threading.Lock()


def public_catalogue(home: str | Path) -> PublicCatalogue:
    """Every public dataset with at least one release, read once per version of the catalogue."""
    root = Path(home).expanduser().resolve()
    path = HomeLayout(root).catalogue
    version = catalogue_db.file_version(path)
    if not version:
        return PublicCatalogue(root, (), ())
    known = _cache.get(root)
    if known is not None and known[0] == version:
        return known[1]
    with _cache_lock:
        known = _cache.get(root)
        if known is not None and known[0] == version:
            return known[1]
        read = _read(root, path)
        _cache[root] = (version, read)
        return read


def _read(root: Path, path: Path) -> PublicCatalogue:
    try:
        con = catalogue_db.open_reader(path)
    except Exception as exc:  # noqa: BLE001 - a catalogue swapped mid-open or unreadable: say so plainly
        raise StoreError("the catalogue cannot be read just now; try again in a moment") from exc
    try:
        cur = con.cursor()
        cur.execute("USE cat")
        datasets = cur.execute("""
            SELECT d.id, d.title, d.description, d.keywords, d.theme, d.theme_label, d.licence, d.licence_title,
                   d.licence_url, d.frequency, d.frequency_label, d.contact_name, d.contact_email,
                   d.temporal_start, d.temporal_end, d.spatial, d.origin_title, d.origin_url, d.schema,
                   a.slug, a.name, a.homepage, a.description
            FROM datasets d JOIN agencies a ON a.slug = d.agency
            WHERE d.access = 'public' AND d.release IS NOT NULL
            ORDER BY d.id""").fetchall()
        note_columns = {name for (name,) in cur.execute("""
            SELECT column_name FROM information_schema.columns
            WHERE table_catalog = current_database() AND table_name = 'releases'""").fetchall()}
        diff = "r.diff" if "diff" in note_columns else "NULL"
        releases = cur.execute(f"""
            SELECT r.dataset_id, r.release, r.published_at, r.rows, r.bytes, r.data_sha256, r.path,
                   coalesce(r.note, ''), {diff}
            FROM releases r JOIN datasets d ON d.id = r.dataset_id
            WHERE d.access = 'public' ORDER BY r.dataset_id, r.release""").fetchall()
    finally:
        con.close()
    by_dataset: dict[str, list[PublicRelease]] = {}
    for (dataset_id, number, published_at, rows, size, sha256, rel_path, note, diff_json) in releases:
        by_dataset.setdefault(dataset_id, []).append(PublicRelease(
            int(number), _utc(published_at), int(rows or 0), int(size) if size is not None else None, sha256,
            rel_path or "", note or "", _summary(diff_json)))
    agencies: dict[str, Agency] = {}
    found = []
    for row in datasets:
        history = by_dataset.get(row[0])
        if not history:
            continue
        agency = agencies.setdefault(row[19], Agency(row[19], row[20], row[21] or None, row[22] or ""))
        found.append(PublicDataset(
            id=row[0], title=row[1], description=row[2] or "", keywords=tuple(row[3] or ()), theme=row[4],
            theme_label=row[5], licence=row[6] or "", licence_title=row[7] or "", licence_url=row[8] or None,
            frequency=row[9], frequency_label=row[10], contact_name=row[11], contact_email=row[12],
            temporal_start=row[13] or None, temporal_end=row[14] or None, spatial=row[15] or None,
            origin_title=row[16] or None, origin_url=row[17] or None, schema=row[18] or "", agency=agency,
            releases=tuple(history)))
    return PublicCatalogue(root, tuple(found), tuple(sorted(agencies.values(), key=lambda a: a.slug)))


def _utc(moment) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _summary(diff_json) -> str:
    if not isinstance(diff_json, str) or not diff_json:
        return ""
    try:
        summary = json.loads(diff_json).get("summary")
    except (ValueError, AttributeError):
        return ""
    return " ".join(summary.split()) if isinstance(summary, str) else ""


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    return (text[0].upper() + text[1:]).rstrip(".") + "."


# ---------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class FileFacts:
    """A release in one format: its size and SHA-256 when the file already exists, else None."""

    fmt: str
    size: int | None = None
    sha256: str | None = None


def release_files(catalogue: PublicCatalogue, dataset: PublicDataset, release: PublicRelease) -> list[FileFacts]:
    """Every download format of a release. The Parquet file is the published one, so its size and
    checksum are always known; another format's are known once that file has been made (they are
    made when first downloaded, never here)."""
    facts = []
    about = _download_release(catalogue, dataset, release)
    for fmt in downloads.FORMATS:
        if fmt == "parquet":
            facts.append(FileFacts(fmt, release.parquet_bytes, release.parquet_sha256))
            continue
        ready = None
        if about is not None:
            try:
                ready = downloads.ready_export(catalogue.home, about, fmt)
            except (CatalogError, OSError):
                ready = None
        facts.append(FileFacts(fmt, ready.size, ready.sha256) if ready else FileFacts(fmt))
    return facts


def _download_release(catalogue: PublicCatalogue, dataset: PublicDataset,
                      release: PublicRelease) -> downloads.Release | None:
    """The release as catalog.downloads knows it, to find the files it has already made (finding them
    takes its id, number and checksum; the schema given is the dataset's current one)."""
    try:
        parquet = downloads.release_parquet(catalogue.home, release.path)
    except (CatalogError, OSError):
        return None
    return downloads.Release(
        dataset_id=dataset.id, release=release.number, current=dataset.current.number, parquet=parquet,
        data_sha256=release.parquet_sha256 or "", rows=release.rows, published_at=release.published_at,
        title=dataset.title, description=dataset.description, agency_name=dataset.agency.name,
        licence=dataset.licence, licence_title=dataset.licence_title, licence_url=dataset.licence_url,
        keywords=dataset.keywords, origin_title=dataset.origin_title, origin_url=dataset.origin_url,
        schema=json.loads(dataset.schema) if dataset.schema else {"fields": []})


# ---------------------------------------------------------------------------------------- the graph


def catalogue_graph(catalogue: PublicCatalogue, where: Addresses) -> Graph:
    """The whole public catalogue: one dcat:Catalog and each dataset with its current files."""
    graph = _graph()
    node = URIRef(f"{where.api}/catalog")
    graph.add((node, RDF.type, DCAT.Catalog))
    graph.add((node, DCTERMS.title, _text(where.title)))
    graph.add((node, DCTERMS.description, _text(
        f"The public datasets of {where.title}: {len(catalogue.datasets)} datasets from "
        f"{len(catalogue.agencies)} publishers, each release downloadable in "
        f"{', '.join(f.label for f in downloads.FORMATS.values())}.")))
    publisher = URIRef(f"{where.api}/catalog#publisher")
    graph.add((node, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, _text(where.publisher)))
    homepage = URIRef(f"{where.explorer}/")
    graph.add((node, FOAF.homepage, homepage))
    graph.add((homepage, RDF.type, FOAF.Document))
    graph.add((node, DCAT.themeTaxonomy, DATA_THEME))
    _theme_scheme(graph)
    _language(graph, node)
    if catalogue.issued is not None:
        graph.add((node, DCTERMS.issued, _moment(catalogue.issued)))
        graph.add((node, DCTERMS.modified, _moment(catalogue.modified)))
    for dataset in catalogue.datasets:
        graph.add((node, DCAT.dataset, _dataset(graph, catalogue, dataset, where, history=False)))
    return graph


def dataset_graph(catalogue: PublicCatalogue, dataset_id: str, where: Addresses) -> Graph:
    """One public dataset with its current files and every release as a version of it.
    NotPublished for a dataset that is not public, has no release, or does not exist."""
    dataset = catalogue.dataset(dataset_id)
    graph = _graph()
    _dataset(graph, catalogue, dataset, where, history=True)
    return graph


def serialise(graph: Graph, key: str) -> bytes:
    """The graph as JSON-LD (``jsonld``), Turtle (``ttl``) or RDF/XML (``rdf``), in UTF-8."""
    rdf_format, _ = SERIALISATIONS[key]
    if key == "jsonld":
        context = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
        text = graph.serialize(format=rdf_format, context=context, auto_compact=True, indent=2)
    else:
        text = graph.serialize(format=rdf_format)
    return text.encode("utf-8") if isinstance(text, str) else text


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph


def _dataset(graph: Graph, catalogue: PublicCatalogue, dataset: PublicDataset, where: Addresses,
             history: bool) -> URIRef:
    node = URIRef(where.dataset(dataset.id))
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(dataset.id)))
    graph.add((node, DCTERMS.title, _text(dataset.title)))
    graph.add((node, DCTERMS.description, _text(dataset.description or dataset.title)))
    for keyword in dataset.keywords:
        graph.add((node, DCAT.keyword, _text(keyword)))
    graph.add((node, DCAT.theme, _theme(graph, dataset.theme)))
    graph.add((node, DCTERMS.publisher, _agency(graph, dataset.agency, where)))
    graph.add((node, DCAT.contactPoint, _contact(graph, dataset)))
    graph.add((node, DCTERMS.accessRights, _public_access(graph)))
    frequency = FREQUENCY_CODES.get(dataset.frequency)
    if frequency:
        term = URIRef(EU + "frequency/" + frequency)
        graph.add((node, DCTERMS.accrualPeriodicity, term))
        graph.add((term, RDF.type, DCTERMS.Frequency))
        graph.add((term, RDF.type, SKOS.Concept))
        graph.add((term, SKOS.prefLabel, _text(dataset.frequency_label)))
    if dataset.spatial:
        place = BNode()
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
        graph.add((place, SKOS.prefLabel, _text(dataset.spatial)))
    if dataset.temporal_start:
        period = BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        graph.add((period, DCAT.startDate, Literal(dataset.temporal_start, datatype=XSD.date)))
        if dataset.temporal_end:
            graph.add((period, DCAT.endDate, Literal(dataset.temporal_end, datatype=XSD.date)))
    _language(graph, node)
    landing = URIRef(where.page(dataset.id))
    graph.add((node, DCAT.landingPage, landing))
    graph.add((landing, RDF.type, FOAF.Document))
    if dataset.origin_url:
        origin = _iri(dataset.origin_url)
        graph.add((node, FOAF.page, origin))
        graph.add((origin, RDF.type, FOAF.Document))
        provenance = BNode()
        graph.add((node, DCTERMS.provenance, provenance))
        graph.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
        graph.add((provenance, RDFS.label, _text(
            f"Republished by {dataset.agency.name} from {dataset.origin_title or dataset.origin_url} "
            f"({dataset.origin_url}).")))
    graph.add((node, DCTERMS.issued, _moment(dataset.issued)))
    graph.add((node, DCTERMS.modified, _moment(dataset.modified)))
    graph.add((node, DCAT.version, Literal(str(dataset.current.number))))
    if dataset.current.notes:
        graph.add((node, ADMS.versionNotes, _text(dataset.current.notes)))
    for distribution in _distributions(graph, catalogue, dataset, dataset.current, where):
        graph.add((node, DCAT.distribution, distribution))
    if history:
        previous = None
        for release in dataset.releases:
            version = _version(graph, catalogue, dataset, release, previous, where)
            graph.add((node, DCAT.hasVersion, version))
            previous = version
        graph.add((node, DCAT.hasCurrentVersion, previous))
    return node


def _version(graph: Graph, catalogue: PublicCatalogue, dataset: PublicDataset, release: PublicRelease,
             previous: URIRef | None, where: Addresses) -> URIRef:
    node = URIRef(where.release(dataset.id, release.number))
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(f"{dataset.id}@{release.number}")))
    graph.add((node, DCTERMS.title, _text(f"{dataset.title} (release {release.number})")))
    published = release.published_at.date().isoformat()
    graph.add((node, DCTERMS.description, _text(
        f"Release {release.number} of {dataset.title}, published on {published} with {release.rows:,} rows. "
        f"It never changes.")))
    graph.add((node, DCAT.version, Literal(str(release.number))))
    graph.add((node, DCTERMS.issued, _moment(release.published_at)))
    if release.notes:
        graph.add((node, ADMS.versionNotes, _text(release.notes)))
    graph.add((node, DCTERMS.isVersionOf, URIRef(where.dataset(dataset.id))))
    graph.add((node, DCTERMS.publisher, _agency(graph, dataset.agency, where)))
    page = URIRef(where.page(dataset.id, release.number))
    graph.add((node, DCAT.landingPage, page))
    graph.add((page, RDF.type, FOAF.Document))
    if previous is not None:
        graph.add((node, DCAT.previousVersion, previous))
    for distribution in _distributions(graph, catalogue, dataset, release, where):
        graph.add((node, DCAT.distribution, distribution))
    return node


def _distributions(graph: Graph, catalogue: PublicCatalogue, dataset: PublicDataset, release: PublicRelease,
                   where: Addresses) -> list[URIRef]:
    made = []
    licence = _licence(graph, dataset)
    for facts in release_files(catalogue, dataset, release):
        fmt = downloads.FORMATS[facts.fmt]
        node = URIRef(f"{where.release(dataset.id, release.number)}#{facts.fmt}")
        made.append(node)
        if (node, RDF.type, DCAT.Distribution) in graph:  # the current release's, described already
            continue
        url = URIRef(where.download(dataset.id, facts.fmt, release.number))
        graph.add((node, RDF.type, DCAT.Distribution))
        graph.add((node, DCTERMS.title, _text(f"{fmt.label}, release {release.number}")))
        graph.add((node, DCTERMS.description, _text(f"{dataset.title} as {fmt.description}.")))
        graph.add((node, DCAT.accessURL, url))
        graph.add((node, DCAT.downloadURL, url))
        media = URIRef(IANA + fmt.media_type.split(";")[0].strip())
        graph.add((node, DCAT.mediaType, media))
        graph.add((media, RDF.type, DCTERMS.MediaType))
        file_type = URIRef(EU + "file-type/" + FILE_TYPES[facts.fmt])
        graph.add((node, DCTERMS.format, file_type))
        graph.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        if facts.fmt == "zip":
            graph.add((node, DCTERMS.conformsTo, DATA_PACKAGE_SPEC))
            graph.add((DATA_PACKAGE_SPEC, RDF.type, DCTERMS.Standard))
            graph.add((DATA_PACKAGE_SPEC, DCTERMS.title, _text("Frictionless Data Package")))
        if licence is not None:
            graph.add((node, DCTERMS.license, licence))
        else:
            graph.add((node, DCTERMS.rights, _closed_rights(graph, dataset)))
        graph.add((node, DCTERMS.issued, _moment(release.published_at)))
        if facts.size is not None:
            graph.add((node, DCAT.byteSize, Literal(facts.size, datatype=XSD.nonNegativeInteger)))
        if facts.sha256:
            checksum = BNode()
            graph.add((node, SPDX.checksum, checksum))
            graph.add((checksum, RDF.type, SPDX.Checksum))
            graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
            graph.add((checksum, SPDX.checksumValue, Literal(facts.sha256, datatype=XSD.hexBinary)))
    return made


def _licence(graph: Graph, dataset: PublicDataset) -> URIRef | None:
    if not dataset.licence_url:
        return None
    node = _iri(dataset.licence_url)
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    graph.add((node, DCTERMS.title, _text(dataset.licence_title or dataset.licence)))
    if dataset.licence:
        graph.add((node, DCTERMS.identifier, Literal(dataset.licence)))
    return node


def _closed_rights(graph: Graph, dataset: PublicDataset) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, DCTERMS.RightsStatement))
    graph.add((node, RDFS.label, _text(dataset.licence_title or "Reuse needs the publisher's permission")))
    return node


def _theme(graph: Graph, slug: str) -> URIRef:
    label, code = THEMES[slug]
    node = URIRef(f"{DATA_THEME}/{code}")
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, SKOS.prefLabel, _text(label)))
    graph.add((node, SKOS.inScheme, DATA_THEME))
    _theme_scheme(graph)
    return node


def _theme_scheme(graph: Graph) -> None:
    graph.add((DATA_THEME, RDF.type, SKOS.ConceptScheme))
    graph.add((DATA_THEME, DCTERMS.title, _text("Data theme")))


def _agency(graph: Graph, agency: Agency, where: Addresses) -> URIRef:
    node = URIRef(where.agency(agency.slug))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, RDF.type, FOAF.Organization))
    graph.add((node, FOAF.name, _text(agency.name)))
    if agency.homepage:
        graph.add((node, FOAF.homepage, _iri(agency.homepage)))
    page = URIRef(where.agency_page(agency.slug))
    graph.add((node, FOAF.page, page))
    graph.add((page, RDF.type, FOAF.Document))
    return node


def _contact(graph: Graph, dataset: PublicDataset) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    graph.add((node, VCARD.fn, Literal(dataset.contact_name)))
    graph.add((node, VCARD.hasEmail, URIRef("mailto:" + quote(dataset.contact_email, safe="@+._-"))))
    return node


def _public_access(graph: Graph) -> URIRef:
    graph.add((PUBLIC_ACCESS, RDF.type, DCTERMS.RightsStatement))
    graph.add((PUBLIC_ACCESS, RDF.type, SKOS.Concept))
    graph.add((PUBLIC_ACCESS, SKOS.prefLabel, _text("public")))
    return PUBLIC_ACCESS


def _language(graph: Graph, node: URIRef) -> None:
    graph.add((node, DCTERMS.language, ENGLISH))
    graph.add((ENGLISH, RDF.type, DCTERMS.LinguisticSystem))


def _iri(url: str) -> URIRef:
    """A declared address as an IRI that every serialisation can hold (spaces, quotes and angle
    brackets percent-encoded)."""
    return URIRef(quote(url, safe=":/?#[]@!$&'()*+,;=%~-._"))


def _text(value: str) -> Literal:
    return Literal(value, lang=LANGUAGE)


def _moment(moment: dt.datetime) -> Literal:
    return Literal(_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)
