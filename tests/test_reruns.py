"""Cheap reruns stay cheap and bounded: a long drawing session leaves the server's memory where it was.

The figures themselves (server CPU per stroke, per upload, per reshuffle; the RSS curve of 4 sessions x 200
strokes) are `make bench`'s (scripts/bench_server.py). This is the same RSS check at a smaller scale: two people
drawing 32 strokes each at once; the server's RSS after their first 12 strokes and at the end may differ by at
most 12 MiB (keeping a reading's pictures for every stroke, ~0.5 MiB each, would show as 20 MiB).
"""

import time

import pytest

from mnist_app import config
from tests.support import server
from tests.support.canvas import draw

pytestmark = [pytest.mark.slow, pytest.mark.browser]
playwright_api = server.browser_tests()
STROKES = [[(150, 40), (140, 245)], [(70, 55), (215, 55)], [(215, 55), (120, 245)], [(80, 150), (200, 150)],
           [(100, 60), (100, 200)], [(60, 230), (220, 230)], [(190, 70), (90, 220)], [(140, 30), (150, 120)]]
SESSIONS, ROUNDS, SETTLED_AFTER, ALLOWED_GROWTH_MIB = 2, 32, 12, 12


def test_a_long_drawing_session_leaves_the_servers_memory_bounded(tmp_path):
    env = {"MNIST_APP_COLLECTION": str(tmp_path / "c.sqlite"), "MNIST_APP_ARTIFACTS": str(tmp_path / "models")}
    log = config.PROJECT_ROOT / "artifacts" / "reruns.log"
    log.parent.mkdir(exist_ok=True)
    with server.streamlit_server(extra_env=env, log_path=log) as base, playwright_api.sync_playwright() as playwright:
        pid = server.pid_of(base)
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        pages = [browser.new_page(viewport={"width": 1280, "height": 900}) for _ in range(SESSIONS)]
        for page in pages:
            page.goto(f"{base}/Draw")
            server.wait_for_page(page, server.PAGES["Draw"])
        curve = []
        for index in range(ROUNDS):
            for number, page in enumerate(pages):
                if index and index % len(STROKES) == 0:
                    page.get_by_role("button", name="Clear").click()
                    page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
                    server.wait_idle(page)
                draw(page, [STROKES[(index + number) % len(STROKES)]])
            if index + 1 == SETTLED_AFTER:
                time.sleep(2)
                settled = server.rss_mib(pid)
            curve.append(round(server.rss_mib(pid), 1))
        for page in pages:  # still answering, with a digit or a "no digit", never an error
            server.wait_idle(page)
            assert page.locator("[data-testid='stMetricValue'], [data-testid='stAlert']").count() >= 1
            assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
        time.sleep(2)
        end = server.rss_mib(pid)
        browser.close()
    assert end - settled <= ALLOWED_GROWTH_MIB, f"RSS {settled:.1f} -> {end:.1f} MiB over {ROUNDS} rounds: {curve}"
