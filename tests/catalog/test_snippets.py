"""Copyable code for Python, R and the shell, pointed at the API named by GOVCAT_API_URL."""

import ast
import shlex

import pytest

from catalog import snippets
from catalog.errors import CatalogError


@pytest.fixture(autouse=True)
def no_configured_api(monkeypatch):
    monkeypatch.delenv(snippets.API_URL_ENV, raising=False)


def by_title(found) -> dict[str, snippets.Snippet]:
    return {s.title.split(" ")[0]: s for s in found}


def test_without_configuration_the_snippets_use_the_local_api():
    python = by_title(snippets.snippets("world_gdp", 3))["Python"].code
    assert 'pd.read_csv("http://127.0.0.1:8000/downloads/world_gdp@3.csv")' in python
    assert 'pd.read_parquet("http://127.0.0.1:8000/downloads/world_gdp@3.parquet")' in python


def test_the_api_address_comes_from_the_environment_when_the_snippet_is_made(monkeypatch):
    monkeypatch.setenv(snippets.API_URL_ENV, "https://data.example.org/api/")
    found = by_title(snippets.snippets("world_gdp", 3))
    assert 'read.csv("https://data.example.org/api/downloads/world_gdp@3.csv", fileEncoding = "UTF-8")' in \
        found["R"].code
    assert 'arrow::read_parquet("https://data.example.org/api/downloads/world_gdp@3.parquet")' in found["R"].code
    assert snippets.download_url("world_gdp", "zip") == "https://data.example.org/api/downloads/world_gdp.zip"


@pytest.mark.parametrize("address", ["ftp://example.org", "example.org", "http://", "http://exa mple.org",
                                     "javascript:alert(1)"])
def test_a_bad_api_address_is_refused_with_the_setting_named(monkeypatch, address):
    monkeypatch.setenv(snippets.API_URL_ENV, address)
    with pytest.raises(CatalogError, match="GOVCAT_API_URL"):
        snippets.snippets("world_gdp", 1)


def test_the_python_snippet_is_valid_python_and_names_the_latest_address_too():
    code = by_title(snippets.snippets("world_gdp", 3))["Python"].code
    ast.parse(code)
    assert "always the latest: http://127.0.0.1:8000/downloads/world_gdp.csv" in code


def test_the_shell_snippet_checks_the_file_against_the_checksum_shown():
    checksum = "ab" * 32
    shell = by_title(snippets.snippets("world_gdp", 3, {"csv": checksum}))["Command"].code
    lines = [line for line in shell.splitlines() if line and not line.startswith("#")]
    assert shlex.split(lines[0]) == ["curl", "-fL", "-o", "world_gdp-release-3.csv",
                                     "http://127.0.0.1:8000/downloads/world_gdp@3.csv"]
    assert lines[1] == f"echo '{checksum}  world_gdp-release-3.csv' | sha256sum -c -"


def test_without_a_release_the_snippets_follow_the_latest_and_check_against_the_api():
    found = by_title(snippets.snippets("world_gdp"))
    assert "world_gdp@" not in found["Python"].code + found["R"].code + found["Command"].code
    assert "curl -fsS http://127.0.0.1:8000/downloads/world_gdp.csv.sha256 | sha256sum -c -" in found["Command"].code


def test_an_address_with_shell_characters_stays_one_word_in_the_shell(monkeypatch):
    monkeypatch.setenv(snippets.API_URL_ENV, "http://example.org/a;b$(x)")
    shell = by_title(snippets.snippets("world_gdp", 1))["Command"].code
    fetch = next(line for line in shell.splitlines() if line.startswith("curl"))
    assert shlex.split(fetch)[-1] == "http://example.org/a;b$(x)/downloads/world_gdp@1.csv"
