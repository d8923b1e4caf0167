"""The training queue: a training run asked for on the Train page is a job row, claimed and run by a trainer.

Rules, checked in the same transaction as the insert: one job at a time per person (queued or running), a number
of runs per person per day (`MNIST_APP_TRAINING_PER_DAY`, 5 by default) and a queue of bounded length
(`MNIST_APP_TRAINING_QUEUE`, 8), beyond which the page says "busy, try later". A trainer claims the oldest queued
job while fewer than its server-wide number of slots are running (`claim`; on PostgreSQL with SELECT ... FOR
UPDATE SKIP LOCKED, so several trainers never take the same job). Progress, cancel requests and the outcome are
columns of the row: any machine can show or cancel any job it may see.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import sqlalchemy as sa

from mnist_app.errors import LimitError
from mnist_app.store import database, schema
from mnist_app.store.collection import Access, lock_workspace

PER_DAY_SETTING = "MNIST_APP_TRAINING_PER_DAY"
QUEUE_SETTING = "MNIST_APP_TRAINING_QUEUE"
ACTIVE = ("queued", "running")
ENDED = ("finished", "failed", "cancelled")
SILENT_AFTER = 60  # seconds without a trainer's heartbeat after which a running job is taken for lost
_jobs = schema.jobs


def _fail_lost(connection: sa.Connection) -> None:
    """Running jobs whose trainer stopped beating (a crashed machine, a killed trainer) end as failed."""
    now = time.time()
    connection.execute(_jobs.update().where(
        _jobs.c.state == "running", sa.func.coalesce(_jobs.c.heartbeat, _jobs.c.started) < now - SILENT_AFTER).values(
        state="failed", finished=now, message="its trainer stopped answering"))


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _count(connection: sa.Connection, *where) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(_jobs).where(*where)).scalar())


@dataclass(frozen=True)
class Job:
    """One training run, as the queue knows it."""

    id: int
    owner: str
    state: str
    recipe: dict
    created: float
    started: float | None
    finished: float | None
    worker: str | None
    pid: int | None
    heartbeat: float | None
    progress: dict
    cancel: bool
    model: str | None
    message: str | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _job(row) -> Job:
    return Job(row.id, row.owner, row.state, json.loads(row.recipe), row.created, row.started, row.finished,
               row.worker, row.pid, row.heartbeat, json.loads(row.progress or "{}"), bool(row.cancel), row.model,
               row.message)


class Queue:
    """The jobs `access` may see and start: its own (an admin: everyone's)."""

    def __init__(self, access: Access, address: str | None = None):
        self.access = access
        self.engine = database.engine(address)

    def _mine(self):
        return sa.true() if self.access.admin else _jobs.c.owner == self.access.owner

    def submit(self, recipe: dict) -> Job:
        """Queue a training run for the asker; LimitError when they have one going, ran their share today, or the
        queue is full."""
        per_day, queue_length = _setting(PER_DAY_SETTING, 5), _setting(QUEUE_SETTING, 8)
        now = time.time()
        with database.transaction(self.engine, write=True) as connection:
            lock_workspace(connection, self.access.owner)  # one submission per person at a time
            _fail_lost(connection)
            mine = _jobs.c.owner == self.access.owner
            if connection.execute(sa.select(_jobs.c.id).where(mine, _jobs.c.state.in_(ACTIVE))).first():
                raise LimitError("You have a training run going already: one at a time per person.")
            today = _count(connection, mine, _jobs.c.created > now - 86_400)
            if today >= per_day and not self.access.admin:
                raise LimitError(f"You have trained {today} times in the last 24 hours, the limit on this server: "
                                 "try again tomorrow.")
            waiting = _count(connection, _jobs.c.state == "queued")
            if waiting >= queue_length:
                raise LimitError(f"The server is busy: {waiting} training runs are waiting. Try again later.")
            job_id = connection.execute(_jobs.insert().values(
                owner=self.access.owner, state="queued", recipe=json.dumps(recipe), created=now, cancel=False,
                progress="{}").returning(_jobs.c.id)).scalar()
            return _job(connection.execute(sa.select(_jobs).where(_jobs.c.id == job_id)).first())

    def latest(self) -> Job | None:
        """The asker's newest job."""
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(_jobs).where(_jobs.c.owner == self.access.owner).order_by(
                _jobs.c.created.desc(), _jobs.c.id.desc()).limit(1)).first()
        return None if row is None else _job(row)

    def get(self, job_id: int) -> Job | None:
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(_jobs).where(_jobs.c.id == int(job_id), self._mine())).first()
        return None if row is None else _job(row)

    def jobs(self, limit: int = 50) -> list[Job]:
        """The asker's jobs (an admin: everyone's), newest first."""
        with database.transaction(self.engine) as connection:
            rows = connection.execute(sa.select(_jobs).where(self._mine()).order_by(_jobs.c.id.desc()).limit(
                limit)).all()
        return [_job(row) for row in rows]

    def ahead_of(self, job: Job) -> int:
        """How many queued jobs will be claimed before this one."""
        with database.transaction(self.engine) as connection:
            return _count(connection, _jobs.c.state == "queued", _jobs.c.id < job.id)

    def cancel(self, job_id: int) -> bool:
        """Ask for a job to stop: a queued one is cancelled at once, a running one by its trainer within a
        second or two. False when the asker has no such active job."""
        with database.transaction(self.engine, write=True) as connection:
            row = connection.execute(sa.select(_jobs).where(_jobs.c.id == int(job_id), self._mine()).with_for_update()
                                     ).first()
            if row is None or row.state not in ACTIVE:
                return False
            values = {"cancel": True}
            if row.state == "queued":
                values.update(state="cancelled", finished=time.time())
            connection.execute(_jobs.update().where(_jobs.c.id == row.id).values(**values))
            return True


class Trainers:
    """The trainers' side of the queue (a server process: no person's access)."""

    def __init__(self, address: str | None = None):
        self.engine = database.engine(address)

    def waiting(self) -> bool:
        """Whether any job is queued (a cheap read, before a trainer tries a claim)."""
        with database.transaction(self.engine) as connection:
            return connection.execute(sa.select(_jobs.c.id).where(_jobs.c.state == "queued").limit(1)).first() \
                is not None

    def claim(self, worker: str, slots: int) -> Job | None:
        """Take the oldest queued job when fewer than `slots` run on the whole server; None otherwise."""
        with database.transaction(self.engine, write=True) as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:  # trainers count the running jobs one at a time; the lock ends with the transaction
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(20261203)"))
            _fail_lost(connection)
            running = _count(connection, _jobs.c.state == "running")
            if running >= slots:
                return None
            query = sa.select(_jobs).where(_jobs.c.state == "queued").order_by(_jobs.c.id).limit(1)
            row = connection.execute(query.with_for_update(skip_locked=True) if postgres else query).first()
            if row is None:
                return None
            connection.execute(_jobs.update().where(_jobs.c.id == row.id).values(
                state="running", started=time.time(), heartbeat=time.time(), worker=worker))
            return _job(connection.execute(sa.select(_jobs).where(_jobs.c.id == row.id)).first())

    def update(self, job_id: int, **values) -> None:
        """Record a running job's progress, process or outcome."""
        if "progress" in values and not isinstance(values["progress"], str):
            values["progress"] = json.dumps(values["progress"])
        with database.transaction(self.engine, write=True) as connection:
            connection.execute(_jobs.update().where(_jobs.c.id == int(job_id)).values(**values))

    def get(self, job_id: int) -> Job | None:
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(_jobs).where(_jobs.c.id == int(job_id))).first()
        return None if row is None else _job(row)

    def abandoned(self, worker_prefix: str) -> list[Job]:
        """Running jobs claimed by this machine's trainers (a restarted trainer fails the ones it lost)."""
        with database.transaction(self.engine) as connection:
            rows = connection.execute(sa.select(_jobs).where(_jobs.c.state == "running",
                                                             _jobs.c.worker.like(f"{worker_prefix}%"))).all()
        return [_job(row) for row in rows]
