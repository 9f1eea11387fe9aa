"""Email digests of new releases, sent to a real SMTP server on 127.0.0.1: who gets what,
nothing twice, never a dataset that is not public, and clear errors."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml
from aiosmtpd.controller import Controller

from catalog import digests, flow
from catalog.cli import main
from catalog.errors import CatalogError
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, Declarations

NOTE = 'Totals fixed: <b>bold</b> & "double" — café, 東京'
SECRET_TITLE = "Secret permits register"
SECRET_NOTE = "names of permit holders"
DROP_EMAIL = {"drop": ["email"]}
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def body(self) -> str:
        """The text as a mail client shows it (SMTP carries CRLF line ends)."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message; addresses in ``refuse`` get a 550."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.recipients == [address]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def inbox(smtp_server) -> Inbox:
    smtp_server.handler.received.clear()
    smtp_server.handler.refuse.clear()
    return smtp_server.handler


@pytest.fixture
def smtp(smtp_server) -> dict:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "sender": "news@data.example.gov"}


def declare(root: Path) -> Declarations:
    declared = Declarations(root)
    declared.agency()
    declared.agency("health", name="Health Board")
    declared.dataset(privacy=DROP_EMAIL)
    declared.dataset("clinics", agency="health", id="clinics", title="Clinic waiting times", theme="health",
                     privacy=DROP_EMAIL)
    declared.dataset("permits", id="permits", title=SECRET_TITLE, theme="health", access="restricted",
                     sharing={"agencies": ["health"], "legal_basis": "Public Health Act, section 12"},
                     privacy=DROP_EMAIL)
    return declared


def publish(declared: Declarations, home: Path, dataset_id: str, note: str = "") -> None:
    loaded = load_declarations(declared.root)
    assert flow.publish_delivery(loaded, loaded.datasets[dataset_id], home, note=note).status == "published"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """grants and clinics (public) and permits (restricted), one release each."""
    root = tmp_path_factory.mktemp("digests")
    declared, home = declare(root / "datasets"), root / "home"
    publish(declared, home, "grants", note=NOTE)
    publish(declared, home, "clinics")
    publish(declared, home, "permits", note=SECRET_NOTE)
    return home


@pytest.fixture
def home(published, tmp_path) -> Path:
    """A fresh home holding a copy of the published catalogue and no digest history."""
    fresh = tmp_path / "home"
    fresh.mkdir()
    shutil.copyfile(published / "catalogue.duckdb", fresh / "catalogue.duckdb")
    return fresh


def subscribe(home: Path, *entries: dict) -> None:
    (home / "subscribers.yaml").write_text(yaml.safe_dump(list(entries), allow_unicode=True), encoding="utf-8")


def test_each_subscriber_gets_one_email_listing_the_new_releases_in_their_scope(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"},
              {"email": "bob@example.org", "scope": "agency", "value": "city"},
              {"email": "cy@example.org", "scope": "theme", "value": "energy"})
    result = digests.send_digests(home, since=LONG_AGO, base_url="https://data.example.gov", **smtp)
    assert result.describe() == ["sent 2 new releases to ann@example.org", "sent 1 new release to bob@example.org",
                                 "nothing new for cy@example.org"]
    assert [r.recipients for r in inbox.received] == [["ann@example.org"], ["bob@example.org"]]
    (ann,), (bob,) = inbox.to("ann@example.org"), inbox.to("bob@example.org")
    assert ann.sender == "news@data.example.gov" and ann.message["From"] == "news@data.example.gov"
    assert ann.message["Subject"] == "govcat: 2 new releases of open government data"
    assert bob.message["Subject"] == "govcat: 1 new release from City of Testville"
    assert ann.body.index("* Clinic waiting times: release 1") < ann.body.index("* Community grants: release 1")
    assert "https://data.example.gov/dataset?id=clinics&release=1" in ann.body
    assert f"  Note: {NOTE}\n" in bob.body
    assert "by City of Testville" in bob.body
    assert "https://data.example.gov/dataset?id=grants&release=1" in bob.body
    assert "Clinic waiting times" not in bob.body


def test_a_second_run_sends_nothing_and_a_new_release_is_sent_alone(tmp_path, inbox, smtp):
    declared, home = declare(tmp_path / "datasets"), tmp_path / "home"
    publish(declared, home, "grants", note="first")
    subscribe(home, {"email": "ann@example.org", "scope": "dataset", "value": "grants"})
    assert len(digests.send_digests(home, since=LONG_AGO, **smtp).sent) == 1
    again = digests.send_digests(home, since=LONG_AGO, **smtp)
    assert (again.sent, again.up_to_date) == ((), ("ann@example.org",))
    assert len(inbox.received) == 1

    (declared.root / "city" / "grants" / "data" / "2024-01.csv").write_text(GOOD_ROWS + "3,East,c@example.org,1\n")
    publish(declared, home, "grants", note="second")
    third = digests.send_digests(home, since=LONG_AGO, **smtp)
    assert [(d.email, [r.release for r in d.releases]) for d in third.sent] == [("ann@example.org", [2])]
    latest = inbox.received[-1].body
    assert "Community grants: release 2" in latest and "release 1" not in latest


def test_a_release_that_became_visible_late_is_still_sent_once(home, inbox, smtp):
    """A release is stamped a moment before the catalogue showing it is swapped in."""
    subscribe(home, {"email": "ann@example.org", "scope": "all"})
    digests.send_digests(home, since=LONG_AGO, **smtp)
    con = duckdb.connect(str(home / "catalogue.duckdb"))
    con.execute("""INSERT INTO releases (dataset_id, release, published_at, rows, note)
                   SELECT 'grants', 2, max(published_at) - INTERVAL 2 SECOND, 5, 'late' FROM releases""")
    con.close()
    late = digests.send_digests(home, since=LONG_AGO, **smtp)
    assert [[(r.dataset_id, r.release) for r in d.releases] for d in late.sent] == [[("grants", 2)]]
    assert digests.send_digests(home, since=LONG_AGO, **smtp).sent == ()


def test_releases_before_since_are_left_out(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"})
    result = digests.send_digests(home, since=dt.datetime.now(dt.timezone.utc), **smtp)
    assert (result.sent, inbox.received) == ((), [])


def test_a_restricted_dataset_never_reaches_a_subscriber(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"},
              {"email": "bob@example.org", "scope": "theme", "value": "health"},
              {"email": "cy@example.org", "scope": "agency", "value": "city"})
    digests.send_digests(home, since=LONG_AGO, **smtp)
    assert len(inbox.received) == 3
    for received in inbox.received:
        text = received.message.as_string() + received.body
        assert SECRET_TITLE not in text and SECRET_NOTE not in text and "permits" not in text


def test_a_subscription_to_a_restricted_dataset_is_refused_like_an_unknown_one(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"},
              {"email": "eve@example.org", "scope": "dataset", "value": "permits"})
    with pytest.raises(CatalogError) as refused:
        digests.send_digests(home, since=LONG_AGO, **smtp)
    assert str(refused.value) == (f"{home / 'subscribers.yaml'}: entry 2 (eve@example.org): "
                                  f"there is no public dataset 'permits'")
    assert inbox.received == []


def test_one_address_with_two_subscriptions_gets_one_email_without_repeats(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "agency", "value": "health"},
              {"email": "Ann@Example.org", "scope": "theme", "value": "health"},
              {"email": "ann@example.org", "scope": "dataset", "value": "grants"})
    result = digests.send_digests(home, since=LONG_AGO, **smtp)
    (received,) = inbox.received
    assert received.message["Subject"] == "govcat: 2 new releases in your subscriptions"
    assert received.body.count("* Clinic waiting times: release 1") == 1
    assert received.body.count("* Community grants: release 1") == 1
    assert [d.email for d in result.sent] == ["ann@example.org"]


def test_the_diff_summary_is_in_the_email_when_the_catalogue_has_one(home, inbox, smtp):
    con = duckdb.connect(str(home / "catalogue.duckdb"))
    con.execute("ALTER TABLE releases ADD COLUMN IF NOT EXISTS diff VARCHAR")
    con.execute("""UPDATE releases SET diff = '{"summary": "2 rows added, 0 removed, 0 changed"}'
                   WHERE dataset_id = 'grants'""")
    con.close()
    subscribe(home, {"email": "ann@example.org", "scope": "dataset", "value": "grants"})
    digests.send_digests(home, since=LONG_AGO, **smtp)
    assert "  Changes: 2 rows added, 0 removed, 0 changed\n" in inbox.received[0].body


@pytest.mark.parametrize("entry, message", [
    ({"email": "not-an-address", "scope": "all"}, "entry 2: email: 'not-an-address' is not a valid email address"),
    ({"email": "Ann <ann@example.org>", "scope": "all"},
     "entry 2: email: 'Ann <ann@example.org>' is not a valid email address"),
    ({"scope": "all"}, "entry 2: email: missing"),
    ({"email": "bob@example.org", "scope": "region", "value": "north"},
     "entry 2 (bob@example.org): scope: 'region' is not one of all, agency, theme, dataset"),
    ({"email": "bob@example.org", "scope": "all", "colour": "red"},
     "entry 2: unknown key 'colour' (use email, scope, value)"),
])
def test_invalid_subscribers_are_refused_naming_the_entry_and_nothing_is_sent(home, inbox, smtp, entry, message):
    subscribe(home, {"email": "ann@example.org", "scope": "all"}, entry)
    with pytest.raises(CatalogError) as refused:
        digests.send_digests(home, since=LONG_AGO, **smtp)
    assert str(refused.value) == f"{home / 'subscribers.yaml'}: {message}"
    assert inbox.received == []


def test_an_unreachable_smtp_server_is_a_clear_error_and_nothing_is_remembered(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"})
    port = free_port()
    with pytest.raises(CatalogError) as failed:
        digests.send_digests(home, since=LONG_AGO, smtp_host="127.0.0.1", smtp_port=port, timeout=5)
    assert str(failed.value) == (f"cannot reach the SMTP server at 127.0.0.1:{port} (Connection refused); "
                                 f"check the SMTP host and port")
    assert len(digests.send_digests(home, since=LONG_AGO, **smtp).sent) == 1


def test_a_refused_recipient_is_reported_and_tried_again_next_time(home, inbox, smtp):
    subscribe(home, {"email": "ann@example.org", "scope": "all"}, {"email": "gone@example.org", "scope": "all"})
    inbox.refuse.add("gone@example.org")
    result = digests.send_digests(home, since=LONG_AGO, **smtp)
    assert [d.email for d in result.sent] == ["ann@example.org"]
    assert result.refused == (("gone@example.org", "550 5.1.1 mailbox unavailable"),)
    inbox.refuse.clear()
    again = digests.send_digests(home, since=LONG_AGO, **smtp)
    assert [d.email for d in again.sent] == ["gone@example.org"]


def test_no_subscribers_file_sends_nothing(home, inbox, smtp):
    assert digests.send_digests(home, since=LONG_AGO, **smtp) == digests.DigestResult()
    assert inbox.received == []


def test_govcat_digest_takes_the_server_from_the_environment(home, inbox, smtp_server, capsys, monkeypatch):
    subscribe(home, {"email": "ann@example.org", "scope": "theme", "value": "health"})
    monkeypatch.setenv("GOVCAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GOVCAT_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("GOVCAT_SMTP_SENDER", "digest@data.example.gov")
    assert main(["digest", "--home", str(home), "--since", "2000-01-01"]) == 0
    assert capsys.readouterr().out == "sent 1 new release to ann@example.org\n"
    assert inbox.received[0].message["From"] == "digest@data.example.gov"
    assert main(["digest", "--home", str(home), "--since", "2000-01-01"]) == 0
    assert capsys.readouterr().out == "nothing new for ann@example.org\n"


def test_govcat_digest_reports_bad_input_in_one_line(home, capsys):
    subscribe(home, {"email": "ann@example.org", "scope": "all"})
    assert main(["digest", "--home", str(home), "--since", "last week"]) == 1
    assert capsys.readouterr().err == ("govcat: --since 'last week' is not an ISO date or time, "
                                       "e.g. 2025-03-01 or 2025-03-01T06:00+01:00\n")
    port = free_port()
    assert main(["digest", "--home", str(home), "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                 "--since", "2000-01-01"]) == 1
    assert capsys.readouterr().err == (f"govcat: cannot reach the SMTP server at 127.0.0.1:{port} "
                                       f"(Connection refused); check the SMTP host and port\n")
