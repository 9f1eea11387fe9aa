"""The controlled vocabularies a declaration may use: themes, licences, frequencies, access.

Themes follow the EU Data Theme vocabulary used by DCAT-AP; frequencies follow the
Dublin Core / EU frequency authority table; licence ids follow SPDX where SPDX has one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str
    open: bool


LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in [
        Licence("CC-BY-4.0", "Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/", True),
        Licence("CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/", True),
        Licence("CC0-1.0", "Creative Commons Zero 1.0 (public domain)", "https://creativecommons.org/publicdomain/zero/1.0/", True),
        Licence("ODC-PDDL-1.0", "Open Data Commons Public Domain Dedication and License 1.0", "https://opendatacommons.org/licenses/pddl/1-0/", True),
        Licence("ODC-BY-1.0", "Open Data Commons Attribution License 1.0", "https://opendatacommons.org/licenses/by/1-0/", True),
        Licence("ODbL-1.0", "Open Data Commons Open Database License 1.0", "https://opendatacommons.org/licenses/odbl/1-0/", True),
        Licence("OGL-UK-3.0", "Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", True),
        Licence("etalab-2.0", "Licence Ouverte / Open Licence 2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", True),
        Licence("other-closed", "Not open: reuse needs the publisher's permission", "", False),
    ]
}

# slug -> (label, EU data theme code)
THEMES: dict[str, tuple[str, str]] = {
    "agriculture": ("Agriculture, fisheries, forestry and food", "AGRI"),
    "economy": ("Economy and finance", "ECON"),
    "education": ("Education, culture and sport", "EDUC"),
    "energy": ("Energy", "ENER"),
    "environment": ("Environment", "ENVI"),
    "government": ("Government and public sector", "GOVE"),
    "health": ("Health", "HEAL"),
    "international": ("International issues", "INTR"),
    "justice": ("Justice, legal system and public safety", "JUST"),
    "regions": ("Regions and cities", "REGI"),
    "society": ("Population and society", "SOCI"),
    "science": ("Science and technology", "TECH"),
    "transport": ("Transport", "TRAN"),
}

# slug -> (label, expected days between releases or None when there is no promise)
FREQUENCIES: dict[str, tuple[str, int | None]] = {
    "continuous": ("Continuously updated", 1),
    "daily": ("Daily", 1),
    "weekly": ("Weekly", 7),
    "monthly": ("Monthly", 31),
    "quarterly": ("Quarterly", 92),
    "biannual": ("Every six months", 183),
    "annual": ("Annual", 366),
    "irregular": ("Irregular", None),
    "never": ("No further updates", None),
}

ACCESS_LEVELS: dict[str, str] = {
    "public": "Open to everyone",
    "restricted": "Shared only with named agencies",
    "non-public": "Not published",
}

SOURCE_FORMATS = ("csv", "xlsx", "json", "xml")
