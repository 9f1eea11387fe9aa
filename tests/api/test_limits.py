"""The API under load and abuse: rate limits per client, size limits, CORS and security headers."""

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from catalog.api import create_app
from catalog.api.middleware import Limits, RateLimit, RequestLimits, TokenBuckets, client_key
from catalog.errors import CatalogError


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The real app with a small bucket: three requests at once, then one every ten seconds."""
    monkeypatch.setenv("GOVCAT_API_RATE", "6")
    monkeypatch.setenv("GOVCAT_API_BURST", "3")
    monkeypatch.setenv("GOVCAT_API_MAX_BODY", "1000")
    monkeypatch.setenv("GOVCAT_API_MAX_URL", "600")
    return create_app(tmp_path)


def test_a_client_over_its_rate_gets_429_with_retry_after_while_others_carry_on(app):
    client = TestClient(app)
    assert [client.get("/downloads/nothing.csv").status_code for _ in range(3)] == [404, 404, 404]
    refused = client.get("/downloads/nothing.csv")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    assert refused.json()["error"].startswith("too many requests: at most 6 a minute")
    assert refused.headers["access-control-allow-origin"] == "*"
    assert refused.headers["x-content-type-options"] == "nosniff"
    neighbour = TestClient(app, client=("198.51.100.7", 40000))
    assert neighbour.get("/downloads/nothing.csv").status_code == 404
    assert client.get("/healthz").status_code == 200     # health checks are never refused


def test_a_bucket_refills_at_the_rate_and_never_beyond_the_burst():
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0, 0]
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] = 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert buckets.take("a") == 0 and buckets.take("a") == pytest.approx(1.0)
    now[0] = 1000.0
    assert [buckets.take("a"), buckets.take("a")] == [0, 0] and buckets.take("a") > 0


def test_buckets_stay_bounded_however_many_clients_come():
    buckets = TokenBuckets(per_minute=60, burst=1, clock=lambda: 0.0, max_clients=100)
    for n in range(1000):
        buckets.take(f"client-{n}")
    assert len(buckets._buckets) == 100


@pytest.mark.parametrize("host,key", [
    ("203.0.113.5", "203.0.113.5"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),    # the same /64: the same client
    ("::ffff:203.0.113.5", "203.0.113.5"),
    ("testclient", "testclient"),
])
def test_a_client_is_its_address_or_its_ipv6_network(host, key):
    assert client_key({"client": (host, 1)}) == key


def test_too_many_requests_in_flight_from_one_client_are_refused_until_one_ends():
    release = asyncio.Event()

    async def slow(request):
        await release.wait()
        return JSONResponse({"done": True})

    app = RateLimit(Starlette(routes=[Route("/slow", slow)]), Limits(per_minute=0, concurrent=2))

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            first = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
            await asyncio.sleep(0.05)
            refused = await client.get("/slow")
            release.set()
            done = await asyncio.gather(*first)
            again = await client.get("/slow")
            return refused, done, again

    refused, done, again = asyncio.run(scenario())
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "too many requests at once" in refused.json()["error"]
    assert [r.status_code for r in done] == [200, 200] and again.status_code == 200
    assert app.in_flight == {}


def test_a_body_over_the_limit_is_refused_whether_its_length_is_told_or_not(app):
    client = TestClient(app)
    told = client.post("/healthz", content=b"x" * 1001)
    chunked = client.post("/healthz", content=iter([b"x" * 600, b"x" * 600]))
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    for answer in (told, chunked):
        assert answer.status_code == 413
        assert answer.json() == {"error": "the request body is too large: at most 1000 bytes"}


def test_a_chunked_body_within_the_limit_reaches_the_endpoint_whole():
    async def echo(request):
        body = await request.body()
        return JSONResponse({"bytes": len(body), "head": body[:3].decode()})

    app = RequestLimits(Starlette(routes=[Route("/echo", echo, methods=["POST"])]), Limits(max_body=1000))
    answer = TestClient(app).post("/echo", content=iter([b"abc" * 100, b"d" * 700]))
    assert answer.status_code == 200 and answer.json() == {"bytes": 1000, "head": "abc"}


def test_an_over_long_address_or_too_many_parameters_are_refused(app):
    client = TestClient(app)
    long_path = client.get("/downloads/" + "a" * 600 + ".csv")
    assert long_path.status_code == 414 and "the address is too long" in long_path.json()["error"]
    long_query = client.get("/healthz?q=" + "a" * 600)
    assert long_query.status_code == 414
    many = client.get("/downloads/x.csv?" + "&".join("a" * 257))
    assert many.status_code == 400 and many.json() == {"error": "too many query parameters: at most 256"}


def test_browsers_on_any_origin_may_read_the_api_without_credentials(app):
    client = TestClient(app)
    simple = client.get("/downloads/nothing.csv", headers={"Origin": "https://maps.example.org"})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in simple.headers
    assert "ETag" in simple.headers["access-control-expose-headers"]
    preflight = client.options("/healthz", headers={
        "Origin": "https://maps.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert "access-control-allow-credentials" not in preflight.headers


def test_every_answer_carries_the_security_headers_and_https_adds_hsts(app):
    for answer in (TestClient(app).get("/healthz"), TestClient(app).get("/downloads/nothing.csv")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "strict-transport-security" not in answer.headers
    secure = TestClient(app, base_url="https://api.example.org").get("/healthz")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"


def test_limits_come_from_the_environment_and_a_bad_value_is_named():
    limits = Limits.from_env({"GOVCAT_API_RATE": "120", "GOVCAT_API_BURST": "10", "GOVCAT_API_MAX_BODY": "5000"})
    assert (limits.per_minute, limits.burst, limits.max_body, limits.max_url) == (120, 10, 5000, 8192)
    assert Limits.from_env({"GOVCAT_API_RATE": "0"}).per_minute == 0
    with pytest.raises(CatalogError, match="GOVCAT_API_RATE='fast' is not a number"):
        Limits.from_env({"GOVCAT_API_RATE": "fast"})
    with pytest.raises(CatalogError, match="GOVCAT_API_BURST='0' is not a whole number of at least 1"):
        Limits.from_env({"GOVCAT_API_BURST": "0"})


def test_with_the_rate_limit_off_a_client_is_never_refused_for_rate(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCAT_API_RATE", "0")
    client = TestClient(create_app(tmp_path))
    assert {client.get("/downloads/nothing.csv").status_code for _ in range(200)} == {404}
