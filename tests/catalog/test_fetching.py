"""Fetching url sources from a local server that misbehaves on purpose: retries, timeouts,
truncated bodies, wrong content types, conditional requests, refusals; then the whole flow."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest

from catalog import catalogue_db, fetching, flow
from catalog.errors import SourceError, SpecError
from catalog.spec import load_declarations
from catalog.store import Store
from tests.conftest import GOOD_ROWS

CSV = b"id,amount\n1,10\n2,20\n"


@dataclass
class Reply:
    """One scripted answer. A reply with an ``etag`` or ``last_modified`` answers 304 to a
    request whose conditional header matches it, as a real server would."""

    status: int = 200
    body: bytes = CSV
    content_type: str = "text/csv"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    claimed_length: int | None = None      # a Content-Length larger than the body: the connection then drops


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int
    body_bytes: int


class AgencyServer:
    """Serves scripted replies per path; the last reply of a script repeats."""

    def __init__(self):
        self.scripts: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.handle_error = lambda request, address: None     # a client that gave up is expected
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, path: str, *replies: Reply) -> str:
        with self.lock:
            self.scripts[path] = list(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def next_reply(self, path: str) -> Reply | None:
        with self.lock:
            script = self.scripts.get(path)
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]


def _handler_for(server: AgencyServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            reply = server.next_reply(self.path) or Reply(status=404, body=b"not here", content_type="text/plain")
            time.sleep(reply.delay)
            headers = dict(self.headers)
            status = reply.status
            if status == 200 and ((reply.etag and headers.get("If-None-Match") == reply.etag) or (
                    reply.last_modified and headers.get("If-Modified-Since") == reply.last_modified)):
                status = 304
            body = b"" if status == 304 else reply.body
            server.seen.append(Seen(self.path, headers, status, len(body)))
            self.send_response(status)
            if status != 304:
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(reply.claimed_length or len(body)))
            for name, value in {**reply.headers, "ETag": reply.etag, "Last-Modified": reply.last_modified}.items():
                if value:
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def agency():
    server = AgencyServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def fetch(url, cache, **options):
    return fetching.fetch(url, cache, backoff=0.01, format="csv", **options)


def leftovers(cache) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.endswith(".part"))


# --------------------------------------------------------------------------- retries


def test_a_500_then_a_200_is_retried_and_succeeds(agency, tmp_path):
    url = agency.serve("/payments.csv", Reply(status=500), Reply())
    got = fetch(url, tmp_path)
    assert (got.status, got.attempts, got.bytes) == ("downloaded", 2, len(CSV))
    assert got.path == tmp_path / "payments.csv" and got.path.read_bytes() == CSV


def test_a_server_that_always_fails_gets_a_clear_error_and_the_last_good_copy_is_kept(agency, tmp_path):
    url = agency.serve("/payments.csv", Reply(), Reply(status=500))
    good = fetch(url, tmp_path)
    with pytest.raises(SourceError) as error:
        fetch(url, tmp_path, retries=2)
    assert str(error.value) == (f"{url}: the server answered 500 three times; "
                                "last error: 500 Internal Server Error")
    assert len(agency.requests("/payments.csv")) == 4
    assert good.path.read_bytes() == CSV and leftovers(tmp_path) == []


def test_a_429_waits_as_long_as_the_server_asks_but_never_long(agency, tmp_path, monkeypatch):
    url = agency.serve("/slow.csv", Reply(status=429, headers={"Retry-After": "1"}), Reply())
    started = time.monotonic()
    assert fetch(url, tmp_path).attempts == 2
    assert time.monotonic() - started >= 0.9
    monkeypatch.setattr(fetching, "MAX_RETRY_AFTER", 0.2)
    url = agency.serve("/slower.csv", Reply(status=503, headers={"Retry-After": "3600"}), Reply())
    started = time.monotonic()
    assert fetch(url, tmp_path).attempts == 2
    assert time.monotonic() - started < 2


def test_a_server_slower_than_the_timeout_is_tried_again(agency, tmp_path):
    url = agency.serve("/late.csv", Reply(delay=0.8), Reply())
    got = fetch(url, tmp_path, timeout=0.3)
    assert (got.attempts, got.path.read_bytes()) == (2, CSV)
    url = agency.serve("/never.csv", Reply(delay=0.8))
    with pytest.raises(SourceError, match=r"/never\.csv: the download failed twice; last error: "
                                          r"no answer within 0\.3 s$"):
        fetch(url, tmp_path, timeout=0.3, retries=1)
    assert not (tmp_path / "never.csv").exists()


def test_a_truncated_body_is_tried_again_and_never_kept(agency, tmp_path):
    url = agency.serve("/cut.csv", Reply(body=CSV[:10], claimed_length=len(CSV)), Reply())
    assert fetch(url, tmp_path).path.read_bytes() == CSV
    url = agency.serve("/always-cut.csv", Reply(body=CSV[:10], claimed_length=len(CSV)))
    with pytest.raises(SourceError, match=rf"failed twice; last error: the connection closed after 10 of {len(CSV)} "
                                          "bytes$"):
        fetch(url, tmp_path, retries=1)
    assert not (tmp_path / "always-cut.csv").exists() and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- refusals (no retry)


def test_404_is_not_retried(agency, tmp_path):
    url = agency.url("/missing.csv")
    with pytest.raises(SourceError) as error:
        fetch(url, tmp_path)
    assert str(error.value) == f"{url}: the server answered 404 Not Found; check the address in the dataset's source.url"
    assert len(agency.requests("/missing.csv")) == 1


def test_a_web_page_instead_of_a_csv_is_refused_and_the_good_copy_kept(agency, tmp_path):
    url = agency.serve("/payments.csv", Reply(), Reply(body=b"<html>Please log in</html>",
                                                       content_type="text/html; charset=utf-8"))
    fetch(url, tmp_path)
    with pytest.raises(SourceError, match=r"the server sent text/html \(a web page: perhaps a login or error page\), "
                                          r"not a csv file; expected one of text/csv"):
        fetch(url, tmp_path)
    assert len(agency.requests("/payments.csv")) == 2
    assert (tmp_path / "payments.csv").read_bytes() == CSV


@pytest.mark.parametrize("destination", ["ftp://127.0.0.1/payments.csv", "data:text/csv,id%0A1"])
def test_a_redirect_away_from_http_is_refused(agency, tmp_path, destination):
    url = agency.serve("/moved.csv", Reply(status=302, body=b"", headers={"Location": destination}))
    with pytest.raises(SourceError, match=f"redirected to {destination}, which is not an http or https address"):
        fetch(url, tmp_path)
    assert len(agency.requests("/moved.csv")) == 1


def test_a_redirect_to_another_http_address_is_followed(agency, tmp_path):
    agency.serve("/new.csv", Reply())
    url = agency.serve("/old.csv", Reply(status=301, body=b"", headers={"Location": "/new.csv"}))
    assert fetch(url, tmp_path).path.read_bytes() == CSV


def test_only_http_and_https_addresses_are_fetched(tmp_path):
    with pytest.raises(SourceError, match=r"^ftp://data\.city\.example\.org/a\.csv: only http and https addresses "
                                          r"can be fetched$"):
        fetch("ftp://data.city.example.org/a.csv", tmp_path)


def test_a_file_over_the_size_cap_is_refused(agency, tmp_path):
    url = agency.serve("/big.csv", Reply(body=CSV * 100))
    with pytest.raises(SourceError, match=r"/big\.csv: the file is 1\.95 KiB, over the 100 bytes limit$"):
        fetch(url, tmp_path, max_bytes=100)
    assert not (tmp_path / "big.csv").exists() and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- conditional requests


def test_an_unchanged_file_is_not_downloaded_again_by_etag(agency, tmp_path):
    url = agency.serve("/payments.csv", Reply(etag='"v1"'))
    first = fetch(url, tmp_path)
    second = fetch(url, tmp_path)
    assert (first.status, second.status) == ("downloaded", "not-modified")
    assert second.path == first.path and second.etag == '"v1"' and second.path.read_bytes() == CSV
    request = agency.requests("/payments.csv")[-1]
    assert request.headers.get("If-None-Match") == '"v1"'
    assert (request.status, request.body_bytes) == (304, 0)
    agency.serve("/payments.csv", Reply(body=CSV + b"3,30\n", etag='"v2"'))
    third = fetch(url, tmp_path)
    assert (third.status, third.etag, third.path.read_bytes()) == ("downloaded", '"v2"', CSV + b"3,30\n")


def test_an_unchanged_file_is_not_downloaded_again_by_last_modified(agency, tmp_path):
    stamp = "Tue, 02 Jan 2024 10:00:00 GMT"
    url = agency.serve("/payments.csv", Reply(last_modified=stamp))
    fetch(url, tmp_path)
    again = fetch(url, tmp_path)
    assert (again.status, again.last_modified, again.bytes) == ("not-modified", stamp, len(CSV))
    request = agency.requests("/payments.csv")[-1]
    assert request.headers.get("If-Modified-Since") == stamp and "If-None-Match" not in request.headers
    assert (request.status, request.body_bytes) == (304, 0)


# --------------------------------------------------------------------------- declarations and the whole flow


def declare(declarations, source: dict):
    declarations.agency()
    declarations.dataset(source=source, files={})
    return load_declarations(declarations.root)


def test_a_url_source_is_declared_with_its_format_from_the_address(declarations):
    loaded = declare(declarations, {"url": "https://data.city.example.org/grants.csv?year=2024", "timeout": 5})
    source = loaded.datasets["grants"].source
    assert (source.url, source.path, source.format, source.timeout, source.retries) == (
        "https://data.city.example.org/grants.csv?year=2024", None, "csv", 5.0, 3)


@pytest.mark.parametrize("source, problem", [
    ({"url": "https://x.example.org/a.csv", "path": "data/*.csv"}, "source.url: give either path or url, not both"),
    ({"format": "csv"}, "source.path: missing (required); or give url"),
    ({"url": "ftp://x.example.org/a.csv"}, "source.url: 'ftp://x.example.org/a.csv' is not an http(s) address"),
    ({"url": "https://x.example.org/export"}, "source.format: cannot tell the format of 'https://x.example.org/export'"),
    ({"url": "https://x.example.org/a.csv", "retries": -1}, "source.retries: must be a whole number from 0 to 10"),
    ({"path": "data/*.csv", "timeout": 5}, "source.timeout: only applies to a source with a url"),
])
def test_a_wrong_url_source_is_refused(declarations, source, problem):
    with pytest.raises(SpecError) as error:
        declare(declarations, source)
    assert problem in str(error.value)


def test_publishing_a_url_source_then_not_modified_then_a_failing_server(agency, declarations, home):
    url = agency.serve("/grants.csv", Reply(body=GOOD_ROWS.encode(), etag='"r1"'))
    loaded = declare(declarations, {"url": url, "retries": 1, "timeout": 5})
    spec = loaded.datasets["grants"]

    first = flow.publish_delivery(loaded, spec, home)
    assert first.describe() == "published release 1 (2 rows from grants.csv)"

    again = flow.publish_delivery(loaded, spec, home)
    assert (again.status, again.release) == ("unchanged", 1)
    assert agency.requests("/grants.csv")[-1].status == 304

    agency.serve("/grants.csv", Reply(status=500))
    failed = flow.publish_delivery(loaded, spec, home)
    assert failed.status == "quarantined"
    assert failed.reason == f"{url}: the server answered 500 twice; last error: 500 Internal Server Error"
    last = Store(home).history("grants")[-1]
    assert (last.outcome, last.stage, last.reason) == ("quarantined", "pull", failed.reason)
    assert Store(home).current_release("grants").release == 1
    con = catalogue_db.open_reader(home / "catalogue.duckdb")
    assert con.execute("SELECT release, status FROM datasets WHERE id = 'grants'").fetchone() == (1, "quarantined")
    assert [p.name for p in (home / "releases" / "grants").iterdir() if not p.name.startswith(".")] == ["1"]
    assert pq.ParquetFile(home / "releases" / "grants" / "1" / "data.parquet").metadata.num_rows == 2
    assert (home / "downloads" / "grants" / "grants.csv").read_text() == GOOD_ROWS


def test_a_source_that_recovers_unchanged_ends_its_quarantine_and_a_new_failure_starts_another(
        agency, declarations, home):
    url = agency.serve("/grants.csv", Reply(body=GOOD_ROWS.encode(), etag='"r1"'))
    loaded = declare(declarations, {"url": url, "retries": 1, "timeout": 5})
    spec = loaded.datasets["grants"]

    def status() -> tuple:
        con = catalogue_db.open_reader(home / "catalogue.duckdb")
        try:
            return con.execute("SELECT release, status FROM datasets WHERE id = 'grants'").fetchone()
        finally:
            con.close()

    assert flow.publish_delivery(loaded, spec, home).status == "published"
    agency.serve("/grants.csv", Reply(status=500))
    assert flow.publish_delivery(loaded, spec, home).status == "quarantined"
    assert status() == (1, "quarantined")

    agency.serve("/grants.csv", Reply(body=GOOD_ROWS.encode(), etag='"r1"'))
    recovered = flow.publish_delivery(loaded, spec, home)
    assert (recovered.status, recovered.release) == ("unchanged", 1)
    assert agency.requests("/grants.csv")[-1].status == 304
    assert status() == (1, "published")
    assert Store(home).history("grants")[-1].outcome == "confirmed"

    agency.serve("/grants.csv", Reply(status=500))
    assert flow.publish_delivery(loaded, spec, home).status == "quarantined"
    assert status() == (1, "quarantined")
