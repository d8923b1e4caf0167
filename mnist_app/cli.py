"""`python -m mnist_app` (or `mnist-app`): data, predict, evaluate, train, export, calibrate, collection, models,
trainer, serve, cluster, robustness.

`predict`, `evaluate` and `data` must start like a command: TensorFlow (training, exports) and
Streamlit (serve) are imported inside the commands that need them, never at the top of this module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.errors import ImageError, MnistAppError
from mnist_app.images import explain, preprocess, reading
from mnist_app.measure import decision, evaluate, robustness
from mnist_app.network import inference
from mnist_app.network import recipe as recipes
from mnist_app.serving import batch
from mnist_app.store import data, results

PREDICT_CHUNK = 256  # inputs predicted together; bounds memory for huge path lists


def shared_folder() -> Path:
    """The model everyone reads with: the committed one (models/), unless an admin shared another. The store is
    asked only when there is one (a fresh checkout has none, and `predict` makes none), as it is: a store not yet
    migrated has no shared model. The embedded SQLite store is first asked with the standard library whether any
    model is shared at all: mostly none is, and SQLAlchemy (0.3-0.4 s to import here) is then not needed."""
    if not config.store_exists() or _nothing_shared_in_sqlite():
        return Path(config.MODELS_DIR)
    import sqlalchemy  # deferred, like the store: only worth its import when a model may be shared

    from mnist_app.store import database, registry

    try:
        return registry.folders(database.engine(migrate=False), None)[0]
    except sqlalchemy.exc.DBAPIError:  # no such table yet
        return Path(config.MODELS_DIR)


def _nothing_shared_in_sqlite() -> bool:
    """Whether the embedded SQLite store, read with the standard library, shares no model (False when a database
    URL names another store, or when the file cannot be read this way: the store's own code then asks)."""
    if os.environ.get(config.DATABASE_URL_SETTING):
        return False
    import sqlite3

    address = f"{config.collection_path().resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(address, uri=True)) as connection:
            row = connection.execute("SELECT value FROM settings WHERE key = ?", (config.SHARED_MODEL_KEY,)).fetchone()
    except sqlite3.OperationalError as error:
        return str(error).startswith("no such table")  # a store not yet migrated shares nothing
    except sqlite3.Error:
        return False
    return row is None


def _predictor(backend: str, folder: Path | None = None) -> inference.Predictor:
    """The predictor a command asked for, of the shared model by default. The fast path needs no TensorFlow;
    "keras", and "auto" when the ONNX export is missing or stale, load the Keras reference path
    (mnist_app.training.reference)."""
    folder = folder or shared_folder()
    if backend == "onnx":
        return inference.Predictor(folder)
    if backend == "auto":
        try:
            return inference.Predictor(folder)
        except inference.StaleExportError:
            pass  # the .h5 is there, its export is not current: Keras answers instead (with a note)
    from mnist_app.training import reference  # TensorFlow: only the reference path needs it

    return reference.Predictor(folder, backend=backend)


def command_data(args) -> int:
    print(data.summary(data.load_mnist(log=print)))
    return 0


def command_predict(args) -> int:
    items = batch.expand(args.paths)
    if args.cluster or args.scheduler:
        return _predict_on_dask(args, items)
    if args.output:
        raise MnistAppError("--output goes with --cluster local or --scheduler ADDRESS (a Dask cluster); "
                            "without them, use --json and redirect the output")
    sources = []
    for item in items:
        try:
            sources.append(batch.read_input(item))
        except MnistAppError as error:
            sources.append(ImageError(str(error)))
    readable = [source for source in sources if not isinstance(source, ImageError)]
    # The workers start before ONNX Runtime starts its threads (see mnist_app.serving.batch).
    stream = iter(batch.PreparedStream(readable, number=args.number, workers=args.workers))
    predictor = _predictor(args.backend)
    failures = 0
    if not args.json:
        print(f"{'input':<40} {'number':>12}  digits (confidence)" if args.number else
              f"{'input':<40} {'digit':>5} {'confidence':>10}  top {args.top}")
    for start in range(0, len(sources), PREDICT_CHUNK):
        ready = [source if isinstance(source, ImageError) else next(stream)
                 for source in sources[start: start + PREDICT_CHUNK]]
        answers = iter(reading.read_prepared([p for p in ready if not isinstance(p, ImageError)], predictor))
        for position, (item, result) in enumerate(zip(items[start:], ready), start=start):
            result = result if isinstance(result, ImageError) else next(answers)
            failures += isinstance(result, ImageError)
            why = _explain(predictor, result, item, position, args.explain) if args.explain else None
            print(batch.json_line(item, result, args.number, why) if args.json else
                  _format_row(item, result, args.number, args.top, why), flush=True)
    return 1 if failures else 0


def _predict_on_dask(args, items: list[str]) -> int:
    """predict on Dask distributed: JSON lines in input order, to stdout or --output (resumed when it exists)."""
    from mnist_app.serving import dask_predict  # deferred: Dask is imported only when a cluster is asked for

    if args.explain or args.backend == "keras":
        raise MnistAppError("--cluster/--scheduler answer with the ONNX model; --explain and --backend keras run "
                            "in this process only")
    if args.cluster not in (None, "local"):
        raise MnistAppError(f"--cluster {args.cluster}: only 'local' (use --scheduler ADDRESS for another cluster)")
    summary = dask_predict.run(items, shared_folder(), number=args.number, scheduler=args.scheduler,
                               workers=args.workers, output=Path(args.output) if args.output else None,
                               progress=dask_predict.progress_bar())
    print(f"predict: {summary.answered} answered, {summary.skipped} already in the output, "
          f"{summary.failed} could not be read", file=sys.stderr)
    return 1 if summary.failed else 0


def _explain(predictor, result, item: str, position: int, folder) -> str | None:
    """Save the why-this-digit occlusion map of one digit reading as a PNG; return its path."""
    if isinstance(result, ImageError) or not result.has_digit or result.whole_number:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(item.split("?")[0]).stem or "image"
    target = folder / f"{position:04d}_{stem}_why_{result.digit}.png"
    heat = explain.occlusion_map(predictor, result.model_input, result.digit)
    explain.overlay(result.model_input, heat).save(target)
    return str(target)


def _short(item: str) -> str:
    return item if len(item) <= 40 else "…" + item[-39:]


def _format_row(item: str, result, number: bool, top: int, why: str | None = None) -> str:
    name = _short(item)
    if number:
        if isinstance(result, ImageError):
            return f"{name:<40} {'-':>12}  error: {result}"
        digits = ", ".join(f"{d.digit} ({d.confidence:.0%})" for d in result.digits)
        return f"{name:<40} {result.number or '-':>12}  {digits or result.reason}"
    if isinstance(result, ImageError):
        return f"{name:<40} {'-':>5} {'-':>10}  error: {result}"
    if not result.has_digit:
        return f"{name:<40} {'-':>5} {'-':>10}  {result.reason}"
    ranking = ", ".join(f"{digit} {probability:.1%}" for digit, probability in result.top(top))
    flag = "  (unsure)" if result.unsure else ""
    saved = f"  why: {why}" if why else ""
    return f"{name:<40} {result.digit:>5} {result.confidence:>10.2%}  {ranking}{flag}{saved}"


def command_evaluate(args) -> int:
    predictor = _predictor(args.backend)
    test_set = data.load_test_set()
    started = time.perf_counter()
    probabilities = predictor.predict_batch(preprocess.normalize_mnist(test_set.x_test)).astype(np.float64)
    seconds = time.perf_counter() - started
    report = evaluate.classification_report(probabilities, test_set.y_test)
    result = {"accuracy": report["accuracy"], "loss": report["loss"], "errors": report["errors"],
              "images": report["count"], "backend": predictor.backend, "model": str(predictor.model_path),
              "seconds": round(seconds, 3)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Test accuracy {result['accuracy']:.2%} ({result['errors']} errors in {result['images']} images), "
              f"loss {result['loss']:.4f}; {predictor.backend} back-end, {seconds:.2f} s.")
    return 0


def _command_line() -> str:
    """How this run was started, as a person would type it (recorded in metrics.json)."""
    started_as = Path(sys.argv[0])
    if started_as.name == "__main__.py":
        return shlex.join(["python", "-m", "mnist_app", *sys.argv[1:]])
    if started_as.suffix == ".py":  # scripts/train.py
        return shlex.join(["python", *sys.argv])
    return shlex.join([started_as.name, *sys.argv[1:]])  # the mnist-app console script


def command_train(args) -> int:
    from mnist_app.training import train  # TensorFlow: only this command and export need it

    train.run(recipes.from_arguments(args), command=_command_line())
    return 0


def command_export(args) -> int:
    from mnist_app.training import export  # TensorFlow: only this command and train need it

    report = export.export_all()
    print(f"Exports of {report['source']} (verified on the 10,000 test images):")
    for name, figures in report["exports"].items():
        print(f"  {name:<12} {figures['path']:<45} argmax identical {figures['argmax_identical']}/"
              f"{figures['images']}, max probability difference {figures['max_abs_probability_difference']:.1e}")
    return 0


def command_calibrate(args) -> int:
    metrics = results.load_metrics()
    if metrics is None:
        raise MnistAppError(f"No {config.metrics_path()} to update. Train first: {config.TRAIN_COMMAND_HINT}")
    from mnist_app.training import calibrate  # SciPy: only fitting needs it

    metrics.update(calibrate.fit(_predictor(args.backend, config.MODELS_DIR), log=print))  # the committed model
    results.save_metrics(metrics)
    print(decision.summary(metrics))
    return 0


def command_robustness(args) -> int:
    test_set = data.load_test_set()
    figures = robustness.measure(test_set.x_test, test_set.y_test, per_style=args.per_style)
    print(json.dumps(figures) if args.json else robustness.format_table(figures))
    return 0


def command_collection(args) -> int:
    """The server's command line is an admin: everyone's digits, or one workspace's with --owner."""
    from mnist_app.serving import people  # deferred: the store (SQLAlchemy), only for the commands that use it
    from mnist_app.store import collection

    server = people.server().access
    kept = (collection.Collection(collection.Access(args.owner), everyone=False) if args.owner
            else collection.Collection(server, everyone=True))
    if args.action == "stats":
        figures = kept.stats()
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"{figures['digits']} digits ({kept.where}) in {figures['store']}; {figures['wrong_when_saved']} "
                  "were answered wrong when kept.")
            print("per label: " + ", ".join(f"{digit}: {count}" for digit, count in figures["per_label"].items()))
            print("per source: " + (", ".join(f"{source}: {count}" for source, count in figures["per_source"].items())
                                    or "-"))
            if "per_owner" in figures:
                print("per workspace: " + (", ".join(f"{owner}: {count}" for owner, count in
                                                     figures["per_owner"].items()) or "-"))
        return 0
    if args.action == "delete":
        if not args.owner:
            raise MnistAppError("say whose digits to delete: --owner OWNER (see `collection stats`)")
        print(f"Deleted {kept.clear()} digits of {args.owner}.")
        return 0
    if not (args.npz or args.zip):
        raise MnistAppError("say where to write: --npz FILE (MNIST-format arrays) and/or --zip FILE (PNGs + CSV)")
    for target, payload in ((args.npz, kept.export_npz), (args.zip, kept.export_zip)):
        if target:
            Path(target).write_bytes(payload())
            print(f"Wrote {target} ({kept.count()} digits).")
    return 0


def command_models(args) -> int:
    """Every model people trained, and which one everyone reads with (the server's command line is an admin)."""
    from mnist_app.serving import people  # deferred: the store (SQLAlchemy), only for the commands that use it
    from mnist_app.store import registry

    models = registry.Registry(people.server().access)
    if args.action == "list":
        shared = models.shared()
        listed = models.models()
        if args.json:
            print(json.dumps({"shared": shared.id if shared else None, "models": [
                {"id": m.id, "owner": m.owner, "created": m.created, "description": m.description, "arch": m.arch,
                 "networks": m.networks, "parameters": m.parameters, "test_accuracy": m.test_accuracy,
                 "location": m.location} for m in listed]}))
            return 0
        print(f"shared: {shared.id + ' (' + shared.description + ')' if shared else 'the committed model'}"
              f" [{config.MODELS_DIR if shared is None else shared.location}]")
        for m in listed:
            accuracy = f"{m.test_accuracy:.2%}" if m.test_accuracy else "-"
            print(f"{m.id}  {m.created[:16]}  {m.owner:<40} {accuracy:>7}  {m.networks or 1} x {m.arch}  "
                  f"{m.description}")
        return 0
    if args.action == "promote":
        if not args.id:
            raise MnistAppError("say which model: mnist-app models promote ID (see `mnist-app models list`)")
        models.share(None if args.id == "committed" else args.id)
        print(f"Everyone now reads with {'the committed model' if args.id == 'committed' else args.id}.")
        return 0
    if not args.id:
        raise MnistAppError("say which model: mnist-app models delete ID")
    print(f"Deleted {args.id}." if models.delete(args.id) else f"No model {args.id}.")
    return 0


def _stop_on_sigterm(stop) -> None:
    """SIGTERM sets the event `stop`, from a thread of its own. Python runs a signal handler in the main thread between
    two of its steps; setting the event there deadlocks when those steps were inside that event's own wait, which holds
    its lock (seen: a trainer whose server was killed slept on for good, its handler waiting for that lock)."""
    import signal
    import threading

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop.set, daemon=True).start())


def command_trainer(args) -> int:
    """A trainer: claims training jobs from the queue and runs them until stopped (Ctrl-C or SIGTERM)."""
    import threading

    from mnist_app.serving import trainer  # deferred: the store (SQLAlchemy), only for the commands that use it

    stop = threading.Event()
    _stop_on_sigterm(stop)
    try:
        trainer.Trainer(log=lambda message: print(message, flush=True)).run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def command_cluster(args) -> int:
    """HAProxy, N replicas, a trainer and (without MNIST_APP_DATABASE_URL) PostgreSQL on this machine, until
    Ctrl-C or SIGTERM; a replica or trainer that dies is started again."""
    import threading

    from mnist_app.serving import cluster  # deferred: starts servers, only this command needs it

    stop = threading.Event()
    _stop_on_sigterm(stop)
    running = cluster.Cluster(replicas=args.replicas, port=args.port, host=args.host,
                              log=lambda message: print(message, flush=True))
    try:
        running.start()
        print(f"The dashboard: {running.url} (logs in {running.logs}); Ctrl-C stops everything.", flush=True)
        running.supervise(stop.is_set)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


def no_config_watchers() -> bool:
    """Keep Streamlit from polling its config.toml files five times a second for the life of the server.

    `streamlit run` starts a polling watcher on every config file it could read (whatever
    server.fileWatcherType says) to reload options edited while the server runs. This app reads its options
    once, at start-up; the polling cost ~9 % of the server's busy time while people drew (a py-spy profile of
    20 strokes). Streamlit offers no option for it, so its installer is replaced with one that installs nothing.
    Returns whether the installer was found (a newer Streamlit may have moved it: then it stays).
    """
    from streamlit.web import bootstrap  # only `serve` runs Streamlit

    if not hasattr(bootstrap, "_install_config_watchers"):
        return False
    bootstrap._install_config_watchers = lambda flag_options: None
    return True


def command_serve(args) -> int:
    """The dashboard, warmed: Streamlit serving Home.py (through mnist_app/ui/asgi.py, which gives every browser
    its workspace cookie) in this process, after starting the warm-up thread and, unless trainers run elsewhere,
    a trainer thread."""
    from streamlit.web import cli as streamlit_cli  # only this command runs Streamlit

    from mnist_app.serving import service, trainer  # deferred with Streamlit: the store, SQLAlchemy

    os.chdir(config.PROJECT_ROOT)  # .streamlit/ (settings and secrets) is the project's, wherever this started
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    from mnist_app.ui import charts  # with Streamlit: the dashboard's own pieces

    service.warm_up_in_background(log=log, extra={"charts": charts.warm_up})
    trainer.start_beside(log=log)
    if not no_config_watchers():
        log("serve: Streamlit's config watchers could not be turned off; they poll 5 times a second")
    sys.argv = ["streamlit", "run", str(config.PROJECT_ROOT / "mnist_app" / "ui" / "asgi.py"),
                *args.streamlit_options]
    return streamlit_cli.main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("data", help="prepare MNIST (offline first) and print a summary").set_defaults(run=command_data)

    predict = commands.add_parser("predict", help="predict the digit in image files or URLs")
    predict.add_argument("paths", nargs="+", metavar="PATH",
                         help="image files, globs ('scans/*.png'), http(s) URLs or fsspec URLs (s3://..., file://...)")
    predict.add_argument("--json", action="store_true", help="one JSON object per input, one per line")
    predict.add_argument("--top", type=int, default=3, metavar="K", help="show the K most likely digits (default 3)")
    predict.add_argument("--explain", metavar="DIR",
                         help="also save a why-this-digit occlusion map per prediction as a PNG in DIR")
    predict.add_argument("--number", action="store_true",
                         help="read a whole number (several digits) per image instead of one digit")
    predict.add_argument("--backend", choices=inference.BACKENDS, default="auto")
    predict.add_argument("--workers", type=int, default=None, metavar="N",
                         help="processes that decode and prepare images (default: one per core; 1 = no workers)")
    predict.add_argument("--cluster", choices=["local"], default=None,
                         help="answer on a Dask LocalCluster on this machine (one worker per core, or --workers N)")
    predict.add_argument("--scheduler", metavar="ADDRESS", default=None,
                         help="answer on a running Dask cluster, e.g. tcp://HOST:8786")
    predict.add_argument("--output", metavar="FILE", default=None,
                         help="with --cluster/--scheduler: write JSON lines (.jsonl) or a table (.parquet) to FILE; "
                              "inputs already in FILE are skipped (a stopped run resumes)")
    predict.set_defaults(run=command_predict)

    evaluate_ = commands.add_parser("evaluate", help="accuracy and loss of the committed model on the test set")
    evaluate_.add_argument("--json", action="store_true")
    evaluate_.add_argument("--backend", choices=inference.BACKENDS, default="auto")
    evaluate_.set_defaults(run=command_evaluate)

    training = commands.add_parser("train", help="train the model (same as scripts/train.py)")
    recipes.add_arguments(training)
    training.set_defaults(run=command_train)

    exporting = commands.add_parser("export", help="export the model (.keras, SavedModel, .tflite, ONNX), verify each")
    exporting.set_defaults(run=command_export)

    calibrate = commands.add_parser("calibrate", help="fit the 'no digit' threshold and the confidence temperature "
                                                      "on held-out user-style images")
    calibrate.add_argument("--backend", choices=inference.BACKENDS, default="auto")
    calibrate.set_defaults(run=command_calibrate)

    serve = commands.add_parser("serve", help="run the dashboard, with the model loaded as the server starts",
                                description="Run the dashboard (Home.py) with Streamlit; the model and the test-set "
                                            "figures are loaded while the server starts. Other options go to "
                                            "`streamlit run`, e.g. --server.port 8502.")
    serve.set_defaults(run=command_serve)  # its unknown options are passed on to `streamlit run` (see main)

    kept = commands.add_parser("collection", help="the digits kept in My digits: statistics, export, delete "
                                                  "(everyone's, or one workspace's with --owner)")
    kept.add_argument("action", choices=("stats", "export", "delete"))
    kept.add_argument("--owner", metavar="OWNER", help="one workspace's digits only (delete needs it)")
    kept.add_argument("--npz", metavar="FILE", help="export: MNIST-format arrays x (N, 28, 28) and y (N,)")
    kept.add_argument("--zip", metavar="FILE", help="export: one PNG per digit and digits.csv")
    kept.add_argument("--json", action="store_true", help="stats: as one JSON object")
    kept.set_defaults(run=command_collection)

    listing = commands.add_parser("models", help="the models people trained, and the shared one: list, promote ID "
                                                 "(make it everyone's; 'committed' for the committed model), delete ID")
    listing.add_argument("action", choices=("list", "promote", "delete"))
    listing.add_argument("id", nargs="?", help="a model id (from `models list`)")
    listing.add_argument("--json", action="store_true", help="list: as one JSON object")
    listing.set_defaults(run=command_models)

    commands.add_parser("trainer", help="run a trainer: claim training jobs from the queue and run them").set_defaults(
        run=command_trainer)

    several = commands.add_parser("cluster", help="HAProxy in front of N dashboard replicas, a trainer and a local "
                                                  "PostgreSQL (unless MNIST_APP_DATABASE_URL names a database)")
    several.add_argument("--replicas", type=int, default=2, metavar="N", help="dashboard processes (default 2)")
    several.add_argument("--port", type=int, default=8500, metavar="P", help="the balancer's port (default 8500)")
    several.add_argument("--host", default="127.0.0.1", help="the address everything binds (default 127.0.0.1)")
    several.set_defaults(run=command_cluster)

    robust = commands.add_parser("robustness", help="accuracy on user-style images, per style")
    robust.add_argument("--per-style", type=int, default=200)
    robust.add_argument("--json", action="store_true")
    robust.set_defaults(run=command_robustness)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors the user can act on are printed without a traceback."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "serve":
        args.streamlit_options = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.run(args)
    except MnistAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
