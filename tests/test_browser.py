"""A real browser (Playwright + Debian's Chromium) against a Streamlit server started by the test."""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.support import server
from tests.support.canvas import DIGIT_STROKES, Finger, canvas_ink, draw

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = server.browser_tests()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The dashboard's address and a browser, for every test of this module (with a collection of its own)."""
    with server.dashboard_and_browser(tmp_path_factory.mktemp("collection"), "streamlit.log") as shared:
        yield shared


@pytest.fixture(scope="module")
def app(served):
    base, browser = served
    page = browser.new_page(viewport={"width": 1280, "height": 1500})  # tall: whole pages in the shots
    yield base, page
    page.close()


def open_page(page, base, path):
    page.goto(f"{base}/{path}", wait_until="domcontentloaded")
    server.wait_for_page(page, server.PAGES[path])


@pytest.mark.parametrize("path", list(server.PAGES))
def test_every_page_opens_without_an_error_box(app, path):
    base, page = app
    open_page(page, base, path)
    page.screenshot(path=str(server.SCREENSHOTS / f"{path or 'Home'}.png"), full_page=True)
    assert page.locator(server.ERROR_BOXES).count() == 0


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
        page.screenshot(path=str(server.SCREENSHOTS / f"Draw_{digit}.png"), full_page=True)
        assert page.locator(server.ERROR_BOXES).count() == 0
        page.get_by_role("button", name="Clear").click()
        page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
        server.wait_idle(page)  # the fresh, empty canvas is mounted


def test_drawing_something_that_is_no_digit_says_so_not_that_the_canvas_is_empty(app):
    """An X on the canvas: "No digit found" and why, as on every face; an invitation to draw once it is cleared."""
    base, page = app
    open_page(page, base, "Draw")
    draw(page, [[(70, 60), (210, 230)], [(210, 60), (70, 230)]])
    page.get_by_text("No digit found").first.wait_for(timeout=20_000)
    server.wait_idle(page)
    page.screenshot(path=str(server.SCREENSHOTS / "Draw_not_a_digit.png"), full_page=True)
    assert page.get_by_text("does not look like a digit").count() and not page.get_by_text("canvas is empty").count()
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("No digit found").first.wait_for(state="detached", timeout=20_000)
    server.wait_idle(page)
    assert page.get_by_text("Draw a digit (0–9)").or_(page.get_by_text("canvas is empty")).count()
    assert page.locator(server.ERROR_BOXES).count() == 0


@pytest.mark.parametrize("width", [390, 820, 1024, 1440])
def test_homes_links_are_never_cut_short(served, width):
    """Every "Try it" link and what it offers can be read whole, at every width (they were cut to "Draw — the
    pre…" at 820 and 1024 px: issue 21, defect 4)."""
    base, browser = served
    page = browser.new_page(viewport={"width": width, "height": 1200})
    open_page(page, base, "")
    links = page.locator("[data-testid='stPageLink-NavLink']")
    links.first.wait_for(timeout=30_000)
    cut = page.evaluate("""() => [...document.querySelectorAll(
        "[data-testid='stMain'] [data-testid='stPageLink-NavLink'], [data-testid='stMain'] [class*='st-key-try_'] p")]
        .flatMap(link => [link, ...link.querySelectorAll('*')])
        .filter(element => element.scrollWidth > element.clientWidth + 1).map(element => element.innerText)""")
    texts = page.locator("[data-testid='stMain']").inner_text()
    page.screenshot(path=str(server.SCREENSHOTS / f"Home_{width}.png"), full_page=True)
    page.close()
    assert cut == [], cut
    for listed in server.chrome.PAGES:
        assert listed.blurb[1:] in texts, listed.blurb


@pytest.mark.parametrize("width", [820, 1024])
def test_the_model_pages_downloads_and_layers_are_whole(served, width):
    """The download buttons' labels are never cut ("K…", "O…" at 820 px) and the layer table shows every layer
    (it stopped at row 19 of 22 behind an inner scroll: issue 21, defect 3)."""
    from mnist_app.store import results

    base, browser = served
    page = browser.new_page(viewport={"width": width, "height": 1200})
    open_page(page, base, "Model")
    page.get_by_text("Download", exact=True).first.wait_for(timeout=30_000)
    server.wait_idle(page)
    cut = page.evaluate("""() => [...document.querySelectorAll("[data-testid='stDownloadButton'] button *")]
        .filter(element => element.scrollWidth > element.clientWidth + 1).map(element => element.innerText)""")
    layers = len(results.load_model_summary()["layers"])
    table = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.close()
    assert cut == [], cut
    assert table["height"] >= 35 * (layers + 1), (table["height"], layers)


@pytest.mark.parametrize("width", [820, 1024])
def test_evaluations_table_and_matrix_get_room_or_stack(served, width):
    """At 820 px the per-digit table was cut after "recall" and the confusion matrix's numbers ran together
    ("10301"): each half now has at least 390 px, side by side or one under the other (issue 21, defect 6)."""
    base, browser = served
    page = browser.new_page(viewport={"width": width, "height": 1200})
    open_page(page, base, "Evaluation")
    table = page.locator("[data-testid='stDataFrame']").first
    matrix = page.locator("[data-testid='stVegaLiteChart']").first
    matrix.wait_for(timeout=30_000)
    server.wait_idle(page)
    page.wait_for_timeout(500)
    widths = [round(table.bounding_box()["width"]), round(matrix.bounding_box()["width"])]
    page.close()
    assert min(widths) >= 390, widths


TOOLBARS_SHOWN = """() => [...document.querySelectorAll("[data-testid='stElementToolbar']")]
    .filter(bar => bar.getClientRects().length && Number(getComputedStyle(bar).opacity) > 0.05).length"""


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 820, "height": 1180}])
def test_no_toolbar_covers_a_touch_screen_and_the_mouse_still_gets_one(served, viewport):
    """On touch screens the charts' and tables' toolbars stayed on screen over captions and buttons (Model and
    Evaluation; issue 21, defect 7). A mouse still brings a table's toolbar up by hovering."""
    base, browser = served
    touch = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = touch.new_page()
    for path in ("Model", "Evaluation"):
        open_page(page, base, path)
        page.locator("[data-testid='stElementToolbar']").first.wait_for(state="attached", timeout=30_000)
        server.wait_idle(page)
        assert page.evaluate(TOOLBARS_SHOWN) == 0, path
    touch.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    open_page(page, base, "Model")
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for(timeout=30_000)
    table.hover()
    page.wait_for_timeout(500)
    assert page.evaluate(TOOLBARS_SHOWN) >= 1
    page.close()


@pytest.mark.parametrize("width", [390, 1024, 1440])
def test_the_training_curves_have_room_to_plot(served, width):
    """Each chart on Training history gets its 220 px plot area with the title, legend and axes around it (they
    had to share the 220 px, leaving ~15 px of plot: issue 21, defect 2)."""
    base, browser = served
    page = browser.new_page(viewport={"width": width, "height": 1200})
    open_page(page, base, "Training_history")
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # Vega lays the charts out after they arrive
    heights = [round(chart.bounding_box()["height"]) for chart in charts.all()]
    page.screenshot(path=str(server.SCREENSHOTS / f"Training_history_{width}.png"), full_page=True)
    page.close()
    assert len(heights) == 2 and all(height >= 320 for height in heights), heights


def test_undo_and_redo_buttons_update_the_prediction(app):
    base, page = app
    open_page(page, base, "Draw")
    upright, bent_arm = DIGIT_STROKES["4"][1], DIGIT_STROKES["4"][0]
    draw(page, [upright])
    assert shown_digit(page, "1") == "1"
    draw(page, [bent_arm])
    assert shown_digit(page, "4") == "4"
    page.get_by_role("button", name="Undo", exact=True).click()
    assert shown_digit(page, "1") == "1", "undo took the last stroke away"
    page.get_by_role("button", name="Redo", exact=True).click()
    assert shown_digit(page, "4") == "4", "redo put it back"
    server.wait_idle(page)
    page.get_by_role("button", name="Clear").click()
    page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
    assert canvas_ink(page) == 0


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
    page.screenshot(path=str(server.SCREENSHOTS / "Draw_number.png"), full_page=True)
    assert shown == "170"
    assert page.locator(server.ERROR_BOXES).count() == 0


TOUCHING_42 = ([[(110, 40), (50, 150), (175, 150)], [(140, 55), (140, 215)]],  # a 4 ...
               [[(178, 80), (200, 50), (240, 42), (268, 66), (258, 110), (150, 208), (275, 208)]])  # ... a 2 against it


def test_number_mode_reads_a_touching_42(app):
    """A 4 and a 2 drawn so that they touch (one piece of ink, checked on the same strokes drawn with Pillow at the
    pen's width) are read as 42 in Number mode: the classifier decides where to cut (issue 23)."""
    import cv2

    picture = Image.new("L", (560, 240), 0)
    for stroke in TOUCHING_42[0] + TOUCHING_42[1]:
        ImageDraw.Draw(picture).line(stroke, fill=255, width=18, joint="curve")
    assert cv2.connectedComponents((np.asarray(picture) > 128).astype(np.uint8))[0] == 2, "the 4 and 2 must touch"
    base, page = app
    open_page(page, base, "Draw")
    page.get_by_text("Number", exact=True).first.click()
    server.wait_idle(page)
    for strokes in TOUCHING_42:
        draw(page, strokes)
    shown = shown_digit(page, "42")
    server.wait_idle(page)
    page.screenshot(path=str(server.SCREENSHOTS / "Draw_number_touching_42.png"), full_page=True)
    assert shown == "42"
    assert page.locator(server.ERROR_BOXES).count() == 0


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


CUT_METRICS = ("values => values.flatMap(v => [v, ...v.querySelectorAll('*')])"
               ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.closest('[data-testid=stMetricValue]')"
               ".innerText)")


def test_no_figure_is_cut_short_on_a_small_screen(app):
    base, page = app
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        for path in ("", "Model", "Training_history", "Evaluation"):
            open_page(page, base, path)
            cut = page.locator("[data-testid='stMetricValue']").evaluate_all(CUT_METRICS)
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
    page.screenshot(path=str(server.SCREENSHOTS / "Upload_result.png"), full_page=True)
    assert page.locator(server.ERROR_BOXES).count() == 0


DANGLING_ARROWS = """() => {
    const main = document.querySelector("[data-testid='stMain']");
    const steps = [...main.querySelectorAll("img, [data-testid='stMetric']")].map(e => e.getBoundingClientRect());
    return [...main.querySelectorAll("div")].filter(e => e.children.length === 0 && e.innerText.trim() === "→")
        .map(e => e.getBoundingClientRect())
        .filter(a => !steps.some(s => s.left >= a.right - 1 && s.top < a.bottom && s.bottom > a.top)).length;
}"""


@pytest.mark.parametrize("width", [390, 820, 1024, 1440])
def test_homes_arrows_point_at_the_next_step(served, width):
    """"How it works": each arrow has the step it points to beside it on its own line; on narrow screens one was
    left dangling at the end of a row, its picture on the next (issue 21, defect 4)."""
    base, browser = served
    page = browser.new_page(viewport={"width": width, "height": 1400})
    open_page(page, base, "")
    page.locator("[data-testid='stMain'] img").first.wait_for(timeout=30_000)
    server.wait_idle(page)
    page.wait_for_timeout(500)
    arrows = page.get_by_text("→", exact=True).count()
    dangling = page.evaluate(DANGLING_ARROWS)
    page.close()
    assert arrows == 2 and dangling == 0, (arrows, dangling)


IMAGES_WITHOUT_ALT = """() => [...document.querySelectorAll("[data-testid='stMain'] img")]
    .map(image => (image.getAttribute("alt") || "").trim())
    .filter(alt => alt.length < 8 || /^[0-9]+$/.test(alt))"""


def test_every_picture_says_what_it_shows(app, mnist, tmp_path):
    """Home's pictures, Random samples, and a result on Draw and on Upload: each image has alt text saying what it
    shows ("what the model sees: a white 7 on black, 28×28"), never none or Streamlit's "0" (issue 21, defect 10).
    """
    base, page = app
    for path in ("", "Random_samples"):
        open_page(page, base, path)
        page.locator("[data-testid='stMain'] img").first.wait_for(timeout=30_000)
        server.wait_idle(page)
        assert page.evaluate(IMAGES_WITHOUT_ALT) == [], path or "Home"
    open_page(page, base, "Draw")
    draw(page, DIGIT_STROKES["7"])
    assert shown_digit(page, "7") == "7"
    server.wait_idle(page)
    assert page.locator("img[alt='what the model sees: a white 7 on black, 28×28']").count() == 1
    assert page.evaluate(IMAGES_WITHOUT_ALT) == [], "Draw"
    open_page(page, base, "Upload")
    picture = tmp_path / "digit.png"
    Image.fromarray(255 - mnist.x_test[1]).resize((140, 140)).save(picture)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(picture))
    assert shown_digit(page, str(mnist.y_test[1])) == str(mnist.y_test[1])
    server.wait_idle(page)
    assert page.evaluate(IMAGES_WITHOUT_ALT) == [], "Upload"


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/156.0.0.0 Mobile Safari/537.36"}
LAPTOP = {"viewport": {"width": 1024, "height": 700}}
WIDER_THAN_THE_SCREEN = """() => {
    const main = document.querySelector("[data-testid='stMain']");
    return [document.documentElement.scrollWidth - window.innerWidth, main.scrollWidth - main.clientWidth];
}"""
SCROLLED = "() => [window.scrollY, document.querySelector(\"[data-testid='stMain']\").scrollTop]"


def answer_in_view(page, expected: str, says: str = "confident") -> None:
    """The digit (or number) and its confidence are on screen, without scrolling, right after the stroke."""
    assert shown_digit(page, expected) == expected
    answer = page.locator("[data-testid='stMetric']").first
    box, viewport = answer.bounding_box(), page.viewport_size
    assert page.evaluate(SCROLLED) == [0, 0]
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], f"answer at {box}, screen {viewport}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"answer at {box}, screen {viewport}"
    assert says in answer.inner_text()


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_draw_on_a_phone_with_a_finger_and_on_a_small_laptop(served, device):
    """390x844 with touch, 1024x700 with the mouse: the answer shows beside or under the canvas, in view;
    nothing is wider than the screen; Undo and Clear work by touch (or click); a stroke may start anywhere."""
    base, browser = served
    context = browser.new_context(**(PHONE if device == "phone" else LAPTOP))
    page = context.new_page()
    finger = Finger(context, page) if device == "phone" else None
    press = (lambda button: button.tap()) if finger else (lambda button: button.click())
    try:
        open_page(page, base, "Draw")
        for digit in ("1", "7"):
            draw(page, DIGIT_STROKES[digit], finger=finger)
            answer_in_view(page, digit)
            assert page.evaluate(WIDER_THAN_THE_SCREEN) == [0, 0]
            page.screenshot(path=str(server.SCREENSHOTS / f"Draw_{device}_{digit}.png"))
            server.wait_idle(page)
            press(page.get_by_role("button", name="Clear"))
            page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
            server.wait_idle(page)
            assert canvas_ink(page) == 0
        # A stroke that starts in the canvas' top-right corner (where the component's own toolbar sat,
        # invisible on touch screens) lands; then Undo takes the last stroke away.
        upright, bent_arm = [(250, 4), (250, 250)], [(180, 40), (70, 170), (215, 170)]
        draw(page, [upright], attempts=1, finger=finger)
        assert shown_digit(page, "1") == "1"
        draw(page, [bent_arm], finger=finger)
        assert shown_digit(page, "4") == "4"
        server.wait_idle(page)
        press(page.get_by_role("button", name="Undo", exact=True))
        assert shown_digit(page, "1") == "1", "undo took the last stroke away"
        assert page.locator("canvas.upper-canvas").evaluate("c => getComputedStyle(c).display") != "none"
        assert page.locator(".dc-toolbar").evaluate("t => getComputedStyle(t).display") == "none"
        assert page.locator(server.ERROR_BOXES).count() == 0
    finally:
        context.close()


def test_number_mode_reads_a_touching_42_written_with_a_finger_on_a_phone(served):
    """At 390x844 with touch, Number mode reads the touching 42 (issue 23) and shows the number in view. (The
    strokes are drawn at 70 %: the phone's canvas is about 316 x 185 px.)"""
    base, browser = served
    context = browser.new_context(**PHONE)
    page = context.new_page()
    finger = Finger(context, page)
    try:
        open_page(page, base, "Draw")
        page.get_by_text("Number", exact=True).first.tap()
        server.wait_idle(page)
        for strokes in TOUCHING_42:
            draw(page, [[(0.7 * x, 0.7 * y) for x, y in stroke] for stroke in strokes], finger=finger)
        answer_in_view(page, "42", says="lowest confidence")
        assert page.evaluate(WIDER_THAN_THE_SCREEN) == [0, 0]
        server.wait_idle(page)
        page.screenshot(path=str(server.SCREENSHOTS / "Draw_phone_number_42.png"))
        assert page.locator(server.ERROR_BOXES).count() == 0
    finally:
        context.close()


@pytest.mark.parametrize("path", ["", "Random_samples", "Model", "Training_history", "Evaluation"])
def test_pages_fit_a_phone_screen(served, path):
    base, browser = served
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        open_page(page, base, path)
        page.wait_for_timeout(500)  # charts are drawn by the browser after the script has finished
        assert page.evaluate(WIDER_THAN_THE_SCREEN) == [0, 0], f"{path or 'Home'} is wider than a phone"
        cut = page.locator("[data-testid='stMetricValue']").evaluate_all(CUT_METRICS)
        assert not cut, f"{path or 'Home'}: metric values cut short on a phone: {cut}"
        page.screenshot(path=str(server.SCREENSHOTS / f"phone_{path or 'Home'}.png"), full_page=True)
        if path == "Random_samples":  # the grid has fewer columns, captions stay at full size
            columns = page.locator(".digit-grid").evaluate(
                "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
            caption = page.locator(".digit-grid figcaption").first.evaluate(
                "c => parseFloat(getComputedStyle(c).fontSize)")
            assert 2 <= columns <= 3 and caption >= 13
    finally:
        context.close()


def test_a_drawn_digit_marked_wrong_is_found_on_my_digits(app):
    """Draw a 1, say it is a 7, keep it: My digits lists it with the label 7 (and the model's answer, 1)."""
    base, page = app
    open_page(page, base, "Draw")
    draw(page, DIGIT_STROKES["1"])
    assert shown_digit(page, "1") == "1"
    server.wait_idle(page)
    keep = page.locator(".st-key-draw_result_keep")
    keep.get_by_text("Wrong", exact=True).click()
    server.wait_idle(page)
    keep.get_by_text("7", exact=True).click()
    server.wait_idle(page)
    keep.get_by_role("button", name="Save to my digits").click()
    page.get_by_role("button", name="Kept as a 7").wait_for(timeout=20_000)
    open_page(page, base, "My_digits")
    caption = page.locator(".digit-grid figcaption").first
    assert "pred 1 · true 7" in caption.inner_text()
    page.screenshot(path=str(server.SCREENSHOTS / "My_digits.png"), full_page=True)
    assert page.locator(server.ERROR_BOXES).count() == 0


def test_the_fake_camera_frame_is_no_confident_digit(served):
    """Chromium's fake webcam shows a test pattern with no digit: the Camera page must not answer a confident digit
    (the issue's first complaint: "1 — 83.8 % confident")."""
    base, shared = served
    browser = shared.browser_type.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1200}, permissions=["camera"])
        page = context.new_page()
        open_page(page, base, "Camera")
        page.get_by_role("button", name="Take Photo").click(timeout=30_000)
        verdict = page.get_by_text("No digit found").or_(page.get_by_text("Not sure"))
        verdict.first.wait_for(timeout=30_000)
        page.screenshot(path=str(server.SCREENSHOTS / "Camera_fake_frame.png"), full_page=True)
        assert page.locator(server.ERROR_BOXES).count() == 0
    finally:
        browser.close()


GAP_UNDER_THE_TITLE = """() => {  // from the title's text to the first line of text under it, in px
    const title = document.createRange();
    title.selectNodeContents(document.querySelector("[data-testid='stMain'] h1"));
    const bottom = title.getBoundingClientRect().bottom;
    const next = [...document.querySelectorAll("[data-testid='stMain'] p, [data-testid='stMain'] label")]
        .find(p => p.getBoundingClientRect().top > bottom && p.innerText.trim());
    const text = document.createRange();
    text.selectNodeContents(next);
    return Math.round(text.getBoundingClientRect().top - bottom);
}"""


def on_every_page(served, width: int, script: str, settle_ms: int = 0) -> dict:
    """{page: what `script` finds on it}, every page opened in turn at `width` px."""
    base, browser = served
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        found = {}
        for path in server.PAGES:
            open_page(page, base, path)
            page.wait_for_timeout(settle_ms)
            found[path or "Home"] = page.evaluate(script)
        return found
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1440])
def test_no_page_leaves_a_gap_under_its_title(served, width):
    """What follows a page's title starts right under it: issue 21, defect 4 reported ~50 px on Home (16 px today)."""
    gaps = on_every_page(served, width, GAP_UNDER_THE_TITLE)
    assert all(0 <= gap <= 28 for gap in gaps.values()), gaps


CUT_WITH_AN_ELLIPSIS = """() => [...document.querySelectorAll("[data-testid='stMain'] *")]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1
                 && e.innerText.trim())
    .map(e => e.innerText.trim().slice(0, 60))"""


@pytest.mark.parametrize("width", [390, 820, 1024, 1440])
def test_no_words_are_cut_short_with_an_ellipsis(served, width):
    """Labels, deltas and captions are whole on every page: issue 21, defects 3, 4 and 6 (the Evaluation page's
    temperature method was cut at every width, "Test accuracy (whole model)" on a phone)."""
    cut = {path: found for path, found in on_every_page(served, width, CUT_WITH_AN_ELLIPSIS, settle_ms=300).items()
           if found}
    assert not cut, cut


LOOK_INSIDE_FOUND = """() => ({
    stages: [...document.querySelectorAll("[data-testid='stMain'] .maps[aria-label]")]
        .map(grid => [grid.getAttribute('aria-label').split(':')[0], grid.querySelectorAll('img').length]),
    neighbours: document.querySelectorAll("img[alt^='training image #']").length,
    charts: [...document.querySelectorAll("[data-testid='stMain'] [role='graphics-document']")]
        .map(chart => chart.getAttribute('aria-label')),
})"""


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_draw_a_4_and_look_inside_it(served, device):
    """Draw a 4 (by touch on a phone), open Look inside from its result card: feature maps for every convolutional
    layer, the 12 nearest training digits and the sweep charts; nothing is wider than the screen."""
    base, browser = served
    context = browser.new_context(**(PHONE if device == "phone" else {"viewport": {"width": 1440, "height": 900}}))
    page = context.new_page()
    finger = Finger(context, page) if device == "phone" else None
    try:
        open_page(page, base, "Draw")
        draw(page, DIGIT_STROKES["4"], finger=finger)
        assert shown_digit(page, "4") == "4"
        server.wait_idle(page)
        button = page.get_by_role("button", name="Look inside this reading")
        button.tap() if finger else button.click()
        page.get_by_role("heading", name="Compare models").wait_for(timeout=60_000)
        page.locator("[data-testid='stDataFrame']").wait_for(timeout=60_000)
        server.wait_idle(page)
        page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stMain'] "
                               "[role='graphics-document']\").length >= 5", timeout=30_000)
        found = page.evaluate(LOOK_INSIDE_FOUND)
        assert "Looking at your digit" in page.locator("[data-testid='stMain']").inner_text()
        assert dict(found["stages"]) == {"conv1": 32, "conv2": 32, "pool1": 32, "conv3": 64, "conv4": 64, "pool2": 64}
        assert found["neighbours"] == 12
        sweeps = [label for label in found["charts"] if label.startswith("Line chart of each digit's probability")]
        assert len(sweeps) == 2 and "rotation" in sweeps[0] and "shift right" in sweeps[1], found["charts"]
        assert page.evaluate(WIDER_THAN_THE_SCREEN) == [0, 0]
        page.screenshot(path=str(server.SCREENSHOTS / f"Look_inside_{device}.png"))
        assert page.locator(server.ERROR_BOXES).count() == 0
    finally:
        context.close()
