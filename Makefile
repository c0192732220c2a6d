# Every target that runs Python depends on the virtual environment, so a fresh
# clone needs nothing but `make` (main job) or `make test`.
# python3.11 (requirements.txt's torch wheels), else the newest python3.1x that runs;
# `make PYTHON=/path/to/python3.1x` chooses another. Empty: none found (install says so).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach v,3.11 3.13 3.12 3.10,$(shell python$(v) -c '' >/dev/null 2>&1 && echo python$(v))))
endif
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RAW    := data/MNIST/raw/train-images-idx3-ubyte
NPZ    := full-mnist.npz

.DEFAULT_GOAL := all
.PHONY: all help install data train-numpy train-cnn train-cnn-full evaluate test zip check compat bench clean

all: data train-numpy train-cnn evaluate zip ## main job: data, NumPy training, CNN training, evaluation, zip

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "error: no python3.10 to python3.13 found (3.11 preferred): install one, or make PYTHON=/path/to/python3.1x" >&2; exit 1; }
	@echo "install: $(PYTHON) ($$($(PYTHON) --version 2>&1)) -> $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(STAMP) ## create .venv and install requirements.txt and requirements-dev.txt (tools only)

$(RAW) $(NPZ) &: | $(STAMP)
	$(PY) pytorch_cnn.py data

data: $(RAW) $(NPZ) ## verify data/mnist/*.gz, unpack to data/MNIST/raw, write full-mnist.npz (offline)

train-numpy: data ## train the NumPy MLP (4 vs 9), write numpy_nn_*.png
	$(PY) numpy_nn.py

train-cnn: data ## train MyNet, --preset quick (what `make` runs), write model.pt
	$(PY) pytorch_cnn.py train --preset quick

train-cnn-full: data ## train MyNet, --preset full (the shipped model.pt; start it in the background)
	$(PY) pytorch_cnn.py train --preset full

evaluate: data ## model.pt on the clean, SUITE, unseen and library test sets; gallery, curves, robustness plots, results/failures.png
	$(PY) pytorch_cnn.py evaluate
	$(PY) tools/unseen_check.py
	$(PY) tools/library_check.py --failures results/failures.png
	$(PY) tools/robustness.py

test: data ## run the test suite (CI runs exactly this)
	$(PY) -m pytest -q tests

zip: $(STAMP) ## build submission.zip (the graded files at its root)
	$(PY) tools/make_zip.py submission.zip

check: zip data ## emulate the grader on submission.zip in a clean folder
	$(PY) tools/check_submission.py submission.zip

compat: data ## graded files under 6 loaders, Python 3.8-3.13, old stack (torch 1.13, ~3 GB in .compat/): tables
	$(PY) tools/compat.py

bench: data ## figures: NumPy vs PyTorch training step, classify throughput, the submission's import time, memory, noise accuracy
	$(PY) tools/bench_numpy.py
	$(PY) tools/bench_cnn.py
	$(PY) tools/bench_submission.py

clean: ## remove derived files (keeps data/mnist, model.pt and the PNGs)
	rm -rf data/MNIST $(NPZ) submission.zip .pytest_cache __pycache__ tests/__pycache__ tools/__pycache__
