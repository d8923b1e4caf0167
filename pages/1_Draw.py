"""Draw: a canvas whose prediction updates as the user draws (one digit, or a whole number)."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_app import numbers, ui

ui.page_setup("Draw")
st.title("Draw a digit", icon=":material/draw:")
predictor = ui.predictor_or_notice()

CANVAS_SIZE = 280  # pixels; scaled down to 28x28 by the preprocessing like any other image
NUMBER_CANVAS = (560, 240)  # wide enough for several digits, narrow enough for a 1024-pixel-wide screen
RESULT_MIN_WIDTH = 380
st.session_state.setdefault("draw_canvas_version", 0)


def clear_canvas():
    st.session_state["draw_canvas_version"] += 1  # a fresh canvas widget is an empty canvas


controls = st.container(horizontal=True, gap="large")
mode = controls.segmented_control("Mode", ["Digit", "Number"], default="Digit", key="draw_mode", width="content",
                                  help="Number: write several digits side by side on a wide canvas.")
stroke_width = controls.slider("Stroke width", min_value=6, max_value=40, value=18, key="draw_stroke_width",
                               width=260)
number_mode = mode == "Number"
version = st.session_state["draw_canvas_version"]

if number_mode:
    canvas_column, result_column = st.container(), st.container()
else:  # side by side when there is room, stacked otherwise: the canvas keeps its 280 px and is never cut off
    row = st.container(horizontal=True, gap="medium")
    canvas_column = row.container(width=CANVAS_SIZE)
    result_column = row.container(width="stretch", key="draw_result_column")
    # Below this width the result card is too cramped to read, so it wraps under the canvas instead.
    st.html("<style>[data-testid='stLayoutWrapper']:has(> .st-key-draw_result_column)"
            f" {{ min-width: {RESULT_MIN_WIDTH}px; }}</style>")  # the wrapper is the row's flex item
with canvas_column:
    canvas = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=NUMBER_CANVAS[0] if number_mode else CANVAS_SIZE,
        height=NUMBER_CANVAS[1] if number_mode else CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        update_streamlit=True,
        key=f"draw_{'number' if number_mode else 'canvas'}_{version}",
    )
    st.button("Clear", icon=":material/delete:", on_click=clear_canvas, key="draw_clear")
    st.caption("Undo and redo: the toolbar that appears above the canvas' top-right corner when you hover it.")

with result_column:
    drawing = canvas.image_data
    if predictor is None:
        pass
    elif drawing is None:
        what = "a number (several digits side by side)" if number_mode else "a digit (0–9)"
        st.info(f"Draw {what} on the black canvas; the prediction appears as you draw.", icon=":material/gesture:")
    elif number_mode:
        ui.number_card(numbers.read_number(predictor, drawing))
    else:
        prediction = predictor.predict_image(drawing)
        if prediction.has_digit:
            ui.result_card(prediction, key="draw_result", show_original=False)
        else:
            st.info("The canvas is empty: draw a digit (0–9) with the mouse or your finger.",
                    icon=":material/gesture:")
