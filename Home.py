"""The dashboard's entry point: the navigation (every page, from one list) and the Home page."""

import streamlit as st

from mnist_app.store import results
from mnist_app.ui import cache, charts, chrome


def home() -> None:
    """What the app does, how it works in three pictures, the model's status and where to go."""
    predictor = chrome.page("Home")  # says how to train one when there is no usable model
    st.markdown(
        "A convolutional neural network trained on **MNIST** (60,000 training and 10,000 test images of "
        "handwritten digits) reads the digit you draw, upload, photograph or link to. Every image goes through "
        "the same MNIST-style preprocessing first — ink found, cropped, scaled into a 20×20 box and centred by "
        "its centre of mass in 28×28 — and each result shows you *what the model sees*.")
    if predictor is not None:
        st.subheader("How it works")
        how_it_works()

    st.subheader("The model")
    figures = cache.metrics()
    if predictor is not None and figures:
        columns = chrome.metric_row("home", 4, min_width=190)  # "2026-11-21" needs ~190 px
        columns[0].metric("Test accuracy", f"{figures['test_accuracy']:.2%}",
                          f"{figures['errors']} errors / 10,000", delta_color="off", delta_arrow="off")
        columns[1].metric("Parameters", f"{figures['parameters']:,}")
        columns[2].metric("Trained", figures["date"][:10], f"{figures['training_seconds'] / 60:.0f} min on CPU",
                          delta_color="off", delta_arrow="off")
        columns[3].metric("Inference", predictor.backend.upper(), "fast path" if predictor.backend == "onnx"
                          else "reference path", delta_color="off", delta_arrow="off")
        st.caption(f"Trained with `{results.training_command(figures)}`")
        for note in predictor.notes:
            st.info(note)
    elif predictor is not None:
        st.info("The model is loaded, but `models/metrics.json` is missing: retrain to see its figures.")

    st.subheader("Try it")
    sections = st.container(horizontal=True, gap="large")  # side by side while each has 210 px, then wrapped
    for index, section in enumerate((chrome.RECOGNISE, chrome.UNDERSTAND, chrome.TEACH)):
        with sections.container(key=f"try_section_{index}"):
            chrome.flex_item(f"try_section_{index}", 210)
            st.markdown(f"**{section}**")
            for page in chrome.PAGES:
                if page.section == section:  # a link holds one line (cut with "…"): what it offers goes under it
                    with st.container(key=f"try_{page.url}", gap=None):
                        st.page_link(page.script, label=page.label, icon=page.icon)
                        st.markdown(page.blurb[0].upper() + page.blurb[1:] + ".")


def how_it_works() -> None:
    """The preprocessing in three pictures: a user's photo, what the model sees, the answer (a wrapping row)."""
    photo, seen, digit, confidence = cache.demo()
    arrow = "<div style='font-size:2rem;padding-top:3.5rem' aria-hidden='true'>→</div>"
    row = st.container(horizontal=True, gap="medium")
    row.image(photo, caption="1. A photo of a digit (a test image on tinted, unevenly lit paper)", width=200,
              alt=f"a handwritten {digit}, dark ink on tinted, unevenly lit paper")
    # Each arrow travels with the step it points to, so a narrow screen never leaves one dangling at a row's end.
    second = row.container(horizontal=True, gap="medium", width="content", key="how_it_works_seen")
    second.html(arrow, width="content")
    second.image(charts.upscale(seen, 150), caption="2. What the model sees: ink only, 20×20 box, centred in 28×28",
                 width=150, alt=f"what the model sees: a white {digit} on black, 28×28")
    third = row.container(horizontal=True, gap="medium", width="content", key="how_it_works_answer")
    third.html(arrow, width="content")
    third.metric("3. The answer", str(digit), f"{charts.percent_label(confidence)} confident", delta_color="off",
                 delta_arrow="off", width="content")


chrome.navigation(home).run()
