"""A person's blind reading of what the network reads, pen by pen: are its misreads legible at all?

    .venv/bin/python -m scripts.blind_review sheets [--per-pen 3000] [--seed 77] [--out artifacts/blind_review]
    .venv/bin/python -m scripts.blind_review number-sheets [--seed 28 29 30 31] [--spacing apart] [--out DIR]
    .venv/bin/python -m scripts.blind_review score ANSWERS [--key artifacts/blind_review/key.json]

`sheets` writes MNIST test digits with each of the numbers' pens, at a number's size (`numbers.in_pen`), normalises
each one alone as a number's digit is (`numbers.alone_field`) and lets the committed network read it.
`number-sheets` takes the written numbers of `mnist_app.measure.numbers` (seeds 28-31, nothing was tuned on them)
and reads each as the app does (`reading.read(number=True)`). Everything read wrong, and as many again read right
(at least MIN_RIGHT per pen), go shuffled together onto numbered sheets -- digits dark on white as written, numbers
as the app was given them -- with no label, reading or pen on them, and their key into key.json beside the sheets
(not to be opened before answering).

The reader then writes one line per tile: "<tile> <digit>" ("<tile> ?" for a digit they cannot read as any, a "?"
after the digit for an unsure reading, which counts as that digit), or "<tile> <number>" with a "?" for each digit
of it they cannot read. `score` gives per pen how many of the misreads the reader read as the true label (the
network's own errors) and how many they did not (what the pen left unreadable as its label: what a test set written
with it mislabels, which no reader is to blame for), how many of those read right they did not read right (how far
the reader can be trusted), and from these the share of everything written the reader would read right, and the
network's share on what the reader reads right. The reviews of 2026-12-05 (keys and answers) are in scripts/reviews/.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_app import config
from mnist_app.images import reading
from mnist_app.measure import numbers
from mnist_app.network import inference
from mnist_app.store import data

MIN_RIGHT = 20  # digits (numbers) read right shown per pen, among its misreads, so the misreads cannot be told apart
TILES_PER_SHEET, COLUMNS, TILE = 40, 10, 124
NUMBERS_PER_SHEET, NUMBER_COLUMNS, NUMBER_TILE = 12, 2, (620, 180)
OUT = config.PROJECT_ROOT / "artifacts" / "blind_review"


def _written(x_test: np.ndarray, item: dict) -> np.ndarray:
    return numbers.in_pen(x_test[item["index"]].astype(np.float32) / 255.0, item["height"], item["pen"],
                          item["slant"])


def _drawn(rng, y_test: np.ndarray, pen: str, count: int) -> list[dict]:
    """`count` different test digits to write with `pen`, each at a number's height and slant."""
    indices = rng.choice(len(y_test), count, replace=False)
    heights = rng.integers(56, 110, count)
    slants = rng.uniform(10, 25, count) * rng.choice([-1, 1], count)
    return [{"pen": pen, "index": int(i), "height": int(h), "slant": round(float(s), 3), "label": int(y_test[i])}
            for i, h, s in zip(indices, heights, slants)]


def _with_right_ones(rng, items: list[dict], written: int) -> list[dict]:
    """Every item read wrong, and as many read right (MIN_RIGHT at least), each noting how many were `written`."""
    wrong = [item for item in items if item["read"] != item["label"]]
    right = [item for item in items if item["read"] == item["label"]]
    picked = rng.choice(len(right), min(len(right), max(MIN_RIGHT, len(wrong))), replace=False)
    return [dict(item, written=written) for item in wrong + [right[k] for k in picked]]


def _as_tiles(rng, chosen: list[dict]) -> list[dict]:
    order = rng.permutation(len(chosen))
    return [dict(chosen[k], tile=tile) for tile, k in enumerate(order)]


def choose(x_test: np.ndarray, y_test: np.ndarray, predictor, per_pen: int, seed: int) -> list[dict]:
    """Per pen, `per_pen` test digits written with it and read by the network: its misreads, and as many digits it
    read right (MIN_RIGHT at least), shuffled together and numbered as tiles."""
    rng = np.random.default_rng(seed)
    chosen = []
    for pen in numbers.PENS:
        items = _drawn(rng, y_test, pen, per_pen)
        fields = np.stack([numbers.alone_field(_written(x_test, item)) for item in items])[..., None]
        reads = np.concatenate([predictor.predict_batch(fields[start: start + 500]).argmax(axis=1)
                                for start in range(0, len(fields), 500)])
        for item, read in zip(items, reads):
            item["read"] = int(read)
        chosen += _with_right_ones(rng, items, per_pen)
    return _as_tiles(rng, chosen)


def _cases(x_test: np.ndarray, y_test: np.ndarray, seeds, per_kind: int = 100) -> dict[int, list[numbers.Case]]:
    return {seed: numbers.build(x_test, y_test, per_kind=per_kind, seed=seed) for seed in seeds}


def choose_numbers(x_test: np.ndarray, y_test: np.ndarray, predictor, seeds=numbers.FRESH_SEEDS, spacing: str = "apart",
                   per_kind: int = 100, choice_seed: int = 77) -> list[dict]:
    """The written numbers of `seeds` with `spacing` (`numbers.build(per_kind=...)`), read as the app reads them:
    per pen, every number read wrong and as many read right (MIN_RIGHT at least), shuffled and numbered as tiles."""
    items = []
    for seed, cases in _cases(x_test, y_test, seeds, per_kind).items():
        for position, case in enumerate(cases):
            if case.spacing == spacing:
                read = reading.read(case.payload, number=True, predictor=predictor).number or ""
                items.append({"seed": seed, "position": position, "pen": case.pen, "face": case.face,
                              "label": case.number, "read": read})
    rng = np.random.default_rng(choice_seed)
    chosen = []
    for pen in numbers.PENS:
        mine = [item for item in items if item["pen"] == pen]
        chosen += _with_right_ones(rng, mine, len(mine))
    return _as_tiles(rng, chosen)


def _draw(pictures: list[tuple[int, Image.Image]], out: Path, name: str, per_sheet: int, columns: int,
          size: tuple[int, int]) -> list[Path]:
    """(tile, picture) pairs, `per_sheet` to a PNG sheet `columns` wide, each picture in a `size` box with its tile
    number above it; the paths of the sheets."""
    out.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for first in range(0, len(pictures), per_sheet):
        page = pictures[first: first + per_sheet]
        mode = page[0][1].mode
        sheet = Image.new(mode, (columns * width, -(-len(page) // columns) * height), "white")
        pen = ImageDraw.Draw(sheet)
        for place, (tile, picture) in enumerate(page):
            left, top = (place % columns) * width, (place // columns) * height
            picture.thumbnail((width - 16, height - 20))
            sheet.paste(picture, (left + 8, top + 14))
            pen.text((left + 2, top + 1), str(tile), fill="black")
            pen.rectangle([left, top, left + width - 1, top + height - 1], outline="darkgrey")
        paths.append(out / f"{name}{first // per_sheet:02d}.png")
        sheet.save(paths[-1])
    return paths


def draw_sheets(x_test: np.ndarray, items: list[dict], out: Path) -> list[Path]:
    """The tiles, TILES_PER_SHEET to a PNG sheet: each digit as written (dark on white), its tile number above it."""
    pictures = [(item["tile"], Image.fromarray((255 - np.clip(_written(x_test, item), 0, 1) * 255).astype(np.uint8)))
                for item in items]
    return _draw(pictures, out, "sheet", TILES_PER_SHEET, COLUMNS, (TILE, TILE))


def draw_number_sheets(x_test: np.ndarray, y_test: np.ndarray, items: list[dict], out: Path,
                       per_kind: int = 100) -> list[Path]:
    """The numbers' tiles, NUMBERS_PER_SHEET to a PNG sheet: each picture as the app was given it, its tile number
    above it."""
    cases = _cases(x_test, y_test, sorted({item["seed"] for item in items}), per_kind)
    pictures = [(item["tile"], Image.open(io.BytesIO(cases[item["seed"]][item["position"]].payload)).convert("RGB"))
                for item in items]
    return _draw(pictures, out, "numbers", NUMBERS_PER_SHEET, NUMBER_COLUMNS, NUMBER_TILE)


def key_text(items: list[dict]) -> str:
    """The key as JSON, one tile to a line (so that a review's key reads, and diffs, line by line)."""
    return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"


def parse_answers(text: str) -> dict[int, str]:
    """{tile: what the reader read}, from "<tile> <digit>", "<tile> <digit>?" (unsure: the digit counts),
    "<tile> ?" (no digit read: kept as "?") or "<tile> <number>" lines, a number's unreadable digits written "?"
    (anything after a "#" is a comment)."""
    answers: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#")[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[0].isdigit():
            raise ValueError(f"line {number}: {line!r} is not '<tile> <what was read>'")
        read = fields[1]
        if len(read) == 2 and read[0].isdigit() and read[1] == "?":
            read = read[0]  # an unsure digit
        if not all(character in "0123456789?" for character in read):
            raise ValueError(f"line {number}: {fields[1]!r} is not digits and '?'")
        answers[int(fields[0])] = read
    return answers


def score(items: list[dict], answers: dict[int, str]) -> dict[str, dict]:
    """Per pen and over all pens ("all"): how many were written; how many the network misread, how many of those the
    reader read as the label (the network's own errors) and how many not (what the pen left unreadable as its
    label, at least to this reader); how many of those the network read right were shown and how many of them the
    reader did not read right (how far the reader can be trusted); the first counts as shares of what was written;
    and from them `person`, the share of everything written the reader would read right (the right reads' share
    estimated from those shown), and `network_on_readable`, the network's share on what the reader reads right."""
    missing = sorted({item["tile"] for item in items} - set(answers))
    if missing:
        raise ValueError(f"no answer for tiles {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    figures, counts = {}, []
    for pen in numbers.PENS:
        mine = [item for item in items if item["pen"] == pen]
        if not mine:
            continue
        wrong = [item for item in mine if item["read"] != item["label"]]
        right = [item for item in mine if item["read"] == item["label"]]
        legible = sum(answers[item["tile"]] == str(item["label"]) for item in wrong)
        right_missed = sum(answers[item["tile"]] != str(item["label"]) for item in right)
        written = mine[0]["written"]
        both = (written - len(wrong)) * (1 - right_missed / max(len(right), 1))  # read right by network and person
        counts.append((written, len(wrong), legible, len(right), right_missed, both))
        figures[pen] = _figures(*counts[-1])
    if figures:
        figures["all"] = _figures(*(sum(column) for column in zip(*counts)))
    return figures


def _figures(written: int, misread: int, legible: int, right_shown: int, right_missed: int, both: float) -> dict:
    """`score`'s figures from its counts (`both`: of those written, how many network and person would read right)."""
    return {"written": written, "misread": misread, "misread_legible": legible, "misread_illegible": misread - legible,
            "right_shown": right_shown, "right_illegible": right_missed, "error_on_legible": legible / written,
            "error_on_illegible": (misread - legible) / written, "person": (both + legible) / written,
            "network_on_readable": both / max(both + legible, 1e-9)}


def format_figures(figures: dict[str, dict]) -> str:
    lines = ["what the network misread with each pen, and whether a person reads it as its label",
             f"{'pen':<8} {'written':>7} {'misread':>15} {'legible':>16} {'not legible':>16} "
             f"{'right, not legible':>19} {'person':>7} {'network on legible':>19}"]
    for pen, f in figures.items():
        lines.append(f"{pen:<8} {f['written']:>7,} {f['misread']:>6} ({f['misread'] / f['written']:5.2%}) "
                     f"{f['misread_legible']:>6} ({f['error_on_legible']:5.2%}) "
                     f"{f['misread_illegible']:>6} ({f['error_on_illegible']:5.2%}) "
                     f"{f['right_illegible']:>12} of {f['right_shown']:<4} {f['person']:>7.2%} "
                     f"{f['network_on_readable']:>19.2%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sheets = commands.add_parser("sheets", help="single digits: write the sheets to read and their key")
    sheets.add_argument("--per-pen", type=int, default=3000, help="digits written with each pen")
    sheets.add_argument("--seed", type=int, default=77)
    sheets.add_argument("--out", type=Path, default=OUT)
    number_sheets = commands.add_parser("number-sheets", help="written numbers: the sheets to read and their key")
    number_sheets.add_argument("--seed", type=int, nargs="+", default=list(numbers.FRESH_SEEDS))
    number_sheets.add_argument("--spacing", choices=numbers.SPACINGS, default="apart")
    number_sheets.add_argument("--out", type=Path, default=OUT.with_name("blind_review_numbers"))
    scoring = commands.add_parser("score", help="score a reader's answers against the key")
    scoring.add_argument("answers", type=Path)
    scoring.add_argument("--key", type=Path, default=OUT / "key.json")
    args = parser.parse_args(argv)
    if args.command == "score":
        items = json.loads(args.key.read_text())
        print(format_figures(score(items, parse_answers(args.answers.read_text()))))
        return
    test = data.load_test_set()
    predictor = inference.Predictor(backend="onnx")
    if args.command == "sheets":
        items = choose(test.x_test, test.y_test, predictor, args.per_pen, args.seed)
        paths = draw_sheets(test.x_test, items, args.out)
    else:
        items = choose_numbers(test.x_test, test.y_test, predictor, args.seed, args.spacing)
        paths = draw_number_sheets(test.x_test, test.y_test, items, args.out)
    (args.out / "key.json").write_text(key_text(items))
    print(f"{len(items)} tiles on {len(paths)} sheets in {args.out}; write '<tile> <what you read>' per tile "
          f"('?' for a digit you cannot read), then: python -m scripts.blind_review score ANSWERS "
          f"--key {args.out / 'key.json'}")


if __name__ == "__main__":
    main()
