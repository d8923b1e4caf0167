"""The guarded URL fetch, against a real HTTP server on loopback that the test starts.

Loopback is refused by default; the tests allow it with the test-only setting `allowed={"loopback"}`
for the positive cases. No test sends traffic anywhere but 127.0.0.1: every other address is refused
before any connection is made.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from mnist_app import config
from mnist_app.errors import UrlError
from mnist_app.images import fetch
from tests.support import images

LOOPBACK = frozenset({"loopback"})
PNG = images.encode(images.seven(ink=0, paper=255))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        port = self.server.server_address[1]
        routes = {
            "/digit.png": (200, {"Content-Type": "image/png"}, PNG),
            "/page.html": (200, {"Content-Type": "text/html"}, b"<html>hello</html>"),
            "/untyped": (200, {}, PNG),
            "/missing": (404, {"Content-Type": "text/plain"}, b"not found"),
            "/broken": (500, {"Content-Type": "text/plain"}, b"oops"),
            "/to-digit": (302, {"Location": "/digit.png"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/to-private": (301, {"Location": "http://10.1.2.3/digit.png"}, b""),
            "/to-decimal-loopback": (302, {"Location": f"http://2130706433:{port}/digit.png"}, b""),
            "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/empty": (200, {"Content-Type": "image/png"}, b""),
        }
        if self.path == "/slow":
            time.sleep(3)
            status, headers, body = routes["/digit.png"]
        elif self.path in ("/huge", "/huge-declared"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            if self.path == "/huge-declared":
                self.send_header("Content-Length", str(64 * 65536))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"\0" * 65536)  # 4 MiB, more than the 1 MiB cap used below
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        else:
            status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_image_is_fetched_when_loopback_is_allowed(base):
    fetched = fetch.fetch_image_bytes(f"{base}/digit.png", allowed=LOOPBACK)
    assert fetched.content == PNG and fetched.content_type == "image/png"


def test_loopback_is_refused_by_default(base, monkeypatch):
    monkeypatch.delenv(fetch.ALLOW_PRIVATE_ENV, raising=False)
    with pytest.raises(UrlError, match="loopback"):
        fetch.fetch_image_bytes(f"{base}/digit.png")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/",
                                 "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)", "example.com/a.png"])
def test_other_schemes_are_refused(url):
    with pytest.raises(UrlError, match="only http:// and https://"):
        fetch.fetch_image_bytes(url)


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1/a.png", "loopback"),
    ("http://localhost/a.png", "loopback"),
    ("http://2130706433/a.png", "loopback"),  # decimal
    ("http://0x7f000001/a.png", "loopback"),  # hex
    ("http://0177.0.0.1/a.png", "loopback"),  # octal
    ("http://127.1/a.png", "loopback"),  # short form
    ("http://[::1]/a.png", "loopback"),
    ("http://[::ffff:127.0.0.1]/a.png", "IPv4-mapped"),
    ("http://[::ffff:a9fe:a9fe]/latest", "IPv4-mapped"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.1/a.png", "private-network"),
    ("http://172.16.5.4/a.png", "private-network"),
    ("http://192.168.1.1/a.png", "private-network"),
    ("http://100.64.0.1/a.png", "carrier-grade NAT"),
    ("http://[fd12:3456::1]/a.png", "unique-local"),
    ("http://[fe80::1]/a.png", "link-local"),
    ("http://0.0.0.0/a.png", "reserved"),
    ("http://224.0.0.1/a.png", "reserved"),
])
def test_non_public_addresses_are_refused_before_connecting(url, kind):
    with pytest.raises(UrlError, match=kind):
        fetch.fetch_image_bytes(url)


def test_metadata_stays_refused_even_when_a_private_network_is_allowed(monkeypatch):
    monkeypatch.setenv(fetch.ALLOW_PRIVATE_ENV, "1")
    with pytest.raises(UrlError, match="link-local"):
        fetch.fetch_image_bytes("http://169.254.169.254/latest/meta-data/")


@pytest.mark.parametrize("path, message", [
    ("/to-metadata", "link-local"),
    ("/to-private", "private-network"),
    ("/to-file", "only http:// and https://"),
    ("/loop", "too many redirects"),
])
def test_every_redirect_hop_is_checked(base, path, message):
    with pytest.raises(UrlError, match=message):
        fetch.fetch_image_bytes(base + path, allowed=LOOPBACK)


def test_redirect_to_a_decimal_loopback_spelling_is_refused_by_default(base, monkeypatch):
    monkeypatch.delenv(fetch.ALLOW_PRIVATE_ENV, raising=False)
    with pytest.raises(UrlError, match="loopback"):
        fetch.fetch_image_bytes(f"{base}/to-decimal-loopback")


def test_allowed_redirect_is_followed(base):
    fetched = fetch.fetch_image_bytes(f"{base}/to-digit", allowed=LOOPBACK)
    assert fetched.content == PNG and fetched.url.endswith("/digit.png")


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])  # no Content-Length to trust, or a large one
def test_bodies_over_the_cap_are_cut_off(base, path):
    started = time.monotonic()
    with pytest.raises(UrlError, match="larger than"):
        fetch.fetch_image_bytes(base + path, allowed=LOOPBACK, max_bytes=1024 * 1024)
    assert time.monotonic() - started < 10


def test_slow_server_times_out(base):
    started = time.monotonic()
    with pytest.raises(UrlError, match="did not answer"):
        fetch.fetch_image_bytes(f"{base}/slow", allowed=LOOPBACK, total_timeout=1.0)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("path, message", [
    ("/page.html", "not an image"),
    ("/untyped", "not an image"),
    ("/missing", "HTTP 404"),
    ("/broken", "HTTP 500"),
    ("/empty", "empty body"),
])
def test_non_images_and_http_errors_get_their_own_message(base, path, message):
    with pytest.raises(UrlError, match=message):
        fetch.fetch_image_bytes(base + path, allowed=LOOPBACK)


def test_unknown_host_and_credentials():
    with pytest.raises(UrlError, match="could not be found"):
        fetch.fetch_image_bytes("http://no-such-host.invalid/a.png")
    with pytest.raises(UrlError, match="user name or password"):
        fetch.fetch_image_bytes("http://user:secret@example.com/a.png")


def test_cli_predicts_urls_through_the_same_guarded_fetch(base):
    url = f"{base}/digit.png"
    command = [sys.executable, "-m", "mnist_app", "predict", "--json", url, f"{base}/page.html"]
    refused = subprocess.run(command, cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, fetch.ALLOW_PRIVATE_ENV: ""})
    first = json.loads(refused.stdout.splitlines()[0])
    assert refused.returncode == 1 and "loopback" in first["error"]
    allowed = subprocess.run(command, cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, fetch.ALLOW_PRIVATE_ENV: "loopback"})
    digit, page = (json.loads(line) for line in allowed.stdout.splitlines())
    assert digit["digit"] == 7 and "error" not in digit
    assert "not an image" in page["error"]


@pytest.mark.parametrize("url, words", [
    ("example.com/7.png", "put https:// in front, as in https://example.com/7.png"),
    ("ftp://example.com/a.png", "this one starts with ftp:"),
    ("   ", "enter the address of an image"),
    ("http://no-such-host.invalid/a.png", "could not be found: check the address for typos"),
])
def test_url_errors_are_in_a_persons_words(url, words):
    """What a person typed wrong, said so they can fix it: no Python wording, no errno (issue 21, defect 5)."""
    with pytest.raises(UrlError) as refused:
        fetch.fetch_image_bytes(url)
    assert words in str(refused.value)
    assert "Errno" not in str(refused.value) and "'none'" not in str(refused.value)
