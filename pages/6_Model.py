"""Model: the architecture in words (from metrics.json), the layers as a table, totals, downloads."""

import pandas as pd
import streamlit as st

from mnist_app.network import architectures
from mnist_app.store import results
from mnist_app.ui import cache, chrome, views

predictor = chrome.page("Model")
summary = cache.model_summary()
figures = cache.metrics() or {}

if predictor is not None and summary is None:
    st.info("The layer table is written by the export step: run `python -m mnist_app export`.")
if predictor is not None and summary is not None:
    networks = summary["networks"]
    st.markdown(architectures.describe(figures.get("arch", "default"), networks))
    alone = [run["epochs"][-1].get("test_accuracy") for run in (cache.history() or {}).get("runs", [])]
    if networks > 1 and all(score is not None for score in alone):
        st.markdown("Averaging smooths out the quirks of any one network (alone they score "
                    + ", ".join(f"{score:.2%}" for score in alone) + " on the test set).")
    totals = chrome.metric_row("totals", 4)
    totals[0].metric("Parameters", f"{summary['total_parameters']:,}")
    totals[1].metric("Trainable", f"{summary['trainable_parameters']:,}")
    totals[2].metric("Non-trainable", f"{summary['non_trainable_parameters']:,}", "batch-norm statistics",
                     delta_color="off", delta_arrow="off")
    totals[3].metric("Networks", networks)
    if networks > 1:
        st.caption(f"The layers of one network ({summary['network_parameters']:,} parameters); the model runs "
                   f"{networks} of them side by side and averages their outputs.")
    table = pd.DataFrame(summary["layers"]).rename(columns={"output_shape": "output shape"})
    table["output shape"] = table["output shape"].str.strip("()").str.replace("None, ", "").str.replace(", ", " × ")
    # What a layer does, its output and its weights first: on a phone those fit; the names scroll. Every row
    # shows (a table cut at 700 px hid the last layers behind a scroll bar nobody saw).
    st.caption(f"{len(table)} layers, first to last.")
    st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                 column_order=("type", "output shape", "parameters", "name"))

    views.glossary("softmax", "ReLU", "batch normalisation", "max-pooling", "dropout", "layer names")

    st.subheader("Download")
    files = cache.model_downloads()
    row = st.container(horizontal=True, gap="medium")  # side by side while each has 190 px, then wrapped
    for index, (label, name, size, note, path) in enumerate(files):
        with row.container(key=f"download_box_{index}"):
            chrome.flex_item(f"download_box_{index}", 190)
            st.download_button(label, path.read_bytes, name, "application/octet-stream", key=f"download_{name}",
                               icon=":material/download:")  # the file is read when the button is clicked
            st.caption(f"{name} · {size / 2**20:.1f} MiB · {note}")
    if not results.exports_current():
        st.info("The .keras, SavedModel and .tflite exports are made by `python -m mnist_app export` "
                "(`make run` does it on first start).")
    st.markdown("To serve the SavedModel with TensorFlow Serving, see the README, section *Exports and serving*.")
