"""Email digests of new releases, sent through an SMTP server.

Subscribers are listed in ``<home>/subscribers.yaml``::

    - email: ann@example.org            # every public dataset
      scope: all
    - email: bob@example.org
      scope: agency                     # or theme, or dataset
      value: city

Each address gets at most one plain-text email per run, listing the releases of its
subscriptions published after ``since`` that it has not been sent before; an address with
nothing new gets no email. What each subscription was sent is remembered in
``<home>/digest-state.json`` (replaced atomically after every email, so a run that fails
half-way does not send the same releases twice).

A release can become visible a moment after its ``published_at`` (the catalogue is swapped
in after the release is stamped), so a subscription looks back ``OVERLAP`` before the
newest release it was sent and skips the releases it already got, instead of trusting a
single timestamp.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import duckdb

from catalog import feeds
from catalog.errors import CatalogError
from catalog.files import exclusive_lock, write_atomically
from catalog.feeds import ReleaseNews, Scope
from catalog.settings import HomeLayout
from catalog.yamlfile import YamlProblem, read_yaml

STATE_FILE = "digest-state.json"
OVERLAP = dt.timedelta(hours=1)
SUBSCRIBER_KEYS = ("email", "scope", "value")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class Subscription:
    """One entry of subscribers.yaml; ``entry`` is its position there, counted from 1."""

    entry: int
    email: str
    scope: str
    value: str | None

    @property
    def key(self) -> str:
        """Names the subscription in the state file."""
        return f"{self.email.lower()} {self.scope}:{self.value or ''}"

    def where(self, path: Path) -> str:
        return f"{path}: entry {self.entry} ({self.email})"


@dataclass(frozen=True)
class SentDigest:
    email: str
    subject: str
    releases: tuple[ReleaseNews, ...]


@dataclass(frozen=True)
class DigestResult:
    """What one run did: emails sent, addresses with nothing new, addresses the server refused."""

    sent: tuple[SentDigest, ...] = ()
    up_to_date: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()

    def describe(self) -> list[str]:
        lines = [f"sent {len(d.releases)} new release{'s' if len(d.releases) != 1 else ''} to {d.email}"
                 for d in self.sent]
        lines += [f"nothing new for {email}" for email in self.up_to_date]
        lines += [f"not sent to {email}: the SMTP server refused it ({reason})" for email, reason in self.refused]
        return lines


@dataclass(frozen=True)
class _Digest:
    """One email to build and send, with what each of its subscriptions will have been sent."""

    email: str
    message: EmailMessage
    releases: tuple[ReleaseNews, ...]
    per_subscription: dict[str, list[ReleaseNews]]


# --------------------------------------------------------------------------- subscribers


def load_subscriptions(path: Path) -> list[Subscription]:
    """Read subscribers.yaml; a missing file means nobody is subscribed."""
    if not path.is_file():
        return []
    try:
        data = read_yaml(path)
    except YamlProblem as exc:
        raise CatalogError(f"{path} {exc}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise CatalogError(f"{path} must be a list of entries, each with email, scope and value")
    problems: list[str] = []
    subscriptions = [s for number, item in enumerate(data, start=1)
                     if (s := _subscription(path, number, item, problems)) is not None]
    _raise_problems(path, problems)
    return subscriptions


def _subscription(path: Path, number: int, item, problems: list[str]) -> Subscription | None:
    where = f"{path}: entry {number}"
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a mapping with email, scope and value")
        return None
    unknown = [str(k) for k in item if k not in SUBSCRIBER_KEYS]
    if unknown:
        problems.append(f"{where}: unknown key {unknown[0]!r} (use {', '.join(SUBSCRIBER_KEYS)})")
        return None
    email, scope, value = item.get("email"), item.get("scope", "all"), item.get("value")
    if not isinstance(email, str) or not is_valid_address(email.strip()):
        shown = "missing" if email is None else f"{email!r} is not a valid email address"
        problems.append(f"{where}: email: {shown}")
        return None
    where = f"{where} ({email.strip()})"
    if scope not in feeds.SCOPES:
        problems.append(f"{where}: scope: {scope!r} is not one of {', '.join(feeds.SCOPES)}")
        return None
    if value is not None and not isinstance(value, str):
        problems.append(f"{where}: value: must be text, not {value!r}")
        return None
    return Subscription(number, email.strip(), scope, value.strip() if value else None)


def is_valid_address(address: str) -> bool:
    """A plain ``local@domain`` address (no display name, ASCII only)."""
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None


def _raise_problems(path: Path, problems: list[str]) -> None:
    if len(problems) == 1:
        raise CatalogError(problems[0])
    if problems:
        raise CatalogError("\n".join([f"{len(problems)} problems in {path}:", *(f"  - {p}" for p in problems)]))


# --------------------------------------------------------------------------- sending


def send_digests(home: Path, *, since: dt.datetime, smtp_host: str = "localhost", smtp_port: int = 25,
                 sender: str = "govcat@localhost", starttls: bool = False, username: str | None = None,
                 password: str | None = None, base_url: str = feeds.DEFAULT_BASE_URL,
                 timeout: float = 30.0) -> DigestResult:
    """Email each subscriber the releases in their scopes published after ``since`` and not sent before.

    A naive ``since`` is taken as UTC. Nothing is sent, and the SMTP server is not contacted,
    when no subscriber has anything new.
    """
    layout = HomeLayout(Path(home))
    if not is_valid_address(sender):
        raise CatalogError(f"the sender {sender!r} is not a valid email address")
    if password and not username:
        raise CatalogError("an SMTP password was given without a user name")
    subscriptions = load_subscriptions(layout.subscribers)
    if not subscriptions:
        return DigestResult()
    con = feeds.open_catalogue(layout.catalogue)
    with exclusive_lock(layout.root / f"{STATE_FILE}.lock"):  # one run at a time: no release sent twice
        try:
            state = _read_state(layout.root / STATE_FILE)
            digests, up_to_date = _plan(con, layout.subscribers, subscriptions, state, since, sender, base_url)
        finally:
            con.close()
        if not digests:
            return DigestResult(up_to_date=tuple(up_to_date))
        sent, refused = _deliver(digests, state, layout.root / STATE_FILE, _Server(
            smtp_host, smtp_port, starttls, username, password, timeout))
    return DigestResult(tuple(sent), tuple(up_to_date), tuple(refused))


def _plan(con: duckdb.DuckDBPyConnection, subscribers: Path, subscriptions: list[Subscription], state: dict,
          since: dt.datetime, sender: str, base_url: str) -> tuple[list[_Digest], list[str]]:
    """Work out every email to send, before talking to the SMTP server."""
    scopes, problems = {}, []
    for sub in subscriptions:
        try:
            scopes[sub.key] = feeds.resolve_scope(con, sub.scope, sub.value)
        except CatalogError as exc:
            problems.append(f"{sub.where(subscribers)}: {exc}")
    _raise_problems(subscribers, problems)
    news = {sub.key: _unsent(con, scopes[sub.key], state.get(sub.key), since) for sub in subscriptions}
    digests, up_to_date = [], []
    for email, subs in _by_address(subscriptions).items():
        releases = _merge(news[s.key] for s in subs)
        if not releases:
            up_to_date.append(email)
            continue
        message = _message(email, sender, [scopes[s.key] for s in subs], releases, base_url, subscribers)
        digests.append(_Digest(email, message, tuple(releases), {s.key: news[s.key] for s in subs}))
    return digests, up_to_date


def _unsent(con: duckdb.DuckDBPyConnection, scope: Scope, remembered: dict | None,
            since: dt.datetime) -> list[ReleaseNews]:
    since = feeds.as_utc(since)
    if not remembered:
        return feeds.release_news(con, scope, since=since)
    until = dt.datetime.fromisoformat(remembered["until"])
    already = set(remembered.get("recent", {}))
    found = feeds.release_news(con, scope, since=max(since, until - OVERLAP))
    return [item for item in found if _release_key(item) not in already]


def _by_address(subscriptions: list[Subscription]) -> dict[str, list[Subscription]]:
    grouped: dict[str, list[Subscription]] = {}
    for sub in subscriptions:
        grouped.setdefault(sub.email.lower(), []).append(sub)
    return {subs[0].email: subs for subs in grouped.values()}


def _merge(lists) -> list[ReleaseNews]:
    """Every release once, newest first."""
    unique = {_release_key(item): item for items in lists for item in items}
    return sorted(unique.values(), key=lambda item: (item.published_at, item.dataset_id, item.release), reverse=True)


def _message(email: str, sender: str, scopes: list[Scope], releases: list[ReleaseNews], base_url: str,
             subscribers: Path) -> EmailMessage:
    count = f"{len(releases)} new release{'s' if len(releases) != 1 else ''}"
    phrase = scopes[0].phrase if len(scopes) == 1 else "in your subscriptions"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email
    message["Subject"] = _one_line(f"govcat: {count} {phrase}")
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(email, scopes, releases, count, base_url, subscribers))
    return message


def _body(email: str, scopes: list[Scope], releases: list[ReleaseNews], count: str, base_url: str,
          subscribers: Path) -> str:
    lines = [f"{count} {scopes[0].phrase if len(scopes) == 1 else 'for your subscriptions'}:", ""]
    for item in releases:
        lines.append(f"* {_one_line(item.heading)}")
        lines.append(f"  Published {item.published_at:%Y-%m-%d %H:%M} UTC by {_one_line(item.agency_name)}")
        note = item.note.strip()
        lines.append("  Note: " + ("\n        ".join(note.splitlines()) if note else "(no release note)"))
        if item.diff_summary:
            lines.append(f"  Changes: {item.diff_summary}")
        if item.rows is not None:
            lines.append(f"  Rows: {item.rows:,}")
        lines.append(f"  {item.link(base_url)}")
        lines.append("")
    covered = "; ".join(f"new releases {scope.phrase}" for scope in scopes)
    lines += ["-- ", f"You get this email because {email} is subscribed to {covered}.",
              f"To stop it, ask the catalogue's administrators to remove you from {subscribers.name}."]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    timeout: float

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self) -> smtplib.SMTP:
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise CatalogError(f"cannot reach the SMTP server at {self.name} ({_reason(exc)}); "
                               f"check the SMTP host and port") from None
        try:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError:
            client.close()
            raise CatalogError(f"the SMTP server at {self.name} refused the user name or password") from None
        except smtplib.SMTPNotSupportedError as exc:
            client.close()
            raise CatalogError(f"the SMTP server at {self.name} does not support {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise CatalogError(f"could not start a session with the SMTP server at {self.name} "
                               f"({_reason(exc)})") from None
        return client


def _deliver(digests: list[_Digest], state: dict, state_path: Path,
             server: _Server) -> tuple[list[SentDigest], list[tuple[str, str]]]:
    sent: list[SentDigest] = []
    refused: list[tuple[str, str]] = []
    client = server.connect()
    try:
        for digest in digests:
            try:
                client.send_message(digest.message)
            except smtplib.SMTPRecipientsRefused as exc:
                refused.append((digest.email, _reason(exc)))
                continue
            except smtplib.SMTPDataError as exc:
                refused.append((digest.email, _reason(exc)))
                continue
            except smtplib.SMTPSenderRefused as exc:
                raise CatalogError(f"the SMTP server at {server.name} refused the sender "
                                   f"{digest.message['From']} ({_reason(exc)})") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise CatalogError(f"the SMTP server at {server.name} failed after {len(sent)} of {len(digests)} "
                                   f"digests were sent ({_reason(exc)}); run again to send the rest") from None
            for key, releases in digest.per_subscription.items():
                state[key] = _remember(state.get(key), releases)
            write_atomically(state_path, json.dumps({"subscriptions": state}, indent=2, sort_keys=True))
            sent.append(SentDigest(digest.email, str(digest.message["Subject"]), digest.releases))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return sent, refused


def _reason(exc: Exception) -> str:
    """The human part of a socket or SMTP error."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {_decode(text)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_decode(exc.smtp_error)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _decode(text) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- remembering what was sent


def _release_key(item: ReleaseNews) -> str:
    return f"{item.dataset_id}/{item.release}"


def _remember(remembered: dict | None, releases: list[ReleaseNews]) -> dict:
    """The newest release time sent, and the releases sent within ``OVERLAP`` before it."""
    recent = dict((remembered or {}).get("recent", {}))
    recent.update({_release_key(item): item.published_at.isoformat() for item in releases})
    until = max(dt.datetime.fromisoformat(moment) for moment in recent.values())
    if remembered:
        until = max(until, dt.datetime.fromisoformat(remembered["until"]))
    recent = {key: moment for key, moment in recent.items() if dt.datetime.fromisoformat(moment) > until - OVERLAP}
    return {"until": until.isoformat(), "recent": recent}


def _read_state(path: Path) -> dict:
    """Per subscription key: ``until`` (newest release time sent) and ``recent`` (key -> time)."""
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))["subscriptions"]
        for remembered in state.values():
            dt.datetime.fromisoformat(remembered["until"])
            for moment in remembered.get("recent", {}).values():
                dt.datetime.fromisoformat(moment)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise CatalogError(f"{path} is damaged: delete it to start again (each subscriber is then sent "
                           f"every release after the chosen start date)") from None
    return state
