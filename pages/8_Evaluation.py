"""Evaluation: test accuracy and loss, per-class scores, the confusion matrix, the mistakes."""

import pandas as pd
import streamlit as st

from mnist_app.measure import decision
from mnist_app.ui import cache, charts, chrome, views

chrome.page("Evaluation", needs_model=False)
figures = cache.metrics()
if figures is None:
    chrome.model_missing_notice("There is no `models/metrics.json` to show.")
    st.stop()
st.caption("Computed once, when the model was trained and checked, not on every visit.")

columns = chrome.metric_row("evaluation", 4)
columns[0].metric("Test accuracy", f"{figures['test_accuracy']:.2%}")
columns[1].metric("Test loss", f"{figures['test_loss']:.4f}")
columns[2].metric("Mistakes", f"{figures['errors']} / {figures['count']:,}")
columns[3].metric("Validation accuracy", f"{figures['validation_accuracy']:.2%}")

# Side by side while each half has room (the per-digit table's five columns, the matrix's numbers), else stacked.
left, right = chrome.metric_row("evaluation_tables", 2, min_width=400)
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
    sets = {"MNIST test digits": ("test_ece", "reliability", "MNIST test digits")}
    if "user_styles_ece_before" in calibration:
        sets["User-style images"] = ("user_styles_ece", "user_styles_reliability", "user-style images")
    text, chart = chrome.metric_row("evaluation_calibration", 2, min_width=360)
    with text:
        st.markdown(
            "When the app says *95 % confident*, it should be right about 95 % of the time. The network's raw "
            "probabilities are divided, in log space, by one **temperature**, fitted on held-out validation digits "
            "— plain, and written in the user styles people send — never on the test set. It changes no prediction, "
            "only how sure the answers claim to be. The **expected calibration error** (ECE) is the average gap "
            "between confidence and accuracy across confidence bins: lower is better.")
        for name, (prefix, _, phrase) in sets.items():
            before, after = calibration[f"{prefix}_before"], calibration[f"{prefix}_after"]
            cells = chrome.metric_row(f"calibration_{prefix}", 2, min_width=240)  # labels in full
            cells[0].metric(f"{name}: ECE as trained", f"{before:.2%}")
            if abs(after - before) < views.NEGLIGIBLE_ECE_CHANGE:  # as the sentence under it says: no change
                cells[1].metric(f"{name}: ECE calibrated", f"{after:.2%}", "no change", delta_color="off",
                                delta_arrow="off")
            else:  # a rise shows red: a worsening never reads as a gain
                cells[1].metric(f"{name}: ECE calibrated", f"{after:.2%}", f"{after - before:+.3%}",
                                delta_color="inverse")
            st.caption(views.calibration_verdict(phrase, before, after))
        st.metric("Temperature", f"{calibration['temperature']:.3f}")
        if calibration.get("method"):  # a sentence: as a metric's delta it was cut to one line at every width
            st.caption(views.sentence(calibration["method"]))
    with chart:
        shown = st.segmented_control("Reliability on", list(sets), default=list(sets)[0], key="evaluation_set")
        prefix = sets.get(shown or list(sets)[0])[1]
        st.altair_chart(charts.reliability(calibration[f"{prefix}_before"], calibration[f"{prefix}_after"],
                                           calibration["temperature"]), width="stretch")

decided = figures.get("decision")
if decided:
    st.subheader("\"No digit\" instead of a guess")
    st.markdown(
        f"The network was also trained on things that are not digits, to spread its probability over all ten "
        f"digits for them. When its most likely digit gets less than **{decided['reject_below']:.0%}**, the app "
        "answers *no digit found* and says why — whichever way the image came in. Between that and 80 % "
        "confidence it answers but says it is *not sure*. The threshold is the highest that still answers 99.7 % "
        "of the validation digits and 99 % of them in every user style (the ambiguous long-flagged 1 without a "
        "base aside: it is the shape of an uncrossed 7).")
    handled = decided["test_non_digits_handled"]
    answered = decided["test_answered"]
    cells = chrome.metric_row("decision", 3, min_width=170)
    cells[0].metric("Non-digits: no digit or not sure", f"{sum(handled.values()) / len(handled):.1%}",
                    f"{len(handled)} kinds of test images", delta_color="off", delta_arrow="off")
    cells[1].metric("MNIST test digits answered", f"{answered['mnist']:.2%}")
    cells[2].metric("Lowest user style answered", f"{decision.lowest_style_answered(answered):.1%}")
    st.dataframe(pd.DataFrame({"kind of non-digit": list(handled),
                               "no digit or not sure": list(handled.values())}),
                 hide_index=True, width="stretch",
                 column_config={"no digit or not sure": st.column_config.ProgressColumn(
                     "no digit or not sure", min_value=0.0, max_value=1.0, format="percent")})

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

views.glossary("ECE", "temperature scaling", "NLL", "softmax", "long-flagged 1 without a base")
