"""Look inside: what the page's work costs for a fresh digit, in the library and where a person meets it.

    .venv/bin/python -m scripts.bench_inside          (also run by `make bench`; as a module: it drives Chromium
                                                       with tests/support)

1. Library, over 100 MNIST test digits (p50 / p99 ms): the layers (every stage through ONNX Runtime and every grid
   of maps drawn as HTML, with the first layer's filters), the nearest training digits (the index's query and the
   grid of 12), a slider move (the digit changed, then it and the two sweeps -- 40 more images -- read by the whole
   model). And the index: built from the 60,000 training digits, loaded from disk.
2. The page in Chromium, from a freshly started server: draw a 4 on Draw, press "Look inside this reading", and
   time until every section is on screen (the first visit, and again for a fresh digit); then time a slider move
   (a key press on the rotation slider) until the page has read the digit again.

Targets (issue 20): <= 300 ms of layers per digit, <= 100 ms per neighbour query.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from mnist_app import config
from mnist_app.images import alter
from mnist_app.network import inference, inside
from mnist_app.store import data
from mnist_app.ui import layers
from tests.support import server
from tests.support.canvas import DIGIT_STROKES, draw

TARGETS = {"layers_ms": 300.0, "neighbours_ms": 100.0}
DIGITS = 100


def _ms(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def bench_library() -> dict:
    test, mnist = data.load_test_set(), data.load_mnist()
    network, predictor = inside.load(), inference.Predictor()
    started = time.perf_counter()
    index = inside.build_index(network, mnist.x_train, mnist.y_train)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        inside.save_index(index, Path(folder))
        (Path(folder) / config.MODEL_FILENAME).write_bytes(config.model_path().read_bytes())
        started = time.perf_counter()
        inside.load_index(Path(folder)).query(np.ones(256, np.float32))
        load_s = time.perf_counter() - started
    digits = test.x_test[:DIGITS] / 255.0
    angles, offsets = np.arange(-90, 91, 10), np.arange(-10, 11, 1)

    def layers_of(image):
        outputs = network.look(image)
        for stage in network.stages:
            if stage["kind"] in ("conv", "pool"):
                layers.maps_html(outputs[stage["name"]], stage["name"])
        layers.filters_html(network.filters, outputs[network.stages[0]["name"]])
        return outputs

    def neighbours(vector):
        found, similarity = index.query(vector)
        layers.neighbours_html(mnist.x_train[found], index.labels[found], similarity, found)

    def slider(image):
        changed = alter.altered(image, angle=30, shift=(2, 0))
        batch = np.concatenate([changed.reshape(1, 28, 28, 1), alter.rotations(image, angles),
                                alter.shifts(image, offsets)])
        predictor.calibrated(predictor.predict_batch(batch))

    timings = {"layers": [], "neighbours": [], "slider_move": []}
    for image in digits[:5]:  # warm-up
        neighbours(layers_of(image)[network.penultimate])
        slider(image)
    for image in digits:
        began = time.perf_counter()
        vector = layers_of(image)[network.penultimate]
        timings["layers"].append(time.perf_counter() - began)
        began = time.perf_counter()
        neighbours(vector)
        timings["neighbours"].append(time.perf_counter() - began)
        began = time.perf_counter()
        slider(image)
        timings["slider_move"].append(time.perf_counter() - began)
    return {**{name: _ms(seconds) for name, seconds in timings.items()},
            "index": {"build_s": round(build_s, 2), "load_s": round(load_s, 3), "digits": int(len(index.labels)),
                      "dimensions": int(index.vectors.shape[1]),
                      "mib_on_disk": round(index.vectors.nbytes / 2**20, 1)}}


def _read_again(page, timeout_ms: int = 60_000) -> None:
    """The script has run and the page shows every section."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.locator("[data-testid='stDataFrame']").wait_for(timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll(\"img[alt^='training image #']\").length === 12 && "
                           "document.querySelectorAll(\"[data-testid='stMain'] [role='graphics-document']\").length"
                           " >= 5", timeout=timeout_ms)


def bench_page() -> dict:
    figures: dict = {}
    with server.streamlit_server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for visit in ("first_digit_s", "fresh_digit_s"):
            page.goto(f"{base}/Draw")
            server.wait_for_page(page, server.PAGES["Draw"])
            draw(page, DIGIT_STROKES["4"] if visit == "first_digit_s" else DIGIT_STROKES["7"])
            page.get_by_role("button", name="Look inside this reading").wait_for(timeout=30_000)
            server.wait_idle(page)
            started = time.perf_counter()
            page.get_by_role("button", name="Look inside this reading").click()
            page.get_by_text("Looking at your digit").wait_for(timeout=60_000)
            _read_again(page)
            figures[visit] = round(time.perf_counter() - started, 2)
        moves = []
        slider = page.get_by_role("slider", name="Rotate (°, anticlockwise)")
        for _ in range(5):
            shown = page.locator("[data-testid='stMain'] img[alt^='the changed digit']").get_attribute("src")
            slider.focus()
            started = time.perf_counter()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("before => { const i = document.querySelector(\"[data-testid='stMain'] "
                                   "img[alt^='the changed digit']\"); return i && i.src !== before; }",
                                   arg=shown, timeout=30_000)
            _read_again(page)
            moves.append(time.perf_counter() - started)
        figures["slider_move_s"] = {"median": round(float(np.median(moves)), 2),
                                    "all": [round(m, 2) for m in moves]}
        browser.close()
    return figures


def main() -> int:
    results = {"library": bench_library(), "page": bench_page(), "targets": TARGETS}
    library = results["library"]
    results["targets_met"] = {"layers_ms": library["layers"]["p99_ms"] <= TARGETS["layers_ms"],
                              "neighbours_ms": library["neighbours"]["p99_ms"] <= TARGETS["neighbours_ms"]}
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
