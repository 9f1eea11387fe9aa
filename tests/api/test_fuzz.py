"""No input makes the API fail: schemathesis drives every operation /openapi.json describes, as
served when the test runs, with valid and invalid inputs; and the description is what the app does."""

import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from starlette.routing import Route

from catalog import browse, catalogue_db
from catalog.api import create_app
from catalog.api.ckan import ACTIONS
from catalog.api.data import OPERATORS
from tests.conftest import REPO

EXAMPLES = 12          # per operation and kind of input: enough to reach every branch of a parser
BUDGET_SECONDS = 90
HOSTILE = ["", " ", "0", "-1", "99999999999999999999", "1e309", "NaN", "null", "true", "[]", "{}", "a" * 3000,
           "%00", "\x00", "..", "../../../catalogue.duckdb", "' OR 1=1 --", '"; DROP TABLE x; --', "*", "%",
           "<script>alert(1)</script>", "😀" * 50, "é", "a@b", "a@0", "a@-1", "a.csv.sha256.sha256"]


@pytest.fixture(scope="module")
def app(demo):
    assert (demo.home / "catalogue.duckdb").exists(), demo.stderr    # one demo delivery is quarantined on purpose
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_API_RATE", "0")         # thousands of requests from one client, on purpose
        patch.setenv("GOVCAT_API_CONCURRENT", "0")
        return create_app(demo.home)


@pytest.fixture(scope="module")
def public_ids(demo):
    con = catalogue_db.open_reader(demo.home / "catalogue.duckdb")
    try:
        return list(browse.list_datasets(con, public_only=True)["id"])
    finally:
        con.close()


def _path_values(ids: list[str]) -> list[str]:
    """Names that reach past the 404s into the real code: each public dataset, pinned and in formats."""
    values = []
    for dataset_id in ids[:4]:
        values += [dataset_id, f"{dataset_id}@1", f"{dataset_id}@999", f"{dataset_id}.csv", f"{dataset_id}@1.json",
                   f"{dataset_id}.jsonld", f"{dataset_id}.ttl", f"{dataset_id}.csv.sha256"]
    return values


def test_no_input_gets_a_server_error_from_any_operation(app, demo, public_ids):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2
    known = _path_values(public_ids)
    failures: list[str] = []
    leaks: list[str] = []
    calls = [0]
    started = time.monotonic()

    def check(case) -> None:
        response = case.call()
        calls[0] += 1
        body = response.text
        if "Traceback" in body or str(demo.home) in body or str(REPO) in body:
            leaks.append(f"{case.operation.label} {case.path_parameters} {case.query}: {body[:300]}")
        case.validate_response(response, checks=[not_a_server_error])

    for operation in operations:
        path_names = [p.name for p in operation.path_parameters]
        strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                      operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        if path_names:
            strategies.append(st.sampled_from(known).flatmap(
                lambda value: operation.as_strategy(path_parameters={name: value for name in path_names})))
        for strategy in strategies:
            @settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), database=None, derandomize=True,
                      phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                check(case)

            try:
                run()
            except Unsatisfiable:      # nothing invalid to send (no parameters, or only free text)
                continue
            except (Exception, BaseExceptionGroup) as exc:   # the shrunk failing input, to report them all at once
                failures.append(f"{operation.label}: {exc}")
                break
    seconds = time.monotonic() - started
    print(f"{len(operations)} operations, {calls[0]} requests in {seconds:.1f} s")
    assert not failures, "\n\n".join(failures)
    assert not leaks, "\n".join(leaks)
    assert seconds < BUDGET_SECONDS


def test_every_answer_has_a_status_and_type_the_description_lists(app, public_ids):
    """The description is accurate: what the app answers, valid requests or not, is documented."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    known = _path_values(public_ids)
    undocumented: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        path_names = [p.name for p in operation.path_parameters]
        strategy = operation.as_strategy()
        if path_names:
            strategy = strategy | st.sampled_from(known).flatmap(
                lambda value, operation=operation, path_names=path_names:
                    operation.as_strategy(path_parameters={name: value for name in path_names}))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            response = case.call()
            for conformance in (status_code_conformance, content_type_conformance):
                try:
                    case.validate_response(response, checks=[conformance])
                except (Exception, BaseExceptionGroup):
                    undocumented.append(f"{operation.label} {case.path_parameters or ''} {case.query or ''}: "
                                        f"{response.status_code} {response.headers.get('content-type')}")

        run()
    assert not undocumented, "\n".join(sorted(set(undocumented))[:30])


def test_hostile_values_in_any_path_or_query_parameter_get_a_clear_json_answer(app, demo):
    client = TestClient(app)
    document = client.get("/openapi.json").json()
    problems = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post"):
                continue
            parameters = operation.get("parameters", [])
            for value in HOSTILE:
                url = path
                for parameter in parameters:
                    if parameter["in"] == "path":
                        url = url.replace("{" + parameter["name"] + "}", quote(value, safe="") or "x")
                query = {p["name"]: value for p in parameters if p["in"] == "query"}
                answer = client.request(method.upper(), url, params=query)
                text = answer.text
                if answer.status_code >= 500 or "Traceback" in text or str(demo.home) in text:
                    problems.append(f"{method.upper()} {url} {query!r:.80}: {answer.status_code} {text[:200]}")
                elif answer.status_code >= 400:
                    error = answer.json()
                    if not isinstance(error, dict) or not error:
                        problems.append(f"{method.upper()} {url}: error is not a JSON object: {text[:200]}")
    assert not problems, "\n".join(problems)


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT | st.sampled_from(HOSTILE)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=6)
CKAN_PARAMETERS = ["id", "name", "q", "fq", "fq_list", "rows", "start", "sort", "facet.field", "facet.limit", "limit",
                   "offset", "all_fields", "include_datasets", "resource_id", "filters", "fields", "distinct",
                   "records_format", "include_total", "sql", "query", "organizations", "groups"]
QUICK = settings(max_examples=60, deadline=timedelta(seconds=10), database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))


def test_any_parameters_of_any_ckan_action_get_an_answer_not_a_failure(app, public_ids):
    """The actions' parameters travel in a JSON body the description cannot list, so they are fuzzed here:
    any JSON value (lists, objects, numbers where text is expected...) in any parameter."""
    client = TestClient(app)
    ids = public_ids[:3] + [f"{public_ids[0]}@1"]

    @QUICK
    @given(action=st.sampled_from(sorted(ACTIONS)),
           params=st.dictionaries(st.sampled_from(CKAN_PARAMETERS), JSON | st.sampled_from(ids), max_size=4))
    def run(action, params):
        answer = client.post(f"/api/3/action/{action}", json=params)
        assert answer.status_code < 500, f"POST /api/3/action/{action} {params!r}: {answer.text[:300]}"
        assert answer.json()["success"] is (answer.status_code == 200)

    run()


def test_any_filter_on_the_data_api_gets_an_answer_not_a_failure(app, public_ids):
    """Datasette-style filters are named by the column (``col__op=value``), which the description cannot list."""
    client = TestClient(app)
    tables = {dataset_id: client.get(f"/api/data/{dataset_id}", params={"_size": 1}).json()["columns"]
              for dataset_id in public_ids[:3]}
    operators = [*OPERATORS, "bogus", ""]

    @QUICK
    @given(data=st.data(), dataset_id=st.sampled_from(sorted(tables)))
    def run(data, dataset_id):
        columns = tables[dataset_id] + ["nope"]
        chosen = data.draw(st.lists(st.tuples(st.sampled_from(columns), st.sampled_from(operators),
                                              TEXT | st.sampled_from(HOSTILE)), min_size=1, max_size=3))
        params = [(f"{column}__{op}" if op else column, value) for column, op, value in chosen]
        params += [(key, data.draw(TEXT | st.sampled_from(columns))) for key in
                   data.draw(st.lists(st.sampled_from(["_sort", "_sort_desc", "_col", "_size", "_next", "_format"]),
                                      max_size=2))]
        answer = client.get(f"/api/data/{dataset_id}", params=params)
        assert answer.status_code < 500, f"GET /api/data/{dataset_id} {params!r}: {answer.text[:300]}"

    run()


def test_the_description_lists_every_route_with_its_path_parameters(app):
    document = TestClient(app).get("/openapi.json").json()
    described = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    routes = [route for route in iter_route_contexts(app.routes)
              if isinstance(route.original_route, Route) and route.include_in_schema]
    assert len(routes) > 3      # the routers the app includes count too
    for route in routes:
        for method in route.methods - {"HEAD", "OPTIONS"}:
            assert (route.path, method) in described
            parameters = document["paths"][route.path][method.lower()].get("parameters", [])
            assert set(route.param_convertors) <= {p["name"] for p in parameters if p["in"] == "path"}


def test_every_operation_tells_of_the_limits_and_errors_as_the_app_sends_them(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_API_RATE", "90")
    document = TestClient(create_app(demo.home)).get("/openapi.json").json()
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in str(document)      # the app answers a bad request with 400, not 422
    assert "Each client may make 90 requests a minute" in document["info"]["description"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "413", "414", "429"} <= set(responses), f"{method} {path}"
            assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
            assert "422" not in responses or "HTTPValidationError" not in str(responses["422"])


def test_the_interactive_docs_are_off_because_they_need_a_cdn(app):
    client = TestClient(app)
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200
