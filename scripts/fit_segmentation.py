"""The weights of whole-number segmentation, fitted on written numbers: what `segment.WEIGHTS` holds.

    .venv/bin/python -m scripts.fit_segmentation            (about 4 minutes on 2 cores)

A reading of a number is a run of candidate digits; its score is the sum of each candidate's features
(`segment.FEATURES`: the network's log-probability, its margin over the runner-up, the shape prior, what the cuts
cost, how tall the candidate is against the number's digits, how far off the number's middle line...) weighted by
`segment.WEIGHTS`, plus `segment.SKIP_SCORE` for each fragment it leaves out. This fits the weights and that score
on the written numbers of `numbers.FIT_SEEDS` (100 per face and spacing for each seed) with an averaged structured
perceptron (`numbers.fit_weights`), starting from the values in the code, and prints them with the share of
numbers read exactly before and after, on the fitted numbers and on the held-out seed. Paste the printed lines
into `segment` to use them.
"""

from __future__ import annotations

import numpy as np

from mnist_app.images import segment
from mnist_app.measure import numbers
from mnist_app.network import inference
from mnist_app.store import data

PER_KIND = 100


def main() -> int:
    test = data.load_test_set()
    predictor = inference.Predictor(backend="onnx")

    def read(seeds):
        cases = [case for seed in seeds for case in numbers.build(test.x_test, test.y_test, PER_KIND, seed)]
        return numbers.read_candidates(cases, predictor)

    fitted, held_out = read(numbers.FIT_SEEDS), read([numbers.HELD_OUT_SEED])
    start, start_skip = segment.WEIGHTS, segment.SKIP_SCORE
    weights, skip = numbers.fit_weights(fitted, start, start_skip)
    for name, items in (("fitted on", fitted), ("held out", held_out)):
        before, after = numbers.exact_share(items, start, start_skip), numbers.exact_share(items, weights, skip)
        print(f"{name:<9} " + "  ".join(f"{spacing} {before[spacing]:.1%} -> {after[spacing]:.1%}"
                                       for spacing in numbers.SPACINGS))
    width = max(len(name) for name in segment.FEATURES)
    for name, old, new in zip((*segment.FEATURES, "SKIP_SCORE"), (*start, start_skip), (*weights, skip)):
        print(f"  {name:<{width}}  {old:+.3f} -> {new:+.3f}")
    print("WEIGHTS = np.array([" + ", ".join(f"{value:.3f}" for value in np.round(weights, 3)) + "])")
    print(f"SKIP_SCORE = {skip:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
