"""Who the page is for, read from the browser: a signed-in account (`st.user`, when the server's secrets have an
`[auth]` section) or the anonymous workspace of this browser's cookie (see mnist_app.serving.people).

`python -m mnist_app serve` gives every browser its cookie before the page loads (an HttpOnly cookie set by the
server, mnist_app.ui.asgi). Under a plain `streamlit run Home.py` the page sets it instead, from a script.
"""

from __future__ import annotations

import functools
import logging
import os

import streamlit as st

from mnist_app.serving import people


@functools.cache
def auth_configured() -> bool:
    """Whether the server's secrets have Streamlit's [auth] section (then people sign in with st.login). Read
    once per server: the secrets are read when it starts (looking again on every rerun cost a file search)."""
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file at all: the laptop default
        return False


def current() -> people.Person | None:
    """The person this session is for; None on a server with sign-in, before they sign in."""
    if auth_configured():
        if not st.user.is_logged_in:
            return None
        return people.signed_in(str(st.user.get("sub") or ""), st.user.get("email"), st.user.get("name"))
    token = _cookie_token()
    if token is None:
        token = st.session_state.setdefault("_workspace_token", people.new_token())
        _set_cookie_from_the_page(token)
    return people.anonymous(token)


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(people.WORKSPACE_COOKIE)
    except Exception:  # no request (AppTest)
        return st.session_state.get("_workspace_token")
    return token if people.valid_token(token) else None


def _set_cookie_from_the_page(token: str) -> None:
    """Keep the workspace when the server did not set its cookie (plain `streamlit run`): a script sets it."""
    if st.session_state.get("_workspace_cookie_set"):
        return
    st.session_state["_workspace_cookie_set"] = True
    st.html(f"<script>document.cookie = '{people.WORKSPACE_COOKIE}={token}; max-age={people.COOKIE_MAX_AGE}; "
            "path=/; samesite=lax' + (location.protocol === 'https:' ? '; secure' : '');</script>",
            unsafe_allow_javascript=True)


def required(what: str) -> people.Person:
    """The person, or (on a server with sign-in, signed out) a prompt to sign in, and the page stops there."""
    person = current()
    if person is None:
        st.info(f"Sign in to {what}: what you keep here belongs to your account.", icon=":material/login:")
        st.button("Sign in", icon=":material/login:", key="identity_sign_in_page", on_click=st.login)
        st.stop()
    return person


def sidebar(person: people.Person | None, reading_with: str) -> None:
    """Who you are, sign-in and sign-out, and which model reads your digits: in the sidebar of every page."""
    with st.sidebar:
        if person is None:
            st.markdown("**Not signed in.** You can read digits; sign in to keep them and train.")
            st.button("Sign in", icon=":material/login:", key="identity_sign_in", on_click=st.login)
        elif person.signed_in:
            badge = " · admin" if person.admin else ""
            st.markdown(f"You are **{person.name}**{badge}")
            st.button("Sign out", icon=":material/logout:", key="identity_sign_out", on_click=st.logout)
        else:
            st.markdown("**Anonymous workspace**")
            st.caption("Your digits and models stay with this browser (a cookie): another browser gets a workspace "
                       "of its own.")
        st.caption(f"Reading with {reading_with}")
        replica = os.environ.get("MNIST_APP_REPLICA")  # set by the cluster launcher: which server this page is on
        if replica:
            st.caption(f"Served by {replica}")


def store_problem(error: Exception) -> str:
    """What a person is told when the store fails: its files and settings for the server's admins, a plain sentence
    for everyone else (a visitor can do nothing with a file name; the details go to the server's log)."""
    logging.getLogger(__name__).warning("the store failed for a visitor: %s", error)
    person = current()
    if person is not None and person.admin:
        return str(error)
    return ("Your digits cannot be reached right now: the server's store is not available. Try again in a minute; "
            "if it lasts, tell whoever runs this server.")
