"""Whole numbers as people write them: time per 5-digit number on one core, and how many are read exactly.

    .venv/bin/python -m scripts.bench_numbers [--per-kind 100]      (also run by `make bench`)

The process pins itself to one CPU before ONNX Runtime starts (whose sessions then keep to it), so the time is what
one core spends on a number, end to end: the encoded picture decoded, its ink and ruled lines found, the candidate
digits cut and normalised, weighed by the whole-digit network, those that may matter read by the classifier (in two
batches) and the most probable reading chosen (`reading.read(number=True)`). The numbers are
`mnist_app.measure.numbers`'s, on seed 2026 (the segmentation was tuned and its weights fitted on seeds
23-27). Target: <= 30 ms per number.
"""

from __future__ import annotations

import os

os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, before any thread pool starts

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from mnist_app import config  # noqa: E402
from mnist_app.images import reading  # noqa: E402
from mnist_app.measure import numbers  # noqa: E402
from mnist_app.network import inference  # noqa: E402
from mnist_app.store import data  # noqa: E402

SEED = 2026
TARGET_MS = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=100, help="numbers per face and spacing (default 100)")
    args = parser.parse_args()
    test = data.load_test_set()
    predictor = inference.Predictor(backend="onnx")
    five = numbers.build(test.x_test, test.y_test, per_kind=max(10, args.per_kind // 4), seed=SEED, digits=5)
    for case in five[:20]:  # warm-up
        reading.read(case.payload, number=True, predictor=predictor)
    seconds = []
    for case in five:
        started = time.perf_counter()
        reading.read(case.payload, number=True, predictor=predictor)
        seconds.append(time.perf_counter() - started)
    ms = np.array(seconds) * 1000
    figures = numbers.measure(numbers.build(test.x_test, test.y_test, per_kind=args.per_kind, seed=SEED), predictor)
    result = {"cpus_used": len(os.sched_getaffinity(0)), "five_digit_numbers": len(five),
              "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
              "target_ms": TARGET_MS, "exact": {f"{face}/{spacing}": round(share, 4)
                                                for (face, spacing), share in figures.items()}}
    output = config.PROJECT_ROOT / "artifacts" / "bench_numbers.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1) + "\n")
    met = "met" if result["p50_ms"] <= TARGET_MS else "NOT MET"
    print(f"\nA 5-digit written number on one core, end to end: p50 {result['p50_ms']:.1f} ms, p99 "
          f"{result['p99_ms']:.1f} ms ({len(five)} numbers)  <= {TARGET_MS:.0f} ms: {met}")
    print(f"\nNumbers read exactly ({args.per_kind} per face and spacing, seed {SEED}):")
    print(numbers.format_table(figures))
    print(f"\nJSON: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
