"""A restricted dataset is invisible through every endpoint the app serves: asked for by its id, in any
path or query parameter or body, each answer is the one a dataset that never existed gets, word for
word; and nothing the app answers names it, its title or its legal basis."""

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Route

from catalog.api import create_app
from catalog.api.ckan import ACTIONS
from tests.api.ledger import published_home

SECRET = "casefiles"          # restricted, shared with the county only
TWIN = "casefilez"            # never existed; one letter away, so a "did you mean" would show the secret
MARKS = ["Case files", "DSA-2026-04", "Data sharing agreement"]
PARAMETERS = ["id", "name", "resource_id", "q", "fq", "sql", "dataset", "dataset_id", "table"]
BODY_PARAMETERS = ["id", "resource_id", "sql"]      # a POST's JSON body goes the way its query string does


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = published_home(tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_API_RATE", "0")
        return create_app(home)


def _routes(app) -> list:
    """Each route the app serves, the included routers' too, once (an alias of the same endpoint is skipped)."""
    seen, routes = set(), []
    for route in sorted(iter_route_contexts(app.routes), key=lambda route: not route.include_in_schema):
        if isinstance(route.original_route, Route) and (route.endpoint, frozenset(route.methods)) not in seen:
            seen.add((route.endpoint, frozenset(route.methods)))
            routes.append(route)
    return routes


def _path_values(route: Route, name: str, dataset: str) -> list[str]:
    if route.path.startswith(("/api/3/action/", "/api/action/")):
        return sorted(ACTIONS)
    if route.param_convertors[name].regex == "[0-9]+" or "release" in name:
        return ["1", "2"]
    if name in ("fmt", "format"):
        return ["csv", "json"]
    return [dataset, f"{dataset}@1", f"{dataset}.csv", f"{dataset}@1.json", f"{dataset}.jsonld",
            f"{dataset}.csv.sha256"]


def _query_values(name: str, dataset: str) -> list[str]:
    if name == "sql":
        return [f'SELECT * FROM "{dataset}"', f'SELECT * FROM "{dataset}@1"', f"SELECT * FROM {dataset}",
                "SELECT * FROM information_schema.tables", "SELECT * FROM duckdb_tables()", "SHOW TABLES"]
    if name == "fq":
        return [f"name:{dataset}", f"id:{dataset}"]
    return [dataset, f"{dataset}@1"] if name in ("id", "resource_id") else [dataset]


def _requests(route: Route, dataset: str) -> list[tuple[str, str, dict]]:
    """Every way of naming ``dataset`` to ``route``: in its path, in one query parameter, or a body."""
    names = list(route.param_convertors)
    paths = [route.path]
    for name in names:
        paths = [path.replace("{" + name + "}", value) for path in paths
                 for value in _path_values(route, name, dataset)]
    declared = [p.alias for p in route.dependant.query_params] if isinstance(route.original_route, APIRoute) else []
    # Where the path names the dataset, that is the question; elsewhere (listings, searches, SQL, CKAN's
    # actions) the dataset may be named in any of the usual parameters, or in one the route declares.
    named_in_path = any(dataset in path for path in paths)
    parameters = {} if named_in_path else dict.fromkeys(PARAMETERS + declared)
    asked = []
    for method in sorted((route.methods or {"GET"}) & {"GET", "POST"}):
        for path in paths:
            asked.append((method, path, {}))
            for name in parameters if method == "GET" else [p for p in parameters if p in BODY_PARAMETERS]:
                for value in _query_values(name, dataset):
                    asked.append((method, path, {"json" if method == "POST" else "params": {name: value}}))
    return asked


def _same(text: str, dataset: str) -> str:
    text = text.replace(dataset, "<dataset>")
    return re.sub(r'"seconds": ?[0-9.e-]+', '"seconds": 0', text)      # how long a query took


def test_a_restricted_dataset_answers_exactly_as_one_that_never_existed(app):
    client = TestClient(app)
    routes = _routes(app)
    assert len(routes) >= 5
    asked = 0
    differences, leaks = [], []
    for route in routes:
        for (method, path, extra), (_, twin_path, twin_extra) in zip(_requests(route, SECRET), _requests(route, TWIN)):
            secret = client.request(method, path, **extra)
            twin = client.request(method, twin_path, **twin_extra)
            asked += 1
            where = f"{method} {path} {extra}"
            if secret.status_code != twin.status_code or _same(secret.text, SECRET) != _same(twin.text, TWIN):
                differences.append(f"{where}: {secret.status_code} {secret.text[:300]!r}\n    but for {TWIN}: "
                                   f"{twin.status_code} {twin.text[:300]!r}")
            for answer in (secret, twin):
                named = [mark for mark in MARKS if mark in answer.text]
                if answer is twin and SECRET in answer.text:
                    named.append(SECRET)
                if named:
                    leaks.append(f"{where}: {answer.status_code} names {named}: {answer.text[:300]!r}")
    print(f"{asked} pairs of requests over {len(routes)} routes")
    assert not leaks, "\n".join(leaks[:20])
    assert not differences, "\n".join(differences[:20])


def test_the_public_dataset_beside_it_is_found_the_same_ways(app):
    """The comparison above means something: asked the same ways, the public ledger is found."""
    client = TestClient(app)
    found = {}
    for route in _routes(app):
        for method, path, extra in _requests(route, "ledger"):
            answer = client.request(method, path, **extra)
            if answer.status_code == 200 and "ledger" in answer.text:
                found[route.path] = True
    assert {"/downloads/{name}"} <= set(found)
    assert len(found) >= 3, sorted(found)
