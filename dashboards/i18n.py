"""The interface's words: one YAML file per language in ``dashboards/locales/``.

A page asks ``t("search.title")`` or ``t("search.found", count=3)``; the words come from the
reader's language and fall back to English for a key a translation lacks. A key ending in a
count has ``_one`` and ``_other`` forms. The language is ``?lang=xx`` on the first page a reader
opens, then the sidebar's choice, kept for the session.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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
    """The words for ``key`` in ``language_code`` (English when missing), with ``values`` filled in."""
    if "count" in values:
        form = "_one" if values["count"] == 1 else "_other"
        if f"{key}{form}" in words(DEFAULT):
            key = f"{key}{form}"
    text = words(language_code).get(key) or words(DEFAULT).get(key)
    if text is None:
        raise KeyError(f"no words for {key!r} in {LOCALES / (DEFAULT + '.yaml')}")
    return text.format(**values) if values else text


def t(key: str, **values) -> str:
    """The words for ``key`` in the reader's language."""
    return translate(key, language(), **values)


def language_picker() -> None:
    """The sidebar's language choice."""
    language()
    st.sidebar.selectbox("Language · Langue", list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
