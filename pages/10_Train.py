"""Train: a new model or yours fine-tuned on your digits, queued for a trainer; watch it learn; compare it with the
model it would replace; read with it yourself. Your models are yours; an admin can share one with everyone."""

import time

import pandas as pd
import streamlit as st

from mnist_app.errors import MnistAppError
from mnist_app.network import architectures
from mnist_app.serving import jobs, service
from mnist_app.store import registry, results
from mnist_app.ui import cache, charts, chrome, identity

chrome.page("Train", needs_model=False)
person = identity.required("train a model")
models = registry.Registry(person.access)
unavailable = jobs.availability()
FULL_EPOCH_IMAGES = 105_000  # MNIST's training split, the user-style digits and the non-digits, about
QUICK_RUN_IMAGES = jobs.quick_run_images()


def estimate(arch: str, networks: int, images: int) -> str:
    """How long an epoch takes, as this server measured it on its own earlier runs (none: it says so)."""
    seconds = jobs.seconds_per_epoch(arch, networks, images)
    if seconds is None:
        return f"no run of {networks} × {arch} has been timed on this server yet"
    return f"about {seconds / 60:.1f} min per epoch on this server (from its earlier runs)"


def training_form() -> None:
    st.markdown("Training runs in a process of its own, one run at a time per person, in turn with everyone else's: "
                "you can leave this page and come back. The result is one of **your models**: you compare it with "
                "the model you read with now, then use it or not. It changes nothing for anyone else.")
    kept = cache.my_digits().count()
    base = results.load_metrics(cache.models_dir()) or {}
    fine_tuning = estimate(base.get("arch", "default"), base.get("ensemble") or 1, FULL_EPOCH_IMAGES)
    with st.form("train_form", border=True):
        way = st.radio("What to train", ["Fine-tune the model you read with, on your digits", "A new model"],
                       index=0 if kept else 1, key="train_way", horizontal=True,
                       help="Fine-tuning starts from the model you read with now, at a tenth of its learning rate, "
                            "and mixes your digits with MNIST, so it learns them without forgetting the rest.")
        arch = st.selectbox("Network (a new model)", architectures.NAMES, key="train_arch",
                            format_func=lambda name: f"{name} — {architectures.DESCRIPTIONS[name][:70]}…")
        epochs = st.slider("Epochs", 1, 20, 2, key="train_epochs",
                           help="One epoch is one pass over ~105,000 images (fewer in a quick run). Fine-tuning the "
                                f"model you read with: {fine_tuning}; a new network: "
                                + "; ".join(f"{name}: {estimate(name, 1, FULL_EPOCH_IMAGES)}"
                                            for name in architectures.NAMES) + ".")
        with_collection = st.checkbox(f"Add my digits ({kept})", value=bool(kept), key="train_with_collection",
                                      disabled=not kept)
        quick = st.checkbox(f"Quick run: {QUICK_RUN_IMAGES:,} training images instead of all of them",
                            key="train_quick")
        started = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if started:
        fine_tune = way.startswith("Fine-tune")
        try:
            jobs.start(person, arch=arch, epochs=epochs, fine_tune=fine_tune, with_collection=with_collection,
                       limit=QUICK_RUN_IMAGES if quick else None)
        except MnistAppError as error:
            st.error(str(error), icon=":material/block:")
            return
        st.rerun()


def progress_view(job) -> None:
    progress = job.progress or {}
    networks, epochs = progress.get("networks", 1), progress.get("epochs") or job.recipe.get("epochs", 1)
    done = 0.0
    if progress.get("phase") == "training" and progress.get("batches"):
        done = ((progress["network"] - 1) * epochs + progress["epoch"] - 1 + progress["batch"] / progress["batches"]) \
            / (networks * epochs)
    elif progress.get("phase") in ("evaluating", "exporting", "deciding", "done"):
        done = 1.0
    elapsed = time.time() - (job.started or time.time())
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
def active_view(job_id: int) -> None:
    job = jobs.latest(person)
    if job is None or job.id != job_id or not job.active:
        st.rerun()  # the whole page: the run has ended
    if job.state == "queued":
        ahead = jobs.ahead_of(person, job)
        st.info(f"Waiting for a trainer: {ahead} run{'s' if ahead != 1 else ''} ahead of yours." if ahead else
                "Waiting for a trainer to take your run…", icon=":material/hourglass_top:")
    else:
        progress_view(job)
    if st.button("Cancel training", icon=":material/stop:", key="train_cancel"):
        jobs.cancel(person, job.id)
        st.rerun()


def comparison(model: registry.Model) -> None:
    figures = model.figures
    if not figures.get("candidate"):
        return
    names = {"current": "what you read with", "candidate": "this model"}
    rows = {"MNIST test accuracy": [f"{figures[m]['test_accuracy']:.2%}" for m in names],
            f"your digits ({figures['candidate']['my_digits']})": [
                f"{figures[m]['my_digits_accuracy']:.1%}" if "my_digits_accuracy" in figures[m] else "—"
                for m in names],
            "network": [f"{figures[m]['networks'] or 1} × {figures[m]['arch']}" for m in names],
            "parameters": [f"{figures[m]['parameters']:,}" for m in names],
            "model file": [f"{figures[m]['file_mib']:.1f} MiB" for m in names],
            "one image (ONNX)": [f"{figures[m]['ms_per_image']:.2f} ms" for m in names]}
    st.dataframe(pd.DataFrame(rows, index=list(names.values())).T, width="stretch")
    per_digit = pd.DataFrame({"digit": [str(d) for d in range(10)] * 2,
                              "recall": figures["current"]["per_digit"] + figures["candidate"]["per_digit"],
                              "model": ["current"] * 10 + ["candidate"] * 10})
    st.altair_chart(charts.per_digit(per_digit), width="stretch")


def use(model_id: str | None) -> None:
    models.use(model_id)
    service.forget_choice(person.owner)


def ended_view(job) -> None:
    if job.state == "failed":
        st.error("The last training run stopped with an error; the end of its log:", icon=":material/error:")
        st.code((job.message or "(no log)")[-1500:], wrap_lines=True)
        return
    if job.state == "cancelled":
        st.warning("The last training run was cancelled.", icon=":material/stop_circle:")
        return
    made = models.get(job.model) if job.model else None
    if made is None:
        return
    st.subheader("Your new model beside the one you read with")
    comparison(made)
    in_use = models.in_use()
    if in_use is not None and in_use.id == made.id:
        st.success("You read with this model now, on every page.", icon=":material/check_circle:")
    else:
        st.button("Use this model", type="primary", icon=":material/published_with_changes:", key="train_promote",
                  on_click=use, args=(made.id,), help="Your readings on every page use it; nobody else's change.")


def models_view() -> None:
    everyone = person.admin and st.toggle("Everyone's models (admin)", key="train_everyone")
    listed = [model for model in models.models() if everyone or model.owner == person.owner]
    shared = models.shared()
    in_use = models.in_use()
    st.subheader("Everyone's models" if everyone else "Your models")
    if shared is not None:
        st.caption(f"The shared model everyone reads with: `{shared.id}`, {shared.description} ({shared.owner}).")
    if not listed:
        st.caption("None yet: the models you train appear here, with their figures, until you delete them.")
        return
    table = pd.DataFrame([{"id": model.id, "what": model.description, "trained": model.created[:16].replace("T", " "),
                           "MNIST test": f"{model.test_accuracy:.2%}" if model.test_accuracy else "—",
                           "your digits": (f"{model.figures['candidate']['my_digits_accuracy']:.1%}"
                                           if "my_digits_accuracy" in model.figures.get("candidate", {}) else "—"),
                           "network": f"{model.networks or 1} × {model.arch}", "parameters": model.parameters,
                           "in use": "yes" if in_use is not None and in_use.id == model.id else "",
                           **({"owner": model.owner} if everyone else {})} for model in listed])
    st.dataframe(table, hide_index=True, width="stretch")
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    chosen = row.selectbox("Model", [model.id for model in listed], key="train_model_pick")
    mine = next(model for model in listed if model.id == chosen)
    if mine.owner == person.owner:
        row.button("Use it", icon=":material/published_with_changes:", key="train_use", on_click=use, args=(chosen,),
                   disabled=in_use is not None and in_use.id == chosen)
    if row.button("Delete it", icon=":material/delete:", key="train_delete",
                  disabled=shared is not None and shared.id == chosen):
        models.delete(chosen)
        service.forget_choice()
        st.rerun()
    if person.admin and row.button("Make it the shared model", icon=":material/public:", key="train_share",
                                   disabled=shared is not None and shared.id == chosen,
                                   help="Everyone's readings, and the command line's, use it."):
        models.share(chosen)
        service.forget_choice()
        st.rerun()
    if person.admin and shared is not None and row.button("Share the committed model again", key="train_unshare"):
        models.share(None)
        service.forget_choice()
        st.rerun()


latest = jobs.latest(person)
if unavailable:
    st.info(unavailable, icon=":material/block:")
elif latest is not None and latest.active:
    active_view(latest.id)
else:
    if latest is not None:
        ended_view(latest)
    training_form()
st.divider()
models_view()
