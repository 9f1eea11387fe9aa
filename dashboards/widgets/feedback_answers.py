"""The Questions tab of the Stewards page: the public's messages to the agency, read in full, answered.

Answers and hold-backs are sent from button callbacks, which check the steward's session again
before anything is written: a session closed in another tab cannot answer from a stale page.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from catalog import accounts, feedback
from catalog.accounts import Steward
from catalog.errors import CatalogError
from catalog.feedback import Message
from dashboards import data

NOTICE = "fb_steward_notice"
LABELS = {"question": "Question", "problem": "Problem reported", "request": "Request for a new dataset"}


def _escaped(text) -> str:
    """Text shown through Markdown exactly as written, line breaks kept."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text)).replace("\n", "  \n")


def _when(moment) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%d %b %Y, %H:%M UTC")


def show(home, steward: Steward, token: str | None) -> None:
    """Every message the steward's agency may answer, those waiting first shown alone by default."""
    found = st.session_state.pop(NOTICE, None)
    if found:
        (st.success if found[0] == "success" else st.error)(_escaped(found[1]))
    messages = feedback.for_stewards(home, steward.agency)
    if not messages:
        st.info("Nobody has asked your agency anything yet.")
        return
    waiting = [m for m in messages if not m.answered]
    st.caption(f"{len(waiting)} waiting for an answer, {len(messages)} in all. Your answer is published under the "
               "message with your name and the time, unless it contains personal data: then it is kept for "
               "stewards, and the public sees that an answer was held back. Every answer goes in the audit log.")
    only_waiting = st.toggle("Only those waiting for an answer", value=True, key="fb_only_waiting")
    for message in waiting if only_waiting else messages:
        _message(home, message, token)


def _message(home, message: Message, token: str | None) -> None:
    with st.container(border=True):
        if message.dataset_id:
            record = data.dataset(message.dataset_id) if data.published() else None
            about = f"about {_escaped(record['title'] if record else message.dataset_id)} (`{message.dataset_id}`)"
        else:
            about = "for your agency" if message.agency else "for an agency the sender did not know"
        sender = _escaped(message.name) if message.name else "anonymous"
        reply = f" · reply to {_escaped(message.email)}" if message.email else ""
        st.markdown(f"**{LABELS[message.kind]}** {about}  \n{_when(message.asked_at)} · from {sender}{reply}")
        if not message.public:
            st.warning(f"Not public: it contains {_escaped(message.held_reason)}. Only stewards read it.",
                       icon=":material/visibility_off:")
        st.markdown(_escaped(message.text))
        for answer in message.answers:
            held = "" if answer.public else f" · not public: it contains {_escaped(answer.held_reason)}"
            st.markdown(f"↳ **Answer** from {_escaped(answer.by_name)} ({_escaped(answer.by)}) · "
                        f"{_when(answer.at)}{held}  \n{_escaped(answer.text)}")
        st.text_area("Your answer", key=f"fb_answer:{message.id}", max_chars=feedback.MAX_ANSWER, height=100)
        left, right = st.columns(2)
        left.button("Publish the answer", key=f"fb_send:{message.id}", icon=":material/reply:",
                    on_click=_answer, args=(home, token, message.id))
        if message.public:
            right.button("Hold back: it contains personal data", key=f"fb_hold:{message.id}",
                         icon=":material/visibility_off:", on_click=_withhold, args=(home, token, message.id))


def _steward(home, token: str | None) -> Steward | None:
    steward = accounts.session_steward(home, token) if token else None
    if steward is None:
        st.session_state[NOTICE] = ("error", "Your session has ended; sign in again. Nothing was sent.")
    return steward


def _answer(home, token: str | None, message_id: str) -> None:
    steward = _steward(home, token)
    if steward is None:
        return
    key = f"fb_answer:{message_id}"
    try:
        answer = feedback.answer(home, message_id, steward, st.session_state.get(key) or "")
    except CatalogError as exc:
        st.session_state[NOTICE] = ("error", str(exc))
        return
    st.session_state[key] = ""
    if answer.public:
        st.session_state[NOTICE] = ("success", "Answer published.")
    else:
        st.session_state[NOTICE] = ("success", f"Answer saved, but not published: it contains {answer.held_reason}. "
                                               "The public sees that an answer was held back.")


def _withhold(home, token: str | None, message_id: str) -> None:
    steward = _steward(home, token)
    if steward is None:
        return
    try:
        feedback.withhold(home, message_id, steward)
    except CatalogError as exc:
        st.session_state[NOTICE] = ("error", str(exc))
        return
    st.session_state[NOTICE] = ("success", "Held back: the public now sees only that a message was held back.")
