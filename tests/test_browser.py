"""A real browser (Playwright + Debian's Chromium) against a Streamlit server started by the test."""

import math
import os

import numpy as np
import pytest
from PIL import Image

from mnist_app import config
from tests.support import server
from tests.support.canvas import DIGIT_STROKES, draw

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SCREENSHOTS = config.PROJECT_ROOT / "artifacts" / "screenshots"
ERROR_BOXES = "[data-testid='stException'], [data-testid='stAlertContentError']"

if not os.path.exists(server.CHROMIUM):
    pytest.skip(f"{server.CHROMIUM} is missing: run `make browser` (apt-get install chromium)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with server.streamlit_server(log_path=SCREENSHOTS.parent / "streamlit.log") as base:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1500})  # tall: whole pages in the shots
            yield base, page
            browser.close()


def open_page(page, base, path):
    page.goto(f"{base}/{path}", wait_until="domcontentloaded")
    server.wait_for_page(page, server.PAGES[path])


@pytest.mark.parametrize("path", list(server.PAGES))
def test_every_page_opens_without_an_error_box(app, path):
    base, page = app
    open_page(page, base, path)
    page.screenshot(path=str(SCREENSHOTS / f"{path or 'Home'}.png"), full_page=True)
    assert page.locator(ERROR_BOXES).count() == 0


def shown_digit(page, expected, timeout_ms=20_000):
    value = page.locator("[data-testid='stMetricValue']").first
    try:
        page.wait_for_function(
            "expected => { const v = document.querySelector(\"[data-testid='stMetricValue']\");"
            " return v && v.innerText.trim() === expected; }", arg=expected, timeout=timeout_ms)
    except playwright_api.TimeoutError:
        pass
    return value.inner_text().strip() if value.count() else None


def test_drawing_digits_with_the_mouse_updates_the_prediction(app):
    base, page = app
    open_page(page, base, "Draw")
    for digit, strokes in DIGIT_STROKES.items():
        draw(page, strokes)
        assert shown_digit(page, digit) == digit, f"drew a {digit}"
        server.wait_idle(page)
        page.screenshot(path=str(SCREENSHOTS / f"Draw_{digit}.png"), full_page=True)
        assert page.locator(ERROR_BOXES).count() == 0
        page.get_by_role("button", name="Clear").click()
        page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
        server.wait_idle(page)  # the fresh, empty canvas is mounted


def test_undo_and_redo_in_the_canvas_toolbar_update_the_prediction(app):
    base, page = app
    open_page(page, base, "Draw")
    upright, bent_arm = DIGIT_STROKES["4"][1], DIGIT_STROKES["4"][0]
    draw(page, [upright])
    assert shown_digit(page, "1") == "1"
    draw(page, [bent_arm])
    assert shown_digit(page, "4") == "4"
    page.locator("canvas.upper-canvas").hover()  # the toolbar shows on hover, above the canvas' corner
    page.get_by_role("button", name="Undo", exact=True).click()
    assert shown_digit(page, "1") == "1", "undo took the last stroke away"
    page.get_by_role("button", name="Redo", exact=True).click()
    assert shown_digit(page, "4") == "4", "redo put it back"
    server.wait_idle(page)
    page.get_by_role("button", name="Clear").click()
    page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)


def test_number_mode_reads_digits_drawn_side_by_side(app):
    base, page = app
    open_page(page, base, "Draw")
    page.get_by_text("Number", exact=True).first.click()  # the segmented control's option
    server.wait_idle(page)
    one = [[(120, 40), (112, 200)]]
    seven = [[(250, 45), (360, 45), (290, 205)]]
    zero = [[(470 + 50 * math.sin(t), 125 - 80 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 40)]]
    for strokes in (one, seven, zero):
        draw(page, strokes)
    shown = shown_digit(page, "170")
    server.wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "Draw_number.png"), full_page=True)
    assert shown == "170"
    assert page.locator(ERROR_BOXES).count() == 0


@pytest.mark.parametrize("width", [1024, 1200])
def test_the_canvas_is_never_cut_off_on_a_laptop_screen(app, width):
    base, page = app
    page.set_viewport_size({"width": width, "height": 900})
    try:
        open_page(page, base, "Draw")
        for mode in ("Digit", "Number"):
            page.get_by_text(mode, exact=True).first.click()
            server.wait_idle(page)
            shown, drawn = page.locator(".dc-scroll").evaluate("e => [e.clientWidth, e.scrollWidth]")
            assert shown == drawn, f"{mode} mode at {width} px: only {shown} of the canvas' {drawn} px are visible"
    finally:
        page.set_viewport_size({"width": 1280, "height": 1500})


def test_no_figure_is_cut_short_on_a_small_screen(app):
    base, page = app
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        for path in ("", "Model", "Training_history", "Evaluation"):
            open_page(page, base, path)
            cut = page.locator("[data-testid='stMetricValue']").evaluate_all(
                "values => values.flatMap(v => [v, ...v.querySelectorAll('*')])"
                ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.closest('[data-testid=stMetricValue]')"
                ".innerText)")
            assert not cut, f"{path or 'Home'}: metric values cut short at 1024 px: {cut}"
    finally:
        page.set_viewport_size({"width": 1280, "height": 1500})


def test_uploading_an_image_shows_its_result(app, mnist, tmp_path):
    base, page = app
    open_page(page, base, "Upload")
    path = tmp_path / "my_digit.png"
    Image.fromarray(255 - mnist.x_test[0]).resize((140, 140)).save(path)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    assert shown_digit(page, str(mnist.y_test[0])) == str(mnist.y_test[0])
    page.get_by_text("What the model sees").first.wait_for()
    server.wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "Upload_result.png"), full_page=True)
    assert page.locator(ERROR_BOXES).count() == 0
