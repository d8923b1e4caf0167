"""Random samples: MNIST test digits with the prediction next to the true label."""

import numpy as np
import streamlit as st

from mnist_app.ui import cache, charts, chrome, views

if chrome.page("Random samples") is None:
    st.stop()

mnist = cache.test_set()
report = cache.test_report()  # computed once per model, when it was trained or exported
probabilities, predicted = report.probabilities, report.predicted
st.session_state.setdefault("samples_seed", 0)


def reshuffle():
    st.session_state["samples_seed"] = int(np.random.default_rng().integers(0, 1_000_000))


def samples() -> None:
    """The controls, the grid and the close-up (a whole-page rerun, not a fragment: see pages/1_Draw.py)."""
    controls = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
    count = controls.slider("Number of samples", 4, 64, 16, step=4, key="samples_count", width=260)
    controls.number_input("Seed", min_value=0, max_value=999_999, step=1, key="samples_seed", width=150)
    controls.button("Reshuffle", icon=":material/shuffle:", on_click=reshuffle, key="samples_reshuffle")
    only_wrong = controls.toggle("Only misclassified", key="samples_only_wrong")

    pool = np.flatnonzero(predicted != mnist.y_test) if only_wrong else np.arange(len(mnist.y_test))
    chosen = np.sort(np.random.default_rng(st.session_state["samples_seed"]).choice(pool, min(count, len(pool)),
                                                                                   replace=False))
    mistakes = int(np.sum(predicted[chosen] != mnist.y_test[chosen]))
    st.markdown(f"**{len(chosen)} samples**, {mistakes} misclassified (framed in red). "
                f"Over the whole test set: {int(np.sum(predicted != mnist.y_test))} mistakes in {len(predicted):,}.")
    views.digit_grid(mnist.x_test[chosen], mnist.y_test[chosen], predicted[chosen],
                     probabilities[chosen].max(axis=1), numbers=chosen)

    st.subheader("One sample up close")
    index = st.selectbox("Test image", chosen, format_func=lambda i: f"#{i} — true {mnist.y_test[i]}, "
                         f"predicted {predicted[i]}", key="samples_pick")
    if index is not None:
        row = st.container(horizontal=True, gap="medium")
        row.image(charts.upscale(mnist.x_test[index] / 255.0),
                  caption=f"Test image #{index} (true label {mnist.y_test[index]})", width=168,
                  alt=f"test image #{index}: a handwritten {mnist.y_test[index]}, white on black, 28×28")
        with row.container(key="samples_chart", width="stretch"):
            chrome.flex_item("samples_chart", 260)
            verdict = "correct" if predicted[index] == mnist.y_test[index] else "wrong"
            views.announce(f"Prediction: {predicted[index]}, "
                           f"{charts.spoken_percent(float(probabilities[index].max()))} confident; {verdict}, "
                           f"the true label is {mnist.y_test[index]}.")
            st.metric("Prediction", str(predicted[index]),
                      f"{charts.percent_label(float(probabilities[index].max()))} · {verdict}",
                      delta_color="off", delta_arrow="off")
            views.top10_chart(probabilities[index])
        views.look_inside(mnist.x_test[index] / 255.0, None, f"test image #{index} (labelled {mnist.y_test[index]})",
                          key="samples")


samples()
