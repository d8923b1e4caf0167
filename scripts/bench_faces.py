"""Figures measured where a person meets the project: the command line as a fresh process, and the
dashboard's pages from a freshly started server in Chromium.

    .venv/bin/python -m scripts.bench_faces          # from the project folder, or as part of `make bench`
                                                     # (as a module: it drives the browser with tests/support)

1. CLI cold start: `python -m mnist_app predict one.png` in a new process -- wall time and peak RSS
   (targets: <= 0.6 s, <= 150 MiB).
2. CLI batch: marginal cost per image of `predict --json` over 1,500 280x280 PNGs, measured as the
   difference between a 1,500-file and a 20-file call (target: <= 0.5 ms per image).
3. Pages: seconds from navigation to each page's content after a server start -- the first visit and
   a warm visit by address, and moving there from the sidebar (target: <= 2 s); and, for information,
   a full load in a browser with nothing cached. "Content" is the page's own main element drawn, the
   script finished, no spinner.
4. Draw, first visitor after a server start: seconds from pen-up to the answer on screen (target <= 1 s).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from mnist_app import config
from mnist_app.store import data
from tests.support import server
from tests.support.canvas import DIGIT_STROKES, draw

TARGETS = {"cli_one_image_s": 0.6, "cli_one_image_mib": 150, "cli_marginal_ms": 0.5, "page_content_s": 2.0,
           "first_draw_answer_s": 1.0}
# The element that shows each page's content has been drawn.
PAGE_CONTENT = {
    "": "[data-testid='stMetricValue']",
    "Draw": "canvas.upper-canvas",
    "Upload": "[data-testid='stFileUploaderDropzone']",
    "Camera": "[data-testid='stCameraInput']",
    "From_URL": "[data-testid='stTextInput']",
    "Random_samples": ".digit-grid img",
    "Model": "[data-testid='stDataFrame']",
    "Training_history": "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
    "Evaluation": "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
}


def _write_pngs(folder: Path, count: int) -> list[Path]:
    """MNIST test digits enlarged to 280x280 grey PNGs (what a scanner or a canvas export gives)."""
    test = data.load_test_set()
    paths = []
    for index in range(count):
        path = folder / f"{index:04d}.png"
        Image.fromarray(test.x_test[index]).resize((280, 280), Image.Resampling.BICUBIC).save(path)
        paths.append(path)
    return paths


def _peak_rss_mib(command: list[str]) -> float | None:
    """Peak RSS of a command, from GNU time (its own tiny footprint is what the child inherits)."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu_time is None:
        return None
    result = subprocess.run([gnu_time, "-f", "%M", *command], capture_output=True, text=True, cwd=config.PROJECT_ROOT)
    return round(int(result.stderr.strip().splitlines()[-1]) / 1024, 1)


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, cwd=config.PROJECT_ROOT, check=False)
    return time.perf_counter() - started


def bench_cli(repeats: int = 5) -> dict:
    """CLI cold start for one image, and the marginal cost per image over 1,500 files."""
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        paths = _write_pngs(Path(folder), 1500)
        one = [sys.executable, "-m", "mnist_app", "predict", str(paths[0])]
        _wall(one)  # the first run after writing files also pays for the page cache
        walls = [_wall(one) for _ in range(repeats)]
        rss = _peak_rss_mib(one)
        many = {count: [sys.executable, "-m", "mnist_app", "predict", "--json", *map(str, paths[:count])]
                for count in (20, 1500)}
        batch = {count: statistics.median(_wall(command) for _ in range(3)) for count, command in many.items()}
        sequential = [sys.executable, "-m", "mnist_app", "predict", "--json", "--workers", "1", *map(str, paths)]
        one_core = statistics.median(_wall(sequential) for _ in range(2))
    marginal = (batch[1500] - batch[20]) / 1480 * 1000
    return {"one_image_s": round(statistics.median(walls), 3), "one_image_max_s": round(max(walls), 3),
            "one_image_peak_rss_mib": rss, "files_20_s": round(batch[20], 3), "files_1500_s": round(batch[1500], 3),
            "marginal_ms_per_image": round(marginal, 3),
            "marginal_ms_per_image_one_worker": round((one_core - batch[20]) / 1480 * 1000, 3)}


def _content_ready(page, path: str, timeout_ms: int = 60_000) -> None:
    page.locator(PAGE_CONTENT[path]).first.wait_for(state="visible", timeout=timeout_ms)
    page.get_by_role("heading").filter(has_text=server.PAGES[path]).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stSpinner\"]').length === 0",
                           timeout=timeout_ms)


def bench_pages() -> dict:
    """Seconds from navigation to each page's content, on a freshly started server.

    first_visit_s: the first visit of each page after the server started, typed into the address bar of
    a browser that has opened the app once (its scripts cached); warm_visit_s: the same again;
    sidebar_s: moving there from the sidebar; new_browser_s: a full load in a browser with nothing cached
    (this includes Streamlit's own start-up in the browser, ~1.5 s here for a page with only a title).
    """
    results: dict = {name or "Home": {} for name in server.PAGES}
    with server.streamlit_server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        for visit in ("first_visit_s", "warm_visit_s"):
            for path in server.PAGES:
                started = time.perf_counter()
                page.goto(f"{base}/{path}", wait_until="commit")
                _content_ready(page, path)
                results[path or "Home"][visit] = round(time.perf_counter() - started, 2)
        for path in [*list(server.PAGES)[1:], ""]:  # the sidebar, as a visitor moves around
            link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=path.replace("_", " ") or "Home")
            started = time.perf_counter()
            link.first.click()
            _content_ready(page, path)
            results[path or "Home"]["sidebar_s"] = round(time.perf_counter() - started, 2)
        context.close()
        for path in server.PAGES:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{base}/{path}", wait_until="commit")
            _content_ready(page, path)
            results[path or "Home"]["new_browser_s"] = round(time.perf_counter() - started, 2)
            context.close()
        browser.close()
    return results


def bench_first_draw() -> dict:
    """Pen-up to the answer on screen for the first visitor of a fresh server, then for later strokes."""
    figures = []
    with server.streamlit_server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/Draw")
        _content_ready(page, "Draw")
        for attempt in range(4):
            draw(page, DIGIT_STROKES["1"][:1])  # returns 250 ms after pen-up (the stroke's own settle time)
            started = time.perf_counter() - 0.25
            page.wait_for_function("() => { const v = document.querySelector(\"[data-testid='stMetricValue']\");"
                                   " return v && v.innerText.trim() === '1'; }", timeout=30_000)
            figures.append(round(time.perf_counter() - started, 2))
            server.wait_idle(page)
            page.get_by_role("button", name="Clear").click()
            page.locator("[data-testid='stMetricValue']").first.wait_for(state="detached", timeout=20_000)
            server.wait_idle(page)
        browser.close()
    return {"first_answer_s": figures[0], "later_answers_s": figures[1:]}


def measure() -> dict:
    results = {"cli": bench_cli(), "pages": bench_pages(), "draw": bench_first_draw()}
    slowest = max(row[key] for row in results["pages"].values()
                  for key in ("first_visit_s", "warm_visit_s", "sidebar_s"))
    results["targets"] = TARGETS
    results["targets_met"] = {
        "cli_one_image_s": results["cli"]["one_image_s"] <= TARGETS["cli_one_image_s"],
        "cli_one_image_mib": (results["cli"]["one_image_peak_rss_mib"] or 0) <= TARGETS["cli_one_image_mib"],
        "cli_marginal_ms": results["cli"]["marginal_ms_per_image"] <= TARGETS["cli_marginal_ms"],
        "page_content_s": slowest <= TARGETS["page_content_s"],
        "first_draw_answer_s": results["draw"]["first_answer_s"] <= TARGETS["first_draw_answer_s"],
    }
    return results


def format_table(results: dict) -> str:
    cli, pages, draw_ = results["cli"], results["pages"], results["draw"]
    met = {key: "met" if ok else "NOT MET" for key, ok in results["targets_met"].items()}
    lines = [
        "",
        f"{'face':<58} {'measured':>22}  target",
        "-" * 100,
        f"{'7. CLI `predict one.png`, fresh process: wall (median of 5)':<58} {cli['one_image_s']:>20.2f} s  "
        f"<= 0.6 s: {met['cli_one_image_s']}",
        f"{'   peak RSS':<58} {cli['one_image_peak_rss_mib']!s:>18} MiB  <= 150 MiB: {met['cli_one_image_mib']}",
        f"{'8. CLI `predict --json`, marginal cost per 280x280 PNG':<58} {cli['marginal_ms_per_image']:>19.3f} ms  "
        f"<= 0.5 ms: {met['cli_marginal_ms']}",
        f"{'   the same with --workers 1 (no worker processes)':<58} "
        f"{cli['marginal_ms_per_image_one_worker']:>19.3f} ms",
        f"{'   (20 files / 1,500 files, wall)':<58} {cli['files_20_s']:>9.2f} s / {cli['files_1500_s']:.2f} s",
        "9. page content after a server start (s): first visit / warm visit / from the sidebar  <= 2 s: "
        + met["page_content_s"] + "   [new browser]",
    ]
    for name, row in pages.items():
        lines.append(f"   {name:<55} {row['first_visit_s']:>6.2f} / {row['warm_visit_s']:.2f} / "
                     f"{row['sidebar_s']:.2f}   [{row['new_browser_s']:.2f}]")
    lines.append(f"{'10. Draw: pen-up to answer, first visitor of a fresh server':<58} "
                 f"{draw_['first_answer_s']:>20.2f} s  <= 1 s: {met['first_draw_answer_s']}")
    lines.append(f"{'    later strokes':<58} {', '.join(f'{v:.2f}' for v in draw_['later_answers_s']):>22} s")
    return "\n".join(lines)


def main() -> int:
    results = measure()
    output = config.PROJECT_ROOT / "artifacts" / "bench_faces.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    print(format_table(results))
    print(f"\nJSON: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
