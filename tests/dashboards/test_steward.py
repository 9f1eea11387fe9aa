"""The steward page: sign-in, the agency's own datasets only, held releases, shared restricted data, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import accounts, audit, flow, pending
from catalog.accounts import add_steward
from catalog.errors import CatalogError
from catalog.pending import Held
from catalog.spec import load_declarations
from dashboards import steward_actions as actions
from tests.conftest import GOOD_ROWS, REPO, TEST_KEY, Declarations

APP = str(REPO / "dashboards" / "app.py")
PASSWORD = "correct horse battery staple"
SHARED = {"access": "restricted", "sharing": {"agencies": ["city"], "legal_basis": "Health Data Act s.12 [b]"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Three agencies: city (grants, needing approval, and permits), county with a restricted dataset
    shared with city, and town with nothing shared; every dataset but grants published once."""
    root = tmp_path_factory.mktemp("stewards")
    declarations = Declarations(root / "datasets")
    for slug in ("city", "county", "town"):
        declarations.agency(slug, name=f"{slug.title()} Council")
    declarations.dataset(publishing={"approval": True})
    declarations.dataset(folder="permits", id="permits", title="Building permits")
    declarations.dataset(folder="clinics", agency="county", id="clinic_visits", title="Clinic visits", **SHARED)
    declarations.dataset(folder="roads", agency="town", id="road_works", title="Road works")
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for dataset_id in ("permits", "clinic_visits", "road_works"):
            assert flow.publish_delivery(loaded, loaded.datasets[dataset_id], root / "home").status == "published"
    for user, agency, approver in (("ann", "city", True), ("bob", "city", True), ("tom", "town", True)):
        add_steward(root / "home", user, agency, user.title(), PASSWORD, approver=approver)
    return root


@pytest.fixture
def world(built, tmp_path, home, monkeypatch):
    """A fresh copy of the built home and declarations for each test; returns the declarations."""
    shutil.copytree(built / "home", home)
    shutil.copytree(built / "datasets", tmp_path / "datasets")
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    monkeypatch.setenv("GOVCAT_DATASETS", str(tmp_path / "datasets"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return load_declarations(tmp_path / "datasets")


def steward_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/steward.py")
    return at.run()


def sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    next(t for t in at.text_input if t.label == "User name").input(user)
    next(t for t in at.text_input if t.label == "Password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def table_with(at: AppTest, *columns: str):
    """The one table on the page that has these columns."""
    (frame,) = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    return frame


def shown_text(at: AppTest) -> str:
    return " ".join(e.value for kind in (at.markdown, at.caption, at.info, at.success, at.error) for e in kind)


def test_a_wrong_password_shows_the_reason_and_no_data(world, home):
    at = sign_in(steward_page(), "ann", "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == ["Not signed in: unknown user or wrong password."]
    assert not at.dataframe and not at.tabs and "steward_token" not in at.session_state
    assert [(e.actor, e.action) for e in audit.entries(home)][-1] == ("ann", "failed-sign-in")


def test_signing_in_shows_only_the_agencys_own_datasets_to_upload_to(world, home):
    at = sign_in(steward_page(), "ann")
    assert not at.exception
    assert "Signed in as **Ann** (ann), approver of city" in shown_text(at)
    assert at.selectbox(key="upload_dataset").options == ["Community grants (grants)", "Building permits (permits)"]
    status = table_with(at, "dataset", "status", "held")
    assert status[["dataset", "status"]].values.tolist() == [["grants", "unpublished"], ["permits", "published"]]
    assert "steward_token" in at.session_state


def test_a_restricted_dataset_shared_with_the_agency_is_readable_and_the_read_is_logged(world, home):
    at = sign_in(steward_page(), "ann")
    said = shown_text(at)
    assert "Legal basis: Health Data Act s.12 \\[b\\]" in said
    at.button(key="preview:clinic_visits").click().run()
    assert not at.exception
    rows = table_with(at, "id", "district", "amount")
    assert len(rows) == 2 and "district" in rows.columns
    (read,) = audit.entries(home, action="read-restricted")
    assert (read.actor, read.target, read.detail) == ("ann", "clinic_visits", "preview")
    logged = table_with(at, "actor", "action", "target", "detail")
    assert ["ann", "read-restricted", "clinic_visits", "preview"] in \
        logged[["actor", "action", "target", "detail"]].values.tolist()

    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    assert actions.restricted_csv(home, ann, "clinic_visits").decode().startswith("id,district,")
    assert audit.entries(home, action="read-restricted")[-1].detail == "download"


def test_a_steward_of_another_agency_does_not_see_the_restricted_dataset(world, home):
    at = sign_in(steward_page(), "tom")
    assert not at.exception
    assert "clinic_visits" not in shown_text(at) and not [b for b in at.button if b.key == "preview:clinic_visits"]
    assert "No restricted dataset is shared with your agency." in [i.value for i in at.info]
    assert at.selectbox(key="upload_dataset").options == ["Road works (road_works)"]
    tom = accounts.authenticate(home, "tom", PASSWORD).steward
    with pytest.raises(actions.StewardError, match="not a restricted dataset shared with town"):
        actions.read_restricted(home, tom, "clinic_visits")
    assert not audit.entries(home, action="read-restricted")
    assert all(e.target != "clinic_visits" for e in actions.audit_trail(home, world, tom))


def test_sign_out_ends_the_session_and_an_ended_session_signs_the_page_out(world, home):
    at = sign_in(steward_page(), "ann")
    token = at.session_state["steward_token"]
    at.button(key="sign_out").click().run()
    assert not at.exception
    assert accounts.session_steward(home, token) is None and "steward_token" not in at.session_state
    assert any(b.label == "Sign in" for b in at.button) and not at.tabs
    assert audit.entries(home)[-1].action == "sign-out"

    at = sign_in(steward_page(), "ann")
    accounts.close_session(home, at.session_state["steward_token"])
    at.run()
    assert "Your session has ended; sign in again." in [i.value for i in at.info] and not at.tabs


def test_an_upload_is_logged_and_published_only_to_the_agencys_own_dataset(world, home):
    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    content = (GOOD_ROWS + "3,East,cy@example.org,5\n").encode()
    with pytest.raises(actions.StewardError, match="ann may upload only to datasets of city"):
        actions.upload(world, home, ann, "road_works", "roads.csv", content, "new works")
    outcome = actions.upload(world, home, ann, "permits", "permits-march.csv", content, "March permits")
    assert (outcome.status, outcome.release, outcome.rows) == ("published", 2, 3)
    upload = audit.entries(home, action="upload")
    assert [(e.actor, e.target, e.checksum, e.detail) for e in upload] == [
        ("ann", "permits", hashlib.sha256(content).hexdigest(), "permits-march.csv")]
    assert not list((home / "inbox" / "city" / "permits" / "processing").iterdir()), "the upload is filed"


@pytest.mark.parametrize("name, content, note, refusal", [
    ("big.csv", b"x" * 101, "note", "uploads are limited to"),
    ("data.exe", GOOD_ROWS.encode(), "note", "upload a csv, tsv, xlsx, json, xml file"),
    ("data.csv", GOOD_ROWS.encode(), "   ", "write a release note"),
    ("data.json", b'[{"id": 1}]', "note", r"delivered as CSV files; this file is \.json"),
])
def test_an_upload_that_is_too_big_of_the_wrong_kind_or_without_a_note_is_refused(world, home, monkeypatch,
                                                                                   name, content, note, refusal):
    monkeypatch.setattr(actions, "MAX_UPLOAD_BYTES", 100)
    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    with pytest.raises(actions.StewardError, match=refusal):
        actions.upload(world, home, ann, "permits", name, content, note)
    assert not audit.entries(home, action="upload")


def test_a_rejected_upload_comes_back_with_its_report_but_not_its_values(world, home):
    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    bad = b"id,district,email,amount\n1,North,secret@example.org,-4\n2,South,x@example.org,-9\n"
    outcome = actions.upload(world, home, ann, "permits", "bad.csv", bad, "fix")
    assert outcome.status == "quarantined"
    (group,) = actions.quarantine_report(home, "permits")["groups"]
    assert (group["field"], group["rule"], group["count"], group["rows"]) == ("amount", "minimum", 2, [2, 3])
    assert "-4" not in str(group) and "secret@example.org" not in outcome.reason


def test_a_held_release_is_approved_on_the_page_by_a_second_steward_only(world, home):
    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    held = actions.upload(world, home, ann, "grants", "grants.csv", GOOD_ROWS.encode(), "first grants")
    assert isinstance(held, Held)
    key = f"grants:{held.run_id}"

    mine = sign_in(steward_page(), "ann")
    assert "awaiting approval by a second steward" in shown_text(mine)
    assert not [b for b in mine.button if b.key == f"approve:{key}"], "the uploader cannot approve"

    at = sign_in(steward_page(), "bob")
    at.button(key=f"approve:{key}").click().run()
    assert not at.exception
    assert "Published release 1 of grants (2 rows)." in [s.value for s in at.success]
    assert pending.held(home) == []
    assert [e.actor for e in audit.entries(home, action="approve")] == ["bob"]


def test_an_embargoed_upload_is_held_then_released_when_a_steward_opens_the_page_after_it(world, home, monkeypatch):
    ann = accounts.authenticate(home, "ann", PASSWORD).steward
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    with pytest.raises(CatalogError, match="has already passed"):
        actions.upload(world, home, ann, "permits", "p.csv", GOOD_ROWS.encode(), "late", until - dt.timedelta(days=2))
    held = actions.upload(world, home, ann, "permits", "p.csv", (GOOD_ROWS + "3,East,e@example.org,1\n").encode(),
                          "embargoed figures", until)
    assert isinstance(held, Held) and held.embargo_until == until
    at = sign_in(steward_page(), "ann")
    assert "embargoed until" in shown_text(at) and not at.success
    monkeypatch.setattr(pending, "_now", lambda: until + dt.timedelta(minutes=1))
    at.run()
    assert "Published release 2 of permits (3 rows)." in [s.value for s in at.success]
    assert pending.held(home) == []
