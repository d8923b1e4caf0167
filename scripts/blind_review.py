"""A person's blind reading of digits the network reads one at a time, pen by pen: are its misreads legible?

    .venv/bin/python -m scripts.blind_review sheets [--per-pen 3000] [--seed 77] [--out artifacts/blind_review]
    .venv/bin/python -m scripts.blind_review score ANSWERS [--key artifacts/blind_review/key.json]

`sheets` writes MNIST test digits with each of the numbers' pens, at a number's size (`numbers.in_pen`), normalises
each one alone as a number's digit is (`preprocess.to_mnist_field`) and lets the committed network read it. Every
digit it misreads, and as many again that it reads right (at least MIN_RIGHT per pen), go shuffled together onto
numbered sheets of 40 tiles, dark ink on white as the digits were written -- with no label, reading or pen on them
-- and their key into key.json beside the sheets (not to be opened before answering).

The reader then writes one line per tile, "<tile> <digit>": "<tile> ?" for a tile they cannot read as any digit, and
a "?" after the digit for an unsure reading (it counts as that digit). `score` gives per pen how many of the
network's misreads the reader read as the true label (misreads of a legible digit: the network's own errors) and how
many they did not (digits the pen left unreadable as their label: what a test set written with it mislabels, which no
reader is to blame for), and as a check on the reader, how many of the digits the network read right they did not
read as their label. The review of 2026-12-05 (key and answers) is kept in scripts/reviews/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_app import config
from mnist_app.images import preprocess
from mnist_app.measure import numbers
from mnist_app.network import inference
from mnist_app.store import data

MIN_RIGHT = 20  # digits read right shown per pen, among its misreads, so the misreads cannot be told apart
TILES_PER_SHEET, COLUMNS, TILE = 40, 10, 124
OUT = config.PROJECT_ROOT / "artifacts" / "blind_review"


def _field(ink: np.ndarray) -> np.ndarray:
    """The written digit normalised alone, as a number's digit is: the 28x28 field the network reads."""
    ink = np.pad(ink, 4)
    return preprocess.to_mnist_field((np.clip(ink, 0, 1) * 255).astype(np.uint8), ink > preprocess.MASK_LEVEL)


def _written(x_test: np.ndarray, item: dict) -> np.ndarray:
    return numbers.in_pen(x_test[item["index"]].astype(np.float32) / 255.0, item["height"], item["pen"],
                          item["slant"])


def choose(x_test: np.ndarray, y_test: np.ndarray, predictor, per_pen: int, seed: int) -> list[dict]:
    """Per pen, `per_pen` test digits written with it and read by the network: its misreads, and as many digits it
    read right (MIN_RIGHT at least), shuffled together and numbered as tiles."""
    rng = np.random.default_rng(seed)
    chosen = []
    for pen in numbers.PENS:
        indices = rng.choice(len(x_test), per_pen, replace=False)
        heights = rng.integers(56, 110, per_pen)
        slants = rng.uniform(10, 25, per_pen) * rng.choice([-1, 1], per_pen)
        items = [{"pen": pen, "index": int(i), "height": int(h), "slant": round(float(s), 3), "label": int(y_test[i])}
                 for i, h, s in zip(indices, heights, slants)]
        fields = np.stack([_field(_written(x_test, item)) for item in items])[..., None]
        reads = np.concatenate([predictor.predict_batch(fields[start: start + 500]).argmax(axis=1)
                                for start in range(0, len(fields), 500)])
        for item, read in zip(items, reads):
            item["read"] = int(read)
        wrong = [item for item in items if item["read"] != item["label"]]
        right = [item for item in items if item["read"] == item["label"]]
        picked = rng.choice(len(right), min(len(right), max(MIN_RIGHT, len(wrong))), replace=False)
        chosen += [dict(item, written=per_pen) for item in wrong + [right[k] for k in picked]]
    order = rng.permutation(len(chosen))
    return [dict(chosen[k], tile=tile) for tile, k in enumerate(order)]


def draw_sheets(x_test: np.ndarray, items: list[dict], out: Path) -> list[Path]:
    """The tiles, TILES_PER_SHEET to a PNG sheet: each digit as written (dark on white), its tile number above it."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for first in range(0, len(items), TILES_PER_SHEET):
        page = items[first: first + TILES_PER_SHEET]
        rows = -(-len(page) // COLUMNS)
        sheet = Image.new("L", (COLUMNS * TILE, rows * TILE), 255)
        pen = ImageDraw.Draw(sheet)
        for place, item in enumerate(page):
            left, top = (place % COLUMNS) * TILE, (place // COLUMNS) * TILE
            ink = _written(x_test, item)
            tile = Image.fromarray((255 - np.clip(ink, 0, 1) * 255).astype(np.uint8))
            tile.thumbnail((TILE - 16, TILE - 16))
            sheet.paste(tile, (left + 8, top + 14))
            pen.text((left + 2, top + 1), str(item["tile"]), fill=0)
            pen.rectangle([left, top, left + TILE - 1, top + TILE - 1], outline=180)
        paths.append(out / f"sheet{first // TILES_PER_SHEET:02d}.png")
        sheet.save(paths[-1])
    return paths


def key_text(items: list[dict]) -> str:
    """The key as JSON, one tile to a line (so that a review's key reads, and diffs, line by line)."""
    return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"


def parse_answers(text: str) -> dict[int, int | None]:
    """{tile: the digit the reader read, None where they read none}, from "<tile> <digit>[?]" or "<tile> ?" lines
    (anything after a "#" is a comment)."""
    answers: dict[int, int | None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#")[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[0].isdigit():
            raise ValueError(f"line {number}: {line!r} is not '<tile> <digit>' or '<tile> ?'")
        reading = fields[1].rstrip("?")
        if reading not in {"", *"0123456789"}:
            raise ValueError(f"line {number}: {fields[1]!r} is not a digit, a digit and '?', or '?'")
        answers[int(fields[0])] = int(reading) if reading else None
    return answers


def score(items: list[dict], answers: dict[int, int | None]) -> dict[str, dict]:
    """Per pen: digits written; the network's misreads, how many of them the reader read as the label (the network's
    own errors) and how many not (digits the pen left unreadable as their label, at least to this reader); the
    digits shown that the network read right and how many of them the reader did not read as the label (how far the
    reader can be trusted); and the first two counts as shares of the digits written."""
    missing = sorted({item["tile"] for item in items} - set(answers))
    if missing:
        raise ValueError(f"no answer for tiles {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    figures = {}
    for pen in numbers.PENS:
        mine = [item for item in items if item["pen"] == pen]
        if not mine:
            continue
        written = mine[0]["written"]
        wrong = [item for item in mine if item["read"] != item["label"]]
        right = [item for item in mine if item["read"] == item["label"]]
        legible = sum(answers[item["tile"]] == item["label"] for item in wrong)
        figures[pen] = {
            "written": written, "misread": len(wrong), "misread_legible": legible,
            "misread_illegible": len(wrong) - legible, "right_shown": len(right),
            "right_illegible": sum(answers[item["tile"]] != item["label"] for item in right),
            "error_on_legible": legible / written, "error_on_illegible": (len(wrong) - legible) / written}
    return figures


def format_figures(figures: dict[str, dict]) -> str:
    lines = ["the network's misreads of digits written with each pen, and whether a person reads them as their label",
             f"{'pen':<8} {'written':>7} {'misread':>15} {'legible':>16} {'not legible':>16} "
             f"{'right, not legible':>19}"]
    for pen, f in figures.items():
        lines.append(f"{pen:<8} {f['written']:>7,} {f['misread']:>6} ({f['misread'] / f['written']:5.2%}) "
                     f"{f['misread_legible']:>6} ({f['error_on_legible']:5.2%}) "
                     f"{f['misread_illegible']:>6} ({f['error_on_illegible']:5.2%}) "
                     f"{f['right_illegible']:>12} of {f['right_shown']:<4}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sheets = commands.add_parser("sheets", help="write the sheets to read and their key")
    sheets.add_argument("--per-pen", type=int, default=3000, help="digits written with each pen")
    sheets.add_argument("--seed", type=int, default=77)
    sheets.add_argument("--out", type=Path, default=OUT)
    scoring = commands.add_parser("score", help="score a reader's answers against the key")
    scoring.add_argument("answers", type=Path)
    scoring.add_argument("--key", type=Path, default=OUT / "key.json")
    args = parser.parse_args(argv)
    if args.command == "sheets":
        test = data.load_test_set()
        items = choose(test.x_test, test.y_test, inference.Predictor(backend="onnx"), args.per_pen, args.seed)
        paths = draw_sheets(test.x_test, items, args.out)
        (args.out / "key.json").write_text(key_text(items))
        print(f"{len(items)} tiles on {len(paths)} sheets in {args.out}; write '<tile> <digit>' or '<tile> ?' per "
              f"tile, then: python -m scripts.blind_review score ANSWERS --key {args.out / 'key.json'}")
    else:
        items = json.loads(args.key.read_text())
        print(format_figures(score(items, parse_answers(args.answers.read_text()))))


if __name__ == "__main__":
    main()
