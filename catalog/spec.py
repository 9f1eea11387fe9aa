"""The dataset declarations under ``datasets/``: one loader, strict, all-or-nothing.

Layout::

    datasets/<agency>/agency.yaml
    datasets/<agency>/<dataset>/dataset.yaml
    datasets/<agency>/<dataset>/schema.yaml      (a Frictionless Table Schema)

``load_declarations`` reads every file, collects every problem it finds (file, key, what is
wrong) and either returns the whole catalogue or raises one ``SpecError`` listing them all.
The format is documented in ``datasets/README.md``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from catalog.errors import SpecError
from catalog import privacy_rules
from catalog.privacy_rules import ExtraRules
from catalog.references import reference_problems
from catalog.schema import schema_problems
from catalog.vocabulary import ACCESS_LEVELS, FREQUENCIES, LICENCES, SOURCE_FORMATS, THEMES, Licence
from catalog.yamlfile import YamlProblem, read_yaml

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^https?://[^\s]+$")
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json", ".xml": "xml"}
PSEUDONYM_SCOPES = ("series", "release")


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


@dataclass(frozen=True)
class Agency:
    slug: str
    name: str
    homepage: str
    contact: Contact
    description: str
    path: Path


@dataclass(frozen=True)
class Origin:
    """Where the agency's data came from, when it republishes someone else's."""

    title: str
    url: str


@dataclass(frozen=True)
class SourceSpec:
    """How to pull one dataset's data: from files in its folder (``path``, maybe a glob: each
    match is a delivery) or from an http(s) address (``url``), exactly one of the two."""

    path: str | None
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    records: str | None = None
    record: str | None = None
    origin: Origin | None = None
    url: str | None = None
    timeout: float = 30.0          # url: seconds one attempt may wait for the server
    retries: int = 3               # url: further attempts after a failure that may pass

    @property
    def location(self) -> str:
        """Where the data comes from, as declared: the path or the address."""
        return self.url or self.path or ""

    def deliveries(self, folder: Path) -> list[Path]:
        """The files this source has delivered into ``folder`` so far, oldest first (by name).

        A url source delivers into the govcat home instead: see ``catalog.sources.deliveries``.
        """
        if self.path is None:
            return []
        return sorted(p for p in folder.glob(self.path) if p.is_file())

    def reading_options(self) -> dict:
        return {"format": self.format, "encoding": self.encoding, "delimiter": self.delimiter,
                "sheet": self.sheet, "records": self.records, "record": self.record}


@dataclass(frozen=True)
class PrivacySpec:
    drop: tuple[str, ...] = ()
    pseudonymise: tuple[str, ...] = ()
    scope: str = "series"
    waivers: dict[str, str] = field(default_factory=dict)
    extra: ExtraRules = field(default_factory=ExtraRules)   # generalise, k_anonymity, small_cells, scrub

    def covered(self) -> set[str]:
        """Columns that a rule or a reviewed waiver accounts for."""
        return set(self.drop) | self.changed() | set(self.waivers)

    def changed(self) -> set[str]:
        """Published columns whose values differ from the delivered ones."""
        return set(self.pseudonymise) | self.extra.changed()

    def as_dict(self) -> dict:
        return {"drop": list(self.drop), "pseudonymise": {"columns": list(self.pseudonymise), "scope": self.scope},
                "waivers": dict(self.waivers), **self.extra.as_dict()}


@dataclass(frozen=True)
class Sharing:
    """A restricted dataset's agreement: the agencies it is shared with, and the legal basis."""

    agencies: tuple[str, ...]
    legal_basis: str


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    agency: str
    folder: Path
    title: str
    description: str
    keywords: tuple[str, ...]
    theme: str
    licence: Licence
    frequency: str
    contact: Contact
    temporal_start: str | None
    temporal_end: str | None
    spatial: str | None
    source: SourceSpec
    privacy: PrivacySpec
    access: str
    schema: dict
    sharing: Sharing | None = None     # for access: restricted, who may read it and under which law
    approval: bool = False             # a second steward of the agency approves each release
    calendar: tuple[dt.date, ...] = ()  # announced release dates (publishing.calendar), earliest first

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.schema["fields"]]

    @property
    def published_names(self) -> list[str]:
        """The columns a release carries: the schema's, less the dropped ones."""
        dropped = set(self.privacy.drop)
        return [n for n in self.field_names if n not in dropped]

    def published_schema(self) -> dict:
        """The Table Schema of what a release carries: dropped fields gone, pseudonymised ones
        retyped as the text codes they become."""
        fields = []
        extra = self.privacy.extra
        loosened = extra.changed() - {g.column for g in extra.generalise}     # may now be empty or coarser
        for f in self.schema["fields"]:
            if f["name"] in self.privacy.drop:
                continue
            generalised = extra.generalised(f["name"])
            if generalised is not None:
                f = generalised.published_field(f)
            if f["name"] in loosened and f.get("constraints"):
                f = {k: v for k, v in f.items() if k != "constraints"}
            if f["name"] in self.privacy.pseudonymise:
                kept = {k: v for k, v in f.items() if k in ("name", "title", "description")}
                note = "Pseudonymised: a keyed code stands in for the original value."
                kept["description"] = f"{kept.get('description', '')} {note}".strip()
                constraints = {k: v for k, v in (f.get("constraints") or {}).items() if k in ("required", "unique")}
                f = {**kept, "type": "string", **({"constraints": constraints} if constraints else {})}
            fields.append(f)
        kept = {f["name"] for f in fields}
        schema = {**self.schema, "fields": fields}
        key = schema.get("primaryKey")
        if key is not None and not set([key] if isinstance(key, str) else key) <= kept:
            del schema["primaryKey"]
        if "foreignKeys" in schema:
            schema["foreignKeys"] = [fk for fk in schema["foreignKeys"]
                                     if set([fk["fields"]] if isinstance(fk["fields"], str) else fk["fields"]) <= kept]
        return schema

    def fingerprint(self) -> str:
        """Hash of everything that shapes the published data (not titles or descriptions)."""
        descriptive = {"title", "description", "example", "rdfType"}
        fields = [{k: v for k, v in f.items() if k not in descriptive} for f in self.schema["fields"]]
        shape = {k: v for k, v in self.schema.items() if k not in descriptive | {"fields"}}
        payload = {"fields": fields, "schema": shape, "privacy": self.privacy.as_dict(),
                   "source": self.source.reading_options()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Declarations:
    """Every agency and dataset declared under one folder."""

    root: Path
    agencies: dict[str, Agency]
    datasets: dict[str, DatasetSpec]

    def select(self, ids: list[str]) -> list[DatasetSpec]:
        """The named datasets in the order given; an unknown id is an error naming it."""
        unknown = [i for i in ids if i not in self.datasets]
        if unknown:
            hints = [_did_you_mean(i, self.datasets) for i in unknown]
            raise SpecError([f"unknown dataset {i!r}{h}" for i, h in zip(unknown, hints)])
        return [self.datasets[i] for i in ids]


# --------------------------------------------------------------------------- loading


def load_declarations(root: Path) -> Declarations:
    """Load every declaration under ``root``; raise SpecError listing every problem found."""
    root = Path(root)
    if not root.is_dir():
        raise SpecError([f"{root}: the declarations folder does not exist"])
    problems: list[str] = []
    agencies: dict[str, Agency] = {}
    for folder in _children(root):
        agency_file = folder / "agency.yaml"
        if agency_file.is_file():
            agency = _load_agency(agency_file, root, problems)
            if agency:
                agencies[agency.slug] = agency
    datasets: dict[str, DatasetSpec] = {}
    first_seen: dict[str, Path] = {}
    for dataset_file in sorted(root.glob("*/*/dataset.yaml")):
        if dataset_file.parent.name.startswith((".", "_")) or dataset_file.parent.parent.name.startswith((".", "_")):
            continue
        spec = _load_dataset(dataset_file, root, agencies, problems)
        if spec is None:
            continue
        if spec.id in first_seen:
            problems.append(f"{_show(dataset_file, root)}: id: duplicate id {spec.id!r}, "
                            f"already declared in {_show(first_seen[spec.id], root)}")
            continue
        first_seen[spec.id] = dataset_file
        datasets[spec.id] = spec
    schema_files = {i: _show(f.parent / "schema.yaml", root) for i, f in first_seen.items()}
    problems.extend(reference_problems(datasets, schema_files))
    if problems:
        raise SpecError(problems)
    return Declarations(root=root, agencies=agencies, datasets=datasets)


def _children(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _show(path: Path, root: Path) -> str:
    """A path as a steward would type it: relative to the folder that holds the declarations."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


class _Mapping:
    """Reads keys out of one YAML mapping, recording each problem with its file and key."""

    def __init__(self, data: Any, where: str, problems: list[str], prefix: str = ""):
        self.where, self.problems, self.prefix = where, problems, prefix
        self.ok = isinstance(data, dict)
        self.data = data if self.ok else {}
        if not self.ok:
            self.problem("", f"must be a mapping of keys to values, found {_kind(data)}")

    def problem(self, key: str, message: str) -> None:
        name = f"{self.prefix}{key}" if key else self.prefix.rstrip(".")
        self.problems.append(f"{self.where}: {name}: {message}" if name else f"{self.where}: {message}")

    def allow(self, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        for key in self.data:
            if key not in allowed:
                self.problem(str(key), f"unknown key{_did_you_mean(str(key), allowed)}")
        for key in required:
            if key not in self.data or self.data[key] in (None, ""):
                self.problem(key, "missing (required)")

    def text(self, key: str, check: Callable[[str], str | None] | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
            value = value.isoformat() if isinstance(value, dt.date) else str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"must be a non-empty text, found {_kind(value)}")
            return None
        value = value.strip()
        message = check(value) if check else None
        if message:
            self.problem(key, message)
            return None
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(key, "must be a list of non-empty texts")
            return ()
        return tuple(v.strip() for v in value)

    def sub(self, key: str) -> "_Mapping | None":
        if key not in self.data or self.data[key] is None:
            return None
        return _Mapping(self.data[key], self.where, self.problems, f"{self.prefix}{key}.")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _one_of(choices: dict | tuple, what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        return f"unknown {what} {value!r}{_did_you_mean(value, choices)}; choose one of: {', '.join(choices)}"
    return check


def _slug(value: str) -> str | None:
    if SLUG.match(value):
        return None
    return f"{value!r} is not a valid id: use 2-63 lowercase letters, digits and underscores, starting with a letter"


def _email(value: str) -> str | None:
    return None if EMAIL.match(value) else f"{value!r} is not an email address"


def _url(value: str) -> str | None:
    return None if URL.match(value) else f"{value!r} is not an http(s) address"


def _date(value: str) -> str | None:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a date (write YYYY-MM-DD)"
    return None


def _read(path: Path, root: Path, problems: list[str]) -> Any:
    try:
        return read_yaml(path)
    except YamlProblem as exc:
        problems.append(f"{_show(path, root)}: {exc}")
        return None


def _contact(parent: _Mapping, key: str = "contact") -> Contact | None:
    section = parent.sub(key)
    if section is None or not section.ok:
        return None
    section.allow(("name", "email"), required=("name", "email"))
    name, email = section.text("name"), section.text("email", _email)
    return Contact(name, email) if name and email else None


def _load_agency(path: Path, root: Path, problems: list[str]) -> Agency | None:
    before = len(problems)
    data = _read(path, root, problems)
    if len(problems) > before:
        return None
    m = _Mapping(data, _show(path, root), problems)
    if not m.ok:
        return None
    m.allow(("slug", "name", "homepage", "contact", "description"), required=("slug", "name", "homepage", "contact"))
    slug = m.text("slug", _slug)
    if slug and slug != path.parent.name:
        m.problem("slug", f"{slug!r} must equal the agency's folder name {path.parent.name!r}")
    name, homepage, contact = m.text("name"), m.text("homepage", _url), _contact(m)
    description = m.text("description") or ""
    if len(problems) > before:
        return None
    return Agency(slug, name, homepage, contact, description, path)


DATASET_KEYS = ("id", "title", "description", "keywords", "theme", "licence", "update_frequency", "contact",
                "temporal", "spatial", "source", "privacy", "access", "sharing", "publishing")
DATASET_REQUIRED = ("id", "title", "description", "theme", "licence", "update_frequency", "contact", "source")


def _load_dataset(path: Path, root: Path, agencies: dict[str, Agency], problems: list[str]) -> DatasetSpec | None:
    before = len(problems)
    where = _show(path, root)
    agency_slug = path.parent.parent.name
    if agency_slug not in agencies:
        if not (path.parent.parent / "agency.yaml").is_file():
            problems.append(f"{where}: agency: unknown agency {agency_slug!r}: "
                            f"there is no {_show(path.parent.parent / 'agency.yaml', root)}")
        return None
    data = _read(path, root, problems)
    if len(problems) > before:
        return None
    m = _Mapping(data, where, problems)
    if not m.ok:
        return None
    m.allow(DATASET_KEYS, required=DATASET_REQUIRED)
    dataset_id = m.text("id", _slug)
    title, description = m.text("title"), m.text("description")
    keywords = m.texts("keywords")
    theme = m.text("theme", _one_of(THEMES, "theme"))
    licence_id = m.text("licence", _one_of(LICENCES, "licence"))
    frequency = m.text("update_frequency", _one_of(FREQUENCIES, "update frequency"))
    access = m.text("access", _one_of(ACCESS_LEVELS, "access level")) or "public"
    sharing = _sharing(m, access, agencies)
    approval = _approval(m)
    calendar = _calendar(m)
    contact = _contact(m)
    start, end = _temporal(m)
    spatial = m.text("spatial")
    schema = _load_schema(path.parent / "schema.yaml", root, problems)
    source = _source(m, path.parent, root)
    privacy = _privacy(m, schema)
    if len(problems) > before:
        return None
    return DatasetSpec(
        id=dataset_id, agency=agency_slug, folder=path.parent, title=title, description=description,
        keywords=keywords, theme=theme, licence=LICENCES[licence_id], frequency=frequency, contact=contact,
        temporal_start=start, temporal_end=end, spatial=spatial, source=source, privacy=privacy,
        access=access, schema=schema, sharing=sharing, approval=approval, calendar=calendar,
    )


def _sharing(m: _Mapping, access: str | None, agencies) -> Sharing | None:
    """``sharing:`` is required for a restricted dataset and refused for any other."""
    section = m.sub("sharing")
    if access != "restricted":
        if section is not None:
            m.problem("sharing", "only a dataset with access: restricted is shared with named agencies")
        return None
    if section is None:
        m.problem("access", "a restricted dataset needs sharing: with agencies: [...] and legal_basis: ...")
        return None
    if not section.ok:
        return None
    section.allow(("agencies", "legal_basis"), required=("agencies", "legal_basis"))
    named, basis = section.texts("agencies"), section.text("legal_basis")
    unknown = [a for a in named if a not in agencies]
    if unknown:
        section.problem("agencies", f"unknown agency {unknown[0]!r}; known: {', '.join(sorted(agencies))}")
    if not named:
        section.problem("agencies", "name at least one agency the dataset is shared with")
    return Sharing(tuple(named), basis) if named and basis and not unknown else None


def _approval(m: _Mapping) -> bool:
    section = m.sub("publishing")
    if section is None or not section.ok:
        return False
    section.allow(("approval", "calendar"))
    value = section.data.get("approval", False) if isinstance(section.data, dict) else False
    if value not in (True, False, "second-steward"):
        section.problem("approval", "use true (a second steward approves each release) or false")
        return False
    return bool(value)


MAX_CALENDAR_DATES = 500


def _calendar(m: _Mapping) -> tuple[dt.date, ...]:
    """``publishing.calendar``: the dates releases are announced for, each at most once."""
    publishing = m.data.get("publishing")
    if not isinstance(publishing, dict) or publishing.get("calendar") is None:
        return ()
    where = _Mapping(publishing, m.where, m.problems, "publishing.")
    value = publishing["calendar"]
    if not isinstance(value, list) or not value:
        where.problem("calendar", "must be a list of announced release dates, e.g. [2025-03-31, 2025-06-30]")
        return ()
    if len(value) > MAX_CALENDAR_DATES:
        where.problem("calendar", f"lists {len(value)} dates; at most {MAX_CALENDAR_DATES} are allowed")
        return ()
    dates = []
    for item in value:
        if isinstance(item, dt.datetime):
            item = item.date()
        if isinstance(item, str):
            try:
                item = dt.date.fromisoformat(item.strip())
            except ValueError:
                pass
        if not isinstance(item, dt.date):
            where.problem("calendar", f"{str(item)[:40]!r} is not a date (write YYYY-MM-DD)")
            return ()
        dates.append(item)
    repeated = sorted({d for d in dates if dates.count(d) > 1})
    if repeated:
        where.problem("calendar", f"{repeated[0].isoformat()} is listed more than once")
        return ()
    return tuple(sorted(dates))


def _temporal(m: _Mapping) -> tuple[str | None, str | None]:
    section = m.sub("temporal")
    if section is None or not section.ok:
        return None, None
    section.allow(("start", "end"), required=("start",))
    start, end = section.text("start", _date), section.text("end", _date)
    if start and end and end < start:
        section.problem("end", f"{end} is before the start {start}")
    return start, end


def _load_schema(path: Path, root: Path, problems: list[str]) -> dict | None:
    where = _show(path, root)
    if not path.is_file():
        problems.append(f"{where}: missing: every dataset needs a Frictionless Table Schema beside its dataset.yaml")
        return None
    before = len(problems)
    descriptor = _read(path, root, problems)
    if len(problems) > before:
        return None
    found = schema_problems(descriptor)
    problems.extend(f"{where}: {p}" for p in found)
    return None if found else descriptor


SOURCE_URL = re.compile(r"^https?://(?P<host>[^/?#\s]+)(?P<rest>[/?#]\S*)?$", re.IGNORECASE)
MAX_TIMEOUT, MAX_RETRIES = 600, 10


def _source_url(value: str) -> str | None:
    found = SOURCE_URL.match(value)
    if not found:
        return f"{value!r} is not an http(s) address"
    if "@" in found.group("host"):
        return "must not hold a user name or password: declarations are public"
    return None


def _url_suffix(url: str) -> str:
    rest = SOURCE_URL.match(url).group("rest") or ""
    return Path(re.split(r"[?#]", rest)[0]).suffix.lower()


def _fetch_settings(section: _Mapping, remote: bool) -> tuple[float, int]:
    """``timeout`` and ``retries``, which only a url source takes."""
    timeout, retries = 30.0, 3
    for key in ("timeout", "retries"):
        if key in section.data and not remote:
            section.problem(key, "only applies to a source with a url")
    value = section.data.get("timeout")
    if value is not None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT:
            timeout = float(value)
        else:
            section.problem("timeout", f"must be a number of seconds above 0 and at most {MAX_TIMEOUT}, "
                                       f"found {value!r}")
    value = section.data.get("retries")
    if value is not None:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_RETRIES:
            retries = value
        else:
            section.problem("retries", f"must be a whole number from 0 to {MAX_RETRIES}, found {value!r}")
    return timeout, retries


def _source(m: _Mapping, folder: Path, root: Path) -> SourceSpec | None:
    section = m.sub("source")
    if section is None or not section.ok:
        return None
    section.allow(("path", "url", "format", "encoding", "delimiter", "sheet", "records", "record", "origin",
                   "timeout", "retries"))
    given = {key for key in ("path", "url") if section.data.get(key) not in (None, "")}
    if not given:
        section.problem("path", "missing (required); or give url: the http(s) address to fetch the data from")
    elif len(given) == 2:
        section.problem("url", "give either path or url, not both")
        return None
    path, url = section.text("path"), section.text("url", _source_url)
    timeout, retries = _fetch_settings(section, remote="url" in given)
    fmt = section.text("format", _one_of(SOURCE_FORMATS, "format"))
    encoding, delimiter = section.text("encoding"), section.data.get("delimiter")
    if encoding:
        try:
            "".encode(encoding)
        except LookupError:
            section.problem("encoding", f"unknown encoding {encoding!r}")
    if delimiter is not None and not (isinstance(delimiter, str) and len(delimiter) == 1):
        section.problem("delimiter", "must be exactly one character")
        delimiter = None
    origin = None
    origin_section = section.sub("origin")
    if origin_section is not None and origin_section.ok:
        origin_section.allow(("title", "url"), required=("title", "url"))
        title, origin_url = origin_section.text("title"), origin_section.text("url", _url)
        origin = Origin(title, origin_url) if title and origin_url else None
    if not path and not url:
        return None
    if path and (Path(path).is_absolute() or ".." in Path(path).parts):
        section.problem("path", f"{path!r} must be a path inside the dataset's folder")
        return None
    if fmt is None:
        fmt = EXTENSIONS.get(Path(path).suffix.lower() if path else _url_suffix(url))
        if fmt is None:
            section.problem("format", f"cannot tell the format of {path or url!r} from its extension; "
                                      f"add format: one of {', '.join(SOURCE_FORMATS)}")
            return None
    spec = SourceSpec(path=path, format=fmt, encoding=encoding, delimiter=delimiter,
                      sheet=section.text("sheet"), records=section.text("records"),
                      record=section.text("record"), origin=origin, url=url, timeout=timeout, retries=retries)
    if path and not spec.deliveries(folder):
        section.problem("path", f"source file missing: nothing matches {path!r} in {_show(folder, root)}")
    return spec


def _privacy(m: _Mapping, schema: dict | None) -> PrivacySpec:
    section = m.sub("privacy")
    if section is None or not section.ok:
        return PrivacySpec()
    section.allow(("drop", "pseudonymise", "waivers", "generalise", "k_anonymity", "small_cells", "scrub"))
    drop = section.texts("drop")
    pseudonymise: tuple[str, ...] = ()
    scope = "series"
    raw = section.data.get("pseudonymise")
    if isinstance(raw, dict):
        sub = section.sub("pseudonymise")
        sub.allow(("columns", "scope"), required=("columns",))
        pseudonymise = sub.texts("columns")
        scope = sub.text("scope", _one_of(PSEUDONYM_SCOPES, "scope")) or "series"
    elif raw is not None:
        pseudonymise = section.texts("pseudonymise")
    waivers: dict[str, str] = {}
    raw_waivers = section.data.get("waivers")
    if raw_waivers is not None:
        if not isinstance(raw_waivers, dict) or not all(
                isinstance(v, str) and v.strip() for v in raw_waivers.values()):
            section.problem("waivers", "must map each waived column to the reason it was reviewed as safe")
        else:
            waivers = {str(k): v.strip() for k, v in raw_waivers.items()}
    if schema is not None:
        names = [f["name"] for f in schema["fields"]]
        for key, columns in (("drop", drop), ("pseudonymise", pseudonymise), ("waivers", tuple(waivers))):
            for column in columns:
                if column not in names:
                    section.problem(key, f"unknown column {column!r}{_did_you_mean(column, names)}")
    for column in sorted(set(drop) & set(pseudonymise)):
        section.problem("pseudonymise", f"column {column!r} is also dropped; keep one rule")
    extra = ExtraRules()
    if schema is not None:
        types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
        published = [n for n in types if n not in drop]
        extra = privacy_rules.parse(section.data, types, published, section.problem)
        for column in sorted({g.column for g in extra.generalise} & set(pseudonymise)):
            section.problem("generalise", f"column {column!r} is also pseudonymised; keep one rule")
    return PrivacySpec(drop=drop, pseudonymise=pseudonymise, scope=scope, waivers=waivers, extra=extra)
