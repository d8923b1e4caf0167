"""Alembic's environment for the store: migrations run on the connection mnist_app.store.database hands in."""

from alembic import context

from mnist_app.store import schema

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters tables by copying them, which Alembic's batch mode does for us.
context.configure(connection=connection, target_metadata=schema.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
