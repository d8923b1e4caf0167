"""WCAG 2.1 AA in a real browser: axe-core (from npm) on every page, in the light and the dark theme, on a phone and on
a desktop screen, with and without an answer on screen; focus that can be seen; answers a screen reader reads."""

import pytest
from PIL import Image

from tests.support import axe, server
from tests.support.canvas import DIGIT_STROKES, draw

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = server.browser_tests()

SIZES = {"phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
         "desktop": {"viewport": {"width": 1440, "height": 900}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The dashboard's address and a browser, for every test of this module (with a collection of its own)."""
    with server.dashboard_and_browser(tmp_path_factory.mktemp("collection"), "streamlit_a11y.log") as shared:
        yield shared


def visit(page, base, path) -> None:
    page.goto(f"{base}/{path}", wait_until="domcontentloaded")
    server.wait_for_page(page, server.PAGES[path])


def theme_of(page) -> str:
    """Which of Streamlit's themes the page shows, from its background."""
    return page.evaluate("""() => {
        const [r, g, b] = getComputedStyle(document.querySelector("[data-testid='stApp']")).backgroundColor
            .match(/[0-9.]+/g).map(Number);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? 'dark' : 'light';
    }""")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_no_page_has_a_serious_accessibility_violation(served, size, theme):
    """axe-core's WCAG 2 A/AA rules on all 11 pages: no violation of impact serious or critical. The dark theme is
    Streamlit's own, chosen as a browser set to dark chooses it ("Use system setting", the menu's default)."""
    base, browser = served
    context = browser.new_context(**SIZES[size], color_scheme=theme)
    page = context.new_page()
    found = {}
    try:
        for path in server.PAGES:
            visit(page, base, path)
            assert theme_of(page) == theme
            page.wait_for_timeout(300)  # charts are drawn by the browser after the script has finished
            if violations := axe.violations(page):
                found[path or "Home"] = axe.described(violations)
                page.screenshot(path=str(server.SCREENSHOTS / f"axe_{size}_{theme}_{path or 'Home'}.png"))
    finally:
        context.close()
    assert not found, "\n".join(f"{path}:\n{text}" for path, text in found.items())


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_answers_on_screen_have_no_serious_accessibility_violation(served, size, theme, mnist, tmp_path):
    """With a result on screen on Draw, Upload and Random samples (charts, pictures, Save buttons); the answer is
    also a sentence in a status region ("Prediction: 7, more than 99.9 % confident."), read by screen readers."""
    base, browser = served
    context = browser.new_context(**SIZES[size], color_scheme=theme)
    page = context.new_page()
    found = {}
    try:
        visit(page, base, "Draw")
        draw(page, DIGIT_STROKES["7"])
        page.get_by_role("status").filter(has_text="Prediction: 7, ").wait_for(state="attached",
                                                                                            timeout=30_000)
        server.wait_idle(page)
        if violations := axe.violations(page):
            found["Draw"] = axe.described(violations)
        visit(page, base, "Upload")
        picture = tmp_path / "digit.png"
        Image.fromarray(255 - mnist.x_test[0]).resize((140, 140)).save(picture)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(picture))
        page.get_by_role("status").filter(has_text=f"Prediction: {mnist.y_test[0]},").wait_for(state="attached",
                                                                                                timeout=30_000)
        server.wait_idle(page)
        if violations := axe.violations(page):
            found["Upload"] = axe.described(violations)
        visit(page, base, "Random_samples")
        page.get_by_role("status").filter(has_text="Prediction:").first.wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(300)
        if violations := axe.violations(page):
            found["Random samples"] = axe.described(violations)
    finally:
        page.screenshot(path=str(server.SCREENSHOTS / f"axe_answers_{size}_{theme}.png"), full_page=True)
        context.close()
    assert not found, "\n".join(f"{path}:\n{text}" for path, text in found.items())


FOCUS_RING = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = (el.innerText || el.getAttribute('aria-label') || el.tagName).trim().slice(0, 40);
    return {label, outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
            shadow: style.boxShadow !== 'none'};
}"""


@pytest.mark.parametrize("path", list(server.PAGES))
def test_focus_is_visible_on_everything_the_keyboard_reaches(served, path):
    """Tab through the page: every element that takes the focus shows a ring at least 2 px wide (WCAG 2.4.7)."""
    base, browser = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        visit(page, base, path)
        faint = []
        for _ in range(25):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUS_RING)
            if focused and focused["outline"] < 2:
                faint.append(focused["label"])
        assert not faint, f"{path or 'Home'}: focus hardly visible on {faint}"
    finally:
        context.close()


FOCUSED = """() => {  // the element that has the keyboard's focus, inside shadow roots too
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? {tag: el.tagName, cls: el.className.toString(), text: (el.innerText || '').trim().slice(0, 60)} : null;
}"""


def tab_to(page, wanted, most=60, back=False) -> None:
    """Press Tab (Shift+Tab with `back`) until the focused element satisfies `wanted`, as a keyboard user would."""
    seen = []
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused and wanted(focused):
            return
        seen.append(focused and (focused["text"] or focused["cls"])[:30])
    raise AssertionError(f"the keyboard never reached it; the focus went through {seen}")


def grid_answer(page, expected: str) -> str:
    region = page.locator(".kg-answer")
    page.wait_for_function("e => { const r = document.querySelector(\"[data-testid='stBidiComponentIsolated']\");"
                           " const a = r && r.shadowRoot.querySelector('.kg-answer');"
                           " return a && a.textContent.startsWith(e); }", arg=expected, timeout=30_000)
    return region.inner_text()


def test_a_keyboard_alone_draws_reads_and_keeps_digits(served):
    """No mouse: Tab to the Keyboard mode and into the grid, draw a 1 and read it, clear, draw a 7 and read it (the
    answers announced in the grid's live region), then keep the 7 in My digits, where it is listed."""
    base, browser = served
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    keys = page.keyboard
    try:
        visit(page, base, "Draw")
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Digit")  # the mode: one Tab stop, whose
        keys.press("ArrowRight")  # options are chosen with the arrow keys
        keys.press("ArrowRight")
        assert page.evaluate(FOCUSED)["text"] == "Keyboard"
        keys.press("Enter")
        server.wait_idle(page)
        tab_to(page, lambda f: "kg-grid" in f["cls"])
        for _ in range(5):  # the cursor starts in the middle (row 8, column 8): up to row 3, then a stroke down
            keys.press("ArrowUp")
        keys.press("Space")
        for _ in range(9):
            keys.press("Shift+ArrowDown")
        keys.press("Enter")
        assert grid_answer(page, "Prediction: 1,").startswith("Prediction: 1, ")
        server.wait_idle(page)
        tab_to(page, lambda f: f["text"] == "Clear grid")
        keys.press("Enter")
        tab_to(page, lambda f: "kg-grid" in f["cls"], back=True)
        for _ in range(4):  # from row 12 to row 3, column 4: the 7's bar to column 11, then down to the left
            keys.press("ArrowLeft")
        for _ in range(9):
            keys.press("ArrowUp")
        keys.press("Space")
        for _ in range(7):
            keys.press("Shift+ArrowRight")
        for _ in range(9):
            keys.press("Shift+ArrowDown")
            if _ % 2 == 0:
                keys.press("Shift+ArrowLeft")
        keys.press("Enter")
        assert grid_answer(page, "Prediction: 7,").startswith("Prediction: 7, ")
        server.wait_idle(page)
        page.screenshot(path=str(server.SCREENSHOTS / "Draw_keyboard_7.png"))
        assert not (found := axe.violations(page)), axe.described(found)
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Right")
        keys.press("Enter")
        server.wait_idle(page)
        tab_to(page, lambda f: f["tag"] == "BUTTON" and "Save to my digits" in f["text"])
        keys.press("Enter")
        page.get_by_role("button", name="Kept as a 7").wait_for(timeout=20_000)
        visit(page, base, "My_digits")
        assert "pred 7 · true 7" in page.locator(".digit-grid figcaption").first.inner_text()
        assert page.locator(server.ERROR_BOXES).count() == 0
    finally:
        context.close()


CHART_LABELS = """() => [...document.querySelectorAll("[data-testid='stMain'] [role='graphics-document']")]
    .map(chart => chart.getAttribute('aria-label'))"""


@pytest.mark.parametrize("path, first_words", [
    ("Random_samples", "Bar chart of the probability of each digit, most likely first: "),
    ("Training_history", "Line chart of accuracy per epoch"),
    ("Evaluation", "Confusion matrix, true digit by predicted digit: "),
])
def test_every_chart_says_what_it_shows(served, path, first_words):
    """Charts have alt text with their figures (Vega's default is "Vega visualization"): issue 21, defect 10."""
    base, browser = served
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        visit(page, base, path)
        page.locator("[data-testid='stMain'] [role='graphics-document']").first.wait_for(timeout=30_000)
        labels = page.evaluate(CHART_LABELS)
        assert labels and all(label and label != "Vega visualization" and any(c.isdigit() for c in label)
                              for label in labels), labels
        assert labels[0].startswith(first_words), labels
    finally:
        context.close()


def test_the_menus_dark_theme_turns_our_own_colours_too(served):
    """Dark chosen in the app menu (the browser set to light): the page turns dark, and so do the colours of our own
    (the digit grid's captions follow the theme, not the browser) with no axe violation."""
    base, browser = served
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    caption_light = "() => { const [r, g, b] = getComputedStyle(document.querySelector('.digit-grid figcaption'))" \
                    ".color.match(/[0-9.]+/g).map(Number); return 0.2126 * r + 0.7152 * g + 0.0722 * b; }"
    try:
        visit(page, base, "Random_samples")
        assert theme_of(page) == "light" and page.evaluate(caption_light) < 128
        page.get_by_test_id("stMainMenuButton").click()
        page.get_by_role("menuitemradio", name="Dark").click()
        page.wait_for_function("() => document.documentElement.style.colorScheme === 'dark'", timeout=10_000)
        page.keyboard.press("Escape")
        assert theme_of(page) == "dark" and page.evaluate(caption_light) > 128
        assert not (found := axe.violations(page)), axe.described(found)
    finally:
        context.close()
