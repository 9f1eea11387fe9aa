"""Identifiers recognised by value: the checks, the column scanner and the free-text scrubber."""

import random
import re
from dataclasses import asdict

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import identifiers
from catalog.identifiers import (EMAIL_PATTERN, KINDS, PHONE_PATTERN, is_iban, is_nhs_number, is_nino,
                                 is_payment_card, is_us_ssn, scan_columns, scrub, scrub_sql)

# --------------------------------------------------------------------------- building valid numbers


def nhs_number(first_nine: str) -> str | None:
    """The NHS number starting with these nine digits, or None when no check digit fits."""
    check = (11 - sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1))) % 11) % 11
    return None if check == 10 else first_nine + str(check)


def nhs_numbers(count: int, start: int = 999_000_000) -> list[str]:
    """Valid NHS numbers in the 999 range, which is kept for testing."""
    found = (nhs_number(str(n)) for n in range(start, start + 2 * count))
    return [n for n in found if n][:count]


def with_luhn_digit(partial: str) -> str:
    for digit in "0123456789":
        if identifiers._luhn_valid(partial + digit):
            return partial + digit
    raise AssertionError("a Luhn digit always exists")


def iban(country: str, account: str) -> str:
    """The IBAN for a country and account number, check digits computed (ISO 13616)."""
    numeric = int("".join(str(int(c, 36)) for c in account + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{account}"


def grouped(text: str, size: int = 4, separator: str = " ") -> str:
    return separator.join(text[i:i + size] for i in range(0, len(text), size))


def nhs_written(digits: str, separator: str = " ") -> str:
    return separator.join((digits[:3], digits[3:6], digits[6:]))


def isbn13(first_twelve: str) -> str:
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve)) % 10) % 10
    return first_twelve + str(check)


# --------------------------------------------------------------------------- validators

PUBLISHED_TEST_CARDS = ["4111 1111 1111 1111", "4012888888881881", "4222222222222", "5555 5555 5555 4444",
                        "2223 0031 2200 3222", "3782 822463 10005", "3714 496353 98431", "6011 1111 1111 1117",
                        "3530-1113-3330-0000", "3056 9309 0259 04", "6200 0000 0000 0005"]
PUBLISHED_EXAMPLE_IBANS = ["GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00",
                           "FR14 2004 1010 0505 0001 3M02 606", "NL91 ABNA 0417 1643 00", "BE68 5390 0754 7034",
                           "NO93 8601 1117 947"]


@pytest.mark.parametrize("digits", nhs_numbers(5))
@pytest.mark.parametrize("separator", ["", " ", "-"])
def test_nhs_numbers_are_recognised_plain_and_grouped(digits, separator):
    assert is_nhs_number(nhs_written(digits, separator))


def test_nhs_near_misses_are_not_nhs_numbers():
    valid = nhs_numbers(1)[0]
    changed = valid[:9] + str((int(valid[9]) + 1) % 10)
    no_check_digit_fits = next(str(n) for n in range(999_000_000, 999_001_000) if nhs_number(str(n)) is None)
    for text in (changed, valid[:9], valid + "1", no_check_digit_fits + "0", "0000000000", "9999999999",
                 "999 000 00 00", valid[:3] + " " + valid[3:6] + "-" + valid[6:], "ABC" + valid[3:]):
        assert not is_nhs_number(text), text


@pytest.mark.parametrize("text", ["AB 12 34 56 C", "AB123456C", "JG 10 37 63 A", "ce123456d", "AA 00 00 00 B"])
def test_national_insurance_numbers_are_recognised(text):
    assert is_nino(text)


@pytest.mark.parametrize("text", ["QQ 12 34 56 C",  # the format's published example: Q is never a first letter
                                  "DA123456A", "AD123456A", "AO123456A", "GB123456A", "BG123456A", "NK123456A",
                                  "TN123456A", "ZZ123456A", "AB123456E", "AB12345C", "AB1234567C", "A1234567C"])
def test_national_insurance_near_misses_are_not_recognised(text):
    assert not is_nino(text)


@pytest.mark.parametrize("text", ["123-45-6789", "123 45 6789", "123456789", "665-01-0001", "899-99-9999"])
def test_social_security_numbers_are_recognised(text):
    assert is_us_ssn(text)


@pytest.mark.parametrize("text", ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567",
                                  "123-45-0000", "078-05-1120", "123-45 6789", "12-345-6789", "1234-56-789",
                                  "123-45-67890"])
def test_social_security_near_misses_are_not_recognised(text):
    assert not is_us_ssn(text)


@pytest.mark.parametrize("text", PUBLISHED_TEST_CARDS + ["4111-1111-1111-1111", "4111111111111111"])
def test_published_test_card_numbers_are_recognised(text):
    assert is_payment_card(text)


def test_card_near_misses_are_not_recognised():
    visa_fifteen = with_luhn_digit("41111111111111")  # Luhn-valid, but Visa has no 15-digit numbers
    no_issuer = with_luhn_digit("999999999999999")     # Luhn-valid, no issuer uses 9
    for text in ("4111 1111 1111 1112", "5555 5555 5555 4445", "1234 5678 9012 3456", "0000 0000 0000 0000",
                 visa_fifteen, no_issuer, "4111 1111 1111 11", "4111 1111-1111 1111", "41 11 11 11 11 11 11 11",
                 "4111 1111 1111 1111 1111"):
        assert not is_payment_card(text), text


@pytest.mark.parametrize("text", PUBLISHED_EXAMPLE_IBANS)
def test_published_example_ibans_are_recognised(text):
    assert is_iban(text)


def test_iban_near_misses_are_not_recognised():
    for text in ("GB82 WEST 1234 5698 7654 33", "GB28 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 3",
                 "GB82 WEST 1234 5698 7654 321", "XX82 WEST 1234 5698 7654 32", "GB00 WEST 1234 5698 7654 32",
                 "DE89 3704 0044 0532 0130 01", "GB82-WEST-1234-5698-7654-32"):
        assert not is_iban(text), text
    assert is_iban(iban("GB", "NWBK60161331926819"))


# --------------------------------------------------------------------------- the scanner

ROWS = 300


def sentences(count: int, rng: random.Random) -> list[str]:
    subjects = ["The road", "Our team", "The library", "A resident", "The council", "The bin collection"]
    verbs = ["was repaired on", "reopened on", "was reported on", "is delayed until", "cost 1,250.00 on"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} 2024-03-{rng.randint(10, 28)}, ticket {rng.randint(1, 999)}."
            for _ in range(count)]


@pytest.fixture(scope="module")
def scanned():
    """A table with personal columns and ordinary ones, and what the scanner says of each."""
    rng = random.Random(7)
    nhs = nhs_numbers(ROWS)
    cards = [with_luhn_digit("4" + "".join(rng.choice("0123456789") for _ in range(14))) for _ in range(ROWS)]
    notes = sentences(ROWS, rng)
    notes[123] = "Refund paid to GB82 WEST 1234 5698 7654 32 after the appeal."
    columns = {
        "nhs": [nhs_written(n) for n in nhs],
        "nhs_as_integer": [int(n) for n in nhs],
        "card": [grouped(c) for c in cards],
        "card_as_integer": [int(c) for c in cards],
        "notes_with_iban": notes,
        "order_id": list(range(100_001, 100_001 + ROWS)),
        "order_ref": [f"ORD-2024-{i:06d}" for i in range(ROWS)],
        "reference_10_digits": [str(rng.randint(1_000_000_000, 9_999_999_999)) for _ in range(ROWS)],
        "reference_as_integer": [rng.randint(1_000_000_000, 9_999_999_999) for _ in range(ROWS)],
        "amount": [f"{rng.randint(0, 99_999)}.{rng.randint(0, 99):02d}" for _ in range(ROWS)],
        "timestamp_text": [f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T12:{rng.randint(10, 59)}:00Z"
                           for _ in range(ROWS)],
        "epoch_seconds": [rng.randint(1_600_000_000, 1_800_000_000) for _ in range(ROWS)],
        "epoch_millis": [rng.randint(1_600_000_000_000, 1_800_000_000_000) for _ in range(ROWS)],
        "isbn": [isbn13("978" + "".join(rng.choice("0123456789") for _ in range(9))) for _ in range(ROWS)],
        "isbn_hyphenated": [f"978-0-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{rng.randint(0, 9)}"
                            for _ in range(ROWS)],
        "postcode": [rng.choice(["SW1A 1AA", "M1 1AE", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "B33 8TH"])
                     for _ in range(ROWS)],
        "product_code": [f"{rng.choice(['HX', 'KT', 'PL'])}-{rng.randint(1000, 9999)}-{rng.choice('ABCXYZ')}"
                         for _ in range(ROWS)],
        "stock_code": [rng.choice(["AB", "CE", "HX", "KT", "PL", "WR"]) + f"{rng.randint(0, 999_999):06d}"
                       + rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(ROWS)],
        "nine_digit_id": [str(rng.randint(100_000_000, 899_999_999)) for _ in range(ROWS)],
        "year": [rng.randint(1990, 2030) for _ in range(ROWS)],
        "notes": sentences(ROWS, rng),
    }
    con = duckdb.connect()
    frame = pd.DataFrame(columns)
    con.register("frame", frame)
    con.execute("CREATE TABLE released AS SELECT *, "
                "CAST(replace(replace(timestamp_text, 'T', ' '), 'Z', '') AS TIMESTAMP) AS timestamp, "
                "CAST(amount AS DECIMAL(12, 2)) AS amount_decimal FROM frame")
    names = [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE released)").fetchall()]
    findings = scan_columns(con, "released", names)
    return columns, findings


def flagged(findings) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for finding in findings:
        kinds.setdefault(finding.column, set()).add(finding.kind)
    return kinds


def test_scanner_flags_columns_of_identifiers(scanned):
    _, findings = scanned
    kinds = flagged(findings)
    assert kinds["nhs"] == {"NHS numbers"}
    assert kinds["nhs_as_integer"] == {"NHS numbers"}
    assert kinds["card"] == {"payment card numbers"}
    assert kinds["card_as_integer"] == {"payment card numbers"}
    assert kinds["notes_with_iban"] == {"IBANs (bank account numbers)"}


def test_scanner_counts_its_evidence(scanned):
    _, findings = scanned
    by_column = {f.column: f for f in findings}
    assert (by_column["nhs"].matched, by_column["nhs"].examined) == (ROWS, ROWS)
    assert (by_column["notes_with_iban"].matched, by_column["notes_with_iban"].examined) == (1, ROWS)
    assert by_column["notes_with_iban"].reason == "1 of its 300 sampled values contain IBANs (bank account numbers)"


def test_scanner_leaves_ordinary_columns_alone(scanned):
    _, findings = scanned
    ordinary = {"order_id", "order_ref", "reference_10_digits", "reference_as_integer", "amount", "amount_decimal",
                "timestamp", "timestamp_text", "epoch_seconds", "epoch_millis", "isbn", "isbn_hyphenated",
                "postcode", "product_code", "stock_code", "nine_digit_id", "year", "notes"}
    assert ordinary & set(flagged(findings)) == set()


def test_findings_never_carry_a_value(scanned):
    columns, findings = scanned
    text = repr(findings) + repr([asdict(f) for f in findings]) + " ".join(f.reason for f in findings)
    for finding in findings:
        for value in columns[finding.column]:
            assert str(value) not in text
            assert re.sub(r"[^0-9A-Z]", "", str(value)) not in re.sub(r"[^0-9A-Z]", "", text)


def test_random_ten_digit_numbers_do_pass_the_nhs_check_now_and_then(scanned):
    """Why one checksum-valid NHS-shaped number is not enough: about 1 in 11 random ones pass."""
    columns, _ = scanned
    passing = sum(is_nhs_number(v) for v in columns["reference_10_digits"])
    assert 0 < passing < ROWS / 4


def test_a_few_chance_hits_do_not_flag_and_three_real_ones_do():
    con = duckdb.connect()
    valid = nhs_numbers(3)
    con.execute("CREATE TABLE t (two_of_eleven VARCHAR, three VARCHAR)")
    for i in range(11):
        con.execute("INSERT INTO t VALUES (?, ?)",
                    [valid[i] if i < 2 else f"1{i:09d}", valid[i] if i < 3 else None])
    kinds = flagged(scan_columns(con, "t", ["two_of_eleven", "three"]))
    assert kinds == {"three": {"NHS numbers"}}


def test_scanner_flags_emails_phones_and_written_identifiers_in_text():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (contact VARCHAR, phone_col VARCHAR, remark VARCHAR, \"odd \"\" name\" VARCHAR)")
    rows = [("write to ann@example.org", "020 7946 0018", "NI number AB 12 34 56 C noted", "SSN 123-45-6789"),
            ("no contact", "+44 161 496 0000", "nothing to add", "all fine"),
            (None, "", "", None)]
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    kinds = flagged(scan_columns(con, "t", ["contact", "phone_col", "remark", 'odd " name']))
    assert kinds == {"contact": {"email addresses"}, "phone_col": {"phone numbers"},
                     "remark": {"National Insurance numbers"}, 'odd " name': {"US Social Security numbers"}}


def test_scanner_only_reads_the_sample():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT CASE WHEN i < 100 THEN 'plain' ELSE 'ann@example.org' END AS v "
                "FROM range(200) r(i)")
    assert scan_columns(con, "t", ["v"], sample_rows=100) == []
    assert flagged(scan_columns(con, "t", ["v"], sample_rows=101)) == {"v": {"email addresses"}}


def test_scanner_rejects_an_unknown_column():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")
    with pytest.raises(ValueError, match="no column 'w'"):
        scan_columns(con, "t", ["w"])


# --------------------------------------------------------------------------- scrubbing

CON = duckdb.connect()


def scrub_in_duckdb(text: str | None) -> str | None:
    return CON.execute(f"SELECT {scrub_sql('?')}", [text]).fetchone()[0]


def test_scrub_replaces_each_kind_and_keeps_ordinary_text():
    text = ("Mail ann@example.org or call +44 20 7946 0018 / (555) 123-4567. Card 4111 1111 1111 1111, "
            "IBAN GB82 WEST 1234 5698 7654 32, NI AB 12 34 56 C, SSN 123-45-6789, NHS 999 000 0015. "
            "Paid 1,250.00 on 2024-03-05 at 12:30 for ticket 4521 in SW1A 1AA.")
    expected = ("Mail [email] or call [phone] / [phone]. Card [id], IBAN [id], NI [id], SSN [id], NHS [id]. "
                "Paid 1,250.00 on 2024-03-05 at 12:30 for ticket 4521 in SW1A 1AA.")
    assert scrub(text) == expected
    assert scrub_in_duckdb(text) == expected


def test_scrub_turns_a_cell_that_is_a_phone_number_into_phone_and_keeps_null():
    assert scrub("0161 496 0000") == scrub_in_duckdb("0161 496 0000") == "[phone]"
    assert scrub(None) is None and scrub_in_duckdb(None) is None


def test_scrub_sql_works_on_a_quoted_column_name():
    con = duckdb.connect()
    con.execute('CREATE TABLE t ("free text" VARCHAR)')
    con.execute("INSERT INTO t VALUES ('ring 020 7946 0018'), (NULL)")
    rows = con.execute(f'SELECT {scrub_sql(chr(34) + "free text" + chr(34))} FROM t').fetchall()
    assert rows == [("ring [phone]",), (None,)]


WORDS = ["the", "council", "road", "was", "repaired", "on", "Monday", "paid", "ticket", "and", "café", "Größe",
         "naïve", "ROAD", "NHS", "NI", "SSN", "IBAN", "ref", "tel", "at", "2024-03-05", "12:30", "1,250.00", "£40",
         "(see", "note)", "#12", "SW1A", "1AA", "-", "+", "@", "e.g.", "x2"]
SEPARATORS = [" ", ", ", "; ", ". ", "\n", " - ", " / ", ": "]


def planted_nhs():
    return st.builds(lambda n, sep: nhs_written(n, sep), st.sampled_from(nhs_numbers(50)),
                     st.sampled_from(["", " ", "-"]))


def planted_card():
    prefixes = st.sampled_from(["4", "51", "55", "2221", "6011", "3528"])
    return st.builds(lambda prefix, rest, sep: grouped(with_luhn_digit((prefix + rest)[:15]), 4, sep),
                     prefixes, st.text("0123456789", min_size=14, max_size=14), st.sampled_from(["", " ", "-"]))


def planted_iban():
    account = st.builds(lambda bank, number: bank + number, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4,
                                                                    max_size=4),
                        st.text("0123456789", min_size=14, max_size=14))
    return st.builds(lambda a, spaced: grouped(iban("GB", a)) if spaced else iban("GB", a), account, st.booleans())


def planted_nino():
    prefix = st.sampled_from(["AB", "CE", "JG", "KA", "PR", "WL"])
    return st.builds(lambda p, digits, suffix, spaced: (f"{p} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
                                                        if spaced else f"{p}{digits}{suffix}"),
                     prefix, st.text("0123456789", min_size=6, max_size=6), st.sampled_from("ABCD"), st.booleans())


def planted_ssn():
    return st.builds(lambda area, group, serial, sep: f"{area:03d}{sep}{group:02d}{sep}{serial:04d}",
                     st.integers(1, 665), st.integers(1, 99), st.integers(1, 9999), st.sampled_from(["-", " ", ""]))


def planted_email():
    local = st.from_regex(r"[a-z][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True)
    domain = st.sampled_from(["example.org", "mail.example.co.uk", "council.gov.uk", "x-y.example.com"])
    return st.builds(lambda l, d: f"{l}@{d}", local, domain)


def planted_phone():
    return st.sampled_from(["+44 20 7946 0018", "+44 (0)20 7946 0018", "020 7946 0018", "(020) 7946 0018",
                            "07700 900123", "0161 496 0000", "+1 (555) 123-4567", "(555) 123-4567",
                            "555-123-4567", "555.123.4567", "0044 161 496 0000", "+353 1 234 5678"])


PLANTED = st.one_of(planted_nhs(), planted_card(), planted_iban(), planted_nino(), planted_ssn(), planted_email(),
                    planted_phone())
ORDINARY_WORD = st.one_of(st.sampled_from(WORDS), st.integers(0, 99_999).map(str),
                          st.from_regex(r"[A-Za-z]{1,10}", fullmatch=True))


@st.composite
def texts_with_planted_values(draw):
    words = draw(st.lists(ORDINARY_WORD, max_size=12))
    planted = draw(st.lists(PLANTED, min_size=1, max_size=4))
    parts = words + planted
    order = draw(st.permutations(range(len(parts))))
    text = ""
    for position, index in enumerate(order):
        text += (draw(st.sampled_from(SEPARATORS)) if position else "") + parts[index]
    return text, planted


def leftover_identifiers(text: str) -> list[str]:
    """Tokens in ``text`` that a check, the guard's email pattern or the scanner would still take for one."""
    found = [m.group(0) for m in re.finditer(EMAIL_PATTERN, text, re.ASCII)]
    if re.fullmatch(PHONE_PATTERN, text, re.ASCII):
        found.append(text)
    for kind in KINDS:
        if kind.holds is not None:
            found += [t for t in re.findall(kind.shape, text, re.ASCII) if kind.holds(t)]
    validators = (is_nhs_number, is_nino, is_us_ssn, is_payment_card, is_iban)
    found += [t for t in written_runs(text) for check in validators if check(t)]
    return found


def written_runs(text: str):
    """Every run of words joined by single spaces or hyphens in ``text``, and every part of one."""
    for run in re.findall(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*", text):
        pieces = re.split(r"([ -])", run)  # words at even positions, separators between
        words = len(pieces[0::2])
        for start in range(words):
            for end in range(start + 1, words + 1):
                yield "".join(pieces[2 * start: 2 * end - 1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_with_planted_values())
def test_scrubbed_text_holds_nothing_that_would_be_flagged(case):
    text, planted = case
    scrubbed = scrub(text)
    assert scrub_in_duckdb(text) == scrubbed
    for value in planted:
        assert value not in scrubbed
    assert leftover_identifiers(scrubbed) == []
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT ? AS scrubbed FROM range(5)", [scrubbed])
    assert scan_columns(con, "t", ["scrubbed"]) == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09 @.+-()_/'\n", max_size=40))
def test_sql_scrub_equals_the_python_reference_on_any_text(text):
    assert scrub_in_duckdb(text) == scrub(text)


# --------------------------------------------------------------------------- dates of birth by value

TODAY = __import__("datetime").date(2026, 11, 23)


def _dates_table(con, kind: str, rows: int = 2_000) -> None:
    """A table ``t`` with one column ``d`` of dates of the named kind (typed, or ISO text)."""
    shapes = {
        "birth": "DATE '2025-06-30' - CAST(hash(i) % 32000 AS INTEGER)",              # ages 0 to 87
        "admission": "DATE '2024-01-01' + CAST(hash(i) % 366 AS INTEGER)",           # one year of events
        "monthly": "CAST(DATE '1960-01-01' + INTERVAL (i) MONTH AS DATE)",           # a long monthly series
        "daily": "DATE '1990-01-01' + CAST(i AS INTEGER)",                            # 33 years of days
        "future": "DATE '2030-01-01' + CAST(hash(i) % 32000 AS INTEGER)",
    }
    base, text = kind.removesuffix("_text"), kind.endswith("_text")
    value = f"CAST({shapes[base]} AS VARCHAR)" if text else shapes[base]
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {value} AS d FROM range({rows}) r(i)")


@pytest.mark.parametrize("kind", ["birth", "birth_text"])
def test_a_column_of_birth_dates_is_found_by_its_values(kind):
    con = duckdb.connect()
    _dates_table(con, kind)
    [(column, reason)] = identifiers.scan_birth_dates(con, "t", ["d"], TODAY)
    assert column == "d"
    assert "dates of birth" in reason and "years up to today" in reason
    assert not re.search(r"\d{4}-\d{2}-\d{2}", reason)        # counts, never a value


@pytest.mark.parametrize("kind", ["admission", "monthly", "daily", "future", "monthly_text"])
def test_dates_of_events_and_time_series_are_not_dates_of_birth(kind):
    con = duckdb.connect()
    _dates_table(con, kind, rows={"monthly": 700, "monthly_text": 700, "daily": 12_000}.get(kind, 2_000))
    assert identifiers.scan_birth_dates(con, "t", ["d"], TODAY) == []


def test_free_text_with_a_few_dates_is_not_a_column_of_dates():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT CASE WHEN i % 10 = 0 THEN CAST(DATE '1950-01-01' + CAST(hash(i) % 20000 "
                "AS INTEGER) AS VARCHAR) ELSE 'called about bins' END AS d FROM range(2000) r(i)")
    assert identifiers.scan_birth_dates(con, "t", ["d"], TODAY) == []
