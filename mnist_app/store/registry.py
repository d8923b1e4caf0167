"""Models and who reads with which: every model trained from the dashboard belongs to the person who trained it.

The database records each model (its owner, where its files are, its figures), which model each workspace reads
with -- one of its own after "Use this model", else the shared one -- and which model is the shared one. Only an
admin makes a model the shared one; until then, and after "back to the committed model", it is the model
committed in `models/`. The files live in the artifact store (mnist_app.store.artifacts).

As in the collection, every call goes through a `Registry` made for one `Access`: a person sees and changes their
own models only (and may read with the shared one); an admin may see, share and delete anyone's.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mnist_app import config
from mnist_app.errors import AccessError, StoreError
from mnist_app.store import artifacts, database, results, schema
from mnist_app.store.collection import Access, lock_workspace

SHARED_KEY = config.SHARED_MODEL_KEY
_models, _workspaces, _settings = schema.models, schema.workspaces, schema.settings


@dataclass(frozen=True)
class Model:
    """One registered model."""

    id: str
    owner: str
    created: str
    location: str
    description: str
    arch: str | None
    networks: int | None
    parameters: int | None
    test_accuracy: float | None
    digits_used: int
    base: str | None
    figures: dict

    @property
    def folder(self) -> Path:
        return artifacts.local(self.location)


def _model(row) -> Model:
    return Model(row.id, row.owner, row.created, row.location, row.description, row.arch, row.networks,
                 row.parameters, row.test_accuracy, row.digits_used, row.base, json.loads(row.figures or "{}"))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def model_id_of(folder: Path) -> str:
    """A model's id: the first 12 hex digits of its .h5's SHA-256 (what the predictor reports as model_id)."""
    return results.file_sha256(config.model_path(folder))[:12]


class Registry:
    """The models `access` may see and the choices it may make."""

    def __init__(self, access: Access, address: str | None = None):
        if not isinstance(access, Access):
            raise TypeError("a registry is opened for an Access (whose models, and whether an admin asks)")
        self.access = access
        self.engine = database.engine(address)

    def _mine(self):
        return sa.true() if self.access.admin else _models.c.owner == self.access.owner

    def register(self, folder: Path, *, owner: str | None = None, description: str, digits_used: int = 0,
                 base: str | None = None, figures: dict | None = None) -> Model:
        """Put a trained model's files in the artifact store and record it as `owner`'s (one's own unless admin)."""
        owner = owner or self.access.owner
        if owner != self.access.owner and not self.access.admin:
            raise AccessError("a model can only be registered as one's own")
        model_id = model_id_of(folder)
        metrics = results.load_metrics(folder) or {}
        with database.transaction(self.engine, write=True) as connection:
            existing = connection.execute(sa.select(_models).where(_models.c.id == model_id)).first()
            if existing is not None:
                if existing.owner != owner:
                    raise StoreError(f"model {model_id} is registered already, by someone else")
                return _model(existing)
        location = artifacts.put(Path(folder), model_id)
        row = {"id": model_id, "owner": owner, "created": _now(), "location": location,
               "description": description, "arch": metrics.get("arch"), "networks": metrics.get("ensemble"),
               "parameters": metrics.get("parameters"), "test_accuracy": metrics.get("test_accuracy"),
               "digits_used": int(digits_used), "base": base, "figures": json.dumps(figures or {})}
        with database.transaction(self.engine, write=True) as connection:
            connection.execute(_models.insert().values(**row))
            return _model(connection.execute(sa.select(_models).where(_models.c.id == model_id)).first())

    def models(self) -> list[Model]:
        """The asker's models (an admin: everyone's), newest first."""
        with database.transaction(self.engine) as connection:
            rows = connection.execute(sa.select(_models).where(self._mine()).order_by(_models.c.created.desc(),
                                                                                      _models.c.id)).all()
        return [_model(row) for row in rows]

    def get(self, model_id: str) -> Model | None:
        """A model the asker may see: one of theirs, the shared one, or (an admin) any."""
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(_models).where(_models.c.id == model_id)).first()
            shared = _shared_id(connection)
        if row is None or not (self.access.admin or row.owner == self.access.owner or row.id == shared):
            return None
        return _model(row)

    def set_figures(self, model_id: str, figures: dict) -> None:
        """Store a model's comparison figures (computed once, shown on the Train page)."""
        with database.transaction(self.engine, write=True) as connection:
            connection.execute(_models.update().where(_models.c.id == model_id, self._mine()).values(
                figures=json.dumps(figures)))

    def delete(self, model_id: str) -> bool:
        """Forget one of the asker's models and remove its files; workspaces reading with it go back to the
        shared model. The shared model cannot be deleted (an admin shares another one first)."""
        with database.transaction(self.engine, write=True) as connection:
            row = connection.execute(sa.select(_models).where(_models.c.id == model_id, self._mine())).first()
            if row is None:
                return False
            if _shared_id(connection) == model_id:
                raise AccessError("This is the shared model: share another one before deleting it.")
            connection.execute(_workspaces.update().where(_workspaces.c.model == model_id).values(model=None))
            connection.execute(_models.delete().where(_models.c.id == model_id))
        artifacts.remove(row.location)
        return True

    def use(self, model_id: str | None) -> None:
        """Read with one of the asker's own models from now on (None: back to the shared model)."""
        with database.transaction(self.engine, write=True) as connection:
            if model_id is not None:
                owner = connection.execute(sa.select(_models.c.owner).where(_models.c.id == model_id)).scalar()
                if owner != self.access.owner:
                    raise AccessError("Only one of your own models can be the one you read with.")
            lock_workspace(connection, self.access.owner)
            connection.execute(_workspaces.update().where(_workspaces.c.owner == self.access.owner).values(
                model=model_id))

    def in_use(self) -> Model | None:
        """The asker's own model they read with, or None (they read with the shared model)."""
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(_models).join(_workspaces, _workspaces.c.model == _models.c.id).where(
                _workspaces.c.owner == self.access.owner)).first()
        return None if row is None else _model(row)

    def shared(self) -> Model | None:
        """The shared model's record, or None: the committed model (models/) is the shared one."""
        with database.transaction(self.engine) as connection:
            shared = _shared_id(connection)
            row = None if shared is None else connection.execute(sa.select(_models).where(
                _models.c.id == shared)).first()
        return None if row is None else _model(row)

    def share(self, model_id: str | None) -> None:
        """An admin's choice of the model everyone reads with (None: the committed model again)."""
        if not self.access.admin:
            raise AccessError("Only an admin can make a model the shared one.")
        with database.transaction(self.engine, write=True) as connection:
            if model_id is not None and connection.execute(sa.select(_models.c.id).where(
                    _models.c.id == model_id)).first() is None:
                raise StoreError(f"There is no model {model_id}: `mnist-app models list` shows them.")
            connection.execute(_settings.delete().where(_settings.c.key == SHARED_KEY))
            if model_id is not None:
                connection.execute(_settings.insert().values(key=SHARED_KEY, value=model_id))

    def reading_folder(self) -> Path:
        """Where the asker's readings come from: their own model in use, else the shared one."""
        return folders(self.engine, self.access.owner)[0]


def _shared_id(connection: sa.Connection) -> str | None:
    return connection.execute(sa.select(_settings.c.value).where(_settings.c.key == SHARED_KEY)).scalar()


def locations(engine: sa.Engine, owner: str | None) -> tuple[str | None, bool]:
    """(where the model `owner` reads with is stored, whether it is their own model), in two small queries: the
    shared model's location when they use none of their own, or for None; None for the committed model."""
    with database.transaction(engine) as connection:
        own = None if owner is None else connection.execute(
            sa.select(_models.c.location).join(_workspaces, _workspaces.c.model == _models.c.id).where(
                _workspaces.c.owner == owner)).scalar()
        if own is not None:
            return own, True
        shared = connection.execute(sa.select(_models.c.location).join(
            _settings, (_settings.c.key == SHARED_KEY) & (_settings.c.value == _models.c.id))).scalar()
    return shared, False


def folders(engine: sa.Engine, owner: str | None) -> tuple[Path, bool]:
    """(the local folder `owner` reads with, whether it is their own model): the committed models/ until an admin
    shares another; a model stored at a URL is fetched into the local cache first (mnist_app.store.artifacts)."""
    location, own = locations(engine, owner)
    return (artifacts.local(location) if location else Path(config.MODELS_DIR)), own
