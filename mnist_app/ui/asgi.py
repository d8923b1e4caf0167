"""The dashboard as an ASGI app: Streamlit's own (st.App, on Starlette) running Home.py, plus one middleware that
gives a browser its anonymous workspace cookie the first time it loads a page.

`python -m mnist_app serve` runs this module with `streamlit run`, which finds `app` and serves it with uvicorn
and every usual option (--server.port, --server.address, ...).

The cookie (mnist_app.serving.people): a random token of 32 bytes, HttpOnly (no script on the page can read it),
SameSite=Lax, Secure behind HTTPS, kept for 400 days. It is set on a page's HTML response only, never on the
scripts and images that follow, so one browser gets one token; the page's websocket then carries it, and
`st.context.cookies` reads it (mnist_app.ui.identity).
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

import streamlit as st
from starlette.middleware import Middleware

from mnist_app import config
from mnist_app.serving import people


def _cookies(scope) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                return {key: morsel.value for key, morsel in SimpleCookie(value.decode("latin-1")).items()}
            except CookieError:
                return {}
    return {}


def _wants_html(scope) -> bool:
    headers = dict(scope.get("headers", ()))
    return scope.get("method") == "GET" and b"text/html" in headers.get(b"accept", b"")


def workspace_cookie(token: str, secure: bool) -> str:
    """The Set-Cookie value of a new anonymous workspace."""
    return (f"{people.WORKSPACE_COOKIE}={token}; Max-Age={people.COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


class WorkspaceCookie:
    """ASGI middleware: a page load without a valid workspace cookie gets a new one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _wants_html(scope) or people.valid_token(
                _cookies(scope).get(people.WORKSPACE_COOKIE)):
            await self.app(scope, receive, send)
            return
        token = people.new_token()
        secure = scope.get("scheme") == "https" or dict(scope.get("headers", ())).get(b"x-forwarded-proto") == b"https"

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", workspace_cookie(token, secure).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


app = st.App(str(config.PROJECT_ROOT / "Home.py"), middleware=[Middleware(WorkspaceCookie)])
