"""Drawing on streamlit-drawable-canvas with Playwright's mouse or touch events, and checking the ink landed.

Under load (several browsers and the server on 2 cores) a digit drawn right after the canvas was remounted
(Clear, Digit/Number) could leave a blank canvas, so the server never received anything to answer (seen in
CI). The page was still moving the new canvas into place when its position was read, and the strokes
landed beside it (see `settled_box`). These helpers wait for the canvas to settle and check that every
stroke left ink, drawing it again otherwise (as a person whose stroke vanished would) and counting it. So
the tests hold the *server* to answering every drawing that is on the canvas, and a test stroke that never
reached the app fails as such, not as a missing answer.
"""

import math

import numpy as np

# Strokes in canvas pixels (280x280): each a list of (x, y) points drawn with the mouse held down.
DIGIT_STROKES = {
    "1": [[(150, 40), (140, 245)]],
    "7": [[(70, 55), (215, 55), (120, 245)]],
    "0": [[(140 + 62 * math.sin(t), 140 - 95 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 40)]],
    "4": [[(170, 40), (70, 170), (215, 170)], [(170, 40), (170, 250)]],
}
_INK_PIXELS = """c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
    return n;
}"""


def canvas_ink(page) -> int:
    """How many pixels of the drawing layer are white ink (the background is black)."""
    return page.locator("canvas.dc-canvas.lower-canvas").evaluate(_INK_PIXELS)


def _stroke(page, box, stroke) -> None:
    (x, y), rest = stroke[0], stroke[1:]
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()
    page.wait_for_timeout(250)


class Finger:
    """Strokes drawn with touch events, as a phone's browser sends them (Chrome DevTools Protocol)."""

    def __init__(self, context, page):
        self.cdp = context.new_cdp_session(page)

    def __call__(self, page, box, stroke) -> None:
        def touch(kind, x=None, y=None):
            points = [] if x is None else [{"x": box["x"] + x, "y": box["y"] + y, "id": 1}]
            self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", *stroke[0])
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
            for step in range(1, 13):
                touch("touchMove", x0 + (x1 - x0) * step / 12, y0 + (y1 - y0) * step / 12)
        touch("touchEnd")
        page.wait_for_timeout(250)


def settled_box(page, timeout_ms: int = 30_000) -> dict:
    """The canvas' position once it has stopped moving.

    Right after a rerun that remounts the canvas (Clear, Digit/Number), the page can still be laid out around
    the outgoing elements: the new canvas was seen 288 px below where it came to rest, so strokes aimed at
    the first position it reported landed on the text under it.
    """
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(state="visible", timeout=timeout_ms)
    box = canvas.bounding_box()
    for _ in range(timeout_ms // 150):
        page.wait_for_timeout(150)
        again = canvas.bounding_box()
        if again == box:
            return box
        box = again
    raise AssertionError("the canvas kept moving")


def draw(page, strokes, attempts: int = 6, finger: Finger | None = None) -> int:
    """Draw the strokes (with the mouse, or with a `Finger`); a stroke that left no new ink is drawn again.
    Returns how many strokes were redrawn."""
    redrawn = 0
    for stroke in strokes:
        for attempt in range(attempts):
            before = canvas_ink(page)
            (finger or _stroke)(page, settled_box(page), stroke)
            if canvas_ink(page) > before:
                break
            redrawn += 1
            page.wait_for_timeout(300 * (attempt + 1))  # e.g. the component is still loading its (empty) drawing
        else:
            raise AssertionError(f"the canvas took no ink from {attempts} attempts at a stroke")
    return redrawn

