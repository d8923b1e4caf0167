"""Draw: a canvas whose prediction updates as the user draws (one digit, or a whole number)."""

import streamlit as st

from mnist_app import ui
from mnist_app.errors import ImageError

ui.page_setup("Draw")
st.title("Draw a digit", icon=":material/draw:")
predictor = ui.predictor_or_notice()

CANVAS_SIZE = 280  # pixels; scaled down to 28x28 by the preprocessing like any other image
NUMBER_CANVAS = (560, 240)  # wide enough for several digits, narrow enough for a 1024-pixel-wide screen
PHONE_NUMBER_CANVAS = (340, 200)  # a phone's width, so a finger never has to scroll the canvas
RESULT_MIN_WIDTH = 260  # the answer column wraps under the canvas below this (a phone), beside it above

controls = st.container(horizontal=True, gap="medium", vertical_alignment="center")
mode = controls.segmented_control("Mode", ["Digit", "Number"], default="Digit", key="draw_mode",
                                  label_visibility="collapsed")
pen = st.session_state.get("draw_stroke_width", 18)
with controls.popover(f"Pen: {pen} px", icon=":material/stylus:"):
    stroke_width = st.slider("Stroke width", min_value=6, max_value=40, value=18, key="draw_stroke_width")
number_mode = mode == "Number"

if number_mode:
    width, height = PHONE_NUMBER_CANVAS if ui.on_phone() else NUMBER_CANVAS
    pad = ui.drawing_pad("draw_number", width=width, height=height, stroke_width=stroke_width)
    result_area = st.container()
else:  # side by side when there is room, the answer right under the canvas otherwise
    row = st.container(horizontal=True, gap="medium")
    with row.container(width=CANVAS_SIZE):
        pad = ui.drawing_pad("draw_digit", width=CANVAS_SIZE, height=CANVAS_SIZE, stroke_width=stroke_width)
    result_area = row.container(key="draw_result_column", width="stretch")
    with result_area:
        ui.flex_item("draw_result_column", RESULT_MIN_WIDTH)

with result_area:
    if predictor is None:
        pass
    elif pad.image_data is None:
        what = "a number (several digits side by side)" if number_mode else "a digit (0–9)"
        st.info(f"Draw {what} on the black canvas with the mouse or your finger; the prediction appears as "
                "you draw.", icon=":material/gesture:")
    elif number_mode:
        reading = ui.read_number_bytes(predictor, pad.image_bytes)
        ui.show_image_error(reading) if isinstance(reading, ImageError) else ui.number_card(reading)
    else:
        prediction = ui.predict_bytes(predictor, pad.image_bytes)
        if isinstance(prediction, ImageError):
            ui.show_image_error(prediction)
        elif prediction.has_digit:
            ui.result_card(prediction, key="draw_result", show_original=False)
        else:
            st.info("The canvas is empty: draw a digit (0–9) with the mouse or your finger.",
                    icon=":material/gesture:")
