"""Draw: a canvas whose prediction updates as the user draws (one digit, or a whole number), or a grid drawn with
the keyboard."""

import streamlit as st

from mnist_app.errors import ImageError
from mnist_app.ui import cache, chrome, views, widgets

predictor = chrome.page("Draw")

CANVAS_SIZE = 280  # pixels; scaled down to 28x28 by the preprocessing like any other image
NUMBER_CANVAS = (560, 240)  # wide enough for several digits, narrow enough for a 1024-pixel-wide screen
PHONE_NUMBER_CANVAS = (340, 200)  # a phone's width, so a finger never has to scroll the canvas
RESULT_MIN_WIDTH = 260  # the answer column wraps under the canvas below this (a phone), beside it above

controls = st.container(horizontal=True, gap="medium", vertical_alignment="center")
mode = controls.segmented_control("Mode", ["Digit", "Number", "Keyboard"], default="Digit", key="draw_mode",
                                  label_visibility="collapsed",
                                  help="Keyboard: draw on a grid with the arrow keys and Space, no mouse needed.")
stroke_width = st.session_state.get("draw_stroke_width", 18)
if mode != "Keyboard":
    with controls.popover(f"Pen: {stroke_width} px", icon=":material/stylus:"):
        stroke_width = st.slider("Stroke width", min_value=6, max_value=40, value=18, key="draw_stroke_width")


def drawing(number: bool, stroke_width: int) -> None:
    """The canvas and its answer. (Not an st.fragment: a fragment's rerun is lost when a replica dies and its
    people reconnect to another, which does not know the fragment; measured, it saved nothing beyond the noise.)"""
    if number:
        width, height = PHONE_NUMBER_CANVAS if widgets.on_phone() else NUMBER_CANVAS
        pad = widgets.drawing_pad("draw_number", width=width, height=height, stroke_width=stroke_width)
        result_area = st.container()
    else:  # side by side when there is room, the answer right under the canvas otherwise
        row = st.container(horizontal=True, gap="medium")
        with row.container(width=CANVAS_SIZE):
            pad = widgets.drawing_pad("draw_digit", width=CANVAS_SIZE, height=CANVAS_SIZE, stroke_width=stroke_width)
        result_area = row.container(key="draw_result_column", width="stretch")
        with result_area:
            chrome.flex_item("draw_result_column", RESULT_MIN_WIDTH)
    with result_area:
        drawn = pad.image_bytes  # the PNG the canvas sent, read as it came (never decoded to an array here)
        if predictor is None:
            pass
        elif drawn is None:
            what = "a number (several digits side by side)" if number else "a digit (0–9)"
            st.info(f"Draw {what} on the black canvas with the mouse or your finger; the prediction appears as "
                    "you draw.", icon=":material/gesture:")
        else:
            shown = cache.read(drawn, number=number)
            if isinstance(shown, ImageError):
                views.image_error(shown)
            elif shown.blank and not number:
                st.info("The canvas is empty: draw a digit (0–9) with the mouse or your finger.",
                        icon=":material/gesture:")
            else:  # a digit, or ink that is not one: "no digit found" and the reason, as on every face
                views.show(shown, key="draw_result", source="draw", show_original=number)


def typing() -> None:
    """The keyboard's grid and its answer, read as a drawing is read; the answer also goes into the grid's live
    region (so it is read before the grid is drawn)."""
    cells = widgets.keyboard_cells("draw_keyboard")
    shown = None
    if predictor is not None and cells is not None and "1" in cells:
        shown = cache.read(widgets.grid_picture(cells))
    if shown is None:
        spoken = "The grid is empty: paint some cells with Space, then press Enter." if cells is not None else ""
    else:
        spoken = str(shown) if isinstance(shown, ImageError) else views.spoken(shown)
    row = st.container(horizontal=True, gap="medium")
    with row.container(width=CANVAS_SIZE):
        widgets.keyboard_grid("draw_keyboard", cells=cells, answer=spoken)
    with row.container(key="draw_keyboard_result", width="stretch"):
        chrome.flex_item("draw_keyboard_result", RESULT_MIN_WIDTH)
        if predictor is None:
            pass
        elif shown is None:
            st.info(spoken or "Tab to the grid, move with the arrow keys, paint with Space and press Enter to read it.",
                    icon=":material/keyboard:")
        elif isinstance(shown, ImageError):
            views.image_error(shown)
        else:
            views.show(shown, key="keyboard_result", source="draw", show_original=False)


if mode == "Keyboard":
    typing()
else:
    drawing(mode == "Number", stroke_width)
