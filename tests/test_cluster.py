"""Beyond one machine, on loopback: the cluster launcher's HAProxy in front of two replicas, one trainer and a
local PostgreSQL, all real and all started here (with a real OpenID Connect provider for signing in), driven by
Chromium through the balancer.

- sessions land on both replicas (the sidebar says which) and save digits from both into the one database;
- a killed replica's people are served by the other within 10 s, with their workspace's digits;
- an admin's promotion made on one replica is what the other answers with within 10 s;
- a training run asked for on the Train page is run by the trainer process, not by a replica; its progress
  reaches the page, its model is registered, and Cancel stops the next one.
"""

import shutil
import tempfile
import time

import pytest

from mnist_app.serving import cluster
from mnist_app.store import collection, database, queue, registry
from tests.support import postgres, server
from tests.support.canvas import draw
from tests.support.models import copy_of_the_committed_model
from tests.support.pages import (
    ADMIN_EMAIL,
    PROVIDER_USERS,
    auth_secrets,
    kept_labels,
    model_shown,
    open_page,
    save_drawn,
    sign_in,
    start_provider,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
playwright_api = server.browser_tests()

if postgres.unavailable():
    pytest.skip(postgres.unavailable(), allow_module_level=True)
if not shutil.which("haproxy"):
    pytest.skip("HAProxy is not installed (make test installs Debian's haproxy as root)", allow_module_level=True)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """The cluster (2 replicas, a trainer, PostgreSQL, HAProxy) and a sign-in provider, for this module."""
    folder = tmp_path_factory.mktemp("cluster")
    server.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port, provider_port = server.free_port(), server.free_port()
    provider = start_provider(provider_port, PROVIDER_USERS)
    secrets = auth_secrets(folder / "secrets.toml", f"http://127.0.0.1:{port}", provider_port)
    env = {"MNIST_APP_ARTIFACTS": str(folder / "artifacts"), "MNIST_APP_TRAINING_DIR": str(folder / "training"),
           "MNIST_APP_ADMINS": ADMIN_EMAIL, "MNIST_APP_QUICK_RUN_IMAGES": "2000"}
    launched = cluster.Cluster(replicas=2, port=port, folder=folder, env=env,
                               database_folder=tempfile.mkdtemp(prefix="mnist-cluster-postgres-"),
                               serve_args=("--secrets.files", str(secrets)), log=lambda message: None)
    try:
        launched.start()
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
            yield launched, browser
            browser.close()
    finally:
        launched.stop()
        shutil.rmtree(launched.database_folder, ignore_errors=True)
        server.stop(provider)
        database.dispose(launched.database_url)


def served_by(page) -> str:
    text = page.locator("[data-testid='stSidebar']").inner_text()
    return text.split("Served by ", 1)[1].split()[0] if "Served by " in text else ""


def test_sessions_land_on_both_replicas_and_save_into_one_database(running):
    launched, browser = running
    alice = sign_in(browser, launched.url, "alice", replica="replica1")
    bob = sign_in(browser, launched.url, "bob", replica="replica2")
    save_drawn(alice, launched.url, "7")
    save_drawn(bob, launched.url, "1")
    assert served_by(alice) == "replica1" and served_by(bob) == "replica2"
    everyone = collection.Collection(collection.Access.server(), launched.database_url, everyone=True)
    assert sorted((d.owner, d.label) for d in everyone.digits()) == [("user:alice", 7), ("user:bob", 1)]
    alice.screenshot(path=str(server.SCREENSHOTS / "Cluster_replica1.png"), full_page=True)


def test_a_killed_replicas_people_are_served_by_the_other_within_10_s(running):
    launched, browser = running
    alice = sign_in(browser, launched.url, "alice", replica="replica1")
    open_page(alice, launched.url, "Draw")
    assert served_by(alice) == "replica1"
    launched.kill("replica1")
    killed = time.monotonic()
    answered = None
    for shift in range(0, 200, 20):  # a stroke as soon as the page lets one through; another if it got lost
        if time.monotonic() - killed > 10:
            break
        draw(alice, [[(60 + shift, 40), (55 + shift, 240)]])
        try:
            alice.wait_for_function("() => document.querySelector(\"[data-testid='stSidebar']\")?.innerText"
                                    ".includes('Served by replica2') && document.querySelector("
                                    "\"[data-testid='stMetricValue']\")", timeout=2_500)
        except playwright_api.TimeoutError:
            continue
        answered = time.monotonic() - killed
        break
    assert answered is not None and answered <= 10, "no answer from the other replica within 10 s of the kill"
    assert kept_labels(alice, launched.url) == ["7"] and served_by(alice) == "replica2"
    alice.screenshot(path=str(server.SCREENSHOTS / "Cluster_after_kill.png"), full_page=True)
    launched.start_replica(launched.replicas[0])  # back for the tests that follow


def test_an_admins_promotion_on_one_replica_is_what_the_other_answers_with(running, tmp_path):
    launched, browser = running
    made = registry.Registry(collection.Access("user:alice"), launched.database_url).register(
        copy_of_the_committed_model(tmp_path / "alices"), description="a copy of the committed model")
    bob = sign_in(browser, launched.url, "bob", replica="replica2")
    before = model_shown(bob, launched.url)
    assert before != made.id
    carol = sign_in(browser, launched.url, "carol", replica="replica1")
    open_page(carol, launched.url, "Train")
    carol.get_by_text("Everyone's models (admin)").click()
    server.wait_idle(carol)
    carol.get_by_role("button", name="Make it the shared model").click()
    server.wait_idle(carol)
    shared = time.monotonic()
    while model_shown(bob, launched.url) != made.id and time.monotonic() - shared < 10:
        time.sleep(0.5)
    assert model_shown(bob, launched.url) == made.id and served_by(bob) == "replica2"
    assert time.monotonic() - shared <= 10
    registry.Registry(collection.Access.server(), launched.database_url).share(None)


def test_a_training_run_is_run_by_the_trainer_not_a_replica(running):
    launched, browser = running
    bob = sign_in(browser, launched.url, "bob", replica="replica1")
    open_page(bob, launched.url, "Train")

    def start(epochs: int) -> None:
        bob.get_by_text("A new model", exact=True).click()
        bob.locator("[data-testid='stSlider']").first.focus()
        for _ in range(epochs - 2):
            bob.keyboard.press("ArrowRight")
        for _ in range(2 - min(epochs, 2)):
            bob.keyboard.press("ArrowLeft")
        bob.get_by_text("Quick run", exact=False).click()
        bob.get_by_role("button", name="Start training").click()

    start(1)
    bob.locator("[data-testid='stProgress']").or_(bob.get_by_text("Waiting for a trainer")).first.wait_for(
        timeout=60_000)
    jobs = queue.Queue(collection.Access("user:bob"), launched.database_url)
    job = jobs.latest()
    assert job.worker is None or job.worker.split(":")[1] == str(launched.trainer.pid)
    bob.get_by_role("button", name="Use this model").wait_for(timeout=600_000)  # the run ended, its model is there
    job = jobs.get(job.id)
    replicas = {replica.pid for replica in launched.replicas}
    assert job.state == "finished" and int(job.worker.split(":")[1]) == launched.trainer.pid
    assert job.pid not in replicas and int(job.worker.split(":")[1]) not in replicas
    assert registry.Registry(collection.Access("user:bob"), launched.database_url).get(job.model).owner == "user:bob"
    bob.screenshot(path=str(server.SCREENSHOTS / "Cluster_trained.png"), full_page=True)

    start(5)
    bob.locator("[data-testid='stProgress']").first.wait_for(timeout=120_000)
    bob.get_by_role("button", name="Cancel training").click()
    bob.get_by_text("The last training run was cancelled").wait_for(timeout=60_000)
    assert jobs.latest().state == "cancelled" and jobs.latest().model is None
    assert bob.locator(server.ERROR_BOXES).count() == 0
