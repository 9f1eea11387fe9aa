"""Personal identifiers recognised by value: checks, a column scanner and a free-text scrubber.

What is recognised
    NHS numbers                  10 digits; the last is a modulus 11 check digit
    National Insurance numbers   two prefix letters (neither D, F, I, Q, U nor V; the second not O;
                                 not BG, GB, KN, NK, NT, TN or ZZ), six digits, a suffix A to D
    US Social Security numbers   area not 000, 666 or 900-999; group not 00; serial not 0000
    payment card numbers         13 to 19 digits with a known issuer's prefix and length, Luhn check digit
    IBANs                        country code, check digits, then an account number of that country's
                                 length; ISO 13616 mod-97 check
    email addresses and phone numbers, with the guard's patterns

``scan_columns`` lets DuckDB pick, in the first rows of a table, the values holding something
*shaped* like an identifier (regular expressions: one joining all shapes, then each kind's shape
only where that one matched), and runs the checks in Python on at most ``CANDIDATE_CAP`` of
those values per column and kind. A column is flagged for a kind when enough of its shaped
values pass the check (``Kind.min_values`` and ``Kind.min_share``):

    A checksum lets random numbers through too: about 1 in 10 pass Luhn (fewer with an issuer
    prefix), 1 in 11 pass the NHS modulus 11 check, 1 in 97 pass mod-97. So a column of reference
    numbers has about a tenth of its shaped values passing, a column of real identifiers nearly
    all of them; half is the line (``min_share``). The share is counted among the values with the
    shape, so one IBAN or one card number among ordinary sentences is a share of 1 and is flagged
    on its own.
    NHS numbers also need three valid values: a ten-digit reference or phone number passes by
    chance once in 11, three of three once in about 1,300.
    National Insurance numbers have no check digit; the shape looked for takes any suffix letter,
    so codes such as AB123456X, of which only about one in ten keeps the format rules, stay
    under half.
    Social Security numbers count only when written 123-45-6789 or 123 45 6789: nine bare digits
    keep the area/group/serial rules nine times in ten, so they say nothing about a column.
    An email address anywhere flags the column. Phone numbers must make up half of the values,
    as in the guard, because their shapes overlap with reference numbers (and an NHS number
    written 999 000 0018 is reported as one, not as a phone number).

Letters are looked for in either case, and integer columns are read as text for NHS and card
numbers. Only the counts leave this module; a finding never holds a value.

``scrub_sql`` and ``scrub`` replace email addresses with [email], phone numbers with [phone] and
anything shaped like one of the identifiers above (nine bare digits included) with [id], without
the checks: SQL cannot compute them, and removing too much from free text is the safe side.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

import duckdb

from catalog.casting import quote_ident, quote_literal

# The guard's own patterns (catalog.privacy uses them): an email anywhere in a cell; a cell that
# is a phone number: international (+44 ..., 0044 ...), national with a trunk 0 (020 7946 0018),
# or 3-3-4 groups ((555) 123-4567). Reference numbers such as 2024-000123 are none of these.
EMAIL_PATTERN = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = (r"^(\+|00)[1-9][0-9 ().-]{6,}[0-9]$|^0[1-9][0-9 ().-]{7,}[0-9]$"
                 r"|^\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}$")
PHONE_SHARE = 0.5

# Shapes of the tokens looked for inside text. Each is written so that DuckDB (RE2) and Python's
# re (with re.ASCII) find the same matches: no look-arounds, no back-references.
IBAN_SHAPE = r"\b[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b"
CARD_SHAPE = r"\b[0-9](?:[ -]?[0-9]){12,18}\b"
NINO_SHAPE = r"\b[A-Za-z]{2}[ -]?[0-9]{2}[ -]?[0-9]{2}[ -]?[0-9]{2}[ -]?[A-Za-z]\b"
SSN_SHAPE = r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b"
BARE_NINE_DIGITS = r"\b[0-9]{9}\b"
NHS_SHAPE = r"\b[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}\b"
INTERNATIONAL_PHONE = r"(?:\+|\b00)[1-9][0-9]{0,3}(?:[ .-]?(?:\([0-9]{1,5}\)|[0-9]{1,5})){2,6}\b"  # +44 20 7946 0018
TRUNK_PHONE = r"\(?\b0[1-9][0-9]{1,4}\)?[ .-]?[0-9]{3,4}(?:[ .-]?[0-9]{3,4})?\b"                 # (020) 7946 0018
GROUPED_PHONE = r"\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}\b"                                  # (555) 123-4567
PHONE_IN_TEXT = f"{INTERNATIONAL_PHONE}|{TRUNK_PHONE}|{GROUPED_PHONE}"

# In order: a longer shape goes before the shorter ones it could contain.
# A number written with an international prefix or a trunk 0 is taken for a phone number before
# the digit shapes of identifiers could claim it (cards and NHS numbers never start with +, 00 or
# a trunk 0 followed by an area code); other grouped digits are identifiers first.
SCRUB_STEPS = (
    (EMAIL_PATTERN, "[email]"),
    (IBAN_SHAPE, "[id]"),
    (INTERNATIONAL_PHONE, "[phone]"),
    (TRUNK_PHONE, "[phone]"),
    (CARD_SHAPE, "[id]"),
    (NINO_SHAPE, "[id]"),
    (SSN_SHAPE, "[id]"),
    (BARE_NINE_DIGITS, "[id]"),
    (NHS_SHAPE, "[id]"),
    (GROUPED_PHONE, "[phone]"),
)

SAMPLE_ROWS = 20_000
CANDIDATE_CAP = 2_000  # shaped values per column and kind whose checksums are computed
INTEGER_TYPES = {"INTEGER", "UINTEGER", "BIGINT", "UBIGINT", "HUGEINT", "UHUGEINT"}


# --------------------------------------------------------------------------- validators


def is_nhs_number(text: str) -> bool:
    """An NHS number: 10 digits, plain or written 3-3-4 with spaces or hyphens, valid check digit."""
    written = re.fullmatch(r"([0-9]{3})([ -]?)([0-9]{3})\2([0-9]{4})", text.strip())
    return bool(written) and _nhs_digits_valid("".join(written.group(1, 3, 4)))


def is_nino(text: str) -> bool:
    """A UK National Insurance number such as AB 12 34 56 C (spaces optional)."""
    written = re.fullmatch(r"([A-Z]{2}) ?([0-9]{2}) ?([0-9]{2}) ?([0-9]{2}) ?([A-D])", text.strip().upper())
    return bool(written) and _nino_prefix_allowed(written.group(1))


def is_us_ssn(text: str) -> bool:
    """A US Social Security number: 123-45-6789, 123 45 6789 or nine digits, that could be issued."""
    written = re.fullmatch(r"([0-9]{3})([ -]?)([0-9]{2})\2([0-9]{4})", text.strip())
    return bool(written) and _ssn_digits_valid("".join(written.group(1, 3, 4)))


def is_payment_card(text: str) -> bool:
    """A payment card number: plain digits, or groups of four (Amex 4-6-5, Diners 4-6-4) split by
    spaces or hyphens; a known issuer's prefix and length and a valid Luhn check digit."""
    written = text.strip()
    if not re.fullmatch(r"[0-9]+(?:[ -][0-9]+)*", written):
        return False
    groups = re.split(r"[ -]", written)
    one_separator = len(set(re.findall(r"[ -]", written))) <= 1
    return one_separator and _card_grouping(groups) and _card_digits_valid("".join(groups))


def is_iban(text: str) -> bool:
    """An IBAN, compact or in groups of four (GB82 WEST 1234 5698 7654 32), of a country whose
    IBAN length is known, passing the mod-97 check."""
    written = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*", written):
        return False
    return _iban_compact_valid(written.replace(" ", "").upper())


def _nhs_digits_valid(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    remainder = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1))) % 11
    check = (11 - remainder) % 11  # 11 becomes 0; 10 means no number is issued with these digits
    return check != 10 and check == int(digits[9])


FIRST_LETTERS_NOT_USED = set("DFIQUV")
SECOND_LETTERS_NOT_USED = set("DFIOQUV")
PREFIXES_NOT_USED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def _nino_prefix_allowed(prefix: str) -> bool:
    return (prefix[0] not in FIRST_LETTERS_NOT_USED and prefix[1] not in SECOND_LETTERS_NOT_USED
            and prefix not in PREFIXES_NOT_USED)


SSNS_NEVER_VALID = {"078051120", "219099999"}  # printed in advertising, then voided


def _ssn_digits_valid(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (len(digits) == 9 and digits.isdigit() and area not in ("000", "666") and not area.startswith("9")
            and group != "00" and serial != "0000" and digits not in SSNS_NEVER_VALID)


# issuer: (lowest prefix, highest prefix, lengths); a number's first digits must fall in a range
CARD_ISSUERS = {
    "Visa": [("4", "4", (13, 16, 19))],
    "Mastercard": [("51", "55", (16,)), ("2221", "2720", (16,))],
    "American Express": [("34", "34", (15,)), ("37", "37", (15,))],
    "Discover": [("6011", "6011", range(16, 20)), ("644", "649", range(16, 20)), ("65", "65", range(16, 20)),
                 ("622126", "622925", range(16, 20))],
    "Diners Club": [("300", "305", range(14, 20)), ("36", "36", range(14, 20)), ("38", "39", range(16, 20))],
    "JCB": [("3528", "3589", range(16, 20))],
    "Maestro": [(p, p, range(13, 20)) for p in ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762",
                                                  "6763")],
    "UnionPay": [("62", "62", range(16, 20))],
    "Mir": [("2200", "2204", range(16, 20))],
}


def _card_digits_valid(digits: str) -> bool:
    return (13 <= len(digits) <= 19 and digits.isdigit() and len(set(digits)) > 1
            and _has_issuer_prefix(digits) and _luhn_valid(digits))


def _has_issuer_prefix(digits: str) -> bool:
    return any(low <= digits[:len(low)] <= high and len(digits) in lengths
               for ranges in CARD_ISSUERS.values() for low, high, lengths in ranges)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card_grouping(groups: list[str]) -> bool:
    """Plain digits, groups of four with a shorter last group, or the 4-6-5 / 4-6-4 layouts."""
    sizes = [len(g) for g in groups]
    return (len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4])
            or (all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4))


# ISO 13616 registry: IBAN length by country (the countries seen most often)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}


def _iban_compact_valid(compact: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact) or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not 2 <= int(compact[2:4]) <= 98:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# --------------------------------------------------------------------------- checks on found tokens


def _without_separators(token: str) -> str:
    return re.sub(r"[ -]", "", token)


def _token_holds_nhs_number(token: str) -> bool:
    return _nhs_digits_valid(_without_separators(token))


def _token_holds_nino(token: str) -> bool:
    compact = _without_separators(token).upper()
    return compact[-1] in "ABCD" and _nino_prefix_allowed(compact[:2])


def _token_holds_ssn(token: str) -> bool:
    return _ssn_digits_valid(_without_separators(token))


def _token_holds_card(token: str) -> bool:
    """Any run of whole groups of the token laid out like a card number: free text may put other
    numbers right after one (card 4111 1111 1111 1111 2 pages)."""
    groups = re.split(r"[ -]", token)
    return any(_card_grouping(groups[start:end]) and _card_digits_valid("".join(groups[start:end]))
               for start in range(len(groups)) for end in range(start + 1, len(groups) + 1))


def _token_holds_iban(token: str) -> bool:
    """The token, or its first characters when a word in capitals follows the IBAN."""
    compact = token.replace(" ", "").upper()
    length = IBAN_LENGTHS.get(compact[:2])
    return length is not None and len(compact) >= length and _iban_compact_valid(compact[:length])


# --------------------------------------------------------------------------- the column scanner


@dataclass(frozen=True)
class Kind:
    """One kind of identifier: how it looks, how it is checked, and what flags a column."""
    name: str                           # plain words: "NHS numbers"
    shape: str                          # a regular expression for a token inside a value
    holds: Callable[[str], bool] | None  # the check on a token; None when the shape is enough
    min_values: int                     # flag when at least this many values hold a valid one ...
    min_share: float                    # ... and they are at least this share of the shaped values
    in_numbers: bool = False            # also look in integer columns (as text)


NHS_KIND = "NHS numbers"
PHONE_KIND = "phone numbers"
KINDS = (
    Kind("email addresses", EMAIL_PATTERN, None, 1, 0.0),
    Kind(NHS_KIND, NHS_SHAPE, _token_holds_nhs_number, 3, 0.5, in_numbers=True),
    Kind("National Insurance numbers", NINO_SHAPE, _token_holds_nino, 1, 0.5),
    Kind("US Social Security numbers", SSN_SHAPE, _token_holds_ssn, 1, 0.5),
    Kind("payment card numbers", CARD_SHAPE, _token_holds_card, 1, 0.5, in_numbers=True),
    Kind("IBANs (bank account numbers)", IBAN_SHAPE, _token_holds_iban, 1, 0.5),
)


@dataclass(frozen=True)
class IdentifierFinding:
    """A column that holds identifiers of one kind, with counts as evidence and never a value."""
    column: str
    kind: str
    matched: int   # sampled values holding a valid identifier of this kind
    checked: int   # sampled values shaped like one whose check was run (at most CANDIDATE_CAP)
    examined: int  # non-empty sampled values

    @property
    def reason(self) -> str:
        tested = f" ({self.checked} have their shape)" if self.checked != self.matched else ""
        return f"{self.matched} of its {self.examined} sampled values contain {self.kind}{tested}"


def scan_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                 sample_rows: int = SAMPLE_ROWS) -> list[IdentifierFinding]:
    """Findings for the named columns of ``table`` (a relation name as the caller's SQL writes it),
    judged on its first ``sample_rows`` rows. Text columns are checked for every kind, integer
    columns for NHS and card numbers; other types cannot hold any of them."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    missing = [name for name in columns if name not in types]
    if missing:
        raise ValueError(f"{table} has no column {missing[0]!r}")
    plans = [(name, kinds) for name in columns if (kinds := _kinds_for(types[name])) is not None]
    if not plans:
        return []
    row = con.execute(_scan_sql(table, plans, int(sample_rows))).fetchone()
    findings, position = [], 0
    for name, kinds in plans:
        width = 2 + len(kinds)
        examined, phones, *per_kind = row[position: position + width]
        findings += _judge(name, kinds, examined, phones, per_kind)
        position += width
    return findings


def _kinds_for(column_type: str) -> list[Kind] | None:
    """The kinds worth looking for in a column of this type (None: none)."""
    if column_type == "VARCHAR":
        return list(KINDS)
    if column_type in INTEGER_TYPES or re.fullmatch(r"DECIMAL\((1[0-9]|[2-9][0-9]),0\)", column_type):
        return [kind for kind in KINDS if kind.in_numbers]
    return None


def _scan_sql(table: str, plans: list[tuple[str, list[Kind]]], sample_rows: int) -> str:
    """One query over the sample giving, per column: its non-empty values, the values that are a
    phone number, then per kind a count (email addresses) or the tokens of the first shaped values.

    A regular expression joining every shape of the column (its gate) is run once per value; the
    shape of each kind only where the gate matched, so free text without any costs one pass."""
    sampled, gated, shaped, measures = [], [], [], []
    for i, (name, kinds) in enumerate(plans):
        value, gate = f"v{i}", f"g{i}"
        any_shape = "|".join(f"(?:{kind.shape})" for kind in kinds)
        sampled.append(f"CAST({quote_ident(name)} AS VARCHAR) AS {value}")
        gated += [value, f"regexp_matches({value}, {quote_literal(any_shape)}) AS {gate}"]
        shaped.append(value)
        measures += [f"count(*) FILTER (WHERE trim({value}) <> '')",
                     f"count(*) FILTER (WHERE regexp_full_match({value}, {quote_literal(PHONE_PATTERN)}))"]
        for j, kind in enumerate(kinds):
            found, shape = f"s{i}_{j}", quote_literal(kind.shape)
            if kind.holds is None:
                shaped.append(f"CASE WHEN {gate} THEN regexp_matches({value}, {shape}) END AS {found}")
                measures.append(f"count(*) FILTER (WHERE {found})")
            else:
                shaped.append(f"CASE WHEN {gate} THEN regexp_extract_all({value}, {shape}) END AS {found}")
                measures.append(f"(list({found}) FILTER (WHERE len({found}) > 0))[1:{CANDIDATE_CAP}]")
    return (f"SELECT {', '.join(measures)} FROM (SELECT {', '.join(shaped)} FROM (SELECT {', '.join(gated)} "
            f"FROM (SELECT {', '.join(sampled)} FROM {table} LIMIT {sample_rows})))")


def _judge(column: str, kinds: list[Kind], examined: int, phones: int, per_kind: list) -> list[IdentifierFinding]:
    findings = []
    for kind, measure in zip(kinds, per_kind):
        if kind.holds is None:
            matched = checked = measure
        else:
            shaped_values = measure or []
            checked = len(shaped_values)
            matched = sum(1 for tokens in shaped_values if any(kind.holds(t) for t in tokens))
        if matched >= kind.min_values and matched >= kind.min_share * checked:
            findings.append(IdentifierFinding(column, kind.name, matched, checked, examined))
    # NHS numbers written 999 000 0018 fit the 3-3-4 phone pattern too; they explain those values
    nhs_matched = max((f.matched for f in findings if f.kind == NHS_KIND), default=0)
    if phones and phones >= PHONE_SHARE * examined and phones > nhs_matched:
        findings.insert(0, IdentifierFinding(column, PHONE_KIND, phones, phones, examined))
    return findings


# --------------------------------------------------------------------------- dates of birth

BIRTH_SPAN_YEARS = 110       # nobody alive was born longer ago than this
BIRTH_MIN_VALUES = 50        # fewer dated values are not evidence either way
BIRTH_IN_LIFETIME = 0.95     # share of the values that fall within a human lifetime, up to today
BIRTH_SPREAD_YEARS = 30      # the middle 90% of the values spans at least this many years ...
BIRTH_DISTINCT = 0.3         # ... and they are this varied (event dates repeat; birthdays rarely do)
BIRTH_DAYS_OF_MONTH = 20     # birthdays fall on any day; monthly or quarterly series on one or two
BIRTH_DENSITY = 0.5          # a daily series fills its span; a sample of birthdays leaves gaps
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "VARCHAR")


def scan_birth_dates(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], today: dt.date,
                     sample_rows: int = SAMPLE_ROWS) -> list[tuple[str, str]]:
    """Columns whose values look like dates of birth, each with the reason in plain words: dates spread over a lifetime, up to today.

    Dates of events (admissions, payments, inspections) cluster in a few recent years; dates of
    birth spread over decades, fall on every day of the month and are nearly all different, without
    filling their span day after day as a daily series does. Text columns count when their values
    read as ISO dates."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    names = [n for n in columns if types.get(n) in DATE_TYPES]
    if not names:
        return []
    oldest = today.replace(year=today.year - BIRTH_SPAN_YEARS) if not (today.month == 2 and today.day == 29) \
        else today.replace(year=today.year - BIRTH_SPAN_YEARS, day=28)
    measures = []
    for i, name in enumerate(names):
        value = f"TRY_CAST({quote_ident(name)} AS DATE)" if types[name] == "VARCHAR" else f"CAST({quote_ident(name)} AS DATE)"
        measures += [f"{value} AS d{i}", f"{quote_ident(name)} IS NOT NULL AS f{i}"]
    parts = []
    for i, name in enumerate(names):
        d = f"d{i}"
        parts += [f"count({d})", f"count({d}) FILTER (WHERE {d} BETWEEN DATE '{oldest}' AND DATE '{today}')",
                  f"count(DISTINCT {d})", f"date_diff('day', quantile_disc({d}, 0.05), quantile_disc({d}, 0.95))",
                  f"count(*) FILTER (WHERE f{i})", f"count(DISTINCT day({d}))",
                  f"date_diff('day', min({d}), max({d})) + 1"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(measures)} FROM "
                      f"(SELECT * FROM {table} LIMIT {int(sample_rows)}))").fetchone()
    findings = []
    for i, name in enumerate(names):
        dated, in_lifetime, distinct, spread_days, filled, days_of_month, days = row[7 * i: 7 * i + 7]
        if types[name] == "VARCHAR" and dated < BIRTH_IN_LIFETIME * filled:
            continue        # free text with a few dates in it is not a column of dates
        if (dated >= BIRTH_MIN_VALUES and in_lifetime >= BIRTH_IN_LIFETIME * dated
                and (spread_days or 0) >= BIRTH_SPREAD_YEARS * 365 and distinct >= BIRTH_DISTINCT * dated
                and days_of_month >= BIRTH_DAYS_OF_MONTH and distinct <= BIRTH_DENSITY * days):
            findings.append((name, f"its values look like dates of birth: {distinct} different dates among "
                                   f"{dated} sampled, spread over {spread_days // 365} years up to today"))
    return findings


# --------------------------------------------------------------------------- scrubbing free text


def scrub_sql(column_sql: str) -> str:
    """A DuckDB expression: ``column_sql`` with email addresses, phone numbers and identifier-shaped
    tokens replaced by [email], [phone] and [id]. A cell that is a phone number as a whole (the
    guard's pattern) becomes [phone]. NULL stays NULL."""
    expression = f"regexp_replace({column_sql}, {quote_literal(PHONE_PATTERN)}, '[phone]')"
    for pattern, replacement in SCRUB_STEPS:
        expression = f"regexp_replace({expression}, {quote_literal(pattern)}, {quote_literal(replacement)}, 'g')"
    return expression


_WHOLE_PHONE = re.compile(PHONE_PATTERN, re.ASCII)
_SCRUB_STEPS = [(re.compile(pattern, re.ASCII), replacement) for pattern, replacement in SCRUB_STEPS]


def scrub(text: str | None) -> str | None:
    """What ``scrub_sql`` gives for ``text``, computed in Python."""
    if text is None:
        return None
    if _WHOLE_PHONE.fullmatch(text):  # fullmatch: RE2's $ matches only at the very end
        text = "[phone]"
    for pattern, replacement in _SCRUB_STEPS:
        text = pattern.sub(replacement, text)
    return text
