"""Workspaces, models and the training queue: each person's models, which one they read with, the shared one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("owner", sa.Text, primary_key=True),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("arch", sa.Text),
        sa.Column("networks", sa.Integer),
        sa.Column("parameters", sa.Integer),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("digits_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("base", sa.Text),
        sa.Column("figures", sa.Text),
    )
    op.create_index("models_by_owner", "models", ["owner", "created"])
    op.create_table(
        "settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("recipe", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("finished", sa.Float),
        sa.Column("worker", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("heartbeat", sa.Float),
        sa.Column("progress", sa.Text),
        sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("model", sa.Text),
        sa.Column("message", sa.Text),
    )
    op.create_index("jobs_by_state", "jobs", ["state", "created"])
    op.create_index("jobs_by_owner", "jobs", ["owner", "created"])


def downgrade() -> None:
    raise NotImplementedError("the store is never migrated backwards: restore a copy of the file instead")
