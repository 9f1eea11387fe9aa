"""Feedback in the explorer: ask on a dataset page, see it listed, a steward answers it on the
Stewards page, and the answer shows publicly; requests for new datasets on their own page."""

from __future__ import annotations

import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import audit, feedback, flow
from catalog.accounts import add_steward
from catalog.spec import load_declarations
from tests.conftest import REPO, TEST_KEY, Declarations

APP = str(REPO / "dashboards" / "app.py")
PASSWORD = "correct horse battery staple"
QUESTION = "Why does the March release have fewer grants than February?"
RESTRICTED = {"access": "restricted", "sharing": {"agencies": ["city"], "legal_basis": "Health Data Act s.12"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """city publishes grants; county a restricted dataset; a steward for each."""
    root = tmp_path_factory.mktemp("feedback_ui")
    declarations = Declarations(root / "datasets")
    declarations.agency("city", name="City Council")
    declarations.agency("county", name="County Council")
    declarations.dataset()
    declarations.dataset(folder="clinics", agency="county", id="clinic_visits", title="Clinic visits", **RESTRICTED)
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for dataset_id in ("grants", "clinic_visits"):
            assert flow.publish_delivery(loaded, loaded.datasets[dataset_id], root / "home").status == "published"
    add_steward(root / "home", "ann", "city", "Ann Archer", PASSWORD, approver=True)
    add_steward(root / "home", "cora", "county", "Cora Cole", PASSWORD)
    return root


@pytest.fixture
def home(built, tmp_path, monkeypatch):
    shutil.copytree(built / "home", tmp_path / "home")
    shutil.copytree(built / "datasets", tmp_path / "datasets")
    monkeypatch.setenv("GOVCAT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GOVCAT_DATASETS", str(tmp_path / "datasets"))
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    st.cache_data.clear()
    st.cache_resource.clear()
    return tmp_path / "home"


def page(path: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(path)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def shown(at: AppTest) -> str:
    return " ".join(e.value for kind in (at.subheader, at.markdown, at.caption, at.info, at.success, at.error,
                                         at.warning)
                    for e in kind)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def ask(at: AppTest, text: str, prefix: str = "fb", send: str = "Send", **fields) -> AppTest:
    at.text_area(key=f"{prefix}_text").input(text)
    for name, value in fields.items():
        at.text_input(key=f"{prefix}_{name}").input(value)
    button(at, send).click()
    return at.run()


def steward_questions(user: str) -> AppTest:
    at = page("views/steward.py")
    at.text_input[0].input(user)
    at.text_input[1].input(PASSWORD)
    button(at, "Sign in").click()
    at.run()
    assert not at.exception and "Signed in as" in shown(at)
    return at


def test_a_question_asked_on_a_dataset_page_is_listed_there_with_the_privacy_notice(home):
    at = page("views/dataset.py", id="grants")
    assert not at.exception
    assert "Questions" in [tab.label for tab in at.tabs]
    assert any("email address is only for a reply" in box.value and "kept private" in box.value for box in at.info)
    ask(at, QUESTION, name="Pat", email="pat@example.org")
    assert not at.exception
    assert "published below" in at.success[0].value
    assert at.text_area(key="fb_text").value == "" and at.text_input(key="fb_email").value == ""
    text = shown(at)
    assert "Why does the March release have fewer grants than February?" in text and "from Pat" in text
    assert "pat@example.org" not in text and "Not answered yet." in text
    again = page("views/dataset.py", id="grants")
    assert "Questions and problems (1)" in shown(again)


def test_a_refused_message_says_why_and_keeps_what_was_typed(home):
    at = page("views/dataset.py", id="grants")
    ask(at, "Is this data complete for 2024?", trap="http://spam.example")
    assert "field that must be left empty was filled in" in at.error[0].value
    assert at.text_area(key="fb_text").value == "Is this data complete for 2024?"
    ask(at, "Short?", trap="")
    assert "at least 10 characters" in at.error[0].value
    assert feedback.records(home) == []


def test_a_browser_session_sends_three_messages_then_is_told_to_wait(home):
    at = page("views/dataset.py", id="grants")
    for n in range(3):
        ask(at, f"Question number {n} about the grants")
        assert at.success, n
    ask(at, "Question number 4 about the grants")
    assert "3 messages in the last 10 minutes" in at.error[0].value and "Wait 10 minutes" in at.error[0].value
    assert len(feedback.records(home)) == 3


def test_a_message_with_personal_data_is_shown_as_held_back(home):
    at = page("views/dataset.py", id="grants")
    ask(at, "My grant was paid to the wrong account, call me on 020 7946 0018")
    assert "contains a phone number" in at.success[0].value and "kept private" in at.success[0].value
    text = shown(page("views/dataset.py", id="grants"))
    assert feedback.HELD_BACK in text and "7946" not in text


def test_a_steward_answers_and_the_answer_shows_on_the_dataset_page(home):
    at = page("views/dataset.py", id="grants")
    ask(at, QUESTION, email="pat@example.org")
    (record,) = feedback.records(home)
    steward = steward_questions("ann")
    assert "Questions" in [tab.label for tab in steward.tabs]
    text = shown(steward)
    assert "Why does the March release" in text and "reply to pat@example.org" in text
    steward.text_area(key=f"fb_answer:{record.id}").input("A late batch of February grants; March is complete.")
    steward.button(key=f"fb_send:{record.id}").click()
    steward.run()
    assert not steward.exception and "Answer published." in shown(steward)
    public = shown(page("views/dataset.py", id="grants"))
    assert "A late batch of February grants; March is complete." in public
    assert "Answer** from Ann Archer (City Council)" in " ".join(m.value for m in page("views/dataset.py",
                                                                                         id="grants").markdown)
    assert [e.actor for e in audit.entries(home, action="answer-feedback")] == ["ann"]
    assert feedback.records(home)[0].first_answer_at is not None


def test_a_steward_of_another_agency_does_not_see_the_question(home):
    ask(page("views/dataset.py", id="grants"), QUESTION)
    assert "Why does the March release" not in shown(steward_questions("cora"))


def test_a_steward_holds_back_a_message_and_the_public_no_longer_sees_it(home):
    ask(page("views/dataset.py", id="grants"), "Jane Doe of Mill House got no grant this year")
    (record,) = feedback.records(home)
    steward = steward_questions("ann")
    steward.button(key=f"fb_hold:{record.id}").click()
    steward.run()
    assert "Held back" in shown(steward)
    text = shown(page("views/dataset.py", id="grants"))
    assert "Jane Doe" not in text and feedback.HELD_BACK in text


def test_a_restricted_dataset_has_no_page_and_so_no_form(home):
    at = page("views/dataset.py", id="clinic_visits")
    assert not at.exception
    assert "There is no published public dataset" in at.error[0].value
    assert not [t for t in at.text_area if t.key == "fb_text"]


def test_request_page_takes_a_request_for_an_agency_or_for_whoever_holds_it(home):
    at = page("views/request.py")
    assert not at.exception and at.title[0].value == "Request data"
    assert any("never shown publicly" in box.value for box in at.info)
    at.selectbox(key="rq_agency").select("city")
    ask(at, "Public toilets with their opening hours and accessibility.", prefix="rq", send="Send the request")
    assert not at.exception and "published below" in at.success[0].value
    assert at.selectbox(key="rq_agency").value == "city", "the agency stays chosen for another request"
    at.selectbox(key="rq_agency").select("")  # "Don't know"
    ask(at, "Street trees with species, age and height.", prefix="rq", send="Send the request")
    text = shown(at)
    assert "Requests so far (2)" in text
    assert "for City Council" in text and "for an agency not known to the sender" in text
    assert [r.agency for r in feedback.records(home)] == ["city", None]
    county = steward_questions("cora")
    assert "Street trees" in shown(county) and "Public toilets" not in shown(county)


def test_the_dataset_page_links_to_the_request_page(home):
    at = page("views/dataset.py", id="grants")
    assert any(link.proto.page == "request" for link in at.get("page_link"))
