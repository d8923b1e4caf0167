"""Digits with owners: the collection's table, or today's hand-written schema adopted in place.

A file of the schema before Alembic (a `schema_version` table at 1 or 2) keeps every digit: they gain an owner,
"local", and (version 1) the id of the model that answered; the hand-written version table goes. A new store
gets the table as it is now.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LOCAL_OWNER = "local"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "digits" in tables:
        columns = {column["name"] for column in inspector.get_columns("digits")}
        op.add_column("digits", sa.Column("owner", sa.Text, nullable=False, server_default=LOCAL_OWNER))
        if "model" not in columns:  # version 1 of the hand-written schema
            op.add_column("digits", sa.Column("model", sa.Text))
        if "digits_by_label" not in {index["name"] for index in inspector.get_indexes("digits")}:
            op.create_index("digits_by_label", "digits", ["label"])
        if "schema_version" in tables:
            op.drop_table("schema_version")
    else:
        op.create_table(
            "digits",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created", sa.Text, nullable=False),
            sa.Column("owner", sa.Text, nullable=False, server_default=LOCAL_OWNER),
            sa.Column("session", sa.Text, nullable=False),
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("label", sa.Integer, sa.CheckConstraint("label BETWEEN 0 AND 9"), nullable=False),
            sa.Column("prediction", sa.Integer, sa.CheckConstraint("prediction BETWEEN -1 AND 9"), nullable=False),
            sa.Column("confidence", sa.Float),
            sa.Column("image", sa.LargeBinary, sa.CheckConstraint("length(image) = 784"), nullable=False),
            sa.Column("original", sa.LargeBinary),
            sa.Column("model", sa.Text),
        )
        op.create_index("digits_by_label", "digits", ["label"])
    op.create_index("digits_by_owner", "digits", ["owner", "id"])


def downgrade() -> None:
    raise NotImplementedError("the store is never migrated backwards: restore a copy of the file instead")
