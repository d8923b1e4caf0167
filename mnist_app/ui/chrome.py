"""Every page's frame: the page list (defined once, for the navigation and for Home), `page()` (browser tab,
title, styles, the model guard) and the notices and layout helpers pages share."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mnist_app.errors import ModelFileError
from mnist_app.network import inference
from mnist_app.serving import service, trainer
from mnist_app.store import registry
from mnist_app.ui import cache, identity


@dataclass(frozen=True)
class Page:
    """One page of the dashboard."""

    script: str  # the page's file, from the project folder
    url: str  # its address: http://host/<url>
    label: str  # in the navigation
    heading: str  # its title
    icon: str
    blurb: str  # what it offers, on Home
    section: str  # Home's column for it


RECOGNISE, UNDERSTAND, TEACH = "Recognise digits", "Understand the model", "Teach it"
HOME = Page("Home.py", "", "Home", "Handwritten digit recognizer", ":material/edit_note:", "", "")
PAGES = (
    Page("pages/1_Draw.py", "Draw", "Draw", "Draw a digit", ":material/draw:", "the prediction updates as you draw",
         RECOGNISE),
    Page("pages/2_Upload.py", "Upload", "Upload", "Upload images", ":material/upload:",
         "one image or a batch, with a CSV", RECOGNISE),
    Page("pages/3_Camera.py", "Camera", "Camera", "Camera", ":material/photo_camera:",
         "a snapshot of a digit on paper", RECOGNISE),
    Page("pages/4_From_URL.py", "From_URL", "From URL", "From a URL", ":material/link:",
         "an image on the web, fetched safely", RECOGNISE),
    Page("pages/5_Random_samples.py", "Random_samples", "Random samples", "Random MNIST test samples",
         ":material/casino:", "MNIST test digits, predicted vs true", RECOGNISE),
    Page("pages/6_Model.py", "Model", "Model", "The model", ":material/hub:", "layers, parameters, downloads",
         UNDERSTAND),
    Page("pages/7_Training_history.py", "Training_history", "Training history", "Training history",
         ":material/monitoring:", "curves per epoch, fit verdict", UNDERSTAND),
    Page("pages/8_Evaluation.py", "Evaluation", "Evaluation", "Evaluation on the 10,000 test images",
         ":material/fact_check:", "per-class scores, confusion matrix, mistakes", UNDERSTAND),
    Page("pages/11_Look_inside.py", "Look_inside", "Look inside", "Look inside the network", ":material/neurology:",
         "what each layer sees, the training digits it resembles, what changes its mind", UNDERSTAND),
    Page("pages/9_My_digits.py", "My_digits", "My digits", "My digits", ":material/bookmarks:",
         "the digits you kept and corrected: check the model on them, export them", TEACH),
    Page("pages/10_Train.py", "Train", "Train", "Train a model", ":material/model_training:",
         "train or fine-tune on your digits, watch it learn, compare, use it", TEACH),
)
ALL_PAGES = (HOME, *PAGES)
_BY_LABEL = {page.label: page for page in ALL_PAGES}

# Less empty space above the title (Streamlit's 6rem; its header bar is 3.75rem), so a phone shows more;
# narrower side margins on laptop screens (Streamlit's 5rem each side leave a 1024 px laptop ~560 px).
PAGE_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
@media (min-width: 641px) { [data-testid="stMainBlockContainer"] { padding-left: 3rem; padding-right: 3rem; } }
@media (max-width: 640px) { h1 { font-size: 1.9rem !important; } }
/* Touch screens (no hover): a chart's or table's toolbar would stay on screen over captions and buttons. */
@media (hover: none) { [data-testid="stElementToolbar"] { display: none; } }
/* Captions in the theme's text colour at 78 %: Streamlit's 60 % measures 4.4:1 on white, under WCAG AA's 4.5:1. */
[data-testid="stCaptionContainer"] { color: inherit; opacity: 0.78; }
[data-testid="stCaptionContainer"] code { color: inherit; }
/* Where the keyboard is, always visible (WCAG 2.4.7): Streamlit's own focus ring is faint or absent on links. */
/* Text for screen readers only (the answer as a sentence): out of sight, still in the accessibility tree. */
.spoken-answer { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
/* The dark theme's primary colour is light (text in it must read on the dark background): a primary button's
   label is dark on it, where Streamlit writes white (1.9:1). */
[data-testid^="stBaseButton-primary"] { color: light-dark(#ffffff, #11131a); }
:focus-visible { outline: 3px solid light-dark(#3b5bdb, #8fa5ff) !important; outline-offset: 2px; }
</style>"""

# Streamlit does not tell the page's CSS which of its themes (light or dark, from the app menu) is showing, and
# st.context.theme is documented as wrong while the theme changes. This script reads the app's background and
# sets the document's `color-scheme`, so that our colours can be written as CSS `light-dark(light, dark)`.
COLOR_SCHEME = """<script>
(() => {
  if (window.mnistColorScheme) return;
  window.mnistColorScheme = true;
  const app = document.querySelector("[data-testid='stApp']");
  const follow = () => {  // the theme's background: a class of Streamlit's on the app, changed with the theme
    const rgb = getComputedStyle(app).backgroundColor.match(/[0-9.]+/g);
    const dark = rgb && (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) < 128;
    document.documentElement.style.colorScheme = dark ? "dark" : "light";
  };
  follow();
  new MutationObserver(follow).observe(app, {attributes: true, attributeFilter: ["class", "style"]});
})();
</script>"""


def navigation(home) -> st.navigation:
    """The dashboard's navigation: Home (the callable `home`) and every page of PAGES, at their addresses."""
    entries = [st.Page(home, title=HOME.label, icon=HOME.icon, url_path="home", default=True)]
    entries += [st.Page(page.script, title=page.label, icon=page.icon, url_path=page.url) for page in PAGES]
    return st.navigation(entries)


def page(label: str, *, needs_model: bool = True) -> inference.Predictor | None:
    """Frame the page `label` (tab title, styles, title, who you are and which model reads for you) and, when it
    needs one, return the predictor of the model this person reads with; None after telling the visitor how to
    get a model when there is none (or when `needs_model` is False)."""
    info = _BY_LABEL[label]
    st.set_page_config(page_title=f"{info.label} · MNIST digit recognizer", page_icon=info.icon, layout="wide")
    st.html(PAGE_STYLE + COLOR_SCHEME, unsafe_allow_javascript=True)
    service.warm_up_in_background()  # a server started without the warm-up (plain `streamlit run`) catches up
    trainer.start_beside()  # likewise the trainer, unless trainers run elsewhere (MNIST_APP_TRAINER)
    st.title(info.heading, icon=info.icon)
    person = identity.current()
    whose_model(person)
    if not needs_model:
        return None
    try:
        return cache.predictor()
    except inference.StaleExportError as error:  # the dashboard answers with the fast path only
        st.warning(f"**The model's fast path is out of date.** {error.problem}.\n\nExport it again from the "
                   "project folder with:\n\n```\npython -m mnist_app export\n```\n(`make run` does it before "
                   "serving), then reload this page.", icon=":material/warning:")
        return None
    except ModelFileError as error:
        model_missing_notice(str(error))
        return None


def whose_model(person) -> None:
    """The sidebar (who you are, which model reads your digits) and, when it is one of your own, a line that
    says so under the title, with the way back to the shared model."""
    mine = cache.own_model() if person is not None and service.reading_folder(person.owner)[1] else None
    try:
        model_id = cache.predictor().model_id
    except ModelFileError:
        model_id = "none"
    identity.sidebar(person, f"**your model** (id `{model_id}`)" if mine else f"the shared model (id `{model_id}`)")
    if mine is None:
        return
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.markdown(f":material/person: Reading with **your model**, {mine.description} on {mine.created[:10]}.")
    row.button("Back to the shared model", icon=":material/undo:", key="chrome_back_to_shared",
               on_click=back_to_shared, args=(person,))


def back_to_shared(person) -> None:
    """Read with the shared model again (a button's callback)."""
    registry.Registry(person.access).use(None)
    service.forget_choice(person.owner)


def model_missing_notice(detail: str | None = None) -> None:
    """Explain that there is no usable model and give the command that trains one."""
    st.warning(
        "**No trained model is available yet.** "
        + (f"{detail}\n\n" if detail else "\n\n")
        + "Train one from the project folder with:\n\n"
        + "```\nmake train\n```\n"
        + "(or `python scripts/train.py`). It writes `models/mnist_cnn_model.h5` with its history and metrics; "
        + "reload this page afterwards.",
        icon=":material/warning:",
    )


def metric_row(name: str, count: int, min_width: int = 150) -> list:
    """`count` cells (metrics, or whole sections), side by side while each gets `min_width` pixels, wrapped onto
    more lines below that: st.columns would instead cut values like "29 / 10,000" down to "29 / 1…", or a table's
    columns, on a small screen."""
    row = st.container(horizontal=True, gap="medium", key=f"metric_row_{name}")
    # The row's flex items are Streamlit's layout wrappers around the cells.
    st.html(f"<style>.st-key-metric_row_{name} > [data-testid='stLayoutWrapper']"
            f" {{ min-width: min({min_width}px, 100%); flex: 1 1 {min_width}px; }}</style>")
    return [row.container() for _ in range(count)]


def flex_item(name: str, min_width: int) -> None:
    """Let the container keyed `name` shrink no narrower than `min_width` px (or the screen), then wrap."""
    st.html(f"<style>[data-testid='stLayoutWrapper']:has(> .st-key-{name}) "
            f"{{ min-width: min({min_width}px, 100%); flex: 1 1 {min_width}px; }}</style>")
