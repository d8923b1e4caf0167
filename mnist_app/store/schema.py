"""The tables of the store, as SQLAlchemy Core describes them (the Alembic revisions in `migrations/` make them).

Every row that belongs to someone names its `owner`: "local" (what was kept before there were workspaces, and
what the server's command line keeps), "anon:<hash>" (an anonymous browser's workspace) or "user:<subject>" (a
signed-in account). The store's functions filter on it; see mnist_app.store.collection and .registry.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

LOCAL_OWNER = "local"  # the owner of migrated digits and of the command line's own

digits = sa.Table(
    "digits", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False, server_default=LOCAL_OWNER),
    sa.Column("session", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("label", sa.Integer, sa.CheckConstraint("label BETWEEN 0 AND 9"), nullable=False),
    sa.Column("prediction", sa.Integer, sa.CheckConstraint("prediction BETWEEN -1 AND 9"), nullable=False),
    sa.Column("confidence", sa.Float),
    sa.Column("image", sa.LargeBinary, sa.CheckConstraint("length(image) = 784"), nullable=False),
    sa.Column("original", sa.LargeBinary),  # only when the person ticked "keep my picture too"
    sa.Column("model", sa.Text),  # the id of the model that answered
    sa.Index("digits_by_label", "label"),
    sa.Index("digits_by_owner", "owner", "id"),
)

# One row per workspace that has chosen something: which of its models it reads with (None: the shared one).
workspaces = sa.Table(
    "workspaces", metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("model", sa.Text),
)

# Every model trained from the dashboard (and the committed one, once registered): who owns it, where its files
# are, and its figures. The files live in the artifact store (mnist_app.store.registry), never in the database.
models = sa.Table(
    "models", metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the first 12 hex digits of its .h5's SHA-256
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),  # its folder in the artifact store
    sa.Column("description", sa.Text, nullable=False),  # "fine-tuned on 12 of your digits", "1 × small, 3 epochs"
    sa.Column("arch", sa.Text),
    sa.Column("networks", sa.Integer),
    sa.Column("parameters", sa.Integer),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("digits_used", sa.Integer, nullable=False, server_default="0"),  # the owner's digits it learned
    sa.Column("base", sa.Text),  # the model it was fine-tuned from
    sa.Column("figures", sa.Text),  # JSON: its comparison with the model it would replace
    sa.Index("models_by_owner", "owner", "created"),
)

# Server-wide choices: "shared_model" is the id of the model everyone reads with (none: the committed model).
settings = sa.Table(
    "settings", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
)

# Training runs asked for on the Train page: queued, then claimed and run by a trainer.
jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # queued, running, finished, failed, cancelled
    sa.Column("recipe", sa.Text, nullable=False),  # JSON
    sa.Column("created", sa.Float, nullable=False),  # seconds since the epoch, for ordering and daily limits
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
    sa.Column("worker", sa.Text),  # host:pid of the trainer that claimed it
    sa.Column("pid", sa.Integer),  # the training process
    sa.Column("heartbeat", sa.Float),  # when its trainer last said it is alive (a silent one has stopped)
    sa.Column("progress", sa.Text),  # JSON, as the training process reports it
    sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("model", sa.Text),  # the candidate it registered
    sa.Column("message", sa.Text),  # why it failed, the end of its log
    sa.Index("jobs_by_state", "state", "created"),
    sa.Index("jobs_by_owner", "owner", "created"),
)
