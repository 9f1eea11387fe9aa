"""What keeps the API up under load and abuse, as ASGI middleware, and how /openapi.json tells of it.

Outermost first, every request meets:

    SecurityHeaders   nosniff, no framing, no referrer, a deny-all CSP, HSTS over https
    RateLimit         a token bucket per client: 429 with Retry-After once it is empty, or when the
                      client already has too many requests in flight
    CORS              any origin may GET, HEAD and POST (no credentials), and read the headers
    RequestLimits     414 for an over-long address, 400 for too many query parameters, 413 for a
                      body over the limit (told by Content-Length, or counted when chunked)

Each limit comes from the environment, read when the app is built:

    GOVCAT_API_RATE         requests a minute per client (default 120; 0 turns the limit off)
    GOVCAT_API_BURST        requests a client may make at once before the rate applies (default 30)
    GOVCAT_API_CONCURRENT   requests per client in flight at the same time (default 4; 0: no limit)
    GOVCAT_API_MAX_BODY     bytes in a request body (default 1048576)
    GOVCAT_API_MAX_URL      bytes in the path and query string together (default 8192)

A client is its IP address, an IPv6 client its /64 network (one host usually holds a whole /64).
uvicorn takes the address from X-Forwarded-For when the request comes from a proxy it trusts
(127.0.0.1 and ::1, or those in ``FORWARDED_ALLOW_IPS``); name a proxy elsewhere there, or every
client shares the proxy's bucket. Buckets live in the process: with several workers, each worker
counts on its own.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.errors import CatalogError

RATE_ENV = "GOVCAT_API_RATE"
BURST_ENV = "GOVCAT_API_BURST"
CONCURRENT_ENV = "GOVCAT_API_CONCURRENT"
MAX_BODY_ENV = "GOVCAT_API_MAX_BODY"
MAX_URL_ENV = "GOVCAT_API_MAX_URL"
MAX_PARAMETERS = 256
UNLIMITED_PATHS = frozenset({"/healthz"})          # load balancers ask often; it reads nothing
MAX_TRACKED_CLIENTS = 100_000                      # beyond this the longest-idle bucket is forgotten
CORS_METHODS = ["GET", "HEAD", "POST", "OPTIONS"]
EXPOSED_HEADERS = ["*", "Content-Disposition", "Content-Location", "ETag", "Digest", "Repr-Digest",
                   "X-Checksum-SHA256", "Retry-After", "Link", "X-Total-Count", "X-Query"]
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-resource-policy": "cross-origin",   # the data is meant to be fetched from anywhere
}
HSTS = "max-age=31536000"
DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Limits:
    per_minute: float = 120       # some answers cost a tenth of a second of CPU: 120 of them, a fifth of a core
    burst: int = 30
    concurrent: int = 4
    max_body: int = 1_048_576
    max_url: int = 8192
    max_parameters: int = MAX_PARAMETERS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Limits":
        """The limits the environment sets, the defaults for the rest; a clear error for a bad value."""
        default = cls()
        return cls(per_minute=_number(environ, RATE_ENV, default.per_minute),
                   burst=int(_number(environ, BURST_ENV, default.burst, minimum=1, whole=True)),
                   concurrent=int(_number(environ, CONCURRENT_ENV, default.concurrent, whole=True)),
                   max_body=int(_number(environ, MAX_BODY_ENV, default.max_body, whole=True)),
                   max_url=int(_number(environ, MAX_URL_ENV, default.max_url, minimum=64, whole=True)))


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float = 0,
            whole: bool = False) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise CatalogError(f"{name}={raw!r} is not {kind} of at least {minimum:g}")
    return value


def install(app: FastAPI, limits: Limits | None = None) -> Limits:
    """Put the guards around ``app`` and describe them in its OpenAPI document."""
    limits = limits or Limits.from_env()
    app.add_middleware(RequestLimits, limits=limits)            # innermost
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=CORS_METHODS, allow_headers=["*"],
                       allow_credentials=False, expose_headers=EXPOSED_HEADERS, max_age=3600)
    app.add_middleware(RateLimit, limits=limits)
    app.add_middleware(SecurityHeaders)                         # outermost
    describe(app, limits)
    return limits


def client_key(scope: Scope) -> str:
    """Whom a request is counted against: its IP address, or the /64 an IPv6 address is in."""
    client = scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class TokenBuckets:
    """One bucket per client, ``burst`` tokens deep, refilled at ``per_minute``; a request takes one."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_TRACKED_CLIENTS):
        self.per_second = per_minute / 60
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()   # client -> (tokens, when)

    def take(self, client: str) -> float:
        """0 if ``client`` may go ahead (a token is spent), else the seconds until it may."""
        now = self.clock()
        tokens, then = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.per_second
        self._buckets[client] = (tokens, now)       # most recently seen last
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)       # idle longest, so most likely full again anyway
        return wait


class RateLimit:
    def __init__(self, app: ASGIApp, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.limits = limits
        self.buckets = TokenBuckets(limits.per_minute, limits.burst, clock) if limits.per_minute > 0 else None
        self.in_flight: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            return await self.app(scope, receive, send)
        client = client_key(scope)
        running = self.in_flight.get(client, 0)
        if self.limits.concurrent and running >= self.limits.concurrent:
            return await _too_many(scope, receive, send, 1, f"too many requests at once: at most "
                                   f"{self.limits.concurrent} from one client; wait for one to finish")
        wait = self.buckets.take(client) if self.buckets is not None else 0
        if wait:
            seconds = max(1, math.ceil(wait))
            return await _too_many(scope, receive, send, seconds, f"too many requests: at most "
                                   f"{self.limits.per_minute:g} a minute from one client; try again in "
                                   f"{seconds} s")
        self.in_flight[client] = running + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.in_flight[client] - 1
            if left:
                self.in_flight[client] = left
            else:
                del self.in_flight[client]


async def _too_many(scope: Scope, receive: Receive, send: Send, seconds: int, message: str) -> None:
    # Outside CORS, so it says itself that any page may read it.
    response = JSONResponse({"error": message, "retry_after": seconds}, status_code=429, headers={
        "Retry-After": str(seconds), "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Retry-After"})
    await response(scope, receive, send)


class RequestLimits:
    def __init__(self, app: ASGIApp, limits: Limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limits = self.limits
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        if len(path) + len(query) > limits.max_url:
            return await _refuse(scope, receive, send, 414, f"the address is too long: at most "
                                 f"{limits.max_url} bytes of path and query string")
        if query and query.count(b"&") + 1 > limits.max_parameters:
            return await _refuse(scope, receive, send, 400, f"too many query parameters: at most "
                                 f"{limits.max_parameters}")
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None:
            if not DIGITS.fullmatch(length.strip()):
                return await _refuse(scope, receive, send, 400, "Content-Length is not a number")
            if len(length.strip()) > 18 or int(length) > limits.max_body:
                return await self._too_large(scope, receive, send)
            return await self.app(scope, receive, send)
        if "transfer-encoding" not in headers:
            return await self.app(scope, receive, send)
        # A chunked body: read it here, up to the limit, and hand it on whole.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limits.max_body:
                return await self._too_large(scope, receive, send)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _refuse(scope, receive, send, 413, f"the request body is too large: at most "
                      f"{self.limits.max_body} bytes")


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    await JSONResponse({"error": message}, status_code=status, headers={"Connection": "close"})(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if secure:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The OpenAPI document: what every operation may also answer, because of the guards above.

ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["error"],
                "properties": {"error": {"type": "string", "description": "What went wrong, for people"}}}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# The app's own 400s and 404s: {"error": "..."}, or under /api/3/ CKAN's {"success": false, "error": {...}}.
REFUSAL = {"type": "object", "required": ["error"]}


def describe(app: FastAPI, limits: Limits) -> None:
    """Make ``app.openapi()`` tell of the limits, and of errors as ``{"error": ...}`` with a 400 where
    FastAPI would say 422 (the app answers a request that does not validate with a 400)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = amend(plain(), limits)
        return app.openapi_schema

    app.openapi = openapi


def amend(schema: dict[str, Any], limits: Limits) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    info = schema.setdefault("info", {})
    info["description"] = "\n\n".join(filter(None, [info.get("description"), limits_text(limits)]))
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "head", "post", "put", "patch", "delete", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            invalid = responses.get("422")
            if invalid is not None and "HTTPValidationError" in str(invalid):
                del responses["422"]
            responses.setdefault("400", _error_response("The request is not valid", REFUSAL))
            if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
                responses.setdefault("404", _error_response("Nothing public goes by that name", REFUSAL))
            responses.setdefault("413", _error_response(f"The body is over {limits.max_body} bytes"))
            responses.setdefault("414", _error_response(f"The path and query string are over "
                                                        f"{limits.max_url} bytes"))
            if limits.per_minute > 0 or limits.concurrent:
                too_many = _error_response("Too many requests from this client: wait as long as "
                                           "Retry-After says")
                too_many["headers"] = {"Retry-After": {"description": "Seconds to wait",
                                                       "schema": {"type": "integer", "minimum": 1}}}
                responses.setdefault("429", too_many)
    _drop_unused(schema, ["HTTPValidationError", "ValidationError"])
    return schema


def limits_text(limits: Limits) -> str:
    parts = []
    if limits.per_minute > 0:
        parts.append(f"Each client may make {limits.per_minute:g} requests a minute, {limits.burst} at once")
    if limits.concurrent:
        parts.append(f"{'and' if parts else 'Each client may have'} {limits.concurrent} in flight at a time")
    text = (" ".join(parts) + "; beyond that the answer is 429 with Retry-After. ") if parts else ""
    return (text + f"Bodies may hold {limits.max_body} bytes, the path and query string {limits.max_url}. "
            f"Every error is JSON: {{\"error\": \"...\"}}. Any origin may call the API (CORS, no credentials).")


def _error_response(description: str, schema: dict[str, Any] = ERROR_REF) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _drop_unused(schema: dict[str, Any], names: list[str]) -> None:
    """Remove the named component schemas nothing refers to any more, in order."""
    components = schema.get("components", {}).get("schemas", {})
    for name in names:
        if name in components:
            elsewhere = {**schema, "components": {**schema["components"], "schemas": {
                key: value for key, value in components.items() if key != name}}}
            if f"#/components/schemas/{name}'" not in str(elsewhere):
                del components[name]
