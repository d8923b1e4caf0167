"""A bounded load test: several browser sessions draw and upload at once against one Streamlit server.

Four Chromium sessions (two drawing, two uploading) run for a fixed time against a server the test
starts on loopback. Every answer must be the right digit with no error box. Sessions, requests, latencies and
strokes that left no ink on the canvas (drawn again, as a person would; see tests/support/canvas.py) are
printed and written to artifacts/load.json.
"""

import json
import threading
import time

import numpy as np
import pytest
from PIL import Image

from mnist_app import config
from tests.support import server
from tests.support.canvas import DIGIT_STROKES, draw

pytestmark = [pytest.mark.slow, pytest.mark.browser]
playwright_api = server.browser_tests()
DURATION_S = 30
SESSIONS = (("draw", 2), ("upload", 2))
MISSES = config.PROJECT_ROOT / "artifacts" / "load_misses"


def wait_for_digit(page, expected: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "expected => { const v = document.querySelector(\"[data-testid='stMetricValue']\");"
        " return v && v.innerText.trim() === expected; }", arg=expected, timeout=timeout_ms)


def session(kind: str, number: int, base: str, uploads: list, deadline: float, report: dict) -> None:
    records = report.setdefault(f"{kind}-{number}", {"latencies_ms": [], "wrong": [], "errors": [], "redrawn": 0})
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 850})
            page.goto(f"{base}/{'Draw' if kind == 'draw' else 'Upload'}", wait_until="domcontentloaded")
            server.wait_for_page(page, server.PAGES["Draw" if kind == "draw" else "Upload"])
            step = 0
            while time.monotonic() < deadline:
                if kind == "draw":
                    expected, strokes = list(DIGIT_STROKES.items())[step % len(DIGIT_STROKES)]
                    records["redrawn"] += draw(page, strokes)
                    started = time.perf_counter()  # from the last mouse-up: the time spent drawing is the user's
                else:
                    path, label = uploads[step % len(uploads)]
                    expected = str(label)
                    remove = page.locator("button[aria-label^='Remove ']")
                    if remove.count():  # the uploader accepts many files: replace, do not add
                        remove.first.click()
                        page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=30_000)
                        server.wait_idle(page)
                    started = time.perf_counter()
                    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
                try:
                    wait_for_digit(page, expected)
                    records["latencies_ms"].append((time.perf_counter() - started) * 1000)
                except playwright_api.TimeoutError:
                    shown = page.locator("[data-testid='stMetricValue']")
                    records["wrong"].append((expected, shown.first.inner_text() if shown.count() else None))
                    MISSES.mkdir(parents=True, exist_ok=True)  # what the user saw, for the failure report
                    page.screenshot(path=str(MISSES / f"{kind}-{number}-{step}.png"), full_page=True)
                if page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count():
                    records["errors"].append(f"error box after request {step}")
                if kind == "draw":
                    page.get_by_role("button", name="Clear").click()
                    page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=30_000)
                    server.wait_idle(page)  # the fresh, empty canvas is mounted
                step += 1
            browser.close()
    except Exception as error:  # reported, and failed, by the main thread
        records["errors"].append(f"{type(error).__name__}: {error}")


def test_concurrent_sessions_all_get_correct_answers(mnist, tmp_path):
    uploads = []
    for index in range(5):  # the first test digits (7, 2, 1, 0, 4) as dark ink on white
        path = tmp_path / f"upload_{index}.png"
        Image.fromarray(255 - mnist.x_test[index]).resize((112, 112)).save(path)
        uploads.append((path, int(mnist.y_test[index])))
    report: dict = {}
    with server.streamlit_server() as base:
        deadline = time.monotonic() + DURATION_S
        threads = [threading.Thread(target=session, args=(kind, n, base, uploads, deadline, report))
                   for kind, count in SESSIONS for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION_S + 180)
    latencies = [value for record in report.values() for value in record["latencies_ms"]]

    def percentiles(kind: str, skip: int = 0) -> dict:  # skip=1: each session's first answer waits for the model
        values = [value for name, record in report.items() if name.startswith(kind)
                  for value in record["latencies_ms"][skip:]]
        return {f"p{q}": round(float(np.percentile(values, q)), 1) for q in (50, 95)} if values else {}

    summary = {
        "sessions": len(report), "duration_s": DURATION_S, "requests": len(latencies),
        "wrong_or_missing": [answer for record in report.values() for answer in record["wrong"]],
        "latency_ms": {kind: percentiles(kind) for kind, _ in SESSIONS},
        "warm_latency_ms": {kind: percentiles(kind, skip=1) for kind, _ in SESSIONS},
        "per_session_requests": {name: len(record["latencies_ms"]) for name, record in report.items()},
        "strokes_redrawn": sum(record["redrawn"] for record in report.values()),
    }
    output = config.PROJECT_ROOT / "artifacts" / "load.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps(summary, indent=1) + "\n")
    print("\nload test:", json.dumps(summary))
    assert all(not record["errors"] for record in report.values()), {k: v["errors"] for k, v in report.items()}
    assert summary["wrong_or_missing"] == []
    assert all(count >= 2 for count in summary["per_session_requests"].values())  # every session was served
