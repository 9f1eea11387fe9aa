"""Feedback from the public: questions, problems and requests, spam limits, personal data held back,
stewards' answers in the audit log, and the records the catalogue's measures count."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import pytest

from catalog import audit, feedback, flow
from catalog.accounts import Steward
from catalog.feedback import FeedbackRefused
from catalog.spec import load_declarations
from tests.conftest import TEST_KEY, Declarations

NOON = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.timezone.utc)
ANN = Steward("ann", "city", "Ann Archer", approver=True)
CORA = Steward("cora", "county", "Cora Cole")
RESTRICTED = {"access": "restricted", "sharing": {"agencies": ["city"], "legal_basis": "Health Data Act s.12"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """city publishes grants and permits; county publishes a restricted dataset."""
    root = tmp_path_factory.mktemp("feedback")
    declarations = Declarations(root / "datasets")
    declarations.agency("city", name="City Council")
    declarations.agency("county", name="County Council")
    declarations.dataset()
    declarations.dataset(folder="permits", id="permits", title="Building permits")
    declarations.dataset(folder="clinics", agency="county", id="clinic_visits", title="Clinic visits", **RESTRICTED)
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for dataset_id in ("grants", "permits", "clinic_visits"):
            assert flow.publish_delivery(loaded, loaded.datasets[dataset_id], root / "home").status == "published"
    return root / "home"


@pytest.fixture
def home(built, tmp_path):
    shutil.copytree(built, tmp_path / "home")
    return tmp_path / "home"


def ask(home, text="Why does the March release have fewer rows than February?", *, dataset_id="grants",
        kind="question", session="s1", now=NOON, **extra):
    return feedback.submit(home, kind=kind, text=text, dataset_id=dataset_id, session=session, now=now, **extra)


def refusal(call) -> str:
    with pytest.raises(FeedbackRefused) as raised:
        call()
    return str(raised.value)


# ---------------------------------------------------------------------- submit and list


def test_a_question_is_listed_publicly_with_its_name_but_never_its_email(home):
    sent = ask(home, name="Pat", email="pat@example.org")
    (shown,) = feedback.for_dataset(home, "grants")
    assert (shown.id, shown.kind, shown.agency, shown.name, shown.public) == (sent.id, "question", "city", "Pat", True)
    assert shown.text.startswith("Why does the March release") and shown.email == ""
    assert feedback.for_dataset(home, "permits") == []
    (steward_view,) = feedback.for_stewards(home, "city")
    assert steward_view.email == "pat@example.org"
    assert feedback.for_stewards(home, "county") == []


def test_messages_are_stored_under_the_home_and_never_in_a_release_folder(home):
    ask(home)
    stored = home / "feedback" / "messages.jsonl"
    assert len(stored.read_text().splitlines()) == 1
    assert not [p for p in (home / "releases").rglob("*") if "feedback" in p.name or p.suffix == ".jsonl"]
    assert stored.stat().st_mode & 0o077 == 0, "the file holds email addresses: owner only"


def test_a_restricted_or_unknown_dataset_takes_no_feedback(home):
    assert "no public dataset" in refusal(lambda: ask(home, dataset_id="clinic_visits"))
    assert "no public dataset" in refusal(lambda: ask(home, dataset_id="no_such_thing"))
    assert feedback.records(home) == []


def test_a_request_names_an_agency_or_none_and_never_an_existing_dataset(home):
    wanted = "Please publish the list of public toilets with opening hours."
    for_city = feedback.submit(home, kind="request", text=wanted, agency="city", session="a", now=NOON)
    anyone = feedback.submit(home, kind="request", text="Street tree inventory with species and age, please.",
                             session="b", now=NOON)
    assert (for_city.agency, anyone.agency, for_city.dataset_id) == ("city", None, None)
    assert [m.id for m in feedback.requests(home)] == [anyone.id, for_city.id]
    assert "no agency" in refusal(lambda: feedback.submit(home, kind="request", text=wanted + " Now.", agency="mars"))
    assert "does not exist yet" in refusal(lambda: feedback.submit(home, kind="request", text=wanted + " Soon.",
                                                                   dataset_id="grants"))
    # an undecided request reaches every agency's stewards; one for city only city's
    assert {m.id for m in feedback.for_stewards(home, "county")} == {anyone.id}
    assert {m.id for m in feedback.for_stewards(home, "city")} == {anyone.id, for_city.id}


# ---------------------------------------------------------------------- spam and abuse


def test_length_links_and_honeypot_are_refused_with_their_reason(home):
    assert "at least 10 characters" in refusal(lambda: ask(home, "Why?"))
    assert "the most is 2,000" in refusal(lambda: ask(home, "word " * 500))
    links = "See https://a.example/1 and https://b.example/2 and www.c.example now"
    assert "holds 3 links; at most 2" in refusal(lambda: ask(home, links))
    assert "left empty was filled in" in refusal(lambda: ask(home, trap="http://buy.example"))
    assert "does not look like one" in refusal(lambda: ask(home, email="not-an-address"))
    assert "may not hold a link" in refusal(lambda: ask(home, name="www.cheap.example"))
    assert feedback.records(home) == []
    ask(home, "Two links are fine: https://a.example/x and https://b.example/y")
    assert len(feedback.records(home)) == 1


def test_the_same_message_twice_is_refused_even_reworded_in_case_and_punctuation(home):
    ask(home, "Is the amount column in pounds or euros?")
    said = refusal(lambda: ask(home, "is the AMOUNT column in pounds, or euros", session="other"))
    assert "already sent about this dataset on 02 Jun 2025" in said
    ask(home, "Is the amount column in pounds or euros?", dataset_id="permits")  # another dataset: fine


def test_a_session_sends_three_messages_in_ten_minutes_then_waits(home):
    for minute in range(3):
        ask(home, f"Question number {minute} about the grants data", now=NOON + dt.timedelta(minutes=minute))
    said = refusal(lambda: ask(home, "A fourth question in a row", dataset_id="permits",
                               now=NOON + dt.timedelta(minutes=4)))
    assert "3 messages in the last 10 minutes" in said and "Wait 6 minutes" in said
    ask(home, "Another visitor may still ask", session="s2", now=NOON + dt.timedelta(minutes=4))
    ask(home, "A fourth question, later on", now=NOON + dt.timedelta(minutes=10, seconds=1))
    assert len(feedback.records(home)) == 5
    sessions = json.loads((home / "feedback" / "sessions.json").read_text())
    assert "s1" not in json.dumps(sessions), "only digests of session tokens are kept"


def test_a_dataset_takes_twenty_messages_a_day(home):
    for n in range(20):
        ask(home, f"Question {n} from visitor {n}", session=f"visitor{n}", now=NOON + dt.timedelta(minutes=n))
    said = refusal(lambda: ask(home, "One more from someone new", session="new", now=NOON + dt.timedelta(hours=2)))
    assert "20 messages in the last 24 hours" in said and "dataset's contact" in said
    ask(home, "Another dataset is not affected", dataset_id="permits", session="new", now=NOON + dt.timedelta(hours=2))
    ask(home, "One more from someone new", session="new", now=NOON + dt.timedelta(days=1, minutes=1))
    assert len(feedback.for_dataset(home, "grants")) == 21


def test_invisible_characters_are_removed_before_storing(home):
    sent = ask(home, "Why\u202e is\u200b the total\x00 wrong in 2024?\r\nThanks")
    assert sent.text == "Why is the total wrong in 2024?\nThanks"


# ---------------------------------------------------------------------- personal data


@pytest.mark.parametrize("text, kind", [
    ("Please call me back on 020 7946 0018 about the totals", "a phone number"),
    ("My address is ann.lee@example.org, the grant to me is missing", "an email address"),
    ("My NHS number 943 476 5919 appears in the data", "NHS numbers"),
    ("My grant went to card 4111 1111 1111 1111 by mistake", "payment card numbers"),
    ("I live at 12 Acacia Avenue, RV1 2AB and my grant is missing", "a postcode with a house number"),
    ("Flat 3, RV1 2AB never got its grant", "a postcode with a house number"),
])
def test_a_message_with_personal_data_is_stored_but_held_back_from_the_public(home, text, kind):
    sent = ask(home, text)
    assert not sent.public and kind in sent.held_reason
    (public,) = feedback.for_dataset(home, "grants")
    assert (public.public, public.text, public.name, public.held_reason) == (False, "", "", "")
    (full,) = feedback.for_stewards(home, "city")
    assert full.text == text and kind in full.held_reason
    assert feedback.records(home)[0].public is False


def test_ordinary_numbers_and_a_bare_postcode_are_not_personal_data(home):
    for text in ("Rows 2019-2023 hold 1,234,567 grants; reference 2024-000123 is missing",
                 "The district RV1 2AB is spelled wrongly in 2024",
                 "Ward 12 has 123 rows, see 12 High Street records"):
        assert feedback.personal_data(text) == [], text


def test_a_name_holding_a_phone_number_holds_the_message_back(home):
    sent = ask(home, name="Pat 07700 900123")
    assert not sent.public and feedback.for_dataset(home, "grants")[0].name == ""


# ---------------------------------------------------------------------- answers


def test_a_steward_answers_publicly_and_the_answer_is_in_the_audit_log(home):
    question = ask(home)
    answer = feedback.answer(home, question.id, ANN, "February had a late batch; March is complete.",
                             now=NOON + dt.timedelta(hours=3))
    (shown,) = feedback.for_dataset(home, "grants")
    (public_answer,) = shown.answers
    assert (public_answer.text, public_answer.by, public_answer.by_name, public_answer.public) == \
           ("February had a late batch; March is complete.", "ann", "Ann Archer", True)
    assert public_answer.at == NOON + dt.timedelta(hours=3) and public_answer.id == answer.id
    (logged,) = audit.entries(home, action="answer-feedback")
    assert (logged.actor, logged.target) == ("ann", "grants") and question.id in logged.detail
    assert audit.verify(home) is None


def test_a_steward_of_another_agency_cannot_answer(home):
    question = ask(home)
    said = refusal(lambda: feedback.answer(home, question.id, CORA, "We are not the publisher."))
    assert "no message" in said and "county" in said
    assert feedback.for_dataset(home, "grants")[0].answers == ()
    assert audit.entries(home, action="answer-feedback") == []


def test_any_agency_answers_a_request_whose_sender_did_not_know_the_agency(home):
    request = feedback.submit(home, kind="request", text="Bus punctuality by route and month, please.",
                              session="x", now=NOON)
    feedback.answer(home, request.id, CORA, "County runs the buses; we will publish this in the autumn.")
    (shown,) = feedback.requests(home)
    assert shown.answers[0].agency == "county"
    assert audit.entries(home, action="answer-feedback")[0].target == "request:any agency"


def test_an_answer_with_personal_data_is_held_back_but_the_question_stays_public(home):
    question = ask(home)
    feedback.answer(home, question.id, ANN, "Write to me at ann.archer@city.example.org for details.")
    (shown,) = feedback.for_dataset(home, "grants")
    assert shown.public and shown.text
    assert (shown.answers[0].public, shown.answers[0].text) == (False, "")
    assert feedback.for_stewards(home, "city")[0].answers[0].text.startswith("Write to me")
    assert "held back" in audit.entries(home, action="answer-feedback")[0].detail


def test_a_steward_holds_back_a_message_the_checks_missed(home):
    question = ask(home, "Jane Doe of Mill House near the church got no grant")
    feedback.withhold(home, question.id, ANN, now=NOON + dt.timedelta(minutes=5))
    assert feedback.for_dataset(home, "grants")[0].text == ""
    assert feedback.for_stewards(home, "city")[0].text.startswith("Jane Doe")
    assert feedback.records(home)[0].public is False
    (logged,) = audit.entries(home, action="withhold-feedback")
    assert logged.actor == "ann" and question.id in logged.detail
    with pytest.raises(FeedbackRefused):
        feedback.withhold(home, question.id, CORA)


def test_an_empty_or_overlong_answer_is_refused(home):
    question = ask(home)
    assert "at least 2 characters" in refusal(lambda: feedback.answer(home, question.id, ANN, " "))
    assert "the most is 4,000" in refusal(lambda: feedback.answer(home, question.id, ANN, "x" * 4001))


def test_answering_only_appends_to_the_log(home):
    question = ask(home)
    before = (home / "feedback" / "messages.jsonl").read_bytes()
    feedback.answer(home, question.id, ANN, "It is fixed in release 2.")
    after = (home / "feedback" / "messages.jsonl").read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2


def test_a_torn_last_line_is_skipped_and_does_not_spoil_the_next_message(home):
    first = ask(home)
    with (home / "feedback" / "messages.jsonl").open("a") as log:
        log.write('{"type": "message", "id": "torn", "te')
    second = ask(home, "Is there a data dictionary for the grants?", session="s2")
    assert [m.id for m in feedback.for_dataset(home, "grants")] == [second.id, first.id]


# ---------------------------------------------------------------------- records for measures


def test_records_give_the_measures_exactly_what_they_count(home):
    question = ask(home)
    problem = ask(home, "The amount column has negative values in 2024", kind="problem", dataset_id="permits",
                  session="s2", now=NOON + dt.timedelta(minutes=1))
    request = feedback.submit(home, kind="request", text="Library visits by branch per month.", agency="county",
                              session="s3", now=NOON + dt.timedelta(minutes=2))
    held = ask(home, "Call 020 7946 0018 about my grant", session="s4", now=NOON + dt.timedelta(minutes=3))
    feedback.answer(home, question.id, ANN, "Answered first.", now=NOON + dt.timedelta(hours=1))
    feedback.answer(home, question.id, ANN, "And a follow-up.", now=NOON + dt.timedelta(hours=5))
    found = feedback.records(home)
    assert [f.name for f in dataclasses.fields(feedback.FeedbackRecord)] == \
           ["id", "dataset_id", "agency", "kind", "asked_at", "first_answer_at", "public"]
    assert [(r.id, r.dataset_id, r.agency, r.kind, r.public) for r in found] == [
        (question.id, "grants", "city", "question", True), (problem.id, "permits", "city", "problem", True),
        (request.id, None, "county", "request", True), (held.id, "grants", "city", "question", False)]
    assert found[0].asked_at == NOON and found[0].asked_at.tzinfo is not None
    assert found[0].first_answer_at == NOON + dt.timedelta(hours=1)
    assert [r.first_answer_at for r in found[1:]] == [None, None, None]
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].public = False


def test_records_of_a_home_without_feedback_are_empty(tmp_path):
    assert feedback.records(tmp_path) == []
