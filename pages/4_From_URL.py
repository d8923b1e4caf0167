"""From URL: an http(s) image URL, fetched with the SSRF guards of mnist_app.fetch."""

import streamlit as st

from mnist_app import fetch, ui
from mnist_app.errors import ImageError, UrlError

ui.page_setup("From URL")
st.title("From a URL", icon=":material/link:")
predictor = ui.predictor_or_notice()
with st.form("url_form", border=False):
    url = st.text_input("Image URL", placeholder="https://example.com/digit.png", key="url_input")
    number_mode = st.toggle("Read a whole number (several digits)", key="url_number")
    submitted = st.form_submit_button("Fetch and predict", type="primary")
st.caption(f"Only public http(s) addresses; images up to {fetch.MAX_BYTES // 2**20} MiB; "
           f"{fetch.TOTAL_TIMEOUT:.0f} s time-out.")

if submitted:
    # Kept in the session, so the result stays while the user explores it (every click reruns the page).
    if not url.strip():
        st.session_state["url_fetched"] = UrlError("paste the address of an image first")
    else:
        try:
            with st.spinner("Fetching the image…"):
                st.session_state["url_fetched"] = fetch.fetch_image_bytes(url)
        except UrlError as error:
            st.session_state["url_fetched"] = error

fetched = st.session_state.get("url_fetched")
if predictor is not None and fetched is not None:
    if isinstance(fetched, UrlError):
        st.error(f"Could not use this URL: {fetched}.", icon=":material/block:")
    else:
        read = ui.read_number_bytes if number_mode else ui.predict_bytes
        result = read(predictor, fetched.content)
        if isinstance(result, ImageError):
            ui.show_image_error(result)
        else:
            st.caption(f"Fetched {len(fetched.content):,} bytes ({fetched.content_type}) from {fetched.url}")
            if number_mode:
                ui.number_card(result)
            else:
                ui.result_card(result, key="url_result")
