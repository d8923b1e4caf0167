"""Start the dashboard on a free loopback port for browser tests, and stop it by its PID."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mnist_app import config
from mnist_app.serving import cluster
from mnist_app.ui import chrome

CHROMIUM = "/usr/bin/chromium"
TICK = os.sysconf("SC_CLK_TCK")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = {page.url: page.heading for page in chrome.ALL_PAGES}  # URL path -> the page title shown on it
SCREENSHOTS = config.PROJECT_ROOT / "artifacts" / "screenshots"  # git-ignored: what the tests saw
ERROR_BOXES = "[data-testid='stException'], [data-testid='stAlertContentError']"  # a traceback or st.error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(extra_env=None, log_path=None, port=None, args=()):
    """Yield the base URL of a fresh dashboard server, started as `make run` starts it
    (`python -m mnist_app serve`, with more Streamlit options in `args`); kill its process group afterwards."""
    port = port or free_port()
    env = {**os.environ, **(extra_env or {})}
    log = open(log_path or os.devnull, "a")
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_app", "serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         *args],
        cwd=config.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy within 90 s")
            time.sleep(0.3)
        yield base
    finally:
        stop(process)
        log.close()


@contextlib.contextmanager
def dashboard_and_browser(folder, log_name: str = "streamlit.log"):
    """(the address of a fresh dashboard with a collection of its own in `folder`, a launched Chromium): what a
    browser test module shares between its tests. Both are stopped afterwards."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kept = Path(folder) / "collection.sqlite"
    with streamlit_server(log_path=SCREENSHOTS.parent / log_name, extra_env={"MNIST_APP_COLLECTION": str(kept)}) \
            as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield base, browser
        browser.close()


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started in a session of its own, and everything it started (SIGTERM, then SIGKILL)."""
    cluster.stop_group(process, timeout)


def browser_tests():
    """Playwright's sync API for a browser test module, which is skipped (with the reason) without Chromium."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


def wait_for_page(page, title: str, timeout_ms: int = 60_000) -> None:
    """Wait until the page shows its title and Streamlit has finished running the script."""
    page.get_by_role("heading").filter(has_text=title).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the current script run and no spinner is left."""
    # Streamlit's own e2e tests wait on this attribute; spinners cover cached work still loading.
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stSpinner\"]').length === 0",
                           timeout=timeout_ms)
    page.wait_for_timeout(400)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), as the kernel counts them."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def pid_of(base: str) -> int:
    """The pid of the server listening at `base` (the serve process), from /proc."""
    port = base.rsplit(":", 1)[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{int(port):04X}") and parts[3] == "0A":  # LISTEN
            inode = parts[9]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if any(os.readlink(fd).endswith(f"[{inode}]") for fd in (entry / "fd").iterdir()):
                    return int(entry.name)
            except OSError:
                continue
    raise RuntimeError(f"no process listens on {port}")
