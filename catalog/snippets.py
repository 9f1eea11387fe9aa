"""Copyable code that fetches a dataset from the HTTP API: Python, R and the command line.

The API's address comes from ``GOVCAT_API_URL`` (default ``http://127.0.0.1:8000``), read
when a snippet is made, never at import time. A snippet for a numbered release names it
(``<dataset>@<n>``), so the code keeps fetching exactly those rows after a new release, and
the command-line one checks the file against the checksum the page shows.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from catalog.errors import CatalogError

API_URL_ENV = "GOVCAT_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str  # as st.code names it
    code: str


def api_url(explicit: str | None = None) -> str:
    """Where the API is served: ``explicit``, else $GOVCAT_API_URL, else the default."""
    chosen = explicit or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in chosen):
        raise CatalogError(f"the API address {chosen[:100]!r} ({API_URL_ENV}) must start with http:// or "
                           f"https:// and name a host")
    return chosen.rstrip("/")


def download_url(dataset_id: str, fmt: str, release: int | None = None, base_url: str | None = None) -> str:
    """The API address of a dataset's current release (``release`` None) or of release ``release``."""
    name = quote(dataset_id, safe="") + (f"@{int(release)}" if release is not None else "")
    return f"{api_url(base_url)}/downloads/{name}.{quote(fmt, safe='')}"


def file_name(dataset_id: str, fmt: str, release: int) -> str:
    """The name the API gives release ``release`` in ``fmt`` (its Content-Disposition)."""
    return f"{dataset_id}-release-{int(release)}.{fmt}"


def snippets(dataset_id: str, release: int | None = None, checksums: dict[str, str] | None = None,
             base_url: str | None = None) -> list[Snippet]:
    """Python, R and shell code fetching the dataset. ``release``: pin that release (reproducible);
    ``checksums``: SHA-256 per format, for the shell snippet to check the file by."""
    def url(fmt: str, pinned: bool = True) -> str:
        return download_url(dataset_id, fmt, release if pinned else None, base_url)

    which = (f"release {int(release)} of {dataset_id}, as published" if release is not None
             else f"the latest release of {dataset_id}")
    latest = f"\n# (always the latest: {url('csv', pinned=False)})" if release is not None else ""
    python = "\n".join([
        "import pandas as pd",
        "",
        f"# {which}{latest}",
        f"df = pd.read_csv({_literal(url('csv'))})",
        "",
        "# the same rows with their column types (dates, integers) kept; needs pyarrow",
        f"df = pd.read_parquet({_literal(url('parquet'))})",
    ])
    r = "\n".join([
        f"# {which}{latest}",
        f"data <- read.csv({_literal(url('csv'))}, fileEncoding = \"UTF-8\")",
        "",
        "# the same rows with their column types kept; needs install.packages(\"arrow\")",
        f"data <- arrow::read_parquet({_literal(url('parquet'))})",
    ])
    checksum = (checksums or {}).get("csv")
    if release is not None:
        target = file_name(dataset_id, "csv", release)
        fetch = f"curl -fL -o {shlex.quote(target)} {shlex.quote(url('csv'))}"
    else:  # saved under the name the API gives it, which is the one its checksum line names
        fetch = f"curl -fLOJ {shlex.quote(url('csv'))}"
    check = (f"echo {shlex.quote(f'{checksum}  {target}')} | sha256sum -c -" if checksum and release is not None
             else f"curl -fsS {shlex.quote(url('csv') + '.sha256')} | sha256sum -c -")
    shell = "\n".join([
        f"# {which}, then check it is exactly the published file",
        fetch,
        check,
        "",
        "# other formats: .parquet, .json, .xlsx, .zip (a Frictionless data package)",
    ])
    return [Snippet("Python (pandas)", "python", python), Snippet("R", "r", r),
            Snippet("Command line (curl, sha256sum)", "bash", shell)]


def _literal(text: str) -> str:
    """A double-quoted string literal that Python and R both read back as ``text``."""
    return json.dumps(text)
