"""The Questions tab of the Stewards page: the public's messages to the agency, read in full, answered.

Answers and hold-backs are sent from button callbacks, which check the steward's session again
before anything is written: a session closed in another tab cannot answer from a stale page.
"""

from __future__ import annotations

import re

import streamlit as st

from catalog import accounts, feedback
from catalog.accounts import Steward
from catalog.errors import CatalogError
from catalog.feedback import Message
from dashboards import data
from dashboards.i18n import moment, t

NOTICE = "fb_steward_notice"


def _escaped(text) -> str:
    """Text shown through Markdown exactly as written, line breaks kept."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text)).replace("\n", "  \n")


def _kind_labels() -> dict[str, str]:
    return {"question": t("answers.kind_question"), "problem": t("answers.kind_problem"),
            "request": t("answers.kind_request")}


def show(home, steward: Steward, token: str | None) -> None:
    """Every message the steward's agency may answer, those waiting first shown alone by default."""
    found = st.session_state.pop(NOTICE, None)
    if found:
        (st.success if found[0] == "success" else st.error)(_escaped(found[1]))
    messages = feedback.for_stewards(home, steward.agency)
    if not messages:
        st.info(t("answers.none"))
        return
    waiting = [m for m in messages if not m.answered]
    st.caption(t("answers.summary", waiting=len(waiting), total=len(messages)))
    only_waiting = st.toggle(t("answers.only_waiting"), value=True, key="fb_only_waiting")
    for message in waiting if only_waiting else messages:
        _message(home, message, token)


def _message(home, message: Message, token: str | None) -> None:
    with st.container(border=True):
        if message.dataset_id:
            record = data.dataset(message.dataset_id) if data.published() else None
            about = t("answers.about", title=_escaped(record["title"] if record else message.dataset_id),
                      id=message.dataset_id)
        else:
            about = t("answers.for_agency") if message.agency else t("answers.for_unknown_agency")
        sender = _escaped(message.name) if message.name else t("answers.anonymous")
        reply = " · " + t("answers.reply_to", email=_escaped(message.email)) if message.email else ""
        st.markdown(f"**{_kind_labels()[message.kind]}** {about}  \n{moment(message.asked_at)} · "
                    + t("answers.from", sender=sender) + reply)
        if not message.public:
            st.warning(t("answers.not_public", reason=_escaped(message.held_reason)),
                       icon=":material/visibility_off:")
        st.markdown(_escaped(message.text))
        for answer in message.answers:
            held = "" if answer.public else " · " + t("answers.answer_not_public",
                                                        reason=_escaped(answer.held_reason))
            st.markdown("↳ " + t("answers.answer_from", name=_escaped(answer.by_name), user=_escaped(answer.by),
                                 at=moment(answer.at)) + f"{held}  \n{_escaped(answer.text)}")
        st.text_area(t("answers.your_answer"), key=f"fb_answer:{message.id}", max_chars=feedback.MAX_ANSWER,
                     height=100)
        left, right = st.columns(2)
        left.button(t("answers.publish"), key=f"fb_send:{message.id}", icon=":material/reply:",
                    on_click=_answer, args=(home, token, message.id))
        if message.public:
            right.button(t("answers.hold_back"), key=f"fb_hold:{message.id}",
                         icon=":material/visibility_off:", on_click=_withhold, args=(home, token, message.id))


def _steward(home, token: str | None) -> Steward | None:
    steward = accounts.session_steward(home, token) if token else None
    if steward is None:
        st.session_state[NOTICE] = ("error", t("answers.session_ended"))
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
        st.session_state[NOTICE] = ("success", t("answers.published"))
    else:
        st.session_state[NOTICE] = ("success", t("answers.saved_not_published", reason=answer.held_reason))


def _withhold(home, token: str | None, message_id: str) -> None:
    steward = _steward(home, token)
    if steward is None:
        return
    try:
        feedback.withhold(home, message_id, steward)
    except CatalogError as exc:
        st.session_state[NOTICE] = ("error", str(exc))
        return
    st.session_state[NOTICE] = ("success", t("answers.held_back"))
