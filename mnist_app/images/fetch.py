"""Fetch an image from a URL safely (the From URL page and `python -m mnist_app predict URL`).

Guards, following OWASP's SSRF prevention cheat sheet:
- http and https only; no credentials in the URL;
- the host is resolved once and every address must be global: loopback, private, link-local
  (cloud metadata 169.254.169.254), carrier-grade NAT, IPv6 unique-local, IPv4-mapped IPv6,
  multicast and reserved addresses are refused, however the IP is spelled (decimal, octal, hex);
- the connection goes to the very address that was checked (no second DNS answer can swap it);
- redirects are followed by hand, at most MAX_REDIRECTS, each hop checked like the first;
- time-outs on connect and on the whole transfer; the body is streamed and cut at MAX_BYTES
  whatever Content-Length claims; only image/* content types are accepted.

A local deployment can allow its private network with MNIST_APP_ALLOW_PRIVATE_URLS=1 (loopback,
private ranges, carrier-grade NAT and IPv6 unique-local; link-local and metadata addresses stay
refused). The value `loopback` allows only this machine: the test suite's setting.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from mnist_app.errors import UrlError

MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
ALLOWED_SCHEMES = ("http", "https")
ALLOW_PRIVATE_ENV = "MNIST_APP_ALLOW_PRIVATE_URLS"
USER_AGENT = "mnist-dashboard/1.0 (+image fetch)"


@dataclass
class Fetched:
    """An image downloaded from a URL."""

    url: str  # the final URL after redirects
    content: bytes
    content_type: str


PRIVATE_NETWORK = frozenset({"loopback", "private", "cgnat", "unique-local"})
REFUSALS = {
    "loopback": "a loopback address (this server itself)",
    "link-local": "a link-local address (this includes cloud metadata services such as 169.254.169.254)",
    "cgnat": "a carrier-grade NAT (shared) address",
    "unique-local": "an IPv6 unique-local (private) address",
    "private": "a private-network address",
    "reserved": "a reserved or non-public address",
}


def allowed_from_environment() -> frozenset[str]:
    """The non-public address kinds this deployment allows (none unless configured)."""
    value = os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower()
    if value == "loopback":
        return frozenset({"loopback"})
    if value in ("1", "true", "yes", "private"):
        return PRIVATE_NETWORK
    return frozenset()


def address_kind(address: str) -> str | None:
    """The kind of non-public address this is ("loopback", "private", ...), or None if it is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_kind(str(ip.ipv4_mapped))
        if ip in ipaddress.ip_network("fc00::/7"):
            return "unique-local"
    if ip.is_unspecified or ip.is_multicast:
        return "reserved"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "cgnat"
    if ip.is_private:
        return "private"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "reserved"
    return None


def address_refusal(address: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """Why an IP address may not be fetched from, or None when it may."""
    kind = address_kind(address)
    if kind is None or kind in allowed:
        return None
    reason = REFUSALS[kind]
    if ":" in address and ipaddress.ip_address(address.split("%")[0]).ipv4_mapped is not None:
        reason = f"an IPv4-mapped IPv6 form of {reason}"
    return reason


def _split(url: str):
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UrlError(f"this is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if not url.strip():
        raise UrlError("enter the address of an image, starting with https://")
    if not scheme:  # "example.com/7.png": what a person types into an address bar
        raise UrlError(f"only http:// and https:// URLs are allowed: put https:// in front, as in "
                       f"https://{url.strip().lstrip('/')}")
    if scheme not in ALLOWED_SCHEMES:
        raise UrlError(f"only http:// and https:// URLs are allowed (this one starts with {scheme}:)")
    if not parts.hostname:
        raise UrlError("the URL has no host name")
    if parts.username or parts.password:
        raise UrlError("URLs with a user name or password are not allowed")
    return parts, scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def resolve_checked(host: str, port: int, allowed: frozenset[str]) -> str:
    """Resolve a host and return an address that may be connected to, or raise UrlError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlError(f"the host {host!r} could not be found: check the address for typos") from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise UrlError(f"the host {host!r} has no address")
    for address in addresses:
        reason = address_refusal(address, allowed)
        if reason:
            where = host if host.strip("[]") == address else f"{host} resolves to {address}, which"
            raise UrlError(f"refused: {where} is {reason}")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def fetch_image_bytes(url: str, *, allowed: frozenset[str] | None = None, max_bytes: int = MAX_BYTES,
                      total_timeout: float = TOTAL_TIMEOUT) -> Fetched:
    """Download an image from an http(s) URL with every guard on; raise UrlError with the reason.

    `allowed` names the non-public address kinds that may be fetched from (default: the
    MNIST_APP_ALLOW_PRIVATE_URLS setting, which allows none).
    """
    allowed = allowed_from_environment() if allowed is None else frozenset(allowed)
    deadline = time.monotonic() + total_timeout
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        parts, scheme, host, port = _split(current)
        address = resolve_checked(host, port, allowed)
        connection_type = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        timeout = max(0.1, min(CONNECT_TIMEOUT, deadline - time.monotonic()))
        connection = connection_type(host, port, address, timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise UrlError(f"the server redirected ({response.status}) without saying where")
                current = urljoin(current, location)
                continue
            if response.status >= 400:
                raise UrlError(f"the server answered HTTP {response.status} {response.reason}")
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise UrlError(f"the URL is not an image (content type {content_type or 'missing'!r})")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise UrlError(f"the image is larger than the {max_bytes / 2**20:.0f} MiB limit")
            body = _read_capped(response, connection, max_bytes, deadline)  # the cap holds without a header too
            return Fetched(current, body, content_type)
        except UrlError:
            raise
        except socket.timeout:
            raise UrlError(f"the server did not answer within {total_timeout:.0f} s") from None
        except ssl.SSLError as error:
            raise UrlError(f"the secure connection failed ({error.reason or error})") from None
        except (OSError, http.client.HTTPException) as error:
            raise UrlError(f"the download failed ({type(error).__name__}: {error})") from None
        finally:
            connection.close()
    raise UrlError(f"too many redirects (more than {MAX_REDIRECTS})")


def _read_capped(response, connection, max_bytes: int, deadline: float) -> bytes:
    chunks, received = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        if connection.sock is not None:
            connection.sock.settimeout(min(remaining, CONNECT_TIMEOUT))
        chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        if not chunk:
            break
        received += len(chunk)
        if received > max_bytes:
            raise UrlError(f"the image is larger than the {max_bytes / 2**20:.0f} MiB limit")
        chunks.append(chunk)
    if received == 0:
        raise UrlError("the server sent an empty body")
    return b"".join(chunks)
