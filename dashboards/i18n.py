"""The interface's words: one YAML file per language in ``dashboards/locales/``.

A page asks ``t("search.title")`` or ``t("search.found", count=3)``; the words come from the
reader's language and fall back to English for a key a translation lacks. A key ending in a
count has ``_one`` and ``_other`` forms. The language is ``?lang=xx`` on the first page a reader
opens, then the sidebar's choice, kept for the session. ``number``, ``day`` and ``moment`` write
numbers, days and times the reader's way; data values (titles, names, vocabulary labels) and the
messages of ``catalog`` modules are shown as they come.
"""

from __future__ import annotations

from functools import lru_cache
from numbers import Integral
from pathlib import Path

import pandas as pd
import streamlit as st
import yaml

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
LANGUAGES = {"en": "English", "fr": "Français"}


@lru_cache(maxsize=None)
def words(language: str) -> dict[str, str]:
    """Every key of one language's file, flattened to ``section.key``."""
    path = LOCALES / f"{language}.yaml"
    if language not in LANGUAGES or not path.exists():
        return {}
    return _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def language() -> str:
    """The reader's language: chosen in the sidebar, else ``?lang=``, else English."""
    chosen = st.session_state.get("lang")
    if chosen not in LANGUAGES:
        asked = st.query_params.get("lang", DEFAULT)
        chosen = asked if asked in LANGUAGES else DEFAULT
        st.session_state["lang"] = chosen
    return chosen


def translate(key: str, language_code: str, **values) -> str:
    """The words for ``key`` in ``language_code`` (English when missing), with ``values`` filled in.

    Whole numbers among ``values`` are written the language's way (12,345 or 12 345).
    """
    if "count" in values:
        form = "_one" if _singular(language_code, values["count"]) else "_other"
        if f"{key}{form}" in words(DEFAULT):
            key = f"{key}{form}"
    text = words(language_code).get(key) or words(DEFAULT).get(key)
    if text is None:
        raise KeyError(f"no words for {key!r} in {LOCALES / (DEFAULT + '.yaml')}")
    if not values:
        return text
    return text.format(**{name: number(value, language_code) if _whole(value) else value
                          for name, value in values.items()})


def _singular(language_code: str, count) -> bool:
    """English says "1 dataset", "0 datasets"; French says "0 jeu", "1 jeu", "2 jeux"."""
    return abs(count) < 2 if language_code == "fr" else count == 1


def _whole(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def number(value, language_code: str | None = None, decimals: int = 0) -> str:
    """``value`` with the language's digit grouping and decimal mark: 12,345.6 or 12 345,6."""
    language_code = language_code or language()
    text = f"{value:,.{decimals}f}"
    marks = {",": translate("format.group", language_code), ".": translate("format.decimal", language_code)}
    return "".join(marks.get(char, char) for char in text)


def day(value) -> str:
    """A day as the reader writes it: "3 Nov 2026", "3 nov. 2026"; the words for never when missing."""
    if value is None or pd.isna(value):
        return t("format.never")
    stamp = pd.Timestamp(value)
    return t("format.day", day=str(stamp.day), month=_month(stamp.month), year=str(stamp.year))


def moment(value) -> str:
    """A time in UTC as the reader writes it: "3 Nov 2026, 14:05 UTC", "3 nov. 2026 à 14:05 UTC"."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return t("format.moment", day=day(stamp), time=f"{stamp:%H:%M}")


def _month(number_of_month: int) -> str:
    return t("format.months").split()[number_of_month - 1]


def t(key: str, **values) -> str:
    """The words for ``key`` in the reader's language."""
    return translate(key, language(), **values)


def language_picker() -> None:
    """The sidebar's language choice; a choice other than English also goes in the address."""
    language()
    st.sidebar.selectbox(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get,
                         key="lang", on_change=_remember)


def _remember() -> None:
    if st.session_state.get("lang", DEFAULT) == DEFAULT:
        st.query_params.pop("lang", None)
    else:
        st.query_params["lang"] = st.session_state["lang"]
