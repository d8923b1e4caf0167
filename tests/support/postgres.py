"""A real PostgreSQL server for the tests: Debian's `postgresql` package, started on 127.0.0.1 in a folder of
the test's, stopped when the test session ends. Never a mock.

`initdb` refuses to run as root, so as root the cluster belongs to the `postgres` user (the package creates it)
and its commands run through `runuser`. Where no server can be had, `unavailable()` says why, and the tests
that need one skip with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.server import free_port

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _bin(name: str) -> str:
    return str(Path(BINARIES[-1]) / name)


def unavailable() -> str | None:
    """Why no PostgreSQL server can be started here, or None."""
    if not BINARIES:
        return "PostgreSQL is not installed (make test installs Debian's postgresql package when run as root)"
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return "running as root, but there is no postgres user to run the server as"
    return None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Server:
    """One PostgreSQL cluster on a free loopback port."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="mnist-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.folder.chmod(0o755)
        subprocess.run(_as_owner([_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                  "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                                  str(self.folder / "server.log"), "-w", "-t", "60", "start"]), check=True,
                       capture_output=True, timeout=90)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its SQLAlchemy URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, statement: str, database: str = "postgres") -> str:
        done = subprocess.run(_as_owner([_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                         "-d", database, "-tAc", statement]), check=True, capture_output=True,
                              text=True, timeout=60)
        return done.stdout.strip()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
        for _ in range(50):  # the postmaster is gone when its pid file is
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.folder, ignore_errors=True)
