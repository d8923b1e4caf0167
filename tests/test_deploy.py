"""deploy/: the container recipe follows the launcher the tests start (mnist_app.serving.cluster), and HAProxy
itself accepts the configuration the launcher writes."""

import json
import os
import shutil
import subprocess

import pytest
import yaml

from mnist_app import config
from mnist_app.serving import cluster

DEPLOY = config.PROJECT_ROOT / "deploy"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def launcher() -> cluster.Cluster:
    return cluster.Cluster(replicas=2, database_url="postgresql+psycopg://nobody@127.0.0.1/none")


def test_every_setting_the_launcher_gives_its_processes_is_in_the_recipe(compose):
    launched = launcher()
    given = {key for key, value in launched.environment().items() if os.environ.get(key) != value}
    for name in ("replica1", "replica2", "trainer"):
        environment = compose["services"][name]["environment"]
        assert given <= set(environment), f"{name} lacks {given - set(environment)}"
        assert environment["MNIST_APP_TRAINER"] == "external"  # training never runs in a web replica
    assert [compose["services"][name]["environment"]["MNIST_APP_REPLICA"] for name in ("replica1", "replica2")] == [
        replica.name for replica in launched.replicas]
    assert compose["services"]["trainer"]["command"][-3:] == ["-m", "mnist_app", "trainer"]


def test_the_images_command_is_the_launchers_serve_command():
    launched = launcher()
    command = launched.serve_command(launched.replicas[0])[1:]  # without the interpreter's path
    cmd = next(line for line in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
               if line.startswith("CMD "))
    image = json.loads(cmd[4:])[1:]
    values = {"--server.port": "8501", "--server.address": "0.0.0.0"}  # the container's own address and port
    assert image == [values.get(command[index - 1], part) for index, part in enumerate(command)]


def test_the_balancers_replicas_are_the_recipes_services(compose):
    servers = [line.split()[1] for line in (DEPLOY / "haproxy-replicas.cfg").read_text().splitlines()
               if line.strip().startswith("server ")]
    assert servers == [name for name in compose["services"] if name.startswith("replica")]


@pytest.mark.skipif(not shutil.which("haproxy"), reason="HAProxy is not installed (make test installs it as root)")
def test_haproxy_accepts_the_configuration_the_launcher_writes(tmp_path):
    launched = launcher()
    backend = tmp_path / "replicas.cfg"
    backend.write_text(cluster.haproxy_backend(launched.replicas, "127.0.0.1"))
    assert backend.read_text().count("    server replica") == 2
    checked = subprocess.run(["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg"), "-f", str(backend)],
                             env={**os.environ, "MNIST_APP_BIND": "127.0.0.1:18500"}, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.cfg"
    broken.write_text(backend.read_text().replace("balance roundrobin", "balance nowhere"))
    assert subprocess.run(["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg"), "-f", str(broken)],
                          env={**os.environ, "MNIST_APP_BIND": "127.0.0.1:18500"}, capture_output=True).returncode
