"""Teach it, each person their own: correcting and keeping digits on the pages, My digits, and a training run
queued from the Train page, run by a real trainer process, registered as its owner's model, compared, used by
its owner alone."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_app import config
from mnist_app.errors import LimitError, TrainingError
from mnist_app.serving import jobs, people, service
from mnist_app.store import collection, registry, results
from tests.support import images, server
from tests.support.workspace import page, visitor

TIMEOUT = 120


def texts(at: AppTest) -> str:
    parts = [element.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for element in getattr(at, kind)]
    return "\n".join(str(part) for part in parts)


def test_correct_a_prediction_keep_it_find_it_export_it_delete_it(mnist, store):
    person, other = visitor(), visitor()
    three = images.encode(Image.fromarray(255 - mnist.x_test[18]).resize((140, 140)))  # a test-set 3, on paper
    assert mnist.y_test[18] == 3
    at = page("pages/2_Upload.py", person).run()
    at.file_uploader(key="upload_files").set_value(("three.png", three, "image/png")).run()
    assert at.metric[0].value == "3"
    assert at.button(key="upload_single_save").disabled  # nothing is kept before the person says what it is
    at.segmented_control(key="upload_single_verdict").set_value("Wrong").run()
    at.pills(key="upload_single_label").set_value(8).run()
    at.button(key="upload_single_save").click().run()
    assert not at.exception
    mine = collection.Collection(person.access)
    [kept] = mine.digits()
    assert (kept.label, kept.prediction, kept.source, kept.owner) == (8, 3, "upload", person.owner) and kept.wrong
    assert mine.original(kept.id) is None  # the picture only with "keep my picture too"
    assert at.button(key="upload_single_save").disabled  # kept once, not twice

    elsewhere = page("pages/9_My_digits.py", other).run()  # another browser: none of it
    assert "Nothing kept yet" in texts(elsewhere) and collection.Collection(other.access).count() == 0

    listing = page("pages/9_My_digits.py", person).run()
    assert not listing.exception
    assert {m.label: m.value for m in listing.metric}["Digits kept"] == "1"
    assert "1 of 1 digits" in texts(listing)
    assert len(listing.get("download_button")) == 2
    with np.load(__import__("io").BytesIO(mine.export_npz())) as arrays:
        assert list(arrays["y"]) == [8]
    assert not listing.get("toggle") or all(t.key != "my_digits_everyone" for t in listing.get("toggle"))
    listing.button(key="my_digits_delete").click().run()
    assert mine.count() == 0
    assert "Nothing kept yet" in texts(listing)


def test_keep_my_picture_too_keeps_the_picture(mnist, store):
    person = visitor()
    at = page("pages/2_Upload.py", person).run()
    at.file_uploader(key="upload_files").set_value(("d.png", images.encode(Image.fromarray(mnist.x_test[0])),
                                                    "image/png")).run()
    at.segmented_control(key="upload_single_verdict").set_value("Right").run()
    at.checkbox(key="upload_single_picture").check().run()
    at.button(key="upload_single_save").click().run()
    [kept] = collection.Collection(person.access).digits()
    assert kept.label == kept.prediction == mnist.y_test[0]
    assert Image.open(__import__("io").BytesIO(collection.Collection(person.access).original(kept.id))).size == (28, 28)


def test_an_admin_sees_everyones_digits_and_the_page_says_so(mnist, store, monkeypatch):
    person, other = visitor(), visitor()
    for who, count in ((person, 2), (other, 3)):
        for index in range(count):
            collection.Collection(who.access).add(mnist.x_test[index], int(mnist.y_test[index]), prediction=None,
                                                  confidence=None, source="draw", session="s")
    admin = people.Person("user:boss", "boss@example.com", signed_in=True, admin=True, email="boss@example.com")
    monkeypatch.setattr("mnist_app.ui.identity.current", lambda: admin)
    at = page("pages/9_My_digits.py").run()
    assert "Nothing kept yet" in texts(at)  # an admin's own view is their own
    at.toggle(key="my_digits_everyone").set_value(True).run()
    assert not at.exception and "Everyone's digits" in texts(at) and "5 digits of 2 workspaces" in texts(at)


@pytest.fixture()
def trainer_process(store):
    """A real trainer (`python -m mnist_app trainer`), a process of its own, stopped when the test ends."""
    log = open(store / "trainer.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "mnist_app", "trainer"], cwd=config.PROJECT_ROOT,
                               env={**os.environ, "MNIST_APP_TRAINER": "external"}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    yield process
    server.stop(process, timeout=30)
    log.close()


@pytest.mark.slow
def test_a_training_run_is_its_owners_alone(mnist, store, trainer_process, monkeypatch):
    monkeypatch.setenv("MNIST_APP_TRAINER", "external")  # this test process is a web server; the trainer is apart
    person, other = visitor(), visitor()
    kept = collection.Collection(person.access)
    for index in range(12):
        kept.add(mnist.x_test[index], int(mnist.y_test[index]), prediction=int(mnist.y_test[index]),
                 confidence=0.99, source="draw", session="test")
    job = jobs.start(person, arch="small", epochs=1, limit=2000, with_collection=True)
    assert job.state == "queued"
    with pytest.raises(LimitError, match="one at a time"):
        jobs.start(person, arch="small", epochs=1, limit=2000)
    finished = jobs.wait(person, job.id, 900)
    assert finished.state == "finished", finished.message
    assert finished.worker.split(":")[1] == str(trainer_process.pid) and finished.pid not in (os.getpid(), None)
    assert finished.progress["phase"] == "done" and finished.progress["curves"][0]["epoch"] == 1
    assert "Adding the 12 digits of My digits" in finished.message
    made = registry.Registry(person.access).get(finished.model)
    assert made.owner == person.owner and made.arch == "small" and made.figures["candidate"]["my_digits"] == 12
    assert registry.Registry(other.access).get(made.id) is None  # someone else cannot even see it

    at = page("pages/10_Train.py", person).run()  # the finished run: its model beside what they read with
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["what you read with", "this model"] and table.loc["network", "this model"] == \
        "1 × small"
    at.button(key="train_promote").click().run()
    assert not at.exception and "You read with this model now" in texts(at)
    service.forget_choice()
    assert service.reading_folder(person.owner) == (made.folder, True)
    assert service.reading_folder(other.owner) == (config.MODELS_DIR, False)  # nobody else's readings change
    assert service.predictor(made.folder).model_id == made.id != service.predictor().model_id
    drawing = texts(page("pages/1_Draw.py", person).run())
    assert "Reading with" in drawing and made.description in drawing
    assert results.file_sha256(config.model_path())[:12] == service.predictor().model_id  # models/ untouched

    back = page("pages/1_Draw.py", person).run()
    back.button(key="chrome_back_to_shared").click().run()
    assert not back.exception and registry.Registry(person.access).in_use() is None


@pytest.mark.slow
def test_a_training_run_can_be_cancelled(store, trainer_process, monkeypatch):
    monkeypatch.setenv("MNIST_APP_TRAINER", "external")
    person = visitor()
    job = jobs.start(person, arch="small", epochs=5, limit=4000)
    deadline = time.monotonic() + 120
    while jobs.latest(person).state == "queued" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert jobs.latest(person).state == "running"
    assert jobs.cancel(person, job.id)
    ended = jobs.wait(person, job.id, 60)
    assert ended.state == "cancelled" and ended.model is None
    assert registry.Registry(person.access).models() == []


def test_training_can_be_switched_off(store, monkeypatch):
    monkeypatch.setenv(jobs.SETTING, "off")
    with pytest.raises(TrainingError, match="switched off"):
        jobs.start(visitor(), arch="small", epochs=1)


@pytest.mark.slow
def test_serve_starts_a_trainer_process_beside_itself_that_ends_with_it(tmp_path):
    """`make run` (python -m mnist_app serve) on a laptop: a trainer process of its own beside the web server, so
    the Train page works with nothing else to start; killed with the server, even by SIGKILL (no orphan)."""
    env = {"MNIST_APP_TRAINER": "beside", "MNIST_APP_COLLECTION": str(tmp_path / "c.sqlite"),
           "MNIST_APP_ARTIFACTS": str(tmp_path / "models"), "MNIST_APP_TRAINING_DIR": str(tmp_path / "training")}

    def trainers_of(pid: int) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                    command = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
                except OSError:
                    continue
                if int(stat[1]) == pid and command[-3:-1] == [b"mnist_app", b"trainer"]:
                    found.append(int(entry))
        return found

    with server.streamlit_server(extra_env=env) as base:
        pid = server.pid_of(base)
        deadline = time.monotonic() + 30
        while not trainers_of(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        (trainer,) = trainers_of(pid)
        assert pid != trainer
        os.kill(pid, 9)
        deadline = time.monotonic() + 15
        while os.path.exists(f"/proc/{trainer}") and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                os.waitpid(trainer, os.WNOHANG)
            except ChildProcessError:
                pass
        state = open(f"/proc/{trainer}/stat").read().rsplit(")", 1)[1].split()[0] if os.path.exists(
            f"/proc/{trainer}") else "gone"
        assert state in ("gone", "Z"), f"the trainer outlived its killed server (state {state})"


def test_sigterm_stops_a_trainer_even_while_it_holds_its_stop_events_lock():
    """A trainer or cluster stops on SIGTERM by setting an event its main thread waits on. Python runs the handler in
    that thread; setting the event right there deadlocked when the signal came inside the event's own wait (a trainer
    beside a killed server slept on for good). The signal is sent here while the lock is held, in a process of its own
    (a deadlock there ends in the timeout, not in a hung test run)."""
    script = ("import os, signal, threading, time\n"
              "from mnist_app import cli\n"
              "stop = threading.Event()\n"
              "cli._stop_on_sigterm(stop)\n"
              "with stop._cond:  # as inside stop.wait()\n"
              "    os.kill(os.getpid(), signal.SIGTERM)\n"
              "    time.sleep(0.2)\n"
              "print(stop.wait(10))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "True", done.stderr[-2000:]
