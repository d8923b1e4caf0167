"""Home: what the app does, the model's status and where to go."""

import streamlit as st

from mnist_app import ui

ui.page_setup("Home")
st.title("Handwritten digit recognizer", icon=":material/edit_note:")
st.markdown(
    "A convolutional neural network trained on **MNIST** (60,000 training and 10,000 test images of "
    "handwritten digits) reads the digit you draw, upload, photograph or link to. Every image goes through "
    "the same MNIST-style preprocessing first — ink found, cropped, scaled into a 20×20 box and centred by "
    "its centre of mass in 28×28 — and each result shows you *what the model sees*."
)

predictor = ui.predictor_or_notice()  # says how to train one when there is no usable model
if predictor is not None:
    st.subheader("How it works")
    ui.how_it_works()

st.subheader("The model")
figures = ui.metrics()
if predictor is not None and figures:
    columns = ui.metric_row("home", 4, min_width=190)  # "2026-11-21" needs ~190 px
    columns[0].metric("Test accuracy", f"{figures['test_accuracy']:.2%}", f"{figures['errors']} errors / 10,000",
                      delta_color="off", delta_arrow="off")
    columns[1].metric("Parameters", f"{figures['parameters']:,}")
    columns[2].metric("Trained", figures["date"][:10], f"{figures['training_seconds'] / 60:.0f} min on CPU",
                      delta_color="off", delta_arrow="off")
    columns[3].metric("Inference", predictor.backend.upper(), "fast path" if predictor.backend == "onnx"
                      else "reference path", delta_color="off", delta_arrow="off")
    st.caption(f"Trained with `{figures['command']}`")
    for note in predictor.notes:
        st.info(note)
elif predictor is not None:
    st.info("The model is loaded, but `models/metrics.json` is missing: retrain to see its figures.")

st.subheader("Try it")
pages = [
    ("pages/1_Draw.py", "Draw", ":material/draw:", "the prediction updates as you draw"),
    ("pages/2_Upload.py", "Upload", ":material/upload:", "one image or a batch, with a CSV"),
    ("pages/3_Camera.py", "Camera", ":material/photo_camera:", "a snapshot of a digit on paper"),
    ("pages/4_From_URL.py", "From URL", ":material/link:", "an image on the web, fetched safely"),
    ("pages/5_Random_samples.py", "Random samples", ":material/casino:", "MNIST test digits, predicted vs true"),
]
learn = [
    ("pages/6_Model.py", "Model", ":material/hub:", "layers, parameters, downloads"),
    ("pages/7_Training_history.py", "Training history", ":material/monitoring:", "curves per epoch, fit verdict"),
    ("pages/8_Evaluation.py", "Evaluation", ":material/fact_check:", "per-class scores, confusion matrix, mistakes"),
]
left, right = st.columns(2)
for column, heading, entries in ((left, "Recognise digits", pages), (right, "Understand the model", learn)):
    with column:
        st.markdown(f"**{heading}**")
        for path, label, icon, blurb in entries:
            st.page_link(path, label=f"{label} — {blurb}", icon=icon)
