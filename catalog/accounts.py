"""Steward accounts, sign-in and sessions.

Accounts live in ``<home>/stewards.yaml``, a list of ``{user, agency, name,
password_hash, approver}``, readable by its owner only. Passwords are kept as scrypt
hashes (``scrypt$n$r$p$salt_b64$hash_b64``) and compared in constant time.

Sessions and recent failed sign-ins live in ``<home>/sessions.json``. A session is known
there only by the SHA-256 of its token, so the file alone cannot be used to sign in.
After ``MAX_FAILURES`` failed sign-ins for one user within ``FAILURE_WINDOW`` that user
is refused for ``LOCKOUT``, whatever the password.

``authenticate`` and ``close_session`` write their own sign-in, failed-sign-in and
sign-out entries to the audit log; callers need not (and should not) record them again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from catalog import audit
from catalog.errors import CatalogError
from catalog.files import exclusive_lock, write_atomically
from catalog.settings import HomeLayout
from catalog.spec import SLUG
from catalog.yamlfile import YamlProblem, read_yaml

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
DEFAULT_SESSION_TTL = dt.timedelta(hours=8)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
WRONG_CREDENTIALS = "unknown user or wrong password"


class AccountError(CatalogError):
    """A steward account could not be created, or the accounts file is unreadable."""


@dataclass(frozen=True)
class Steward:
    """Who a signed-in person is: their user name, agency, display name, and whether they approve releases."""

    user: str
    agency: str
    name: str
    approver: bool = False


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the steward, or None and the reason to show the person."""

    steward: Steward | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.steward is not None


# ---------------------------------------------------------------------- accounts


def add_steward(home: Path | str, user: str, agency: str, name: str, password: str,
                approver: bool = False) -> Steward:
    """Create a steward account; refuses a malformed user name, a taken one, or a short password."""
    if not USER_NAME.match(user or ""):
        raise AccountError(f"user name {user!r} is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'")
    if not SLUG.match(agency or ""):
        raise AccountError(f"agency {agency!r} is not an agency slug (lower-case letters, digits and '_')")
    name = (name or "").strip()
    if not name or "\n" in name:
        raise AccountError("a steward needs a display name on one line")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    layout = HomeLayout(Path(home))
    steward = Steward(user=user, agency=agency, name=name, approver=bool(approver))
    with exclusive_lock(layout.stewards.with_name(layout.stewards.name + ".lock")):
        records = _read_records(layout.stewards)
        if any(r["user"].lower() == user.lower() for r in records):
            raise AccountError(f"a steward named {user!r} already exists")
        records.append({"user": user, "agency": agency, "name": name, "password_hash": hash_password(password),
                        "approver": steward.approver})
        text = yaml.safe_dump(records, sort_keys=False, allow_unicode=True)
        write_atomically(layout.stewards, text, private=True)
    return steward


def list_stewards(home: Path | str) -> list[Steward]:
    """Every steward account, in the order they were added."""
    return [_steward(r) for r in _read_records(HomeLayout(Path(home)).stewards)]


def authenticate(home: Path | str, user: str, password: str) -> SignIn:
    """Check a user name and password. Takes as long for an unknown user as for a known one,
    and refuses a user locked out by too many recent failures."""
    layout = HomeLayout(Path(home))
    if not USER_NAME.match(user or ""):
        verify_password(password, _dummy_hash())
        return SignIn(None, WRONG_CREDENTIALS)
    now = _now()
    with _sign_in_state(layout, now) as state:
        refusal = _lockout_reason(state, user, now)
        if refusal is None:  # counted as a failure until the password proves right
            state["failures"].setdefault(user, []).append(now.isoformat())
    if refusal is not None:
        audit.record(layout.root, actor=user, action="failed-sign-in", detail=refusal)
        return SignIn(None, refusal)

    found = next((r for r in _read_records(layout.stewards) if r["user"] == user), None)
    matches = verify_password(password, found["password_hash"] if found else _dummy_hash())
    steward = _steward(found) if found is not None and matches else None

    with _sign_in_state(layout, now) as state:
        if steward is not None:
            state["failures"].pop(user, None)
        elif len(state["failures"].get(user, [])) >= MAX_FAILURES:
            state["locked_until"][user] = (now + LOCKOUT).isoformat()
    if steward is None:
        audit.record(layout.root, actor=user, action="failed-sign-in", detail=WRONG_CREDENTIALS)
        return SignIn(None, WRONG_CREDENTIALS)
    audit.record(layout.root, actor=user, action="sign-in", target=steward.agency)
    return SignIn(steward)


# ---------------------------------------------------------------------- sessions


def open_session(home: Path | str, steward: Steward, ttl: dt.timedelta = DEFAULT_SESSION_TTL) -> str:
    """Start a session for a signed-in steward; returns the token to hand to the browser."""
    token = secrets.token_urlsafe(32)
    layout = HomeLayout(Path(home))
    now = _now()
    with _sign_in_state(layout, now) as state:
        state["sessions"][_digest(token)] = {"user": steward.user, "expires": (now + ttl).isoformat()}
    return token


def session_steward(home: Path | str, token: str) -> Steward | None:
    """The steward a token belongs to, or None when it is unknown, expired or closed."""
    if not isinstance(token, str) or not token:
        return None
    layout = HomeLayout(Path(home))
    session = _read_state(layout.sessions)["sessions"].get(_digest(token))
    if session is None or _as_time(session["expires"]) <= _now():
        return None
    found = next((r for r in _read_records(layout.stewards) if r["user"] == session["user"]), None)
    return _steward(found) if found is not None else None


def close_session(home: Path | str, token: str) -> None:
    """End a session (signing out); closing an unknown or closed session does nothing."""
    if not isinstance(token, str) or not token:
        return
    layout = HomeLayout(Path(home))
    with _sign_in_state(layout, _now()) as state:
        session = state["sessions"].pop(_digest(token), None)
    if session is not None:
        audit.record(layout.root, actor=session["user"], action="sign-out")


# ---------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    """A new scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a hash made by ``hash_password`` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
        return hmac.compare_digest(digest, base64.b64decode(expected, validate=True))
    except ValueError:
        return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=64, maxmem=64 * 1024 * 1024)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash no one knows the password of, checked for unknown users so they cost the same time."""
    return hash_password(secrets.token_urlsafe(16))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------- files


def _read_records(path: Path) -> list[dict[str, Any]]:
    """The accounts file's entries, checked; an absent file holds no accounts."""
    if not path.exists():
        return []
    try:
        data = read_yaml(path)
    except YamlProblem as exc:
        raise AccountError(f"{path.name} {exc}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise AccountError(f"{path.name} must hold a list of stewards")
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict) or set(record) != {"user", "agency", "name", "password_hash", "approver"}:
            raise AccountError(f"{path.name}: steward {number} must have exactly user, agency, name, "
                               f"password_hash and approver")
        if not all(isinstance(record[k], str) for k in ("user", "agency", "name", "password_hash")) \
                or not isinstance(record["approver"], bool):
            raise AccountError(f"{path.name}: steward {number} has a value of the wrong type "
                               f"(approver is true or false, the rest are text)")
    return data


def _steward(record: dict[str, Any]) -> Steward:
    return Steward(user=record["user"], agency=record["agency"], name=record["name"], approver=record["approver"])


def _read_state(path: Path) -> dict[str, dict]:
    empty: dict[str, dict] = {"sessions": {}, "failures": {}, "locked_until": {}}
    if not path.exists():
        return empty
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise AccountError(f"{path.name} is damaged; delete it to sign every steward out") from None
    if not isinstance(state, dict) or not all(isinstance(state.get(k, {}), dict) for k in empty):
        raise AccountError(f"{path.name} is damaged; delete it to sign every steward out")
    return {**empty, **{k: state[k] for k in empty if k in state}}


@contextmanager
def _sign_in_state(layout: HomeLayout, now: dt.datetime) -> Iterator[dict[str, dict]]:
    """Read, change and atomically rewrite the sessions file under its lock, dropping what has expired."""
    with exclusive_lock(layout.sessions.with_name(layout.sessions.name + ".lock")):
        state = _read_state(layout.sessions)
        yield state
        state["sessions"] = {k: v for k, v in state["sessions"].items() if _as_time(v["expires"]) > now}
        state["locked_until"] = {u: t for u, t in state["locked_until"].items() if _as_time(t) > now}
        recent = {u: [t for t in times if now - _as_time(t) < FAILURE_WINDOW]
                  for u, times in state["failures"].items()}
        state["failures"] = {u: times for u, times in recent.items() if times}
        write_atomically(layout.sessions, json.dumps(state, indent=1, sort_keys=True), private=True)


def _lockout_reason(state: dict[str, dict], user: str, now: dt.datetime) -> str | None:
    until = state["locked_until"].get(user)
    recent = [t for t in state["failures"].get(user, []) if now - _as_time(t) < FAILURE_WINDOW]
    if until is not None and _as_time(until) > now:
        wait = _as_time(until) - now
    elif len(recent) >= MAX_FAILURES:  # failures still being checked by concurrent sign-ins
        wait = LOCKOUT
    else:
        return None
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return f"too many failed sign-ins for {user!r}; try again in {minutes} minute{'s' if minutes != 1 else ''}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _as_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
