"""Each person's own, in a real browser: two browsers on one server, without sign-in (anonymous workspaces kept
by a cookie, across a server restart) and with sign-in through a real OpenID Connect provider on loopback
(oidc-provider-mock): whose digits, whose model, the admin's shared model, signing out."""

import os
import time

import pytest

from mnist_app.store import collection, database, registry
from tests.support import server
from tests.support.models import copy_of_the_committed_model
from tests.support.pages import (
    ADMIN_EMAIL,
    PROVIDER_USERS,
    auth_secrets,
    downloaded_npz,
    kept_labels,
    model_shown,
    open_page,
    save_drawn,
    sign_in,
    start_provider,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = server.browser_tests()


@pytest.fixture()
def sandbox(tmp_path):
    """A store and artifact folder of the test's own, for the servers it starts (and for its own checks)."""
    server.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {"MNIST_APP_COLLECTION": str(tmp_path / "collection.sqlite"), "MNIST_APP_ARTIFACTS": str(tmp_path / "models"),
           "MNIST_APP_TRAINING_DIR": str(tmp_path / "training"), "MNIST_APP_TRAINER": "off"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    database.dispose()
    for key, value in saved.items():
        os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture()
def chromium():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_two_browsers_without_sign_in_each_see_only_their_own(sandbox, chromium, tmp_path):
    log = server.SCREENSHOTS.parent / "workspaces.log"
    with server.streamlit_server(extra_env=sandbox, log_path=log) as base:
        a = chromium.new_context(viewport={"width": 1280, "height": 1100})
        b = chromium.new_context(viewport={"width": 1280, "height": 1100})
        page_a, page_b = a.new_page(), b.new_page()
        save_drawn(page_a, base, "7")
        cookie = next(c for c in a.cookies() if c["name"] == "mnist_workspace")
        assert cookie["httpOnly"] and len(cookie["value"]) == 43 and cookie["expires"] > time.time() + 300 * 86_400

        assert kept_labels(page_b, base) == [] and page_b.get_by_text("Nothing kept yet").count() == 1
        page_b.screenshot(path=str(server.SCREENSHOTS / "Workspaces_B_empty.png"), full_page=True)
        save_drawn(page_b, base, "1")  # B's own digit: now B has the export and delete controls
        assert kept_labels(page_b, base) == ["1"]
        with downloaded_npz(page_b, "MNIST-format arrays (.npz)") as exported:
            assert list(exported["y"]) == [1]  # B's export holds B's digit alone
        page_b.locator("[data-testid='stSelectbox']").first.click()  # the digits B may delete one by one: B's own
        options = page_b.get_by_role("option").all_inner_texts()
        page_b.keyboard.press("Escape")
        assert len(options) == 1 and "label 1" in options[0], options
        page_b.get_by_text("I am sure").click()
        server.wait_idle(page_b)
        page_b.get_by_role("button", name="Delete all").click()
        page_b.get_by_text("Nothing kept yet").wait_for(timeout=20_000)

        # A forged cookie -- not a token, or a token of nobody's -- opens an empty workspace, never A's.
        for forged in (collection.Collection(collection.Access.server(), everyone=True).digits()[0].owner,
                       "A" * 43):
            b.add_cookies([{"name": "mnist_workspace", "value": forged, "domain": "127.0.0.1", "path": "/"}])
            assert kept_labels(b.new_page(), base) == []
        assert kept_labels(a.new_page(), base) == ["7"]  # A in a new page: its 7
        page_a.screenshot(path=str(server.SCREENSHOTS / "Workspaces_A.png"), full_page=True)
        assert page_a.locator(server.ERROR_BOXES).count() == 0 and page_b.locator(server.ERROR_BOXES).count() == 0
    with server.streamlit_server(extra_env=sandbox, log_path=log) as base:  # the server restarted
        assert kept_labels(a.new_page(), base) == ["7"]


@pytest.fixture()
def signed_in_server(sandbox, tmp_path):
    """A dashboard whose secrets have [auth], against a real OpenID Connect provider on loopback."""
    provider_port, port = server.free_port(), server.free_port()
    provider = start_provider(provider_port, PROVIDER_USERS)
    secrets = auth_secrets(tmp_path / "secrets.toml", f"http://127.0.0.1:{port}", provider_port)
    env = {**sandbox, "MNIST_APP_ADMINS": ADMIN_EMAIL}
    try:
        with server.streamlit_server(extra_env=env, log_path=server.SCREENSHOTS.parent / "signed_in.log", port=port,
                                     args=["--secrets.files", str(secrets)]) as base:
            yield base
    finally:
        server.stop(provider)


def test_signed_in_people_their_digits_their_model_and_the_admins_shared_one(signed_in_server, chromium, tmp_path):
    base = signed_in_server
    alice, bob = sign_in(chromium, base, "alice"), sign_in(chromium, base, "bob")
    assert "alice@example.com" in alice.locator("[data-testid='stSidebar']").inner_text()
    save_drawn(alice, base, "7")
    assert kept_labels(bob, base) == [] and kept_labels(alice, base) == ["7"]

    shared_id = model_shown(bob, base)
    mine = registry.Registry(collection.Access("user:alice")).register(  # one more model, made for alice
        copy_of_the_committed_model(tmp_path / "alices"), description="a copy of the committed model")
    open_page(alice, base, "Train")
    alice.get_by_role("button", name="Use it").click()
    server.wait_idle(alice)
    assert model_shown(alice, base) == mine.id != shared_id
    assert alice.locator("[data-testid='stMainBlockContainer']").get_by_text("Reading with your model").count() == 1
    assert model_shown(bob, base) == shared_id  # bob reads the same drawing with the shared model
    alice.screenshot(path=str(server.SCREENSHOTS / "Workspaces_alice_own_model.png"), full_page=True)
    open_page(bob, base, "Train")
    assert bob.get_by_role("button", name="Make it the shared model").count() == 0  # not an admin

    carol = sign_in(chromium, base, "carol")
    assert "admin" in carol.locator("[data-testid='stSidebar']").inner_text()
    open_page(carol, base, "Train")
    carol.get_by_text("Everyone's models (admin)").click()
    server.wait_idle(carol)
    carol.get_by_role("button", name="Make it the shared model").click()
    server.wait_idle(carol)
    deadline = time.monotonic() + 10
    while model_shown(bob, base) != mine.id and time.monotonic() < deadline:
        time.sleep(1)
    assert model_shown(bob, base) == mine.id  # the admin's choice is everyone's
    carol.screenshot(path=str(server.SCREENSHOTS / "Workspaces_admin_shares.png"), full_page=True)

    alice.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
    signed_out = alice.get_by_text("Not signed in").or_(alice.get_by_role("button", name="End session"))
    signed_out.first.wait_for(timeout=30_000)
    if alice.get_by_role("button", name="End session").count():  # the provider ends its session too (RP logout)
        alice.get_by_role("button", name="End session").click()
    alice.get_by_text("Not signed in").first.wait_for(timeout=30_000)
    open_page(alice, base, "My_digits")
    assert alice.get_by_text("Sign in to keep digits").count() == 1 and kept_labels(alice, base) == []
    for page in (alice, bob, carol):
        assert page.locator(server.ERROR_BOXES).count() == 0
