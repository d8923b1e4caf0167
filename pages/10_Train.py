"""Train: a new model or the current one fine-tuned on My digits, in the background; watch it learn; compare it
with the current model; use it (and bring the previous one back if need be)."""

import time

import pandas as pd
import streamlit as st

from mnist_app.errors import MnistAppError
from mnist_app.network import architectures
from mnist_app.serving import jobs
from mnist_app.store import results
from mnist_app.ui import cache, charts, chrome

chrome.page("Train", needs_model=False)
unavailable = jobs.availability()
if unavailable:
    st.info(unavailable, icon=":material/block:")
    st.stop()


def training_form() -> None:
    st.markdown("Training runs on this server in a process of its own: you can leave this page and come back. One "
                "run at a time; the result is a **candidate** you compare with the current model before using it.")
    kept = cache.my_digits().count()
    with st.form("train_form", border=True):
        way = st.radio("What to train", ["Fine-tune the current model with My digits", "A new model"],
                       index=0 if kept else 1, key="train_way", horizontal=True,
                       help="Fine-tuning starts from the current model at a tenth of its learning rate and mixes "
                            "your digits with MNIST, so it learns them without forgetting the rest.")
        arch = st.selectbox("Network (a new model)", architectures.NAMES, key="train_arch",
                            format_func=lambda name: f"{name} — {architectures.DESCRIPTIONS[name][:70]}…")
        epochs = st.slider("Epochs", 1, 20, 2, key="train_epochs",
                           help="Each epoch is one pass over ~100,000 images: about 80 s for the default network on "
                                "this 2-core machine, a third of that for `small`.")
        with_collection = st.checkbox(f"Add My digits ({kept})", value=bool(kept), key="train_with_collection",
                                      disabled=not kept)
        quick = st.checkbox("Quick run: 10,000 training images instead of all of them", key="train_quick")
        started = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if started:
        fine_tune = way.startswith("Fine-tune")
        try:
            jobs.start(arch=arch, epochs=epochs, fine_tune=fine_tune, with_collection=with_collection or fine_tune,
                       limit=10_000 if quick else None)
        except MnistAppError as error:
            st.error(str(error), icon=":material/block:")
            return
        st.rerun()


def progress_view(current: jobs.Status) -> None:
    progress = current.progress or {}
    networks, epochs = progress.get("networks", 1), progress.get("epochs") or (current.recipe or {}).get("epochs", 1)
    done = 0.0
    if progress.get("phase") == "training" and progress.get("batches"):
        done = ((progress["network"] - 1) * epochs + progress["epoch"] - 1 + progress["batch"] / progress["batches"]) \
            / (networks * epochs)
    elif progress.get("phase") in ("evaluating", "exporting", "deciding", "done"):
        done = 1.0
    elapsed = time.time() - (current.started or time.time())
    what = {"starting": "Starting…", "preparing": "Preparing the data…",
            "training": f"Training {progress.get('message', '')}: epoch {progress.get('epoch', 0)} of {epochs}",
            "evaluating": "Evaluating on the test set…", "exporting": "Exporting the fast path…",
            "deciding": "Fitting the 'no digit' threshold and the confidence scale…"}.get(progress.get("phase"),
                                                                                       "Starting…")
    eta = f" · about {elapsed / done * (1 - done) / 60:.0f} min of training left" if 0.05 < done < 1 else ""
    st.progress(min(done, 1.0), text=f"{what} · {elapsed / 60:.1f} min{eta}")
    curves = [row for row in progress.get("curves", []) if row.get("network") == progress.get("network")]
    if curves:
        for chart in charts.training_curves(curves):
            st.altair_chart(chart, width="stretch")


@st.fragment(run_every=2)
def running_view() -> None:
    current = jobs.status()
    if not current.running:
        st.rerun()  # the whole page: the result is in
    progress_view(current)
    if st.button("Cancel training", icon=":material/stop:", key="train_cancel"):
        jobs.cancel()
        st.rerun()


def comparison() -> dict:
    path = jobs.candidate_dir() / "comparison.json"
    figures = results.read_json(path)
    if figures is None:
        with st.spinner("Comparing the candidate with the current model…"):
            figures = jobs.compare()
        results.write_json(path, figures)
    return figures


def result_view(current: jobs.Status) -> None:
    if current.state == "failed":
        st.error("The training run stopped with an error; the end of its log:", icon=":material/error:")
        st.code(current.log_tail[-1500:] or "(no log)", wrap_lines=True)
        return
    if current.state == "cancelled":
        st.warning("The last training run was cancelled.", icon=":material/stop_circle:")
        return
    if not results.load_metrics(jobs.candidate_dir()):
        return
    st.subheader("The candidate beside the current model")
    figures = comparison()
    rows = {"MNIST test accuracy": [f"{figures[m]['test_accuracy']:.2%}" for m in ("current", "candidate")],
            f"My digits ({figures['candidate']['my_digits']})": [
                f"{figures[m]['my_digits_accuracy']:.1%}" if "my_digits_accuracy" in figures[m] else "—"
                for m in ("current", "candidate")],
            "network": [f"{figures[m]['networks'] or 1} × {figures[m]['arch']}" for m in ("current", "candidate")],
            "parameters": [f"{figures[m]['parameters']:,}" for m in ("current", "candidate")],
            "model file": [f"{figures[m]['file_mib']:.1f} MiB" for m in ("current", "candidate")],
            "one image (ONNX)": [f"{figures[m]['ms_per_image']:.2f} ms" for m in ("current", "candidate")]}
    st.dataframe(pd.DataFrame(rows, index=["current", "candidate"]).T, width="stretch")
    per_digit = pd.DataFrame({"digit": [str(d) for d in range(10)] * 2,
                              "recall": figures["current"]["per_digit"] + figures["candidate"]["per_digit"],
                              "model": ["current"] * 10 + ["candidate"] * 10})
    st.altair_chart(charts.per_digit(per_digit), width="stretch")
    if st.button("Use this model", type="primary", icon=":material/published_with_changes:", key="train_promote"):
        try:
            jobs.promote()
        except MnistAppError as error:
            st.error(str(error))
        else:
            st.success("The candidate is now the model every page uses. The current one was kept: "
                       "**Bring the previous model back** undoes this.", icon=":material/check_circle:")


current = jobs.status()
if current.running:
    running_view()
else:
    result_view(current)
    training_form()
if jobs.has_previous():
    st.divider()
    if st.button("Bring the previous model back", icon=":material/undo:", key="train_restore"):
        try:
            jobs.restore()
        except MnistAppError as error:
            st.error(str(error))
        else:
            st.success("The previous model is back (and the one it replaced was kept: this button swaps them again).")
