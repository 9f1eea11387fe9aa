"""Steward accounts: passwords kept only as scrypt hashes, sign-in that gives nothing away,
lockout after repeated failures, and sessions that end when closed or expired."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import stat
import sys

import pytest

from catalog import accounts, audit
from catalog.accounts import AccountError, Steward, add_steward, authenticate, close_session, open_session, \
    session_steward
from catalog.cli import main

PASSWORD = "correct horse battery staple"
ANN = Steward(user="ann", agency="city", name="Ann Archer", approver=True)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def ann(home) -> Steward:
    return add_steward(home, "ann", "city", "Ann Archer", PASSWORD, approver=True)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for everything accounts and the audit log do."""
    now = [dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(accounts, "_now", lambda: now[0])
    monkeypatch.setattr(audit, "_now", lambda: now[0])

    class Clock:
        def advance(self, **delta) -> None:
            now[0] += dt.timedelta(**delta)

    return Clock()


def test_the_password_is_kept_only_as_a_salted_scrypt_hash(home, ann):
    text = (home / "stewards.yaml").read_text()
    assert PASSWORD not in text
    (encoded,) = re.findall(r"password_hash: (\S+)", text)
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) >= 32
    assert stat.S_IMODE((home / "stewards.yaml").stat().st_mode) == 0o600
    add_steward(home, "bob", "city", "Bob Baker", PASSWORD)
    hashes = re.findall(r"password_hash: (\S+)", (home / "stewards.yaml").read_text())
    assert len(set(hashes)) == 2, "the same password must hash differently for two stewards"


def test_right_password_signs_in_and_lists_the_steward(home, ann):
    result = authenticate(home, "ann", PASSWORD)
    assert result.ok and result.steward == ANN and result.reason is None
    assert accounts.list_stewards(home) == [ANN]


@pytest.mark.parametrize("user, password", [("ann", PASSWORD + "!"), ("ann", ""), ("nobody", PASSWORD),
                                            ("Ann", PASSWORD), ("no such/user", PASSWORD)])
def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(home, ann, user, password):
    result = authenticate(home, user, password)
    assert (result.ok, result.steward, result.reason) == (False, None, "unknown user or wrong password")


def test_an_unknown_user_costs_the_same_hashing_as_a_known_one(home, ann, monkeypatch):
    calls = []
    real = accounts._scrypt
    monkeypatch.setattr(accounts, "_scrypt", lambda *args: calls.append(args[2:]) or real(*args))
    accounts._dummy_hash()  # made once per process, before any sign-in is timed
    authenticate(home, "ann", "not the password")
    known = list(calls)
    calls.clear()
    authenticate(home, "nobody", "not the password")
    assert calls == known == [(2**14, 8, 1)]


@pytest.mark.parametrize("user, agency, name, password, message", [
    ("ann", "city", "Ann", "short", "too short: use at least 12 characters"),
    ("ann smith", "city", "Ann", PASSWORD, "user name 'ann smith' is not allowed"),
    ("ann/../x", "city", "Ann", PASSWORD, "is not allowed"),
    ("", "city", "Ann", PASSWORD, "is not allowed"),
    ("ann", "City Hall", "Ann", PASSWORD, "is not an agency slug"),
    ("ann", "city", "  ", PASSWORD, "needs a display name"),
])
def test_bad_accounts_are_refused(home, user, agency, name, password, message):
    with pytest.raises(AccountError, match=re.escape(message)):
        add_steward(home, user, agency, name, password)
    assert not (home / "stewards.yaml").exists()


def test_a_taken_user_name_is_refused_whatever_its_case(home, ann):
    with pytest.raises(AccountError, match="a steward named 'ANN' already exists"):
        add_steward(home, "ANN", "city", "Another Ann", PASSWORD)
    assert accounts.list_stewards(home) == [ANN]


def test_a_damaged_accounts_file_is_named_in_a_clear_error(home, ann):
    (home / "stewards.yaml").write_text("- user: ann\n  agency: city\n")
    with pytest.raises(AccountError, match="stewards.yaml: steward 1 must have exactly user, agency, name"):
        authenticate(home, "ann", PASSWORD)


def test_five_failures_lock_the_user_out_for_fifteen_minutes(home, ann, clock):
    add_steward(home, "bob", "city", "Bob Baker", PASSWORD)
    for _ in range(5):
        assert authenticate(home, "ann", "guess-guess-guess").reason == "unknown user or wrong password"
        clock.advance(minutes=1)
    locked = authenticate(home, "ann", PASSWORD)
    assert not locked.ok and locked.reason == "too many failed sign-ins for 'ann'; try again in 14 minutes"
    assert authenticate(home, "bob", PASSWORD).ok, "another steward is not locked out"
    clock.advance(minutes=13)
    assert not authenticate(home, "ann", PASSWORD).ok
    clock.advance(minutes=1)
    assert authenticate(home, "ann", PASSWORD).steward == ANN


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(home, ann, clock):
    for _ in range(6):
        authenticate(home, "ann", "guess-guess-guess")
        clock.advance(minutes=4)
    assert authenticate(home, "ann", PASSWORD).ok


def test_a_successful_sign_in_clears_earlier_failures(home, ann, clock):
    for _ in range(4):
        authenticate(home, "ann", "guess-guess-guess")
    assert authenticate(home, "ann", PASSWORD).ok
    for _ in range(4):
        authenticate(home, "ann", "guess-guess-guess")
    assert authenticate(home, "ann", PASSWORD).ok


def test_unknown_users_are_locked_out_too_so_lockout_reveals_no_account(home, ann):
    for _ in range(5):
        authenticate(home, "nobody", "guess-guess-guess")
    assert authenticate(home, "nobody", PASSWORD).reason.startswith("too many failed sign-ins for 'nobody'")


def test_sign_ins_are_audited_without_the_password(home, ann):
    authenticate(home, "ann", "a wrong secret!")
    authenticate(home, "ann", PASSWORD)
    token = open_session(home, ANN)
    close_session(home, token)
    assert [(e.actor, e.action) for e in audit.entries(home)] == [
        ("ann", "failed-sign-in"), ("ann", "sign-in"), ("ann", "sign-out")]
    log = (home / "audit" / "audit.log").read_text()
    assert PASSWORD not in log and "a wrong secret!" not in log and "scrypt$" not in log
    assert audit.verify(home) is None


def test_a_session_names_its_steward_until_closed(home, ann):
    token = open_session(home, ANN)
    assert session_steward(home, token) == ANN
    assert token not in (home / "sessions.json").read_text(), "only a digest of the token is stored"
    assert stat.S_IMODE((home / "sessions.json").stat().st_mode) == 0o600
    assert session_steward(home, token + "x") is None and session_steward(home, "") is None
    close_session(home, token)
    assert session_steward(home, token) is None
    close_session(home, token)  # closing twice is harmless


def test_a_session_ends_when_its_time_is_up(home, ann, clock):
    token = open_session(home, ANN)
    clock.advance(hours=7, minutes=59)
    assert session_steward(home, token) == ANN
    clock.advance(minutes=1)
    assert session_steward(home, token) is None
    assert session_steward(home, open_session(home, ANN, ttl=dt.timedelta(seconds=-1))) is None


def test_expired_sessions_are_purged_when_the_file_is_written(home, ann):
    for _ in range(3):
        open_session(home, ANN, ttl=dt.timedelta(seconds=-1))
    live = open_session(home, ANN)
    assert (home / "sessions.json").read_text().count('"expires"') == 1
    assert session_steward(home, live) == ANN


def steward_add(monkeypatch, capsys, home, password: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    code = main(["steward", "add", "--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_adds_a_steward_from_a_piped_password_without_echoing_it(home, monkeypatch, capsys):
    code, out, err = steward_add(monkeypatch, capsys, home, PASSWORD,
                                 "--user", "ann", "--agency", "city", "--name", "Ann Archer", "--approver")
    assert (code, out, err) == (0, "added ann (Ann Archer) as steward and approver for city\n", "")
    assert authenticate(home, "ann", PASSWORD).steward == ANN


def test_cli_refuses_a_short_password_and_a_duplicate_with_one_line(home, ann, monkeypatch, capsys):
    code, out, err = steward_add(monkeypatch, capsys, home, "tooshort", "--user", "bob", "--agency", "city",
                                 "--name", "Bob")
    assert (code, out) == (1, "")
    assert err == "govcat: the password is too short: use at least 12 characters\n" and "tooshort" not in err
    code, out, err = steward_add(monkeypatch, capsys, home, PASSWORD, "--user", "ann", "--agency", "city",
                                 "--name", "Ann")
    assert (code, err) == (1, "govcat: a steward named 'ann' already exists\n")
    assert PASSWORD not in out + err
