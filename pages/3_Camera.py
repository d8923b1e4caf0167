"""Camera: a webcam snapshot gets the same result card as an upload."""

import streamlit as st

from mnist_app.errors import ImageError
from mnist_app.ui import cache, chrome, views

predictor = chrome.page("Camera")
st.markdown("Write a digit large and dark on white paper, hold it in front of the camera, and take a picture.")
snapshot = st.camera_input("Take a picture of a digit", key="camera_snapshot")

if predictor is not None:
    if snapshot is None:
        st.info("Allow the browser to use your camera, then press **Take Photo**.", icon=":material/photo_camera:")
    else:
        shown = cache.read(snapshot.getvalue())
        if isinstance(shown, ImageError):
            views.image_error(shown)
        else:
            views.show(shown, key="camera_result", source="camera")
