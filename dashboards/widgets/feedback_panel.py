"""The public side of feedback: the Questions tab of a dataset page, the request-a-dataset form,
the privacy notice beside both, and the messages with their answers.

A form is sent from its button's callback, which runs before the page is drawn again: the fields
can then be emptied after a message is taken, and are kept as typed when it is refused.
"""

from __future__ import annotations

import re
import secrets

import pandas as pd
import streamlit as st

from catalog import feedback
from catalog.errors import CatalogError
from catalog.feedback import FeedbackRefused, Message
from dashboards import data

SESSION = "feedback_session"
DONT_KNOW = ""
LABELS = {"question": "Question", "problem": "Problem reported", "request": "Request"}
FIELDS = ("text", "name", "email", "trap")

PRIVACY_NOTICE = (
    "**Privacy.** We keep what you write, the time you sent it and, if you give them, a name and an email "
    "address. The name is shown with your message. The email address is only for a reply: it is never shown "
    "publicly, and only the agency's stewards can read it. Messages and the stewards' answers are published "
    "here. A message that contains personal data (an email address or phone number in the text, a national "
    "identity, NHS, bank or card number, or a postcode with a house number) is kept private: it is stored and "
    "the stewards read it, but the public sees only that it was held back. To stop floods of spam we also keep, "
    "for ten minutes, an anonymous token of your browser session with the times it sent something."
)


def _escaped(text: str) -> str:
    """Text shown through Markdown exactly as written, line breaks kept."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text)).replace("\n", "  \n")


def _when(moment) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%d %b %Y, %H:%M UTC")


def session_token() -> str:
    """An anonymous token for this browser session: the key of its rate limit."""
    return st.session_state.setdefault(SESSION, secrets.token_hex(16))


def privacy_notice() -> None:
    st.info(PRIVACY_NOTICE, icon=":material/shield_person:")


def thread(messages: list[Message], agency_names: dict[str, str]) -> None:
    """Messages in their public view, each with its answers; ``agency_names`` by slug."""
    for message in messages:
        with st.container(border=True):
            heading = f"**{LABELS[message.kind]}** · {_when(message.asked_at)}"
            if message.kind == "request":
                heading += " · for " + (_escaped(agency_names.get(message.agency, message.agency))
                                        if message.agency else "an agency not known to the sender")
            if message.public:
                heading += f" · from {_escaped(message.name)}" if message.name else ""
                st.markdown(heading)
                st.markdown(_escaped(message.text))
            else:
                st.markdown(heading)
                st.markdown(f"*{feedback.HELD_BACK}*")
            for answer in message.answers:
                said = _escaped(answer.text) if answer.public else f"*{feedback.HELD_BACK}*"
                agency = agency_names.get(answer.agency, answer.agency)
                st.markdown(f"↳ **Answer** from {_escaped(answer.by_name)} ({_escaped(agency)}) · "
                            f"{_when(answer.at)}  \n{said}")
            if not message.answers:
                st.caption("Not answered yet.")


def _form_fields(prefix: str) -> None:
    """The fields every form shares: the text, an optional name and email, and the honeypot."""
    st.text_area("Your message", key=f"{prefix}_text", max_chars=feedback.MAX_TEXT, height=120,
                 placeholder="Write it in a few sentences. Please leave out personal details.")
    left, right = st.columns(2)
    left.text_input("Your name (optional, shown with the message)", key=f"{prefix}_name",
                    max_chars=feedback.MAX_NAME)
    right.text_input("Email for a reply (optional, never shown)", key=f"{prefix}_email",
                     max_chars=feedback.MAX_EMAIL)
    # A field people never see and programs fill in: a message that has it filled is spam.
    st.markdown(f"<style>.st-key-{prefix}_trap {{display: none}}</style>", unsafe_allow_html=True)
    st.text_input("Leave this field empty", key=f"{prefix}_trap", autocomplete="off")


def _send(prefix: str, kind_key: str | None, kind: str | None, dataset_id: str | None, agency_key: str | None) -> None:
    state = st.session_state
    chosen_kind = state.get(kind_key) if kind_key else kind
    agency = (state.get(agency_key) or None) if agency_key else None
    try:
        message = feedback.submit(data.home(), kind=chosen_kind or "", text=state.get(f"{prefix}_text") or "",
                                  dataset_id=dataset_id, agency=agency, name=state.get(f"{prefix}_name") or "",
                                  email=state.get(f"{prefix}_email") or "", trap=state.get(f"{prefix}_trap") or "",
                                  session=session_token())
    except FeedbackRefused as exc:
        state[f"{prefix}_notice"] = ("error", str(exc))
        return
    except (CatalogError, OSError):
        state[f"{prefix}_notice"] = ("error", "Not sent: the message could not be stored just now; try again later.")
        return
    for name in FIELDS:
        state[f"{prefix}_{name}"] = ""
    if message.public:
        told = ("Thank you: your message is published below, and the agency's stewards have it. "
                "Their answer will appear under it.")
    else:
        told = (f"Thank you: the agency's stewards have your message. It contains {message.held_reason}, so it is "
                "kept private: others see only that a message was held back.")
    state[f"{prefix}_notice"] = ("success", told)


def _notice(prefix: str) -> None:
    found = st.session_state.pop(f"{prefix}_notice", None)
    if found:
        level, text = found
        (st.success if level == "success" else st.error)(_escaped(text))


def dataset_panel(record: dict) -> None:
    """Questions and problem reports about a public dataset, and the form to send one."""
    prefix = "fb"
    st.write("Ask the publisher about this dataset, or tell them about a problem in it. "
             "Messages and answers are public.")
    with st.form(f"{prefix}_form"):
        st.radio("What is it?", list(LABELS)[:2], key=f"{prefix}_kind", horizontal=True,
                 format_func=lambda kind: {"question": "A question", "problem": "A problem with the data"}[kind])
        _form_fields(prefix)
        st.form_submit_button("Send", icon=":material/send:", on_click=_send,
                              args=(prefix, f"{prefix}_kind", None, record["id"], None))
    _notice(prefix)
    privacy_notice()
    messages = feedback.for_dataset(data.home(), record["id"])
    st.subheader(f"Questions and problems ({len(messages)})")
    if not messages:
        st.caption("Nothing asked yet.")
    thread(messages, {record["agency"]: record["agency_name"]})
    st.page_link("views/request.py", label="Looking for data that is not in the catalogue? Request it",
                 icon=":material/add_comment:")


def request_form(names: dict[str, str]) -> None:
    """The form asking for a dataset that does not exist yet, for one agency (``names``: slug to
    name) or for whoever holds it."""
    prefix = "rq"
    with st.form(f"{prefix}_form"):
        st.selectbox("Which agency would hold it?", [DONT_KNOW, *names], key=f"{prefix}_agency",
                     format_func=lambda slug: names.get(slug, "Don't know"))
        _form_fields(prefix)
        st.form_submit_button("Send the request", icon=":material/send:", on_click=_send,
                              args=(prefix, None, "request", None, f"{prefix}_agency"))
    _notice(prefix)
    privacy_notice()
