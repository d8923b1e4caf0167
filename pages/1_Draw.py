"""Draw: a canvas whose prediction updates as the user draws."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_app import ui

ui.page_setup("Draw")
st.title("Draw a digit", icon=":material/draw:")
predictor = ui.predictor_or_notice()

st.session_state.setdefault("draw_canvas_version", 0)


def clear_canvas():
    st.session_state["draw_canvas_version"] += 1  # a fresh canvas widget is an empty canvas


canvas_column, result_column = st.columns([1, 1.6], gap="large")
with canvas_column:
    stroke_width = st.slider("Stroke width", min_value=6, max_value=40, value=18, key="draw_stroke_width")
    canvas = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=280,
        height=280,
        drawing_mode="freedraw",
        return_image_data=True,
        update_streamlit=True,
        key=f"draw_canvas_{st.session_state['draw_canvas_version']}",
    )
    st.button("Clear", icon=":material/delete:", on_click=clear_canvas, key="draw_clear")
    st.caption("Undo and redo: the toolbar that appears above the canvas' top-right corner when you hover it.")

with result_column:
    drawing = canvas.image_data
    if predictor is None:
        pass
    elif drawing is None:
        st.info("Draw a digit (0–9) on the black canvas; the prediction appears as you draw.", icon=":material/gesture:")
    else:
        prediction = predictor.predict_image(drawing)
        if prediction.has_digit:
            ui.result_card(prediction, show_original=False)
        else:
            st.info("The canvas is empty: draw a digit (0–9) with the mouse or your finger.", icon=":material/gesture:")
