"""From URL: an http(s) image URL, fetched with the SSRF guards of mnist_app.images.fetch."""

import streamlit as st

from mnist_app.errors import ImageError, UrlError
from mnist_app.images import fetch
from mnist_app.ui import cache, chrome, views

predictor = chrome.page("From URL")
with st.form("url_form", border=False):
    url = st.text_input("Image URL", placeholder="https://example.com/digit.png", key="url_input")
    number = st.toggle("Read a whole number (several digits)", key="url_number")
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
        shown = cache.read(fetched.content, number=number)
        if isinstance(shown, ImageError):
            views.image_error(shown)
        else:
            st.caption(f"Fetched {len(fetched.content):,} bytes ({fetched.content_type}) from {fetched.url}")
            views.show(shown, key="url_result", source="url")
