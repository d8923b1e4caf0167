"""What one replica carries: drawing sessions at once against the cluster, and their answers' latency.

    .venv/bin/python -m scripts.bench_capacity                  # part of `make bench`
    .venv/bin/python -m scripts.bench_capacity --replicas 1 --sessions 1,2,4,8 --seconds 20 --client browser

For one replica and then two, `python -m mnist_app cluster`'s own launcher (HAProxy, the replicas, a trainer and
PostgreSQL, all on 127.0.0.1) is started fresh. Each drawing session draws a 1, waits for its answer, clears,
draws a 7, waits, clears, ... for `--seconds`, after one unmeasured round that warms it up. Two kinds of load:

- `protocol` (the default): what a browser sends, without a browser. A real Chromium draws one such round on the
  Draw page first while every websocket frame it sends is recorded (the page load, each drawing, each Clear and
  the canvas' blank state after it, with their widget ids: Streamlit derives them from the widgets' keys, so
  they hold for every session). Then each session is an asyncio client in a process of its own (the load
  generator): it loads the page over HTTP through the balancer (the workspace and affinity cookies), opens
  Streamlit's websocket (`/_stcore/stream`), sends those recorded BackMsgs, reads the ForwardMsgs until each
  script run finishes, fetches the pictures a run refers to (`/media/...`) as the browser does, and checks that
  the digit answered is the one drawn. A session "draws" for 1 s before each digit and pauses 0.5 s after each
  Clear: a digit about every 2 s of a person's time, a fast drawer. The browser's own work (layout, charts) is
  not done, so the servers are measured rather than the browsers; the replicas' CPU per answer is the same as
  under real browsers (the table shows both).
- `browser`: one Chromium, one browser context per session, driven at once by Playwright's async API (a
  browser context costs ~0.5 of a core here, so past a few sessions the browsers fill the machine).

Per number of sessions: latency from the drawing's last message (the mouse-up) to the right digit arriving,
p50 and p95 (a drawing not answered in 15 s counts as 15 s); answers per second; the replicas' CPU (every
thread, /proc/PID/stat) per answered drawing (each drawing is three script runs: the stroke, the Clear and the
canvas' blank state) and in all; the load generator's CPU, counted apart; how busy the whole machine was.

Headline: the most sessions at once whose p95 stays <= 1 s with every answer right, per replica count.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright

from mnist_app import config
from mnist_app.serving import cluster
from tests.support import server
from tests.support.canvas import DIGIT_STROKES

ANSWER_TIMEOUT_S = 15
DRAWING_S, AFTER_CLEAR_S = 1.0, 0.5  # a protocol session's own time: drawing a digit, and after each Clear
TARGET_P95_S = 1.0
METRIC = "[data-testid='stMetricValue']"


def _descendants(pid: int) -> list[int]:
    children, found = {}, []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += server.cpu_seconds(pid)
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def _settled_box(page) -> dict:
    canvas = page.locator("canvas.upper-canvas")
    await canvas.wait_for(state="visible", timeout=60_000)
    previous = None
    for _ in range(40):
        box = await canvas.bounding_box()
        if box is not None and box == previous:
            return box
        previous = box
        await page.wait_for_timeout(100)
    return previous


async def _draw(page, strokes) -> None:
    box = await _settled_box(page)
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.mouse.down()
        for x, y in rest:
            await page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        await page.mouse.up()


async def _answered(page, digit: str) -> bool:
    try:
        await page.wait_for_function("d => document.querySelector(\"" + METRIC + "\")?.innerText.trim() === d",
                                     arg=digit, timeout=ANSWER_TIMEOUT_S * 1000)
        return True
    except Exception:  # Playwright's TimeoutError: counted as a drawing answered after the whole time-out
        return False


async def _clear(page) -> None:
    await page.get_by_role("button", name="Clear").click()
    await page.locator(METRIC).first.wait_for(state="detached", timeout=ANSWER_TIMEOUT_S * 1000)


async def _session(page, deadline: float, latencies: list[float], misses: list[int]) -> None:
    step = 0
    while time.monotonic() < deadline:
        digit = "1" if step % 2 == 0 else "7"
        await _draw(page, DIGIT_STROKES[digit])
        started = time.perf_counter()  # from the last mouse-up: the drawing itself is the person's time
        if await _answered(page, digit):
            latencies.append(time.perf_counter() - started)
        else:
            latencies.append(ANSWER_TIMEOUT_S)
            misses.append(1)
        await _clear(page)
        step += 1


async def _level(browser, url: str, sessions: int, seconds: float, replica_pids: list[int]) -> dict:
    contexts = [await browser.new_context(viewport={"width": 1100, "height": 900}) for _ in range(sessions)]
    pages = [await context.new_page() for context in contexts]
    await asyncio.gather(*(page.goto(f"{url}/Draw", wait_until="domcontentloaded") for page in pages))

    async def warm(page):  # the first answer of a session also loads the chart library: not measured
        await _draw(page, DIGIT_STROKES["1"])
        await _answered(page, "1")
        await _clear(page)

    await asyncio.gather(*(warm(page) for page in pages))
    served = {}
    for page in pages:
        text = await page.locator("[data-testid='stSidebar']").inner_text()
        name = text.split("Served by ", 1)[1].split()[0] if "Served by " in text else "?"
        served[name] = served.get(name, 0) + 1
    generator = [os.getpid(), *_descendants(os.getpid())]
    latencies: list[float] = []
    misses: list[int] = []
    server_before, generator_before, machine_before = _cpu(replica_pids), _cpu(generator), _machine_busy()
    started = time.monotonic()
    await asyncio.gather(*(_session(page, started + seconds, latencies, misses) for page in pages))
    elapsed = time.monotonic() - started
    server_cpu = _cpu(replica_pids) - server_before
    generator_cpu = _cpu([os.getpid(), *_descendants(os.getpid())]) - generator_before
    machine = [after - before for after, before in zip(_machine_busy(), machine_before)]
    for context in contexts:
        await context.close()
    return _row("browser", sessions, served, latencies, misses, elapsed, server_cpu, generator_cpu, machine)


def record_round(url: str) -> dict[str, list[bytes]]:
    """A real Chromium loads Draw through `url`, draws a 1 and a 7, each followed by Clear: the BackMsgs it sends
    (script reruns only), by phase -- "load", "1", "clear1", "7", "clear7"."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    from tests.support.canvas import draw

    phases: dict[str, list[bytes]] = {"load": [], "1": [], "clear1": [], "7": [], "clear7": []}
    phase = ["load"]

    def sent(payload) -> None:
        if isinstance(payload, bytes):
            message = BackMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "rerun_script":
                phases[phase[0]].append(payload)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("websocket", lambda socket: socket.on("framesent", sent))
        page.goto(f"{url}/Draw", wait_until="domcontentloaded")
        server.wait_for_page(page, server.PAGES["Draw"])
        server.wait_idle(page)
        for digit in ("1", "7"):
            phase[0] = digit
            draw(page, DIGIT_STROKES[digit])
            page.wait_for_function("d => document.querySelector(\"" + METRIC + "\")?.innerText.trim() === d",
                                   arg=digit, timeout=30_000)
            server.wait_idle(page)
            phase[0] = f"clear{digit}"
            page.get_by_role("button", name="Clear").click()
            page.locator(METRIC).first.wait_for(state="detached", timeout=30_000)
            server.wait_idle(page)
            page.wait_for_timeout(1000)  # the canvas is mounted again and sends its blank state
        browser.close()
    empty = [name for name, messages in phases.items() if not messages]
    if empty:
        raise RuntimeError(f"the recorded round has no messages for {empty}")
    return phases


class _Session:
    """One drawing session over Streamlit's websocket, replaying a recorded round (see the module's text)."""

    def __init__(self, url: str, script: dict[str, list[bytes]]):
        self.url, self.script = url, script
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.jar = jar
        self.replica = "?"
        self.socket = None

    async def open(self) -> None:
        import websockets  # deferred: the browser kind of load does not need it

        await asyncio.to_thread(lambda: self.opener.open(f"{self.url}/Draw", timeout=60).read())
        cookies = {cookie.name: cookie.value for cookie in self.jar}
        self.replica = cookies.get("MNIST_REPLICA", "?")
        self.socket = await websockets.connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None,
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "Origin": self.url},
            open_timeout=60)
        for message in self.script["load"]:
            await self.run(message)

    async def run(self, message: bytes, expect: str | None = None) -> tuple[float | None, str | None]:
        """Send one BackMsg, read until its script run finishes, fetch its pictures; (seconds until the digit
        `expect` arrived or None, the digit shown)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        started, answered, shown, media = time.perf_counter(), None, None, []
        await self.socket.send(message)
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await asyncio.wait_for(self.socket.recv(), ANSWER_TIMEOUT_S))
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                which = element.WhichOneof("type")
                if which == "metric" and shown is None:
                    shown = element.metric.body
                    if shown == expect:
                        answered = time.perf_counter() - started
                elif which == "imgs":
                    media += [image.url for image in element.imgs.imgs if image.url.startswith("/")]
            elif kind == "script_finished":
                break
        for path in media:  # as the browser does: the "what the model sees" picture and the like
            await asyncio.to_thread(lambda: self.opener.open(self.url + path, timeout=30).read())
        return answered, shown

    async def rounds(self, measure_from: float, deadline: float, latencies: list, misses: list) -> None:
        while time.monotonic() < deadline:
            for digit in ("1", "7"):
                await asyncio.sleep(DRAWING_S)
                *strokes, last = self.script[digit]
                for message in strokes:
                    await self.run(message)
                measured = time.monotonic() >= measure_from
                try:
                    answered, shown = await self.run(last, expect=digit)
                except TimeoutError:
                    answered, shown = None, "no answer"
                if measured:
                    latencies.append(answered if answered is not None else ANSWER_TIMEOUT_S)
                    if answered is None:
                        misses.append(shown)
                if shown == "no answer":
                    return  # this session's websocket is out of step: it stops
                for message in self.script[f"clear{digit}"]:
                    await self.run(message)
                await asyncio.sleep(AFTER_CLEAR_S)


async def _generate(url: str, script: dict, sessions: int, seconds: float, queue) -> None:
    import random

    clients = [_Session(url, script) for _ in range(sessions)]
    await asyncio.gather(*(client.open() for client in clients))
    once = time.monotonic() + 0.001  # the deadline is checked before each round: exactly one, never measured
    await asyncio.gather(*(client.rounds(float("inf"), once, [], []) for client in clients))
    latencies: list[float] = []
    misses: list = []
    queue.put(("ready", [client.replica for client in clients]))
    started = time.monotonic()

    async def staggered(client):  # people do not all start drawing in the same instant
        await asyncio.sleep(random.uniform(0, DRAWING_S + AFTER_CLEAR_S))
        await client.rounds(started, started + seconds, latencies, misses)

    await asyncio.gather(*(staggered(client) for client in clients))
    elapsed = time.monotonic() - started
    for client in clients:
        await client.socket.close()
    queue.put(("done", latencies, misses, elapsed))


def _generator(url: str, script: dict, sessions: int, seconds: float, queue) -> None:
    """The load generator's process: every protocol session of one level, in one asyncio loop."""
    try:
        asyncio.run(_generate(url, script, sessions, seconds, queue))
    except BaseException as error:  # reported by the bench, which stops
        queue.put(("error", f"{type(error).__name__}: {error}"))


def _protocol_level(url: str, script: dict, sessions: int, seconds: float, replica_pids: list[int]) -> dict:
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    generator = spawn.Process(target=_generator, args=(url, script, sessions, seconds, queue), daemon=True)
    generator.start()
    try:
        ready = queue.get(timeout=300)
        if ready[0] == "error":
            raise RuntimeError(f"the load generator failed: {ready[1]}")
        before = _cpu(replica_pids), _cpu([generator.pid]), _machine_busy()
        done = queue.get(timeout=seconds + 300)
        after = _cpu(replica_pids), _cpu([generator.pid]), _machine_busy()
        if done[0] == "error":
            raise RuntimeError(f"the load generator failed: {done[1]}")
    finally:
        generator.join(timeout=30)
        if generator.is_alive():
            generator.kill()
    _, latencies, misses, elapsed = done
    served: dict[str, int] = {}
    for name in ready[1]:
        served[name] = served.get(name, 0) + 1
    return _row("protocol", sessions, served, latencies, misses, elapsed, after[0] - before[0], after[1] - before[1],
                [a - b for a, b in zip(after[2], before[2])])


def _row(client: str, sessions: int, served: dict, latencies: list, misses: list, elapsed: float,
         server_cpu: float, generator_cpu: float, machine: list) -> dict:
    ordered = sorted(latencies)
    busy, total = machine
    return {
        "client": client, "sessions": sessions, "per_replica": served, "answers": len(latencies),
        "missed": len(misses), "seconds": round(elapsed, 1), "answers_per_s": round(len(latencies) / elapsed, 2),
        "p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "p95_s": round(ordered[max(0, int(0.95 * len(ordered)) - 1)], 3) if ordered else None,
        "server_cpu_ms_per_answer": round(1000 * server_cpu / max(1, len(latencies)), 1),
        "server_cores_busy": round(server_cpu / elapsed, 2),
        "generator_cores_busy": round(generator_cpu / elapsed, 2),
        "machine_busy_share": round(busy / total, 2) if total else None,
    }


async def _browser_sweep(url: str, levels: list[int], seconds: float, replica_pids: list[int], log) -> list[dict]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=server.CHROMIUM, args=server.CHROMIUM_ARGS)
        rows = []
        for sessions in levels:
            row = await _level(browser, url, sessions, seconds, replica_pids)
            log(json.dumps(row))
            rows.append(row)
        await browser.close()
    return rows


def measure(replicas: int, levels: dict[str, list[int]], seconds: float, log=print, serve_args: tuple = ()) -> dict:
    """Start a cluster of `replicas`; sweep the numbers of sessions of each kind of load; stop it."""
    folder = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    env = {"MNIST_APP_ARTIFACTS": str(folder / "artifacts"), "MNIST_APP_TRAINING_DIR": str(folder / "training")}
    launched = cluster.Cluster(replicas=replicas, port=server.free_port(), folder=folder, env=env,
                               database_folder=tempfile.mkdtemp(prefix="bench-capacity-postgres-"), log=log,
                               serve_args=serve_args)
    rows = []
    try:
        launched.start()
        pids = [replica.pid for replica in launched.replicas]
        if levels.get("protocol"):
            script = record_round(launched.url)
            for sessions in levels["protocol"]:
                rows.append(_protocol_level(launched.url, script, sessions, seconds, pids))
                log(json.dumps(rows[-1]))
        if levels.get("browser"):
            rows += asyncio.run(_browser_sweep(launched.url, levels["browser"], seconds, pids, log))
    finally:
        launched.stop()
        shutil.rmtree(launched.database_folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    carried = {kind: max((row["sessions"] for row in rows if row["client"] == kind and not row["missed"]
                          and row["p95_s"] is not None and row["p95_s"] <= TARGET_P95_S), default=0)
               for kind in levels if levels[kind]}
    return {"replicas": replicas, "levels": rows, "sessions_at_p95_within_1s": carried}


def format_table(results: list[dict]) -> str:
    lines = ["| replicas | load | sessions | p50 / p95 (s) | answers/s | replica CPU per answer | replicas' cores "
             "busy | load generator's cores busy | machine busy |", "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        for row in result["levels"]:
            missed = f" ({row['missed']} missed)" if row["missed"] else ""
            lines.append(f"| {result['replicas']} | {row['client']} | {row['sessions']} | {row['p50_s']} / "
                         f"{row['p95_s']}{missed} | {row['answers_per_s']} | {row['server_cpu_ms_per_answer']} ms | "
                         f"{row['server_cores_busy']} | {row['generator_cores_busy']} | "
                         f"{row['machine_busy_share']:.0%} |")
    lines.append("")
    for result in results:
        for kind, carried in result["sessions_at_p95_within_1s"].items():
            lines.append(f"{result['replicas']} replica(s), {kind} load: {carried} concurrent drawing sessions at "
                         f"p95 <= 1 s, every answer right (the load generator on the same {os.cpu_count()} cores)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2", help="replica counts to measure, e.g. 1,2")
    parser.add_argument("--sessions", default="1,2,4,8,16,32,48,64",
                        help="numbers of drawing sessions at once, protocol load")
    parser.add_argument("--browser-sessions", default="1,2,4",
                        help="numbers of drawing sessions at once, browser load (empty: none)")
    parser.add_argument("--client", choices=["both", "protocol", "browser"], default="both")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per number of sessions")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION=VALUE",
                        help="a Streamlit option for every replica, e.g. runner.postScriptGC=false (repeatable)")
    args = parser.parse_args()
    serve_args = tuple(part for option in args.serve_option
                       for part in (f"--{option.split('=', 1)[0]}", option.split("=", 1)[1]))

    def numbers(text: str) -> list[int]:
        return [int(value) for value in text.split(",") if value.strip()]

    levels = {"protocol": numbers(args.sessions) if args.client != "browser" else [],
              "browser": numbers(args.browser_sessions if args.client == "both" else args.sessions)
              if args.client != "protocol" else []}
    results = [measure(int(count), levels, args.seconds, log=lambda message: print(message, flush=True),
                       serve_args=serve_args) for count in args.replicas.split(",")]
    print(format_table(results))
    target = config.PROJECT_ROOT / "artifacts" / "bench_capacity.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
