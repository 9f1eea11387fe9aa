"""Questions, problem reports and requests for new datasets from the public, and the stewards' answers.

Everything lives in ``<home>/feedback/messages.jsonl``, one JSON object a line, appended and never
rewritten: a ``message`` (a question or problem about a public dataset, or a request for a dataset
that does not exist yet), an ``answer`` to one, or a ``withhold`` (a steward holding a message back
from the public). The state of a message is what its lines add up to.

A message or answer holding personal data (see ``personal_data``) is stored but never shown to the
public, which sees only that it was held back; the stewards of its agency read it in full. An
email address given for a reply is never public either.

Spam and abuse limits, each refusal with its reason (``FeedbackRefused``): lengths, links, a
honeypot field people leave empty, identical messages, ``SESSION_LIMIT`` messages per browser
session in ``SESSION_WINDOW`` and ``TARGET_LIMIT`` per dataset (or per agency's requests) in
``TARGET_WINDOW``. The session limit is kept in ``<home>/feedback/sessions.json`` as digests of
session tokens with the times they sent something, pruned after ``SESSION_WINDOW``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from catalog import audit
from catalog.accounts import Steward
from catalog.errors import CatalogError
from catalog.files import append_line, exclusive_lock, write_atomically
from catalog.identifiers import EMAIL_PATTERN, KINDS, PHONE_IN_TEXT
from catalog.settings import HomeLayout

KINDS_OF_MESSAGE = ("question", "problem", "request")
ABOUT_A_DATASET = ("question", "problem")

MIN_TEXT = 10
MAX_TEXT = 2000
MAX_ANSWER = 4000
MAX_NAME = 80
MAX_EMAIL = 254
MAX_LINKS = 2
MAX_ANSWER_LINKS = 10
SESSION_LIMIT = 3
SESSION_WINDOW = dt.timedelta(minutes=10)
TARGET_LIMIT = 20
TARGET_WINDOW = dt.timedelta(days=1)

HELD_BACK = "held back: it contained personal data"

# A link: a URL, or a bare domain of the top-level domains spam uses most.
_LINK = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)\S+"
                   r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|info|biz|ru|cn|xyz|top|io)(?:/\S*)?\b")
_INVISIBLE = {"Cc", "Cf", "Co", "Cs"}
_WHOLE_EMAIL = re.compile(EMAIL_PATTERN, re.ASCII)
_PHONE = re.compile(PHONE_IN_TEXT, re.ASCII)
MIN_PHONE_DIGITS = 9
# A full UK postcode; with a house or flat number shortly before it, it points at one home.
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
_STREETS = ("street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|way|court|ct|place|pl|crescent|cres|gardens|"
            "terrace|hill|square|sq|row|grove|park|walk|mews|view|rise|green|parade|wharf|yard|gate|vale")
_HOUSE_NUMBER = re.compile(
    rf"\b(?:flat|apartment|apt|unit|house|no\.?)\s*[0-9]{{1,4}}[a-z]?\b"
    rf"|\b[0-9]{{1,4}}[a-z]?,?\s+(?:[a-z][a-z'-]*\s+){{1,3}}(?:{_STREETS})\b"
    rf"|\b[0-9]{{1,4}}[a-z]?,\s*$", re.IGNORECASE)
ADDRESS_REACH = 80  # characters before a postcode in which its house number is looked for


class FeedbackRefused(CatalogError):
    """A message or answer was not taken; the message says why, for the person who wrote it."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One message as the catalogue's measures count it: no text, no name, no email."""

    id: str
    dataset_id: str | None
    agency: str | None
    kind: str
    asked_at: dt.datetime
    first_answer_at: dt.datetime | None
    public: bool


@dataclass(frozen=True)
class Answer:
    """A steward's answer. ``text`` is empty in the public view when it is held back."""

    id: str
    message_id: str
    text: str
    by: str
    by_name: str
    agency: str
    at: dt.datetime
    public: bool
    held_reason: str = ""


@dataclass(frozen=True)
class Message:
    """A question, problem report or request, with its answers, oldest first.

    In the public view (``for_dataset``, ``requests``) ``email`` is always empty, and a message
    held back has no text, name or reason."""

    id: str
    kind: str
    dataset_id: str | None
    agency: str | None
    text: str
    name: str
    email: str
    asked_at: dt.datetime
    public: bool
    held_reason: str = ""
    answers: tuple[Answer, ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.answers)


# ---------------------------------------------------------------------- what counts as personal data


def personal_data(text: str) -> list[str]:
    """The kinds of personal data found in ``text``, in plain words (empty: none found).

    Identifiers use the checks of ``catalog.identifiers`` (a card number must pass Luhn, an NHS
    number its check digit); an email address or a phone number of nine digits or more counts as
    written; a postcode counts when a house or flat number comes shortly before it."""
    found = []
    if _WHOLE_EMAIL.search(text):
        found.append("an email address")
    if any(len(re.sub(r"[^0-9]", "", m.group(0))) >= MIN_PHONE_DIGITS for m in _PHONE.finditer(text)):
        found.append("a phone number")
    for kind in KINDS:
        if kind.holds is None:
            continue
        if any(kind.holds(m.group(0)) for m in re.finditer(kind.shape, text, re.ASCII)):
            found.append(kind.name)
    if any(_HOUSE_NUMBER.search(text[max(0, m.start() - ADDRESS_REACH):m.start()]) for m in _POSTCODE.finditer(text)):
        found.append("a home address (a postcode with a house number)")
    return found


# ---------------------------------------------------------------------- the public side


def submit(home: Path | str, *, kind: str, text: str, dataset_id: str | None = None, agency: str | None = None,
           name: str = "", email: str = "", trap: str = "", session: str = "",
           now: dt.datetime | None = None) -> Message:
    """Take one message from the public and return it as stored, or raise ``FeedbackRefused``.

    A question or problem names a public ``dataset_id`` (its agency is the dataset's); a request
    names no dataset and an ``agency`` slug, or None when the person does not know which.
    ``trap`` is the honeypot field; ``session`` identifies the browser session for its limit."""
    now = _aware(now)
    if _clean(trap):
        raise FeedbackRefused("Not sent: the field that must be left empty was filled in. People leave it "
                              "empty; programs that send spam fill it.")
    if kind not in KINDS_OF_MESSAGE:
        raise FeedbackRefused(f"Not sent: a message is a {', a '.join(KINDS_OF_MESSAGE[:-1])} or a "
                              f"{KINDS_OF_MESSAGE[-1]}.")
    text, name, email = _clean(text), _clean(name).replace("\n", " "), _clean(email)
    _check_text(text, MAX_TEXT, MAX_LINKS, "your message")
    if len(name) > MAX_NAME:
        raise FeedbackRefused(f"Not sent: a name may be at most {MAX_NAME} characters long.")
    if _LINK.search(name):
        raise FeedbackRefused("Not sent: a name may not hold a link.")
    if email and (len(email) > MAX_EMAIL or not _WHOLE_EMAIL.fullmatch(email)):
        raise FeedbackRefused("Not sent: the email address for a reply does not look like one "
                              "(name@example.org); correct it or leave it empty.")
    dataset_id, agency = _target(home, kind, dataset_id, agency)
    held = personal_data(f"{name}\n{text}")
    target = _target_key(dataset_id, agency)
    folder = _folder(home)
    with exclusive_lock(folder / ".lock"):
        messages = _messages(home, lambda e: _target_key(e.get("dataset_id"), e.get("agency")) == target,
                             _about(dataset_id) if dataset_id else None)
        _check_duplicate(messages, text, dataset_id)
        _check_target_limit(messages, now, target)
        sent = _check_session_limit(home, session, now)
        line = {"type": "message", "id": _new_id(home, "m"), "at": now.isoformat(), "kind": kind,
                "dataset_id": dataset_id, "agency": agency, "text": text, "name": name, "email": email,
                "held": held}
        _append(home, line)
        if session:
            _save_sessions(home, {**sent, _digest(session): [*sent.get(_digest(session), []), now.isoformat()]})
    return _message(line)


def for_dataset(home: Path | str, dataset_id: str) -> list[Message]:
    """The public view of the questions and problem reports about one dataset, newest first."""
    found = _messages(home, lambda e: e.get("dataset_id") == dataset_id, _about(str(dataset_id)))
    return [_public(m) for m in found.values()][::-1]


def requests(home: Path | str) -> list[Message]:
    """The public view of every request for a new dataset, newest first."""
    return [_public(m) for m in _messages(home, lambda e: e["kind"] == "request").values()][::-1]


def agencies(home: Path | str) -> dict[str, str]:
    """The agencies a request may name, slug to name, by name; empty when nothing is published."""
    try:
        with _catalogue(home) as con:
            return dict(con.execute("SELECT slug, name FROM agencies ORDER BY lower(name), slug").fetchall())
    except FeedbackRefused:
        return {}


# ---------------------------------------------------------------------- the stewards' side


def for_stewards(home: Path | str, agency: str) -> list[Message]:
    """Everything an agency's stewards read in full, newest first: messages about its datasets,
    requests addressed to it, and requests whose sender did not know the agency."""
    return [m for m in _messages(home, lambda e: _may_answer(e["kind"], e.get("agency"), agency)).values()][::-1]


def answer(home: Path | str, message_id: str, steward: Steward, text: str,
           now: dt.datetime | None = None) -> Answer:
    """Record a steward's answer (public unless it holds personal data) and log it in the audit log."""
    now = _aware(now)
    text = _clean(text)
    _check_text(text, MAX_ANSWER, MAX_ANSWER_LINKS, "the answer", minimum=2)
    with exclusive_lock(_folder(home) / ".lock"):
        message = _answerable(home, message_id, steward)
        held = personal_data(text)
        line = {"type": "answer", "id": _new_id(home, "a"), "message_id": message.id,
                "dataset_id": message.dataset_id, "at": now.isoformat(),
                "by": steward.user, "by_name": steward.name, "agency": steward.agency, "text": text, "held": held}
        note = " (held back from the public: it contains personal data)" if held else ""
        # logged first: an answer the audit log cannot take is not stored
        audit.record(home, actor=steward.user, action="answer-feedback", target=_audit_target(message),
                     detail=f"answer {line['id']} to {message.kind} {message.id}{note}")
        _append(home, line)
    return _answer(line)


def withhold(home: Path | str, message_id: str, steward: Steward, now: dt.datetime | None = None) -> None:
    """Hold a message back from the public because it holds personal data the checks missed
    (a name with an address, say); it stays readable by the stewards. Logged in the audit log."""
    now = _aware(now)
    with exclusive_lock(_folder(home) / ".lock"):
        message = _answerable(home, message_id, steward)
        if not message.public:
            return
        audit.record(home, actor=steward.user, action="withhold-feedback", target=_audit_target(message),
                     detail=f"held back {message.kind} {message.id}: personal data")
        _append(home, {"type": "withhold", "message_id": message.id, "dataset_id": message.dataset_id,
                       "at": now.isoformat(), "by": steward.user})


# ---------------------------------------------------------------------- for measures


def records(home: Path | str) -> list[FeedbackRecord]:
    """Every message, oldest first, as counts see it: when it came, when it was first answered,
    and whether it is public."""
    found: dict[str, dict] = {}  # one pass, no texts kept: the log may be long
    for event in _events(home):
        try:
            kind, key = event["type"], event.get("message_id")
            if kind == "message" and event["kind"] in KINDS_OF_MESSAGE and event["id"] not in found:
                found[event["id"]] = {"id": str(event["id"]), "dataset_id": event.get("dataset_id") or None,
                                      "agency": event.get("agency") or None, "kind": event["kind"],
                                      "asked_at": _parse_time(event["at"]), "first_answer_at": None,
                                      "public": not event.get("held")}
            elif kind == "answer" and key in found:
                at, first = _parse_time(event["at"]), found[key]["first_answer_at"]
                found[key]["first_answer_at"] = at if first is None or at < first else first
            elif kind == "withhold" and key in found:
                found[key]["public"] = False
        except (KeyError, TypeError):
            continue
    return [FeedbackRecord(**fields) for fields in found.values()]


# ---------------------------------------------------------------------- checks


def _clean(text: str) -> str:
    """Text without control, format or private-use characters (bidi overrides, zero-width
    characters), with Windows line ends made plain and the ends trimmed."""
    if not isinstance(text, str):
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in _INVISIBLE).strip()


def _check_text(text: str, longest: int, links: int, what: str, minimum: int = MIN_TEXT) -> None:
    if len(text) < minimum:
        raise FeedbackRefused(f"Not sent: write at least {minimum} characters in {what}.")
    if len(text) > longest:
        raise FeedbackRefused(f"Not sent: {what} is {len(text):,} characters long; the most is {longest:,}.")
    found = len(_LINK.findall(text))
    if found > links:
        raise FeedbackRefused(f"Not sent: {what} holds {found} links; at most {links} are allowed.")


def _target(home: Path | str, kind: str, dataset_id: str | None, agency: str | None) -> tuple[str | None, str | None]:
    """The dataset and agency a message is about, as the public catalogue knows them."""
    with _catalogue(home) as con:
        if kind in ABOUT_A_DATASET:
            row = con.execute("SELECT agency FROM datasets WHERE id = ? AND access = 'public'",
                              [str(dataset_id or "")]).fetchone()
            if row is None:
                raise FeedbackRefused("Not sent: there is no public dataset with that id.")
            return str(dataset_id), row[0]
        if dataset_id:
            raise FeedbackRefused("Not sent: a request is for a dataset that does not exist yet; "
                                  "ask about an existing dataset on its own page.")
        if agency is not None and con.execute("SELECT 1 FROM agencies WHERE slug = ?", [agency]).fetchone() is None:
            raise FeedbackRefused("Not sent: there is no agency with that name; choose one from the list, "
                                  "or “Don't know”.")
        return None, agency


@contextmanager
def _catalogue(home: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published catalogue, read-only, for the length of a ``with`` block: plain tables only,
    without the full-text extension, whose loading would cost more than the lookup."""
    path = HomeLayout(Path(home)).catalogue
    if not path.exists():
        raise FeedbackRefused("Not sent: nothing is published yet.")
    con = duckdb.connect(config={"threads": 1, "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    try:
        try:
            quoted = str(path).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS cat (READ_ONLY)")
            con.execute("USE cat")
        except duckdb.Error:
            raise FeedbackRefused("Not sent: the catalogue cannot be read just now; try again in a minute.") from None
        yield con
    finally:
        con.close()


def _target_key(dataset_id: str | None, agency: str | None) -> str:
    return f"dataset:{dataset_id}" if dataset_id else f"request:{agency or ''}"


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _check_duplicate(messages: dict[str, Message], text: str, dataset_id: str | None) -> None:
    """``messages``: those sent to the same dataset, or the same agency's requests."""
    same = _normalised(text)
    for message in messages.values():
        if _normalised(message.text) == same:
            where = "about this dataset" if dataset_id else "as a request"
            raise FeedbackRefused(f"Not sent: the same message was already sent {where} on "
                                  f"{message.asked_at:%d %b %Y}; look for it in the list.")


def _check_target_limit(messages: dict[str, Message], now: dt.datetime, target: str) -> None:
    """``messages``: those sent to ``target``, a dataset or one agency's requests."""
    dataset_id = target.startswith("dataset:")
    recent = sum(1 for m in messages.values() if now - TARGET_WINDOW < m.asked_at <= now)
    if recent >= TARGET_LIMIT:
        what = ("this dataset has" if dataset_id else
                "requests to this agency have" if target != "request:" else "requests naming no agency have")
        raise FeedbackRefused(f"Not sent: {what} had {recent} messages in the last 24 hours, the most taken "
                              f"in a day. Try again tomorrow" + (", or write to the dataset's contact."
                                                                  if dataset_id else "."))


def _check_session_limit(home: Path | str, session: str, now: dt.datetime) -> dict[str, list[str]]:
    """The session times still inside the window; refuses when this session has used its share."""
    kept = {}
    for digest, times in _load_sessions(home).items():
        recent = [t for t in times if _parse_time(t) and now - SESSION_WINDOW < _parse_time(t) <= now]
        if recent:
            kept[digest] = recent
    if session:
        mine = kept.get(_digest(session), [])
        if len(mine) >= SESSION_LIMIT:
            free_at = min(_parse_time(t) for t in mine) + SESSION_WINDOW
            minutes = max(1, -(-int((free_at - now).total_seconds()) // 60))
            raise FeedbackRefused(f"Not sent: you have sent {len(mine)} messages in the last "
                                  f"{int(SESSION_WINDOW.total_seconds() // 60)} minutes, the most allowed. "
                                  f"Wait {minutes} minute{'s' if minutes != 1 else ''} and send it again.")
    return kept


def _may_answer(kind: str, addressed_to: str | None, agency: str) -> bool:
    """Whether an agency's stewards read and answer a message of this kind addressed to that agency."""
    return addressed_to == agency or (kind == "request" and not addressed_to)


def _answerable(home: Path | str, message_id: str, steward: Steward) -> Message:
    message = _messages(home, lambda e: e["id"] == message_id, json.dumps(str(message_id))).get(message_id)
    if message is None or not _may_answer(message.kind, message.agency, steward.agency):
        raise FeedbackRefused(f"There is no message {str(message_id)[:40]!r} for the stewards of {steward.agency}.")
    return message


def _audit_target(message: Message) -> str:
    return message.dataset_id or f"request:{message.agency or 'any agency'}"


# ---------------------------------------------------------------------- storage


def _folder(home: Path | str) -> Path:
    folder = Path(home) / "feedback"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _messages_path(home: Path | str) -> Path:
    return Path(home) / "feedback" / "messages.jsonl"


def _sessions_path(home: Path | str) -> Path:
    return Path(home) / "feedback" / "sessions.json"


def _append(home: Path | str, line: dict) -> None:
    append_line(_messages_path(home), line)


def _events(home: Path | str, contains: str | None = None) -> Iterator[dict]:
    """The well-formed lines of the log, in order; a damaged line is skipped, and so is, unparsed,
    a line without ``contains``."""
    path = _messages_path(home)
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if contains is not None and contains not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("type"), str) and _parse_time(event.get("at")):
                yield event


def _messages(home: Path | str, wanted: Callable[[dict], bool] | None = None,
              contains: str | None = None) -> dict[str, Message]:
    """The messages the log adds up to, by id, oldest first: those whose stored fields ``wanted``
    accepts (all when None). Every line about a wanted message holds ``contains``, when given."""
    messages: dict[str, Message] = {}
    answers: dict[str, list[Answer]] = {}
    withheld: set[str] = set()
    for event in _events(home, contains):
        try:
            if event["type"] == "message":
                if event["kind"] in KINDS_OF_MESSAGE and (wanted is None or wanted(event)):
                    messages.setdefault(event["id"], _message(event))
            elif event.get("message_id") not in messages:
                continue  # about a message not wanted (answers and hold-backs follow their message)
            elif event["type"] == "answer":
                answers.setdefault(event["message_id"], []).append(_answer(event))
            elif event["type"] == "withhold":
                withheld.add(event["message_id"])
        except (KeyError, TypeError, ValueError):
            continue
    for key, message in messages.items():
        changes = {"answers": tuple(sorted(answers.get(key, []), key=lambda a: a.at))}
        if key in withheld and message.public:
            changes.update(public=False, held_reason="personal data, held back by a steward")
        if changes["answers"] or "public" in changes:
            messages[key] = replace(message, **changes)
    return messages


def _about(dataset_id: str) -> str:
    """What every stored line about a dataset's messages holds."""
    return f'"dataset_id":{json.dumps(dataset_id, ensure_ascii=False)}'


def _message(event: dict) -> Message:
    held = [str(h) for h in event.get("held") or []]
    return Message(id=str(event["id"]), kind=event["kind"], dataset_id=event.get("dataset_id") or None,
                   agency=event.get("agency") or None, text=str(event.get("text", "")),
                   name=str(event.get("name") or ""), email=str(event.get("email") or ""),
                   asked_at=_parse_time(event["at"]), public=not held, held_reason=", ".join(held))


def _answer(event: dict) -> Answer:
    held = [str(h) for h in event.get("held") or []]
    return Answer(id=str(event["id"]), message_id=str(event["message_id"]), text=str(event.get("text", "")),
                  by=str(event.get("by", "")), by_name=str(event.get("by_name") or event.get("by", "")),
                  agency=str(event.get("agency", "")), at=_parse_time(event["at"]), public=not held,
                  held_reason=", ".join(held))


def _public(message: Message) -> Message:
    """What anyone may see of a message: never the email; nothing of what is held back but that it was."""
    answers = tuple(a if a.public else replace(a, text="", held_reason="") for a in message.answers)
    if message.public:
        return replace(message, email="", answers=answers)
    return replace(message, text="", name="", email="", held_reason="", answers=answers)


def _new_id(home: Path | str, prefix: str) -> str:
    """An id no line of the log holds yet (call under the lock)."""
    path = _messages_path(home)
    stored = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    while True:
        candidate = f"{prefix}{secrets.token_hex(5)}"
        if json.dumps(candidate) not in stored:
            return candidate


def _load_sessions(home: Path | str) -> dict[str, list[str]]:
    try:
        loaded = json.loads(_sessions_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): [t for t in v if isinstance(t, str)] for k, v in loaded.items() if isinstance(v, list)}


def _save_sessions(home: Path | str, sessions: dict[str, list[str]]) -> None:
    write_atomically(_sessions_path(home), json.dumps(sessions, sort_keys=True), private=True)


def _digest(session: str) -> str:
    return hashlib.sha256(session.encode("utf-8")).hexdigest()


def _parse_time(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
