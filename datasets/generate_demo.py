"""Generate the fictional agency data bundled with the govcat demo.

Everything here is invented: the "Republic of Example", its capital Riverton, the people,
businesses, schools and events. The output is deterministic: every dataset draws from its
own ``random.Random`` seeded with a fixed text, nothing depends on the clock, the locale or
hash ordering, and the XLSX workbooks are written with fixed document properties and fixed
zip entry timestamps. Running the script twice gives byte-identical files.

Usage::

    python datasets/generate_demo.py [OUTPUT_ROOT]

OUTPUT_ROOT defaults to the folder this script sits in (``datasets/``); the files are
written under ``<OUTPUT_ROOT>/<agency>/<dataset>/data/``. Only the standard library and
openpyxl are used.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

SEED = "govcat-demo-2024"
FIXED_STAMP = dt.datetime(2025, 1, 6, 9, 0, 0)          # document properties of the workbooks
ZIP_STAMP = (2025, 1, 6, 9, 0, 0)                       # zip entry dates of the workbooks

# Where each generated file goes, relative to the output root.
SPENDING = "treasury/public_spending/data/spending-2024.csv"
ADMISSIONS = "health/hospital_admissions/data/admissions-2024.xlsx"
ENROLMENT = "education/school_enrolment/data/enrolment-2020-2024.xlsx"
COLLISIONS_H1 = "riverton/road_collisions/data/collisions-2024-h1.csv"
COLLISIONS_H2 = "riverton/road_collisions/data/collisions-2024-h2.csv"
LICENCES = "riverton/business_licences/data/licences-export.json"
REQUESTS = "riverton/service_requests/data/service-requests-2024.xml"
COMMENTS = "riverton/planning_comments/data/comments-2024.csv"
GENERATED = (SPENDING, ADMISSIONS, ENROLMENT, COLLISIONS_H1, COLLISIONS_H2, LICENCES, REQUESTS, COMMENTS)


def rng_for(name: str) -> random.Random:
    """A generator of its own for each dataset (text seeds are hashed with SHA-512: stable)."""
    return random.Random(f"{SEED}:{name}")


def weighted(rng: random.Random, options: list, weights: list[float]):
    return rng.choices(options, weights=weights, k=1)[0]


def days_in_year(year: int) -> list[dt.date]:
    start = dt.date(year, 1, 1)
    return [start + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - start).days)]


# --------------------------------------------------------------------------- people

FIRST_NAMES_F = ["Anna", "Maria", "Sofia", "Emma", "Olivia", "Laura", "Sarah", "Julia", "Chloe", "Amira",
                 "Fatima", "Ingrid", "Elena", "Nadia", "Grace", "Hannah", "Leila", "Marta", "Zoe", "Ruth",
                 "Irene", "Aisha", "Clara", "Noor", "Beatriz", "Helen", "Joanna", "Mei", "Priya", "Rosa"]
FIRST_NAMES_M = ["James", "Lucas", "Daniel", "Omar", "Thomas", "David", "Mateo", "Samuel", "Jonas", "Ali",
                 "Peter", "Marco", "Ivan", "Noah", "Adam", "Yusuf", "Erik", "Felix", "Hugo", "Kofi",
                 "Rahul", "Pavel", "Leon", "George", "Tomas", "Arjun", "Simon", "Victor", "Owen", "Karim"]
SURNAMES = ["Smith", "Jones", "Novak", "Müller", "García", "Rossi", "Dubois", "Jansen", "Kowalski", "Silva",
            "Andersen", "Brown", "Okafor", "Haddad", "Ivanova", "Costa", "Fischer", "Moreau", "Nielsen",
            "Patel", "Khan", "Murphy", "Walsh", "Schmidt", "Lindqvist", "Horvat", "Papadopoulos", "Mensah",
            "O'Brien", "Kaya", "Dimitrov", "Ferreira", "Wright", "Baker", "Clarke", "Evans", "Hughes",
            "Lewis", "Morgan", "Price", "Reid", "Taylor", "Turner", "Wood", "Young", "Chen", "Nguyen",
            "Yilmaz", "Berg", "Laurent"]
MAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example", "post.example"]


def person(rng: random.Random, sex: str | None = None) -> tuple[str, str, str]:
    """(first name, surname, sex) of an invented person."""
    sex = sex or rng.choice(["F", "M"])
    first = rng.choice(FIRST_NAMES_F if sex == "F" else FIRST_NAMES_M)
    return first, rng.choice(SURNAMES), sex


def ascii_slug(text: str) -> str:
    table = str.maketrans({"ü": "u", "é": "e", "á": "a", "í": "i", "ó": "o", "ö": "o", "ä": "a", "'": "",
                           "ç": "c", "ñ": "n", "ø": "o", "å": "a", "è": "e"})
    return "".join(c for c in text.lower().translate(table) if c.isalnum())


def email_for(rng: random.Random, first: str, last: str) -> str:
    style = rng.randrange(4)
    first_s, last_s = ascii_slug(first), ascii_slug(last)
    local = [f"{first_s}.{last_s}", f"{first_s[0]}{last_s}", f"{first_s}{last_s}{rng.randrange(10, 99)}",
             f"{last_s}.{first_s[0]}"][style]
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def phone_for(rng: random.Random) -> str:
    """A number in the Republic's (fictional) format: landline 021 555 xxxx or mobile 077 00 9xxxxx."""
    if rng.random() < 0.5:
        return f"021 555 {rng.randrange(0, 10000):04d}"
    return f"+999 77 00{rng.randrange(900000, 1000000)}"


# --------------------------------------------------------------------------- geography

RIVERTON_CENTRE = (50.9200, 6.3600)          # lat, lon of the (fictional) city hall
KM_LAT = 1 / 111.2
KM_LON = 1 / (111.32 * math.cos(math.radians(RIVERTON_CENTRE[0])))

# City districts: offset of the district's centre from city hall (km east, km north), its
# radius (km) and how busy it is (share of people and traffic).
CITY_DISTRICTS = {
    "Old Town": ((0.0, 0.0), 0.9, 1.6),
    "Harbourside": ((1.8, -1.2), 1.1, 1.2),
    "Millbrook": ((-2.4, 1.1), 1.4, 1.0),
    "Northgate": ((0.3, 2.9), 1.5, 1.1),
    "Eastfield": ((3.4, 0.9), 1.6, 1.0),
    "Southbank": ((-0.4, -2.6), 1.3, 1.1),
    "Westwood": ((-3.9, -0.8), 1.8, 0.8),
    "Riverside": ((1.2, 1.4), 0.9, 0.9),
    "Hillcrest": ((-1.6, 3.6), 1.7, 0.6),
    "Docklands": ((3.1, -2.7), 1.4, 0.7),
}
STREET_WORDS = {
    "Old Town": ["Market Street", "Cathedral Lane", "Guildhall Square", "Bridge Street", "Castle Walk",
                 "Chapel Row", "Tanners Lane", "High Street"],
    "Harbourside": ["Quay Road", "Anchor Lane", "Harbour Parade", "Ferry Street", "Saltmarsh Way",
                    "Lighthouse Road"],
    "Millbrook": ["Mill Lane", "Brook Road", "Weavers Close", "Waterwheel Street", "Granary Court",
                  "Millpond Avenue"],
    "Northgate": ["North Road", "Gatehouse Street", "Station Approach", "Kings Avenue", "Elm Grove",
                  "Northgate Ring"],
    "Eastfield": ["Eastfield Road", "Orchard Way", "Hawthorn Drive", "Meadow Lane", "Foxglove Close",
                  "Barley Street"],
    "Southbank": ["Southbank Promenade", "Willow Street", "Ropewalk", "Theatre Lane", "Canal Road",
                  "Riverton Bridge Road"],
    "Westwood": ["Westwood Avenue", "Oak Lane", "Forest Road", "Beech Crescent", "Pinewood Drive",
                 "Acorn Way"],
    "Riverside": ["Riverside Drive", "Towpath Lane", "Boathouse Road", "Heron Close", "Kingfisher Way"],
    "Hillcrest": ["Hillcrest Road", "Summit Avenue", "Windmill Hill", "Ridgeway", "Vista Close",
                  "Quarry Lane"],
    "Docklands": ["Dock Road", "Warehouse Street", "Crane Way", "Container Terminal Road", "Shipyard Lane",
                  "Customs House Street"],
}


def point_near(rng: random.Random, east_km: float, north_km: float, radius_km: float) -> tuple[float, float]:
    angle = rng.uniform(0, 2 * math.pi)
    dist = radius_km * math.sqrt(rng.random())
    east, north = east_km + dist * math.cos(angle), north_km + dist * math.sin(angle)
    return RIVERTON_CENTRE[0] + north * KM_LAT, RIVERTON_CENTRE[1] + east * KM_LON


def city_streets(rng: random.Random) -> list[tuple[str, str, float, float]]:
    """(district, street, lat, lon) of every street, each with a fixed anchor point."""
    streets = []
    for district, ((east, north), radius, _) in CITY_DISTRICTS.items():
        for street in STREET_WORDS[district]:
            lat, lon = point_near(rng, east, north, radius)
            streets.append((district, street, lat, lon))
    return streets


# --------------------------------------------------------------------------- writers


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ",", line_end: str = "\n") -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))   # strict: fails on a character the encoding lacks


def save_workbook_deterministic(book, path: Path) -> None:
    """Save an openpyxl workbook so the bytes depend only on its content.

    openpyxl's ``save_workbook`` stamps the current time into docProps/core.xml and the zip
    entries carry the current time too; here the properties are fixed and the archive is
    rewritten entry by entry with a fixed date and fixed attributes.
    """
    from openpyxl.writer.excel import ExcelWriter

    book.properties.creator = "govcat demo generator"
    book.properties.lastModifiedBy = "govcat demo generator"
    book.properties.created = FIXED_STAMP
    book.properties.modified = FIXED_STAMP
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()            # what save_workbook does, minus the clock
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 0
            target.writestr(info, source.read(entry.filename), compresslevel=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fixed.getvalue())


def style_header(sheet, widths: list[int]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def money(value: float) -> str:
    """An amount as the treasury's European-locale export writes it: 1234,56 (decimal comma)."""
    return f"{value:.2f}".replace(".", ",")


# --------------------------------------------------------------------------- 1. public spending

DEPARTMENTS = {   # department: (share of the published spend, favoured expense types)
    "Department of Health": (0.22, ["Medical supplies", "Medical equipment", "Facilities management",
                                    "Professional services", "IT services and software"]),
    "Department of Education": (0.16, ["Construction works", "Educational materials", "IT services and software",
                                       "Catering", "Grants to organisations"]),
    "Ministry of Transport and Infrastructure": (0.15, ["Construction works", "Road maintenance",
                                                       "Professional services", "Vehicle fleet"]),
    "Ministry of Defence": (0.11, ["Vehicle fleet", "Facilities management", "IT services and software",
                                   "Professional services"]),
    "Ministry of the Interior": (0.08, ["IT services and software", "Vehicle fleet", "Facilities management",
                                        "Office supplies"]),
    "Ministry of Justice": (0.07, ["Facilities management", "Catering", "Professional services",
                                   "IT services and software"]),
    "Environment Agency": (0.06, ["Professional services", "Construction works", "Laboratory services",
                                  "Vehicle fleet"]),
    "Ministry of Finance": (0.06, ["IT services and software", "Professional services", "Office supplies",
                                   "Training"]),
    "Ministry of Foreign Affairs": (0.05, ["Travel and subsistence", "Conferences and events",
                                           "Translation services", "Facilities management"]),
    "Ministry of Culture and Sport": (0.04, ["Grants to organisations", "Conferences and events",
                                             "Facilities management"]),
}
COMMON_EXPENSES = ["Utilities", "Office supplies", "Training", "Travel and subsistence", "Postage and courier"]
EXPENSES = {   # expense type: (log-normal mu, sigma of the amount in EUR, suppliers, descriptions)
    "Medical supplies": (8.6, 1.0, ["MediSource Distribution NV", "Müller & Söhne GmbH", "Apotheca Nordic AB",
                                    "Riverton Surgical Supplies Ltd"],
                         ["Surgical consumables – monthly order", "Dressings and wound care stock",
                          "Pharmaceuticals for hospital pharmacy", "Infusion sets and cannulae"]),
    "Medical equipment": (10.2, 1.1, ["Lindqvist Medical AB", "Société Générale d'Équipement Médical",
                                      "Hargreaves & Pryce Diagnostics Ltd"],
                          ["Patient monitors (12 units)", "Ultrasound scanner – lease instalment",
                           "Maintenance contract, imaging equipment", "Hospital beds, electric, replacement"]),
    "Facilities management": (9.0, 0.9, ["Clearwater Facility Services", "Nørre Facility Partners A/S",
                                         "Sécurité Alpine SA", "Riverton Cleaning Co-operative"],
                              ["Cleaning services – monthly charge", "Security guarding, government quarter",
                               "Building maintenance, reactive repairs", "Waste collection and recycling"]),
    "Professional services": (9.6, 1.1, ["Thames Analytics Ltd", "Peña & Asociados S.L.", "Brightline Consulting",
                                         "Van Dijk Advisory B.V.", "Hargreaves & Pryce LLP"],
                              ["Consultancy days – programme review", "Legal advice, procurement dispute",
                               "External audit fee (interim)", "Feasibility study – phase 1",
                               "Economic appraisal of the ring-road scheme"]),
    "IT services and software": (9.3, 1.2, ["Northwind Cloud Inc.", "Datavía Sistemas S.A.", "Skærbæk Software ApS",
                                            "Riverton Digital Ltd", "Kraków Code Works sp. z o.o."],
                                 ["Annual software licence renewal – 250 seats", "Cloud hosting – monthly invoice",
                                  "Service desk support, quarterly", "Laptop refresh (40 units)",
                                  "Cyber-security penetration test"]),
    "Construction works": (11.2, 1.0, ["Bouygues-Lefèvre Construction", "Stonebridge Builders Ltd",
                                       "Østerby Entreprenør A/S", "Ferreira & Filhos Construções"],
                           ["Stage payment – school extension", "Roof replacement works", "Bridge deck repairs",
                            "Flood defence wall, section B"]),
    "Road maintenance": (10.3, 0.9, ["Highways Partnership Example", "Asfaltos del Norte S.A.",
                                     "Stonebridge Builders Ltd"],
                         ["Resurfacing – N4 northbound", "Pothole repair programme, spring", "Winter gritting salt",
                          "Road markings renewal"]),
    "Vehicle fleet": (9.7, 0.8, ["Autohaus Weiß GmbH", "Riverton Motors", "FleetLease Europe SE"],
                      ["Fleet lease – monthly rental", "Purchase of electric pool cars",
                       "Vehicle servicing and tyres", "Fuel cards – monthly statement"]),
    "Educational materials": (8.4, 0.9, ["Éditions Clément", "Brightside Learning Ltd", "Müller & Söhne GmbH"],
                              ["Textbooks for primary schools", "Science laboratory kits",
                               "Library books – annual allocation", "Exam papers printing"]),
    "Catering": (8.2, 0.8, ["Café Lumière SARL", "Riverton Catering Services", "Gastronomía Peña S.L."],
                 ["School meals – monthly invoice", "Catering for staff conference", "Prison kitchen provisions"]),
    "Grants to organisations": (10.0, 1.0, ["Riverton Arts Trust", "Youth Sports Federation of Example",
                                            "Northmoor Community Foundation", "Festival Lumière Association"],
                                ["Grant instalment, 2024 programme", "Capital grant – community hall",
                                 "Match funding for EU project"]),
    "Laboratory services": (8.8, 0.8, ["AquaLab Analytics", "Müller & Söhne GmbH", "Labo Crémieux SA"],
                            ["Water quality sampling – river survey", "Soil contamination analysis",
                             "Air quality monitoring, quarterly"]),
    "Travel and subsistence": (7.0, 0.6, ["Global Travel Desk Ltd", "Hôtel Le Méridien Bruxelles", "Riverton Taxis"],
                               ["Flights – ministerial delegation", "Hotel accommodation (€ invoice)",
                                "Taxi account – monthly statement", "Rail tickets, staff travel"]),
    "Conferences and events": (8.7, 0.8, ["Congrès & Événements SA", "Riverton Conference Centre",
                                          "Café Lumière SARL"],
                               ["Venue hire – national open data day", "Conference package (€ deposit)",
                                "Audio-visual equipment hire"]),
    "Translation services": (7.6, 0.7, ["Babel Übersetzungen GmbH", "Lingua Franca Ltd"],
                             ["Translation of treaty documents", "Interpreting services – summit"]),
    "Utilities": (8.9, 0.7, ["Example Energy plc", "Riverton Water Company", "Netzwerk Strom AG"],
                  ["Electricity – monthly bill", "Water and sewerage charges", "Gas supply, heating season"]),
    "Office supplies": (6.9, 0.6, ["OfficeWorld Ltd", "Papeterie Dupré", "Müller & Söhne GmbH"],
                        ["Stationery order", "Printer toner cartridges", "Office chairs (ergonomic)"]),
    "Training": (7.9, 0.7, ["Thames Analytics Ltd", "Akademie Köhler GmbH", "Riverton Business School"],
                 ["Project management training – 12 staff", "Data protection e-learning licences",
                  "Leadership programme, cohort 3"]),
    "Postage and courier": (6.8, 0.6, ["Example Post", "Rapid Courier Services"],
                            ["Postage – monthly account", "Courier services"]),
}
# Invoices from these suppliers come in their own currency.
FOREIGN_CURRENCY = {"Thames Analytics Ltd": "GBP", "Hargreaves & Pryce LLP": "GBP",
                    "Hargreaves & Pryce Diagnostics Ltd": "GBP", "Lingua Franca Ltd": "GBP",
                    "Global Travel Desk Ltd": "GBP", "Northwind Cloud Inc.": "USD"}
FX = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08}
MONTH_WEIGHT = [0.65, 0.8, 1.05, 0.95, 1.0, 1.05, 0.9, 0.7, 1.0, 1.05, 1.15, 1.6]   # year-end push


def generate_spending(root: Path) -> None:
    rng = rng_for("spending")
    days = [d for d in days_in_year(2024) if d.weekday() < 5]
    by_month = {m: [d for d in days if d.month == m] for m in range(1, 13)}
    departments = list(DEPARTMENTS)
    shares = [DEPARTMENTS[d][0] for d in departments]
    records = []
    for _ in range(4800):
        department = weighted(rng, departments, shares)
        favoured = DEPARTMENTS[department][1]
        expense = rng.choice(favoured) if rng.random() < 0.8 else rng.choice(COMMON_EXPENSES)
        mu, sigma, suppliers, descriptions = EXPENSES[expense]
        supplier = rng.choice(suppliers)
        currency = FOREIGN_CURRENCY.get(supplier, "EUR")
        month = weighted(rng, list(range(1, 13)), MONTH_WEIGHT)
        # payment runs on Tuesdays and Thursdays mostly
        candidates = by_month[month]
        runs = [d for d in candidates if d.weekday() in (1, 3)]
        day = rng.choice(runs if rng.random() < 0.8 else candidates)
        amount_eur = max(500.0, rng.lognormvariate(mu, sigma))     # the publication threshold
        amount = round(amount_eur * FX[currency], 2)
        description = rng.choice(descriptions)
        if currency == "GBP":
            description += " (invoiced in £)"
        elif currency == "USD":
            description += " (invoiced in US$)"
        if rng.random() < 0.012:                                    # credit notes
            amount = -round(amount * rng.uniform(0.05, 0.6), 2)
            description = f"Credit note – {description[0].lower()}{description[1:]}"
        records.append((day, department, supplier, expense, description, amount, currency))
    records.sort(key=lambda r: (r[0], r[1], r[2], r[5]))
    rows = [[f"TRX-2024-{i:06d}", day.isoformat(), department, supplier, expense, description, money(amount),
             currency]
            for i, (day, department, supplier, expense, description, amount, currency) in enumerate(records, 1)]
    header = ["transaction_id", "payment_date", "department", "supplier", "expense_type", "description",
              "amount", "currency"]
    write_csv(root / SPENDING, header, rows, encoding="windows-1252", delimiter=";", line_end="\r\n")


# --------------------------------------------------------------------------- 2. hospital admissions

AGE_BANDS = [(0, 4), (5, 14), (15, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 84), (85, 120)]
DIAGNOSES = {
    "circulatory": "Diseases of the circulatory system (I00-I99)",
    "respiratory": "Diseases of the respiratory system (J00-J99)",
    "digestive": "Diseases of the digestive system (K00-K95)",
    "neoplasms": "Neoplasms (C00-D49)",
    "injury": "Injury, poisoning and external causes (S00-T98)",
    "musculoskeletal": "Diseases of the musculoskeletal system (M00-M99)",
    "pregnancy": "Pregnancy, childbirth and the puerperium (O00-O9A)",
    "infectious": "Certain infectious and parasitic diseases (A00-B99)",
    "symptoms": "Symptoms and abnormal findings not elsewhere classified (R00-R99)",
    "genitourinary": "Diseases of the genitourinary system (N00-N99)",
    "endocrine": "Endocrine, nutritional and metabolic diseases (E00-E89)",
    "nervous": "Diseases of the nervous system (G00-G99)",
    "mental": "Mental and behavioural disorders (F01-F99)",
}
WARDS = {  # ward: (weight, winter factor, age range, sex rule, LOS mu/sigma (days), diagnoses with weights)
    "Acute Medical Unit": (18, 1.25, (18, 98), None, (0.9, 0.7),
                           {"symptoms": 4, "infectious": 2, "endocrine": 2, "genitourinary": 2, "respiratory": 2,
                            "mental": 1}),
    "Cardiology": (11, 1.1, (40, 95), None, (1.4, 0.6), {"circulatory": 1}),
    "Respiratory": (10, 1.8, (25, 98), None, (1.6, 0.6), {"respiratory": 6, "infectious": 1}),
    "General Surgery": (12, 1.0, (16, 92), None, (1.3, 0.7), {"digestive": 5, "neoplasms": 2, "injury": 1}),
    "Orthopaedics and Trauma": (11, 1.15, (5, 99), None, (1.6, 0.7), {"injury": 3, "musculoskeletal": 2}),
    "Maternity": (10, 1.0, (17, 45), "F", (0.8, 0.5), {"pregnancy": 1}),
    "Paediatrics": (9, 1.4, (1, 15), None, (0.7, 0.6), {"respiratory": 3, "infectious": 2, "injury": 1,
                                                          "digestive": 1, "endocrine": 1}),
    "Oncology": (6, 1.0, (25, 92), None, (1.8, 0.6), {"neoplasms": 1}),
    "Stroke Unit": (4, 1.1, (45, 97), None, (2.2, 0.6), {"circulatory": 1}),
    "Elderly Care": (9, 1.3, (75, 103), None, (2.3, 0.6), {"respiratory": 2, "genitourinary": 2, "injury": 2,
                                                             "symptoms": 2, "nervous": 1, "circulatory": 1}),
}
POSTCODE_AREAS = ["RV1", "RV2", "RV3", "RV4", "RV5", "RV6", "RV7", "RV8", "NM1", "NM2", "EV1", "SP1", "WB1",
                  "HF1", "LK1", "SB1"]
NOTES = [
    "Lives alone at {house} {street}; neighbour checks in daily.",
    "Next of kin: {relative} {kin_first} {last}, tel {phone}.",
    "Allergic to penicillin. Discharge letter to be emailed to {email}.",
    "Interpreter needed (Portuguese). Son {kin_first} {last} will attend ward round.",
    "Transferred from Eastvale Community Hospital.",
    "Carer visits twice a day; key safe at {house} {street}.",
    "Patient asked that wife {kin_first} not be contacted. Mobile {phone}.",
    "Fall at home, found by postman at {house} {street}.",
    "GP: Dr {kin_first} {gp}, Millbrook Surgery. Prefers contact by email {email}.",
    "Readmitted within 30 days; see previous episode.",
    "Awaiting social care package before discharge.",
    "Declined flu vaccination.",
]
RELATIVES = ["daughter", "son", "partner", "sister", "brother", "mother", "father", "friend"]


def age_band(age: int) -> str:
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}-{high}" if high < 120 else f"{low}+"
    raise ValueError(age)


def birth_date_for(rng: random.Random, age: int, on: dt.date) -> dt.date:
    days_since_birthday = rng.randrange(0, 365)
    birthday = on - dt.timedelta(days=days_since_birthday)
    try:
        return birthday.replace(year=birthday.year - age)
    except ValueError:                                   # 29 February
        return birthday.replace(year=birthday.year - age, day=28)


def generate_admissions(root: Path) -> None:
    from openpyxl import Workbook

    rng = rng_for("admissions")
    cutoff = dt.date(2025, 1, 5)                         # the day the extract was taken
    days = days_in_year(2024)
    day_weight = [1.0 + 0.35 * math.cos(2 * math.pi * (d.timetuple().tm_yday - 15) / 366) for d in days]
    streets = [s for words in STREET_WORDS.values() for s in words]
    wards = list(WARDS)
    patients: list[dict] = []
    hospital_numbers: dict[str, None] = {}
    rows = []
    for _ in range(4200):
        day = weighted(rng, days, day_weight)
        winter = day.month in (12, 1, 2)
        weights = [WARDS[w][0] * (WARDS[w][1] if winter else 1.0) for w in wards]
        ward = weighted(rng, wards, weights)
        _, _, (low, high), sex_rule, (mu, sigma), diagnoses = WARDS[ward]
        patient = None
        if patients and ward not in ("Maternity", "Paediatrics") and rng.random() < 0.14:   # readmission
            candidate = rng.choice(patients[-600:])
            age_now = (day - candidate["dob"]).days // 365
            if low <= age_now <= high and candidate["dob"] < day:
                patient = candidate
        if patient is None:
            age = int(low + (high - low) * (rng.random() ** (0.7 if low >= 40 else 1.0)))
            first, last, sex = person(rng, sex_rule)
            if sex_rule is None and rng.random() < 0.004:
                sex = "U"
            hospital_number = f"RGH{rng.randrange(1000000, 9999999)}"
            while hospital_number in hospital_numbers:
                hospital_number = f"RGH{rng.randrange(1000000, 9999999)}"
            hospital_numbers[hospital_number] = None
            patient = {"id": hospital_number, "first": first, "last": last, "sex": sex,
                       "dob": birth_date_for(rng, age, day),
                       "postcode": f"{rng.choice(POSTCODE_AREAS)} {rng.randrange(1, 10)}"
                                   f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"}
            patients.append(patient)
        age = day.year - patient["dob"].year - ((day.month, day.day) < (patient["dob"].month, patient["dob"].day))
        stay = max(0, int(round(rng.lognormvariate(mu, sigma))))
        discharge = day + dt.timedelta(days=stay)
        diagnosis = DIAGNOSES[weighted(rng, list(diagnoses), list(diagnoses.values()))]
        note = ""
        if rng.random() < 0.55:
            kin_first, _, _ = person(rng)
            note = rng.choice(NOTES).format(
                house=rng.randrange(1, 180), street=rng.choice(streets), relative=rng.choice(RELATIVES),
                kin_first=kin_first, last=patient["last"], phone=phone_for(rng),
                email=email_for(rng, patient["first"], patient["last"]), gp=rng.choice(SURNAMES))
        rows.append([day, patient, age, ward, diagnosis, discharge if discharge <= cutoff else None,
                     stay if discharge <= cutoff else None, note])
    rows.sort(key=lambda r: (r[0], r[3], r[1]["id"]))
    book = Workbook()
    readme = book.active
    readme.title = "Read me"
    for line in [
        ["Riverton General Hospital – inpatient admissions, calendar year 2024"],
        ["Extract taken 5 January 2025 from the patient administration system (PAS)."],
        ["One row per admission (episode). Patients still in hospital on the extract date have no discharge date."],
        ["CONTAINS PERSONAL DATA: patient names, dates of birth, postcodes and clinical notes."],
        ["The data is on the sheet 'Admissions'."],
    ]:
        readme.append(line)
    readme.column_dimensions["A"].width = 100
    sheet = book.create_sheet("Admissions")
    header = ["admission_id", "patient_id", "patient_name", "date_of_birth", "postcode", "sex", "age_band",
              "admission_date", "discharge_date", "ward", "diagnosis_group", "length_of_stay_days", "notes"]
    sheet.append(header)
    for number, (day, patient, age, ward, diagnosis, discharge, stay, note) in enumerate(rows, 1):
        sheet.append([f"ADM-2024-{number:05d}", patient["id"], f"{patient['first']} {patient['last']}",
                      patient["dob"], patient["postcode"], patient["sex"], age_band(age), day, discharge, ward,
                      diagnosis, stay, note or None])
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=9):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    style_header(sheet, [15, 12, 24, 14, 10, 5, 9, 15, 15, 24, 60, 20, 70])
    save_workbook_deterministic(book, root / ADMISSIONS)


# --------------------------------------------------------------------------- 3. school enrolment

NATIONAL_DISTRICTS = {  # district: (weight of the school population, town names)
    "Riverton": (3.0, ["Riverton", "Old Town", "Millbrook", "Northgate", "Eastfield", "Southbank", "Westwood",
                       "Hillcrest", "Harbourside", "Docklands"]),
    "Northmoor": (1.2, ["Northmoor", "Heathfield", "Crag End", "Moorside"]),
    "Eastvale": (1.3, ["Eastvale", "Ashby", "Thornton", "Larkhill"]),
    "Southport": (1.4, ["Southport", "Seacombe", "Saltney", "Baywater"]),
    "Westbrook": (1.0, ["Westbrook", "Fernley", "Oakham"]),
    "Highfield": (0.8, ["Highfield", "Upton", "Kestrel Ridge"]),
    "Lakeside": (0.9, ["Lakeside", "Mereton", "Reedham"]),
    "Stonebridge": (0.7, ["Stonebridge", "Quarrybank", "Millford"]),
}
SAINTS = ["Anne", "Patrick", "Mary", "Joseph", "Bride", "Columba", "Hilda", "Nicholas", "Teresa", "Luke"]
SCHOOL_TYPES = {"Primary": (48, range(1, 7)), "Lower secondary": (18, range(7, 10)),
                "Upper secondary": (10, range(10, 13))}
ACADEMIC_YEARS = ["2020/21", "2021/22", "2022/23", "2023/24"]


def generate_enrolment(root: Path) -> None:
    from openpyxl import Workbook

    rng = rng_for("enrolment")
    districts = list(NATIONAL_DISTRICTS)
    weights = [NATIONAL_DISTRICTS[d][0] for d in districts]
    schools = []
    used_names: list[str] = []
    for school_type, (count, _) in SCHOOL_TYPES.items():
        for _ in range(count):
            district = weighted(rng, districts, weights)
            for _attempt in range(50):
                town = rng.choice(NATIONAL_DISTRICTS[district][1])
                if school_type == "Primary":
                    saint, part = rng.choice(SAINTS), rng.choice(["North", "South", "East", "West", "Park"])
                    name = rng.choice([f"{town} Primary School", f"St {saint}'s Primary School, {town}",
                                       f"{town} {part} Primary School", f"{town} Community School"])
                elif school_type == "Lower secondary":
                    name = rng.choice([f"{town} Middle School", f"{town} Lower Secondary School",
                                       f"{rng.choice(SURNAMES)} Academy, {town}"])
                else:
                    name = rng.choice([f"{town} High School", f"{town} Grammar School", f"{town} Sixth Form College",
                                       f"St {rng.choice(SAINTS)}'s High School, {town}"])
                if name not in used_names:
                    break
            used_names.append(name)
            schools.append({"type": school_type, "district": district, "name": name})
    schools.sort(key=lambda s: (s["district"], list(SCHOOL_TYPES).index(s["type"]), s["name"]))
    rows = []
    for number, school in enumerate(schools, 1):
        school_id = f"SCH-{number:04d}"
        grades = list(SCHOOL_TYPES[school["type"]][1])
        base = rng.randint(25, 90) if school["type"] == "Primary" else rng.randint(80, 220)
        if school["district"] == "Riverton":
            base = int(base * 1.3)
        female_share = rng.uniform(0.46, 0.53)
        cohort = {g: max(8, int(base * rng.uniform(0.9, 1.1))) for g in grades}
        for year_index, year in enumerate(ACADEMIC_YEARS):
            if year_index:
                new = {}
                for g in grades:
                    if g == grades[0]:          # the intake falls slowly with the birth rate
                        new[g] = max(8, int(base * (1 - 0.015 * year_index) * rng.uniform(0.88, 1.1)))
                    else:
                        new[g] = max(5, int(cohort[g - 1] * rng.uniform(0.94, 1.03)))
                cohort = new
            for g in grades:
                total = cohort[g]
                female = sum(1 for _ in range(total) if rng.random() < female_share)
                rows.append([school_id, school["name"], school["district"], school["type"], year, g, female,
                             total - female, total])
    rows.sort(key=lambda r: (r[4], r[0], r[5]))
    book = Workbook()
    sheet = book.active
    sheet.title = "Enrolment"
    sheet.append(["school_id", "school_name", "district", "school_type", "academic_year", "grade",
                  "pupils_female", "pupils_male", "pupils_total"])
    for row in rows:
        sheet.append(row)
    style_header(sheet, [10, 42, 14, 16, 13, 7, 14, 13, 13])
    save_workbook_deterministic(book, root / ENROLMENT)


# --------------------------------------------------------------------------- 4. road collisions

ROAD_TYPES = {"Single carriageway": 45, "Dual carriageway": 14, "Roundabout": 12, "One-way street": 10,
              "Motorway": 6, "Slip road": 4, "Residential street": 9}
WEATHER = {"Fine": 70, "Rain": 20, "Snow": 2, "Fog": 2, "High winds": 2, "Unknown": 4}
HOUR_WEIGHT = [1, 0.6, 0.5, 0.4, 0.5, 1.2, 2.5, 5.5, 7.5, 5.0, 4.2, 4.5, 5.0, 5.0, 5.2, 6.5, 7.8, 8.5, 7.2,
               5.0, 3.6, 2.8, 2.0, 1.4]


def sun_times(day: dt.date) -> tuple[float, float]:
    """Approximate sunrise and sunset (local hours) at Riverton's latitude."""
    swing = 4.0 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 172) / 365)
    return 12.5 - (8.0 + swing) / 2, 12.5 + (8.0 + swing) / 2


def collision_rows(rng: random.Random, months: range, start_number: int) -> list[list[str]]:
    districts = list(CITY_DISTRICTS)
    district_weight = [CITY_DISTRICTS[d][2] for d in districts]
    days = [d for d in days_in_year(2024) if d.month in months]
    day_weight = [(1.15 if d.weekday() == 4 else 0.8 if d.weekday() == 6 else 1.0) *
                  (1.15 if d.month in (1, 2, 11, 12) else 1.0) for d in days]
    count = int(len(days) * 6.1)
    records = []
    for _ in range(count):
        day = weighted(rng, days, day_weight)
        hour = weighted(rng, list(range(24)), HOUR_WEIGHT)
        minute = rng.choice([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]) if rng.random() < 0.6 \
            else rng.randrange(60)
        district = weighted(rng, districts, district_weight)
        (east, north), radius, _ = CITY_DISTRICTS[district]
        lat, lon = point_near(rng, east, north, radius)
        road = weighted(rng, list(ROAD_TYPES), list(ROAD_TYPES.values()))
        winter = day.month in (1, 2, 12)
        weather = weighted(rng, list(WEATHER), [w * (4 if k == "Snow" and winter else 1) *
                                                  (0 if k == "Snow" and day.month in range(5, 10) else 1)
                                                  for k, w in WEATHER.items()])
        rise, sset = sun_times(day)
        clock = hour + minute / 60
        if rise <= clock <= sset:
            light = "Daylight"
        else:
            light = weighted(rng, ["Darkness - lights lit", "Darkness - lights unlit", "Darkness - no lighting"],
                             [80, 5, 15 if road == "Motorway" else 5])
        fatal_risk = 0.012 * (2.5 if road == "Motorway" else 1) * (1.8 if light != "Daylight" else 1)
        roll = rng.random()
        severity = "fatal" if roll < fatal_risk else "serious" if roll < fatal_risk + 0.17 else "slight"
        vehicles = weighted(rng, [1, 2, 3, 4, 5], [22, 61, 12, 4, 1])
        casualties = max(1, vehicles - 1 + weighted(rng, [0, 1, 2], [70, 24, 6])) if vehicles > 1 \
            else weighted(rng, [1, 2], [88, 12])
        if severity == "slight" and rng.random() < 0.03:
            casualties = 0                                    # damage-only collisions reported by the police
        records.append([day, hour, minute, lat, lon, district, road, severity, vehicles, casualties, weather, light])
    records.sort(key=lambda r: (r[0], r[1], r[2], r[5]))
    rows = []
    for number, (day, hour, minute, lat, lon, district, road, severity, vehicles, casualties, weather,
                 light) in enumerate(records, start_number):
        rows.append([f"RTC-2024-{number:05d}", day.isoformat(), f"{hour:02d}:{minute:02d}", f"{lat:.5f}",
                     f"{lon:.5f}", district, road, severity, str(vehicles), str(casualties), weather, light])
    return rows


COLLISION_HEADER = ["collision_id", "date", "time", "latitude", "longitude", "district", "road_type", "severity",
                    "vehicles", "casualties", "weather", "light_conditions"]


def generate_collisions(root: Path) -> None:
    rng = rng_for("collisions")
    first = collision_rows(rng, range(1, 7), 1)
    write_csv(root / COLLISIONS_H1, COLLISION_HEADER, first)
    second = collision_rows(rng, range(7, 13), len(first) + 1)
    # The second delivery came from the police's new records system, and it shows: a handful
    # of rows break the published schema, so this release must be quarantined.
    col = {name: i for i, name in enumerate(COLLISION_HEADER)}
    second[57][col["severity"]] = "moderate"                  # not one of slight / serious / fatal
    september = [i for i, r in enumerate(second) if r[col["date"]].startswith("2024-09-30")]
    second[september[0]][col["date"]] = "2024-09-31"         # September has 30 days
    second[612][col["casualties"]] = "-1"                     # a count cannot be negative
    second[1003][col["latitude"]] = "n/a"                     # the GPS fix was missing
    write_csv(root / COLLISIONS_H2, COLLISION_HEADER, second)


# --------------------------------------------------------------------------- 5. business licences

LICENCE_CATEGORIES = {  # category: (weight, years valid, business name patterns)
    "Food premises": (30, 3, ["{surname}'s Bakery", "The {adj} Kettle Café", "{town} Kebab House",
                              "Golden {animal} Takeaway", "Trattoria {italian}", "Café {french}",
                              "{surname} & Daughters Deli", "The {adj} Spoon", "Noodle Bar {town}",
                              "Pâtisserie {french}"]),
    "Alcohol on-licence": (14, 1, ["The {adj} {animal}", "{town} Tap Room", "The {animal} & Crown",
                                   "Bar {french}", "{surname}'s Wine Bar"]),
    "Alcohol off-licence": (8, 1, ["{town} Wines & Spirits", "{surname} Convenience Store", "Bottle Shop {town}",
                                   "Late Shop {town}"]),
    "Street trading": (8, 1, ["{surname}'s Flower Stall", "{town} Coffee Cart", "Hot Crêpes {french}",
                              "{first}'s Fruit & Veg"]),
    "Market stall": (7, 1, ["{surname} Cheeses", "{first}'s Vintage Clothing", "{town} Organic Produce",
                            "{surname} Fish Stall"]),
    "Taxi and private hire operator": (6, 5, ["{town} Cars", "{adj} Taxis", "{surname} Private Hire",
                                              "Riverton Radio Cabs {n}"]),
    "Hair and beauty salon": (10, 3, ["Salon {french}", "{first}'s Hair Studio", "The {adj} Barber",
                                      "{surname} Beauty Rooms"]),
    "Tattoo and body piercing": (3, 3, ["{adj} Ink", "{town} Tattoo Parlour", "Studio {surname}"]),
    "Entertainment venue": (4, 2, ["The {adj} Room", "{town} Music Hall", "Club {french}", "{surname} Arena"]),
    "Second-hand goods dealer": (5, 3, ["{surname} Antiques", "{town} Pawnbrokers", "Second Chance {town}"]),
    "Scrap metal dealer": (2, 3, ["{surname} Metals", "{town} Salvage & Recycling"]),
    "Pet shop": (3, 1, ["{adj} Paws Pet Supplies", "{town} Aquatics", "{surname}'s Pet Centre"]),
}
ADJECTIVES = ["Copper", "Golden", "Blue", "Silver", "Old", "Red", "Green", "Happy", "Crooked", "Velvet", "Iron",
              "Royal", "Little", "Lucky", "Black"]
ANIMALS = ["Lion", "Swan", "Fox", "Dragon", "Stag", "Heron", "Otter", "Bear", "Raven", "Hare"]
ITALIAN = ["Da Luigi", "Bella Napoli", "Il Porto", "La Piazza", "Sorrento"]
FRENCH = ["Lumière", "Étoile", "Bon Appétit", "Le Marché", "Belle Époque", "Crème", "Côte d'Azur"]


def generate_licences(root: Path) -> None:
    rng = rng_for("licences")
    export_day = dt.date(2025, 1, 6)
    categories = list(LICENCE_CATEGORIES)
    weights = [LICENCE_CATEGORIES[c][0] for c in categories]
    districts = list(CITY_DISTRICTS)
    district_weight = [CITY_DISTRICTS[d][2] for d in districts]
    first_day, last_day = dt.date(2019, 1, 2), dt.date(2024, 12, 20)
    span = (last_day - first_day).days
    licences = []
    names_used: list[str] = []
    for _ in range(1250):
        category = weighted(rng, categories, weights)
        _, years, patterns = LICENCE_CATEGORIES[category]
        first, surname, _ = person(rng)
        for _attempt in range(20):
            name = rng.choice(patterns).format(
                surname=surname, first=first, adj=rng.choice(ADJECTIVES), animal=rng.choice(ANIMALS),
                town=rng.choice(districts), italian=rng.choice(ITALIAN), french=rng.choice(FRENCH),
                n=rng.randrange(2, 9))
            if name not in names_used:
                break
            surname = rng.choice(SURNAMES)
        names_used.append(name)
        district = weighted(rng, districts, district_weight)
        owner_email = email_for(rng, first, surname) if rng.random() < 0.9 else None
        issued = first_day + dt.timedelta(days=rng.randrange(span))
        while issued <= last_day:
            try:
                expiry = issued.replace(year=issued.year + years) - dt.timedelta(days=1)
            except ValueError:
                expiry = issued.replace(year=issued.year + years, day=28) - dt.timedelta(days=1)
            renewed = rng.random() < 0.82
            roll = rng.random()
            if roll < 0.012:
                status = "Revoked"
            elif roll < 0.03 and expiry >= export_day:
                status = "Suspended"
            elif roll < 0.06:
                status = "Surrendered"
            else:
                status = "Active" if expiry >= export_day else "Expired"
            licences.append({"issued": issued, "expiry": expiry, "category": category, "name": name,
                             "district": district, "status": status, "owner": f"{first} {surname}",
                             "email": owner_email})
            if not renewed or status in ("Revoked", "Surrendered"):
                break
            issued = expiry + dt.timedelta(days=rng.randrange(-20, 15))
    licences.sort(key=lambda r: (r["issued"], r["name"]))
    counters: dict[int, int] = {}
    records = []
    for licence in licences:
        year = licence["issued"].year
        counters[year] = counters.get(year, 0) + 1
        records.append({
            "licence_number": f"BL-{year}-{counters[year]:05d}",
            "business_name": licence["name"],
            "category": licence["category"],
            "address_district": licence["district"],
            "issued_date": licence["issued"].isoformat(),
            "expiry_date": licence["expiry"].isoformat(),
            "status": licence["status"],
            "owner_name": licence["owner"],
            "owner_email": licence["email"],
        })
    document = {"exported": "2025-01-06T07:30:12Z", "system": "LicensingOnline 3.2 (legacy export)",
                "count": len(records), "licences": records}
    path = root / LICENCES
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


# --------------------------------------------------------------------------- 6. 311 service requests

REQUEST_CATEGORIES = {  # category: (weight, month profile peak (0 = none), mean hours to close, texts)
    "Pothole": (16, 2, 160, ["Deep pothole in the nearside lane, cars swerving to avoid it.",
                             "Pothole outside number {n}, getting bigger after the frost.",
                             "Several potholes along the bus route."]),
    "Streetlight out": (11, 12, 120, ["Street light not working, the whole stretch is dark.",
                                      "Lamp post {n} flickering on and off all night.",
                                      "Light has been out for a week near the crossing."]),
    "Missed bin collection": (17, 0, 30, ["Recycling bin not emptied on collection day.",
                                          "Our street was missed again this week.",
                                          "Garden waste bin not collected."]),
    "Graffiti": (7, 6, 200, ["Graffiti sprayed on the underpass wall.", "Offensive graffiti on the bus shelter.",
                             "Tags on the side of the community centre."]),
    "Fly-tipping": (10, 8, 72, ["Mattress and bags dumped on the verge.", "Builders' rubble left in the lay-by.",
                                "Fridge dumped by the recycling point."]),
    "Noise complaint": (8, 7, 48, ["Loud music from a flat until 3am.", "Construction noise starting before 7am.",
                                   "Barking dog left alone all day."]),
    "Abandoned vehicle": (4, 0, 340, ["Car with no plates parked for weeks.", "Burnt-out scooter on the pavement.",
                                      "Van has not moved in a month, tyres flat."]),
    "Blocked drain": (7, 10, 90, ["Drain blocked, water pooling across the road.",
                                  "Gully full of leaves, flooding when it rains."]),
    "Damaged pavement": (7, 3, 260, ["Raised paving slab, my neighbour tripped.", "Broken kerb at the junction.",
                                     "Tree roots lifting the pavement."]),
    "Tree or hedge overgrowth": (6, 6, 230, ["Hedge overhanging the footpath, hard to pass with a pram.",
                                             "Branch hanging low over the road.",
                                             "Overgrown tree blocking the street sign."]),
    "Dog fouling": (4, 11, 96, ["Dog fouling all along the path to the school.",
                                "Dog mess at the playground entrance."]),
}
CHANNELS = {"Phone": 34, "Web": 28, "App": 26, "Email": 8, "Walk-in": 4}
CONTACT_TAILS = ["Please call me back on {phone}.", "You can reach me at {email}.",
                 "Contact {email} or {phone} for access.", "I reported this before, my number is {phone}."]


def generate_requests(root: Path) -> None:
    rng = rng_for("requests")
    export_at = dt.datetime(2025, 1, 2, 6, 0, 0)
    streets = city_streets(rng)
    street_weight = [CITY_DISTRICTS[s[0]][2] for s in streets]
    categories = list(REQUEST_CATEGORIES)
    days = days_in_year(2024)
    hours = list(range(24))
    hour_weight = [0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 1.0, 2.5, 4.5, 5.5, 5.5, 5.0, 4.5, 4.8, 4.8, 4.5, 4.0, 3.8,
                   3.4, 3.0, 2.5, 1.8, 1.0, 0.6]
    records = []
    for _ in range(2600):
        day = rng.choice(days)
        weights = []
        for category in categories:
            weight, peak, _, _ = REQUEST_CATEGORIES[category]
            season = 1.0 if not peak else 1.0 + 0.6 * math.cos(2 * math.pi * (day.month - peak) / 12)
            weights.append(weight * season * (0.6 if day.weekday() >= 5 else 1.0))
        category = weighted(rng, categories, weights)
        _, _, mean_hours, texts = REQUEST_CATEGORIES[category]
        opened = dt.datetime.combine(day, dt.time(weighted(rng, hours, hour_weight), rng.randrange(60),
                                                  rng.randrange(60)))
        district, street, lat, lon = weighted(rng, streets, street_weight)
        lat += rng.gauss(0, 0.0012)
        lon += rng.gauss(0, 0.0018)
        channel = weighted(rng, list(CHANNELS), list(CHANNELS.values()))
        first, last, _ = person(rng)
        email = email_for(rng, first, last) if channel in ("Web", "App", "Email") or rng.random() < 0.2 else ""
        phone = phone_for(rng) if channel == "Phone" or rng.random() < 0.3 else ""
        if rng.random() < 0.07:
            email, phone = "", ""                     # anonymous reports
        text = rng.choice(texts).format(n=rng.randrange(1, 160))
        if rng.random() < 0.18:
            text += " " + rng.choice(CONTACT_TAILS).format(phone=phone or phone_for(rng),
                                                           email=email or email_for(rng, first, last))
        closed = opened + dt.timedelta(hours=rng.expovariate(1 / mean_hours) + 0.5)
        closed = closed.replace(microsecond=0)
        duplicate = rng.random() < 0.04
        if duplicate:
            closed = opened + dt.timedelta(minutes=rng.randrange(20, 2880))
            status = "Closed - duplicate"
        elif closed <= export_at:
            status = "Closed"
        else:
            status = "In progress" if rng.random() < 0.6 else "Open"
            closed = None
        records.append((opened, closed, category, status, district, street, lat, lon, channel, email, phone, text))
    records.sort(key=lambda r: (r[0], r[2]))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<!-- City of Riverton customer service system: service requests opened in 2024 -->',
             f'<requests exported="{export_at.isoformat()}" system="RivertonConnect CRM">']
    for number, (opened, closed, category, status, district, street, lat, lon, channel, email, phone,
                 text) in enumerate(records, 1):
        cells = [("request_id", f"SR-2024-{number:06d}"), ("opened_at", opened.isoformat()),
                 ("closed_at", closed.isoformat() if closed else ""), ("category", category), ("status", status),
                 ("district", district), ("street", street), ("latitude", f"{lat:.3f}"),
                 ("longitude", f"{lon:.3f}"), ("channel", channel), ("reporter_email", email),
                 ("reporter_phone", phone), ("description", text)]
        lines.append("  <request>")
        for tag, value in cells:
            lines.append(f"    <{tag}>{escape(value)}</{tag}>" if value else f"    <{tag}/>")
        lines.append("  </request>")
    lines.append("</requests>")
    path = root / REQUESTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


# --------------------------------------------------------------------------- planning comments

PLANNING_KINDS = {
    "FUL": ["a two-storey rear extension", "a change of use from shop to café", "twelve new flats above the garage",
            "the demolition of the old bakery and eight new houses", "a roof terrace on the corner building"],
    "HOU": ["a loft conversion with dormer windows", "a single-storey side extension", "a new garden office"],
    "ADV": ["an illuminated shop sign", "a digital advertising screen at the junction"],
}
STANCES = {"object": 5, "support": 3, "comment": 1}
COMMENT_TEXTS = {
    "object": ["{what} would overlook our garden and block the evening light.",
               "Parking on the street is already impossible; {what} will make it worse.",
               "{what} is out of keeping with the conservation area.",
               "Noise from {what} late at night would disturb the whole street."],
    "support": ["{what} would bring a derelict site back into use.",
                "Good to see {what}; the street needs more homes and shops.",
                "{what} is well designed and will brighten the corner."],
    "comment": ["Please make sure {what} keeps the old boundary wall.",
                "Could the council limit building work for {what} to weekdays?"],
}
COMMENT_TAILS = ["Please keep me informed at {email}.", "Happy to discuss, call me on {phone}.",
                 "My neighbour ({email}) agrees with this."]


def generate_comments(root: Path) -> None:
    """Residents' comments on planning applications, as the planning portal exports them: the
    free text sometimes carries the writer's email address or phone number."""
    rng = rng_for("planning-comments")
    districts = list(CITY_DISTRICTS)
    applications = []
    for number in range(1, 31):
        kind = weighted(rng, list(PLANNING_KINDS), [5, 4, 1])
        applications.append((f"RIV/24/{number * 37 % 1000:04d}/{kind}", rng.choice(PLANNING_KINDS[kind]),
                             rng.choice(districts), dt.date(2024, 1, 8) + dt.timedelta(days=rng.randrange(300))))
    rows = []
    for _ in range(240):
        reference, what, district, opened = rng.choice(applications)
        stance = weighted(rng, list(STANCES), list(STANCES.values()))
        received = opened + dt.timedelta(days=rng.randrange(1, 29))
        text = rng.choice(COMMENT_TEXTS[stance]).format(what=what)
        if rng.random() < 0.2:
            first, last, _ = person(rng)
            text += " " + rng.choice(COMMENT_TAILS).format(email=email_for(rng, first, last), phone=phone_for(rng))
        rows.append([reference, received.isoformat(), district, stance, text[:1].upper() + text[1:]])
    rows.sort(key=lambda r: (r[1], r[0]))
    header = ["comment_id", "application_ref", "received_on", "district", "stance", "comment"]
    write_csv(root / COMMENTS, header, [[f"PC-2024-{n:05d}", *row] for n, row in enumerate(rows, 1)])


# --------------------------------------------------------------------------- main

GENERATORS = (generate_spending, generate_admissions, generate_enrolment, generate_collisions,
              generate_licences, generate_requests, generate_comments)


def generate(root: Path) -> list[Path]:
    """Write every generated file under ``root``; return their paths."""
    root = Path(root)
    for generator in GENERATORS:
        generator(root)
    return [root / name for name in GENERATED]


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parent
    for path in generate(root):
        print(f"{path.relative_to(root)}  {path.stat().st_size:>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
