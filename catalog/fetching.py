"""Downloading an agency's file over HTTP(S) into a local cache, politely and safely.

``fetch`` keeps one file per address in a cache folder, beside a small JSON note of the
server's ETag and Last-Modified, and asks again with If-None-Match / If-Modified-Since, so
an unchanged file is not downloaded twice. The body is streamed into a temporary file
and renamed over the cached copy only once it is complete: a failed download never
replaces the last good copy.

Connection errors, timeouts, truncated bodies and the answers 408, 429 and 5xx are tried
again, with exponential backoff; any other refusal (404, a login page served as HTML, a
redirect away from http(s), a file over the size cap) fails at once. Every failure is a
``SourceError`` that names the address and says what happened.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import os
import random
import re
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from catalog.errors import SourceError
from catalog.files import write_atomically

SCHEMES = ("http", "https")
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
MAX_RETRY_AFTER = 5.0          # seconds: a longer Retry-After is not waited for in full
MAX_BACKOFF = 60.0             # seconds between two attempts, before jitter
CHUNK = 1 << 20
STALE_PART_SECONDS = 3600
USER_AGENT = "govcat (open data catalogue)"

SUFFIXES = {"csv": (".csv", ".tsv", ".txt"), "xlsx": (".xlsx", ".xlsm"), "json": (".json",), "xml": (".xml",)}
ANY_FILE = ("application/octet-stream", "binary/octet-stream")
CONTENT_TYPES = {
    "csv": ("text/csv", "text/plain", "application/csv", "text/x-csv", "application/x-csv",
            "text/tab-separated-values", "application/vnd.ms-excel", *ANY_FILE),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel",
             "application/zip", "application/x-zip-compressed", *ANY_FILE),
    "json": ("application/json", "text/json", "application/x-json", "text/plain", *ANY_FILE),
    "xml": ("application/xml", "text/xml", "text/plain", *ANY_FILE),
}
STRUCTURED_SUFFIX = {"json": "+json", "xml": "+xml"}   # application/geo+json, application/atom+xml ...
RETRIED_STATUSES = (408, 429)
COUNTS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


@dataclass(frozen=True)
class Fetched:
    """The local copy of a remote file after one ``fetch``."""

    path: Path
    status: str                  # "downloaded" | "not-modified"
    etag: str | None
    last_modified: str | None
    bytes: int
    attempts: int


class _Retryable(Exception):
    """One attempt failed in a way that may pass; ``wait`` is what the server asked for, if anything."""

    def __init__(self, message: str, status: int | None = None, wait: float | None = None):
        super().__init__(message)
        self.status, self.wait = status, wait


def cached_path(url: str, cache_dir: Path, format: str | None = None) -> Path:
    """Where the body of ``url`` is kept in ``cache_dir``: named after the last part of its path,
    with the format's extension added when the name has none that fits."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "download"
    if format in SUFFIXES and not name.lower().endswith(SUFFIXES[format]):
        name = f"{name}.{format}"
    return Path(cache_dir) / name


def fetch(url: str, cache_dir: Path, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
          format: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, opener: Any = None) -> Fetched:
    """Bring the file at ``url`` into ``cache_dir``, downloading it only if it changed.

    ``timeout`` is how long one attempt may wait for the server (to connect, or for the next
    bytes); ``retries`` is how many more attempts follow a failure that may pass. ``format``
    (csv, xlsx, json, xml), when given, refuses a body of the wrong content type. ``opener``
    replaces the ``urllib.request`` opener (it needs ``open(request, timeout=...)``).
    """
    _check_scheme(url)
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SourceError(f"{url}: cannot create the download folder {cache_dir}: {error.strerror or error}") from None
    target = cached_path(url, cache_dir, format)
    _sweep_stale_parts(target)
    opener = opener or build_opener()
    failures: list[_Retryable] = []
    for attempt in range(1, retries + 2):
        try:
            return _attempt(url, target, opener, timeout, format, max_bytes, attempt)
        except _Retryable as failure:
            failures.append(failure)
        if attempt <= retries:
            time.sleep(_delay(backoff, attempt, failures[-1].wait))
    raise SourceError(_gave_up(url, failures))


def build_opener() -> urllib.request.OpenerDirector:
    """An opener that follows redirects only to http and https addresses."""
    return urllib.request.build_opener(_HttpOnlyRedirects())


# --------------------------------------------------------------------------- one attempt


def _attempt(url: str, target: Path, opener: Any, timeout: float, format: str | None, max_bytes: int,
             attempt: int) -> Fetched:
    known = _read_validators(url, target)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                                                   **_conditional_headers(known)})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        with error:
            return _refused(url, target, error, known, attempt)
    except TimeoutError:
        raise _Retryable(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLCertVerificationError):
            raise SourceError(f"{url}: the server's certificate cannot be trusted "
                              f"({error.reason.verify_message})") from None
        raise _Retryable(_connection_problem(error.reason, timeout)) from None
    except (http.client.HTTPException, OSError) as error:
        raise _Retryable(_connection_problem(error, timeout)) from None
    with response:
        _check_content_type(url, response.headers.get("Content-Type"), format)
        expected = _content_length(response.headers)
        if expected is not None and expected > max_bytes:
            raise SourceError(f"{url}: the file is {_size(expected)}, over the {_size(max_bytes)} limit")
        received = _stream_into_place(url, response, target, expected, timeout, max_bytes)
    etag, last_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    _write_validators(target, url, etag, last_modified)
    return Fetched(path=target, status="downloaded", etag=etag, last_modified=last_modified,
                   bytes=received, attempts=attempt)


def _refused(url: str, target: Path, error: urllib.error.HTTPError, known: dict, attempt: int) -> Fetched:
    """Handle an answer other than 2xx: not modified, worth another try, or a plain refusal."""
    status, reason = error.code, (error.reason or http.client.responses.get(error.code, "")).strip()
    if status == 304:
        if not known:
            raise SourceError(f"{url}: the server answered 304 Not Modified to a request for the whole file")
        etag = error.headers.get("ETag") or known.get("etag")
        last_modified = error.headers.get("Last-Modified") or known.get("last_modified")
        if (etag, last_modified) != (known.get("etag"), known.get("last_modified")):
            _write_validators(target, url, etag, last_modified)
        return Fetched(path=target, status="not-modified", etag=etag, last_modified=last_modified,
                       bytes=target.stat().st_size, attempts=attempt)
    answered = f"{status} {reason}".strip()
    if status >= 500 or status in RETRIED_STATUSES:
        raise _Retryable(answered, status=status, wait=_retry_after(error.headers.get("Retry-After")))
    hint = {401: "; the file needs a login, and govcat only fetches public files",
            403: "; the server refuses access, and govcat only fetches public files",
            404: "; check the address in the dataset's source.url",
            410: "; check the address in the dataset's source.url"}.get(status, "")
    raise SourceError(f"{url}: the server answered {answered}{hint}")


def _stream_into_place(url: str, response: Any, target: Path, expected: int | None, timeout: float,
                       max_bytes: int) -> int:
    """Write the body to a temporary file; rename it over ``target`` only when it is whole."""
    part: Path | None = None
    received = 0
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".part",
                                         delete=False) as handle:
            part = Path(handle.name)
            while chunk := _read_chunk(response, received, expected, timeout):
                received += len(chunk)
                if received > max_bytes:
                    raise SourceError(f"{url}: the file is larger than the {_size(max_bytes)} limit")
                handle.write(chunk)
            if expected is not None and received < expected:
                raise _Retryable(_truncated(received, expected))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except OSError as error:  # reading errors are already _Retryable: this is the local disk
        raise SourceError(f"{url}: could not write the download into {target.parent.name}/: "
                          f"{error.strerror or error}") from None
    finally:
        if part is not None:
            part.unlink(missing_ok=True)
    return received


def _read_chunk(response: Any, received: int, expected: int | None, timeout: float) -> bytes:
    try:
        return response.read(CHUNK)
    except TimeoutError:
        raise _Retryable(f"the server stopped sending for {timeout:g} s after {_size(received)}") from None
    except http.client.IncompleteRead as error:
        raise _Retryable(_truncated(received + len(error.partial), expected)) from None
    except (http.client.HTTPException, OSError) as error:
        raise _Retryable(_connection_problem(error, timeout)) from None


# --------------------------------------------------------------------------- validators (ETag, Last-Modified)


def _validators_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.http.json")


def _read_validators(url: str, target: Path) -> dict:
    """What the server said about the cached copy, when that copy is still the one it describes."""
    try:
        note = json.loads(_validators_path(target).read_text())
        size = target.stat().st_size
    except (OSError, ValueError):
        return {}
    if not isinstance(note, dict) or note.get("url") != url or note.get("bytes") != size:
        return {}
    return {k: note[k] for k in ("etag", "last_modified") if note.get(k)}


def _write_validators(target: Path, url: str, etag: str | None, last_modified: str | None) -> None:
    note = {"url": url, "etag": etag, "last_modified": last_modified, "bytes": target.stat().st_size}
    write_atomically(_validators_path(target), json.dumps(note, indent=2))


def _conditional_headers(known: dict) -> dict[str, str]:
    headers = {}
    if known.get("etag"):
        headers["If-None-Match"] = known["etag"]
    if known.get("last_modified"):
        headers["If-Modified-Since"] = known["last_modified"]
    return headers


# --------------------------------------------------------------------------- checks and words


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http or https address."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("Location") or headers.get("URI")
        if location:
            destination = urljoin(req.full_url, location)
            if urlsplit(destination).scheme.lower() not in SCHEMES:
                fp.close()
                raise SourceError(f"{req.full_url}: the server redirected to {destination}, "
                                  "which is not an http or https address; refused")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise SourceError(f"{url}: only http and https addresses can be fetched")
    try:
        parts.port
    except ValueError:
        raise SourceError(f"{url}: the port is not a number between 0 and 65535") from None


def _check_content_type(url: str, header: str | None, format: str | None) -> None:
    """Refuse a body that cannot be the declared format, such as a login page served with 200."""
    if format not in CONTENT_TYPES or not header:
        return
    kind = header.split(";", 1)[0].strip().lower()
    suffix = STRUCTURED_SUFFIX.get(format)
    if kind in CONTENT_TYPES[format] or (suffix and kind.endswith(suffix)):
        return
    looks_like = " (a web page: perhaps a login or error page)" if kind in ("text/html", "application/xhtml+xml") else ""
    raise SourceError(f"{url}: the server sent {kind}{looks_like}, not a {format} file; "
                      f"expected one of {', '.join(CONTENT_TYPES[format])}")


def _content_length(headers: Any) -> int | None:
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        return None
    try:
        length = int(headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def _retry_after(value: str | None) -> float | None:
    """Seconds the server asked us to wait (a number or an HTTP date), at most a few seconds."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if email.utils.parsedate_tz(value) else None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else None


def _delay(backoff: float, attempt: int, asked: float | None) -> float:
    """Exponential backoff with a little jitter, or what the server asked for if that is longer."""
    delay = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF) * (1 + random.uniform(0, 0.2))
    return max(delay, asked or 0.0)


def _connection_problem(reason: Any, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, socket.gaierror):
        return "the host name could not be resolved"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(reason, ConnectionError):
        return "the connection was broken"
    return f"could not connect ({reason})"


def _truncated(received: int, expected: int | None) -> str:
    of = f" of {expected}" if expected is not None else ""
    return f"the connection closed after {received}{of} bytes"


def _gave_up(url: str, failures: list[_Retryable]) -> str:
    times = COUNTS.get(len(failures), f"{len(failures)} times")
    last = failures[-1]
    statuses = {f.status for f in failures}
    if len(statuses) == 1 and last.status is not None:
        return f"{url}: the server answered {last.status} {times}; last error: {last}"
    return f"{url}: the download failed {times}; last error: {last}"


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def _sweep_stale_parts(target: Path) -> None:
    """Remove temporary files that downloads killed long ago left behind."""
    cutoff = time.time() - STALE_PART_SECONDS
    for part in target.parent.glob(f".{target.name}.*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except OSError:
            pass
