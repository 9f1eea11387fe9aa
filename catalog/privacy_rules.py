"""The privacy rules a dataset declares beyond drop and pseudonymise, read from dataset.yaml.

    generalise:            coarser values, column by column
      admitted_on: {to: month}            dates and datetimes to YYYY-MM, or {to: year}
      age: {bands: 5, top: 90}            whole numbers to bands "0-4", "5-9", ... and "90+"
      postcode: {to: district}            UK postcodes to district (LS1), sector (LS1 4) or area (LS);
                                          {prefix: 3} keeps the first characters of any code
      income: {round: 1000, top: 150000, bottom: 0}   rounding, and top and bottom coding
    k_anonymity:           every combination of the quasi-identifiers shared by k records or more
      quasi_identifiers: [age, sex, postcode]
      k: 5
      max_suppression: 0.05               above this share of records touched, the release is rejected
      l_diversity: {sensitive: diagnosis, l: 2}
    small_cells:           for tables of counts
      counts: [admissions]
      dimensions: [region, month]         default: every other published column
      rule: suppress                      suppress 1..k-1 (and hide more so totals cannot reveal them),
                                          round (suppress 1..k-1, round the rest to base), or nhs
      k: 10
      base: 5
      total_label: All                    the dimension value of published total rows, if any
    scrub: [comments]      free text with emails, phone numbers and identifiers replaced

Each rule is parsed here into a small frozen dataclass; ``parse`` reports every problem
with the key it is under, as the rest of the declaration loader does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from catalog.casting import quote_literal

DATE_TYPES = ("date", "datetime")
NUMBER_TYPES = ("integer", "number")
DATE_LEVELS = ("month", "year")
POSTCODE_LEVELS = ("district", "sector", "area")
SMALL_CELL_RULES = ("suppress", "round", "nhs")
UK_POSTCODE = r"^[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2}$"


@dataclass(frozen=True)
class Generalisation:
    column: str
    field_type: str
    to: str | None = None          # dates: month or year; postcodes: district, sector or area
    prefix: int | None = None      # codes: keep this many leading characters
    bands: int | None = None       # whole numbers: width of each band
    top: float | None = None       # numbers: values above are coded as ``top`` (with bands: "top+")
    bottom: float | None = None    # numbers: values below are coded as ``bottom``
    round: float | None = None     # numbers: rounded to a multiple of this

    def sql(self, x: str) -> str:
        """The generalised value of the SQL expression ``x``."""
        if self.field_type in DATE_TYPES:
            return f"CAST(year({x}) AS INTEGER)" if self.to == "year" else f"strftime({x}, '%Y-%m')"
        if self.bands:
            top = int(self.top) if self.top is not None else None
            low = f"CAST(floor({x} / {self.bands}) * {self.bands} AS BIGINT)"
            band = f"CAST({low} AS VARCHAR) || '-' || CAST({low} + {self.bands - 1} AS VARCHAR)"
            if top is not None:
                band = f"CASE WHEN {x} >= {top} THEN '{top}+' ELSE {band} END"
            return f"CASE WHEN {x} IS NULL OR {x} < 0 THEN NULL ELSE {band} END"
        if self.field_type in NUMBER_TYPES:
            value = x
            if self.round:
                value = f"round({value} / {self.round}) * {self.round}"
            if self.top is not None:
                value = f"least({value}, {self.top})"
            if self.bottom is not None:
                value = f"greatest({value}, {self.bottom})"
            # least and greatest skip NULLs: an empty cell must stay empty, not become the top code
            typed = f"CAST({value} AS BIGINT)" if self.field_type == "integer" else f"CAST({value} AS DOUBLE)"
            return f"CASE WHEN {x} IS NULL THEN NULL ELSE {typed} END"
        code = f"upper(replace({x}, ' ', ''))"
        if self.prefix:
            return f"left(upper(trim({x})), {self.prefix})"
        outward = f"left({code}, length({code}) - 3)"
        shaped = f"regexp_full_match({code}, {quote_literal(UK_POSTCODE)})"
        level = {"district": outward,
                 "sector": f"{outward} || ' ' || substr({code}, length({code}) - 2, 1)",
                 "area": f"regexp_extract({code}, '^[A-Z]+')"}[self.to or "district"]
        return f"CASE WHEN {shaped} THEN {level} END"

    def published_field(self, field: dict) -> dict:
        """The field as the release carries it: its new type, and a description that says why."""
        kept = {k: v for k, v in field.items() if k in ("name", "title", "description")}
        required = (field.get("constraints") or {}).get("required")
        note = f"Generalised for privacy: {self.plain()}."
        kept["description"] = f"{kept.get('description', '')} {note}".strip()
        if self.field_type in DATE_TYPES:
            kept["type"] = "year" if self.to == "year" else "yearmonth"
        elif self.bands or self.field_type not in NUMBER_TYPES:
            kept["type"] = "string"
        else:
            kept["type"] = self.field_type
        if required and not self.bands and self.field_type in DATE_TYPES + NUMBER_TYPES:
            kept["constraints"] = {"required": True}
        return kept

    def plain(self) -> str:
        if self.field_type in DATE_TYPES:
            return f"dates shown as the {self.to} only"
        if self.bands:
            top = f", {int(self.top)} and over as '{int(self.top)}+'" if self.top is not None else ""
            return f"values grouped in bands of {self.bands}{top}"
        if self.field_type in NUMBER_TYPES:
            parts = []
            if self.round:
                parts.append(f"rounded to the nearest {_number(self.round)}")
            if self.top is not None:
                parts.append(f"values above {_number(self.top)} shown as {_number(self.top)}")
            if self.bottom is not None:
                parts.append(f"values below {_number(self.bottom)} shown as {_number(self.bottom)}")
            return ", ".join(parts)
        if self.prefix:
            return f"only the first {self.prefix} characters kept"
        return f"postcodes shown as the postcode {self.to or 'district'} only"


@dataclass(frozen=True)
class KAnonymityRule:
    quasi_identifiers: tuple[str, ...]
    k: int
    max_suppression: float
    sensitive: str | None = None
    l: int | None = None


@dataclass(frozen=True)
class SmallCellRule:
    counts: tuple[str, ...]
    dimensions: tuple[str, ...]
    rule: str
    k: int
    base: int
    total_label: str | None = None


@dataclass(frozen=True)
class ExtraRules:
    generalise: tuple[Generalisation, ...] = ()
    k_anonymity: KAnonymityRule | None = None
    small_cells: SmallCellRule | None = None
    scrub: tuple[str, ...] = ()

    def generalised(self, column: str) -> Generalisation | None:
        return next((g for g in self.generalise if g.column == column), None)

    def changed(self) -> set[str]:
        """Columns whose published values differ from the delivered ones."""
        touched = {g.column for g in self.generalise} | set(self.scrub)
        if self.k_anonymity:
            touched |= set(self.k_anonymity.quasi_identifiers)
        if self.small_cells:
            touched |= set(self.small_cells.counts)
        return touched

    def as_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.generalise:
            out["generalise"] = {g.column: {k: v for k, v in g.__dict__.items()
                                            if k not in ("column", "field_type") and v is not None}
                                 for g in self.generalise}
        if self.k_anonymity:
            out["k_anonymity"] = dict(self.k_anonymity.__dict__, quasi_identifiers=list(self.k_anonymity.quasi_identifiers))
        if self.small_cells:
            out["small_cells"] = dict(self.small_cells.__dict__, counts=list(self.small_cells.counts),
                                      dimensions=list(self.small_cells.dimensions))
        if self.scrub:
            out["scrub"] = list(self.scrub)
        return out


Problem = Callable[[str, str], None]


def parse(data: dict, types: dict[str, str], published: list[str], problem: Problem) -> ExtraRules:
    """The rules under ``privacy:`` other than drop, pseudonymise and waivers. ``types``: each
    field's Table Schema type; ``published``: the columns left after drop."""
    generalise = _generalise(data.get("generalise"), types, published, problem)
    k_anonymity = _k_anonymity(data.get("k_anonymity"), types, published, problem)
    small_cells = _small_cells(data.get("small_cells"), types, published, problem)
    scrub = _columns(data.get("scrub"), "scrub", published, problem)
    for column in scrub:
        if types.get(column) not in (None, "string"):
            problem("scrub", f"column {column!r} is a {types[column]}; only text columns can be scrubbed")
    return ExtraRules(generalise=generalise, k_anonymity=k_anonymity, small_cells=small_cells, scrub=scrub)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _columns(value: Any, key: str, published: list[str], problem: Problem) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problem(key, "must be a list of column names")
        return ()
    for name in value:
        if name not in published:
            problem(key, f"unknown or dropped column {name!r}")
    return tuple(v for v in value if v in published)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value: Any, least: int) -> bool:
    """A whole number (not true/false) of at least ``least``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _known_keys(value: dict, section: str, allowed: tuple[str, ...], problem: Problem) -> None:
    for key in value:
        if key not in allowed:
            problem(f"{section}.{key}", "unknown key")


def _generalise(value: Any, types: dict[str, str], published: list[str], problem: Problem) -> tuple[Generalisation, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problem("generalise", "must map each column to how it is generalised")
        return ()
    rules = []
    for column, how in value.items():
        where = f"generalise.{column}"
        if column not in published:
            problem(where, f"unknown or dropped column {column!r}")
            continue
        kind = types.get(column, "string")
        if isinstance(how, str):
            how = {"to": how}
        if not isinstance(how, dict):
            problem(where, "must be a mapping such as {to: month}")
            continue
        rule = _one_generalisation(column, kind, how, where, problem)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _one_generalisation(column: str, kind: str, how: dict, where: str, problem: Problem) -> Generalisation | None:
    allowed = {"date": ("to",), "datetime": ("to",), "integer": ("bands", "top", "bottom", "round"),
               "number": ("top", "bottom", "round"), "string": ("to", "prefix")}.get(kind)
    if allowed is None:
        problem(where, f"a {kind} column cannot be generalised; use drop or pseudonymise")
        return None
    unknown = [k for k in how if k not in allowed]
    if unknown or not how:
        problem(where, f"a {kind} column takes {', '.join(allowed)}" + (f", not {', '.join(map(str, unknown))}" if unknown else ""))
        return None
    if kind in DATE_TYPES:
        if how.get("to") not in DATE_LEVELS:
            problem(where, f"to: must be one of {', '.join(DATE_LEVELS)}")
            return None
        return Generalisation(column, kind, to=how["to"])
    if kind == "string":
        if "prefix" in how:
            if not _whole(how["prefix"], 1) or "to" in how:
                problem(where, "prefix: must be a whole number of characters from 1, on its own")
                return None
            return Generalisation(column, kind, prefix=how["prefix"])
        if how.get("to") not in POSTCODE_LEVELS:
            problem(where, f"to: must be one of {', '.join(POSTCODE_LEVELS)} (UK postcodes), or use prefix: N")
            return None
        return Generalisation(column, kind, to=how["to"])
    numbers = {k: how[k] for k in ("bands", "top", "bottom", "round") if k in how}
    if not all(_is_number(v) for v in numbers.values()):
        problem(where, "bands, top, bottom and round must be numbers")
        return None
    if "bands" in numbers and (not _whole(numbers["bands"], 1)
                               or "round" in numbers or "bottom" in numbers):
        problem(where, "bands: must be a whole number from 1, with an optional top (no round or bottom)")
        return None
    if "round" in numbers and numbers["round"] <= 0:
        problem(where, "round: must be above 0")
        return None
    if "top" in numbers and "bottom" in numbers and numbers["bottom"] >= numbers["top"]:
        problem(where, "bottom: must be below top")
        return None
    return Generalisation(column, kind, **numbers)


def _k_anonymity(value: Any, types: dict[str, str], published: list[str], problem: Problem) -> KAnonymityRule | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problem("k_anonymity", "must be a mapping with quasi_identifiers, k and max_suppression")
        return None
    _known_keys(value, "k_anonymity", ("quasi_identifiers", "k", "max_suppression", "l_diversity"), problem)
    qis = _columns(value.get("quasi_identifiers"), "k_anonymity.quasi_identifiers", published, problem)
    k, share = value.get("k"), value.get("max_suppression", 0.05)
    ok = bool(qis)
    if not qis:
        problem("k_anonymity.quasi_identifiers", "name at least one column")
    if not _whole(k, 2):
        problem("k_anonymity.k", "must be a whole number from 2")
        ok = False
    if not _is_number(share) or not 0 <= share <= 1:
        problem("k_anonymity.max_suppression", "must be a share between 0 and 1, such as 0.05")
        ok = False
    sensitive, l_value = None, None
    diversity = value.get("l_diversity")
    if diversity is not None:
        if not isinstance(diversity, dict) or set(diversity) - {"sensitive", "l"}:
            problem("k_anonymity.l_diversity", "must be a mapping with sensitive and l")
            ok = False
        else:
            sensitive, l_value = diversity.get("sensitive"), diversity.get("l")
            if sensitive not in published or sensitive in qis:
                problem("k_anonymity.l_diversity.sensitive", "must be a published column that is not a quasi-identifier")
                ok = False
            if not _whole(l_value, 2):
                problem("k_anonymity.l_diversity.l", "must be a whole number from 2")
                ok = False
    return KAnonymityRule(qis, k, float(share), sensitive, l_value) if ok else None


def _small_cells(value: Any, types: dict[str, str], published: list[str], problem: Problem) -> SmallCellRule | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problem("small_cells", "must be a mapping with counts, rule and k")
        return None
    _known_keys(value, "small_cells", ("counts", "dimensions", "rule", "k", "base", "total_label"), problem)
    counts = _columns(value.get("counts"), "small_cells.counts", published, problem)
    ok = bool(counts)
    if not counts:
        problem("small_cells.counts", "name at least one count column")
    for column in counts:
        if types.get(column) != "integer":
            problem("small_cells.counts", f"column {column!r} must be an integer column of counts")
            ok = False
    if "dimensions" in value:
        dimensions = _columns(value.get("dimensions"), "small_cells.dimensions", published, problem)
    else:
        dimensions = tuple(c for c in published if c not in counts)
    if not dimensions:
        problem("small_cells.dimensions", "a table of counts needs at least one other column")
        ok = False
    rule, k, base = value.get("rule", "suppress"), value.get("k", 10), value.get("base", 5)
    if rule not in SMALL_CELL_RULES:
        problem("small_cells.rule", f"must be one of {', '.join(SMALL_CELL_RULES)}")
        ok = False
    if not _whole(k, 2):
        problem("small_cells.k", "must be a whole number from 2")
        ok = False
    if not _whole(base, 1):
        problem("small_cells.base", "must be a whole number from 1")
        ok = False
    total = value.get("total_label")
    if total is not None and not isinstance(total, str):
        problem("small_cells.total_label", "must be a text such as All")
        ok = False
    return SmallCellRule(counts, dimensions, rule, k, base, total) if ok else None
