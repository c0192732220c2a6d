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
# `make` rebuilds everything here, git-ignored; the committed model.pt, PNGs and
# results/ change only by `make ship`, so a clone stays clean after `make`.
BUILD  := build
NUMPY_PNGS := numpy_nn_training.png numpy_nn_classification.png
BUILT_NUMPY := $(addprefix $(BUILD)/,$(NUMPY_PNGS))
BUILT_MODEL := $(BUILD)/model.pt $(BUILD)/pytorch_cnn_history.json
BUILT_PLOTS := $(BUILD)/pytorch_cnn_gallery.png $(BUILD)/pytorch_cnn_training.png $(BUILD)/pytorch_cnn_robustness.png \
               $(BUILD)/robustness_library.png
COMPARISON := $(BUILD)/comparison.md

.DEFAULT_GOAL := all
.PHONY: all help install data train-numpy train-cnn train-cnn-base evaluate-build compare ship evaluate test zip check compat bench clean
# A recipe that fails leaves no half-written target behind to count as done.
.DELETE_ON_ERROR:

all: data train-numpy train-cnn evaluate-build zip compare ## main job: rebuild all in build/, compare with the shipped files, zip the shipped ones

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "error: no python3.10 to python3.13 found (3.11 preferred): install one, or make PYTHON=/path/to/python3.1x" >&2; exit 1; }
	@echo "install: $(PYTHON) ($$($(PYTHON) --version 2>&1)) -> $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(STAMP) ## create .venv and install requirements.txt and requirements-dev.txt (tools only)

# `make data` checks the shipped checksums every time (well under a second) and
# unpacks only what is missing or older than its .gz.
$(RAW) $(NPZ) &: $(wildcard data/mnist/SHA256SUMS data/mnist/*.gz) | $(STAMP)
	$(PY) tools/mnist_data.py

data: | $(STAMP) ## verify data/mnist/*.gz (SHA-256, every time), unpack to data/MNIST/raw, write full-mnist.npz (offline)
	$(PY) tools/mnist_data.py

train-numpy: $(BUILT_NUMPY) ## train the NumPy MLP (4 vs 9), write build/numpy_nn_*.png

$(BUILT_NUMPY) &: numpy_nn.py $(NPZ) | $(STAMP)
	$(PY) numpy_nn.py --out-dir $(BUILD)

# Training writes into $(BUILD)/partial/ and moves the files into place when it
# ends: an interrupted run leaves $(BUILD)/model.pt as it was, so the next `make`
# does not take a half-trained model for done; it resumes the run from the
# checkpoint of its last finished epoch ($(BUILD)/partial/model.resume.pt).
define train_cnn
@mkdir -p $(BUILD)/partial
$(PY) pytorch_cnn.py train --preset $(1) --model-path $(BUILD)/partial/model.pt \
    --history-path $(BUILD)/partial/pytorch_cnn_history.json $(call resume_if,$(BUILD)/partial/model.resume.pt)
mv $(BUILD)/partial/model.pt $(BUILD)/partial/pytorch_cnn_history.json $(BUILD)/
endef
# `--resume FILE` when an interrupted run left FILE, else nothing (evaluated by the shell when the recipe runs).
resume_if = $$(test -f $(1) && echo --resume $(1))

train-cnn: $(BUILT_MODEL) ## train MyNet as model.pt was made (--preset full: fine-tune results/mynet-base.pt), write build/model.pt

$(BUILT_MODEL) &: pytorch_cnn.py results/mynet-base.pt $(RAW) | $(STAMP)
	$(call train_cnn,full)

train-cnn-base: data ## train the base from scratch (--preset base, 150 epochs: 69 min for G0 on 2 cores with bf16, hours without), write build/mynet-base.pt
	@mkdir -p $(BUILD)
	$(PY) pytorch_cnn.py train --preset base --model-path $(BUILD)/mynet-base.pt \
	    --history-path $(BUILD)/mynet-base_history.json $(call resume_if,$(BUILD)/mynet-base.resume.pt)

evaluate-build: $(BUILT_PLOTS) ## build/model.pt on the clean and SUITE test sets; its gallery, curves, robustness plot

$(BUILT_PLOTS) &: $(BUILT_MODEL) tools/robustness.py tools/unseen_suite.py tools/library_suite.py
	$(PY) tools/evaluate.py --model-path $(BUILD)/model.pt \
	    --history-path $(BUILD)/pytorch_cnn_history.json \
	    --gallery-path $(BUILD)/pytorch_cnn_gallery.png --curves-path $(BUILD)/pytorch_cnn_training.png
	$(PY) tools/robustness.py --model-path $(BUILD)/model.pt --out $(BUILD)/pytorch_cnn_robustness.png \
	    --library-out $(BUILD)/robustness_library.png

$(COMPARISON): $(BUILD)/model.pt model.pt tools/score_runs.py | $(RAW)
	$(PY) tools/score_runs.py model.pt $(BUILD)/model.pt > $@.tmp
	mv $@.tmp $@

compare: $(BUILT_NUMPY) $(COMPARISON) ## how build/ compares with the shipped files (development split, paired, with intervals)
	@echo "make built into $(BUILD)/ (git-ignored): $(notdir $(BUILT_NUMPY) $(BUILT_MODEL) $(BUILT_PLOTS))"
	@for f in $(NUMPY_PNGS); do \
	    if cmp -s $(BUILD)/$$f $$f; then echo "  $(BUILD)/$$f: identical to the shipped $$f"; \
	    else echo "  $(BUILD)/$$f: differs from the shipped $$f"; fi; done
	@cat $(COMPARISON)
	@echo "submission.zip holds the shipped files; \`make ship\` replaces them with $(BUILD)/'s"

ship: $(BUILT_NUMPY) $(BUILT_MODEL) $(BUILT_PLOTS) ## copy build/ over model.pt, the NumPy PNGs and results/, then zip
	cp $(BUILD)/model.pt $(BUILT_NUMPY) .
	cp $(BUILD)/pytorch_cnn_history.json $(BUILT_PLOTS) results/
	@echo "shipped $(BUILD)/: model.pt, $(NUMPY_PNGS) and results/ replaced (\`git diff --stat\`, then commit)"
	$(PY) tools/make_zip.py submission.zip

evaluate: data ## the shipped model.pt on the clean, SUITE, unseen and library test sets; rewrites results/'s plots, failures.png and camera_model.png
	$(PY) tools/evaluate.py
	$(PY) tools/unseen_suite.py --split test
	$(PY) tools/library_suite.py --split test --failures results/failures.png
	$(PY) tools/camera_sheet.py
	$(PY) tools/robustness.py

# Two pytest workers (pytest-xdist), one a core of the 2-core machines this runs
# on; `make test TEST_JOBS=4` on a larger one. --dist loadfile keeps a file's tests
# on one worker, so module fixtures (tests/test_compat.py's cases) run once.
TEST_JOBS := 2

test: data ## run the test suite on TEST_JOBS (2) workers, one loader case per loader (CI runs exactly this)
	$(PY) -m pytest -q -rs -n $(TEST_JOBS) --dist loadfile tests

zip: $(STAMP) ## build submission.zip from the shipped graded files (at its root)
	$(PY) tools/make_zip.py submission.zip

check: zip data ## emulate the grader on submission.zip in a clean folder
	$(PY) tools/check_submission.py submission.zip

# The loader matrix of this Python is tests/test_compat.py's (`make test` runs one
# case per loader, --compat all of them); tools/compat.py adds the other Pythons.
compat: data ## full loader matrix (tests marked compat), Python 3.8-3.13, old stack (torch 1.13, ~3 GB in .compat/)
	$(PY) -m pytest -q -rs --compat tests/test_compat.py
	$(PY) tools/compat.py --parts pythons old-stack

bench: data ## figures: NumPy vs PyTorch training step, classify throughput, the submission's import time, memory, noise accuracy
	$(PY) tools/bench_numpy.py
	$(PY) tools/bench_cnn.py
	$(PY) tools/bench_submission.py

clean: ## remove derived files and build/ (keeps data/mnist, model.pt, the PNGs and results/)
	rm -rf $(BUILD) data/MNIST $(NPZ) submission.zip .pytest_cache __pycache__ tests/__pycache__ tools/__pycache__ *.resume.pt
