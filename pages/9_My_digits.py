"""My digits: the digits this person kept with the right label; the model checked on them; delete, export.
An admin can look at everyone's, and the page says so."""

import numpy as np
import streamlit as st

from mnist_app.errors import StoreError
from mnist_app.images import reading
from mnist_app.ui import cache, charts, chrome, identity, views

predictor = chrome.page("My digits")
person = identity.required("keep digits")
st.markdown("Digits you kept with **Save to my digits** under a result, labelled as you said. Only you see them "
            "(and the server's admins); they stay until you delete them, and the **Train** page can teach the model "
            "with them.")
everyone = person.admin and st.toggle("Everyone's digits (admin)", key="my_digits_everyone",
                                      help="As an admin you may see, export and delete every workspace's digits.")
try:
    kept = cache.my_digits(everyone=everyone)
    everything = kept.digits()
except StoreError as error:
    st.error(identity.store_problem(error), icon=":material/block:")
    st.stop()
if everyone:
    owners = kept.stats().get("per_owner", {})
    st.warning(f"**Everyone's digits**: {len(everything):,} digits of {len(owners)} workspaces. Exports and deletes "
               "below apply to all of them.", icon=":material/admin_panel_settings:")
if not everything:
    st.info("Nothing kept yet. Draw, upload or photograph a digit, then use **Save to my digits** under the "
            "result (with *Wrong, it is …* when the model got it wrong).", icon=":material/bookmark_add:")
    st.stop()

images = np.stack([d.image for d in everything])
labels = np.array([d.label for d in everything])
now = ([] if predictor is None else
       reading.read_prepared([reading.Prepared([image / 255.0], [(0, 0, 28, 28)], None) for image in
                              images.astype(np.float32)], predictor))
current = np.array([-1 if answer.digit is None else answer.digit for answer in now]) if now else None
confidence = np.array([answer.confidence or 0.0 for answer in now]) if now else np.zeros(len(labels))

cells = chrome.metric_row("my_digits", 3, min_width=160)
cells[0].metric("Digits kept", f"{len(everything):,}")
cells[1].metric("Wrong when kept", f"{sum(d.wrong for d in everything)}")
if current is not None:
    cells[2].metric("The model now", f"{np.mean(current == labels):.1%}", f"{int(np.sum(current != labels))} wrong",
                    delta_color="off", delta_arrow="off")

controls = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
only_wrong = controls.toggle("Only the ones the model gets wrong now", key="my_digits_wrong")
digits = controls.pills("Digits", list(range(10)), selection_mode="multi", key="my_digits_labels")
shown = np.ones(len(labels), bool)
if only_wrong and current is not None:
    shown &= current != labels
if digits:
    shown &= np.isin(labels, digits)
chosen = np.flatnonzero(shown)
st.markdown(f"**{len(chosen)} of {len(labels)} digits** (newest first; captions: the model's answer now, and the "
            "label you gave).")
if len(chosen):
    predicted = current if current is not None else np.array([d.prediction for d in everything])
    views.digit_grid(images[chosen], labels[chosen], predicted[chosen], confidence[chosen],
                     numbers=[everything[i].id for i in chosen])

if current is not None and len(labels) >= 2:
    st.subheader("Where the model goes wrong on them")
    matrix = np.zeros((10, 10), dtype=np.int64)
    answered = current >= 0
    np.add.at(matrix, (labels[answered], current[answered]), 1)
    st.altair_chart(charts.confusion(matrix), width="stretch")
    if not answered.all():
        st.caption(f"{int(np.sum(~answered))} of them the model answers \"no digit\" (not in the matrix).")

st.subheader("Export or delete")
exports = st.container(horizontal=True, gap="small")
exports.download_button("MNIST-format arrays (.npz)", kept.export_npz, "my_digits.npz", "application/octet-stream",
                        key="my_digits_npz", icon=":material/download:")
exports.download_button("PNGs and a CSV (.zip)", kept.export_zip, "my_digits.zip", "application/zip",
                        key="my_digits_zip", icon=":material/download:")
forget = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
one = forget.selectbox("Digit", [d.id for d in everything], key="my_digits_pick",
                       format_func=lambda i: f"#{i} (label {next(d.label for d in everything if d.id == i)})")
if forget.button("Delete it", icon=":material/delete:", key="my_digits_delete"):
    kept.delete(one)
    st.rerun()
sure = forget.checkbox("I am sure", key="my_digits_sure")
if forget.button("Delete all", icon=":material/delete_forever:", key="my_digits_clear", disabled=not sure):
    kept.clear()
    st.session_state.pop("_kept", None)
    st.rerun()
