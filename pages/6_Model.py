"""Model: the layers as a table, totals, the architecture in words, downloads."""

import pandas as pd
import streamlit as st

from mnist_app import export, reports, ui

ui.page_setup("Model")
st.title("The model", icon=":material/hub:")
predictor = ui.predictor_or_notice()
summary = reports.load_model_summary()

if predictor is not None and summary is None:
    st.info("The layer table is written by the export step: run `python scripts/export.py`.")
if predictor is not None and summary is not None:
    runs = (ui.history() or {}).get("runs", [])
    members = max(1, len(runs))
    st.markdown(
        "Each network is a small VGG-style CNN: two blocks of two 3×3 convolutions (32 then 64 filters), each "
        "followed by batch normalisation and ReLU, with 2×2 max-pooling and light dropout after each block; then a "
        "256-unit dense layer with batch normalisation and 40 % dropout, and a 10-way softmax.")
    if members > 1:
        alone = [run["epochs"][-1].get("test_accuracy") for run in runs]
        scores = ", ".join(f"{score:.2%}" for score in alone if score is not None)
        st.markdown(
            f"The committed model folds **{members} such networks**, trained with different seeds, into one Keras "
            "model whose output is the average of their probabilities. Averaging smooths out the quirks of any one "
            "network" + (f" (alone they score {scores} on the test set)." if scores else "."))
    totals = ui.metric_row("totals", 4)
    totals[0].metric("Parameters", f"{summary['total_parameters']:,}")
    totals[1].metric("Trainable", f"{summary['trainable_parameters']:,}")
    totals[2].metric("Non-trainable", f"{summary['non_trainable_parameters']:,}", "batch-norm statistics",
                     delta_color="off", delta_arrow="off")
    totals[3].metric("Networks", members)
    table = pd.DataFrame(summary["layers"]).rename(columns={"output_shape": "output shape"})
    nested = table["name"].str.contains("/")
    if nested.any():  # show one network's layers; the others are identical
        first = table["name"].str.split("/").str[0][nested].iloc[0]
        table = table[table["name"].str.startswith(first + "/")].assign(name=lambda t: t["name"].str.split("/").str[1])
        st.caption(f"The layers of one network ({int(table['parameters'].sum()):,} parameters); "
                   f"the model runs {members} of them side by side and averages their outputs.")
    table["output shape"] = table["output shape"].str.strip("()").str.replace("None, ", "").str.replace(", ", " × ")
    # What a layer does, its output and its weights first: on a phone those fit; the names scroll.
    st.dataframe(table, hide_index=True, width="stretch", height=min(35 * (len(table) + 1) + 3, 700),
                 column_order=("type", "output shape", "parameters", "name"))

    st.subheader("Download")
    files = ui.model_downloads()
    columns = st.columns(len(files))
    for column, (label, name, size, note, path) in zip(columns, files):
        column.download_button(label, path.read_bytes, name, "application/octet-stream", key=f"download_{name}",
                               icon=":material/download:")  # the file is read when the button is clicked
        column.caption(f"{name} · {size / 2**20:.1f} MiB · {note}")
    if not export.exports_current():
        st.info("The .keras, SavedModel and .tflite exports are made by `python scripts/export.py` "
                "(`make run` does it on first start).")
    st.markdown("To serve the SavedModel with TensorFlow Serving, see the README, section *Exports and serving*.")
