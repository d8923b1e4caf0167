"""Camera: a webcam snapshot gets the same result card as an upload."""

import streamlit as st

from mnist_app import ui
from mnist_app.errors import ImageError

ui.page_setup("Camera")
st.title("Camera", icon=":material/photo_camera:")
predictor = ui.predictor_or_notice()
st.markdown("Write a digit large and dark on white paper, hold it in front of the camera, and take a picture.")
snapshot = st.camera_input("Take a picture of a digit", key="camera_snapshot")

if predictor is not None:
    if snapshot is None:
        st.info("Allow the browser to use your camera, then press **Take Photo**.", icon=":material/photo_camera:")
    else:
        result = ui.predict_bytes(predictor, snapshot.getvalue())
        if isinstance(result, ImageError):
            ui.show_image_error(result)
        else:
            ui.result_card(result, key="camera_result")
