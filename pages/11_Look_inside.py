"""Look inside: what each layer of the network makes of a digit, which training digits it resembles, what changes
the model's mind, and every model side by side."""

import numpy as np
import pandas as pd
import streamlit as st

from mnist_app.errors import ModelFileError
from mnist_app.images import alter, reading
from mnist_app.ui import cache, charts, chrome, layers, views

predictor = chrome.page("Look inside")
if predictor is None:
    st.stop()
try:
    network = cache.inside()
except ModelFileError as error:
    st.warning(f"**Nothing to look inside yet.** {error}", icon=":material/warning:")
    st.stop()

DEFAULT_TEST_DIGIT = 4  # MNIST test image #4 is a 4: a digit with a clear structure to follow through the layers
PICTURE = views.PICTURE

st.markdown("A convolutional network reads a digit in steps. Follow one digit through them: what each layer "
            "answers, which training digits the network finds most alike, and what makes it change its mind.")

# --- The digit ---
mnist = cache.test_set()
yours = st.session_state.get("look_inside")
choices = (["Your digit"] if yours else []) + ["A test digit"]
row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
source = row.segmented_control("Digit to look at", choices, default=choices[0], key="inside_source")
if source == "Your digit" and yours:
    image, picture, what = yours["image"], yours.get("picture"), yours["what"]
else:
    number = row.number_input("MNIST test image #", 0, len(mnist.y_test) - 1, DEFAULT_TEST_DIGIT, step=1,
                              key="inside_test_index", width=180)
    image, picture = mnist.x_test[number] / 255.0, None
    what = f"test image #{number} (labelled {mnist.y_test[number]})"
    if not yours:
        st.caption(":material/draw: To look at a digit of your own, draw, upload or photograph one and choose "
                   "**Look inside this reading** under the result.")
image = np.asarray(image, dtype=np.float32).reshape(28, 28)

outputs = network.look(image)
answer = reading.Digit(predictor.calibrated(predictor.predict_batch(image.reshape(1, 28, 28, 1)))[0],
                       np.zeros(10, np.float32), image, (0, 0, 28, 28))
member = (f"network {network.member} of the {network.networks} the model averages (each alike, trained from a "
          "different seed)" if network.networks > 1 else "the model's one network")
st.markdown(f"Looking at **{what}**. The model reads it as **{answer.digit}** "
            f"({charts.percent_label(answer.confidence)}). The layers below are those of {member}.")

# --- Layer by layer ---
st.subheader("Layer by layer", anchor="layers")
st.markdown("Each convolution slides small **filters** over its input and answers, at every place, how well the "
            "pattern under it matches: one **feature map** per filter. **Batch normalisation** rescales each map to a "
            "steady range, **ReLU** keeps the positive answers and **max-pooling** halves the size. Brighter means a "
            "stronger answer; each layer's maps are shown strongest first.")
first = st.container(horizontal=True, gap="medium")
first.image(charts.upscale(image, PICTURE), caption="The input: 28×28 grey pixels", width=PICTURE,
            alt=f"the input: {what}, white on black, 28×28")
for stage in network.stages:
    values = outputs[stage["name"]]
    shape = "×".join(str(d) for d in stage["shape"])
    with st.container(key=f"inside_stage_{stage['name']}"):
        st.markdown(f"**{stage['name']}** · {stage['kind']} · output {shape}")
        st.caption(stage["words"])
        if stage["kind"] in ("conv", "pool"):
            st.html(layers.maps_html(values, stage["name"], tile=52 if values.shape[0] > 12 else 40))
        elif stage["kind"] == "dense":
            st.altair_chart(layers.units(values), width="stretch")
        else:
            views.top10_chart(values, height=220)

# --- The first layer's filters ---
first_stage = network.stages[0]
st.subheader("The first layer's filters", anchor="filters")
st.markdown(f"The {len(network.filters)} filters of **{first_stage['name']}**, each "
            f"{network.filters.shape[1]}×{network.filters.shape[2]} pixels, learned from the training digits. Left: "
            "the filter (red adds the pixel under it, blue subtracts it). Right: where it fires in this digit. Edge "
            "and stroke detectors show up as a red side next to a blue one.")
st.html(layers.filters_html(network.filters, outputs[first_stage["name"]]))

# --- Nearest training digits ---
st.subheader("Nearest training digits", anchor="neighbours")
st.markdown(f"The **{network.penultimate}** layer, the last before the answer (the *penultimate* layer), sums a "
            f"digit up in {outputs[network.penultimate].size} numbers. "
            "These are the 12 MNIST training digits whose numbers are closest to this one's (cosine similarity: "
            "1 is the same direction).")
training_images, _ = cache.training_set()
index = cache.nearest_index()
found, similarity = index.query(outputs[network.penultimate])
alike = int(np.sum(index.labels[found] == answer.digit))
st.markdown(f"The model thinks {'your' if source == 'Your digit' else 'this'} {answer.digit} looks like these: "
            f"**{alike} of the 12 are {answer.digit}s**.")
st.html(layers.neighbours_html(training_images[found], index.labels[found], similarity, found))

# --- What changes its mind ---
st.subheader("What changes its mind", anchor="changes")
st.markdown("Move the sliders: the digit changes and the whole model reads it again. The charts below sweep the "
            "rotation and the shift for you.")
controls = st.container(horizontal=True, gap="medium")
shift_x = controls.slider("Shift right (px)", -10, 10, 0, key="inside_shift_x", width=200)
shift_y = controls.slider("Shift down (px)", -10, 10, 0, key="inside_shift_y", width=200)
angle = controls.slider("Rotate (°, anticlockwise)", -90, 90, 0, step=5, key="inside_angle", width=200)
scale = controls.slider("Scale", 0.4, 1.6, 1.0, step=0.05, key="inside_scale", width=200)
thickness = controls.slider("Thinner ← stroke → thicker", -2, 2, 0, key="inside_thickness", width=200)
erase = controls.selectbox("Erase", list(alter.ERASE), key="inside_erase", width=200)
raw = st.toggle("Without MNIST preprocessing", key="inside_raw", disabled=picture is None,
                help="Your picture squeezed to 28×28 as it is: no cropping to the ink, no 20×20 box, no centring. "
                     + ("Only for your own digits (test digits are MNIST already)." if picture is None else ""))
start = alter.without_preprocessing(picture) if raw and picture is not None else image
changed = alter.altered(start, shift=(shift_x, shift_y), angle=angle, scale=scale, thickness=thickness, erase=erase)
sweep_angles = np.arange(-90, 91, 10)
sweep_shifts = np.arange(-10, 11, 1)
batch = np.concatenate([changed.reshape(1, 28, 28, 1), alter.rotations(start, sweep_angles),
                        alter.shifts(start, sweep_shifts)])
probabilities = predictor.calibrated(predictor.predict_batch(batch))
now = probabilities[0]
result = st.container(horizontal=True, gap="medium")
result.image(charts.upscale(changed, PICTURE), caption="What the model sees now", width=PICTURE,
             alt=f"the changed digit, white on black, 28×28, read as {int(now.argmax())}")
with result.container(key="inside_changed_chart", width="stretch"):
    chrome.flex_item("inside_changed_chart", 260)
    views.announce(f"Now read as {int(now.argmax())}, {charts.spoken_percent(float(now.max()))} confident.")
    st.metric("Now read as", str(int(now.argmax())), f"{charts.percent_label(float(now.max()))} confident",
              delta_color="off", delta_arrow="off")
    views.top10_chart(now, height=220)
if raw:
    st.caption("Without preprocessing the digit keeps the size and place it had in your picture, so it rarely "
               "looks like the MNIST digits the network learned from: centred by its centre of mass, 20 pixels "
               "tall. That is why every image is preprocessed first.")
sweeps = st.container(horizontal=True, gap="medium")
with sweeps.container(key="inside_sweep_rotation", width="stretch"):
    chrome.flex_item("inside_sweep_rotation", 300)
    st.altair_chart(layers.sweep(sweep_angles, probabilities[1: 1 + len(sweep_angles)], title="rotation",
                                 unit="°", now=angle), width="stretch")
with sweeps.container(key="inside_sweep_shift", width="stretch"):
    chrome.flex_item("inside_sweep_shift", 300)
    st.altair_chart(layers.sweep(sweep_shifts, probabilities[1 + len(sweep_angles):], title="shift right",
                                 unit=" px", now=shift_x), width="stretch")

# --- Compare models ---
st.subheader("Compare models", anchor="compare")
st.markdown("Every model you can read with, side by side, and how each reads this digit.")
rows = []
for name, folder in cache.models_to_compare():
    try:
        figures, reader = cache.model_figures(folder), cache.predictor_of(folder)
    except ModelFileError as error:
        rows.append({"model": name, "network": f"unavailable: {error}"})
        continue
    said = reader.calibrated(reader.predict_batch(image.reshape(1, 28, 28, 1)))[0]
    rows.append({"model": name, **figures,
                 "reads this digit as": f"{int(said.argmax())} ({charts.percent_label(float(said.max()))})",
                 **cache.accuracy_on_my_digits(reader)})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption("MFLOP: millions of floating-point operations to read one digit (2 per multiply-add). ms per image: the "
           "median time this server takes to read one digit. Your digits: the share of the digits you kept (My "
           "digits) that the model reads right.")
views.glossary("filter", "feature map", "batch normalisation", "ReLU", "max-pooling", "dense layer", "softmax",
               "penultimate layer", "cosine similarity", "MFLOP")
