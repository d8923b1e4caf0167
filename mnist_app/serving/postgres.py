"""A local PostgreSQL server of the project's own: Debian's `postgresql` package, started on 127.0.0.1 in a
folder, for the cluster launcher (when no MNIST_APP_DATABASE_URL is given) and for the tests.

`initdb` refuses to run as root, so as root the cluster belongs to the `postgres` user (Debian's package creates
it) and its commands run through `runuser`. The server trusts connections from this machine's loopback only
(`listen_addresses=127.0.0.1`, a socket in the folder); it is stopped by `stop()`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def unavailable() -> str | None:
    """Why no PostgreSQL server can be started here, or None."""
    if not BINARIES:
        return "PostgreSQL is not installed (`make test` installs Debian's postgresql package when run as root)"
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return "running as root, but there is no postgres user to run the server as"
    return None


def _bin(name: str) -> str:
    return str(Path(BINARIES[-1]) / name)


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalPostgres:
    """One PostgreSQL cluster in `folder` (a new temporary one by default) on a free loopback port."""

    def __init__(self, folder: Path | None = None, port: int | None = None, durable: bool = True):
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.folder = Path(folder) if folder else Path(_temporary_folder())
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data = self.folder / "data"
        self.port = port or free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.folder)]).returncode:
                raise RuntimeError(f"the postgres user cannot reach {self.folder} (a parent folder is private to "
                                   "root): choose a folder it can reach")
        self.folder.chmod(0o755)
        if not (self.data / "PG_VERSION").is_file():
            subprocess.run(_as_owner([_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                      "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:  # a test's throw-away cluster: no waiting for the disk
            options += " -c fsync=off -c synchronous_commit=off"
        subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                                  str(self.folder / "server.log"), "-w", "-t", "60", "start"]), check=True,
                       capture_output=True, timeout=90)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str | None = None) -> str:
        """A fresh, empty database on this server; its SQLAlchemy URL."""
        name = name or f"mnist_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, statement: str, database: str = "postgres") -> str:
        done = subprocess.run(_as_owner([_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                         "-d", database, "-tAc", statement]), check=True, capture_output=True,
                              text=True, timeout=60)
        return done.stdout.strip()

    def stop(self, remove: bool = False) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=60)
        for _ in range(50):  # the postmaster is gone when its pid file is
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def _temporary_folder() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="mnist-postgres-")
