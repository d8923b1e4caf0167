"""What the browser tests do on the dashboard's pages, in one place: open a page, draw and keep a digit, read My
digits, sign in through an OpenID Connect provider, read which model the sidebar names."""

import io
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from tests.support import server
from tests.support.canvas import DIGIT_STROKES, draw

PROVIDER_USERS = [{"sub": "alice", "email": "alice@example.com"}, {"sub": "bob", "email": "bob@example.com"},
                  {"sub": "carol", "email": "admin@example.com"}]
ADMIN_EMAIL = "admin@example.com"


def open_page(page, base, path):
    page.goto(f"{base}/{path}", wait_until="domcontentloaded")
    server.wait_for_page(page, server.PAGES[path])


def save_drawn(page, base, digit: str) -> None:
    """Draw a digit on Draw, say the model is right, keep it."""
    open_page(page, base, "Draw")
    draw(page, DIGIT_STROKES[digit])
    page.wait_for_function("d => document.querySelector(\"[data-testid='stMetricValue']\")?.innerText.trim() === d",
                           arg=digit, timeout=20_000)
    server.wait_idle(page)
    keep = page.locator(".st-key-draw_result_keep")
    keep.get_by_text("Right", exact=True).click()
    server.wait_idle(page)
    keep.get_by_role("button", name="Save to my digits").click()
    page.get_by_role("button", name=f"Kept as a {digit}").wait_for(timeout=20_000)


def kept_labels(page, base) -> list[str]:
    """The labels My digits lists (its grid's captions end with "true N")."""
    open_page(page, base, "My_digits")
    return [text.rsplit("true ", 1)[1] for text in page.locator(".digit-grid figcaption").all_inner_texts()]


def downloaded_npz(page, label: str) -> np.lib.npyio.NpzFile:
    with page.expect_download() as download:
        page.get_by_role("button", name=label).click()
    return np.load(io.BytesIO(open(download.value.path(), "rb").read()))


def start_provider(port: int, users: list[dict]) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("oidc-provider-mock")), "-p", str(port), "-H", "127.0.0.1"]
    for claims in users:
        command += ["--user-claims", json.dumps(claims)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the OpenID Connect provider did not start")


def auth_secrets(path: Path, app_url: str, provider_port: int) -> Path:
    """A secrets file with Streamlit's [auth] section, for the provider on loopback."""
    path.write_text(f"""[auth]
redirect_uri = "{app_url}/oauth2callback"
cookie_secret = "{__import__('os').urandom(24).hex()}"
client_id = "mnist-dashboard"
client_secret = "not-a-secret-of-anyones"
server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"
""")
    return path


def sign_in(browser, base, subject: str, replica: str | None = None):
    """A new browser context signed in as `subject` through the provider's page; with `replica`, kept with that
    replica behind the balancer (HAProxy's affinity cookie set before the first request)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    if replica:
        context.add_cookies([{"name": "MNIST_REPLICA", "value": replica, "domain": "127.0.0.1", "path": "/"}])
    page = context.new_page()
    open_page(page, base, "")
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign in").click()
    page.locator("input[name='sub']").wait_for(timeout=20_000)  # the provider's own page
    page.locator("input[name='sub']").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("You are ").first.wait_for(timeout=30_000)
    server.wait_idle(page)
    return page


def model_shown(page, base) -> str:
    """The id of the model the sidebar says reads this person's digits."""
    open_page(page, base, "Draw")
    return page.locator("[data-testid='stSidebar'] code").first.inner_text().strip()
