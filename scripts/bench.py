"""Benchmark the project's paths against Keras' own, on the committed model; print a table and write JSON.

    make bench            # or: .venv/bin/python scripts/bench.py [--quick] [--output artifacts/bench.json]

Figures (targets in brackets):
1. one image end to end, PNG bytes -> decode -> preprocess -> predict, p50/p99: the project's path
   (ONNX Runtime) vs the naive path (same preprocessing, keras Model.predict per image)  [p50 <= 1 ms, >= 40x]
2. the 10,000 test images as one batch, images/s: project vs model.predict(batch_size=1024)  [>= 2x]
3. preprocessing alone per image, canvas-sized (280x280 RGBA) and photo-sized (1600x1200 JPEG)
4. model load time in a fresh process and that process' peak RSS (fast path and Keras path)
5. training seconds per epoch, default recipe, on a fixed 10,000-image subset
6. server-side work for one canvas stroke on the Draw page (data URL -> reading -> pictures)  [<= 20 ms]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from mnist_app import config
from mnist_app.images import preprocess, reading
from mnist_app.measure import robustness
from mnist_app.network import inference
from mnist_app.network.recipe import Recipe
from mnist_app.store import data
from mnist_app.store import results as results_files
from mnist_app.training import train
from mnist_app.ui import charts

TARGETS = {"single_p50_ms": 1.0, "single_speedup": 40.0, "batch_speedup": 2.0, "stroke_p50_ms": 20.0}


def percentiles(seconds: list[float]) -> dict:
    values = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 4), "p99_ms": round(float(np.percentile(values, 99)), 4),
            "n": len(values)}


def timed(function, items, warmup: int = 20) -> dict:
    for item in items[:warmup]:
        function(item)
    seconds = []
    for item in items:
        started = time.perf_counter()
        function(item)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_array(digit: np.ndarray) -> np.ndarray:
    """What the Draw page receives: 280x280 RGBA, white strokes on an opaque black background."""
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    stroke = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC))
    canvas[30:230, 50:250, :3] = stroke[..., None]
    return canvas


def photo_jpeg(digit: np.ndarray, seed: int) -> bytes:
    """A 1600x1200 photo-like JPEG of a digit on tinted, unevenly lit paper."""
    small = Image.open(io.BytesIO(robustness.photo_tinted_jpeg(digit, np.random.default_rng(seed))))
    buffer = io.BytesIO()
    small.resize((1600, 1200), Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def bench_single(predictor, keras_model, pngs, quick: bool) -> dict:
    project = timed(lambda payload: reading.read(payload, predictor=predictor), pngs)

    def naive(payload):
        prepared = reading.prepare(payload)
        return keras_model.predict(prepared.model_input[None, ..., None], verbose=0)

    naive_figures = timed(naive, pngs[: 40 if quick else 150], warmup=5)
    return {"project": project, "naive_keras_predict": naive_figures,
            "speedup_p50": round(naive_figures["p50_ms"] / project["p50_ms"], 1)}


def bench_batch(predictor, keras_model, images: np.ndarray, repeats: int) -> dict:
    def rate(function):
        function(images)  # warm-up
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            function(images)
            runs.append(time.perf_counter() - started)
        return round(len(images) / float(np.median(runs)))

    project = rate(predictor.predict_batch)
    keras_rate = rate(lambda x: keras_model.predict(x, batch_size=1024, verbose=0))
    return {"project_images_per_s": project, "keras_predict_images_per_s": keras_rate,
            "speedup": round(project / keras_rate, 2)}


def bench_preprocess(digits: np.ndarray) -> dict:
    canvases = [canvas_array(d) for d in digits[:200]]
    photos = [photo_jpeg(d, i) for i, d in enumerate(digits[:40])]
    return {"canvas_280x280_rgba": timed(reading.prepare, canvases),
            "photo_1600x1200_jpeg": timed(reading.prepare, photos, warmup=3)}


# Peak RSS from /proc/self/status (VmHWM): getrusage's ru_maxrss would carry over the parent's high-water
# mark across fork + exec.
LOAD_SNIPPET = """
import sys, time
started = time.perf_counter()
import numpy as np
if sys.argv[1] == "keras":
    from mnist_app.training import reference as inference
else:
    from mnist_app.network import inference
predictor = inference.Predictor(backend=sys.argv[1])
predictor.predict_batch(np.zeros((1, *config.INPUT_SHAPE), np.float32))
seconds = time.perf_counter() - started
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(seconds, peak_kib / 1024, predictor.backend)
"""


def bench_load() -> dict:
    results = {}
    for backend in ("onnx", "keras"):
        output = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, backend], cwd=config.PROJECT_ROOT,
                                capture_output=True, text=True, check=True).stdout.split()
        results[backend] = {"load_and_first_prediction_s": round(float(output[0]), 2),
                            "peak_rss_mib": round(float(output[1])), "backend": output[2]}
    return results


def _training_subset(mnist, subset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first `subset` training digits and the last 2,000 to validate on, as the networks take them."""
    return (preprocess.normalize_mnist(mnist.x_train[:subset]), mnist.y_train[:subset].astype(np.int64),
            preprocess.normalize_mnist(mnist.x_train[-2000:]), mnist.y_train[-2000:].astype(np.int64))


def bench_training(mnist, epochs: int = 2, subset: int = 10_000) -> dict:
    x, y, x_val, y_val = _training_subset(mnist, subset)
    _, records = train.train_network("default", x, y, x_val, y_val, epochs=epochs, batch_size=128, seed=1,
                                     learning_rate=Recipe().learning_rate, augmented=True, verbose=0)
    steady = records[-1]["seconds"]  # the first epoch also pays for tracing and compilation
    return {"subset_images": subset, "first_epoch_s": records[0]["seconds"], "steady_epoch_s": steady,
            "images_per_s": round(subset / steady), "full_epoch_estimate_s": round(steady * 55_000 / subset, 1)}


def bench_fine_tune(mnist, folders: dict[str, Path], epochs: int = 4, subset: int = 10_000) -> dict:
    """Fine-tuning as the Train page runs it (`train --fine-tune`: the model's own networks, at a tenth of the
    learning rate), s/epoch on `subset` images (the median of the epochs after the first, which also builds the
    graph), for each model folder that exists (the committed one; a student)."""
    x, y, x_val, y_val = _training_subset(mnist, subset)
    figures = {}
    for name, folder in folders.items():
        if not config.model_path(folder).is_file():
            continue
        model = keras.models.load_model(config.model_path(folder), compile=False)
        _, records = train.train_network("default", x, y, x_val, y_val, epochs=epochs, batch_size=128, seed=1,
                                         learning_rate=Recipe().learning_rate / 10, augmented=True, verbose=0,
                                         start_from=model)
        steady = round(float(np.median([record["seconds"] for record in records[1:]])), 2)
        figures[name] = {"steady_epoch_s": steady, "full_epoch_estimate_s": round(steady * 105_000 / subset, 1)}
    return figures


def bench_stroke(predictor, digits: np.ndarray) -> dict:
    """What one stroke costs the server: the canvas' PNG data URL decoded (as CanvasResult does), read, and
    the pictures the Draw page shows made."""
    urls = []
    for digit in digits[:100]:
        urls.append("data:image/png;base64," + base64.b64encode(png_bytes(canvas_array(digit))).decode())

    def stroke(url):
        shown = reading.read(base64.b64decode(url.split(",", 1)[1]), predictor=predictor)
        return charts.upscale(shown.model_input), shown.top(10)

    return timed(stroke, urls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, no training figure")
    parser.add_argument("--output", type=Path, default=config.PROJECT_ROOT / "artifacts" / "bench.json")
    args = parser.parse_args()

    mnist = data.load_mnist()
    predictor = inference.Predictor(backend="onnx")
    keras_model = keras.models.load_model(config.model_path(), compile=False)
    test_images = preprocess.normalize_mnist(mnist.x_test)
    pngs = [png_bytes(d) for d in mnist.x_test[: 300 if args.quick else 1000]]

    summary = results_files.load_model_summary() or {}
    print("Measuring… (the committed model:", config.model_path().name, f"{predictor.parameters:,} parameters,",
          f"{summary.get('mflop')} MFLOP per image, counted in its ONNX graph at export)")
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "tensorflow": __import__("tensorflow").__version__,
                           "onnxruntime": __import__("onnxruntime").__version__},
               "model": {"parameters": predictor.parameters, "mflop": summary.get("mflop"),
                         "networks": summary.get("networks")},
               "single_image": bench_single(predictor, keras_model, pngs, args.quick)}
    results["batch_10k"] = bench_batch(predictor, keras_model, test_images, repeats=2 if args.quick else 5)
    results["preprocess"] = bench_preprocess(mnist.x_test)
    results["load"] = bench_load()
    results["training"] = None if args.quick else bench_training(mnist)
    results["fine_tune"] = None if args.quick else bench_fine_tune(
        mnist, {"committed model": config.MODELS_DIR, "student (seed 1)": config.MODELS_DIR / "student-seed1"})
    results["draw_stroke"] = bench_stroke(predictor, mnist.x_test)
    results["targets"] = TARGETS
    results["targets_met"] = {
        "single_p50_ms": results["single_image"]["project"]["p50_ms"] <= TARGETS["single_p50_ms"],
        "single_speedup": results["single_image"]["speedup_p50"] >= TARGETS["single_speedup"],
        "batch_speedup": results["batch_10k"]["speedup"] >= TARGETS["batch_speedup"],
        "stroke_p50_ms": results["draw_stroke"]["p50_ms"] <= TARGETS["stroke_p50_ms"],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(format_table(results))
    print(f"\nJSON: {args.output}")
    return 0


def format_table(r: dict) -> str:
    single, batch, pre, load, stroke = r["single_image"], r["batch_10k"], r["preprocess"], r["load"], r["draw_stroke"]
    met = {key: "met" if ok else "NOT MET" for key, ok in r["targets_met"].items()}
    lines = [
        "",
        f"{'figure':<58} {'result':>28}  target",
        "-" * 100,
        f"{'1. one image end to end, project (ONNX) p50 / p99':<58} "
        f"{single['project']['p50_ms']:>12.3f} / {single['project']['p99_ms']:.3f} ms  <= 1 ms: {met['single_p50_ms']}",
        f"{'   naive (same preprocessing + Model.predict) p50 / p99':<58} "
        f"{single['naive_keras_predict']['p50_ms']:>12.1f} / {single['naive_keras_predict']['p99_ms']:.1f} ms",
        f"{'   speed-up at p50':<58} {single['speedup_p50']:>27.1f}x  >= 40x: {met['single_speedup']}",
        f"{'2. 10,000 test images, project (ONNX) images/s':<58} {batch['project_images_per_s']:>28,}",
        f"{'   Keras model.predict(batch_size=1024) images/s':<58} {batch['keras_predict_images_per_s']:>28,}",
        f"{'   speed-up':<58} {batch['speedup']:>27.2f}x  >= 2x: {met['batch_speedup']}",
        f"{'3. preprocessing, canvas 280x280 RGBA p50 / p99':<58} "
        f"{pre['canvas_280x280_rgba']['p50_ms']:>12.2f} / {pre['canvas_280x280_rgba']['p99_ms']:.2f} ms",
        f"{'   preprocessing, photo 1600x1200 JPEG p50 / p99':<58} "
        f"{pre['photo_1600x1200_jpeg']['p50_ms']:>12.2f} / {pre['photo_1600x1200_jpeg']['p99_ms']:.2f} ms",
        f"{'4. fresh process: load + first prediction, ONNX path':<58} "
        f"{load['onnx']['load_and_first_prediction_s']:>13.2f} s, {load['onnx']['peak_rss_mib']} MiB peak RSS",
        f"{'   fresh process: load + first prediction, Keras path':<58} "
        f"{load['keras']['load_and_first_prediction_s']:>13.2f} s, {load['keras']['peak_rss_mib']} MiB peak RSS",
    ]
    if r["training"]:
        t = r["training"]
        lines.append(f"{'5. training, default recipe, s/epoch on 10,000 images':<58} "
                     f"{t['steady_epoch_s']:>15.1f} s ({t['images_per_s']:,} img/s; "
                     f"full 55k epoch ~{t['full_epoch_estimate_s']:.0f} s)")
        for name, figures in (r.get("fine_tune") or {}).items():
            lines.append(f"{'   fine-tuning the ' + name + ', s/epoch on 10,000':<58} "
                         f"{figures['steady_epoch_s']:>15.1f} s (a Train-page epoch of ~105k images "
                         f"~{figures['full_epoch_estimate_s']:.0f} s)")
    else:
        lines.append(f"{'5. training':<58} {'skipped (--quick)':>28}")
    lines.append(f"{'6. Draw page, one stroke server-side p50 / p99':<58} "
                 f"{stroke['p50_ms']:>12.2f} / {stroke['p99_ms']:.2f} ms  <= 20 ms: {met['stroke_p50_ms']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
