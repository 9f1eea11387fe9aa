"""CKAN's Action API: the real ckanapi client works unchanged against `govcat serve`; answers have
the keys real CKAN sites send; searches, filters and paging give what the data holds; nothing
restricted shows; hostile input gets CKAN's error shape, never a server error or a server path."""

import csv
import io
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import ckanapi
import pytest
import requests
from fastapi.testclient import TestClient

from catalog import flow
from catalog.api import create_app
from catalog.spec import load_declarations
from tests.api.ledger import ROWS, publish_ledger, published_home
from tests.conftest import REPO, TEST_KEY, Declarations

REFERENCE = REPO.parent / "shared" / "reference" / "ckan-api"
ACTION = "/api/3/action/"


def reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def references(prefix: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(REFERENCE.glob(f"{prefix}.*.json"))]


def common_keys(records: list[dict]) -> set[str]:
    """The keys every one of these real records has."""
    keys = set(records[0])
    for record in records[1:]:
        keys &= set(record)
    return keys


def app_for(home):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_API_RATE", "0")  # many requests from one client, on purpose
        patch.setenv("GOVCAT_API_CONCURRENT", "0")
        return create_app(home)


@pytest.fixture(scope="module")
def ledger_home(tmp_path_factory):
    return published_home(tmp_path_factory)


@pytest.fixture(scope="module")
def ledger(ledger_home):
    return TestClient(app_for(ledger_home))


@pytest.fixture(scope="module")
def demo_client(demo):
    assert (demo.home / "catalogue.duckdb").exists(), demo.stderr
    return TestClient(app_for(demo.home))


def ok(client, action: str, **params):
    answer = client.post(ACTION + action, json=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["help"].endswith(f"/api/3/action/help_show?name={action}")
    return body["result"]


def refused(client, action: str, status: int, kind: str, method: str = "post", **params) -> dict:
    answer = client.post(ACTION + action, json=params) if method == "post" else client.get(ACTION + action,
                                                                                           params=params)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["error"]["__type"] == kind, body
    assert "Traceback" not in answer.text and tempfile.gettempdir() not in answer.text and str(REPO) not in answer.text
    return body["error"]


# --------------------------------------------------------------------------------------- the real client

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(demo):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "catalog.cli", "serve", "--home", str(demo.home), "--port",
                                str(port), "--log-level", "warning"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"govcat serve did not answer: {process.communicate()[0]}")
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_ckanapi_client_works_unchanged(served):
    site = ckanapi.RemoteCKAN(served)
    found = site.action.package_search(q="population", rows=5)
    assert found["count"] >= 1 and "world_population" in [p["name"] for p in found["results"]]

    package = site.action.package_show(id="world_population")
    assert site.action.package_show(id=package["id"])["name"] == "world_population"  # by id as well as by name
    assert package["organization"]["name"] == "national_statistics" and package["license_id"] == "ODC-PDDL-1.0"
    (table,) = [r for r in package["resources"] if r.get("datastore_active")]
    assert table["format"] == "CSV" and table["url"] == f"{served}/downloads/world_population.csv"

    page = site.action.datastore_search(resource_id=table["id"], limit=3)
    assert len(page["records"]) == 3 and [r["_id"] for r in page["records"]] == [1, 2, 3]
    downloaded = list(csv.DictReader(io.StringIO(requests.get(table["url"], timeout=30).text)))
    assert page["total"] == len(downloaded)  # the datastore holds exactly the rows of the download
    columns = [f["id"] for f in page["fields"] if f["id"] != "_id"]
    assert [str(page["records"][0][c]) for c in columns] == [downloaded[0][c] for c in columns]

    first_country = page["records"][0][columns[0]]
    narrowed = site.action.datastore_search(resource_id=table["id"], filters={columns[0]: first_country}, limit=1000)
    assert narrowed["total"] == sum(1 for row in downloaded if row[columns[0]] == first_country) > 0

    counted = site.action.datastore_search_sql(sql=f'SELECT count(*) AS n FROM "{table["id"]}"')
    assert counted["records"] == [{"n": len(downloaded)}]

    with pytest.raises(ckanapi.NotFound):
        site.action.package_show(id="no_such_dataset")
    with pytest.raises(ckanapi.NotFound):
        site.action.datastore_search(resource_id="no_such_table")
    with pytest.raises(ckanapi.ValidationError):
        site.action.datastore_search(resource_id=table["id"], filters={"no_such_column": 1})
    with pytest.raises(ckanapi.NotAuthorized):
        site.action.package_create(name="mine", title="Not allowed")
    with pytest.raises(ckanapi.SearchQueryError):
        site.action.package_search(q="nosuchfield:x")

    by_get = ckanapi.RemoteCKAN(served, get_only=True).action.package_search(q="population", rows=5)
    assert [p["name"] for p in by_get["results"]] == [p["name"] for p in found["results"]]


# --------------------------------------------------------------------------------------- shapes

def test_answers_have_the_keys_real_ckan_sites_send(demo_client):
    shown = ok(demo_client, "package_show", id="world_gdp")
    real_packages = [r["result"] for r in references("package_show") if r["success"]]
    real_packages += [p for r in references("package_search") for p in r["result"]["results"]]
    assert common_keys(real_packages) - set(shown) == set()
    real_resources = [res for p in real_packages for res in p["resources"]]
    assert shown["resources"] and all(common_keys(real_resources) <= set(res) for res in shown["resources"])
    assert common_keys([p["organization"] for p in real_packages if p["organization"]]) <= set(shown["organization"])
    real_tags = [t for p in real_packages for t in p["tags"]]
    assert shown["tags"] and all(common_keys(real_tags) == set(t) for t in shown["tags"])

    found = ok(demo_client, "package_search", q="gdp", rows=2)
    assert common_keys([r["result"] for r in references("package_search")]) == set(found)

    names = ok(demo_client, "organization_list")
    assert all(isinstance(name, str) for name in names) and isinstance(
        reference("organization_list.transportdata-be.names.json")["result"][0], str)
    records = ok(demo_client, "organization_list", all_fields=True)
    organization_keys = common_keys([p["organization"] for p in real_packages if p["organization"]])
    assert all(organization_keys | {"package_count", "display_name"} <= set(r) for r in records)

    for real_name, params in (("datastore_search.demo-ckan-org.types.records.json", {"include_total": True}),
                              ("datastore_search.demo-ckan-org.types.limit-0.json", {"limit": 0}),
                              ("datastore_search.demo-ckan-org.types.offset-100-past-end.json", {"offset": 100000})):
        real = reference(real_name)["result"]
        mine = ok(demo_client, "datastore_search", resource_id="world_gdp", **params)
        assert set(real) - set(mine) == set(), real_name
        assert set(real["_links"]) <= set(mine["_links"]) and mine["fields"][0] == {"id": "_id", "type": "int"}
        assert all(set(real["fields"][0]) <= set(f) for f in mine["fields"])
    assert mine["records"] == [] and mine["total"] == 13979

    real_error = reference("package_show.dados-gov-br.not-found-404.json")
    answer = demo_client.get(ACTION + "package_show", params={"id": "no-dataset"})
    assert answer.status_code == 404 and set(answer.json()) == set(real_error)
    assert set(answer.json()["error"]) == set(real_error["error"])
    assert answer.json()["error"]["__type"] == real_error["error"]["__type"]


def test_a_package_describes_the_dataset_and_links_each_download(ledger):
    package = ok(ledger, "package_show", id="ledger")
    assert package["title"] == "Payments ledger" and package["version"] == "2" and package["private"] is False
    assert [t["name"] for t in package["tags"]] == ["payments"] and package["num_tags"] == 1
    assert package["groups"][0]["name"] == "government" and package["organization"]["name"] == "city"
    assert package["license_id"] == "CC-BY-4.0" and package["isopen"] is True
    assert package["metadata_created"] < package["metadata_modified"]  # two releases
    formats = {r["format"]: r for r in package["resources"]}
    assert set(formats) == {"CSV", "PARQUET", "JSON", "XLSX", "ZIP"} and package["num_resources"] == 5
    assert [r["datastore_active"] for r in package["resources"]].count(True) == 1 and formats["CSV"]["id"] == "ledger"
    for resource in package["resources"]:
        assert resource["package_id"] == package["id"]
        assert ok(ledger, "resource_show", id=resource["id"])["url"] == resource["url"]
        got = ledger.get(resource["url"].removeprefix("http://testserver"))
        assert got.status_code == 200, resource["url"]
    assert formats["PARQUET"]["hash"] == ledger.get("/downloads/ledger.parquet.sha256").text.split()[0]
    assert ledger.get(formats["CSV"]["url"].removeprefix("http://testserver")).text.count("\n") >= 6


# --------------------------------------------------------------------------------------- what is public

def test_a_restricted_dataset_is_nowhere_and_answers_like_a_missing_one(ledger):
    assert ok(ledger, "package_list") == ["ledger"]
    assert ok(ledger, "package_search", q="case files")["count"] == 0
    assert ok(ledger, "package_search", q="name:casefiles")["count"] == 0
    assert ok(ledger, "organization_show", id="city")["package_count"] == 1
    assert ok(ledger, "tag_list") == ["payments"]
    for action, key in (("package_show", "id"), ("resource_show", "id"), ("datastore_search", "resource_id")):
        hidden = refused(ledger, action, 404, "Not Found Error", **{key: "casefiles"})
        missing = refused(ledger, action, 404, "Not Found Error", **{key: "nosuchthing"})
        assert hidden["message"].replace("casefiles", "X") == missing["message"].replace("nosuchthing", "X")
    hidden = refused(ledger, "datastore_search_sql", 409, "Validation Error", sql="SELECT * FROM casefiles")
    missing = refused(ledger, "datastore_search_sql", 409, "Validation Error", sql="SELECT * FROM nosuchthing")
    assert hidden["message"].replace("casefiles", "X") == missing["message"].replace("nosuchthing", "X")


def test_a_new_release_shows_without_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    declarations = Declarations(tmp_path / "datasets")
    home = publish_ledger(declarations, tmp_path / "home")
    client = TestClient(app_for(home))
    assert ok(client, "package_show", id="ledger")["version"] == "1"
    assert ok(client, "datastore_search", resource_id="ledger")["total"] == 4
    (declarations.root / "city" / "ledger" / "data" / "2024.csv").write_text(
        ROWS + "5,Late Ltd,added later,7,2024-04-01,2024-04-01T08:00:00,true\n", encoding="utf-8")
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["ledger"], home).status == "published"
    assert ok(client, "package_show", id="ledger")["version"] == "2"
    assert ok(client, "datastore_search", resource_id="ledger")["total"] == 5
    assert ok(client, "datastore_search", resource_id="ledger@1")["total"] == 4


# --------------------------------------------------------------------------------------- datastore_search

def ids(result) -> list[int]:
    return [r["id"] for r in result["records"]]


def test_datastore_filters_take_values_lists_nulls_and_comparisons(ledger):
    search = lambda **p: ok(ledger, "datastore_search", resource_id="ledger", **p)  # noqa: E731
    assert ids(search(filters={"payee": "Café Nord"})) == [1]
    assert ids(search(filters={"payee": ["@handle", "Late Ltd", "nobody"]})) == [3, 5]
    assert ids(search(filters={"approved": None})) == [4]
    assert ids(search(filters={"approved": True})) == [1, 3, 5]
    assert ids(search(filters={"amount": {"gte": 3, "lt": 1000}})) == [2, 5]
    assert ids(search(filters={"amount": [3, 7]})) == [2, 5]
    assert ids(search(filters={"amount": "-12.5"})) == [1]
    assert ids(search(filters={"paid": "2024-02-29"})) == [3]
    assert ids(search(filters={"paid": {"gte": "2024-02-29", "lte": "2024-03-01"}})) == [3, 4]
    assert ids(search(filters={"logged": "2024-02-01"})) == [2]  # a day: every moment in it
    assert ids(search(filters={"logged": "2024-02-01T17:00:30"})) == [2]
    assert ids(search(filters={"_id": 4})) == [4]
    assert search(filters={"payee": "Café Nord", "amount": 3})["total"] == 0
    assert ids(search(q="ltd")) == [2, 5]
    assert ids(search(q="ltd 7")) == [5]  # every word, in some column
    assert ids(search(q={"note": "comma"})) == [2]
    assert search(q="' OR 1=1 --")["total"] == 0  # text, never SQL


def test_datastore_pages_sort_and_pick_fields_like_ckan(ledger):
    search = lambda **p: ok(ledger, "datastore_search", resource_id="ledger", **p)  # noqa: E731
    everything = search()
    assert everything["total"] == 5 and [r["_id"] for r in everything["records"]] == [1, 2, 3, 4, 5]
    assert everything["records"][0] == {"_id": 1, "id": 1, "payee": "Café Nord", "note": "=SUM(A1:A9)",
                                        "amount": -12.5, "paid": "2024-01-31", "logged": "2024-01-31T09:15:00",
                                        "approved": True}
    types = {f["id"]: f["type"] for f in everything["fields"]}
    assert types == {"_id": "int", "id": "int8", "payee": "text", "note": "text", "amount": "float8",
                     "paid": "date", "logged": "timestamp", "approved": "bool"}
    assert {f["id"]: f.get("info") for f in everything["fields"]}["payee"] == {"label": "Who was paid"}
    pages = [search(limit=2, offset=offset, sort="amount desc") for offset in (0, 2, 4)]
    assert [ids(p) for p in pages] == [[4, 5], [2, 3], [1]]
    assert "offset=2" in pages[0]["_links"]["next"] and "offset" not in pages[1]["_links"]["start"]
    assert ids(search(sort="approved desc nulls last, paid desc")) == [5, 3, 1, 2, 4]
    picked = search(fields="payee,amount", limit=1, sort='"amount" asc')
    assert picked["records"] == [{"payee": "Café Nord", "amount": -12.5}]
    assert [f["id"] for f in picked["fields"]] == ["payee", "amount"]
    assert sorted(r["approved"] for r in search(fields=["approved"], distinct=True)["records"]
                  if r["approved"] is not None) == [False, True]
    assert search(records_format="lists", limit=1)["records"] == [[1, 1, "Café Nord", "=SUM(A1:A9)", -12.5,
                                                                   "2024-01-31", "2024-01-31T09:15:00", True]]
    as_csv = search(records_format="csv", fields="id,note", filters={"id": [2, 4]})["records"]
    assert list(csv.reader(io.StringIO(as_csv))) == [["2", "-minus, with a comma"], ["4", "two\nlines"]]
    assert "total" not in search(include_total=False)
    assert ok(ledger, "datastore_search", resource_id="ledger@1")["total"] == 4  # release 1, which never changes


def test_datastore_search_sql_runs_in_the_sandbox(ledger):
    result = ok(ledger, "datastore_search_sql",
                sql='SELECT approved, round(sum(amount), 2) AS total FROM "ledger" GROUP BY 1 ORDER BY 1')
    assert result["records"] == [{"approved": False, "total": 3.0}, {"approved": True, "total": -5.4},
                                 {"approved": None, "total": 1000000.0}]
    assert [f["id"] for f in result["fields"]] == ["approved", "total"]
    assert ok(ledger, "datastore_search_sql", sql='SELECT count(*) AS n FROM "ledger@1"')["records"] == [{"n": 4}]
    for attack in ("SELECT * FROM read_csv('/etc/passwd')", "COPY ledger TO 'out.csv'", "DROP TABLE ledger"):
        assert refused(ledger, "datastore_search_sql", 403, "Authorization Error", sql=attack)["message"]
    assert refused(ledger, "datastore_search_sql", 409, "Validation Error", sql="SELEC 1")["query"]
    assert refused(ledger, "datastore_search_sql", 409, "Validation Error")["sql"] == ["Missing value"]


# --------------------------------------------------------------------------------------- package_search

def names(result) -> list[str]:
    return [p["name"] for p in result["results"]]


def test_package_search_filters_sorts_pages_and_counts_facets(demo_client):
    every = ok(demo_client, "package_search", rows=1000, sort="name asc",
               **{"facet.field": ["organization", "groups", "tags", "res_format", "license_id"], "facet.limit": -1})
    assert names(every) == sorted(names(every)) == ok(demo_client, "package_list")
    assert every["count"] == len(names(every))
    organizations = every["facets"]["organization"]
    assert sum(organizations.values()) == every["count"]
    for organization, count in organizations.items():
        assert ok(demo_client, "package_search", fq=f"organization:{organization}")["count"] == count
    items = every["search_facets"]["groups"]["items"]
    assert {i["name"]: i["count"] for i in items} == every["facets"]["groups"]
    assert [i["count"] for i in items] == sorted((i["count"] for i in items), reverse=True)
    economy = next(i for i in items if i["name"] == "economy")
    assert economy["display_name"] == "Economy and finance"

    pages = [ok(demo_client, "package_search", q="*:*", sort="name asc", rows=4, start=s) for s in range(0, 16, 4)]
    assert sum((names(p) for p in pages), []) == names(every)

    assert names(ok(demo_client, "package_search", q="name:world*", sort="name desc")) == ["world_population",
                                                                                          "world_gdp"]
    assert names(ok(demo_client, "package_search", q="title:glacier || name:world_gdp", sort="name asc")) == [
        "glacier_mass_balance", "world_gdp"]
    economy_but_bonds = ok(demo_client, "package_search", fq="groups:economy -tags:\"bond yields\"")
    assert economy_but_bonds["count"] == every["facets"]["groups"]["economy"] - 1
    assert "uk_bond_yields_10y" not in names(economy_but_bonds)
    ranked = ok(demo_client, "package_search", q="glacier")
    assert names(ranked)[0] == "glacier_mass_balance"
    newest = ok(demo_client, "package_search", sort="metadata_modified desc", rows=100)["results"]
    stamps = [p["metadata_modified"] for p in newest if p["metadata_modified"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) >= 13
    assert ok(demo_client, "package_search", fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]")["count"] == 0
    assert ok(demo_client, "package_search", fq="metadata_modified:[2000-01-01T00:00:00Z TO NOW]")["count"] == \
        len(stamps)
    assert ok(demo_client, "package_search", q="nothing matches zzyzx")["count"] == 0


def test_get_with_json_parameters_answers_like_post(demo_client):
    params = {"q": "climate", "fq": "groups:environment", "facet.field": '["tags"]', "rows": "2"}
    by_get = demo_client.get(ACTION + "package_search", params=params).json()["result"]
    by_post = ok(demo_client, "package_search", q="climate", fq="groups:environment", rows=2,
                 **{"facet.field": ["tags"]})
    assert by_get == by_post and by_get["facets"]["tags"]
    got = demo_client.get("/api/action/datastore_search",
                          params={"resource_id": "world_gdp", "filters": '{"Year": 2000}', "limit": "1"}).json()
    assert got["success"] and got["result"]["records"][0]["Year"] == 2000


def test_organizations_and_groups(demo_client):
    listed = ok(demo_client, "organization_list", all_fields=True, sort="package_count desc")
    assert [o["package_count"] for o in listed] == sorted((o["package_count"] for o in listed), reverse=True)
    assert sorted(o["name"] for o in listed) == sorted(ok(demo_client, "organization_list"))
    riverton = ok(demo_client, "organization_show", id="riverton", include_datasets=True)
    assert riverton["title"] == "City of Riverton" and riverton["is_organization"] is True
    assert sorted(p["name"] for p in riverton["packages"]) == sorted(
        names(ok(demo_client, "package_search", fq="organization:riverton", rows=100)))
    assert ok(demo_client, "organization_show", id=riverton["id"])["name"] == "riverton"
    groups = ok(demo_client, "group_list", all_fields=True)
    assert len(groups) == 13 and all(g["is_organization"] is False for g in groups)
    health = ok(demo_client, "group_show", id="health", include_datasets=True)
    assert [p["name"] for p in health["packages"]] == ["hospital_admissions"]
    assert ok(demo_client, "organization_list", limit=2, offset=1) == ok(demo_client, "organization_list")[1:3]
    refused(demo_client, "organization_show", 404, "Not Found Error", id="nobody")
    refused(demo_client, "group_list", 409, "Validation Error", sort="popularity")


# --------------------------------------------------------------------------------------- hostile input

def test_bad_input_gets_ckan_errors_never_a_server_error(ledger):
    refused(ledger, "package_show", 409, "Validation Error")
    refused(ledger, "package_show", 409, "Validation Error", id=["ledger"])
    refused(ledger, "package_search", 409, "Validation Error", rows=-1)
    refused(ledger, "package_search", 409, "Validation Error", method="get", rows="ten")
    assert ok(ledger, "package_search", rows=10**9)["count"] == 1  # capped, as CKAN caps rows
    for q in ("title:(a", "a)", "AND", "metadata_modified:[yesterday TO *]", "x" * 6000, "(" * 30 + "a" + ")" * 30):
        assert refused(ledger, "package_search", 400, "Search Query Error", q=q)["message"]
    refused(ledger, "package_search", 400, "Search Query Error", sort="popularity desc")
    refused(ledger, "package_search", 400, "Search Query Error", **{"facet.field": ["secret"]})
    search = "datastore_search"
    refused(ledger, search, 409, "Validation Error")
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", filters="not json")
    refused(ledger, search, 409, "Validation Error", method="get", resource_id="ledger", filters='["a"]')
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", filters={"amount": "lots"})
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", filters={"amount": {"like": 1}})
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", filters={"payee": {"gt": "a"}})
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", sort="amount; DROP TABLE ledger")
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", sort="secret")
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", fields="id,secret")
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", limit=-5)
    refused(ledger, search, 409, "Validation Error", resource_id="ledger", records_format="xml")
    assert len(ok(ledger, search, resource_id="ledger", limit=10**9)["records"]) == 5
    refused(ledger, search, 404, "Not Found Error", resource_id="../../etc/passwd")
    refused(ledger, search, 404, "Not Found Error", resource_id="ledger.parquet")  # a download, not a table
    refused(ledger, "package_delete", 403, "Authorization Error", id="ledger")
    refused(ledger, "datastore_upsert", 403, "Authorization Error", resource_id="ledger", records=[{"id": 9}])
    refused(ledger, "package_search", 409, "Validation Error", fq=["groups:health"])
    assert refused(ledger, "no_such_action", 400, "Bad Request")["message"].endswith("no_such_action")
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        answer = ledger.post(ACTION + "package_list", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"]["__type"] == "Bad Request"
    assert ledger.post(ACTION + "package_show", data={"id": "ledger"}).json()["result"]["name"] == "ledger"
    assert "resource_id" in ok(ledger, "help_show", name="datastore_search")
    refused(ledger, "help_show", 404, "Not Found Error", name="package_purge")
