# Every target that runs Python depends on the virtual environment, so a fresh
# clone needs nothing but `make` (main job) or `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RAW    := data/MNIST/raw/train-images-idx3-ubyte
NPZ    := full-mnist.npz

.DEFAULT_GOAL := all
.PHONY: all help install data train-numpy train-cnn evaluate test zip check bench clean

all: data train-numpy train-cnn evaluate zip ## main job: data, NumPy training, CNN training, evaluation, zip

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(STAMP) ## create .venv and install requirements.txt

$(RAW) $(NPZ) &: | $(STAMP)
	$(PY) pytorch_cnn.py data

data: $(RAW) $(NPZ) ## verify data/mnist/*.gz, unpack to data/MNIST/raw, write full-mnist.npz (offline)

train-numpy: data ## train the NumPy MLP (4 vs 9), write numpy_nn_*.png
	$(PY) numpy_nn.py

train-cnn: data ## train MyNet with the camera-noise augmentation, write model.pt
	$(PY) pytorch_cnn.py train

evaluate: data ## accuracy of model.pt on clean and degraded test sets, write the plots
	$(PY) pytorch_cnn.py evaluate

test: data ## run the test suite (CI runs exactly this)
	$(PY) -m pytest -q tests

zip: $(STAMP) ## build submission.zip (the graded files at its root)
	$(PY) tools/make_zip.py submission.zip

check: zip data ## emulate the grader on submission.zip in a clean folder
	$(PY) tools/check_submission.py submission.zip

bench: data ## speed figures: NumPy vs PyTorch training step, classify throughput
	$(PY) tools/bench_numpy.py
	$(PY) tools/bench_cnn.py

clean: ## remove derived files (keeps data/mnist, model.pt and the PNGs)
	rm -rf data/MNIST $(NPZ) submission.zip .pytest_cache __pycache__ tests/__pycache__ tools/__pycache__
