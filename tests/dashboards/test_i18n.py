"""The explorer's words: every English key has its French twin, every key is used and every key used
exists; the search and SQL pages speak French with ``?lang=fr`` and English without it."""

import re
import string

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

from dashboards import i18n
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")
SOURCES = sorted((REPO / "dashboards").rglob("*.py"))
CALLED = re.compile(r"""\bt\(\s*(["'])([a-z_]+(?:\.[a-z_]+)+)\1""")
FORMS = re.compile(r"_(one|other)$")
# words French writes as English does
SAME_IN_FRENCH = {"agency.contact", "answers.kind_question", "dataset.col_message", "dataset.col_note",
                  "dataset.licence", "dataset.source", "dataset.tab_questions", "feedback.kind_question", "format.day",
                  "methodology.col_format", "methodology.formats", "nav.sql", "profile.description", "profile.exact",
                  "profile.type", "scorecard.score", "search.facet_format", "search.facet_licence", "sql.type",
                  "steward.audit_action", "steward.error_type", "steward.tab_questions", "table.condition"}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_english_key_has_a_french_translation_with_the_same_placeholders():
    english, french = i18n.words("en"), i18n.words("fr")
    assert len(english) > 200
    assert set(french) == set(english)
    differ = {key for key in english if placeholders(english[key]) != placeholders(french[key])}
    assert not differ
    same = {key for key in english if english[key] == french[key]}
    assert same == SAME_IN_FRENCH, "a phrase left in English"


def test_every_key_is_text():
    """YAML reads a bare yes, no, on or off as true or false: such a key would never be found."""
    for language in i18n.LANGUAGES:
        tree = yaml.safe_load((i18n.LOCALES / f"{language}.yaml").read_text(encoding="utf-8"))
        sections = [tree]
        while sections:
            section = sections.pop()
            assert all(isinstance(key, str) for key in section), (language, list(section))
            sections += [value for value in section.values() if isinstance(value, dict)]


def test_every_key_is_used_in_the_dashboards():
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    english = i18n.words("en")
    asked_for = {FORMS.sub("", key) if {FORMS.sub("_one", key), FORMS.sub("_other", key)} <= set(english) else key
                 for key in english}
    unused = {key for key in asked_for if f'"{key}"' not in source and f"'{key}'" not in source}
    assert not unused


def test_every_key_the_code_asks_for_exists_in_english():
    english = i18n.words("en")
    asked = {(path.name, match[1]) for path in SOURCES for match in CALLED.findall(path.read_text(encoding="utf-8"))}
    assert len(asked) > 200
    missing = {(name, key) for name, key in asked
               if key not in english and f"{key}_one" not in english}
    assert not missing


def test_counts_numbers_and_days_are_written_each_languages_way():
    assert i18n.translate("common.rows", "en", count=0) == "0 rows"
    assert i18n.translate("common.rows", "en", count=1) == "1 row"
    assert i18n.translate("common.rows", "fr", count=0) == "0 ligne"
    assert i18n.translate("common.rows", "fr", count=12345) == "12\u202f345 lignes"
    assert i18n.number(1234567.891, "en", decimals=2) == "1,234,567.89"
    assert i18n.number(1234567.891, "fr", decimals=2) == "1\u202f234\u202f567,89"


def test_a_key_missing_from_a_translation_falls_back_to_english(monkeypatch):
    stored = {"en": {"x.hello": "Hello {name}", "x.only": "Only in English"}, "fr": {"x.hello": "Bonjour {name}"}}
    monkeypatch.setattr(i18n, "words", lambda language: stored.get(language, {}))
    assert i18n.translate("x.hello", "fr", name="Ann") == "Bonjour Ann"
    assert i18n.translate("x.only", "fr") == "Only in English"
    with pytest.raises(KeyError):
        i18n.translate("x.nowhere", "fr")


@pytest.fixture
def published_demo(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo.home


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(f"views/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def facet(at: AppTest, name: str) -> list[str]:
    return [box.label for box in at.checkbox if box.key.startswith(f"{name}:")]


def test_the_search_page_speaks_french_with_lang_fr(published_demo):
    at = open_page("search", lang="fr")
    assert not at.exception
    assert at.title[0].value == "Données publiques ouvertes"
    assert at.text_input(key="q").label == "Rechercher des jeux de données"
    assert at.selectbox(key="sort").label == "Trier par"
    assert at.selectbox(key="sort").format_func("name") == "Nom (A–Z)"
    assert at.caption[0].value == "14 jeux de données trouvés"
    assert facet(at, "updated") == ["7 derniers jours (13)", "Jamais publié (1)"]
    assert "**Dernière mise à jour**" in [m.value for m in at.markdown]
    assert at.button(key="next").label == "Suivant →"
    at.text_input(key="q").input("ward diagnosis").run()
    assert at.caption[0].value == "1 jeu de données trouvé pour « ward diagnosis »"
    assert at.query_params["lang"] == "fr", "a shared link keeps the language"


def test_the_search_page_speaks_english_without_lang_and_the_sidebar_switches_it(published_demo):
    at = open_page("search")
    assert not at.exception
    assert at.title[0].value == "Open government data"
    assert at.text_input(key="q").label == "Search datasets"
    assert facet(at, "updated") == ["Past 7 days (13)", "Never published (1)"]
    assert "lang" not in at.query_params
    at.selectbox(key="lang").select("fr").run()
    assert not at.exception
    assert at.title[0].value == "Données publiques ouvertes" and at.query_params["lang"] == "fr"
    at.selectbox(key="lang").select("en").run()
    assert at.title[0].value == "Open government data" and "lang" not in at.query_params


def test_an_unknown_language_is_english(published_demo):
    at = open_page("search", lang="<script>")
    assert not at.exception
    assert at.title[0].value == "Open government data" and at.selectbox(key="lang").value == "en"


def test_the_sql_page_speaks_french_with_lang_fr(published_demo):
    at = open_page("sql", lang="fr", sql='SELECT "Country Code" FROM world_gdp LIMIT 3')
    assert not at.exception and not at.error
    assert at.title[0].value == "Console SQL"
    assert at.text_area(key="sql").label == "Une requête SELECT"
    assert at.button(key="run").label == "Exécuter"
    assert at.caption[0].value.startswith("3 lignes · requête exécutée en ")
    assert at.subheader[0].value == "Tables interrogeables"
    assert "au plus 10\u202f000 lignes affichées et 10 secondes par requête" in at.markdown[0].value
    refused = open_page("sql", lang="fr", sql="DROP TABLE world_gdp")
    assert refused.error[0].value.startswith("La requête n'a pas été exécutée : ")


def test_the_sql_page_speaks_english_without_lang(published_demo):
    at = open_page("sql", sql='SELECT "Country Code" FROM world_gdp LIMIT 3')
    assert not at.exception
    assert at.title[0].value == "SQL console"
    assert at.text_area(key="sql").label == "One SELECT statement" and at.button(key="run").label == "Run"
    assert at.caption[0].value.startswith("3 rows · the query took ")
    assert "at most 10,000 rows shown and 10 seconds per query" in at.markdown[0].value
