"""From URL: an http(s) image URL, fetched with the SSRF guards of mnist_app.fetch."""

import streamlit as st

from mnist_app import fetch, ui
from mnist_app.errors import ImageError, UrlError

ui.page_setup("From URL")
st.title("From a URL", icon=":material/link:")
predictor = ui.predictor_or_notice()
with st.form("url_form", border=False):
    url = st.text_input("Image URL", placeholder="https://example.com/digit.png", key="url_input")
    submitted = st.form_submit_button("Fetch and predict", type="primary")
st.caption(f"Only public http(s) addresses; images up to {fetch.MAX_BYTES // 2**20} MiB; "
           f"{fetch.TOTAL_TIMEOUT:.0f} s time-out.")

if predictor is not None and submitted:
    if not url.strip():
        st.warning("Paste the address of an image first.")
    else:
        try:
            with st.spinner("Fetching the image…"):
                fetched = fetch.fetch_image_bytes(url)
        except UrlError as error:
            st.error(f"Could not use this URL: {error}.", icon=":material/block:")
        else:
            result = ui.predict_bytes(predictor, fetched.content)
            if isinstance(result, ImageError):
                ui.show_image_error(result)
            else:
                st.caption(f"Fetched {len(fetched.content):,} bytes ({fetched.content_type}) from {fetched.url}")
                ui.result_card(result)
