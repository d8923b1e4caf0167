"""The local launcher: HAProxy in front of N dashboard replicas, one trainer and, unless MNIST_APP_DATABASE_URL
names one, a local PostgreSQL -- `python -m mnist_app cluster --replicas N --port P` (`make cluster`).

Every process binds 127.0.0.1 unless told otherwise (`--host`). The replicas are `python -m mnist_app serve`
processes sharing one database, one artifact store and one `server.cookieSecret` (the sign-in cookie and the
XSRF token must read the same on every replica), with MNIST_APP_TRAINER=external: training runs in the trainer
process, never in a web replica. HAProxy (Debian's `haproxy`; deploy/haproxy.cfg and deploy/haproxy-replicas.cfg,
whose `server` lines this writes for the replicas' addresses) keeps each browser with its replica by a cookie,
checks /_stcore/health every second and sends a dead replica's people to another one. The container recipe in
deploy/ (Dockerfile, compose.yaml) starts the same processes with the same settings.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mnist_app import config
from mnist_app.serving import postgres

DEPLOY = config.PROJECT_ROOT / "deploy"
HEALTH_TIMEOUT = 120  # seconds a replica may take to answer /_stcore/health (it loads the model and the test set)


@dataclass
class Replica:
    """One dashboard process behind the balancer."""

    name: str
    port: int
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def haproxy_backend(replicas: list[Replica], host: str) -> str:
    """deploy/haproxy-replicas.cfg with one `server` line per replica of this machine."""
    kept = [line for line in (DEPLOY / "haproxy-replicas.cfg").read_text().splitlines()
            if not line.strip().startswith("server ")]
    servers = [f"    server {replica.name} {host}:{replica.port} check cookie {replica.name}" for replica in replicas]
    return "\n".join(kept + servers) + "\n"


def _wait_healthy(url: str, process: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} was not healthy within {timeout:.0f} s")


def stop_group(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """Stop a process started in a session of its own and everything it started: SIGTERM to its process group,
    SIGKILL after `timeout` s (the group is signalled even when its leader has already ended)."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Cluster:
    """The balancer, the replicas, the trainer and (when no database URL is given) PostgreSQL, on one machine."""

    def __init__(self, replicas: int = 2, port: int = 8500, host: str = "127.0.0.1", folder: Path | None = None,
                 database_url: str | None = None, database_folder: Path | None = None,
                 env: dict[str, str] | None = None, serve_args: tuple = (),
                 log: Callable[[str], None] = print):
        if replicas < 1:
            raise ValueError("a cluster has at least one replica")
        self.host, self.port, self.log = host, port, log
        self.folder = Path(folder or config.DATA_DIR / "cluster")
        self.logs = self.folder / "logs"
        self.database_url = database_url or os.environ.get(config.DATABASE_URL_SETTING)
        self.database_folder = Path(database_folder or self.folder / "postgres")
        self.replicas = [Replica(f"replica{index + 1}", postgres.free_port()) for index in range(replicas)]
        self.trainer: subprocess.Popen | None = None
        self.balancer: subprocess.Popen | None = None
        self.database: postgres.LocalPostgres | None = None
        self.extra_env = dict(env or {})
        self.serve_args = list(serve_args)  # more Streamlit options for every replica (e.g. --secrets.files)
        self.cookie_secret = os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """What every process of the cluster shares."""
        return {**os.environ, config.DATABASE_URL_SETTING: self.database_url,
                "MNIST_APP_TRAINER": "external", "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret,
                **self.extra_env}

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "a")
        try:
            return subprocess.Popen(command, cwd=config.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def start(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if not self.database_url:
            self.database = postgres.LocalPostgres(self.database_folder)
            self.database_url = self.database.url()
            self.log(f"cluster: PostgreSQL on {self.host}:{self.database.port} ({self.database.folder})")
        from mnist_app.store import database  # the schema, migrated once before the replicas start together

        database.engine(self.database_url)
        database.dispose(self.database_url)
        for replica in self.replicas:
            self.start_replica(replica, wait=False)
        for replica in self.replicas:
            _wait_healthy(f"http://{self.host}:{replica.port}/_stcore/health", replica.process, HEALTH_TIMEOUT)
        self.trainer = self._spawn("trainer", [sys.executable, "-m", "mnist_app", "trainer"], self.environment())
        self.log(f"cluster: trainer pid {self.trainer.pid}")
        self.start_balancer()
        self.log(f"cluster: {len(self.replicas)} replicas behind {self.url}")

    def serve_command(self, replica: Replica) -> list[str]:
        """How a replica is started (deploy/Dockerfile's CMD is the same, on 0.0.0.0:8501)."""
        return [sys.executable, "-m", "mnist_app", "serve", "--server.port", str(replica.port), "--server.address",
                self.host, "--server.headless", "true", "--browser.gatherUsageStats", "false", *self.serve_args]

    def start_replica(self, replica: Replica, wait: bool = True) -> None:
        env = {**self.environment(), "MNIST_APP_REPLICA": replica.name}
        replica.process = self._spawn(replica.name, self.serve_command(replica), env)
        self.log(f"cluster: {replica.name} on {self.host}:{replica.port} (pid {replica.pid})")
        if wait:
            _wait_healthy(f"http://{self.host}:{replica.port}/_stcore/health", replica.process, HEALTH_TIMEOUT)

    def start_balancer(self) -> None:
        if shutil.which("haproxy") is None:
            raise RuntimeError("HAProxy is not installed: apt-get install haproxy (make cluster does it as root)")
        backend = self.folder / "haproxy-replicas.cfg"
        backend.write_text(haproxy_backend(self.replicas, self.host))
        env = {**os.environ, "MNIST_APP_BIND": f"{self.host}:{self.port}"}
        self.balancer = self._spawn("haproxy", ["haproxy", "-db", "-f", str(DEPLOY / "haproxy.cfg"), "-f",
                                                str(backend)], env)
        _wait_healthy(f"{self.url}/_stcore/health", self.balancer, 30)

    def kill(self, name: str) -> Replica:
        """Kill one replica at once (SIGKILL), as a crashed machine would vanish."""
        replica = next(replica for replica in self.replicas if replica.name == name)
        if replica.alive:
            os.killpg(replica.pid, signal.SIGKILL)
            replica.process.wait()
        return replica

    def supervise(self, stop: Callable[[], bool], every: float = 2.0) -> None:
        """Until `stop()`: start again any replica or trainer that died (HAProxy sends people elsewhere meanwhile)."""
        while not stop():
            for replica in self.replicas:
                if not replica.alive:
                    self.log(f"cluster: {replica.name} ended; starting it again")
                    self.start_replica(replica, wait=False)
            if self.trainer is not None and self.trainer.poll() is not None:
                self.log("cluster: the trainer ended; starting it again")
                self.trainer = self._spawn("trainer", [sys.executable, "-m", "mnist_app", "trainer"],
                                           self.environment())
            time.sleep(every)

    def stop(self) -> None:
        stop_group(self.balancer)
        stop_group(self.trainer, timeout=30)
        for replica in self.replicas:
            stop_group(replica.process)
        if self.database is not None:
            self.database.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
