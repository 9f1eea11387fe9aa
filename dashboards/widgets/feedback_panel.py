"""The public side of feedback: the Questions tab of a dataset page, the request-a-dataset form,
the privacy notice beside both, and the messages with their answers.

A form is sent from its button's callback, which runs before the page is drawn again: the fields
can then be emptied after a message is taken, and are kept as typed when it is refused.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

from catalog import feedback
from catalog.errors import CatalogError
from catalog.feedback import FeedbackRefused, Message
from dashboards import data
from dashboards.i18n import moment, t

SESSION = "feedback_session"
DONT_KNOW = ""
FIELDS = ("text", "name", "email", "trap")


def _escaped(text: str) -> str:
    """Text shown through Markdown exactly as written, line breaks kept."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text)).replace("\n", "  \n")


def _kind_labels() -> dict[str, str]:
    return {"question": t("feedback.kind_question"), "problem": t("feedback.kind_problem"),
            "request": t("feedback.kind_request")}


def session_token() -> str:
    """An anonymous token for this browser session: the key of its rate limit."""
    return st.session_state.setdefault(SESSION, secrets.token_hex(16))


def privacy_notice() -> None:
    st.info(t("feedback.privacy"), icon=":material/shield_person:")


def thread(messages: list[Message], agency_names: dict[str, str]) -> None:
    """Messages in their public view, each with its answers; ``agency_names`` by slug."""
    for message in messages:
        with st.container(border=True):
            heading = f"**{_kind_labels()[message.kind]}** · {moment(message.asked_at)}"
            if message.kind == "request":
                heading += " · " + (t("feedback.for_agency", agency=_escaped(agency_names.get(message.agency,
                                                                                               message.agency)))
                                    if message.agency else t("feedback.for_unknown_agency"))
            if message.public:
                heading += " · " + t("feedback.from", name=_escaped(message.name)) if message.name else ""
                st.markdown(heading)
                st.markdown(_escaped(message.text))
            else:
                st.markdown(heading)
                st.markdown(f"*{t('feedback.held_back')}*")
            for answer in message.answers:
                said = _escaped(answer.text) if answer.public else f"*{t('feedback.held_back')}*"
                agency = agency_names.get(answer.agency, answer.agency)
                st.markdown("↳ " + t("feedback.answer_from", name=_escaped(answer.by_name), agency=_escaped(agency),
                                     at=moment(answer.at)) + f"  \n{said}")
            if not message.answers:
                st.caption(t("feedback.not_answered"))


def _form_fields(prefix: str) -> None:
    """The fields every form shares: the text, an optional name and email, and the honeypot."""
    st.text_area(t("feedback.message"), key=f"{prefix}_text", max_chars=feedback.MAX_TEXT, height=120,
                 placeholder=t("feedback.message_placeholder"))
    left, right = st.columns(2)
    left.text_input(t("feedback.name"), key=f"{prefix}_name", max_chars=feedback.MAX_NAME)
    right.text_input(t("feedback.email"), key=f"{prefix}_email", max_chars=feedback.MAX_EMAIL)
    # A field people never see and programs fill in: a message that has it filled is spam.
    st.markdown(f"<style>.st-key-{prefix}_trap {{display: none}}</style>", unsafe_allow_html=True)
    st.text_input(t("feedback.trap"), key=f"{prefix}_trap", autocomplete="off")


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
        state[f"{prefix}_notice"] = ("error", t("feedback.not_stored"))
        return
    for name in FIELDS:
        state[f"{prefix}_{name}"] = ""
    if message.public:
        told = t("feedback.thanks_published")
    else:
        told = t("feedback.thanks_held", reason=message.held_reason)
    state[f"{prefix}_notice"] = ("success", told)


def _notice(prefix: str) -> None:
    found = st.session_state.pop(f"{prefix}_notice", None)
    if found:
        level, text = found
        (st.success if level == "success" else st.error)(_escaped(text))


def dataset_panel(record: dict) -> None:
    """Questions and problem reports about a public dataset, and the form to send one."""
    prefix = "fb"
    st.write(t("feedback.dataset_intro"))
    with st.form(f"{prefix}_form"):
        choices = {"question": t("feedback.choice_question"), "problem": t("feedback.choice_problem")}
        st.radio(t("feedback.what_is_it"), list(choices), key=f"{prefix}_kind", horizontal=True,
                 format_func=choices.get)
        _form_fields(prefix)
        st.form_submit_button(t("feedback.send"), icon=":material/send:", on_click=_send,
                              args=(prefix, f"{prefix}_kind", None, record["id"], None))
    _notice(prefix)
    privacy_notice()
    messages = feedback.for_dataset(data.home(), record["id"])
    st.subheader(t("feedback.questions_and_problems", count=len(messages)))
    if not messages:
        st.caption(t("feedback.nothing_asked"))
    thread(messages, {record["agency"]: record["agency_name"]})
    st.page_link("views/request.py", label=t("feedback.request_link"),
                 icon=":material/add_comment:")


def request_form(names: dict[str, str]) -> None:
    """The form asking for a dataset that does not exist yet, for one agency (``names``: slug to
    name) or for whoever holds it."""
    prefix = "rq"
    with st.form(f"{prefix}_form"):
        st.selectbox(t("feedback.which_agency"), [DONT_KNOW, *names], key=f"{prefix}_agency",
                     format_func=lambda slug: names.get(slug, t("feedback.dont_know")))
        _form_fields(prefix)
        st.form_submit_button(t("feedback.send_request"), icon=":material/send:", on_click=_send,
                              args=(prefix, None, "request", None, f"{prefix}_agency"))
    _notice(prefix)
    privacy_notice()
