"""Evaluation: test accuracy and loss, per-class scores, the confusion matrix, the mistakes."""

import pandas as pd
import streamlit as st

from mnist_app import charts
from mnist_app.ui import cache, chrome, views

chrome.page("Evaluation", needs_model=False)
figures = cache.metrics()
if figures is None:
    chrome.model_missing_notice("There is no `models/metrics.json` to show.")
    st.stop()
st.caption("Computed once by the training step (`models/metrics.json`), not on every visit.")

columns = chrome.metric_row("evaluation", 4)
columns[0].metric("Test accuracy", f"{figures['test_accuracy']:.2%}")
columns[1].metric("Test loss", f"{figures['test_loss']:.4f}")
columns[2].metric("Mistakes", f"{figures['errors']} / {figures['count']:,}")
columns[3].metric("Validation accuracy", f"{figures['validation_accuracy']:.2%}")

left, right = st.columns([1, 1.15], gap="large")
with left:
    st.subheader("Per digit")
    per_class = pd.DataFrame(figures["per_class"])[["digit", "precision", "recall", "f1", "support"]]
    st.dataframe(per_class.style.format({"precision": "{:.2%}", "recall": "{:.2%}", "f1": "{:.2%}"})
                 .background_gradient(subset=["f1"], cmap="RdYlGn", vmin=0.98, vmax=1.0),
                 hide_index=True, width="stretch", height=35 * 11 + 3)
with right:
    st.subheader("Confusion matrix")
    st.altair_chart(charts.confusion(figures["confusion_matrix"]), width="stretch")

st.subheader("Confidence that means something")
calibration = figures.get("calibration")
if calibration is None:
    st.info("Not calibrated yet: run `python -m mnist_app calibrate`.")
else:
    text, chart = st.columns([1, 1.15], gap="large")
    with text:
        st.markdown(
            "When the app says *95 % confident*, it should be right about 95 % of the time. The network's raw "
            "probabilities are divided, in log space, by a **temperature** fitted on the validation images (never "
            "the test set); this changes no prediction, only how sure they claim to be. The **expected calibration "
            "error** (ECE) is the average gap between confidence and accuracy across confidence bins, on the test "
            "set. The app's *unsure* warning uses the calibrated confidence.")
        cells = chrome.metric_row("calibration", 3, min_width=100)
        cells[0].metric("Temperature", f"{calibration['temperature']:.3f}")
        cells[1].metric("ECE before", f"{calibration['test_ece_before']:.2%}")
        cells[2].metric("ECE after", f"{calibration['test_ece_after']:.2%}",
                        f"{calibration['test_ece_after'] - calibration['test_ece_before']:+.2%}", delta_color="inverse")
    with chart:
        st.altair_chart(charts.reliability(calibration["reliability_before"], calibration["reliability_after"],
                                           calibration["temperature"]), width="stretch")

st.subheader("Misclassified test images")
report = cache.test_report()  # the mistakes' pictures are stored with the model: no dataset needed here
count = len(report.mistakes)
shown = st.slider("How many", 8, min(64, max(8, count)), min(24, count), step=8,
                  key="evaluation_mistakes") if count > 8 else count
if count:
    chosen = report.mistakes[:shown]
    views.digit_grid(report.mistake_images[:shown], report.mistake_labels[:shown], report.predicted[chosen],
                  report.probabilities[chosen].max(axis=1), numbers=chosen)
    st.caption("Most confident mistakes first. Many are digits a person would also hesitate over.")
