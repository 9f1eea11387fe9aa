"""The protect step: apply a dataset's privacy rules, then guard what is left.

Rules (declared under ``privacy:`` in dataset.yaml; the others are in ``catalog.privacy_rules``):
    drop           columns never published
    pseudonymise   columns replaced by a keyed HMAC-SHA256 token; ``scope: series`` keeps a
                   person's token stable across releases, ``scope: release`` changes it
                   every release so releases cannot be linked
    waivers        columns a steward reviewed and declared safe, with the reason

The guard then scans every published column that no rule or waiver covers, by name and
by value (an email address anywhere in a cell; a column of mostly phone numbers; national
identifiers, payment cards and IBANs that pass their checksums, ``catalog.identifiers``);
a column that looks personal blocks the release.

Everything runs as SQL over the typed table in DuckDB. The key is passed as a query
parameter, never written into SQL text, a report or a log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from catalog.casting import quote_ident, quote_literal
from catalog.errors import PrivacyError
from catalog.identifiers import EMAIL_PATTERN, PHONE_PATTERN, PHONE_SHARE, scan_birth_dates, scan_columns, scrub_sql
from catalog.kanonymity import enforce_k_anonymity
from catalog.small_cells import protect_counts
from catalog.spec import DatasetSpec

KEY_ENV = "GOVCAT_PSEUDONYM_KEY"
KEY_FILE_ENV = "GOVCAT_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 16
TOKEN_HEX = 16
SCAN_ROWS = 20_000

PERSON_QUALIFIERS = {"first", "last", "full", "given", "family", "sur", "fore", "middle", "maiden", "patient",
                     "person", "owner", "applicant", "contact", "reporter", "citizen", "client", "customer",
                     "employee", "pupil", "student", "officer", "driver", "victim", "caller", "resident", "user"}
PERSONAL_TOKENS = {
    "email": "an email address", "mail": "an email address", "phone": "a phone number",
    "telephone": "a phone number", "mobile": "a phone number", "tel": "a phone number",
    "dob": "a date of birth", "birth": "a date of birth", "birthdate": "a date of birth",
    "ssn": "a national identifier", "nino": "a national identifier", "nhs": "a national identifier",
    "passport": "a national identifier", "postcode": "a postcode", "zip": "a postcode",
    "zipcode": "a postcode", "address": "an address", "street": "an address", "surname": "a person's name",
    "firstname": "a person's name", "lastname": "a person's name", "forename": "a person's name",
    "fullname": "a person's name", "ip": "an IP address", "iban": "a bank account number",
}


@dataclass
class Finding:
    column: str
    reason: str


@dataclass
class PrivacyReport:
    rules: list[dict] = field(default_factory=list)
    waivers: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    measures: dict = field(default_factory=dict)      # what each rule did: counts, k, risk; never a value
    failures: list[str] = field(default_factory=list)  # a rule that could not be met: the release is rejected

    @property
    def passed(self) -> bool:
        return not self.findings and not self.failures

    @classmethod
    def from_json(cls, data: dict) -> "PrivacyReport":
        return cls(rules=data.get("rules", []), waivers=data.get("waivers", {}),
                   findings=[Finding(**f) for f in data.get("findings", [])], rows=data.get("rows", 0),
                   columns=data.get("columns", []), measures=data.get("measures", {}),
                   failures=data.get("failures", []))

    def summary(self) -> str:
        if self.failures:
            return self.failures[0]
        if self.findings:
            first = self.findings[0]
            more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
            return (f"column {first.column!r} looks personal ({first.reason}) and no privacy rule covers it{more}. "
                    f"Either add a rule for it under privacy: in dataset.yaml (drop or pseudonymise; generalise a "
                    f"date, number or postcode; scrub free text), or, "
                    f"if it was reviewed and is safe, list it under privacy.waivers with the reason")
        applied = "; ".join(r["plain"] for r in self.rules) or "no rule needed"
        return f"{applied}; {self.rows} rows, {len(self.columns)} columns published"

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


# --------------------------------------------------------------------------- the key


def load_key(home: Path) -> bytes:
    """The pseudonymisation key: from the environment, a key file it names, or the home's secrets."""
    if os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
    else:
        path = Path(os.environ.get(KEY_FILE_ENV) or home / "secrets" / "pseudonym.key")
        try:
            key = path.read_bytes().strip()
        except FileNotFoundError:
            raise PrivacyError(
                f"a pseudonymisation key is needed and none is set: set {KEY_ENV}, or point {KEY_FILE_ENV} "
                f"at a key file, or create one with `govcat keygen`") from None
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(f"the pseudonymisation key is too short: it needs at least {MIN_KEY_BYTES} bytes")
    return key


def write_new_key(home: Path) -> Path:
    """Create ``<home>/secrets/pseudonym.key`` readable by its owner only; never overwrite one."""
    path = home / "secrets" / "pseudonym.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104), so SHA-256 in SQL can compute HMAC."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def pseudonym(key: bytes, salt: str, value: str) -> str:
    """The token ``protect`` gives ``value`` (the reference, in Python)."""
    return hmac.new(key, f"{salt}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def pseudonym_sql(column: str) -> str:
    """The SQL form of ``pseudonym``: parameters $1 and $2 are the outer and inner padded keys
    (``_pads``), $3 the salt, so the key never appears in the SQL text."""
    token = (f"left(sha256($1::BLOB || unhex(sha256($2::BLOB || encode($3 || chr(31) || "
             f"CAST({column} AS VARCHAR))))), {TOKEN_HEX})")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {token} END"


# --------------------------------------------------------------------------- protect


def protect(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, source: str, target: str,
            key_loader, release_salt: str) -> PrivacyReport:
    """Create table ``target`` from relation ``source`` with the rules applied, in order: drop,
    pseudonymise, generalise and scrub (one projection), then k-anonymity, then small cells.
    ``guard`` checks the result."""
    rules, extra = spec.privacy, spec.privacy.extra
    params: list = []
    columns = []
    if rules.pseudonymise:
        inner, outer = _pads(key_loader())
        salt = spec.id if rules.scope == "series" else f"{spec.id}\x1f{release_salt}"
        params = [outer, inner, salt]
    for name in spec.published_names:
        column = quote_ident(name)
        generalised = extra.generalised(name)
        if name in rules.pseudonymise:
            columns.append(f"{pseudonym_sql(column)} AS {column}")
        elif generalised is not None:
            columns.append(f"{generalised.sql(column)} AS {column}")
        elif name in extra.scrub:
            columns.append(f"{scrub_sql(column)} AS {column}")
        else:
            columns.append(column)
    stages = [target] if not (extra.k_anonymity or extra.small_cells) else [f"{target}_rules"]
    con.execute(f"CREATE OR REPLACE TABLE {stages[-1]} AS SELECT {', '.join(columns)} FROM {source}", params)
    report = PrivacyReport(rules=_applied(spec), waivers=dict(rules.waivers), columns=spec.published_names)
    if extra.scrub:
        report.measures["scrub"] = _scrub_counts(con, source, extra.scrub)
    if extra.k_anonymity:
        rule = extra.k_anonymity
        following = target if not extra.small_cells else f"{target}_k"
        result = enforce_k_anonymity(con, stages[-1], following, list(rule.quasi_identifiers), rule.k,
                                     rule.max_suppression, sensitive=rule.sensitive, l=rule.l)
        stages.append(following)
        report.measures["k_anonymity"] = measure = result.to_json()
        measure["plain"] = (f"{result.records_suppressed:,} records had a value hidden and {result.records_removed:,} "
                            f"were removed ({result.suppressed_share:.1%} of the records); the rarest combination "
                            f"is now shared by {result.k_achieved or 0:,} records. Information lost: "
                            f"{result.cell_share:.1%} of the values of {_names(rule.quasi_identifiers)}")
        if not result.passed:
            report.failures.append(
                f"k-anonymity: making every combination of {_names(rule.quasi_identifiers)} shared by at least "
                f"{rule.k} records would touch {result.suppressed_share:.1%} of the records, more than the "
                f"{rule.max_suppression:.1%} declared. Either generalise the quasi-identifiers further under "
                f"privacy.generalise (wider bands, a coarser date or area), or raise privacy.k_anonymity."
                f"max_suppression if that much suppression is acceptable")
    if extra.small_cells:
        try:
            report.measures["small_cells"] = measure = _protect_counts(con, stages[-1], target, extra.small_cells)
        except ValueError as exc:      # the table is not one of counts (a repeated cell, a negative count)
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {stages[-1]} LIMIT 0")
            report.failures.append(f"small cells: {exc}. Fix the delivery, or the small_cells rule in dataset.yaml")
        else:
            if not measure.get("passed", True):
                report.failures.append("small cells: some hidden counts can still be worked out from the totals "
                                       "whatever else is hidden; publish fewer totals or use rule: round")
    for stage in stages:
        if stage != target:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
    report.rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    return report


def _scrub_counts(con, source: str, columns) -> dict:
    """How many cells of each scrubbed column the scrubbing changes."""
    changed = ", ".join(f"count(*) FILTER (WHERE {scrub_sql(quote_ident(n))} IS DISTINCT FROM {quote_ident(n)})"
                        for n in columns)
    counts = dict(zip(columns, con.execute(f"SELECT {changed} FROM {source}").fetchone()))
    return {"cells_changed": counts,
            "plain": "; ".join(f"{n:,} text{'s' if n != 1 else ''} in '{c}' had an email address, phone number "
                               f"or identifier replaced" for c, n in counts.items())}


def _protect_counts(con, source: str, target: str, rule) -> dict:
    """Apply a small-cell rule to a table of counts (small: it goes through pandas)."""
    frame = con.execute(f"SELECT * FROM {source}").df()
    protected, result = protect_counts(frame, list(rule.dimensions), list(rule.counts), rule.rule, k=rule.k,
                                       base=rule.base, total_label=rule.total_label)
    con.register("govcat_small_cells", protected)
    try:
        casts = ", ".join(f"CAST({quote_ident(c)} AS BIGINT) AS {quote_ident(c)}" if c in rule.counts
                          else quote_ident(c) for c in frame.columns)
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {casts} FROM govcat_small_cells")
    finally:
        con.unregister("govcat_small_cells")
    measure = result.to_json()
    parts = []
    for column in result.columns.values():
        hidden = column.primary + column.secondary
        told = f"{hidden:,} of the {column.cells:,} counts in '{column.column}' hidden"
        if column.secondary:
            told += f" ({column.secondary:,} of them so that the totals cannot reveal the small ones)"
        if column.rounded:
            told += f", {column.rounded:,} rounded"
        parts.append(told)
    measure["plain"] = "; ".join(parts)
    return measure


def _applied(spec: DatasetSpec) -> list[dict]:
    rules, extra = spec.privacy, spec.privacy.extra
    applied = []
    if rules.drop:
        applied.append({"rule": "drop", "columns": list(rules.drop),
                        "plain": f"removed {_names(rules.drop)} entirely"})
    if rules.pseudonymise:
        linkable = ("the same person keeps the same code in every release" if rules.scope == "series"
                    else "codes change with every release, so releases cannot be linked")
        applied.append({"rule": "pseudonymise", "columns": list(rules.pseudonymise), "scope": rules.scope,
                        "plain": f"replaced {_names(rules.pseudonymise)} with keyed codes ({linkable})"})
    for rule in extra.generalise:
        applied.append({"rule": "generalise", "columns": [rule.column], "plain": f"coarsened '{rule.column}': {rule.plain()}"})
    if extra.scrub:
        applied.append({"rule": "scrub", "columns": list(extra.scrub),
                        "plain": f"removed email addresses, phone numbers and identifiers from the text of "
                                 f"{_names(extra.scrub)}"})
    if extra.k_anonymity:
        rule = extra.k_anonymity
        diversity = (f", each with at least {rule.l} different values of '{rule.sensitive}'" if rule.l else "")
        applied.append({"rule": "k_anonymity", "columns": list(rule.quasi_identifiers), "k": rule.k,
                        "plain": f"hid values so that every combination of {_names(rule.quasi_identifiers)} is "
                                 f"shared by at least {rule.k} records{diversity}"})
    if extra.small_cells:
        rule = extra.small_cells
        how = {"suppress": f"hid counts from 1 to {rule.k - 1}, and other counts the totals would reveal",
               "round": f"hid counts from 1 to {rule.k - 1} and rounded the others to the nearest {rule.base}",
               "nhs": f"hid counts from 1 to 7 and rounded the others to the nearest {rule.base}"}[rule.rule]
        applied.append({"rule": "small_cells", "columns": list(rule.counts), "plain": f"in {_names(rule.counts)}, {how}"})
    return applied


def _names(columns) -> str:
    quoted = [f"'{c}'" for c in columns]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# --------------------------------------------------------------------------- guard


def guard(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, table: str) -> list[Finding]:
    """Published columns that look personal and that no rule or waiver covers."""
    covered = spec.privacy.covered()
    unchecked = [n for n in spec.published_names if n not in covered]
    findings = [Finding(n, f"its name suggests {why}") for n in unchecked if (why := name_suggests(n))]
    flagged = {f.column for f in findings}
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    texts = [n for n in unchecked if n not in flagged and types.get(n) == "VARCHAR"]
    if texts:
        parts = []
        for name in texts:
            column = quote_ident(name)
            parts.append(f"count({column}) FILTER (WHERE regexp_matches({column}, {quote_literal(EMAIL_PATTERN)}))")
            parts.append(f"count({column}) FILTER (WHERE regexp_full_match({column}, {quote_literal(PHONE_PATTERN)}))")
            parts.append(f"count({column})")
        counts = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT * FROM {table} LIMIT {SCAN_ROWS})").fetchone()
        for index, name in enumerate(texts):
            emails, phones, filled = counts[3 * index: 3 * index + 3]
            if emails:
                findings.append(Finding(name, f"{emails} of its values contain an email address"))
            elif filled and phones / filled >= PHONE_SHARE:
                findings.append(Finding(name, f"{phones} of its {filled} values look like phone numbers"))
    flagged = {f.column for f in findings}
    rest = [n for n in unchecked if n not in flagged]
    if rest:
        identified = scan_columns(con, table, rest, sample_rows=SCAN_ROWS)
        for finding in identified:
            if finding.column not in flagged:
                findings.append(Finding(finding.column, finding.reason))
                flagged.add(finding.column)
    rest = [n for n in unchecked if n not in flagged]
    if rest:
        for column, reason in scan_birth_dates(con, table, rest, dt.date.today(), sample_rows=SCAN_ROWS):
            findings.append(Finding(column, reason))
    return findings


def name_suggests(column: str) -> str | None:
    """What personal data a column's name suggests, or None."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    tokens = [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]
    for token in tokens:
        if token in PERSONAL_TOKENS:
            return PERSONAL_TOKENS[token]
    if "date" in tokens and "birth" in tokens:
        return "a date of birth"
    if "name" in tokens:
        if tokens == ["name"] or PERSON_QUALIFIERS & set(tokens):
            return "a person's name"
    if "id" in tokens and ({"national", "patient", "person"} & set(tokens)):
        return "a personal identifier"
    return None
