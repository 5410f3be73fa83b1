# Two-command quickstart: `make run` and `make test`. Each creates/refreshes .venv itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Real datasets live beside the checkout when available; otherwise the loader uses
# ~/.cache/slimbench and downloads from the canonical URLs (checksums verified either way).
SHARED_DATA := $(abspath ../shared/datasets)
export SLIMBENCH_DATA ?= $(if $(wildcard $(SHARED_DATA)/MANIFEST.json),$(SHARED_DATA),)
# TF-MOT only works with tf-keras (Keras 2).
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
PORT ?= 8501

.PHONY: run test test-slow bench bench-leaderboard screenshots venv leaderboard clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

## Run the default suite (digits, MNIST and Fashion-MNIST tracks x cpu/edge), print the table, then serve the leaderboard.
run: $(STAMP)
	$(BIN)/slimbench run --suite default
	@if [ -z "$$CI" ] && [ -z "$$SLIMBENCH_NO_SERVE" ] && $(BIN)/python -c "import leaderboard.app" 2>/dev/null; then \
		$(BIN)/slimbench leaderboard --port $(PORT); fi

## Fast tests (default; what CI runs).
test: $(STAMP)
	$(BIN)/python tests/setup_test_env.py
	$(BIN)/pytest -m "not slow" -q

## Slow tests: full MNIST trainings, reproductions, long benchmarks.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow -q

bench: $(STAMP)
	$(BIN)/slimbench bench harness --all

## The leaderboard at 20,000 generated records, driven in headless Chromium (figures: docs/leaderboard.md).
bench-leaderboard: $(STAMP)
	$(BIN)/python tests/setup_test_env.py
	$(BIN)/slimbench bench leaderboard --json .benchmarks/leaderboard.json

## Regenerate the README / docs screenshots (docs/img/*.png) from the app over the published records.
screenshots: $(STAMP)
	$(BIN)/python tests/setup_test_env.py
	$(BIN)/python -m leaderboard.browser --out docs/img

leaderboard: $(STAMP)
	$(BIN)/slimbench leaderboard --port $(PORT)

clean:
	rm -rf $(VENV) results .pytest_cache
