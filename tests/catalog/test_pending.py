"""Held releases: a second steward's approval, embargoes, rejection, and nothing seen before publishing."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from catalog import audit, inbox, pending
from catalog.accounts import Steward
from catalog.pending import Held, PendingError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from catalog.store import Outcome, Store
from tests.conftest import GOOD_ROWS

ANN = Steward(user="ann", agency="city", name="Ann Archer", approver=True)
BOB = Steward(user="bob", agency="city", name="Bob Baker", approver=True)
CAROL = Steward(user="carol", agency="city", name="Carol Clerk", approver=False)
OTTO = Steward(user="otto", agency="county", name="Otto Other", approver=True)
NOON = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
MORE_ROWS = GOOD_ROWS + "3,East,cat@example.org,7\n"


@pytest.fixture
def loaded(declarations):
    declarations.agency()
    declarations.agency("county", name="County of Elsewhere")
    declarations.dataset(publishing={"approval": True})
    declarations.dataset(folder="permits", id="permits")
    return load_declarations(declarations.root)


def upload(loaded, home, dataset_id: str, text: str, *, by: Steward = ANN, embargo: dt.datetime | None = None,
           now: dt.datetime | None = None) -> Outcome | Held:
    spec = loaded.datasets[dataset_id]
    received = inbox.receive(spec, home, "delivery.csv", text.encode())
    return pending.submit(loaded, spec, home, received.name, note="monthly update", uploaded_by=by.user,
                          embargo_until=embargo, now=now)


def public_rows(home, dataset_id: str) -> int | None:
    sandbox = Sandbox(home)
    try:
        if dataset_id not in sandbox.tables:
            return None
        return sandbox.query(f"SELECT count(*) FROM {dataset_id}").table.column(0)[0].as_py()
    finally:
        sandbox.close()


def actions(home) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in audit.entries(home) if e.action != "upload"]


def test_a_dataset_without_approval_or_embargo_is_published_at_once(loaded, home):
    outcome = upload(loaded, home, "permits", GOOD_ROWS)
    assert isinstance(outcome, Outcome) and (outcome.status, outcome.release, outcome.rows) == ("published", 1, 2)
    assert pending.held(home) == [] and public_rows(home, "permits") == 2


def test_a_release_needing_approval_is_held_invisible_until_a_second_steward_approves(loaded, home):
    held = upload(loaded, home, "grants", GOOD_ROWS, by=ANN)
    assert isinstance(held, Held) and held.awaiting_approval and held.uploaded_by == "ann"
    assert held.describe() == "held: awaiting approval by a second steward"
    assert pending.held(home, "grants") == [held]
    assert public_rows(home, "grants") is None and Store(home).current_release("grants") is None

    outcome = pending.approve(loaded, home, "grants", held.run_id, BOB)
    assert (outcome.status, outcome.release, outcome.rows) == ("published", 1, 2)
    assert public_rows(home, "grants") == 2
    assert pending.held(home) == [] and not held.folder.exists()
    assert actions(home) == [("bob", "approve", "grants"), ("ann", "publish", "grants")]
    filed = inbox.drop_folder(loaded.datasets["grants"], home) / "published"
    assert [p.name for p in filed.iterdir()] == [held.delivery], "the upload is filed once published"


def test_a_second_held_release_leaves_the_current_one_public(loaded, home):
    first = upload(loaded, home, "grants", GOOD_ROWS)
    pending.approve(loaded, home, "grants", first.run_id, BOB)
    second = upload(loaded, home, "grants", MORE_ROWS)
    assert isinstance(second, Held)
    assert public_rows(home, "grants") == 2
    assert [a.release for a in Store(home).history("grants")] == [1]
    pending.approve(loaded, home, "grants", second.run_id, BOB)
    assert public_rows(home, "grants") == 3


@pytest.mark.parametrize("steward, refusal", [
    (ANN, "not by the one who uploaded it"),
    (OTTO, "otto is a steward of county, not of city"),
    (CAROL, "carol may not approve releases"),
])
def test_approval_is_refused_to_the_uploader_another_agency_and_a_non_approver(loaded, home, steward, refusal):
    held = upload(loaded, home, "grants", GOOD_ROWS, by=ANN)
    with pytest.raises(PendingError, match=refusal):
        pending.approve(loaded, home, "grants", held.run_id, steward)
    assert pending.held(home) == [held] and public_rows(home, "grants") is None
    assert not audit.entries(home, action="approve")


def test_an_embargoed_release_is_published_only_once_its_time_has_passed(loaded, home):
    until = NOON + dt.timedelta(hours=2)
    held = upload(loaded, home, "permits", GOOD_ROWS, embargo=until, now=NOON)
    assert isinstance(held, Held) and not held.awaiting_approval and held.embargo_until == until
    assert held.describe(NOON) == "held: embargoed until 01 Mar 2025, 14:00 UTC"
    assert pending.release_due(loaded, home, now=NOON + dt.timedelta(hours=1, minutes=59)) == []
    assert public_rows(home, "permits") is None
    (outcome,) = pending.release_due(loaded, home, now=until)
    assert (outcome.status, outcome.release) == ("published", 1)
    assert public_rows(home, "permits") == 2 and pending.held(home) == []
    assert pending.release_due(loaded, home, now=until) == []


def test_an_embargo_given_in_another_zone_is_kept_in_utc(loaded, home):
    plus_two = dt.timezone(dt.timedelta(hours=2))
    held = upload(loaded, home, "permits", GOOD_ROWS, embargo=dt.datetime(2025, 3, 1, 16, 0, tzinfo=plus_two),
                  now=NOON)
    assert held.embargo_until == NOON + dt.timedelta(hours=2)
    assert pending.held(home)[0].embargo_until.utcoffset() == dt.timedelta(0)


def test_an_approved_but_embargoed_release_waits_for_its_time(loaded, home):
    until = NOON + dt.timedelta(days=1)
    held = upload(loaded, home, "grants", GOOD_ROWS, embargo=until, now=NOON)
    still = pending.approve(loaded, home, "grants", held.run_id, BOB, now=NOON)
    assert isinstance(still, Held) and still.approved_by == "bob" and not still.awaiting_approval
    assert public_rows(home, "grants") is None
    with pytest.raises(PendingError, match="already approved by bob"):
        pending.approve(loaded, home, "grants", held.run_id, BOB, now=NOON)
    (outcome,) = pending.release_due(loaded, home, now=until + dt.timedelta(minutes=1))
    assert outcome.status == "published" and public_rows(home, "grants") == 2


def test_release_due_never_publishes_what_still_awaits_approval(loaded, home):
    upload(loaded, home, "grants", GOOD_ROWS)
    assert pending.release_due(loaded, home, now=NOON + dt.timedelta(days=365)) == []
    assert public_rows(home, "grants") is None


@pytest.mark.parametrize("embargo, refusal", [
    (dt.datetime(2025, 3, 2, 9, 0), "needs a time zone"),
    (NOON - dt.timedelta(minutes=1), "has already passed"),
])
def test_an_embargo_without_a_zone_or_in_the_past_is_refused(loaded, home, embargo, refusal):
    with pytest.raises(PendingError, match=refusal):
        upload(loaded, home, "permits", GOOD_ROWS, embargo=embargo, now=NOON)
    assert pending.held(home) == [] and public_rows(home, "permits") is None


def test_a_rejected_release_is_removed_and_never_published(loaded, home):
    held = upload(loaded, home, "grants", GOOD_ROWS, by=ANN)
    with pytest.raises(PendingError, match="not of city"):
        pending.reject(home, "grants", held.run_id, OTTO, "wrong month")
    with pytest.raises(PendingError, match="say why"):
        pending.reject(home, "grants", held.run_id, BOB, "  ")
    pending.reject(home, "grants", held.run_id, BOB, "wrong month")
    assert pending.held(home) == [] and not held.folder.exists()
    (entry,) = audit.entries(home, action="reject")
    assert (entry.actor, entry.target) == ("bob", "grants") and entry.detail.endswith(": wrong month")
    with pytest.raises(PendingError, match="no held release"):
        pending.approve(loaded, home, "grants", held.run_id, BOB)
    assert pending.release_due(loaded, home, now=NOON + dt.timedelta(days=365)) == []
    assert public_rows(home, "grants") is None
    quarantined = inbox.drop_folder(loaded.datasets["grants"], home) / "quarantined"
    assert [p.name for p in quarantined.iterdir()] == [held.delivery]


def test_the_uploader_may_withdraw_but_a_plain_steward_may_not_reject_others(loaded, home):
    held = upload(loaded, home, "grants", GOOD_ROWS, by=ANN)
    with pytest.raises(PendingError, match="carol may not reject"):
        pending.reject(home, "grants", held.run_id, CAROL, "no")
    pending.reject(home, "grants", held.run_id, ANN, "uploaded the wrong file")
    assert pending.held(home) == []


def test_a_delivery_that_fails_validation_is_quarantined_not_held(loaded, home):
    outcome = upload(loaded, home, "grants", "id,district,email,amount\n1,North,a@example.org,-4\n")
    assert outcome.status == "quarantined" and "amount" in outcome.reason
    assert pending.held(home) == [] and not any((home / "staging").rglob("*.parquet"))


def test_a_held_release_outlives_the_staging_sweep(loaded, home):
    held = upload(loaded, home, "grants", GOOD_ROWS)
    old = time.time() - 3 * 24 * 3600
    os.utime(held.folder, (old, old))
    upload(loaded, home, "grants", MORE_ROWS)  # a later run sweeps stale staging folders
    outcome = pending.approve(loaded, home, "grants", held.run_id, BOB)
    assert outcome.status == "published" and public_rows(home, "grants") == 2


def test_a_changed_declaration_keeps_the_held_release_from_going_out(declarations, loaded, home):
    held = upload(loaded, home, "grants", GOOD_ROWS)
    declarations.dataset(publishing={"approval": True}, privacy={"drop": ["email"]})
    changed = load_declarations(declarations.root)
    with pytest.raises(PendingError, match="changed after this release was prepared"):
        pending.approve(changed, home, "grants", held.run_id, BOB)
    assert public_rows(home, "grants") is None
