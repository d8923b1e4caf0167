"""The Look inside page under AppTest, section by section: layer by layer, the first layer's filters, the nearest
training digits, what changes its mind (sliders, sweeps, without preprocessing) and the comparison of models; and
the way in from a result card."""

import re

import numpy as np
from PIL import Image

from mnist_app import config
from mnist_app.images import alter, preprocess
from mnist_app.network import inside
from mnist_app.store import collection, data, registry
from tests.support import images
from tests.support.models import copy_of_the_committed_model
from tests.support.workspace import page as page_for
from tests.support.workspace import visitor
from tests.test_pages import _inject_drawing, digit_png, page, texts

LOOK_INSIDE = "pages/11_Look_inside.py"


def html_of(at) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def test_layer_by_layer_shows_every_stage_of_the_network_with_its_words(mnist):
    at = page(LOOK_INSIDE).run()
    assert not at.exception
    network = inside.load()
    shown = texts(at)
    assert "Looking at **test image #4 (labelled 4)**" in shown and "network 1 of the 3" in shown
    grids = {re.search(r'aria-label="(\w+):', body).group(1): body for body in html_of(at)
             if 'class="maps" style="--tile: 52px"' in body or 'class="maps" style="--tile: 40px"' in body}
    for stage in network.stages:
        assert f"**{stage['name']}**" in shown and stage["words"] in shown
        if stage["kind"] in ("conv", "pool"):  # every channel as a tile, strongest first
            tiles = re.findall(r'alt="(\w+), channel (\d+): strongest answer ([0-9.]+)', grids[stage["name"]])
            assert len(tiles) == stage["shape"][-1]
            peaks = [float(peak) for _, _, peak in tiles]
            assert peaks == sorted(peaks, reverse=True)
            maps = network.look(mnist.x_test[4] / 255.0)[stage["name"]]
            assert peaks[0] == float(f"{maps.max():.2f}")
    assert "3×3 filters" not in shown and "32 filters of 3×3 pixels" in shown


def test_the_first_layers_filters_are_shown_beside_where_each_fires():
    at = page(LOOK_INSIDE).run()
    grid = next(body for body in html_of(at) if "red adds, blue subtracts" in body)
    assert len(re.findall(r'alt="filter \d+: red adds', grid)) == 32
    assert len(re.findall(r'alt="where filter \d+ fires in this digit', grid)) == 32


def test_the_nearest_training_digits_are_twelve_with_their_labels(mnist):
    at = page(LOOK_INSIDE).run()
    grid = next(body for body in html_of(at) if "training image #" in body)
    found = re.findall(r'alt="training image #(\d+): a (\d), similarity ([0-9.]+)"', grid)
    assert len(found) == 12
    training = data.load_mnist()
    for number, label, _ in found:
        assert training.y_train[int(number)] == int(label)
    similarities = [float(s) for _, _, s in found]
    assert similarities == sorted(similarities, reverse=True)
    alike = sum(int(label) == 4 for _, label, _ in found)
    assert f"**{alike} of the 12 are 4s**" in texts(at) and alike >= 10


def test_the_sliders_change_the_digit_and_the_model_reads_it_again(mnist, predictor):
    at = page(LOOK_INSIDE).run()
    assert at.metric[0].label == "Now read as" and at.metric[0].value == "4"
    at.slider(key="inside_angle").set_value(-60).run()
    turned = alter.altered(mnist.x_test[4] / 255.0, angle=-60)
    expected = int(predictor.predict_batch(turned.reshape(1, 28, 28, 1)).argmax())
    assert at.metric[0].value == str(expected) != "4"  # turned 60° clockwise, this 4 is read as another digit
    at.slider(key="inside_angle").set_value(0).run()
    at.selectbox(key="inside_erase").set_value("the top third").run()
    at.slider(key="inside_shift_x").set_value(4).run()
    changed = alter.altered(mnist.x_test[4] / 255.0, shift=(4, 0), erase="the top third")
    expected = predictor.predict_batch(changed.reshape(1, 28, 28, 1))[0]
    assert at.metric[0].value == str(int(expected.argmax()))
    assert not at.exception


def test_without_mnist_preprocessing_reads_the_picture_as_it_is(mnist, predictor):
    picture = Image.new("RGB", (280, 280), "white")  # a small 3 in a corner of a big white page
    picture.paste(Image.fromarray(255 - mnist.x_test[18]).convert("RGB").resize((60, 60)), (200, 10))
    prepared = preprocess.to_batch([np.asarray(alter.without_preprocessing(picture))])
    at = page(LOOK_INSIDE)
    at.session_state["look_inside"] = {"image": mnist.x_test[18] / 255.0, "picture": picture, "what": "your digit"}
    at.run()
    assert at.toggle(key="inside_raw").disabled is False and at.metric[0].value == "3"
    at.toggle(key="inside_raw").set_value(True).run()
    naive = int(predictor.predict_batch(prepared).argmax())
    assert at.metric[0].value == str(naive)
    assert "That is why every image is preprocessed first" in texts(at)
    at = page(LOOK_INSIDE).run()  # a test digit is MNIST already: the switch is off and says why
    assert at.toggle(key="inside_raw").disabled


def test_a_result_card_opens_look_inside_on_its_digit(mnist):
    at = page("Home.py").run()  # the whole app (its navigation), so that the button can switch pages
    at.switch_page("pages/1_Draw.py").run()
    _inject_drawing(at, digit_png(mnist, 3))
    at.run()
    assert at.metric[0].value == str(mnist.y_test[3])
    at.button(key="draw_result_look_inside").click().run()
    assert not at.exception
    assert at.session_state["look_inside"]["what"] == "your digit"
    assert "Looking at **your digit**" in texts(at)  # the page switched to Look inside, on the drawn digit
    assert at.metric[0].label == "Now read as" and at.metric[0].value == str(mnist.y_test[3])


def test_compare_models_shows_every_model_of_the_person_side_by_side(store, mnist):
    person = visitor()
    mine = registry.Registry(person.access).register(copy_of_the_committed_model(store / "mine"),
                                                     description="a copy of the committed model")
    kept = collection.Collection(person.access)
    for index in range(5):
        kept.add(mnist.x_test[index], int(mnist.y_test[index]), prediction=None, confidence=None, source="draw",
                 session="test")
    at = page_for(LOOK_INSIDE, person).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["The shared model", f"Yours: a copy of the committed model ({mine.created[:10]})"]
    assert list(table["network"]) == ["default × 3"] * 2 and list(table["MFLOP"]) == [59.82] * 2
    assert list(table["MNIST accuracy"]) == ["99.65%"] * 2 and list(table["your digits"]) == ["100.0% of 5"] * 2
    assert list(table["reads this digit as"]) == ["4 (> 99.9 %)"] * 2
    assert (table["ms per image"] > 0).all()
    other = visitor()  # someone else sees the shared model only
    assert list(page_for(LOOK_INSIDE, other).run().dataframe[0].value["model"]) == ["The shared model"]


def test_look_inside_without_an_export_says_how_to_make_one(tmp_path, monkeypatch):
    folder = copy_of_the_committed_model(tmp_path / "model")
    (folder / config.INSIDE_FILENAME).unlink()
    monkeypatch.setenv("MNIST_APP_MODELS_DIR", str(folder))
    monkeypatch.setattr(config, "MODELS_DIR", folder)
    at = page(LOOK_INSIDE).run()
    assert not at.exception and "python -m mnist_app export" in texts(at)


def test_a_numbers_digit_opens_look_inside_on_that_digit(mnist):
    number = Image.new("L", (200, 100), 0)  # 4 then 2, white on black, apart
    number.paste(Image.fromarray(mnist.x_test[4]).resize((84, 84)), (10, 8))
    number.paste(Image.fromarray(mnist.x_test[1]).resize((84, 84)), (106, 8))
    at = page("Home.py").run()
    at.switch_page("pages/2_Upload.py").run()
    at.toggle(key="upload_number").set_value(True).run()
    at.file_uploader[0].set_value(("42.png", images.encode(number), "image/png")).run()
    assert at.metric[0].label == "Number" and at.metric[0].value == "42"
    at.button_group(key="upload_single_look_digit").set_value("2: 2").run()
    assert not at.exception
    assert "Looking at **digit 2 of your number**" in texts(at) and at.metric[0].value == "2"
