"""Upload: one image gets a result card; many get a progress bar, a table, a CSV and cards on demand."""

import streamlit as st

from mnist_app import card, preprocess, ui
from mnist_app.errors import ImageError

ui.page_setup("Upload")
st.title("Upload images", icon=":material/upload:")
predictor = ui.predictor_or_notice()
files = st.file_uploader(
    "Images of handwritten digits (PNG, JPEG, BMP, GIF, WebP or TIFF)",
    type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
    accept_multiple_files=True,
    key="upload_files",
    help=f"Up to {preprocess.MAX_INPUT_BYTES // 2**20} MB per file.",
)
number_mode = st.toggle("Read whole numbers (several digits per image)", key="upload_number")

if predictor is None:
    st.stop()
if not files:
    st.info("Choose one or more images. Dark ink on paper and light strokes on a dark background both work.",
            icon=":material/upload_file:")
    st.stop()

read = ui.read_number_bytes if number_mode else ui.predict_bytes

if len(files) == 1:
    result = read(predictor, files[0].getvalue())
    if isinstance(result, ImageError):
        ui.show_image_error(result, files[0].name)
    elif number_mode:
        ui.number_card(result)
    else:
        ui.result_card(result, key="upload_single")
    st.stop()

progress = st.progress(0.0, text=f"Reading {len(files)} images…")
results = {}
for index, upload in enumerate(files):
    name = upload.name if upload.name not in results else f"{upload.name} (#{index + 1})"  # same name twice
    results[name] = read(predictor, upload.getvalue())
    progress.progress((index + 1) / len(files), text=f"Read {index + 1} of {len(files)} images")
progress.empty()

table = card.number_table(results) if number_mode else card.batch_table(results)
readable = sum(not isinstance(result, ImageError) for result in results.values())
st.success(f"{readable} of {len(files)} images read.")
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                          format="percent")})
st.download_button("Download the table (CSV)", table.to_csv(index=False).encode(), "digit_predictions.csv",
                   "text/csv", key="upload_csv", icon=":material/download:")

chosen = st.multiselect("Show result cards for", list(results), key="upload_cards",
                        placeholder="Choose files to see what the model saw")
for position, name in enumerate(chosen):
    with st.container(border=True):
        result = results[name]
        if isinstance(result, ImageError):
            ui.show_image_error(result, name)
        elif number_mode:
            ui.number_card(result, caption=name)
        else:
            ui.result_card(result, key=f"upload_card_{position}", caption=name)
