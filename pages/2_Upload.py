"""Upload: one image gets a result card; many get a progress bar, a table, a CSV and cards on demand."""

import streamlit as st

from mnist_app.errors import ImageError
from mnist_app.images import preprocess
from mnist_app.ui import cache, chrome, views

predictor = chrome.page("Upload")


def uploads() -> None:
    """The uploader and what was read (a whole-page rerun, not a fragment: see pages/1_Draw.py)."""
    files = st.file_uploader(
        "Images of handwritten digits (PNG, JPEG, BMP, GIF, WebP or TIFF)",
        type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
        accept_multiple_files=True,
        key="upload_files",
        help=f"Up to {preprocess.MAX_INPUT_BYTES // 2**20} MB per file.",
    )
    number = st.toggle("Read whole numbers (several digits per image)", key="upload_number")

    if predictor is None:
        return
    if not files:
        st.info("Choose one or more images. Dark ink on paper and light strokes on a dark background both work.",
                icon=":material/upload_file:")
        return

    if len(files) == 1:
        shown = cache.read(files[0].getvalue(), number=number)
        if isinstance(shown, ImageError):
            views.image_error(shown, files[0].name)
        else:
            views.show(shown, key="upload_single", source="upload")
        return

    progress = st.progress(0.0, text=f"Reading {len(files)} images…")
    answers = cache.read_many([upload.getvalue() for upload in files], number=number,
                              progress=lambda done, total: progress.progress(done / total,
                                                                             text=f"Read {done} of {total} images"))
    progress.empty()
    results = {}
    for index, (upload, answer) in enumerate(zip(files, answers)):
        name = upload.name if upload.name not in results else f"{upload.name} (#{index + 1})"  # same name twice
        results[name] = answer

    table = views.table(results, number=number)
    readable = sum(not isinstance(result, ImageError) for result in results.values())
    st.success(f"{readable} of {len(files)} images read.")
    confidence = st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="percent")
    st.dataframe(table, hide_index=True, width="stretch", column_config={"confidence": confidence})
    st.download_button("Download the table (CSV)", table.to_csv(index=False).encode(), "digit_predictions.csv",
                       "text/csv", key="upload_csv", icon=":material/download:")

    chosen = st.multiselect("Show result cards for", list(results), key="upload_cards",
                            placeholder="Choose files to see what the model saw")
    for position, name in enumerate(chosen):
        with st.container(border=True):
            result = results[name]
            if isinstance(result, ImageError):
                views.image_error(result, name)
            else:
                views.show(result, key=f"upload_card_{position}", source="upload", caption=name)


uploads()
