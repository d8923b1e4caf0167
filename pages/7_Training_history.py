"""Training history: curves per epoch, final figures, and an over/under-fitting verdict."""

import streamlit as st

from mnist_app.measure import verdict
from mnist_app.store import results
from mnist_app.ui import cache, charts, chrome

chrome.page("Training history", needs_model=False)
history = cache.history()
figures = cache.metrics()
if history is None:
    chrome.model_missing_notice("There is no `models/history.json` to show.")
    st.stop()

runs = history["runs"]
names = [run["name"] for run in runs]
chosen = st.selectbox("Network", names, key="history_run") if len(runs) > 1 else names[0]
epochs = next(run for run in runs if run["name"] == chosen)["epochs"]
if len(runs) > 1:
    st.caption(f"The committed model averages {len(runs)} networks; each was trained on its own and is shown here.")

last = epochs[-1]
columns = chrome.metric_row("history", 4, min_width=180)  # "Test accuracy (whole model)" needs ~175 px
columns[0].metric("Final training accuracy", f"{last['accuracy']:.2%}")
columns[1].metric("Final validation accuracy", f"{last['val_accuracy']:.2%}")
columns[2].metric("Epochs", len(epochs), f"{sum(e['seconds'] for e in epochs) / 60:.1f} min",
                  delta_color="off", delta_arrow="off")
if figures:
    columns[3].metric("Test accuracy (whole model)", f"{figures['test_accuracy']:.2%}")

for chart in charts.training_curves(epochs):
    st.altair_chart(chart, width="stretch")

judged = verdict.fit_verdict(epochs)
show = {"good fit": st.success, "overfitting": st.warning, "underfitting": st.warning}[judged.label]
show(f"**Verdict: {judged.label}** — " + "; ".join(judged.reasons) + ".")
st.caption("Rule: " + verdict.VERDICT_RULE)

st.subheader("How it was trained")
st.code(results.training_command(history), language="bash", wrap_lines=True)
if figures:
    st.markdown(f"{figures['training_images']:,} training images, {figures['validation_images']:,} held out for "
                f"validation (the test set is only used for the final report) · batch {figures['batch_size']} · "
                f"peak learning rate {figures['learning_rate']} · "
                f"augmentation {'on' if figures['augment'] else 'off'} · "
                f"{figures['training_seconds'] / 60:.1f} minutes in all on "
                f"TensorFlow {figures['versions']['tensorflow']}.")
with st.expander("Every epoch"):
    st.dataframe(epochs, width="stretch")
